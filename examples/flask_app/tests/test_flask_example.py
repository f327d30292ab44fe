"""The Flask example driven through the real handler, with the events ALB sends.

Every behaviour that involves headers runs in both header modes of the target group
(``lambda.multi_value_headers.enabled`` false and true). Responses are normalised into one shape
(``Answer``) so one expected value covers both modes, and are compared whole; values that change
per run (signed cookies, dates) are matched by patterns.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import struct
import subprocess
import sys
import warnings
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple
from wsgiref.validate import validator

import flask_example
import pytest
from flask import Flask

from alb_adapter import WSGIHandler
from alb_adapter.testing import LambdaContext, make_event, make_health_check_event, read_response

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from typing_extensions import Unpack

    from alb_adapter.config import ConfigOptions

EXAMPLE_DIR = Path(flask_example.__file__).resolve().parent
REPO_ROOT = EXAMPLE_DIR.parent.parent

# The app under test, independent of the developer's environment (SECRET_KEY and friends).
APP = flask_example.create_app(secret_key="test-secret", secure_cookies=True)

HTML = "text/html; charset=utf-8"
HTTP_DATE = r"[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT"


def session_cookie(base: str) -> re.Pattern[str]:
    """Flask's signed session cookie (its value changes with time), scoped to the mount point."""
    path = re.escape(base or "/")
    return re.compile(rf"session=[A-Za-z0-9_.-]+; Secure; HttpOnly; Path={path}; SameSite=Lax")


class Answer(NamedTuple):
    """An ALB response in mode-neutral form: headers as ordered (lowercase name, value) pairs."""

    status: int
    description: str
    headers: list[tuple[str, str]]
    body: bytes
    base64: bool


def normalise(response: dict[str, object], *, multi: bool) -> Answer:
    """Check the response has exactly ALB's shape for the mode, then flatten it.

    In single-value mode several Set-Cookie arrive under case variants of the key
    (``set-cookie``, ``Set-cookie``...); they become ordinary ``set-cookie`` pairs here.
    """
    field = "multiValueHeaders" if multi else "headers"
    assert set(response) == {"statusCode", "statusDescription", "isBase64Encoded", "body", field}
    answer = read_response(response, multi_value_headers=multi)
    description, encoded = response["statusDescription"], response["isBase64Encoded"]
    assert isinstance(description, str)
    assert isinstance(encoded, bool)
    assert description.startswith(f"{answer.status} ")
    return Answer(answer.status, description, list(answer.headers), answer.body, encoded)


def assert_headers(
    actual: list[tuple[str, str]], expected: list[tuple[str, str | re.Pattern[str]]]
) -> None:
    """Same names in the same order; each value equal, or fully matching its pattern."""
    assert [name for name, _ in actual] == [name for name, _ in expected]
    for (name, value), (_, want) in zip(actual, expected, strict=True):
        if isinstance(want, re.Pattern):
            assert want.fullmatch(value), f"{name}: {value!r} does not match {want.pattern!r}"
        else:
            assert value == want, name


def values(answer: Answer, name: str) -> list[str]:
    return [value for key, value in answer.headers if key == name]


def cookie_jar(answer: Answer, jar: dict[str, str] | None = None) -> dict[str, str]:
    """What a browser keeps from the Set-Cookie headers: name -> value, deleted ones removed."""
    jar = dict(jar or {})
    for cookie in values(answer, "set-cookie"):
        pair, _, attributes = cookie.partition(";")
        name, _, value = pair.partition("=")
        if "Max-Age=0" in attributes:
            jar.pop(name, None)
        else:
            jar[name] = value
    return jar


def cookie_header(jar: dict[str, str]) -> dict[str, str]:
    return {"cookie": "; ".join(f"{name}={value}" for name, value in jar.items())}


def links(html: bytes) -> list[str]:
    return re.findall(r'(?:href|src|action)="([^"]*)"', html.decode("utf-8"))


