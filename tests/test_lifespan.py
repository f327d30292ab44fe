"""ASGI lifespan: once per handler, at construction; its state in every request; each mode's
failure rules; shutdown at close, at interpreter exit and on SIGTERM, never per invocation."""

from __future__ import annotations

import contextlib
import logging
import signal
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from alb_adapter import ASGIHandler, LifespanError
from alb_adapter.testing import make_event, read_response

Scope = dict[str, Any]


class Pool:
    """Stands in for a connection pool: made at startup, must outlive every invocation."""

    opened = 0

    def __init__(self) -> None:
        Pool.opened += 1
        self.closed = False


def app_with_pool(events: list[str]) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        events.append("startup")
        pool = Pool()
        yield {"pool": pool}
        pool.closed = True
        events.append("shutdown")

    async def which(request: Request) -> JSONResponse:
        request.state.scribble = "per request"  # must not leak into the next request
        return JSONResponse({"pool": id(request.state.pool)})

    return Starlette(routes=[Route("/pool", which)], lifespan=lifespan)


@pytest.fixture
def closing() -> Iterator[list[ASGIHandler]]:
    made: list[ASGIHandler] = []
    yield made
    for handler in made:
        handler.close()


def test_startup_once_and_the_same_pool_on_the_1st_and_100th_call(
    closing: list[ASGIHandler], multi: bool
) -> None:
    events: list[str] = []
    handler = ASGIHandler(app_with_pool(events))
    closing.append(handler)
    assert events == ["startup"]  # at construction: Lambda's init phase
    pool = handler.state["pool"]
    seen = []
    for _ in range(100):
        response = handler(make_event("GET", "/pool", multi_value_headers=multi), None)
        seen.append(read_response(response, multi_value_headers=multi).body)
    assert set(seen) == {f'{{"pool":{id(pool)}}}'.encode()}
    assert events == ["startup"]  # never per invocation
    assert "scribble" not in handler.state  # each scope got a shallow copy
    handler.close()
    assert events == ["startup", "shutdown"]
    assert pool.closed


def raw_lifespan_app(behaviour: str) -> Callable[..., Any]:
    """Apps that misbehave in lifespan in one particular way, and answer HTTP normally."""

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            if behaviour == "raises at once":  # what Django's ASGI handler does
                raise ValueError("Django can only handle ASGI/HTTP connections, not lifespan.")
            if behaviour == "returns at once":
                return
            message = await receive()
            assert message["type"] == "lifespan.startup"
            if behaviour == "fails":
                await send({"type": "lifespan.startup.failed", "message": "database unreachable"})
                return
            if behaviour == "raises after startup":
                raise ConnectionError("database unreachable")
            if behaviour == "returns after startup":
                return
            if behaviour == "wrong answer":
                await send({"type": "lifespan.shutdown.complete"})
                return
            if behaviour == "bad message":
                await send({"type": "http.response.start"})
                return
            scope["state"]["ready"] = True
            await send({"type": "lifespan.startup.complete"})
            message = await receive()
            if behaviour == "shutdown fails":
                await send({"type": "lifespan.shutdown.failed", "message": "flush failed"})
            elif behaviour == "shutdown raises":
                raise RuntimeError("flush exploded")
            else:
                await send({"type": "lifespan.shutdown.complete"})
            return
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(scope["state"]).encode()})

    return app


@pytest.mark.parametrize("behaviour", ["raises at once", "returns at once"])
def test_auto_skips_apps_without_lifespan_quietly(
    closing: list[ASGIHandler], behaviour: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        handler = ASGIHandler(raw_lifespan_app(behaviour))
    closing.append(handler)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert "does not support ASGI lifespan" in caplog.text
    assert read_response(handler(make_event(), None)).body == b"{}"


@pytest.mark.parametrize("behaviour", ["raises at once", "returns at once"])
def test_on_refuses_apps_without_lifespan(behaviour: str) -> None:
    with pytest.raises(LifespanError, match="does not support the lifespan protocol"):
        ASGIHandler(raw_lifespan_app(behaviour), lifespan="on")


@pytest.mark.parametrize("mode", ["auto", "on"])
@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        ("fails", "lifespan startup failed: database unreachable"),
        ("raises after startup", "raised during lifespan startup: ConnectionError"),
        ("returns after startup", "returned during lifespan startup without answering"),
        ("wrong answer", "answered lifespan startup with lifespan.shutdown.complete"),
        ("bad message", "raised during lifespan startup: LifespanError"),
    ],
)
def test_a_startup_that_began_and_failed_is_fatal_in_both_modes(
    mode: str, behaviour: str, message: str
) -> None:
    """An app that started its startup needs it: serving without it would fail later, worse."""
    with pytest.raises(LifespanError, match=message):
        ASGIHandler(raw_lifespan_app(behaviour), lifespan=mode)  # type: ignore[arg-type]


def test_off_never_calls_lifespan(closing: list[ASGIHandler]) -> None:
    calls: list[str] = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        calls.append(scope["type"])
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 204})
            await send({"type": "http.response.body"})

    handler = ASGIHandler(app, lifespan="off")
    closing.append(handler)
    handler(make_event(), None)
    assert calls == ["http"]


def test_state_set_at_startup_reaches_requests(closing: list[ASGIHandler]) -> None:
    handler = ASGIHandler(raw_lifespan_app("works"), lifespan="on")
    closing.append(handler)
    assert read_response(handler(make_event(), None)).body == b"{'ready': True}"


@pytest.mark.parametrize(
    ("behaviour", "logged"),
    [("shutdown fails", "shutdown failed: flush failed"), ("shutdown raises", "did not complete")],
)
def test_shutdown_problems_are_logged_not_raised(
    behaviour: str, logged: str, caplog: pytest.LogCaptureFixture
) -> None:
    handler = ASGIHandler(raw_lifespan_app(behaviour))
    with caplog.at_level(logging.WARNING, logger="alb_adapter"):
        handler.close()
    assert logged in caplog.text


EXIT_SCRIPT = """
import os, signal, sys
from alb_adapter import ASGIHandler

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.complete"})
        await receive()
        with open(sys.argv[1], "w") as f:
            f.write("shut down")
        await send({"type": "lifespan.shutdown.complete"})

handler = ASGIHandler(app)
if sys.argv[2] == "sigterm":
    os.kill(os.getpid(), signal.SIGTERM)
    signal.pause()
"""


@pytest.mark.parametrize("ending", ["exit", "sigterm"])
def test_shutdown_runs_when_the_process_ends(tmp_path: Path, ending: str) -> None:
    script = tmp_path / "fn.py"
    script.write_text(textwrap.dedent(EXIT_SCRIPT))
    marker = tmp_path / "marker"
    result = subprocess.run(
        [sys.executable, str(script), str(marker), ending],
        check=False,
        capture_output=True,
        timeout=30,
    )
    assert marker.read_text() == "shut down"
    # On SIGTERM the process still dies of SIGTERM, as it would have without the adapter.
    assert result.returncode == (-signal.SIGTERM if ending == "sigterm" else 0), result.stderr
