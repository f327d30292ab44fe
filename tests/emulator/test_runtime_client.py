"""Handlers under a real Lambda runtime client: AWS's ``awslambdaric`` (in its default mode, which
waits for the next event inside a native call on the main thread, and its thread-polling mode,
``AWS_EXECUTION_ENV=AWS_Lambda_python3.12``) and the local ALB's built-in runtime, each driven
through the local Runtime API (emulator/runtime_api.py) as Lambda drives a function: SIGTERM while
idle and during a request, answer parity with a direct call (make_event cases and the real ALB
corpus, when it is beside the repository), the deadline, an init error and an app error.

The awslambdaric cases skip only where it is not installed (``pip install 'alb-adapter[runtime]'``).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import signal
import subprocess
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from alb_adapter.emulator.environments import runtime_command
from alb_adapter.emulator.runtime_api import (
    InitError,
    Invocation,
    InvocationResult,
    RuntimeAPIServer,
)

HAS_AWSLAMBDARIC = importlib.util.find_spec("awslambdaric") is not None
# How long a process that ignores SIGTERM is given before the test calls it stuck (Lambda's own
# shutdown budget is at most 2 s; a hung process would otherwise hang the suite).
STUCK_AFTER_SECONDS = 10.0

# An ASGI app with a lifespan that records its startup and shutdown in files next to it.
LIFESPAN_APP = r"""
from pathlib import Path

from alb_adapter import ASGIHandler

HERE = Path(__file__).resolve().parent


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                (HERE / "started").touch()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                (HERE / "shut-down").touch()
                await send({"type": "lifespan.shutdown.complete"})
                return
    await receive()
    if scope["path"] == "/slow":
        import asyncio

        (HERE / "serving").touch()
        await asyncio.sleep(30)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


handler = ASGIHandler(app)
"""

WSGI_APP = r"""
from alb_adapter import WSGIHandler


def app(environ, start_response):
    start_response("200 OK", [])
    return [b"ok"]


