"""AsyncALBClient (alb_adapter/testing/client.py) in async tests, under pytest-asyncio and under
anyio's pytest plugin (asyncio backend), and the errors a handler gives when it is handed to the
wrong client: ALBClient in a running loop, a WSGI or an ASGI test client.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import anyio.to_thread
import httpx
import pytest
from starlette.testclient import TestClient
from werkzeug.test import Client

from alb_adapter import ASGIHandler, WSGIHandler
from alb_adapter.errors import UnsupportedEvent
from alb_adapter.handler import BaseHandler
from alb_adapter.testing import (
    ALBClient,
    AsyncALBClient,
    LambdaContext,
    make_event,
    read_response,
)
from alb_adapter.testing.client import ALBTransport, AsyncALBTransport

Environ = dict[str, Any]
NAME = "Zoë"


def answer(method: str, path: str, cookie: bytes, name: bytes, event: dict[str, Any]) -> bytes:
    """What the app says it received: the same JSON from the WSGI app and the ASGI app."""
    return json.dumps(
        {
            "method": method,
            "path": path,
            "cookie": cookie.decode(),
            "name": name.decode("utf-8"),
            "multi_value_headers": "multiValueHeaders" in event,
        }
    ).encode()


# Two cookies (each header mode carries them its own way) and a header with UTF-8 bytes.
RESPONSE_HEADERS = [
    (b"content-type", b"application/json"),
    (b"x-name", NAME.encode()),
    (b"set-cookie", b"a=1; Path=/"),
    (b"set-cookie", b"b=2; Path=/"),
]


# Requests under /slow/ take a little while in the app, long enough for a second invocation to
# begin meanwhile if the client let two run at once.
SLOW = "/slow/"
SLOW_SECONDS = 0.02


def wsgi_app(environ: Environ, start_response: Any) -> list[bytes]:
    if environ["PATH_INFO"].startswith(SLOW):
        time.sleep(SLOW_SECONDS)
    body = answer(
        environ["REQUEST_METHOD"],
        environ["PATH_INFO"].encode("latin-1").decode(),
        environ.get("HTTP_COOKIE", "").encode("latin-1"),
        environ.get("HTTP_X_NAME", "").encode("latin-1"),
        environ["aws.event"],
    )
    start_response(
        "200 OK", [(name.decode(), value.decode("latin-1")) for name, value in RESPONSE_HEADERS]
    )
    return [body]


async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["path"].startswith(SLOW):
        await asyncio.sleep(SLOW_SECONDS)
    headers = dict(scope["headers"])
    body = answer(
        scope["method"],
        scope["path"],
        headers.get(b"cookie", b""),
        headers.get(b"x-name", b""),
        scope["aws.event"],
    )
    await send({"type": "http.response.start", "status": 200, "headers": RESPONSE_HEADERS})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(params=["wsgi", "asgi"])
def handler(request: pytest.FixtureRequest) -> Iterator[BaseHandler]:
    """Built in a synchronous fixture, outside the test's loop, as Lambda builds it at import: an
    ASGIHandler runs an event loop of its own, which cannot start inside another."""
    built: BaseHandler = WSGIHandler(wsgi_app) if request.param == "wsgi" else ASGIHandler(asgi_app)
    with built:
        yield built


@pytest.fixture
def anyio_backend() -> str:
    """asyncio only: trio is not installed here (anyio would run each test under every backend
    it finds)."""
    return "asyncio"


def expected(path: str, cookie: str, multi: bool) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """The whole response: status, the header bytes as they came, the body."""
    body = json.dumps(
        {
            "method": "GET",
            "path": path,
            "cookie": cookie,
            "name": NAME,
            "multi_value_headers": multi,
        }
    ).encode()
    return 200, [*RESPONSE_HEADERS, (b"content-length", str(len(body)).encode())], body


def whole(response: httpx.Response) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    return response.status_code, response.headers.raw, response.content


async def a_session(client: AsyncALBClient, multi: bool) -> None:
    """Two requests, the second sending the cookies the first set (the client's jar)."""
    headers = {b"x-name": NAME.encode()}  # the bytes a browser sends for "Zoë"
    first = await client.get("/caf%C3%A9", headers=headers)
    assert whole(first) == expected("/café", "", multi)
    second = await client.get("/caf%C3%A9", headers=headers)
    assert whole(second) == expected("/café", "a=1; b=2", multi)


@pytest.mark.asyncio
async def test_under_pytest_asyncio(handler: BaseHandler, multi: bool) -> None:
    async with AsyncALBClient(handler, multi_value_headers=multi) as client:
        await a_session(client, multi)


@pytest.mark.anyio
async def test_under_anyio(handler: BaseHandler, multi: bool) -> None:
    async with AsyncALBClient(handler, multi_value_headers=multi) as client:
        await a_session(client, multi)


@pytest.mark.anyio
async def test_an_answer_alb_refuses_is_its_502(multi: bool) -> None:
    def null_body(event: dict[str, object], context: object) -> object:
        return {"statusCode": 200, "body": None}

    async with AsyncALBClient(null_body, multi_value_headers=multi) as client:
        response = await client.get("/")
    assert response.status_code == 502
    assert response.headers["x-alb-emulator-error"] == (
        "LambdaInvalidResponse: response.body is null (ALB answers 502 to a null anywhere)"
    )


# --- one invocation at a time ------------------------------------------------------------------


class OverlapRecorder:
    """A Lambda handler that notices another invocation running at the same time as itself.

    Each call waits up to ``wait`` seconds for another to begin (and returns as soon as one
    does); one that begins while another is running records the overlap.
    """

    def __init__(self, wait: float) -> None:
        self.wait = wait
        self.calls = 0
        self.overlapped = False
        self._running = 0
        self._state = threading.Lock()
        self._another_began = threading.Event()

    def __call__(self, event: dict[str, Any], context: object) -> object:
        with self._state:
            self.calls += 1
            self._running += 1
            if self._running > 1:
                self.overlapped = True
                self._another_began.set()
        try:
            self._another_began.wait(self.wait)
        finally:
            with self._state:
                self._running -= 1
        if "multiValueHeaders" in event:  # answered in the mode it was asked in
            return {"statusCode": 200, "multiValueHeaders": {}, "body": event["path"]}
        return {"statusCode": 200, "headers": {}, "body": event["path"]}


REQUESTS = 5


@pytest.mark.asyncio
async def test_concurrent_requests_never_overlap_in_the_handler(multi: bool) -> None:
    recorder = OverlapRecorder(wait=0.05)
    async with AsyncALBClient(recorder, multi_value_headers=multi) as client:
        responses = await asyncio.gather(*(client.get(f"/{n}") for n in range(REQUESTS)))
    assert [(r.status_code, r.text) for r in responses] == [(200, f"/{n}") for n in range(REQUESTS)]
    assert (recorder.calls, recorder.overlapped) == (REQUESTS, False)


@pytest.mark.asyncio
async def test_the_recorder_sees_calls_that_do_overlap() -> None:
    """A check on the check above: the same calls in worker threads without the client's
    one-at-a-time rule are seen overlapping (each returns once another has begun)."""
    recorder = OverlapRecorder(wait=10)
    events = [make_event("GET", f"/{n}") for n in range(REQUESTS)]
    await asyncio.gather(
        *(anyio.to_thread.run_sync(recorder, event, LambdaContext()) for event in events)
    )
    assert (recorder.calls, recorder.overlapped) == (REQUESTS, True)


@pytest.mark.asyncio
async def test_concurrent_requests_to_a_real_handler(handler: BaseHandler, multi: bool) -> None:
    """An ASGIHandler runs its own loop to completion in each call: a second call while one is
    running would fail ("This event loop is already running"), and ALB would answer 502."""
    paths = [f"{SLOW}{n}" for n in range(REQUESTS)]
    async with AsyncALBClient(handler, multi_value_headers=multi) as client:
        # httpx takes the jar's cookies as each request is built, here all before any answer.
        requests = (client.get(path, headers={b"x-name": NAME.encode()}) for path in paths)
        responses = await asyncio.gather(*requests)
    assert [whole(response) for response in responses] == [
        expected(path, "", multi) for path in paths
    ]


@pytest.mark.anyio
async def test_closing_the_client_leaves_the_handler_open(
    handler: BaseHandler, multi: bool
) -> None:
    async with AsyncALBClient(handler, multi_value_headers=multi) as client:
        await client.get("/")
    assert client.is_closed
    assert not handler.closed
    # Still serving, called the way the client calls it: in a worker thread, not on this loop.
    event = make_event("GET", "/again", multi_value_headers=multi)
    response = await anyio.to_thread.run_sync(handler, event, LambdaContext())
    assert read_response(response, multi_value_headers=multi).json()["path"] == "/again"


# --- a handler given to the wrong client -------------------------------------------------------


def refuse_in_a_running_loop(handler: BaseHandler) -> None:
    with ALBClient(handler) as client, pytest.raises(RuntimeError) as raised:
        client.get("/")
    assert str(raised.value) == (
        "ALBClient calls the Lambda handler in this thread, where an event loop is running (an "
        "async test); use AsyncALBClient there (`async with AsyncALBClient(handler) as client: "
        "await client.get(...)`), which calls the handler in a worker thread as Lambda would"
    )


@pytest.mark.asyncio
async def test_albclient_under_pytest_asyncio_names_asyncalbclient(handler: BaseHandler) -> None:
    refuse_in_a_running_loop(handler)


@pytest.mark.anyio
async def test_albclient_under_anyio_names_asyncalbclient(handler: BaseHandler) -> None:
    refuse_in_a_running_loop(handler)


WSGI_MISUSE = (
    "this is a WSGI environ, not a Lambda event: a Lambda handler is not a WSGI app. Give the "
    "WSGI app itself to a WSGI server or test client, or, to test through ALB, wrap the handler: "
    "werkzeug.test.Client(alb_adapter.testing.ALBWSGIApp(handler)); Flask, Django and Starlette "
    "clients: see alb_adapter.testing.flask, .django, .starlette"
)
ASGI_MISUSE = (
    "this is an ASGI scope, not a Lambda event: a Lambda handler is not an ASGI app. Give the "
    "ASGI app itself to an ASGI server or test client, or, to test through ALB, use "
    "alb_adapter.testing.starlette.TestClient(app) or alb_adapter.testing.ALBClient(handler)"
)


def test_a_handler_given_to_werkzeug_says_it_is_not_a_wsgi_app(handler: BaseHandler) -> None:
    with pytest.raises(UnsupportedEvent) as raised:
        Client(handler).get("/")  # type: ignore[arg-type]  # the mistake under test
    assert str(raised.value) == WSGI_MISUSE


def test_a_handler_given_to_starlette_says_it_is_not_an_asgi_app(handler: BaseHandler) -> None:
    with pytest.raises(UnsupportedEvent) as raised:
        TestClient(handler).get("/")  # type: ignore[arg-type]  # the mistake under test
    assert str(raised.value) == ASGI_MISUSE


def test_the_sync_and_async_clients_take_the_same_keywords() -> None:
    """Each pair shares one constructor: a test moving to the async client keeps its options."""

    def keywords(cls: type) -> list[str]:
        return list(inspect.signature(cls).parameters)

    front_door = ["multi_value_headers", "client_ip", "timeout"]
    assert keywords(ALBTransport) == keywords(AsyncALBTransport)
    assert keywords(ALBTransport) == [
        "handler",
        *front_door,
        "raise_handler_errors",
        "source",
        "stage",
    ]
    assert keywords(ALBClient) == keywords(AsyncALBClient)
    assert keywords(ALBClient) == [
        "handler",
        *front_door,
        "base_url",
        "source",
        "stage",
        "client_options",
    ]
