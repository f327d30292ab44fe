"""The package's layout rules, read from its source: no import cycle (type-only imports included),
nothing inside the package imports ``alb_adapter.testing``, no private CPython or asyncio API, and
no comment or document pointing to files outside the repository."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "alb_adapter"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imported_modules(name: str) -> set[str]:
    """Every alb_adapter module ``name`` imports, anywhere in the file (under TYPE_CHECKING and
    inside functions too): ``from .x import y`` counts as importing ``x.y`` when that is a module,
    else ``x``."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                found.add(submodule if submodule in MODULES else source)
    return {module for module in found if module in MODULES and module != name}


GRAPH = {name: imported_modules(name) for name in MODULES}


def find_cycle() -> list[str] | None:
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> list[str] | None:
        if name in trail:
            return [*trail[trail.index(name) :], name]
        if name in done:
            return None
        for imported in sorted(GRAPH[name]):
            cycle = visit(imported, [*trail, name])
            if cycle:
                return cycle
        done.add(name)
        return None

    for name in sorted(GRAPH):
        cycle = visit(name, [])
        if cycle:
            return cycle
    return None


def test_the_import_graph_is_read_from_the_source() -> None:
    """A check on the checker: the graph has the edges the layout is built on."""
    assert "alb_adapter.sources.alb.request" in GRAPH["alb_adapter.sources.alb"]
    assert "alb_adapter.model" in GRAPH["alb_adapter.sources.alb.request"]
    assert "alb_adapter.config" in GRAPH["alb_adapter.handler"]  # a type-only import counts too
    assert "alb_adapter.lifespan" in GRAPH["alb_adapter.asgi"]


def test_no_import_cycle_type_only_imports_included() -> None:
    assert find_cycle() is None


def test_nothing_inside_the_package_imports_testing() -> None:
    importers = sorted(
        name
        for name, imported in GRAPH.items()
        if not name.startswith("alb_adapter.testing")
        and any(module.startswith("alb_adapter.testing") for module in imported)
    )
    assert importers == []


def private_uses(path: Path) -> list[str]:
    """Imports of private modules (``_collections``) and private attributes of imported modules
    (``asyncio._get_running_loop``) outside the package itself."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []
    module_names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                module_names.add(alias.asname or alias.name.partition(".")[0])
                if any(part.startswith("_") for part in alias.name.split(".")):
                    found.append(f"import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module != "__future__":
            module = node.module or ""
            private_names = [a.name for a in node.names if a.name.startswith("_")]
            if any(part.startswith("_") for part in module.split(".")) or private_names:
                found.append(f"from {module} import {', '.join(a.name for a in node.names)}")
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in module_names
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            found.append(f"{node.value.id}.{node.attr}")
    return found


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_private_python_api(name: str) -> None:
    # typeshed's stubs exist only for the type checker (imported under TYPE_CHECKING).
    uses = private_uses(MODULES[name])
    assert [use for use in uses if not use.startswith("from _typeshed.wsgi import ")] == []


def test_the_private_api_check_finds_what_it_looks_for(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import asyncio\nfrom _collections import _tuplegetter\nasyncio._get_running_loop()\n"
    )
    assert private_uses(sample) == [
        "from _collections import _tuplegetter",
        "asyncio._get_running_loop",
    ]


# Spelled in two pieces so that this file does not match itself.
OUTSIDE_REFERENCES = ("DESIGN" + " §", "DESIGN" + ".md", "alb-" + "spec.md", "../" + "shared/")


def test_no_file_points_outside_the_repository() -> None:
    """Comments and documents cite docs/alb-behaviour.md, never notes outside the repository."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=False, text=True
    )
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    offenders = []
    for relative in listed.stdout.split("\0"):
        path = ROOT / relative
        if (
            not relative
            or not path.is_file()
            or path.suffix not in {".py", ".md", ".toml", ".yaml"}
        ):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        offenders += [f"{relative}: {ref}" for ref in OUTSIDE_REFERENCES if ref in text]
    assert offenders == []