handler = WSGIHandler(app)
"""


class IdleBackend:
    """A Runtime API backend that never has an invocation: it notes the runtime's first ``next``
    (the end of its init) and keeps it waiting, as Lambda keeps an idle environment."""

    def __init__(self) -> None:
        self.waiting = threading.Event()
        self.init_errors: list[InitError] = []
        self._never = threading.Event()

    def next_invocation(self) -> Invocation | None:
        self.waiting.set()
        self._never.wait()
        return None

    def report_result(self, request_id: str, result: InvocationResult) -> tuple[int, str] | None:
        return 400, "InvalidRequestID"

    def report_init_error(self, error: InitError) -> tuple[int, str] | None:
        self.init_errors.append(error)
        self.waiting.set()
        return None

    def release(self) -> None:
        self._never.set()


class OneEventBackend(IdleBackend):
    """Hands the runtime one event, notes what it reports, then keeps it waiting."""

    def __init__(self, event: dict[str, object], seconds_left: float = 60.0) -> None:
        super().__init__()
        self.invocation: Invocation | None = Invocation(
            event=json.dumps(event).encode(),
            deadline_ms=int((time.time() + seconds_left) * 1000),
            function_arn="arn:aws:lambda:us-east-1:123456789012:function:function",
            trace_id="Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0",
            result=Future(),
        )
        self.results: list[InvocationResult] = []

    def next_invocation(self) -> Invocation | None:
        invocation, self.invocation = self.invocation, None
        return invocation if invocation is not None else super().next_invocation()

    def report_result(self, request_id: str, result: InvocationResult) -> tuple[int, str] | None:
        self.results.append(result)
        return None


RUNTIMES = [
    pytest.param("builtin", None, id="builtin"),
    pytest.param("awslambdaric", None, id="awslambdaric-default"),
    pytest.param("awslambdaric", "AWS_Lambda_python3.12", id="awslambdaric-thread-polling"),
]


def start_function(
    tmp_path: Path, source: str, runtime: str, execution_env: str | None, backend: IdleBackend
) -> tuple[subprocess.Popen[bytes], RuntimeAPIServer]:
    if runtime == "awslambdaric" and not HAS_AWSLAMBDARIC:
        pytest.skip("awslambdaric is not installed (pip install 'alb-adapter[runtime]')")
    (tmp_path / "function.py").write_text(source)
    server = RuntimeAPIServer(backend)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("AWS_EXECUTION_ENV", "PYTEST_CURRENT_TEST")
    }
    environment.update(
        {
            "AWS_LAMBDA_RUNTIME_API": server.address,
            "_HANDLER": "function.handler",
            "LAMBDA_TASK_ROOT": str(tmp_path),
            "PYTHONPATH": os.pathsep.join([str(tmp_path), str(Path(__file__).parents[2])]),
        }
    )
    if execution_env is not None:
        environment["AWS_EXECUTION_ENV"] = execution_env
    process = subprocess.Popen(
        runtime_command(runtime),  # type: ignore[arg-type]
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    return process, server


def terminate_when_idle(
    process: subprocess.Popen[bytes], backend: IdleBackend
) -> tuple[int, str, float]:
    """SIGTERM once the runtime waits for its first event; the exit status, the output and the
    seconds from the signal to the exit (the process is killed, and reported as such, if it is
    still there after STUCK_AFTER_SECONDS)."""
    try:
        assert backend.waiting.wait(STUCK_AFTER_SECONDS), "the runtime never asked for an event"
        process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        try:
            output, _ = process.communicate(timeout=STUCK_AFTER_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
            text = "still running after SIGTERM:\n" + output.decode(errors="replace")
            return 0, text, STUCK_AFTER_SECONDS
        return process.returncode, output.decode(errors="replace"), time.monotonic() - signalled
    finally:
        backend.release()
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize(("runtime", "execution_env"), RUNTIMES)
def test_an_idle_asgi_function_shuts_its_lifespan_down_and_dies_of_sigterm(
    tmp_path: Path, runtime: str, execution_env: str | None
) -> None:
    backend = IdleBackend()
    process, server = start_function(tmp_path, LIFESPAN_APP, runtime, execution_env, backend)
    try:
        status, output, took = terminate_when_idle(process, backend)
    finally:
        server.shutdown()
        server.server_close()
    assert (status, backend.init_errors) == (-signal.SIGTERM, []), output
    assert (tmp_path / "started").exists(), output
    assert (tmp_path / "shut-down").exists(), output
    assert took < 1.0, output


@pytest.mark.parametrize(("runtime", "execution_env"), RUNTIMES)
def test_an_idle_wsgi_function_dies_of_sigterm(
    tmp_path: Path, runtime: str, execution_env: str | None
) -> None:
    backend = IdleBackend()
    process, server = start_function(tmp_path, WSGI_APP, runtime, execution_env, backend)
    try:
        status, output, took = terminate_when_idle(process, backend)
    finally:
        server.shutdown()
        server.server_close()
    assert (status, backend.init_errors) == (-signal.SIGTERM, []), output
    assert took < 1.0, output


@pytest.mark.parametrize(("runtime", "execution_env"), RUNTIMES)
def test_sigterm_during_a_request_shuts_the_lifespan_down_and_never_answers(
    tmp_path: Path, runtime: str, execution_env: str | None
) -> None:
    from alb_adapter.testing import make_event

    backend = OneEventBackend(make_event(path="/slow"))
    process, server = start_function(tmp_path, LIFESPAN_APP, runtime, execution_env, backend)
    try:
        deadline = time.monotonic() + STUCK_AFTER_SECONDS
        while not (tmp_path / "serving").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        try:
            output, _ = process.communicate(timeout=STUCK_AFTER_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        took = time.monotonic() - signalled
    finally:
        backend.release()
        server.shutdown()
        server.server_close()
    text = output.decode(errors="replace")
    assert (process.returncode, backend.results) == (-signal.SIGTERM, []), text
    assert (tmp_path / "shut-down").exists(), text
    assert took < 1.0, text


# An app that swallows the cancellation SIGTERM brings, and one whose lifespan shutdown hangs:
# the loop is stopped under the first and the second is given up, within the runtime's share of
# Lambda's shutdown phase (asgi.py's SIGTERM_* constants: 300 ms in all).
STUBBORN_APP = r"""
import asyncio
from pathlib import Path

from alb_adapter import ASGIHandler

HERE = Path(__file__).resolve().parent


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                (HERE / "shutting-down").touch()
                await asyncio.sleep(30)
    await receive()
    (HERE / "serving").touch()
    while True:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            (HERE / "cancelled").touch()


