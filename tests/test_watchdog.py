"""The last word before Lambda ends an overrunning invocation: one ERROR line naming the request,
written from the watchdog thread while the app still blocks, and nothing for requests in time."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from alb_adapter import ASGIHandler, WSGIHandler
from alb_adapter.testing import LambdaContext, make_event
from alb_adapter.watchdog import WARNING_MARGIN_SECONDS, Watchdog

TIMEOUT = 0.6  # the watchdog speaks at TIMEOUT - WARNING_MARGIN_SECONDS


def sleeping_wsgi_app(seconds: float) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        time.sleep(seconds)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"late"]

    return app


def deadline_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelno == logging.ERROR and "before the Lambda deadline" in record.getMessage()
    ]


def test_a_wsgi_app_running_past_the_deadline_is_named_before_lambda_ends_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    spoken_while_running: list[list[str]] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        time.sleep(TIMEOUT)
        spoken_while_running.append(deadline_lines(caplog))  # said before the app is done
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"late"]

    context = LambdaContext(timeout=TIMEOUT, aws_request_id="req-42")
    with caplog.at_level(logging.ERROR, logger="alb_adapter"):
        WSGIHandler(app)(make_event("POST", "/slow/report"), context)
    expected = (
        f"POST /slow/report (request req-42) is still running {WARNING_MARGIN_SECONDS:.2f} s "
        "before the Lambda deadline: Lambda will end the function and ALB will answer 502"
    )
    assert spoken_while_running == [[expected]]
    assert deadline_lines(caplog) == [expected]


def test_an_asgi_app_blocking_its_loop_is_named_too(caplog: pytest.LogCaptureFixture) -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise RuntimeError("no lifespan")
        time.sleep(TIMEOUT)  # blocks the loop: the adapter's own 504 cannot happen
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"late"})

    with ASGIHandler(app) as handler, caplog.at_level(logging.ERROR, logger="alb_adapter"):
        handler(make_event("GET", "/blocking"), LambdaContext(timeout=TIMEOUT, aws_request_id="r"))
    assert [line.split(" is still")[0] for line in deadline_lines(caplog)] == [
        "GET /blocking (request r)"
    ]


def test_requests_in_time_are_never_named(caplog: pytest.LogCaptureFixture) -> None:
    handler = WSGIHandler(sleeping_wsgi_app(0.0))
    with caplog.at_level(logging.DEBUG, logger="alb_adapter"):
        for _ in range(50):
            handler(make_event(), LambdaContext(timeout=TIMEOUT))
        time.sleep(TIMEOUT + 0.2)  # past every deadline: released, so nothing to say
    assert deadline_lines(caplog) == []


def test_only_the_late_one_of_concurrent_invocations_is_named(
    caplog: pytest.LogCaptureFixture,
) -> None:
    watchdog = Watchdog()
    with caplog.at_level(logging.ERROR, logger="alb_adapter"):
        early = watchdog.watch(TIMEOUT, ("GET", "/in-time", "a"))
        late = watchdog.watch(TIMEOUT, ("GET", "/late", "b"))
        later = watchdog.watch(5 * TIMEOUT, ("GET", "/much-later", "c"))
        watchdog.release(early)
        time.sleep(TIMEOUT + 0.2)
        watchdog.release(late)
        watchdog.release(later)
    assert [line.split(" is still")[0] for line in deadline_lines(caplog)] == [
        "GET /late (request b)"
    ]


def test_invocations_do_not_wake_the_thread() -> None:
    """Waking the thread on every invocation costs a thread switch each time (~10 us): deadlines
    that come later (or within Lambda's millisecond rounding) must not wake it."""
    watchdog = Watchdog()
    context = LambdaContext(timeout=30)
    watchdog.release(watchdog.watch(context.get_remaining_time_in_millis() / 1000, ("G", "/", "r")))
    # The thread takes its look, as it does between invocations in Lambda. Waited for, not slept
    # for: a thread that has not run yet waits for nothing, so on a loaded machine every
    # invocation would wake it until it does (harmless in Lambda, where it runs between them).
    looked_by = time.monotonic() + 10
    while watchdog.looks < 1 + watchdog.wakeups and time.monotonic() < looked_by:
        time.sleep(0.001)
    woken = watchdog.wakeups
    assert woken in (0, 1)  # 0 when the thread's first look already saw the deadline
    for _ in range(2000):
        token = watchdog.watch(context.get_remaining_time_in_millis() / 1000, ("GET", "/", "r"))
        watchdog.release(token)
    for _ in range(200):
        fresh = LambdaContext(timeout=30)  # each invocation's own deadline, as in Lambda
        token = watchdog.watch(fresh.get_remaining_time_in_millis() / 1000, ("GET", "/", "r"))
        watchdog.release(token)
    assert watchdog.wakeups == woken  # none of the 2,200 invocations woke it
