"""alb_adapter.testing.starlette.TestClient: Starlette's TestClient API, every request through
ASGIHandler and ALB, in both header modes.

Where a failure is one only the ALB path catches, the test also runs the same request through
Starlette's own TestClient (``DirectClient``) and asserts that it passes there.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient as DirectClient

from alb_adapter import AppError, ASGIHandler, LifespanError
from alb_adapter.testing import LambdaContext, make_event
from alb_adapter.testing.starlette import TestClient, WebSocketUnsupported

Scope = MutableMapping[str, Any]
JSON = "application/json"
TEXT = "text/plain; charset=utf-8"
# Incompressible, so that gzip cannot bring it under ALB's limit: 800,000 bytes are 1,066,668
# characters of base64 in the response JSON.
BIG_BODY = random.Random(12).randbytes(800_000)


def json_bytes(value: object) -> bytes:
    """A JSONResponse's body (Starlette's compact encoding)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def head(response: httpx2.Response) -> list[tuple[str, str]]:
    return response.headers.multi_items()


class Lifespans:
    """How many lifespan startups and shutdowns the app has run."""

    def __init__(self) -> None:
        self.startups = 0
        self.shutdowns = 0

    @property
    def counts(self) -> tuple[int, int]:
        return self.startups, self.shutdowns


async def echo(request: Request) -> JSONResponse:
    """What the app saw of the request."""
    body = await request.body()
    return JSONResponse(
        {
            "method": request.method,
            "path": request.scope["path"],
            "root_path": request.scope["root_path"],
            "url": str(request.url),
            "echo_url": str(request.url_for("echo")),
            "query": request.scope["query_string"].decode(),
            "tags": request.query_params.getlist("tag"),
            "x_tag": request.headers.getlist("x-tag"),
            "host": request.headers.get("host"),
            "user_agent": request.headers.get("user-agent"),
            "forwarded": [
                request.headers.get(f"x-forwarded-{n}") for n in ("for", "proto", "port")
            ],
            "client": request.client.host if request.client else None,
            "cookie": request.headers.get("cookie"),
            "content_type": request.headers.get("content-type"),
            "body": body.decode("utf-8", "replace"),
            "state": getattr(request.state, "started", None),
        }
    )


async def form(request: Request) -> JSONResponse:
    """The form fields and uploaded files the app parsed."""
    parsed = await request.form()
    fields: list[list[str]] = []
    files: list[dict[str, object]] = []
    for name, value in parsed.multi_items():
        if isinstance(value, str):
            fields.append([name, value])
        else:
            data = await value.read()
            files.append(
                {
                    "field": name,
                    "filename": value.filename,
                    "content_type": value.content_type,
                    "sha256": hashlib.sha256(data).hexdigest(),
                }
            )
    return JSONResponse({"fields": fields, "files": files})


async def login(request: Request) -> Response:
    response = RedirectResponse(request.url_for("echo"), status_code=303)
    response.set_cookie("session", "ada", httponly=True)
    return response


async def three_cookies(request: Request) -> Response:
    response = PlainTextResponse("ok")
    for name in ("a", "b", "c"):
        response.set_cookie(name, name.upper())
    return response


async def big(request: Request) -> Response:
    return Response(BIG_BODY, media_type="application/octet-stream")


async def boom(request: Request) -> Response:
    raise LookupError("no such thing")


def make_app(lifespans: Lifespans | None = None) -> Starlette:
    seen = lifespans or Lifespans()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        seen.startups += 1
        yield {"started": seen.startups}
        seen.shutdowns += 1

    return Starlette(
        routes=[
            Route("/echo", echo, methods=["GET", "POST", "PUT", "DELETE"], name="echo"),
            Route("/form", form, methods=["POST"]),
            Route("/login", login, methods=["POST"]),
            Route("/three-cookies", three_cookies),
            Route("/big", big),
            Route("/boom", boom),
        ],
        lifespan=lifespan,
    )


