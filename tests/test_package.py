"""Package-level promises: the public names, a small import, and the real events corpus."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import alb_adapter

ROOT = Path(__file__).resolve().parent.parent
CORPUS_TOOL = ROOT.parent / "shared" / "tools" / "conformance.py"


def test_public_names() -> None:
    assert set(alb_adapter.__all__) >= {
        "WSGIHandler",
        "Config",
        "AdapterError",
        "UnsupportedEvent",
        "InvalidEvent",
        "AppError",
        "LifespanError",
        "ResponseTooLarge",
    }
    for name in alb_adapter.__all__:
        assert getattr(alb_adapter, name) is not None
    assert issubclass(alb_adapter.InvalidBody, alb_adapter.InvalidEvent)
    for error in ("UnsupportedEvent", "InvalidEvent", "AppError", "LifespanError"):
        assert issubclass(getattr(alb_adapter, error), alb_adapter.AdapterError)


def test_import_is_lean() -> None:
    """Every module imported here is paid in each Lambda cold start (see the package docstring)."""
    code = (
        "import sys; before = set(sys.modules); import alb_adapter; "
        "print(' '.join(sorted(set(sys.modules) - before)))"
    )
    loaded = set(
        subprocess.run(
            [sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
        ).stdout.split()
    )
    heavy = {
        "asyncio",
        "email",
        "http.cookies",
        "logging",
        "typing",
        "dataclasses",
        "inspect",
        "json",
        "re",
        "urllib.parse",
        "flask",
        "django",
        "werkzeug",
    }
    assert loaded & heavy == set()
    # Nothing beyond its own modules: even binascii waits for the first base64 body.
    assert {name for name in loaded if not name.startswith("alb_adapter")} == set()


def _modules_loaded_by(script: str) -> set[str]:
    code = f"import sys; {script}; print(' '.join(sorted(sys.modules)))"
    output = subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    return {name for name in output.split() if name.startswith("alb_adapter.sources.")}


# An HTTP API event, and what the handler answers for it (the same in every run).
HTTP_API_CALL = (
    "import alb_adapter; "
    "handler = alb_adapter.WSGIHandler(lambda environ, start: start('200 OK', []) or [b'ok']); "
    "handler({'version': '2.0', 'rawPath': '/', 'rawQueryString': '', 'headers': {}, "
    "'requestContext': {'http': {'method': 'GET', 'path': '/', 'sourceIp': '192.0.2.1'}, "
    "'domainName': 'example.com', 'stage': '$default'}, 'isBase64Encoded': False}, None)"
)


def test_only_the_front_door_a_function_serves_is_loaded() -> None:
    """ALB's codec loads with the package; another source's detection loads with the first event
    that is not ALB's, and its parser with the first of its own kind."""
    shared = {
        "alb_adapter.sources.base",
        "alb_adapter.sources.fields",
        "alb_adapter.sources.rendering",
    }
    alb = {
        "alb_adapter.sources.alb",
        "alb_adapter.sources.alb.request",
        "alb_adapter.sources.alb.response",
    }
    detection = {
        f"alb_adapter.sources.{package}{module}"
        for package in ("apigateway_v1", "apigateway_v2", "lattice")
        for module in ("", ".detect")
    }
    assert _modules_loaded_by("import alb_adapter") == shared | alb
    assert _modules_loaded_by(HTTP_API_CALL) == shared | alb | detection | {
        "alb_adapter.sources.apigateway_v2.request",
        "alb_adapter.sources.apigateway_v2.response",
    }


def test_py_typed_is_shipped() -> None:
    assert (ROOT / "alb_adapter" / "py.typed").is_file()


@pytest.mark.skipif(
    not CORPUS_TOOL.is_file(), reason="the real ALB event corpus is not beside the repository"
)
def test_every_real_alb_event_goes_through_the_wsgi_handler() -> None:
    """The shared corpus (events written by AWS and other projects), judged by the shared tool."""
    sys.path.insert(0, str(CORPUS_TOOL.parent))
    try:
        import conformance  # type: ignore[import-not-found]  # beside the repository, untyped
    finally:
        sys.path.remove(str(CORPUS_TOOL.parent))
    handler = alb_adapter.WSGIHandler(conformance.wsgi_echo)
    seen = 0
    failures: list[str] = []
    for path in sorted(conformance.CORPUS.rglob("*.json")):
        event: Any = json.loads(path.read_text())
        if not conformance.is_request(event):
            continue
        seen += 1
        failures += [f"{path.name}: {e}" for e in conformance.check_one("wsgi", handler, event)]
    assert seen >= 60
    assert failures == []