@pytest.fixture(params=[False, True], ids=["single-value", "multi-value"])
def multi(request: pytest.FixtureRequest) -> bool:
    """The target group's lambda.multi_value_headers.enabled."""
    value: bool = request.param
    return value


@pytest.fixture(params=["", "/shop"], ids=["root", "base-path"])
def base(request: pytest.FixtureRequest) -> str:
    """Where ALB forwards to the function: its own paths, or everything under /shop."""
    value: str = request.param
    return value


def make_handler(
    app: WSGIApplication | None = None, **options: Unpack[ConfigOptions]
) -> WSGIHandler:
    """The example's handler, built as flask_example builds it (not from the environment)."""
    options.setdefault("health_check_path", "/health")
    return WSGIHandler(app or APP, **options)


def call(
    handler: WSGIHandler,
    method: str,
    path: str,
    *,
    multi: bool,
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
    form: Mapping[str, str] | None = None,
    scheme: str = "https",
) -> Answer:
    """One request through the handler, as ALB would send it in the given header mode."""
    event = make_event(
        method, path, headers=headers, form=form, scheme=scheme, multi_value_headers=multi
    )
    return normalise(handler(event, LambdaContext()), multi=multi)


def log_in(
    handler: WSGIHandler, base: str, *, multi: bool, user: str = "ada", theme: str = "dark"
) -> dict[str, str]:
    answer = call(
        handler,
        "POST",
        f"{base}/login",
        multi=multi,
        form={"user": user, "password": "correct horse", "theme": theme},
    )
    assert answer.status == 302
    return cookie_jar(answer)


# --------------------------------------------------------------------------- the HTML page


def test_index_page_links_follow_the_base_path(multi: bool, base: str) -> None:
    answer = call(make_handler(base_path=base), "GET", f"{base}/", multi=multi)

    assert answer[:2] == (200, "200 OK")
    assert answer.headers == [("content-type", HTML), ("vary", "Cookie")]
    assert answer.base64 is False
    assert links(answer.body) == [
        f"https://example.com{base}/",  # canonical: scheme and host from X-Forwarded-*/Host
        f"{base}/logo.png",
        f"{base}/",
        f"{base}/logo.png",
        f"{base}/login",
        f"{base}/account/profile",
        f"{base}/account/notes",
        f"{base}/search?q=a+b%2Bc",
    ]
    assert b"<footer>Your address: 198.51.100.7</footer>" in answer.body
    assert b'<body class="theme-light">' in answer.body


def test_the_client_address_is_the_one_alb_saw(multi: bool) -> None:
    """A client can put anything in X-Forwarded-For; only the entry ALB appended is trusted."""
    answer = call(make_handler(), "GET", "/", multi=multi, headers={"x-forwarded-for": "10.0.0.1"})

    assert b"<footer>Your address: 198.51.100.7</footer>" in answer.body


def test_the_bare_base_path_redirects_to_the_page(multi: bool) -> None:
    """The listener rule forwards ``/shop`` as well as ``/shop/*``; Flask adds the slash."""
    answer = call(make_handler(base_path="/shop"), "GET", "/shop", multi=multi)

    assert answer[:3] == (
        308,
        "308 PERMANENT REDIRECT",
        [("content-type", HTML), ("location", "https://example.com/shop/")],
    )


def test_login_form_posts_to_the_mounted_path(base: str) -> None:
    answer = call(make_handler(base_path=base), "GET", f"{base}/login", multi=False)

    assert answer[:2] == (200, "200 OK")
    assert f'<form method="post" action="{base}/login">'.encode() in answer.body
    assert b"<title>Sign in \xc2\xb7 alb-adapter Flask example</title>" in answer.body


def test_signed_in_page_shows_the_user_and_theme(multi: bool) -> None:
    handler = make_handler()
    jar = log_in(handler, "", multi=multi, user="grace", theme="dark")

    answer = call(handler, "GET", "/", multi=multi, headers=cookie_header(jar))

    assert answer[:2] == (200, "200 OK")
    assert b"Signed in as <strong>grace</strong>" in answer.body
    assert b'<body class="theme-dark">' in answer.body
    assert '<form method="post" action="/account/notes">' in answer.body.decode()
    assert "/logout" in links(answer.body)


