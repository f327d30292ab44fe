"""Handler lifecycle: close() and ``with`` on both handlers, a closed handler refusing calls, the
app's leftover tasks cancelled at close, and handlers dropped without close() shut down quietly
(when collected, or at interpreter exit), with no warning and nothing logged above DEBUG."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import subprocess
import sys
import textwrap
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from alb_adapter import ASGIHandler, HandlerClosed, LifespanError, WSGIHandler
from alb_adapter.testing import make_event, read_response
from tests.support import simple_app

ROOT = Path(__file__).resolve().parent.parent


class DatabaseDown(Exception):
    """What a lifespan startup raises when its database is not there."""


class LifespanApp:
    """An ASGI app with a lifespan, counting startups and shutdowns, and answering 200."""

    def __init__(self) -> None:
        self.startups = 0
        self.shutdowns = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    self.startups += 1
                    await send({"type": "lifespan.startup.complete"})
                else:
                    self.shutdowns += 1
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def test_with_block_closes_an_asgi_handler_and_runs_shutdown_once() -> None:
    app = LifespanApp()
    with ASGIHandler(app) as handler:
        answer = read_response(handler(make_event(), None))
        assert (answer.status, answer.body, handler.closed) == (200, b"ok", False)
    assert (app.startups, app.shutdowns, handler.closed, handler.loop.is_closed()) == (
        1,
        1,
        True,
        True,
    )
    handler.close()  # idempotent
    assert app.shutdowns == 1


@pytest.mark.parametrize("kind", ["wsgi", "asgi"])
def test_a_closed_handler_refuses_calls_with_a_clear_error(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    handler: WSGIHandler | ASGIHandler = (
        WSGIHandler(simple_app()) if kind == "wsgi" else ASGIHandler(LifespanApp())
    )
    with handler:
        pass
    with caplog.at_level(logging.DEBUG), pytest.raises(HandlerClosed, match="was closed"):
        handler(make_event(), None)
    assert "the application failed" not in caplog.text


def test_close_cancels_the_apps_leftover_tasks_without_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cancelled: list[str] = []

    async def forever(name: str) -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.append(name)
            raise

    async def failing_later() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            raise RuntimeError("raised while unwinding")  # retrieved at close, never reported

    background: set[asyncio.Task[None]] = set()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise RuntimeError("no lifespan")
        loop = asyncio.get_running_loop()
        background.update(loop.create_task(forever(f"poller-{n}")) for n in range(100))
        background.add(loop.create_task(failing_later()))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    handler = ASGIHandler(app)
    assert read_response(handler(make_event(), None)).status == 200
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.DEBUG):
        warnings.simplefilter("always")
        handler.close()
    assert sorted(cancelled) == sorted(f"poller-{n}" for n in range(100))
    assert [str(warning.message) for warning in caught] == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert handler.loop.is_closed()


def test_a_lifespan_startup_failure_chains_the_apps_exception_and_is_reported_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from starlette.applications import Starlette

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        raise DatabaseDown("could not connect to the database")
        yield  # pragma: no cover

    with caplog.at_level(logging.DEBUG), pytest.raises(LifespanError) as raised:
        ASGIHandler(Starlette(lifespan=lifespan))
    # The last line of the traceback Starlette sends as text; the exception itself is chained.
    assert str(raised.value) == (
        "lifespan startup failed: tests.test_lifecycle.DatabaseDown: "
        "could not connect to the database"
    )
    assert isinstance(raised.value.__cause__, DatabaseDown)
    assert "never retrieved" not in caplog.text


# Run in a fresh interpreter with every warning an error: what a user's process would see.
DROPPED = """
import gc, json, logging, os, sys
records = []

class Keep(logging.Handler):
    def emit(self, record):
        records.append((record.levelno, record.name, record.getMessage()))

logging.getLogger().addHandler(Keep())
logging.getLogger().setLevel(logging.DEBUG)
from alb_adapter import ASGIHandler
from alb_adapter.testing import make_event
from tests.test_lifecycle import LifespanApp

def fds():
    return len(os.listdir("/proc/self/fd"))

app = LifespanApp()
before = fds()
for number in range(200):
    handler = ASGIHandler(app)
    if number % 2:
        handler(make_event(), None)
    del handler
gc.collect()
after = fds()
kept = ASGIHandler(app)  # still alive at exit: shut down by the exit hook
print(json.dumps({
    "startups": app.startups,
    "shutdowns": app.shutdowns,
    "fds": [before, after],
    "loud": [r for r in records if r[0] >= logging.WARNING],
}), flush=True)
"""


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-W", "error", "-X", "dev", "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts descriptors in /proc")
def test_dropped_handlers_shut_down_quietly_and_release_their_descriptors() -> None:
    result = run_python(DROPPED)
    assert (result.returncode, result.stderr) == (0, "")
    report = json.loads(result.stdout)
    # 200 dropped and collected, then one more built and alive at exit.
    assert (report["startups"], report["shutdowns"]) == (201, 200)
    before, after = report["fds"]
    assert after == before
    assert report["loud"] == []


def test_a_handler_alive_at_exit_is_shut_down_without_a_warning() -> None:
    code = """
    from alb_adapter import ASGIHandler

    async def app(scope, receive, send):
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                print("shutdown ran", flush=True)
                await send({"type": "lifespan.shutdown.complete"})
                return

    handler = ASGIHandler(app)
    """
    result = run_python(code)
    assert (result.returncode, result.stdout, result.stderr) == (0, "shutdown ran\n", "")
