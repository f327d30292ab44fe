"""ASGIHandler: the scope, the buffered HTTP cycle and its message-order rules, the persistent loop,
the deadline, and every failure path, in both header modes. Starlette's TestClient is the oracle."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request as StarletteRequest
from starlette.responses import (
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route
from starlette.testclient import TestClient

from alb_adapter import AppError, ASGIHandler, Config
from alb_adapter.asgi import DeadlineExceeded, ResponseAlreadySent, build_scope
from alb_adapter.model import Request
from alb_adapter.testing import LambdaContext, make_event, make_health_check_event, read_response
from tests.support import SECRET, logged_above_debug

Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]
TEXT = (("content-type", "text/plain; charset=utf-8"),)


@pytest.fixture
def handlers() -> Iterator[list[ASGIHandler]]:
    """Handlers built by a test, closed after it (each owns an event loop)."""
    made: list[ASGIHandler] = []
    yield made
    for handler in made:
        handler.close()


@pytest.fixture
def build(handlers: list[ASGIHandler]) -> Callable[..., ASGIHandler]:
    def build(app: Any, **options: Any) -> ASGIHandler:
        handler = ASGIHandler(app, **options)
        handlers.append(handler)
        return handler

    return build


def call(
    handler: ASGIHandler, multi: bool, *args: Any, context: object = None, **kwargs: Any
) -> Any:
    event = make_event(*args, multi_value_headers=multi, **kwargs)
    return read_response(handler(event, context), multi_value_headers=multi)


class Recorder:
    """An ASGI app that records its scope and messages, then answers with ``reply``."""

    def __init__(self, reply: list[dict[str, Any]] | None = None) -> None:
        self.scopes: list[Scope] = []
        self.received: list[dict[str, Any]] = []
        self.reply = reply or [
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain")],
            },
            {"type": "http.response.body", "body": b"ok"},
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        self.scopes.append(scope)
        self.received.append(await receive())
        for message in self.reply:
            await send(message)


# --- the scope -------------------------------------------------------------------------------


def test_whole_scope(build: Callable[..., ASGIHandler], multi: bool) -> None:
    app = Recorder()
    handler = build(app, base_path="/shop")
    context = LambdaContext()
    event = make_event(
        "POST",
        "/shop/caf%C3%A9/a%2Fb?q=a+b&x=%E9",
        headers=[
            ("Cookie", "a=1"),
            ("Cookie", "b=2"),
            ("Accept", "text/html"),
            ("Accept", "*/*"),
            ("X-Name", "Zoë"),
            ("X-Snow", "☃"),
            ("X-Auth_Token", "kept in ASGI"),
        ],
        body=b"\x00\x01",
        multi_value_headers=multi,
        client_ip="203.0.113.9:4711",
        trace_id="Root=1-65f0a000-0123456789abcdef01234567",
    )
    assert read_response(handler(event, context), multi_value_headers=multi).status == 200
    scope = app.scopes[0]
    assert scope.pop("aws.event") is event
    assert scope.pop("aws.context") is context
    assert scope.pop("state") == {}
    repeated = [(b"cookie", b"a=1; b=2"), (b"accept", b"text/html"), (b"accept", b"*/*")]
    assert scope == {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": "/shop/café/a/b",
        "raw_path": b"/shop/caf%C3%A9/a%2Fb",
        "query_string": b"q=a+b&x=%E9",
        "root_path": "/shop",
        "headers": [
            (b"host", b"example.com"),
            *(repeated if multi else [(b"cookie", b"b=2"), (b"accept", b"*/*")]),
            (b"x-name", "Zoë".encode()),  # the client's UTF-8 bytes
            (b"x-snow", "☃".encode()),
            (b"x-auth_token", b"kept in ASGI"),  # bytes name/value pairs cannot collide
            (b"content-length", b"2"),
            (b"x-forwarded-for", b"203.0.113.9:4711"),
            (b"x-forwarded-proto", b"https"),
            (b"x-forwarded-port", b"443"),
            (b"x-amzn-trace-id", b"Root=1-65f0a000-0123456789abcdef01234567"),
        ],
        "client": ("203.0.113.9", 4711),
        "server": ("example.com", 443),
        "extensions": {"http.response.pathsend": {}},
    }
    assert app.received == [{"type": "http.request", "body": b"\x00\x01", "more_body": False}]


def test_scope_header_values_are_the_clients_utf8_bytes_whatever_they_hold(
    build: Callable[..., ASGIHandler], multi: bool
) -> None:
    # ALB decodes header bytes as UTF-8, so the client sent these values' UTF-8 bytes: the app
    # gets exactly those, for a latin-1 character, one beyond it, or both in one value.
    app = Recorder()
    handler = build(app)
    for headers in (
        [("x-seen", "1")],
        [("x-seen", "Zoë"), ("x-new-9", "n")],
        [("x-new-10", "m"), ("x-seen", "☃")],
        [("x-seen", "Zoë€"), ("x-new-9", "o")],
    ):
        call(handler, multi, "GET", "/", headers=headers)
    assert [scope["headers"][1:3] for scope in app.scopes] == [
        [(b"x-seen", b"1"), (b"x-forwarded-for", b"198.51.100.7")],
        [(b"x-seen", b"Zo\xc3\xab"), (b"x-new-9", b"n")],
        [(b"x-new-10", b"m"), (b"x-seen", b"\xe2\x98\x83")],
        [(b"x-seen", b"Zo\xc3\xab\xe2\x82\xac"), (b"x-new-9", b"o")],
    ]


@pytest.mark.parametrize(
    ("path", "root_path"),
    [("/shop/x", "/shop"), ("/shop", "/shop"), ("/shopping", ""), ("/other", "")],
)
def test_root_path_only_on_a_segment_boundary(
    build: Callable[..., ASGIHandler], multi: bool, path: str, root_path: str
) -> None:
    app = Recorder()
    call(build(app, base_path="/shop"), multi, "GET", path)
    assert (app.scopes[0]["path"], app.scopes[0]["root_path"]) == (path, root_path)


def test_health_check_scope(build: Callable[..., ASGIHandler], multi: bool) -> None:
    app = Recorder()
    handler = build(app)
    handler(make_health_check_event(multi_value_headers=multi), None)
    scope = app.scopes[0]
    assert (scope["scheme"], scope["server"], scope["client"], scope["headers"]) == (
        "http",
        ("localhost", 80),
        None,
        [(b"user-agent", b"ELB-HealthChecker/2.0")],
    )


def test_invalid_utf8_in_the_path_survives_as_surrogates(
    build: Callable[..., ASGIHandler], multi: bool
) -> None:
    app = Recorder()
    call(build(app), multi, "GET", "/latin%E9")
    assert app.scopes[0]["path"].encode("utf-8", "surrogateescape") == b"/latin\xe9"


# --- Starlette as the oracle -----------------------------------------------------------------


async def echo(request: StarletteRequest) -> JSONResponse:
    body = await request.body()
    response = JSONResponse(
        {
            "method": request.method,
            "path": request.url.path,
            "url": str(request.url),
            "link": str(request.url_for("echo", rest="x y")),
            "args": sorted(request.query_params.multi_items()),
            "cookies": dict(request.cookies),
            "client": request.client.host if request.client else None,
            "body": body.decode("latin-1"),
        }
    )
    response.set_cookie("a", "1")
    response.set_cookie("b", "2", path="/shop")
    return response


async def stream(request: StarletteRequest) -> StreamingResponse:
    async def events() -> Any:
        for n in range(3):
            await asyncio.sleep(0)
            yield f"data: {n}\n\n".encode()

    return StreamingResponse(events(), media_type="text/event-stream")


async def image(request: StarletteRequest) -> Response:
    return Response(bytes(range(256)), media_type="image/png")


async def moved(request: StarletteRequest) -> RedirectResponse:
    return RedirectResponse(request.url_for("echo", rest="done"), status_code=303)


def starlette_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/echo/{rest:path}", echo, methods=["GET", "POST"], name="echo"),
            Route("/stream", stream),
            Route("/image.png", image),
            Route("/moved", moved),
        ]
    )


REQUESTS: list[tuple[str, str, dict[str, str], bytes]] = [
    ("GET", "/echo/a?q=a+b&r=%2B&s=%20", {}, b""),
    ("GET", "/echo/caf%C3%A9", {"cookie": "x=1; y=2"}, b""),
    ("POST", "/echo/form", {"content-type": "application/x-www-form-urlencoded"}, b"k=v+w"),
    ("POST", "/echo/bin", {"content-type": "application/octet-stream"}, bytes(range(256))),
    ("GET", "/stream", {}, b""),
    ("GET", "/image.png", {}, b""),
    ("GET", "/moved", {}, b""),
    ("GET", "/missing", {}, b""),
    ("PUT", "/echo/a", {}, b""),
    ("HEAD", "/image.png", {}, b""),  # the body is dropped, as by any HTTP server
]


@pytest.mark.parametrize("base_path", ["", "/shop"])
@pytest.mark.parametrize(("method", "path", "headers", "body"), REQUESTS)
def test_same_answers_as_starlettes_test_client(
    build: Callable[..., ASGIHandler],
    multi: bool,
    base_path: str,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
) -> None:
    app = starlette_app()
    client = TestClient(
        app, base_url="https://example.com", root_path=base_path, follow_redirects=False
    )
    expected = client.request(method, base_path + path, headers=headers, content=body)
    ours = call(
        build(app, base_path=base_path),
        multi,
        method,
        base_path + path,
        headers=headers,
        body=body,
        client_ip="testclient",
    )
    assert ours.status == expected.status_code
    assert ours.body == expected.content
    # content-length is computed by ALB itself, so the adapter drops it.
    oracle = [(k, v) for k, v in expected.headers.multi_items() if k != "content-length"]
    assert list(ours.headers) == oracle


# --- the HTTP cycle --------------------------------------------------------------------------


def test_streaming_and_background_tasks_finish_before_the_handler_returns(
    build: Callable[..., ASGIHandler], multi: bool
) -> None:
    done: list[str] = []

    async def endpoint(request: StarletteRequest) -> PlainTextResponse:
        async def later() -> None:
            await asyncio.sleep(0.01)
            done.append(request.url.path)

        return PlainTextResponse("queued", background=BackgroundTask(later))

    handler = build(Starlette(routes=[Route("/job", endpoint)]))
    answer = call(handler, multi, "GET", "/job")
    assert (answer.status, answer.body, done) == (200, b"queued", ["/job"])


def test_disconnect_arrives_only_after_the_response(build: Callable[..., ASGIHandler]) -> None:
    order: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        await receive()

        async def watch() -> None:
            message = await receive()
            order.append(message["type"])

        watcher = asyncio.get_running_loop().create_task(watch())
        await asyncio.sleep(0)
        order.append("start")
        await send({"type": "http.response.start", "status": 200})
        await send({"type": "http.response.body", "body": b"a", "more_body": True})
        order.append("last body")
        await send({"type": "http.response.body", "body": b"b"})
        await watcher
        order.append(str((await receive())["type"]))

    answer = call(build(app), False, "GET", "/")
    assert answer.body == b"ab"
    assert order == ["start", "last body", "http.disconnect", "http.disconnect"]


def test_pathsend_extension(build: Callable[..., ASGIHandler], tmp_path: Path, multi: bool) -> None:
    target = tmp_path / "blob.bin"
    target.write_bytes(bytes(range(256)) * 4)

    async def download(request: StarletteRequest) -> FileResponse:
        return FileResponse(target, media_type="application/octet-stream")

    answer = call(build(Starlette(routes=[Route("/f", download)])), multi, "GET", "/f")
    assert (answer.status, answer.body) == (200, bytes(range(256)) * 4)


def test_utf8_response_headers_reach_the_client_as_text(
    build: Callable[..., ASGIHandler], multi: bool
) -> None:
    app = Recorder(
        [
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-disposition", 'attachment; filename="café.txt"'.encode()),
                    (b"x-latin", "Zoë".encode("latin-1")),
                ],
            },
            {"type": "http.response.body"},
        ]
    )
    answer = call(build(app), multi, "GET", "/")
    assert answer.headers == (
        ("content-disposition", 'attachment; filename="café.txt"'),
        ("x-latin", "Zoë"),
    )


def test_the_loop_is_created_once_and_reused(build: Callable[..., ASGIHandler]) -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            loops.append(asyncio.get_running_loop())
            await send({"type": "http.response.start", "status": 204})
            await send({"type": "http.response.body"})

    handler = build(app)
    for _ in range(5):
        handler(make_event(), None)
    assert len(set(map(id, loops))) == 1
    assert loops[0] is handler.loop
    assert not handler.loop.is_closed()


# --- broken apps -----------------------------------------------------------------------------


def start(status: object = 200, headers: object = ()) -> dict[str, Any]:
    return {"type": "http.response.start", "status": status, "headers": headers}


def body(data: object = b"x", more: object = False) -> dict[str, Any]:
    return {"type": "http.response.body", "body": data, "more_body": more}


async def never_responds(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        await receive()


async def raises_first(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        raise ZeroDivisionError("app bug")


BROKEN: dict[str, tuple[Any, str]] = {
    "raises": (raises_first, "ZeroDivisionError"),
    "never responds": (never_responds, "returned without sending http.response.start"),
    "stops mid-body": (Recorder([start(), body(more=True)]), "before the last http.response.body"),
    "body before start": (Recorder([body()]), "expected http.response.start first"),
    "two starts": (Recorder([start(), start()]), "http.response.start was sent twice"),
    "after the last body": (Recorder([start(), body(), body()]), "after the response was complete"),
    "status str": (Recorder([start("200"), body()]), "'status' must be an int"),
    "status 600": (Recorder([start(600), body()]), "'status' must be an int from 100 to 599"),
    "status bool": (Recorder([start(True), body()]), "'status' must be an int"),
    "str headers": (Recorder([start(headers=[("a", "b")]), body()]), "(bytes, bytes) pairs"),
    "header not a pair": (Recorder([start(headers=[(b"a",)]), body()]), "[name, value] pairs"),
    "headers not iterable": (Recorder([start(headers=5), body()]), "[name, value] pairs"),
    "str body": (Recorder([start(), body("text")]), "'body' must be bytes"),
    "more_body not bool": (Recorder([start(), body(more="yes")]), "'more_body' must be a bool"),
    "trailers": (Recorder([{**start(), "trailers": True}, body()]), "trailers"),
    "unknown message": (Recorder([start(), {"type": "http.response.push"}]), "unexpected message"),
    "not a dict": (Recorder([["http.response.start"]]), "without a 'type'"),  # type: ignore[list-item]
    "pathsend without path": (Recorder([start(), {"type": "http.response.pathsend"}]), "'path'"),
    "header injection": (
        Recorder([start(headers=[(b"x-evil", b"a\r\nset-cookie: admin=1")]), body()]),
        "CR, LF or NUL",
    ),
}


@pytest.mark.parametrize("name", BROKEN)
def test_broken_apps_answer_500_and_log(
    build: Callable[..., ASGIHandler], multi: bool, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    app, cause = BROKEN[name]
    with caplog.at_level(logging.DEBUG, logger="alb_adapter"):
        response = build(app, lifespan="off")(
            make_event(
                "GET", "/x", headers={"cookie": "session=secret-cookie"}, multi_value_headers=multi
            ),
            None,
        )
    answer = read_response(response, multi_value_headers=multi)
    assert (answer.status, answer.headers, answer.body) == (500, TEXT, b"Internal Server Error\n")
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "GET /x" in errors[0].getMessage()
    assert cause in caplog.text
    assert "secret-cookie" not in caplog.text


@pytest.mark.parametrize("name", BROKEN)
def test_broken_apps_raise_under_raise_app_exceptions(
    build: Callable[..., ASGIHandler], name: str
) -> None:
    app, cause = BROKEN[name]
    handler = build(app, lifespan="off", raise_app_exceptions=True)
    with pytest.raises(Exception) as caught:  # noqa: PT011 (the type varies; checked below)
        handler(make_event(), None)
    assert cause in str(caught.value) or cause == type(caught.value).__name__
    if name != "raises":
        assert isinstance(caught.value, AppError)


def test_send_after_completion_is_an_oserror_the_app_may_catch(
    build: Callable[..., ASGIHandler], multi: bool
) -> None:
    caught: list[BaseException] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        await send(start(201, [(b"content-type", b"text/plain")]))
        await send(body(b"done"))
        try:
            await send(body(b"late"))
        except OSError as exc:  # what ASGI spec 2.4 promises
            caught.append(exc)

    answer = call(build(app), multi, "GET", "/")
    assert (answer.status, answer.body) == (201, b"done")
    assert len(caught) == 1
    assert isinstance(caught[0], ResponseAlreadySent)


def test_raising_after_a_complete_response_keeps_it_and_logs(
    build: Callable[..., ASGIHandler], multi: bool, caplog: pytest.LogCaptureFixture
) -> None:
    async def crash(request: StarletteRequest) -> None:
        raise KeyError("in the view")

    app = Starlette(routes=[Route("/crash", crash)])  # ServerErrorMiddleware answers, re-raises
    with caplog.at_level(logging.ERROR, logger="alb_adapter"):
        answer = call(build(app), multi, "GET", "/crash")
    assert (answer.status, answer.body) == (500, b"Internal Server Error")
    assert "after sending a complete response" in caplog.text
    assert "KeyError: 'in the view'" in caplog.text
    with pytest.raises(KeyError, match="in the view"):
        build(app, raise_app_exceptions=True)(make_event("GET", "/crash"), None)


# --- the deadline ----------------------------------------------------------------------------


async def slow(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        await asyncio.sleep(30)


async def stubborn(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        while True:
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                continue  # swallows cancellation


@pytest.mark.parametrize("app", [slow, stubborn], ids=["cancellable", "swallows-cancel"])
def test_slow_app_gets_504_before_the_lambda_deadline(
    build: Callable[..., ASGIHandler], multi: bool, app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    handler = build(app, lifespan="off")
    began = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="alb_adapter"):
        answer = call(handler, multi, "GET", "/slow", context=LambdaContext(timeout=0.6))
    elapsed = time.monotonic() - began
    assert (answer.status, answer.headers, answer.body) == (
        504,
        TEXT,
        b"Gateway Timeout: the application took too long.\n",
    )
    assert elapsed < 0.6  # answered before the (simulated) Lambda deadline
    assert "GET /slow: the application did not finish within 0.30 s" in caplog.text


def test_deadline_under_raise_app_exceptions(build: Callable[..., ASGIHandler]) -> None:
    handler = build(slow, lifespan="off", raise_app_exceptions=True)
    with pytest.raises(DeadlineExceeded, match="did not finish"):
        handler(make_event(), LambdaContext(timeout=0.2))


def test_a_context_without_a_clock_means_no_deadline(build: Callable[..., ASGIHandler]) -> None:
    class Odd:
        def get_remaining_time_in_millis(self) -> str:
            return "soon"

    answer = call(build(Recorder()), False, "GET", "/", context=Odd())
    assert answer.status == 200


def test_a_fast_app_is_not_affected_by_the_deadline(build: Callable[..., ASGIHandler]) -> None:
    handler = build(Recorder())
    for _ in range(3):
        assert call(handler, False, "GET", "/", context=LambdaContext(timeout=5)).status == 200
    assert handler.loop.is_running() is False


async def sleepy(scope: Scope, receive: Receive, send: Send) -> None:
    """Waits the seconds its path names (/sleep/0.4), then answers "ok"."""
    if scope["type"] == "http":
        await asyncio.sleep(float(scope["path"].rpartition("/")[2]))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def _timed_call(handler: ASGIHandler, multi: bool, path: str, timeout: float | None) -> Any:
    context = None if timeout is None else LambdaContext(timeout=timeout)
    return call(handler, multi, "GET", path, context=context)


def test_a_past_calls_shorter_deadline_does_not_cut_the_next_call_short(
    build: Callable[..., ASGIHandler], multi: bool
) -> None:
    # The timer armed for the first call (0.3 s away) fires while the second one, which may
    # run for 4.5 s, is still waiting: it must move on to the new deadline, not cancel.
    handler = build(sleepy, lifespan="off")
    assert _timed_call(handler, multi, "/sleep/0", 0.6).status == 200
    began = time.monotonic()
    answer = _timed_call(handler, multi, "/sleep/0.45", 5)
    assert (answer.status, answer.body) == (200, b"ok")
    assert time.monotonic() - began >= 0.45
    # Nor may it touch a call that has no deadline at all.
    assert _timed_call(handler, multi, "/sleep/0", 0.6).status == 200
    assert _timed_call(handler, multi, "/sleep/0.45", None).status == 200


def test_an_earlier_deadline_after_a_later_one_is_kept(
    build: Callable[..., ASGIHandler], multi: bool
) -> None:
    handler = build(sleepy, lifespan="off")
    assert _timed_call(handler, multi, "/sleep/0", 5).status == 200  # a timer 4.5 s away
    began = time.monotonic()
    assert _timed_call(handler, multi, "/sleep/30", 0.6).status == 504
    assert time.monotonic() - began < 0.6


async def tidy(scope: Scope, receive: Receive, send: Send) -> None:
    """Cleans up for a moment when cancelled (within the grace period), then lets it through."""
    if scope["type"] == "http":
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            await asyncio.sleep(0.05)
            raise


@pytest.mark.parametrize("late_app", [tidy, stubborn], ids=["cleans-up", "swallows-cancel"])
def test_after_a_504_the_next_call_runs_whole(
    build: Callable[..., ASGIHandler], multi: bool, late_app: Any
) -> None:
    # Nothing armed for the cancelled call (the grace period's loop stop) may reach the next one.
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/late":
            await late_app(scope, receive, send)
        else:
            await sleepy(scope, receive, send)

    handler = build(app, lifespan="off")
    assert _timed_call(handler, multi, "/late", 0.6).status == 504
    answer = _timed_call(handler, multi, "/sleep/0.35", 5)  # longer than the 0.2 s grace
    assert (answer.status, answer.body) == (200, b"ok")
    assert _timed_call(handler, multi, "/sleep/30", 0.4).status == 504


# --- construction ----------------------------------------------------------------------------


def test_construction_checks(build: Callable[..., ASGIHandler]) -> None:
    with pytest.raises(TypeError, match="needs an ASGI application"):
        ASGIHandler("main:app")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lifespan must be one of"):
        ASGIHandler(Recorder(), lifespan="maybe")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="multi_cookie"):
        ASGIHandler(Recorder(), multi_cookie="all")  # type: ignore[arg-type]
    handler = build(Recorder())
    assert "ASGIHandler(" in repr(handler)
    handler.close()
    handler.close()  # idempotent
    assert handler.loop.is_closed()


def test_asgi_handler_is_imported_lazily() -> None:
    import subprocess

    code = (
        "import sys, alb_adapter; assert 'asyncio' not in sys.modules; "
        "alb_adapter.ASGIHandler; assert 'asyncio' in sys.modules; "
        "from alb_adapter import ASGIHandler; print('ok')"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", code], check=False, capture_output=True, text=True
    )
    assert result.stdout.strip() == "ok", result.stderr
    import alb_adapter

    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        alb_adapter.Nope  # noqa: B018


def test_the_apps_own_runtime_error_is_not_taken_for_the_deadline(
    build: Callable[..., ASGIHandler], multi: bool
) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raise RuntimeError("not a timeout")

    answer = call(build(app), multi, "GET", "/", context=LambdaContext(timeout=5))
    assert (answer.status, answer.body) == (500, b"Internal Server Error\n")


def test_the_handler_leaves_no_global_event_loop_behind() -> None:
    """In a fresh process (the event loop policy keeps state between tests in this one)."""
    import subprocess

    code = (
        "import asyncio, warnings\n"
        "from alb_adapter import ASGIHandler\n"
        "async def app(scope, receive, send): pass\n"
        "handler = ASGIHandler(app, lifespan='off')\n"
        "warnings.simplefilter('ignore')\n"
        "print(asyncio.get_event_loop() is handler.loop)\n"
        "handler.close()\n"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", code], check=False, capture_output=True, text=True
    )
    assert result.stdout.strip() == "False", result.stderr


def test_building_or_calling_inside_a_running_loop_is_a_clear_error(
    build: Callable[..., ASGIHandler],
) -> None:
    handler = build(Recorder())

    async def inside() -> None:
        with pytest.raises(RuntimeError, match="runs its own event loop"):
            ASGIHandler(Recorder())
        with pytest.raises(RuntimeError, match="runs its own event loop"):
            handler(make_event(), None)

    asyncio.run(inside())


@pytest.mark.parametrize(
    "event", [{}, {"headers": {}}, {"multiValueHeaders": {}}], ids=["none", "single", "multi"]
)
def test_split_cookies_are_merged_whatever_the_event_says(event: dict[str, Any]) -> None:
    request = Request(
        method="GET",
        raw_path="/",
        path=b"/",
        headers=(("cookie", "a=1"), ("accept", "a"), ("cookie", "b=2"), ("accept", "b")),
        event=event,
    )
    scope = build_scope(request, Config(), {})
    assert scope["headers"] == [
        (b"cookie", b"a=1; b=2"),
        (b"accept", b"a"),
        (b"accept", b"b"),
    ]


def test_a_cancelled_error_from_the_app_is_a_logged_500_and_the_next_request_is_served(
    build: Callable[..., ASGIHandler], multi: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """A CancelledError that is not the adapter's deadline (the app awaited a shared task that
    something else cancelled) must not escape: ALB would answer 502 to every later request."""
    shared: list[asyncio.Future[None]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise RuntimeError("no lifespan")
        if scope["path"] == "/cancelled":
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            shared.append(future)
            future.cancel()
            await future
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    handler = build(app)
    with caplog.at_level(logging.ERROR, logger="alb_adapter"):
        failed = call(handler, multi, "GET", "/cancelled")
    assert (failed.status, failed.body) == (500, b"Internal Server Error\n")
    assert "GET /cancelled: the application failed; answering 500" in caplog.text
    assert "CancelledError" in caplog.text
    served = call(handler, multi, "GET", "/next")
    assert (served.status, served.body) == (200, b"ok")


@pytest.mark.parametrize(
    "value",
    [f"id={SECRET}\r\nX-Evil: 1".encode(), f"id={SECRET}\x01".encode(), f"id={SECRET}", 42],
    ids=["crlf", "control", "str", "int"],
)
def test_a_malformed_set_cookie_is_a_500_and_its_value_is_never_logged_above_debug(
    build: Callable[..., ASGIHandler], multi: bool, value: object, caplog: pytest.LogCaptureFixture
) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise RuntimeError("no lifespan")
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"set-cookie", value)]}
        )
        await send({"type": "http.response.body", "body": b"ok"})

    with caplog.at_level(logging.DEBUG, logger="alb_adapter"):
        answer = call(build(app), multi, "GET", "/")
    assert answer.status == 500
    loud = logged_above_debug(caplog.records)
    assert loud, "the failure is logged"
    assert [text for text in loud if SECRET in text] == []
