"""Target loading: the names Lambda and Python users give handlers, and apps wrapped for them."""

from __future__ import annotations

import logging
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alb_adapter import ASGIHandler, WSGIHandler
from alb_adapter.emulator.loader import TargetLoadError, as_handler, load_target

MODULE = """
from alb_adapter import WSGIHandler

def wsgi_app(environ, start_response):
    start_response("200 OK", [])
    return [b"wsgi"]

class Flaskish:
    def __call__(self, environ, start_response):
        return wsgi_app(environ, start_response)

async def asgi_app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200})
    await send({"type": "http.response.body", "body": b"asgi"})

def handler(event, context):
    return {"statusCode": 200, "body": "lambda"}

ready = WSGIHandler(wsgi_app)
flaskish = Flaskish()
number = 5

class Nested:
    handler = staticmethod(handler)
"""


@pytest.fixture
def module_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    name = "loader_target_mod"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(MODULE))
    (tmp_path / "boom_mod.py").write_text("raise RuntimeError('import-time failure')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    for mod in (name, "boom_mod"):
        sys.modules.pop(mod, None)


@pytest.mark.parametrize(
    "spec",
    [
        "loader_target_mod:handler",
        "loader_target_mod.handler",
        "loader_target_mod:Nested.handler",
        "loader_target_mod.py:handler",
    ],
)
def test_lambda_handler_functions_are_used_as_they_are(module_dir: Path, spec: str) -> None:
    handler = load_target(spec)
    assert handler({}, None) == {"statusCode": 200, "body": "lambda"}


def test_a_ready_handler_is_used_as_it_is(module_dir: Path) -> None:
    handler = load_target("loader_target_mod:ready")
    assert isinstance(handler, WSGIHandler)
    with pytest.raises(TargetLoadError, match="already a handler; give base_path to it"):
        load_target("loader_target_mod:ready", base_path="/x")


@pytest.mark.parametrize(
    ("attr", "kind"),
    [("wsgi_app", WSGIHandler), ("flaskish", WSGIHandler), ("asgi_app", ASGIHandler)],
)
def test_bare_apps_are_wrapped_with_a_note(
    module_dir: Path,
    attr: str,
    kind: type[WSGIHandler | ASGIHandler],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="alb_adapter.emulator"):
        handler = load_target(f"loader_target_mod:{attr}", base_path="/shop")
    assert isinstance(handler, kind)
    assert handler.config.base_path == "/shop"
    assert f"{'is an ASGI' if kind is ASGIHandler else 'is a WSGI'} app" in caplog.text
    if isinstance(handler, ASGIHandler):
        handler.close()


def test_a_file_path_target(module_dir: Path) -> None:
    handler = load_target(str(module_dir / "loader_target_mod.py") + ":wsgi_app")
    assert isinstance(handler, WSGIHandler)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nowhere_mod:handler", "no module named 'nowhere_mod'"),
        ("loader_target_mod:missing", "has no attribute 'missing'"),
        ("loader_target_mod:number", "is an int, not a handler or an app"),
        ("boom_mod:handler", "importing 'boom_mod' failed: RuntimeError: import-time failure"),
        ("missing_file.py:handler", "no such file 'missing_file.py'"),
        ("justaname", "expected 'module:attr'"),
        (":handler", "expected 'module:attr' or 'file.function'"),
    ],
)
def test_errors_are_one_clear_line(module_dir: Path, spec: str, message: str) -> None:
    with pytest.raises(TargetLoadError) as caught:
        load_target(spec)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_plain_handler_refuses_handler_options() -> None:
    def handler(event: object, context: object) -> object:
        return {}

    with pytest.raises(TargetLoadError, match="looks like a Lambda handler"):
        as_handler(handler, "x", base_path="/a")


def test_a_handler_object_of_another_adapter_is_served_as_it_is() -> None:
    mangum = pytest.importorskip("mangum")
    from starlette.applications import Starlette

    handler = mangum.Mangum(Starlette(), lifespan="off")
    assert as_handler(handler, "x") is handler
    with pytest.raises(TargetLoadError, match="looks like a Lambda handler"):
        as_handler(handler, "x", base_path="/a")


class EventContextCallable:
    def __call__(self, event: object, context: object) -> object:
        return {}


class WSGICallable:
    def __call__(self, environ: object, start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [b"ok"]


def test_a_callable_object_is_told_apart_by_its_parameters() -> None:
    handler = EventContextCallable()
    assert as_handler(handler, "x") is handler
    served = as_handler(WSGICallable(), "x")
    assert isinstance(served, WSGIHandler)
    served.close()


def test_a_file_never_replaces_a_module_of_the_same_name(tmp_path: Path) -> None:
    shadow = tmp_path / "json.py"
    shadow.write_text("def handler(event, context):\n    return {}\n")
    with pytest.raises(TargetLoadError, match="the module name 'json' is already taken by"):
        load_target(f"{shadow}:handler")
    import json

    assert callable(json.dumps)  # still the standard library's
    assert str(tmp_path) not in sys.path  # refused: its folder is not left to shadow anything


def test_the_same_file_loaded_twice_is_one_module(module_dir: Path) -> None:
    first = load_target(str(module_dir / "loader_target_mod.py") + ":handler")
    second = load_target("loader_target_mod.py:handler")
    assert first is second