def seen(**differences: object) -> dict[str, object]:
    """What ``echo`` reports for a plain GET /echo through the TestClient, with ``differences``."""
    expected: dict[str, object] = {
        "method": "GET",
        "path": "/echo",
        "root_path": "",
        "url": "http://testserver/echo",
        "echo_url": "http://testserver/echo",
        "query": "",
        "tags": [],
        "x_tag": [],
        "host": "testserver",
        "user_agent": "testclient",
        "forwarded": ["198.51.100.7", "http", "80"],
        "client": "198.51.100.7",
        "cookie": None,
        "content_type": None,
        "body": "",
        "state": None,
    }
    expected.update(differences)
    return expected


# --------------------------------------------------------------------------- requests, responses


def test_a_get_goes_through_alb_and_comes_back_whole(multi: bool) -> None:
    client = TestClient(make_app(), multi_value_headers=multi)

    response = client.get("/echo", params={"q": "a b", "r": "x&y"})

    expected = seen(url="http://testserver/echo?q=a+b&r=x%26y", query="q=a+b&r=x%26y")
    assert response.status_code == 200
    # ALB's answer: the app's headers, then the Content-Length ALB computes itself.
    body = json_bytes(expected)
    assert head(response) == [("content-type", JSON), ("content-length", str(len(body)))]
    assert response.content == body


def test_json_body(multi: bool) -> None:
    client = TestClient(make_app(), multi_value_headers=multi)

    response = client.post("/echo", json={"name": "Zoë", "tags": [1, 2]})

    body = json_bytes(seen(method="POST", content_type=JSON, body='{"name":"Zoë","tags":[1,2]}'))
    assert response.status_code == 200
    assert head(response) == [("content-type", JSON), ("content-length", str(len(body)))]
    assert response.content == body


def test_form_fields_and_files(multi: bool) -> None:
    client = TestClient(make_app(), multi_value_headers=multi)
    upload = bytes(range(256)) * 4

    fields = client.post("/form", data={"name": "Zoë", "tag": ["a", "b"]})
    files = client.post(
        "/form",
        data={"name": "ada"},
        files={"upload": ("notes.bin", upload, "application/octet-stream")},
    )

    parsed = {"fields": [["name", "Zoë"], ["tag", "a"], ["tag", "b"]], "files": []}
    assert (fields.status_code, fields.content) == (200, json_bytes(parsed))
    assert files.status_code == 200
    assert files.json() == {
        "fields": [["name", "ada"]],
        "files": [
            {
                "field": "upload",
                "filename": "notes.bin",
                "content_type": "application/octet-stream",
                "sha256": hashlib.sha256(upload).hexdigest(),
            }
        ],
    }


def test_repeated_headers_and_query_keys_follow_the_header_mode(multi: bool) -> None:
    """In single-value mode ALB keeps only the last of a repeated request header or query key;
    Starlette's own client passes them all, as multi-value mode does."""
    target, headers = "/echo?tag=a&tag=b", [("x-tag", "1"), ("x-tag", "2")]
    client = TestClient(make_app(), multi_value_headers=multi)
    through_alb = client.get(target, headers=headers).json()
    direct = DirectClient(make_app()).get(target, headers=headers).json()

    assert (direct["tags"], direct["x_tag"]) == (["a", "b"], ["1", "2"])
    if multi:
        assert (through_alb["tags"], through_alb["x_tag"]) == (["a", "b"], ["1", "2"])
    else:
        assert (through_alb["tags"], through_alb["x_tag"]) == (["b"], ["2"])


def test_cookies_are_kept_between_requests_and_redirects_followed(multi: bool) -> None:
    client = TestClient(make_app(), multi_value_headers=multi)

    response = client.post("/login")

    assert response.status_code == 200  # the 303 was followed, as Starlette's client does
    assert [(r.status_code, r.headers["location"]) for r in response.history] == [
        (303, "http://testserver/echo")
    ]
    assert response.json() == seen(cookie="session=ada")
    assert dict(client.cookies) == {"session": "ada"}
    assert client.get("/echo").json()["cookie"] == "session=ada"