# --------------------------------------------------------------------------- health checks


def test_health_check_is_answered_without_the_app(multi: bool) -> None:
    calls: list[str] = []

    def spy(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        calls.append(environ["PATH_INFO"])
        return APP(environ, start_response)

    handler = make_handler(spy)
    event = make_health_check_event("/health", multi_value_headers=multi)
    answer = normalise(handler(event, LambdaContext()), multi=multi)

    assert answer == Answer(
        200, "200 OK", [("content-type", "text/plain; charset=utf-8")], b"OK\n", False
    )
    assert calls == []
    # The same path from a browser is the app's business (which has no such page).
    assert call(handler, "GET", "/health", multi=multi).status == 404
    assert calls == ["/health"]


def test_health_check_elsewhere_reaches_the_app_with_a_default_host(multi: bool) -> None:
    event = make_health_check_event("/", multi_value_headers=multi)
    answer = normalise(make_handler()(event, LambdaContext()), multi=multi)

    assert answer[:2] == (200, "200 OK")
    assert answer.headers == [("content-type", HTML), ("vary", "Cookie")]
    # No Host, no X-Forwarded-*: http://localhost, and no client address.
    assert links(answer.body)[0] == "http://localhost/"
    assert b"<footer>Your address: unknown</footer>" in answer.body


# --------------------------------------------------------------------------- login and cookies


def test_login_sets_both_cookies_and_redirects(multi: bool, base: str) -> None:
    answer = call(
        make_handler(base_path=base),
        "POST",
        f"{base}/login",
        multi=multi,
        form={"user": "ada", "password": "x", "theme": "dark"},
    )

    assert answer[:2] == (302, "302 FOUND")
    path = base or "/"
    assert_headers(
        answer.headers,
        [
            ("content-type", HTML),
            ("location", f"{base}/"),
            (
                "set-cookie",
                re.compile(
                    f"theme=dark; Expires={HTTP_DATE}; Max-Age=2592000; Secure; "
                    f"Path={re.escape(path)}; SameSite=Lax"
                ),
            ),
            ("set-cookie", session_cookie(base)),
            ("vary", "Cookie"),
        ],
    )
    assert f'href="{base}/"'.encode() in answer.body
    assert set(cookie_jar(answer)) == {"theme", "session"}


def test_login_cookies_under_their_own_keys_in_single_value_mode() -> None:
    """What ALB receives: one JSON key per cookie, which ALB emits as separate headers."""
    event = make_event("POST", "/login", form={"user": "ada", "password": "x"})
    response = make_handler()(event, LambdaContext())

    headers = response["headers"]
    assert isinstance(headers, dict)
    assert list(headers) == ["content-type", "location", "set-cookie", "Set-cookie", "vary"]
    assert headers["set-cookie"].startswith("theme=light; ")
    assert headers["Set-cookie"].startswith("session=")


def test_login_rejects_a_bad_form(multi: bool) -> None:
    answer = call(make_handler(), "POST", "/login", multi=multi, form={"user": "a b"})

    assert answer[:2] == (400, "400 BAD REQUEST")
    assert answer.headers == [("content-type", HTML), ("vary", "Cookie")]
    assert b'<p role="alert">Enter a user name (letters, digits, . _ -) and a password.</p>' in (
        answer.body
    )


def test_cookies_sent_back_give_the_profile(multi: bool, base: str) -> None:
    handler = make_handler(base_path=base)
    jar = log_in(handler, base, multi=multi)

    answer = call(
        handler, "GET", f"{base}/account/profile", multi=multi, headers=cookie_header(jar)
    )

    assert answer == Answer(
        200,
        "200 OK",
        [("content-type", "application/json"), ("vary", "Cookie")],
        b'{"notes":0,"theme":"dark","user":"ada"}\n',
        False,
    )


def test_profile_without_login_is_a_json_401(multi: bool, base: str) -> None:
    answer = call(make_handler(base_path=base), "GET", f"{base}/account/profile", multi=multi)

    assert answer == Answer(
        401,
        "401 UNAUTHORIZED",
        [("content-type", "application/json"), ("vary", "Cookie")],
        f'{{"error":"login required","login":"{base}/login"}}\n'.encode(),
        False,
    )


def test_a_forged_session_cookie_is_refused(multi: bool) -> None:
    handler = make_handler()
    session = log_in(handler, "", multi=multi)["session"]
    payload, _, signature = session.partition(".")
    forged = base64.urlsafe_b64encode(b'{"user":"root"}').decode().rstrip("=")

    answer = call(
        handler,
        "GET",
        "/account/profile",
        multi=multi,
        headers={"cookie": f"session={forged}.{signature}"},
    )

    assert payload != forged
    assert answer.status == 401


def test_cookie_headers_split_by_http2_are_joined() -> None:
    """HTTP/2 clients may send each cookie in its own field; multi-value mode keeps them all and
    the adapter joins them with '; ' as PEP 3333 servers do."""
    handler = make_handler()
    jar = log_in(handler, "", multi=True)
    headers = [("cookie", f"{name}={value}") for name, value in jar.items()]

    answer = call(handler, "GET", "/account/profile", multi=True, headers=headers)

    assert answer.body == b'{"notes":0,"theme":"dark","user":"ada"}\n'


def test_logout_deletes_both_cookies(multi: bool, base: str) -> None:
    handler = make_handler(base_path=base)
    jar = log_in(handler, base, multi=multi)

    answer = call(handler, "GET", f"{base}/logout", multi=multi, headers=cookie_header(jar))

    assert answer[:2] == (302, "302 FOUND")
    path = re.escape(base or "/")
    gone = rf"Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Secure; .*Path={path}; SameSite=Lax"
    assert_headers(
        answer.headers,
        [
            ("content-type", HTML),
            ("location", f"{base}/"),
            ("set-cookie", re.compile(f"theme=; {gone}")),
            ("set-cookie", re.compile(f"session=; {gone}")),
            ("vary", "Cookie"),
        ],
    )
    assert cookie_jar(answer, jar) == {}


# --------------------------------------------------------------------------- notes: a form POST


def test_form_post_then_read_the_notes_back(multi: bool, base: str) -> None:
    handler = make_handler(base_path=base)
    jar = log_in(handler, base, multi=multi)

    first = call(
        handler,
        "POST",
        f"{base}/account/notes",
        multi=multi,
        form={"text": "buy milk"},
        headers=cookie_header(jar),
    )
    assert first[:2] == (201, "201 CREATED")
    assert_headers(
        first.headers,
        [
            ("content-type", "application/json"),
            ("location", f"{base}/account/notes"),
            ("vary", "Cookie"),
            ("set-cookie", session_cookie(base)),
        ],
    )
    assert first.body == b'{"notes":["buy milk"]}\n'
    jar = cookie_jar(first, jar)

    second = call(
        handler,
        "POST",
        f"{base}/account/notes",
        multi=multi,
        form={"text": "café & co + 100%"},
        headers=cookie_header(jar),
    )
    assert second.status == 201
    jar = cookie_jar(second, jar)

    notes = call(handler, "GET", f"{base}/account/notes", multi=multi, headers=cookie_header(jar))
    assert notes == Answer(
        200,
        "200 OK",
        [("content-type", "application/json"), ("vary", "Cookie")],
        b'{"notes":["buy milk","caf\\u00e9 & co + 100%"]}\n',
        False,
    )
    # The state is in the cookie only: another instance with the same SECRET_KEY reads it too.
    other_instance = flask_example.create_app(secret_key="test-secret", secure_cookies=True)
    other = call(
        make_handler(other_instance, base_path=base),
        "GET",
        f"{base}/account/profile",
        multi=multi,
        headers=cookie_header(jar),
    )
    assert json.loads(other.body) == {"notes": 2, "theme": "dark", "user": "ada"}


def test_browser_form_post_is_sent_back_to_the_page(multi: bool, base: str) -> None:
    handler = make_handler(base_path=base)
    jar = log_in(handler, base, multi=multi)
    headers = {**cookie_header(jar), "accept": "text/html,application/xhtml+xml,*/*;q=0.8"}

    answer = call(
        handler, "POST", f"{base}/account/notes", multi=multi, form={"text": "x"}, headers=headers
    )

    assert answer[:2] == (303, "303 SEE OTHER")
    assert values(answer, "location") == [f"{base}/"]
    page = call(
        handler, "GET", f"{base}/", multi=multi, headers=cookie_header(cookie_jar(answer, jar))
    )
    assert b"<li>x</li>" in page.body


def test_notes_are_validated_and_capped(multi: bool) -> None:
    handler = make_handler()
    jar = log_in(handler, "", multi=multi)

    empty = call(
        handler,
        "POST",
        "/account/notes",
        multi=multi,
        form={"text": "  "},
        headers=cookie_header(jar),
    )
    assert empty == Answer(
        400,
        "400 BAD REQUEST",
        [("content-type", "application/json"), ("vary", "Cookie")],
        b'{"error":"text must be 1 to 200 characters"}\n',
        False,
    )

    for number in range(flask_example.MAX_NOTES + 2):
        answer = call(
            handler,
            "POST",
            "/account/notes",
            multi=multi,
            form={"text": str(number)},
            headers=cookie_header(jar),
        )
        jar = cookie_jar(answer, jar)
    assert json.loads(answer.body) == {"notes": [str(n) for n in range(2, 12)]}


# --------------------------------------------------------------------------- the binary logo


def read_png(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and raw scanlines of an 8-bit RGB PNG, checking every CRC on the way."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, chunks = 8, []
    while offset < len(data):
        (length,) = struct.unpack_from(">I", data, offset)
        kind = data[offset + 4 : offset + 8]
        payload = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack_from(">I", data, offset + 8 + length)
        assert crc == zlib.crc32(kind + payload), kind
        chunks.append((kind, payload))
        offset += 12 + length
    assert [kind for kind, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    width, height, depth, color, *_ = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, color) == (8, 2)
    return width, height, zlib.decompress(chunks[1][1])


def test_logo_is_sent_base64_and_decodes_to_the_exact_png(multi: bool) -> None:
    answer = call(make_handler(), "GET", "/logo.png", multi=multi)

    assert answer[:2] == (200, "200 OK")
    assert answer.base64 is True
    etag = hashlib.sha1(flask_example.LOGO_PNG).hexdigest()  # Werkzeug's add_etag()
    assert_headers(
        answer.headers,
        [
            ("content-type", "image/png"),
            ("cache-control", "public, max-age=86400"),
            ("etag", f'"{etag}"'),
            ("date", re.compile(HTTP_DATE)),
        ],
    )
    assert answer.body == flask_example.LOGO_PNG
    width, height, rows = read_png(answer.body)
    assert (width, height) == (32, 32)
    assert len(rows) == 32 * (1 + 32 * 3)
    assert rows[:4] == b"\x00\x23\x2f\x3e"  # filter byte, then the frame's first pixel
    assert rows[1 + 32 * 3 + 1 + 3 : 1 + 32 * 3 + 1 + 6] == bytes([255, 149, 58])  # pixel (1, 1)

    again = call(
        make_handler(),
        "GET",
        "/logo.png",
        multi=multi,
        headers={"if-none-match": values(answer, "etag")[0]},
    )
    assert again[:2] == (304, "304 NOT MODIFIED")
    assert_headers(
        again.headers,
        [
            ("cache-control", "public, max-age=86400"),
            ("etag", f'"{etag}"'),
            ("date", re.compile(HTTP_DATE)),
        ],
    )
    assert again.body == b""
    assert again.base64 is False


def test_make_png_is_a_valid_png_of_the_given_pixels() -> None:
    data = flask_example.make_png(2, 1, lambda x, y: (x * 255, 0, 7))

    assert read_png(data) == (2, 1, b"\x00\x00\x00\x07\xff\x00\x07")


# --------------------------------------------------------------------------- the query string


@pytest.mark.parametrize(
    ("query", "q"),
    [
        ("q=a+b", "a b"),
        ("q=a%20b", "a b"),
        ("q=a%2Bb", "a+b"),
        ("q=rock%26roll", "rock&roll"),
        ("q=caf%C3%A9+%3D+coffee", "café = coffee"),
    ],
)
def test_search_decodes_the_raw_query_as_the_browser_meant(multi: bool, query: str, q: str) -> None:
    answer = call(make_handler(), "GET", f"/search?{query}", multi=multi)

    assert answer[:3] == (200, "200 OK", [("content-type", "application/json")])
    assert json.loads(answer.body) == {"args": {"q": [q]}, "q": q, "query_string": query}


def test_search_repeated_keys_depend_on_the_header_mode(multi: bool) -> None:
    """Multi-value mode keeps every value; single-value mode has only the last (ALB's rule)."""
    answer = call(make_handler(), "GET", "/search?tag=a&q=x&tag=b", multi=multi)

    args = json.loads(answer.body)["args"]
    assert args == ({"tag": ["a", "b"], "q": ["x"]} if multi else {"tag": ["b"], "q": ["x"]})


# --------------------------------------------------------------------------- errors


def test_unknown_route_is_flasks_404_page(multi: bool, base: str) -> None:
    answer = call(make_handler(base_path=base), "GET", f"{base}/nope", multi=multi)

    assert answer[:3] == (404, "404 NOT FOUND", [("content-type", HTML)])
    assert b"<title>404 Not Found</title>" in answer.body


def test_unknown_api_route_is_a_json_404(multi: bool) -> None:
    answer = call(make_handler(), "GET", "/account/nope", multi=multi)

    assert answer == Answer(
        404,
        "404 NOT FOUND",
        [("content-type", "application/json")],
        b'{"error":"Not Found","status":404}\n',
        False,
    )


def test_wrong_method_is_a_405_with_allow(multi: bool) -> None:
    answer = call(make_handler(), "DELETE", "/search", multi=multi)

    assert answer[:2] == (405, "405 METHOD NOT ALLOWED")
    [allow] = values(answer, "allow")
    assert sorted(allow.split(", ")) == ["GET", "HEAD", "OPTIONS"]


def failing_app(*, propagate: bool) -> Flask:
    """A separate app instance with a route that raises (routes cannot be added to the shared
    app once it has served a request)."""
    app = flask_example.create_app(secret_key="test-secret", secure_cookies=True)
    app.config["PROPAGATE_EXCEPTIONS"] = propagate

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("boom")

    return app


def test_an_exception_flask_handles_is_its_500_page(
    multi: bool, caplog: pytest.LogCaptureFixture
) -> None:
    answer = call(make_handler(failing_app(propagate=False)), "GET", "/boom", multi=multi)

    assert answer[:3] == (500, "500 INTERNAL SERVER ERROR", [("content-type", HTML)])
    assert b"<h1>Internal Server Error</h1>" in answer.body
    assert b"RuntimeError" not in answer.body
    assert [record.name for record in caplog.records] == ["flask_example"]


def test_an_exception_that_reaches_the_adapter_is_a_plain_500(
    multi: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """With PROPAGATE_EXCEPTIONS the error leaves Flask: the adapter logs it and answers 500."""
    app = failing_app(propagate=True)

    with caplog.at_level(logging.ERROR, logger="alb_adapter"):
        answer = call(make_handler(app), "GET", "/boom", multi=multi)

    assert answer == Answer(
        500,
        "500 Internal Server Error",
        [("content-type", "text/plain; charset=utf-8")],
        b"Internal Server Error\n",
        False,
    )
    [record] = [record for record in caplog.records if record.name == "alb_adapter"]
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)

    with pytest.raises(RuntimeError, match="boom"):
        make_handler(app, raise_app_exceptions=True)(make_event("GET", "/boom"), LambdaContext())


# --------------------------------------------------------------------------- PEP 3333


def test_the_app_passes_wsgiref_validator(multi: bool) -> None:
    """wsgiref.validate checks both sides of the WSGI call: the adapter's environ and
    start_response, and Flask's use of them (iterable closed, headers well-formed...)."""
    checked = make_handler(validator(APP))
    plain = make_handler()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a WSGIWarning fails the test
        page = call(checked, "GET", "/?x=1", multi=multi)
        login = call(checked, "POST", "/login", multi=multi, form={"user": "ada", "password": "x"})
        jar = cookie_jar(login)
        note = call(
            checked,
            "POST",
            "/account/notes",
            multi=multi,
            form={"text": "hi"},
            headers=cookie_header(jar),
        )
        logo = call(checked, "GET", "/logo.png", multi=multi)
        unchanged = call(
            checked,
            "GET",
            "/logo.png",
            multi=multi,
            headers={"if-none-match": values(logo, "etag")[0]},
        )

    assert page == call(plain, "GET", "/?x=1", multi=multi)
    assert [login.status, note.status, logo.status, unchanged.status] == [302, 201, 200, 304]
    assert note.body == b'{"notes":["hi"]}\n'
    assert logo.body == flask_example.LOGO_PNG


# --------------------------------------------------------------------------- configuration


def test_module_handler_is_configured_for_lambda() -> None:
    handler = flask_example.handler
    assert isinstance(handler, WSGIHandler)
    assert handler.app is flask_example.app
    assert handler.config.health_check_path == "/health"
    assert handler.config.base_path == os.environ.get("ALB_BASE_PATH", "").rstrip("/")


def test_secret_key_is_required_on_lambda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    assert flask_example.create_app().secret_key == flask_example.DEV_SECRET_KEY

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "flask-example")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        flask_example.create_app()

    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    assert flask_example.create_app().secret_key == "from-the-environment"


def test_secure_cookies_can_be_turned_off_for_plain_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "0")
    handler = make_handler(flask_example.create_app())

    answer = call(
        handler, "POST", "/login", multi=True, form={"user": "ada", "password": "x"}, scheme="http"
    )

    cookies = values(answer, "set-cookie")
    assert len(cookies) == 2
    assert not any("Secure" in cookie for cookie in cookies)