handler = ASGIHandler(app)
"""


@pytest.mark.parametrize(("runtime", "execution_env"), RUNTIMES)
def test_sigterm_ends_an_app_that_will_not_stop_within_the_shutdown_budget(
    tmp_path: Path, runtime: str, execution_env: str | None
) -> None:
    from alb_adapter.testing import make_event

    backend = OneEventBackend(make_event(path="/"))
    process, server = start_function(tmp_path, STUBBORN_APP, runtime, execution_env, backend)
    try:
        deadline = time.monotonic() + STUCK_AFTER_SECONDS
        while not (tmp_path / "serving").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        try:
            output, _ = process.communicate(timeout=STUCK_AFTER_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        took = time.monotonic() - signalled
    finally:
        backend.release()
        server.shutdown()
        server.server_close()
    text = output.decode(errors="replace")
    assert (process.returncode, backend.results) == (-signal.SIGTERM, []), text
    assert (tmp_path / "cancelled").exists(), text
    assert (tmp_path / "shutting-down").exists(), text
    assert "ASGI lifespan shutdown did not complete" in text
    assert took < 1.0, text


@pytest.mark.parametrize(("runtime", "execution_env"), RUNTIMES)
def test_an_app_past_its_deadline_is_answered_504_before_the_runtime_deadline(
    tmp_path: Path, runtime: str, execution_env: str | None
) -> None:
    from alb_adapter.testing import make_event

    backend = OneEventBackend(make_event(path="/slow"), seconds_left=1.0)
    process, server = start_function(tmp_path, LIFESPAN_APP, runtime, execution_env, backend)
    try:
        assert backend.waiting.wait(STUCK_AFTER_SECONDS) or backend.results, "no answer"
        while not backend.results and process.poll() is None:
            time.sleep(0.01)
    finally:
        backend.release()
        process.kill()
        output, _ = process.communicate()
        server.shutdown()
        server.server_close()
    [result] = backend.results
    assert result.error is None, output.decode()
    assert result.payload is not None
    answer = json.loads(result.payload)
    assert (answer["statusCode"], answer["statusDescription"]) == (504, "504 Gateway Timeout")
    assert "before the Lambda deadline; answering 504" in output.decode()


# A Starlette app whose lifespan startup fails: Starlette answers ``lifespan.startup.failed`` with
# its whole traceback as the message, then raises the error again from the lifespan task.
FAILING_STARTUP_APP = r"""
import contextlib

from starlette.applications import Starlette

from alb_adapter import ASGIHandler


@contextlib.asynccontextmanager
async def lifespan(app):
    raise RuntimeError("database unreachable")
    yield


handler = ASGIHandler(Starlette(lifespan=lifespan))
"""


@pytest.mark.parametrize(("runtime", "execution_env"), RUNTIMES)
def test_a_failed_lifespan_startup_is_one_clear_init_error(
    tmp_path: Path, runtime: str, execution_env: str | None
) -> None:
    pytest.importorskip("starlette")
    backend = IdleBackend()
    process, server = start_function(tmp_path, FAILING_STARTUP_APP, runtime, execution_env, backend)
    try:
        output, _ = process.communicate(timeout=STUCK_AFTER_SECONDS)
    finally:
        backend.release()
        if process.poll() is None:
            process.kill()
            process.wait()
        server.shutdown()
        server.server_close()
    text = output.decode(errors="replace")
    assert [(error.error_type, error.message) for error in backend.init_errors] == [
        (
            "TargetLoadError",
            "function.handler: importing 'function' failed: LifespanError: "
            "lifespan startup failed: RuntimeError: database unreachable",
        )
    ], text
    assert "never retrieved" not in text
    assert process.returncode == 1, text


@pytest.mark.parametrize(
    "status", ["200 Fine\ud800", "200 Fine\x07", "200 Fine\r\nX-Injected: 1", "200 Fine\x7f"]
)
def test_a_wsgi_reason_phrase_checked_like_a_header_value_is_answered_500_and_logged(
    caplog: pytest.LogCaptureFixture, status: str
) -> None:
    # A lone surrogate cannot be encoded: awslambdaric's 3.12 mode would die posting it, and post
    # nothing at all; a control character is refused as in a header value.
    from alb_adapter import WSGIHandler
    from alb_adapter.testing import make_event

    def app(environ: object, start_response: Any) -> list[bytes]:
        start_response(status, [("Content-Type", "text/plain")])
        return [b"ok"]

    with caplog.at_level(logging.ERROR, logger="alb_adapter"):
        answer = WSGIHandler(app)(make_event(), None)
    assert (answer["statusCode"], answer["statusDescription"]) == (500, "500 Internal Server Error")
    assert json.dumps(answer, ensure_ascii=False).encode("utf-8")  # what the runtime sends
    assert [record.getMessage() for record in caplog.records] == [
        "GET /: the application's response cannot be sent through ALB; answering 500"
    ]


# ------------------------------------------------------------------------- answer parity

# Echo apps: the answer is everything the app was given, so any difference in how an event
# reaches the app under the runtime shows in the answer.
WSGI_ECHO_APP = r"""
import json

from alb_adapter import WSGIHandler