def test_client_options_reach_the_app(multi: bool) -> None:
    client = TestClient(
        make_app(),
        base_url="https://shop.example.org",
        cookies={"theme": "dark"},
        headers={"user-agent": "my-tests/1.0"},
        follow_redirects=False,
        client=("203.0.113.7", 50000),
        multi_value_headers=multi,
    )

    redirect = client.post("/login")
    page = client.get("/echo")

    assert (redirect.status_code, head(redirect)) == (
        303,
        [
            ("location", "https://shop.example.org/echo"),
            ("set-cookie", "session=ada; HttpOnly; Path=/; SameSite=lax"),
            ("content-length", "0"),
        ],
    )
    assert page.json() == seen(
        url="https://shop.example.org/echo",
        echo_url="https://shop.example.org/echo",
        host="shop.example.org",
        user_agent="my-tests/1.0",
        forwarded=["203.0.113.7", "https", "443"],
        client="203.0.113.7",
        cookie="theme=dark; session=ada",
    )


# --------------------------------------------------------------------------- lifespan, handler


def test_lifespan_runs_once_per_with_block_and_never_outside(multi: bool) -> None:
    lifespans = Lifespans()
    app = make_app(lifespans)
    client = TestClient(app, multi_value_headers=multi)
    assert (client.app, client.handler) == (app, None)

    # Outside `with`, as with Starlette's client: no lifespan, a handler built at first use.
    assert client.get("/echo").json()["state"] is None
    outside = client.handler
    assert isinstance(outside, ASGIHandler)
    assert lifespans.counts == (0, 0)

    with client:
        assert outside.closed
        assert lifespans.counts == (1, 0)
        assert [client.get("/echo").json()["state"] for _ in range(3)] == [1, 1, 1]
        inside = client.handler
        assert isinstance(inside, ASGIHandler)
        assert inside.app is app
        assert inside.state == {"started": 1}
        assert lifespans.counts == (1, 0)
    assert lifespans.counts == (1, 1)
    assert (inside.closed, client.handler) == (True, None)

    # Usable afterwards, as Starlette's client is; each `with` is one more execution environment.
    assert client.get("/echo").json()["state"] is None
    with client as same:
        assert same is client
        assert same.get("/echo").json()["state"] == 2
    assert lifespans.counts == (2, 2)


def test_fastapi_idiom_with_testclient_as_client(multi: bool) -> None:
    lifespans = Lifespans()

    with TestClient(make_app(lifespans), multi_value_headers=multi) as client:
        assert client.get("/echo").json()["state"] == 1
    assert lifespans.counts == (1, 1)


def test_closing_the_client_closes_the_handler_built_without_with() -> None:
    lifespans = Lifespans()
    client = TestClient(make_app(lifespans))
    client.get("/echo")
    handler = client.handler
    assert handler is not None

    client.close()

    assert handler.closed
    assert lifespans.counts == (0, 0)
    with pytest.raises(RuntimeError, match="client has been closed"):
        client.get("/echo")


def test_lifespan_modes() -> None:
    lifespans = Lifespans()
    with TestClient(make_app(lifespans), lifespan="off") as client:
        assert client.get("/echo").json()["state"] is None
    assert lifespans.counts == (0, 0)

    async def no_lifespan(scope: Scope, receive: Any, send: Any) -> None:
        await PlainTextResponse("ok")(scope, receive, send)

    with (
        pytest.raises(LifespanError, match="does not support the lifespan protocol"),
        TestClient(no_lifespan, lifespan="on"),
    ):
        pass
    with TestClient(no_lifespan) as client:  # "auto": served without
        assert client.get("/").text == "ok"


def test_a_failing_startup_is_raised_at_with() -> None:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        raise ConnectionRefusedError("the database is down")
        yield

    client = TestClient(Starlette(lifespan=lifespan))
    with pytest.raises(LifespanError) as raised, client:
        pass
    assert isinstance(raised.value.__cause__, ConnectionRefusedError)


def test_with_twice_is_refused() -> None:
    with (
        TestClient(make_app()) as client,
        pytest.raises(RuntimeError, match="already inside"),
        client,
    ):
        pass


# --------------------------------------------------------------------------- the app's exceptions


