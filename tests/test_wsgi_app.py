"""ALBWSGIApp (alb_adapter/testing/wsgi_app.py): a Lambda handler behind werkzeug's test
``Client``, WebTest's ``TestApp`` and the standard library's ``wsgiref`` server, with ALB in
between. Every request is checked whole, as the client receives it, for a ``WSGIHandler`` and an
``ASGIHandler`` in both header modes.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NamedTuple
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from werkzeug.test import Client, EnvironBuilder, run_wsgi_app

from alb_adapter import ASGIHandler, WSGIHandler
from alb_adapter.handler import BaseHandler
from alb_adapter.testing import ALBWSGIApp
from alb_adapter.testing.wsgi_app import request_target

with warnings.catch_warnings():
    # WebOb, under WebTest, still imports the cgi module, which warns from Python 3.11 on.
    warnings.filterwarnings("ignore", "'cgi' is deprecated", DeprecationWarning)
    import webtest  # type: ignore[import-untyped]  # WebTest ships no type information

Environ = dict[str, Any]

NAME = "Zoë"  # a header value whose UTF-8 bytes are not ASCII
NAME_ON_THE_WIRE = NAME.encode()
# How WSGI carries those bytes (PEP 3333: one character per byte), in requests and responses.
NAME_IN_WSGI = NAME_ON_THE_WIRE.decode("latin-1")
CLIENT_IP = "203.0.113.9"


# --- the same app, as WSGI and as ASGI ---------------------------------------------------------


def seen(
    method: str, path: str, query: str, headers: dict[str, bytes], remote: str | None, body: bytes
) -> bytes:
    """What the app tells the client it received: the same JSON from both apps."""
    return json.dumps(
        {
            "method": method,
            "path": path,
            "query": query,
            "host": headers.get("host", b"").decode(),
            "name": headers.get("x-name", b"").decode("utf-8"),
            "forwarded_for": headers.get("x-forwarded-for", b"").decode(),
            "remote": remote,
            "body": body.hex(),
        }
    ).encode()


RESPONSE_HEADERS = [
    ("content-type", "application/json"),
    ("x-name", NAME_IN_WSGI),
    ("set-cookie", "a=1; Path=/"),
    ("set-cookie", "b=2; Path=/"),
]


def wsgi_app(environ: Environ, start_response: Any) -> list[bytes]:
    headers = {
        key[5:].replace("_", "-").lower(): str(value).encode("latin-1")
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    body = seen(
        environ["REQUEST_METHOD"],
        environ["PATH_INFO"].encode("latin-1").decode("utf-8"),
        environ["QUERY_STRING"],
        headers,
        environ["REMOTE_ADDR"] or None,
        environ["wsgi.input"].read(),
    )
    start_response("200 OK", RESPONSE_HEADERS)
    return [body]


async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    answer = seen(
        scope["method"],
        scope["path"],
        scope["query_string"].decode("latin-1"),
        {name.decode("latin-1"): value for name, value in scope["headers"]},
        scope["client"][0] if scope["client"] else None,
        body,
    )
    headers = [(name.encode(), value.encode("latin-1")) for name, value in RESPONSE_HEADERS]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": answer})


@pytest.fixture(params=["wsgi", "asgi"])
def handler(request: pytest.FixtureRequest) -> Iterator[BaseHandler]:
    """The same app behind each kind of Lambda handler."""
    built: BaseHandler = WSGIHandler(wsgi_app) if request.param == "wsgi" else ASGIHandler(asgi_app)
    with built:
        yield built


# --- the three WSGI tools, each through its own public API -------------------------------------


class Reply(NamedTuple):
    """A response as a client received it."""

    status: int
    headers: list[tuple[str, str]]  # as sent, bytes read as latin-1 (as PEP 3333 holds them)
    body: bytes


Request = tuple[str, str, list[tuple[str, bytes]], bytes]  # method, target, headers, body


def with_werkzeug(app: ALBWSGIApp, request: Request, environ: Environ | None = None) -> Reply:
    method, target, headers, body = request
    response = Client(app).open(
        target,
        method=method,
        headers=[(name, value.decode("latin-1")) for name, value in headers],
        data=body,
        environ_base=environ,
    )
    return Reply(response.status_code, list(response.headers.items()), response.get_data())


def with_webtest(app: ALBWSGIApp, request: Request, environ: Environ | None = None) -> Reply:
    method, target, headers, body = request
    response = webtest.TestApp(app, extra_environ=environ).request(
        target,
        method=method,
        headers=[(name, value.decode("latin-1")) for name, value in headers],
        body=body,
        expect_errors=True,
    )
    return Reply(response.status_int, response.headerlist, response.body)


class QuietRequestHandler(WSGIRequestHandler):
    """wsgiref's handler without its access log on stderr."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def wsgiref_server(app: ALBWSGIApp) -> Iterator[tuple[str, int]]:
    """The standard library's WSGI server on a free local port, shut down on leaving."""
    server = make_server("127.0.0.1", 0, app, handler_class=QuietRequestHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield "127.0.0.1", server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# wsgiref adds these to every response that has none of its own: not the app's, nor ALB's.
WSGIREF_OWN_HEADERS = ("Date", "Server")


def over_http(address: tuple[str, int], request: Request) -> Reply:
    method, target, headers, body = request
    connection = http.client.HTTPConnection(*address, timeout=10)
    try:
        connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)  # bytes go out as they are
        if body or method in ("POST", "PUT", "PATCH"):
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        reply = Reply(
            response.status,
            [pair for pair in response.getheaders() if pair[0] not in WSGIREF_OWN_HEADERS],
            response.read(),
        )
    finally:
        connection.close()
    return reply