def app(environ, start_response):
    if environ["PATH_INFO"] == "/boom":
        raise RuntimeError("the app failed")
    seen = {
        name: value
        for name, value in environ.items()
        if name.isupper() and isinstance(value, str)
    }
    seen["body"] = environ["wsgi.input"].read().decode("latin-1")
    start_response("200 OK", [("Content-Type", "application/json"), ("Set-Cookie", "a=1")])
    return [json.dumps(seen, sort_keys=True).encode()]


handler = WSGIHandler(app)
"""

ASGI_ECHO_APP = r"""
import json

from alb_adapter import ASGIHandler


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    if scope["path"] == "/boom":
        raise RuntimeError("the app failed")
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    seen = {
        "method": scope["method"],
        "path": scope["path"],
        "raw_path": scope["raw_path"].decode("latin-1"),
        "root_path": scope["root_path"],
        "query_string": scope["query_string"].decode("latin-1"),
        "headers": [[name.decode("latin-1"), value.decode("latin-1")] for name, value in scope["headers"]],
        "body": body.decode("latin-1"),
    }
    await send({"type": "http.response.start", "status": 200, "headers": [(b"set-cookie", b"a=1")]})
    await send({"type": "http.response.body", "body": json.dumps(seen, sort_keys=True).encode()})


handler = ASGIHandler(app)
"""


class QueueBackend(IdleBackend):
    """Hands the runtime each event in turn, keeping what it reports for each."""

    def __init__(self, events: list[dict[str, object]]) -> None:
        super().__init__()
        self.invocations = [
            Invocation(
                event=json.dumps(event).encode(),
                deadline_ms=int(time.time() * 1000) + 600_000,
                function_arn="arn:aws:lambda:us-east-1:123456789012:function:function",
                trace_id="Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0",
                result=Future(),
            )
            for event in events
        ]
        self._pending = iter(self.invocations)
        self._by_id = {invocation.request_id: invocation for invocation in self.invocations}

    def next_invocation(self) -> Invocation | None:
        invocation = next(self._pending, None)
        return invocation if invocation is not None else super().next_invocation()

    def report_result(self, request_id: str, result: InvocationResult) -> tuple[int, str] | None:
        self._by_id[request_id].result.set_result(result)
        return None


def parity_events() -> list[dict[str, Any]]:
    from alb_adapter.testing import make_event
    from tests.support import ALB_EVENTS

    events: list[dict[str, Any]] = [
        make_event(),
        make_event(method="POST", path="/form", body=b"a=1&b=%C3%A9"),
        make_event(path="/caf%C3%A9", query={"q": ["1", "2"]}, multi_value_headers=True),
        make_event(method="PUT", path="/bin", body=bytes(range(256))),
        make_event(path="/boom"),  # an app error: a 500 answer, never a function error
    ]
    if ALB_EVENTS.is_dir():
        for path in sorted(ALB_EVENTS.rglob("*.json")):
            event = json.loads(path.read_text(encoding="utf-8"))
            if (
                isinstance(event, dict)
                and "httpMethod" in event
                and "elb" in str(event.get("requestContext"))
            ):
                events.append(event)
    return events


def direct_answer(handler: Any, event: dict[str, Any]) -> object:
    """What calling the handler directly gives, in the form the runtime would post it."""
    try:
        return json.loads(json.dumps(handler(event, None)))
    except Exception as error:
        return {"errorType": type(error).__name__, "errorMessage": str(error)}


def runtime_answer(result: InvocationResult) -> object:
    if result.error is not None:
        return {key: result.error[key] for key in ("errorType", "errorMessage")}
    assert result.payload is not None
    return json.loads(result.payload)


@pytest.mark.parametrize(("runtime", "execution_env"), RUNTIMES)
@pytest.mark.parametrize("source", [WSGI_ECHO_APP, ASGI_ECHO_APP], ids=["wsgi", "asgi"])
def test_the_runtime_answers_as_the_handler_called_directly(
    tmp_path: Path, source: str, runtime: str, execution_env: str | None
) -> None:
    events = parity_events()
    backend = QueueBackend(events)
    process, server = start_function(tmp_path, source, runtime, execution_env, backend)
    try:
        results = [
            invocation.result.result(STUCK_AFTER_SECONDS) for invocation in backend.invocations
        ]
    finally:
        backend.release()
        process.kill()
        output, _ = process.communicate()
        server.shutdown()
        server.server_close()
    namespace: dict[str, Any] = {}
    exec(compile(source, str(tmp_path / "function.py"), "exec"), namespace)
    expected = [direct_answer(namespace["handler"], event) for event in events]
    assert [runtime_answer(result) for result in results] == expected, output.decode()