def test_the_apps_exception_is_raised_in_the_test_by_default(multi: bool) -> None:
    client = TestClient(make_app(), multi_value_headers=multi)

    with pytest.raises(LookupError, match="no such thing"):
        client.get("/boom")
    assert client.handler is not None
    assert client.handler.config.raise_app_exceptions is True


def test_without_raise_server_exceptions_the_test_gets_the_500(
    multi: bool, caplog: pytest.LogCaptureFixture
) -> None:
    client = TestClient(make_app(), raise_server_exceptions=False, multi_value_headers=multi)

    with caplog.at_level(logging.ERROR, logger="alb_adapter"):
        response = client.get("/boom")

    # Starlette's own error page, sent by its middleware before it re-raised; the adapter logs.
    assert response.status_code == 500
    assert head(response) == [("content-type", TEXT), ("content-length", "21")]
    assert response.content == b"Internal Server Error"
    assert "LookupError: no such thing" in caplog.text


# --------------------------------------------------------------------------- what only ALB catches


def test_a_response_over_1_mb_is_a_502(multi: bool) -> None:
    """Starlette's client delivers it; behind ALB the handler answers 502 with the reason, as
    ALB would answer a bare 502 (curl sends no Accept-Encoding, so nothing is compressed)."""
    assert DirectClient(make_app()).get("/big").content == BIG_BODY
    client = TestClient(make_app(), multi_value_headers=multi)

    response = client.get("/big", headers={"accept-encoding": "identity"})

    # multi-value mode's lists add 12 bytes of JSON: ["..."] twice.
    size = 1_066_824 if multi else 1_066_812
    reason = (
        "Bad Gateway: the response is larger than ALB accepts "
        f"(response JSON: {size} bytes, limit 1000000).\n"
    )
    assert response.status_code == 502
    assert head(response) == [("content-type", TEXT), ("content-length", str(len(reason)))]
    assert response.text == reason


def test_a_response_over_1_mb_the_handler_lets_through_is_albs_own_502(multi: bool) -> None:
    """With ``max_response_bytes`` above ALB's limit, ALB itself refuses the answer: its page,
    and the emulator's reason in x-alb-emulator-error."""
    client = TestClient(make_app(), multi_value_headers=multi, max_response_bytes=2_000_000)

    response = client.get("/big", headers={"accept-encoding": "identity"})

    size = 1_066_824 if multi else 1_066_812
    page = (
        b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
        b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
    )
    assert response.status_code == 502
    assert head(response) == [
        ("server", "awselb/2.0"),
        ("content-type", "text/html"),
        ("content-length", str(len(page))),
        (
            "x-alb-emulator-error",
            f"LambdaInvalidResponse: the response JSON is {size} bytes, over ALB's limit of "
            "1000000 (LambdaResponseTooLarge)",
        ),
    ]
    assert response.content == page


COOKIES = [
    ("set-cookie", "a=A; Path=/; SameSite=lax"),
    ("set-cookie", "b=B; Path=/; SameSite=lax"),
    ("set-cookie", "c=C; Path=/; SameSite=lax"),
]


def test_three_set_cookie_by_default_travel_under_case_variant_keys(multi: bool) -> None:
    """Starlette's client gets the three; so does a browser behind ALB, in either mode: in
    single-value mode as three differently-cased keys (alb_adapter/sources/alb/response.py)."""
    direct = DirectClient(make_app()).get("/three-cookies")
    client = TestClient(make_app(), multi_value_headers=multi)

    response = client.get("/three-cookies")

    assert direct.headers.get_list("set-cookie") == [value for _, value in COOKIES]
    assert response.status_code == 200
    assert head(response) == [("content-type", TEXT), *COOKIES, ("content-length", "2")]
    assert dict(client.cookies) == {"a": "A", "b": "B", "c": "C"}
    assert client.handler is not None
    event = make_event("GET", "/three-cookies", multi_value_headers=multi)
    answer = client.handler(event, LambdaContext())
    if multi:
        assert answer["multiValueHeaders"] == {
            "content-type": [TEXT],
            "set-cookie": [value for _, value in COOKIES],
        }
    else:
        assert answer["headers"] == {
            "content-type": TEXT,
            "set-cookie": "a=A; Path=/; SameSite=lax",
            "Set-cookie": "b=B; Path=/; SameSite=lax",
            "sEt-cookie": "c=C; Path=/; SameSite=lax",
        }