def with_wsgiref(app: ALBWSGIApp, request: Request, environ: Environ | None = None) -> Reply:
    assert environ is None, "a real server makes its own environ"
    with wsgiref_server(app) as address:
        return over_http(address, request)


TOOLS = {"werkzeug": with_werkzeug, "webtest": with_webtest, "wsgiref": with_wsgiref}


@pytest.fixture(params=sorted(TOOLS))
def send(request: pytest.FixtureRequest) -> Callable[..., Reply]:
    """Send one request to an ALBWSGIApp with one of the WSGI tools."""
    return TOOLS[request.param]


def json_reply(answer: Mapping[str, object]) -> Reply:
    """The whole response the echo app's answer reaches the client as."""
    body = json.dumps(answer).encode()
    return Reply(200, [*RESPONSE_HEADERS, ("content-length", str(len(body)))], body)


# --- a whole request, through each tool --------------------------------------------------------

# The target as the client sends it (percent-escapes, a `+` and an escaped `+` in the query),
# a header with UTF-8 bytes, and a binary body.
REQUEST: Request = (
    "POST",
    "/caf%C3%A9?q=a+b&r=%2B",
    [
        ("Host", b"shop.example.com"),
        ("X-Name", NAME_ON_THE_WIRE),
        ("Content-Type", b"application/octet-stream"),
    ],
    b"\x00\xff",
)
ECHO = {
    "method": "POST",
    "path": "/café",
    "query": "q=a+b&r=%2B",
    "host": "shop.example.com",
    "name": NAME,
    "forwarded_for": CLIENT_IP,
    "remote": CLIENT_IP,
    "body": "00ff",
}


def test_a_request_goes_through_alb_whole(
    send: Callable[..., Reply], handler: BaseHandler, multi: bool
) -> None:
    app = ALBWSGIApp(handler, multi_value_headers=multi, client_ip=CLIENT_IP)
    assert send(app, REQUEST) == json_reply(ECHO)


def test_the_handler_sees_the_configured_header_mode(
    send: Callable[..., Reply], multi: bool
) -> None:
    events: list[dict[str, object]] = []

    def recording(event: dict[str, object], context: object) -> object:
        events.append(event)
        field = "multiValueHeaders" if multi else "headers"
        return {"statusCode": 204, field: {"x-mode": ["multi"] if multi else "single"}}

    reply = send(ALBWSGIApp(recording, multi_value_headers=multi), REQUEST)
    assert reply == Reply(
        204, [("x-mode", "multi" if multi else "single"), ("content-length", "0")], b""
    )
    assert len(events) == 1
    assert ("multiValueHeaders" in events[0]) is multi
    assert ("headers" in events[0]) is not multi


