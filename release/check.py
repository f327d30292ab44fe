"""Build the sdist and the wheel, check them, and test the wheel as a user installs it.

Run by .ci/run with the development venv's Python (which has `build` and `twine`), from the
repository root:

    python release/check.py

1. `python -m build`: the sdist, then the wheel built from the sdist (so a file missing from the
   sdist fails here too); `twine check --strict` on both.
2. Their file lists, exactly: the wheel holds the package and nothing else (no tests, examples or
   benchmarks), with `py.typed`, the inspector's page (WHEEL_DATA) and the licence; the sdist
   holds what it takes to build and test it.
3. A fresh venv with the wheel (not editable) and its `local` extra, and release/test_installed.py
   run from outside the source tree against it.
4. The Flask example's deployment folder built with the commands its README gives, and its handler
   imported from that folder alone in a fresh interpreter, answering a real ALB event.

Exit status 0 when all of it passes; the first failure ends the run with its output.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What the sdist carries besides the package (MANIFEST.in says why).
SDIST_TREES = ("alb_adapter", "tests", "examples", "benchmarks", "docs")
SDIST_FILES = ("README.md", "LICENSE", "CHANGELOG.md", "pyproject.toml", "MANIFEST.in")
SDIST_GENERATED = {"PKG-INFO", "setup.cfg"}
WHEEL_METADATA = {"METADATA", "WHEEL", "RECORD", "entry_points.txt", "top_level.txt"}
# Package data the wheel must carry (pyproject.toml's package-data): without them the inspector
# of `alb-adapter serve` has no page.
WHEEL_DATA = (
    "alb_adapter/py.typed",
    "alb_adapter/emulator/inspector/static/index.html",
    "alb_adapter/emulator/inspector/static/inspector.css",
    "alb_adapter/emulator/inspector/static/inspector.js",
)


def run(*command: str | Path, cwd: Path = ROOT, env: dict[str, str] | None = None) -> str:
    """Run a command, echoing it; its output is returned, and shown if it fails."""
    print("$", " ".join(map(str, command)), flush=True)
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.stdout.write(done.stdout)
        sys.stderr.write(done.stderr)
        raise SystemExit(f"release check failed: exit code {done.returncode}")
    return done.stdout


def tracked(*paths: str) -> set[str]:
    """The files git tracks under ``paths`` (a clean clone has exactly these)."""
    listing = run("git", "ls-files", "--", *paths)
    return {line for line in listing.splitlines() if line}


def check_wheel(wheel: Path, version: str) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    dist_info = f"alb_adapter-{version}.dist-info"
    expected = tracked("alb_adapter") | {f"{dist_info}/{name}" for name in WHEEL_METADATA}
    expected.add(f"{dist_info}/licenses/LICENSE")
    report("wheel", names, expected)
    for data in WHEEL_DATA:
        if data not in names:
            raise SystemExit(f"the wheel has no {data}")
    entry_points = zipfile.ZipFile(wheel).read(f"{dist_info}/entry_points.txt").decode()
    for needed in ("alb-adapter = alb_adapter.cli:main", "alb_adapter.testing.pytest_plugin"):
        if needed not in entry_points:
            raise SystemExit(f"the wheel's entry points lack {needed!r}:\n{entry_points}")


def check_sdist(sdist: Path, version: str) -> None:
    prefix = f"alb_adapter-{version}/"
    with tarfile.open(sdist) as archive:
        names = {
            member.name.removeprefix(prefix) for member in archive.getmembers() if member.isfile()
        }
    names = {name for name in names if not name.startswith("alb_adapter.egg-info/")}
    expected = tracked(*SDIST_TREES) | set(SDIST_FILES) | SDIST_GENERATED
    report("sdist", names, expected)


def report(what: str, names: set[str], expected: set[str]) -> None:
    missing, extra = sorted(expected - names), sorted(names - expected)
    if missing or extra:
        raise SystemExit(f"the {what}'s files differ: missing {missing}, unexpected {extra}")
    print(f"{what}: {len(names)} files, as expected")


def build(out: Path) -> tuple[Path, Path]:
    run(sys.executable, "-m", "build", "--outdir", out, ".")
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    run(sys.executable, "-m", "twine", "check", "--strict", sdist, wheel)
    return sdist, wheel


def test_installed(wheel: Path, work: Path) -> None:
    venv = work / "venv"
    run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "-q", f"{wheel}[local]", "pytest")
    here = work / "outside"  # not the source tree: nothing there to import by accident
    here.mkdir()
    test_file = here / "test_installed.py"
    shutil.copy(ROOT / "release" / "test_installed.py", test_file)
    env = {**os.environ, "ALB_ADAPTER_SOURCE_TREE": str(ROOT)}
    env.pop("PYTHONPATH", None)
    output = run(
        python, "-m", "pytest", "-q", "-p", "no:cacheprovider", test_file, cwd=here, env=env
    )
    print(output.strip().splitlines()[-1])


def deployment_folder_commands() -> list[str]:
    """The commands examples/flask_app/README.md gives for building its deployment folder: the
    sh block after its ``<!-- build-commands -->`` marker, joined across line continuations."""
    text = (ROOT / "examples" / "flask_app" / "README.md").read_text()
    found = re.search(r"<!-- build-commands -->\s*```sh\n(.*?)```", text, re.DOTALL)
    if found is None:
        raise SystemExit(
            "examples/flask_app/README.md has no sh block after <!-- build-commands -->"
        )
    block = re.sub(r"\\\n\s*", "", found.group(1))
    return [line.strip() for line in block.splitlines() if line.strip()]


def test_deployment_folder(work: Path) -> None:
    """Build the Flask example's folder as its README says, in a copy of the example inside a
    copy of the repository's build inputs, then serve one ALB event from that folder alone."""
    repository = work / "repository"
    shutil.copytree(
        ROOT,
        repository,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "__pycache__", "build", "dist", "*.egg-info"
        ),
    )
    example = repository / "examples" / "flask_app"
    for command in deployment_folder_commands():
        run("bash", "-c", command.replace("pip ", f"{sys.executable} -m pip ", 1), cwd=example)
    from alb_adapter.testing import make_event

    # The home page: the app, its templates and Flask, all from the folder.
    event = make_event("GET", "/", multi_value_headers=True)
    probe = (
        "import json, sys\n"
        "import flask_example\n"
        "assert flask_example.__file__.startswith(sys.path[0]), flask_example.__file__\n"
        "import alb_adapter, flask\n"
        "for module in (alb_adapter, flask):\n"
        "    assert module.__file__.startswith(sys.path[0]), module.__file__\n"
        "print(json.dumps(flask_example.handler(json.loads(sys.argv[1]), None)))\n"
    )
    # -I: no user site, no PYTHONPATH, no current directory; the folder alone, as in Lambda.
    output = run(
        sys.executable,
        "-I",
        "-c",
        f"import sys; sys.path.insert(0, {str(example / 'build')!r}); exec({probe!r})",
        json.dumps(event),
        cwd=work,
    )
    answer = json.loads(output)
    content_type = answer.get("multiValueHeaders", {}).get("content-type")
    if answer.get("statusCode") != 200 or content_type != ["text/html; charset=utf-8"]:
        raise SystemExit(f"the deployment folder's handler answered {answer!r}")
    print("deployment folder: the handler answers a real ALB event")


def main() -> None:
    version = run(sys.executable, "-c", "import alb_adapter; print(alb_adapter.__version__)")
    version = version.strip()
    with tempfile.TemporaryDirectory(prefix="alb-adapter-release-") as temporary:
        work = Path(temporary)
        sdist, wheel = build(work / "dist")
        check_wheel(wheel, version)
        check_sdist(sdist, version)
        test_installed(wheel, work)
        test_deployment_folder(work)
    print("release check passed")


if __name__ == "__main__":
    main()