def test_three_set_cookie_with_multi_cookie_last(
    multi: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """Single-value mode keeps only the last cookie, with a warning: a login that needs the
    first two fails here, and only here."""
    client = TestClient(make_app(), multi_value_headers=multi, multi_cookie="last")

    with caplog.at_level(logging.WARNING, logger="alb_adapter"):
        response = client.get("/three-cookies")

    kept = COOKIES if multi else COOKIES[-1:]
    assert response.status_code == 200
    assert head(response) == [("content-type", TEXT), *kept, ("content-length", "2")]
    assert dict(client.cookies) == ({"a": "A", "b": "B", "c": "C"} if multi else {"c": "C"})
    warned = "3 Set-Cookie headers in single-value mode: only the last is sent"
    assert (warned in caplog.text) is not multi


def test_three_set_cookie_with_multi_cookie_error(multi: bool) -> None:
    if multi:
        response = TestClient(make_app(), multi_value_headers=True, multi_cookie="error").get(
            "/three-cookies"
        )
        assert (response.status_code, head(response)) == (
            200,
            [("content-type", TEXT), *COOKIES, ("content-length", "2")],
        )
        return
    with pytest.raises(AppError, match="3 Set-Cookie headers cannot be sent in single-value mode"):
        TestClient(make_app(), multi_cookie="error").get("/three-cookies")
    quiet = TestClient(make_app(), multi_cookie="error", raise_server_exceptions=False)
    response = quiet.get("/three-cookies")
    assert (response.status_code, head(response), response.content) == (
        500,
        [("content-type", TEXT), ("content-length", "22")],
        b"Internal Server Error\n",
    )


def header_app(headers: list[Any]) -> Any:
    """A raw ASGI app that answers 200 "ok" with exactly these header pairs."""

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ([(b"x-note", b"a\r\nset-cookie: admin=1")], "header 'x-note' contains control characters"),
        ([(b"x-note", b"a\x00b")], "header 'x-note' contains control characters"),
        ([(b"x note", b"v")], "invalid header name 'x note'"),
        ([(b"x:note", b"v")], "invalid header name 'x:note'"),
    ],
    ids=["CRLF", "NUL", "space-in-name", "colon-in-name"],
)
def test_a_header_no_load_balancer_may_carry(multi: bool, headers: list[Any], error: str) -> None:
    """Starlette's client passes these through; the handler refuses to send them (with
    raise_server_exceptions the AppError reaches the test, else the client gets a 500)."""
    assert DirectClient(header_app(headers)).get("/").status_code == 200

    with pytest.raises(AppError, match=error):
        TestClient(header_app(headers), multi_value_headers=multi).get("/")
    client = TestClient(
        header_app(headers), multi_value_headers=multi, raise_server_exceptions=False
    )
    response = client.get("/")
    assert (response.status_code, head(response), response.content) == (
        500,
        [("content-type", TEXT), ("content-length", "22")],
        b"Internal Server Error\n",
    )


def test_a_header_that_is_not_bytes(multi: bool) -> None:
    """Starlette's client fails on it too, with an AttributeError from its own code; the handler
    says what is wrong."""
    headers = [("x-note", "text")]
    with pytest.raises(AttributeError):
        DirectClient(header_app(headers)).get("/")

    with pytest.raises(AppError, match=r"must be \(bytes, bytes\) pairs, got \(str, str\)"):
        TestClient(header_app(headers), multi_value_headers=multi).get("/")


@pytest.mark.parametrize(
    "value", ["Zoë".encode("latin-1"), "Zoë".encode()], ids=["latin-1", "utf-8"]
)
def test_a_non_ascii_header_arrives_as_utf8(multi: bool, value: bytes) -> None:
    """Starlette's client cannot read a non-ASCII header at all; ALB sends the JSON string as
    UTF-8, so latin-1 bytes from the app reach the browser re-encoded."""
    with pytest.raises(UnicodeError):
        DirectClient(header_app([(b"x-name", value)])).get("/")

    response = TestClient(header_app([(b"x-name", value)]), multi_value_headers=multi).get("/")

    assert response.status_code == 200
    assert response.headers.raw == [(b"x-name", b"Zo\xc3\xab"), (b"content-length", b"2")]
    assert response.headers["x-name"] == "Zoë"