# --------------------------------------------------------------------------- invoke_sample.py


def test_invoke_sample_prints_the_alb_response() -> None:
    """Run as a user would, from the repository root, mounted under /shop."""
    env = {**os.environ, "ALB_BASE_PATH": "/shop", "PYTHONPATH": ""}
    env.pop("SECRET_KEY", None)
    env.pop("AWS_LAMBDA_FUNCTION_NAME", None)
    result = subprocess.run(
        [sys.executable, "examples/flask_app/invoke_sample.py", "/shop/search?q=a+b%2Bc"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "statusCode": 200,
        "statusDescription": "200 OK",
        "isBase64Encoded": False,
        "body": '{"args":{"q":["a b+c"]},"q":"a b+c","query_string":"q=a+b%2Bc"}\n',
        "headers": {"content-type": "application/json"},
    }


def test_invoke_sample_defaults_to_the_home_page(capsys: pytest.CaptureFixture[str]) -> None:
    from invoke_sample import main  # importable like flask_example (see conftest.py)

    assert main(["--multi-value-headers"]) == 0

    response = json.loads(capsys.readouterr().out)
    assert response["statusCode"] == 200
    assert response["multiValueHeaders"]["content-type"] == [HTML]
    assert "<h1>alb-adapter Flask example</h1>" in response["body"]