# --- the client address -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("send", "environ", "remote"),
    [
        (with_werkzeug, {"REMOTE_ADDR": "192.0.2.10"}, "192.0.2.10"),
        (with_webtest, {"REMOTE_ADDR": "192.0.2.10"}, "192.0.2.10"),
        (with_wsgiref, None, "127.0.0.1"),  # the peer the server really saw
    ],
    ids=["werkzeug", "webtest", "wsgiref"],
)
def test_remote_addr_is_the_address_alb_appends(
    send: Callable[..., Reply],
    environ: Environ | None,
    remote: str,
    handler: BaseHandler,
    multi: bool,
) -> None:
    method, target, headers, body = REQUEST
    forged = [*headers, ("X-Forwarded-For", b"6.6.6.6")]  # the client's own: kept, not trusted
    reply = send(
        ALBWSGIApp(handler, multi_value_headers=multi), (method, target, forged, body), environ
    )
    assert reply == json_reply({**ECHO, "forwarded_for": f"6.6.6.6, {remote}", "remote": remote})


def test_client_ip_overrides_remote_addr(handler: BaseHandler, multi: bool) -> None:
    app = ALBWSGIApp(handler, multi_value_headers=multi, client_ip=CLIENT_IP)
    assert with_werkzeug(app, REQUEST, {"REMOTE_ADDR": "192.0.2.10"}) == json_reply(ECHO)


# --- an environ without HTTP_HOST ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("scheme", "port", "host"),
    [
        ("http", "80", "example.org"),
        ("https", "443", "example.org"),
        ("http", "8080", "example.org:8080"),
        ("https", "8443", "example.org:8443"),
    ],
)
def test_without_http_host_the_host_comes_from_server_name_and_port(
    scheme: str, port: str, host: str, handler: BaseHandler, multi: bool
) -> None:
    """As some test clients (Django's among them) build environs: the Host the client would
    have sent is made from SERVER_NAME and SERVER_PORT, the port left out where it is the
    scheme's own."""
    environ = EnvironBuilder("/caf%C3%A9?q=a+b&r=%2B", method="GET").get_environ()
    del environ["HTTP_HOST"]
    environ.update({"SERVER_NAME": "example.org", "SERVER_PORT": port, "wsgi.url_scheme": scheme})
    app = ALBWSGIApp(handler, multi_value_headers=multi, client_ip=CLIENT_IP)
    body, status, headers = run_wsgi_app(app, environ)
    expected = json_reply({**ECHO, "method": "GET", "host": host, "name": "", "body": ""})
    assert Reply(int(status.split()[0]), list(headers.items()), b"".join(body)) == expected


# --- what ALB answers itself ------------------------------------------------------------------

ALB_PAGE = (
    "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
    "<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
)


def alb_reply(status: int, title: str, reason: str) -> Reply:
    page = ALB_PAGE.format(title=f"{status} {title}").encode()
    return Reply(
        status,
        [
            ("server", "awselb/2.0"),
            ("content-type", "text/html"),
            ("content-length", str(len(page))),
            ("x-alb-emulator-error", reason),
        ],
        page,
    )


class Spy:
    """A Lambda handler that counts its calls and answers a fixed payload."""

    def __init__(self, payload: object) -> None:
        self.payload = payload
        self.calls = 0

    def __call__(self, event: dict[str, object], context: object) -> object:
        self.calls += 1
        return self.payload


# werkzeug and WebTest only: a real server stops reading a body ALB refused, and closing a socket
# with unread bytes in it resets the connection, answer or not (a fact of TCP, not of ALB).
IN_MEMORY_TOOLS = [with_werkzeug, with_webtest]


@pytest.mark.parametrize("send", IN_MEMORY_TOOLS, ids=["werkzeug", "webtest"])
def test_a_body_over_one_megabyte_is_refused_at_alb_front_door(
    send: Callable[..., Reply], multi: bool
) -> None:
    spy = Spy({"statusCode": 200})
    request: Request = ("POST", "/upload", [], b"x" * 1_000_001)
    assert send(ALBWSGIApp(spy, multi_value_headers=multi), request) == alb_reply(
        413,
        "Request Entity Too Large",
        "the request body of 1,000,001 bytes is over ALB's limit of 1,000,000 bytes",
    )
    assert spy.calls == 0  # the function never sees it