def test_a_request_body_over_1_mb_never_reaches_the_app(multi: bool) -> None:
    body = b"x" * 1_000_001
    assert DirectClient(make_app()).post("/echo", content=body).json()["body"] == "x" * 1_000_001

    response = TestClient(make_app(), multi_value_headers=multi).post("/echo", content=body)

    page = (
        b"<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n"
        b"<center><h1>413 Request Entity Too Large</h1></center>\r\n</body>\r\n</html>\r\n"
    )
    assert response.status_code == 413
    assert head(response) == [
        ("server", "awselb/2.0"),
        ("content-type", "text/html"),
        ("content-length", str(len(page))),
        (
            "x-alb-emulator-error",
            "the request body of 1,000,001 bytes is over ALB's limit of 1,000,000 bytes",
        ),
    ]
    assert response.content == page


# --------------------------------------------------------------------------- base path


def test_base_path_paths_are_sent_as_alb_forwards_them(multi: bool) -> None:
    client = TestClient(make_app(), base_path="/shop", multi_value_headers=multi)

    under = client.get("/shop/echo").json()
    outside = client.get("/echo").json()  # a second listener rule's path: served at the root

    assert under == seen(
        path="/shop/echo",
        root_path="/shop",
        url="http://testserver/shop/echo",
        echo_url="http://testserver/shop/echo",
    )
    assert outside == seen()


def test_root_path_is_the_mount_point_alb_forwards_whole(multi: bool) -> None:
    """Starlette's ``root_path`` models a proxy that strips the prefix; ALB does not, so a path
    below the mount point is sent under it, and one already under it as it is."""
    client = TestClient(make_app(), root_path="/shop", multi_value_headers=multi)
    expected = seen(
        path="/shop/echo",
        root_path="/shop",
        url="http://testserver/shop/echo?q=1",
        echo_url="http://testserver/shop/echo",
        query="q=1",
    )

    assert client.get("/echo?q=1").json() == expected
    assert client.get("/shop/echo?q=1").json() == expected
    assert client.handler is not None
    assert client.handler.config.base_path == "/shop"
    direct = DirectClient(make_app(), root_path="/shop").get("/echo?q=1").json()
    assert (direct["path"], direct["root_path"], direct["echo_url"]) == (
        "/echo",
        "/shop",
        "http://testserver/shop/echo",
    )


class AdminGuard:
    """A middleware with a classic mistake: it matches ``scope["path"]`` against its own routes,
    forgetting that the path also holds the mount point when the proxy forwards it whole."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/admin"):
            await PlainTextResponse("admins only", status_code=401)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def test_a_guard_that_forgets_the_mount_point_is_caught_only_behind_alb(multi: bool) -> None:
    async def admin(request: Request) -> Response:
        return PlainTextResponse("the admin page")

    app = AdminGuard(Starlette(routes=[Route("/admin", admin)]))

    direct = DirectClient(app, root_path="/shop").get("/admin")
    through_alb = TestClient(app, root_path="/shop", multi_value_headers=multi).get("/admin")

    assert (direct.status_code, direct.text) == (401, "admins only")
    assert (through_alb.status_code, through_alb.text) == (200, "the admin page")


# --------------------------------------------------------------------------- other front doors

EXECUTE_API = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"  # the example API's URL
SITE = "https://shop.example.com"  # a custom domain, or the host in front of the other doors
# A Function URL has no custom domain: its events name its own (alb_adapter/emulator/services.py).
FUNCTION_URL = "https://abcdefghijklmnopqrstuvwxyz234567.lambda-url.us-east-1.on.aws"


@pytest.mark.parametrize(
    ("source", "stage", "differences"),
    [
        (
            "apigw-rest",
            "prod",
            {
                "path": "/prod/echo",
                "root_path": "/prod",
                "url": f"{EXECUTE_API}/prod/echo?tag=a&tag=b",
                "echo_url": f"{EXECUTE_API}/prod/echo",
                "host": EXECUTE_API.removeprefix("https://"),
            },
        ),
        ("apigw-http-v1", None, {}),
        (
            "apigw-http-v2",
            "beta",
            {
                "path": "/beta/echo",
                "root_path": "/beta",
                "url": f"{EXECUTE_API}/beta/echo?tag=a&tag=b",
                "echo_url": f"{EXECUTE_API}/beta/echo",
                "host": EXECUTE_API.removeprefix("https://"),
            },
        ),
        (
            "function-url",
            None,
            {
                "url": f"{FUNCTION_URL}/echo?tag=a&tag=b",
                "echo_url": f"{FUNCTION_URL}/echo",
                "host": FUNCTION_URL.removeprefix("https://"),
            },
        ),
        # Lattice sends no X-Forwarded-Proto or -Port (alb_adapter/sources/lattice/service.py).
        ("vpc-lattice-v2", None, {"forwarded": ["198.51.100.7", None, None]}),
        # V1 keeps the last value of a repeated query key, as it documents.
        (
            "vpc-lattice-v1",
            None,
            {
                "forwarded": ["198.51.100.7", None, None],
                "url": f"{SITE}/echo?tag=b",
                "query": "tag=b",
                "tags": ["b"],
            },
        ),
    ],
)
def test_each_front_door_is_reached_through_its_own_event(
    source: str, stage: str | None, differences: dict[str, object]
) -> None:
    base_url = EXECUTE_API if stage else SITE
    prefix = f"/{stage}" if stage else ""
    client = TestClient(make_app(), base_url=base_url, source=source, stage=stage)

    response = client.get(f"{prefix}/echo?tag=a&tag=b")

    expected = seen(
        url=f"{SITE}/echo?tag=a&tag=b",
        echo_url=f"{SITE}/echo",
        query="tag=a&tag=b",
        tags=["a", "b"],
        host="shop.example.com",
        forwarded=["198.51.100.7", "https", "443"],
    )
    expected.update(differences)
    body = json_bytes(expected)
    assert (client.source, client.stage) == (source, stage)
    assert response.status_code == 200
    assert head(response) == [("content-type", JSON), ("content-length", str(len(body)))]
    assert response.content == body


@pytest.mark.parametrize(
    ("source", "stage"),
    [("apigw-rest", "prod"), ("apigw-http-v2", None), ("function-url", None)],
)
def test_cookies_and_redirects_behind_each_front_door(source: str, stage: str | None) -> None:
    """Under a stage the client's base URL is the execute-api URL, as a browser's would be: the
    app's absolute redirect goes there, and the cookie jar sends the cookie back to it."""
    base_url = EXECUTE_API if stage else FUNCTION_URL if source == "function-url" else SITE
    prefix = f"/{stage}" if stage else ""
    client = TestClient(make_app(), base_url=base_url, source=source, stage=stage)

    response = client.post(f"{prefix}/login")

    [redirect] = response.history
    # A REST API labels an answer without a Content-Type as JSON (docs/sources/apigateway_v1.md).
    rest_api_label = [("content-type", JSON)] if source == "apigw-rest" else []
    assert (redirect.status_code, head(redirect)) == (
        303,
        [
            ("location", f"{base_url}{prefix}/echo"),
            ("set-cookie", "session=ada; HttpOnly; Path=/; SameSite=lax"),
            *rest_api_label,
            ("content-length", "0"),
        ],
    )
    assert response.json()["cookie"] == "session=ada"
    three = client.get(f"{prefix}/three-cookies")
    assert three.headers.get_list("set-cookie") == [
        "a=A; Path=/; SameSite=lax",
        "b=B; Path=/; SameSite=lax",
        "c=C; Path=/; SameSite=lax",
    ]


def test_the_apps_exception_reaches_the_test_behind_another_front_door() -> None:
    with TestClient(make_app(), source="apigw-http-v2") as client, pytest.raises(LookupError):
        client.get("/boom")