@pytest.mark.parametrize("send", IN_MEMORY_TOOLS, ids=["werkzeug", "webtest"])
def test_a_body_of_exactly_one_megabyte_reaches_the_handler(
    send: Callable[..., Reply], multi: bool
) -> None:
    spy = Spy({"statusCode": 204})
    request: Request = ("POST", "/upload", [], b"x" * 1_000_000)
    reply = send(ALBWSGIApp(spy, multi_value_headers=multi), request)
    assert reply == Reply(204, [("content-length", "0")], b"")
    assert spy.calls == 1


@pytest.mark.parametrize(
    ("payload", "single_value_reason", "multi_value_reason"),
    [
        (
            {"statusCode": 200, "body": None},
            "LambdaInvalidResponse: response.body is null (ALB answers 502 to a null anywhere)",
            "LambdaInvalidResponse: response.body is null (ALB answers 502 to a null anywhere)",
        ),
        (
            {"statusCode": 200, "headers": {"x-count": 5}, "multiValueHeaders": {"x-count": [5]}},
            "LambdaInvalidResponse: headers['x-count'] holds a value of type int; ALB accepts "
            "only strings (LambdaInvalidResponse)",
            "LambdaInvalidResponse: multiValueHeaders['x-count'] holds a value of type int; ALB "
            "accepts only strings (LambdaInvalidResponse)",
        ),
        (
            {"statusCode": "200"},
            "LambdaInvalidResponse: statusCode must be an integer from 100 to 599, got str",
            "LambdaInvalidResponse: statusCode must be an integer from 100 to 599, got str",
        ),
    ],
    ids=["null-body", "int-header", "str-status"],
)
def test_an_answer_alb_refuses_is_its_502_with_the_reason(
    send: Callable[..., Reply],
    payload: dict[str, object],
    single_value_reason: str,
    multi_value_reason: str,
    multi: bool,
) -> None:
    reply = send(ALBWSGIApp(Spy(payload), multi_value_headers=multi), REQUEST)
    reason = multi_value_reason if multi else single_value_reason
    assert reply == alb_reply(502, "Bad Gateway", reason)


def test_header_bytes_that_are_not_utf8_fail_as_alb_fails_them(
    send: Callable[..., Reply], multi: bool
) -> None:
    spy = Spy({"statusCode": 200})
    method, target, headers, body = REQUEST
    latin1 = [*headers, ("X-Legacy", "é".encode("latin-1"))]
    reply = send(ALBWSGIApp(spy, multi_value_headers=multi), (method, target, latin1, body))
    assert reply == alb_reply(
        502,
        "Bad Gateway",
        "LambdaBadRequest: request header 'x-legacy' is not UTF-8; ALB fails such a request",
    )
    assert spy.calls == 0


# --- a handler that raises ---------------------------------------------------------------------


def broken(event: dict[str, object], context: object) -> object:
    raise RuntimeError("the database is away")


def test_a_handler_that_raises_is_alb_502(
    send: Callable[..., Reply], multi: bool, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="alb_adapter.emulator"):
        reply = send(ALBWSGIApp(broken, multi_value_headers=multi), REQUEST)
    assert reply == alb_reply(
        502, "Bad Gateway", "LambdaUnhandled: RuntimeError: the database is away"
    )
    assert [record.getMessage() for record in caplog.records] == [
        "the Lambda handler raised; ALB answers 502 (LambdaUnhandled)"
    ]


@pytest.mark.parametrize("send", IN_MEMORY_TOOLS, ids=["werkzeug", "webtest"])
def test_raise_handler_errors_lets_the_exception_reach_the_test(
    send: Callable[..., Reply], multi: bool
) -> None:
    app = ALBWSGIApp(broken, multi_value_headers=multi, raise_handler_errors=True)
    with pytest.raises(RuntimeError, match=r"^the database is away$"):
        send(app, REQUEST)


@pytest.mark.parametrize("send", IN_MEMORY_TOOLS, ids=["werkzeug", "webtest"])
def test_the_apps_own_exception_reaches_the_test_with_both_settings(
    send: Callable[..., Reply], multi: bool
) -> None:
    """raise_app_exceptions (the handler's) and raise_handler_errors (ALB's): the app's error
    itself, not a 500 or a 502."""

    def failing_app(environ: Environ, start_response: Any) -> list[bytes]:
        raise LookupError("no such order")

    with WSGIHandler(failing_app, raise_app_exceptions=True) as handler:
        app = ALBWSGIApp(handler, multi_value_headers=multi, raise_handler_errors=True)
        with pytest.raises(LookupError, match=r"^no such order$"):
            send(app, REQUEST)