def test_under_a_stage_root_path_follows_the_stage() -> None:
    """The URL is ``/<stage>/<mount point>/...``: the stage first, then where the API's
    resource forwards to the app."""
    client = TestClient(
        make_app(), base_url=EXECUTE_API, source="apigw-rest", stage="prod", root_path="/shop"
    )
    expected = seen(
        path="/prod/shop/echo",
        root_path="/prod/shop",
        url=f"{EXECUTE_API}/prod/shop/echo?q=1",
        echo_url=f"{EXECUTE_API}/prod/shop/echo",
        query="q=1",
        host=EXECUTE_API.removeprefix("https://"),
        forwarded=["198.51.100.7", "https", "443"],
    )

    assert client.get("/prod/echo?q=1").json() == expected
    assert client.get("/prod/shop/echo?q=1").json() == expected


def test_the_repr_names_the_front_door() -> None:
    app = make_app()

    assert repr(TestClient(app, source="apigw-rest", stage="prod")) == (
        f"TestClient({app!r}, API Gateway REST API, stage 'prod', handler=None)"
    )
    assert repr(TestClient(app, multi_value_headers=True)) == (
        f"TestClient({app!r}, multi-value headers, handler=None)"
    )


# --------------------------------------------------------------------------- misuse


def test_websocket_is_refused_with_the_reason() -> None:
    client = TestClient(make_app())

    with pytest.raises(WebSocketUnsupported, match="ALB does not support WebSocket connections"):
        client.websocket_connect("/ws")
    with pytest.raises(WebSocketUnsupported, match=r"test them with starlette\.testclient"):
        client.websocket("ws://testserver/ws")
    assert client.handler is None  # nothing was sent


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"backend": "trio"}, ValueError, "its own asyncio loop"),
        ({"backend_options": {"use_uvloop": True}}, ValueError, "its own asyncio loop"),
        ({"raise_app_exceptions": True}, TypeError, "pass raise_server_exceptions"),
        ({"client": ("testclient", 50000)}, ValueError, "never a name"),
        ({"lifespan": "always"}, ValueError, "lifespan must be one of"),
        ({"multi_value_headers": "yes"}, TypeError, "multi_value_headers must be True or False"),
        ({"base_path": "shop"}, ValueError, "base_path must start with '/'"),
        ({"root_path": "/shop", "base_path": "/store"}, ValueError, "give one of them"),
        ({"source": "cloudfront"}, ValueError, "no front door called 'cloudfront'"),
        (
            {"source": "function-url", "stage": "prod"},
            ValueError,
            "stage= is an API Gateway setting; Lambda Function URL has no stages",
        ),
        ({"stage": "prod"}, ValueError, "stage= is an API Gateway setting; ALB has no stages"),
        (
            {"source": "apigw-rest", "multi_value_headers": True},
            ValueError,
            "multi_value_headers is ALB's target-group setting; API Gateway REST API has one "
            "event format",
        ),
    ],
)
def test_misuse_fails_at_construction(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        TestClient(make_app(), **options)


def test_a_handler_is_not_an_app() -> None:
    with (
        ASGIHandler(make_app(), lifespan="off") as handler,
        pytest.raises(TypeError, match=r"pass handler\.app"),
    ):
        TestClient(handler)  # type: ignore[arg-type]


def test_it_works_inside_a_running_event_loop(multi: bool) -> None:
    """An ``async def`` test runs in a loop: the handler then runs in a worker thread while the
    test waits, as Starlette's client runs the app in its portal's thread."""
    lifespans = Lifespans()

    async def an_async_test() -> tuple[object, object]:
        with TestClient(make_app(lifespans), multi_value_headers=multi) as client:
            first = client.get("/echo").json()
            with pytest.raises(LookupError, match="no such thing"):
                client.get("/boom")
        return first, TestClient(make_app(lifespans)).get("/echo").json()

    inside, outside = asyncio.run(an_async_test())

    assert inside == seen(state=1)
    assert outside == seen()
    assert lifespans.counts == (1, 1)


def test_pytest_does_not_collect_it() -> None:
    assert TestClient.__test__ is False