# --- the request target -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "target"),
    [
        # The path of the server's raw URI, as werkzeug, gunicorn and uWSGI give it, byte for
        # byte; the query from QUERY_STRING, which is raw too.
        (
            {"REQUEST_URI": "/caf%c3%a9/a%2Fb?q=a+b", "QUERY_STRING": "q=a+b"},
            "/caf%c3%a9/a%2Fb?q=a+b",
        ),
        ({"RAW_URI": "/x|{}?y=%20", "QUERY_STRING": "y=%20"}, "/x|{}?y=%20"),
        # werkzeug's REQUEST_URI without the query its client was given as query_string=.
        ({"REQUEST_URI": "/search", "QUERY_STRING": "q=a+b"}, "/search?q=a+b"),
        # Bytes no request line carries raw: escaped as a client escapes them.
        ({"REQUEST_URI": "/café?q=é a", "QUERY_STRING": "q=é a"}, "/caf%C3%A9?q=%C3%A9%20a"),
        # An absolute-form request line (to a proxy): only the path goes on.
        (
            {"REQUEST_URI": "http://shop.example.com/cart?id=1", "QUERY_STRING": "id=1"},
            "/cart?id=1",
        ),
        ({"REQUEST_URI": "http://shop.example.com"}, "/"),
        # No raw URI (wsgiref, WebTest): the PEP 3333 path escaped again.
        (
            {"SCRIPT_NAME": "/shop", "PATH_INFO": "/café", "QUERY_STRING": "q=a+b&r=%2B"},
            "/shop/caf%C3%A9?q=a+b&r=%2B",
        ),
        ({"PATH_INFO": "/a b;v=1@x", "QUERY_STRING": "q=é"}, "/a%20b;v=1@x?q=%C3%A9"),
        ({"PATH_INFO": ""}, "/"),
    ],
)
def test_request_target(environ: dict[str, str], target: str) -> None:
    # PEP 3333 native strings: the bytes the client sent (UTF-8 here), one character per byte.
    native = {key: value.encode().decode("latin-1") for key, value in environ.items()}
    assert request_target(native) == target


@pytest.mark.parametrize(
    ("path", "query_string", "query"),
    [
        ("/café?q=é", None, "q=%C3%A9"),
        ("/café", "q=é", "q=%C3%A9"),
        ("/café", {"q": "é", "r": "a+b"}, "q=%C3%A9&r=a%2Bb"),  # werkzeug encodes a mapping
    ],
)
def test_werkzeug_requests_arrive_as_a_browser_sends_them(
    path: str,
    query_string: str | dict[str, str] | None,
    query: str,
    handler: BaseHandler,
    multi: bool,
) -> None:
    """Flask's and werkzeug's tests write paths unescaped and often pass the query apart."""
    app = ALBWSGIApp(handler, multi_value_headers=multi, client_ip=CLIENT_IP)
    response = Client(app).get(
        path, query_string=query_string, headers={"Host": "shop.example.com"}
    )
    echo = {**ECHO, "method": "GET", "query": query, "name": "", "body": ""}
    assert Reply(response.status_code, list(response.headers.items()), response.get_data()) == (
        json_reply(echo)
    )


def test_a_handler_is_required() -> None:
    with pytest.raises(TypeError) as raised:
        ALBWSGIApp("lambda_function.handler")  # type: ignore[arg-type]
    assert str(raised.value) == (
        "ALBWSGIApp needs a Lambda handler (a callable), got 'lambda_function.handler'"
    )


def test_repr_names_the_handler_and_the_mode() -> None:
    spy = Spy({"statusCode": 200})
    assert repr(ALBWSGIApp(spy)) == f"ALBWSGIApp({spy!r}, single-value headers)"
    assert repr(ALBWSGIApp(spy, multi_value_headers=True)) == (
        f"ALBWSGIApp({spy!r}, multi-value headers)"
    )
