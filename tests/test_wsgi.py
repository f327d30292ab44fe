"""WSGIHandler: the PEP 3333 environ, the start_response/write/close protocol, and every failure
path (docs/alb-behaviour.md: 400, 500, 502, health checks), in both header modes."""

from __future__ import annotations

import io
import logging
import re
import sys
from collections.abc import Iterator
from typing import Any
from wsgiref.validate import validator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request as WerkzeugRequest

from alb_adapter import AppError, Config, InvalidEvent, UnsupportedEvent, WSGIHandler
from alb_adapter.model import Request
from alb_adapter.testing import LambdaContext, make_event, make_health_check_event
from alb_adapter.wsgi import _environ_key, build_environ
from tests.support import SECRET, Environ, StartResponse, logged_above_debug, normalize, simple_app

TEXT = [("content-type", "text/plain; charset=utf-8")]


def error_500(multi: bool) -> tuple[int, list[tuple[str, str]], bytes]:
    return 500, TEXT, b"Internal Server Error\n"


# --- the environ -----------------------------------------------------------------------------


def test_whole_environ(multi: bool) -> None:
    app = simple_app()
    handler = WSGIHandler(app, base_path="/account")
    context = LambdaContext()
    event = make_event(
        "POST",
        "/account/notes%2Fdraft?tag=a+b&tag=%E9",
        headers=[
            ("Cookie", "a=1"),
            ("Cookie", "b=2"),
            ("Accept", "text/html"),
            ("Accept", "*/*"),
            ("X-Forwarded-For", "6.6.6.6:1234"),
            ("X-Auth_Token", "spoof"),
            ("X-Name", "Zoë"),
            ("X-Emoji", "☃"),
        ],
        form={"text": "hello"},
        multi_value_headers=multi,
        trace_id="Root=1-65f0a000-0123456789abcdef01234567",
    )
    handler(event, context)
    environ = dict(app.environ)  # type: ignore[attr-defined]
    body = environ.pop("wsgi.input").read()
    assert environ.pop("wsgi.errors") is sys.stderr
    assert environ.pop("aws.event") is event
    assert environ.pop("aws.context") is context
    expected_headers = {
        # single-value mode: ALB itself kept only the last of each repeated header
        "HTTP_COOKIE": "a=1; b=2" if multi else "b=2",
        "HTTP_ACCEPT": "text/html, */*" if multi else "*/*",
    }
    assert environ == {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "/account",
        "PATH_INFO": "/notes/draft",
        "QUERY_STRING": "tag=a+b&tag=%E9" if multi else "tag=%E9",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": "10",
        "SERVER_NAME": "example.com",
        "SERVER_PORT": "443",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "198.51.100.7",
        "HTTP_HOST": "example.com",
        **expected_headers,
        # The client's UTF-8 bytes read as latin-1, for every value alike (PEP 3333, gunicorn).
        "HTTP_X_NAME": "Zoë".encode().decode("latin-1"),
        "HTTP_X_EMOJI": "☃".encode().decode("latin-1"),
        "HTTP_X_FORWARDED_FOR": "6.6.6.6:1234, 198.51.100.7",
        "HTTP_X_FORWARDED_PROTO": "https",
        "HTTP_X_FORWARDED_PORT": "443",
        "HTTP_X_AMZN_TRACE_ID": "Root=1-65f0a000-0123456789abcdef01234567",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "https",
        "wsgi.input_terminated": True,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    assert body == b"text=hello"


def test_environ_agrees_with_werkzeugs_own_builder(multi: bool) -> None:
    """werkzeug's EnvironBuilder is the oracle for what a real WSGI server would hand over."""
    app = simple_app()
    handler = WSGIHandler(app)
    target = "/caf%C3%A9/a%20b?q=a+b&x=%2B"
    handler(
        make_event(
            "PUT",
            target,
            body=b"{}",
            headers={"content-type": "application/json"},
            multi_value_headers=multi,
            scheme="http",
        ),
        None,
    )
    ours = app.environ  # type: ignore[attr-defined]
    oracle = EnvironBuilder(
        path="/café/a b",
        query_string="q=a+b&x=%2B",
        method="PUT",
        data=b"{}",
        content_type="application/json",
        base_url="http://example.com",
    ).get_environ()
    for key in (
        "REQUEST_METHOD",
        "SCRIPT_NAME",
        "PATH_INFO",
        "QUERY_STRING",
        "CONTENT_TYPE",
        "CONTENT_LENGTH",
        "SERVER_NAME",
        "SERVER_PORT",
        "HTTP_HOST",
        "wsgi.url_scheme",
    ):
        assert ours[key] == oracle[key], key


def test_werkzeug_reads_the_request_as_the_client_sent_it(multi: bool) -> None:
    app = simple_app()
    handler = WSGIHandler(app)
    boundary = "XyZ"
    multipart = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nhi there\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + bytes(range(256))
        + f"\r\n--{boundary}--\r\n".encode()
    )
    handler(
        make_event(
            "POST",
            "/upload?name=John+Smith&email=a%40b.c&raw=%E9&plus=%2B",
            headers=[
                ("content-type", f"multipart/form-data; boundary={boundary}"),
                ("cookie", "session=abc; theme=dark"),
            ],
            body=multipart,
            multi_value_headers=multi,
            client_ip="203.0.113.50",
        ),
        None,
    )
    request = WerkzeugRequest(app.environ)  # type: ignore[attr-defined]
    assert request.args.to_dict(flat=False) == {
        "name": ["John Smith"],
        "email": ["a@b.c"],
        "raw": ["%E9"],
        "plus": ["+"],
    }
    assert request.cookies.to_dict() == {"session": "abc", "theme": "dark"}
    assert request.form.to_dict() == {"title": "hi there"}
    assert request.files["file"].read() == bytes(range(256))
    assert request.remote_addr == "203.0.113.50"
    assert request.environ["QUERY_STRING"] == "name=John+Smith&email=a%40b.c&raw=%E9&plus=%2B"
    assert request.url == "https://example.com/upload?name=John+Smith&email=a@b.c&raw=%E9&plus=%2B"


def test_split_cookie_headers_are_joined_with_semicolons() -> None:
    app = simple_app()
    WSGIHandler(app)(
        make_event(
            "GET",
            "/",
            headers=[("cookie", "a=1"), ("cookie", "b=2; c=3")],
            multi_value_headers=True,
        ),
        None,
    )
    assert WerkzeugRequest(app.environ).cookies.to_dict() == {"a": "1", "b": "2", "c": "3"}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("path", "script_name", "path_info"),
    [
        ("/account/profile", "/account", "/profile"),
        ("/account/", "/account", "/"),
        ("/account", "/account", ""),
        ("/accounts/x", "", "/accounts/x"),  # not on a segment boundary: untouched
        ("/other", "", "/other"),
        ("/account%2Fx", "/account", "/x"),  # compared after decoding
    ],
)
def test_base_path_becomes_script_name(
    multi: bool, path: str, script_name: str, path_info: str
) -> None:
    app = simple_app()
    WSGIHandler(app, base_path="/account/")(
        make_event("GET", path, multi_value_headers=multi), None
    )
    environ = app.environ  # type: ignore[attr-defined]
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == (script_name, path_info)


def test_a_content_length_header_never_overrides_the_body_length(multi: bool) -> None:
    app = simple_app()
    event = make_event("PUT", "/n", body=b"0123456789", multi_value_headers=multi)
    field = "multiValueHeaders" if multi else "headers"
    event[field]["content-length"] = ["999"] if multi else "999"
    WSGIHandler(app)(event, None)
    assert app.environ["CONTENT_LENGTH"] == "10"  # type: ignore[attr-defined]
    assert "HTTP_CONTENT_LENGTH" not in app.environ  # type: ignore[attr-defined]


def test_a_new_or_left_out_name_among_known_ones(multi: bool) -> None:
    # Known names first fill the environ; an unseen name and an underscore name after them
    # must still come out right (one new, one left out), with nothing from before lost.
    app = simple_app()
    handler = WSGIHandler(app)
    handler(make_event(headers={"accept": "a"}, multi_value_headers=multi), None)
    headers = [("accept", "b"), ("x-never-seen-before-7", "n"), ("x_token", "spoof")]
    handler(make_event(headers=headers, multi_value_headers=multi), None)
    environ = app.environ  # type: ignore[attr-defined]
    assert (environ["HTTP_ACCEPT"], environ["HTTP_X_NEVER_SEEN_BEFORE_7"]) == ("b", "n")
    assert not [key for key in environ if "TOKEN" in key]


@pytest.mark.parametrize("new_name", [None, "x-never-seen-before-8", "x_token"])
def test_repeated_known_names_are_joined(new_name: str | None) -> None:
    # Every name already known, so a repeat shows only as fewer environ entries than headers;
    # with a new or left-out name after the repeats, the slow path must not join anything twice.
    app = simple_app()
    handler = WSGIHandler(app)
    known = [("accept", "a"), ("cookie", "c=1"), ("x-tag", "t"), ("content-type", "text/plain")]
    handler(make_event("POST", "/", headers=known, multi_value_headers=True), None)
    headers = [
        ("accept", "text/html"),
        ("cookie", "a=1"),
        ("x-tag", "Zoë"),
        ("content-type", "text/plain"),
        ("accept", "*/*"),
        ("cookie", "b=2"),
        ("x-tag", "☃"),
        ("content-type", "application/json"),
    ]
    if new_name:
        headers.append((new_name, "n"))
    trace = "Root=1-65f0a000-0123456789abcdef01234567"
    event = make_event(
        "POST", "/", headers=headers, body=b"{}", multi_value_headers=True, trace_id=trace
    )
    handler(event, None)
    environ = app.environ  # type: ignore[attr-defined]
    assert {key: environ[key] for key in environ if key.startswith(("HTTP_", "CONTENT_"))} == {
        "HTTP_HOST": "example.com",
        "HTTP_ACCEPT": "text/html, */*",
        "HTTP_COOKIE": "a=1; b=2",
        "HTTP_X_TAG": "Zoë, ☃".encode().decode("latin-1"),
        "CONTENT_TYPE": "application/json",  # one value: the last
        "CONTENT_LENGTH": "2",
        "HTTP_X_FORWARDED_FOR": "198.51.100.7",
        "HTTP_X_FORWARDED_PROTO": "https",
        "HTTP_X_FORWARDED_PORT": "443",
        "HTTP_X_AMZN_TRACE_ID": trace,
        **({"HTTP_X_NEVER_SEEN_BEFORE_8": "n"} if new_name == "x-never-seen-before-8" else {}),
    }


def test_remote_port_when_alb_reports_it(multi: bool) -> None:
    app = simple_app()
    WSGIHandler(app)(
        make_event("GET", "/", client_ip="203.0.113.5:40123", multi_value_headers=multi), None
    )
    environ = app.environ  # type: ignore[attr-defined]
    assert (environ["REMOTE_ADDR"], environ["REMOTE_PORT"]) == ("203.0.113.5", "40123")


def test_health_check_environ(multi: bool) -> None:
    app = simple_app()
    response = WSGIHandler(app)(make_health_check_event("/", multi_value_headers=multi), None)
    environ = app.environ  # type: ignore[attr-defined]
    assert response["statusCode"] == 200
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"], environ["wsgi.url_scheme"]) == (
        "localhost",
        "80",
        "http",
    )
    assert environ["REMOTE_ADDR"] == ""
    assert "HTTP_HOST" not in environ
    assert "REMOTE_PORT" not in environ


# --- PEP 3333 conformance --------------------------------------------------------------------


def pep3333_app(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    yield environ["PATH_INFO"].encode("latin-1")
    yield b"|"
    yield body


@pytest.mark.parametrize("path", ["/", "/a%20b/%C3%A9", "/health"])
def test_runs_under_wsgiref_validator(multi: bool, path: str) -> None:
    handler = WSGIHandler(validator(pep3333_app), raise_app_exceptions=True)
    decoded = path.replace("%20", " ").replace("%C3%A9", "é").encode()
    post = make_event("POST", path, body=b"\x00\xff", multi_value_headers=multi)
    assert normalize(handler(post, None)) == (
        200,
        [("content-type", "application/octet-stream")],
        decoded + b"|\x00\xff",
    )
    check = make_health_check_event(path, multi_value_headers=multi)
    assert normalize(handler(check, None)) == (
        200,
        [("content-type", "application/octet-stream")],
        decoded + b"|",
    )


def test_write_callable_and_iterable_in_order(multi: bool) -> None:
    def app(environ: Environ, start_response: StartResponse) -> list[bytes]:
        write = start_response("201 Created", [("Content-Type", "text/plain")])
        write(b"one,")
        write(b"")
        write(b"two,")
        return [b"three"]

    response = WSGIHandler(app)(make_event(multi_value_headers=multi), None)
    assert normalize(response) == (201, [("content-type", "text/plain")], b"one,two,three")
    assert response["statusDescription"] == "201 Created"


def test_generator_may_call_start_response_lazily(multi: bool) -> None:
    def app(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
        yield b""
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"late"

    assert normalize(WSGIHandler(app)(make_event(multi_value_headers=multi), None)) == (
        200,
        [("content-type", "text/plain")],
        b"late",
    )


def test_own_reason_phrase_reaches_status_description(multi: bool) -> None:
    app = simple_app(status="599 Network Connect Timeout")
    response = WSGIHandler(app)(make_event(multi_value_headers=multi), None)
    assert (response["statusCode"], response["statusDescription"]) == (
        599,
        "599 Network Connect Timeout",
    )


def test_status_without_reason_gets_the_standard_phrase(multi: bool) -> None:
    response = WSGIHandler(simple_app(status="404"))(make_event(multi_value_headers=multi), None)
    assert response["statusDescription"] == "404 Not Found"


class ClosingBody:
    """An iterable that records whether the server called close(), as PEP 3333 requires."""

    def __init__(self, chunks: list[object], fail_at: int | None = None) -> None:
        self.chunks = chunks
        self.fail_at = fail_at
        self.closed = 0

    def __iter__(self) -> Iterator[object]:
        for index, chunk in enumerate(self.chunks):
            if index == self.fail_at:
                raise RuntimeError("boom while streaming")
            yield chunk

    def close(self) -> None:
        self.closed += 1


@pytest.mark.parametrize(
    ("chunks", "fail_at", "expected_status"),
    [
        ([b"a", b"b"], None, 200),
        ([b"a", b"b"], 1, 500),  # raises mid-body
        ([b"a", "text"], None, 500),  # yields str
    ],
)
def test_close_is_always_called_once(
    multi: bool, chunks: list[object], fail_at: int | None, expected_status: int
) -> None:
    body = ClosingBody(chunks, fail_at)

    def app(environ: Environ, start_response: StartResponse) -> ClosingBody:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return body

    # The body deliberately yields non-bytes too, which typed WSGI apps cannot.
    response = WSGIHandler(app)(make_event(multi_value_headers=multi), None)  # type: ignore[arg-type]
    assert response["statusCode"] == expected_status
    assert body.closed == 1


def test_exc_info_before_the_body_replaces_the_response(multi: bool) -> None:
    def app(environ: Environ, start_response: StartResponse) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-Partial", "1")])
        try:
            raise ValueError("late failure")
        except ValueError:
            start_response(
                "503 Service Unavailable", [("Content-Type", "text/plain")], sys.exc_info()
            )
        return [b"sorry"]

    assert normalize(WSGIHandler(app)(make_event(multi_value_headers=multi), None)) == (
        503,
        [("content-type", "text/plain")],
        b"sorry",
    )


def test_exc_info_after_the_body_started_reraises(
    multi: bool, caplog: pytest.LogCaptureFixture
) -> None:
    def app(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"partial"
        try:
            raise KeyError("after body")
        except KeyError:
            start_response("500 Oops", [], sys.exc_info())
        yield b"never"

    with caplog.at_level(logging.ERROR, logger="alb_adapter"):
        response = WSGIHandler(app)(make_event(multi_value_headers=multi), None)
    assert normalize(response) == error_500(multi)
    assert "KeyError: 'after body'" in caplog.text


def pairs_app(status: Any = "200 OK", headers: Any = None, body: Any = (b"x",)) -> Any:
    def app(environ: Environ, start_response: StartResponse) -> Any:
        start_response(status, [("Content-Type", "text/plain")] if headers is None else headers)
        return list(body)

    return app


def never_starts(environ: Environ, start_response: StartResponse) -> list[bytes]:
    return []


def starts_twice(environ: Environ, start_response: StartResponse) -> list[bytes]:
    start_response("200 OK", [])
    start_response("200 OK", [])
    return []


def body_first(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
    yield b"too early"
    start_response("200 OK", [])


def writes_first(environ: Environ, start_response: StartResponse) -> list[bytes]:
    start_response.__self__.write(b"x")  # type: ignore[attr-defined]
    return []


def writes_text(environ: Environ, start_response: StartResponse) -> list[bytes]:
    start_response("200 OK", [])("text")
    return []


def raises(environ: Environ, start_response: StartResponse) -> list[bytes]:
    raise ZeroDivisionError("app bug")


BROKEN_APPS = {
    "raises": (raises, "ZeroDivisionError"),
    "never calls start_response": (never_starts, "without calling start_response"),
    "start_response twice": (starts_twice, "second time without exc_info"),
    "body before start_response": (body_first, "before calling start_response"),
    "write before start_response": (writes_first, "write() was called before start_response"),
    "write(str)": (writes_text, "write() needs bytes"),
    "yields str": (pairs_app(body=["text"]), "yielded str, not bytes"),
    "status int": (pairs_app(status=200), "must be a str"),
    "status bytes": (pairs_app(status=b"200 OK"), "must be a str"),
    "status no code": (pairs_app(status="OK"), "3-digit code"),
    "status 600": (pairs_app(status="600 Too Far"), "from 100 to 599"),
    "status 99": (pairs_app(status="099 Low"), "from 100 to 599"),
    "headers not iterable": (pairs_app(headers=5), "list of (name, value) tuples"),
    "header not a pair": (pairs_app(headers=[("X-One",)]), "(str, str) tuple"),
    "header value int": (pairs_app(headers=[("X-Num", 5)]), "(str, str) tuple"),
    "header value bytes": (pairs_app(headers=[("X-Bytes", b"v")]), "(str, str) tuple"),
    "header beyond latin-1": (pairs_app(headers=[("X-Snow", "☃")]), "beyond latin-1"),
    "header with CRLF": (pairs_app(headers=[("X-Evil", "a\r\nSet-Cookie: x=1")]), "CR, LF or NUL"),
    "header name with newline": (pairs_app(headers=[("X-Evil\n", "a")]), "invalid header name"),
}


@pytest.mark.parametrize("name", BROKEN_APPS)
def test_broken_apps_answer_500_and_log_the_cause(
    multi: bool, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    app, cause = BROKEN_APPS[name]
    event = make_event(
        "GET",
        "/broken?token=secret-query",
        headers={"cookie": "session=secret-cookie", "authorization": "Bearer secret-token"},
        multi_value_headers=multi,
    )
    with caplog.at_level(logging.DEBUG, logger="alb_adapter"):
        response = WSGIHandler(app)(event, None)
    assert normalize(response) == error_500(multi)
    assert response["statusDescription"] == "500 Internal Server Error"
    assert ("multiValueHeaders" in response) is multi
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].exc_info is not None
    assert "GET /broken" in errors[0].getMessage()
    assert cause in caplog.text
    for secret in ("secret-query", "secret-cookie", "secret-token"):
        assert secret not in caplog.text


def test_status_lines_are_checked_each_time_and_kept_apart(multi: bool) -> None:
    # Parsed status lines are remembered; a bad one must still fail on every call, and two
    # reasons for one code must each reach statusDescription.
    event = make_event(multi_value_headers=multi)
    bad = WSGIHandler(pairs_app(status="600 Too Far"))
    assert bad(event, None)["statusCode"] == 500
    assert bad(event, None)["statusCode"] == 500
    for reason in ("Fine", "Splendid", "Fine"):
        answer = WSGIHandler(pairs_app(status=f"200 {reason}"))(event, None)
        assert (answer["statusCode"], answer["statusDescription"]) == (200, f"200 {reason}")


@pytest.mark.parametrize("name", BROKEN_APPS)
def test_broken_apps_reraise_under_raise_app_exceptions(name: str) -> None:
    app, cause = BROKEN_APPS[name]
    with pytest.raises(
        Exception, match=re.escape(cause if name != "raises" else "app bug")
    ) as caught:
        WSGIHandler(app, raise_app_exceptions=True)(make_event(), None)
    if name != "raises":
        assert isinstance(caught.value, AppError)


def test_utf8_header_bytes_reach_the_client_as_text(multi: bool) -> None:
    disposition = 'attachment; filename="café.txt"'.encode().decode("latin-1")
    app = pairs_app(headers=[("Content-Disposition", disposition), ("X-Latin", "Zoë")])
    _status, headers, _ = normalize(WSGIHandler(app)(make_event(multi_value_headers=multi), None))
    assert headers == [
        ("content-disposition", 'attachment; filename="café.txt"'),
        ("x-latin", "Zoë"),  # not UTF-8 when encoded: left as the code points it was given
    ]


# --- handler-level answers -------------------------------------------------------------------


def test_invalid_base64_answers_400_without_calling_the_app(
    multi: bool, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[Environ] = []

    def app(environ: Environ, start_response: StartResponse) -> list[bytes]:
        calls.append(environ)
        start_response("200 OK", [])
        return []

    event = make_event("POST", "/", multi_value_headers=multi)
    event.update(body="not base64!", isBase64Encoded=True)
    with caplog.at_level(logging.WARNING, logger="alb_adapter"):
        response = WSGIHandler(app)(event, None)
    assert normalize(response) == (
        400,
        TEXT,
        b"Bad Request: the request body could not be decoded.\n",
    )
    assert response["statusDescription"] == "400 Bad Request"
    assert calls == []
    assert [record.getMessage() for record in caplog.records] == [
        "answering 400 without calling the app: invalid ALB event: body is not valid base64 "
        "although isBase64Encoded is true"
    ]


def test_health_check_path_answers_without_the_app(multi: bool) -> None:
    calls: list[str] = []

    def app(environ: Environ, start_response: StartResponse) -> list[bytes]:
        calls.append(environ["PATH_INFO"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"from app"]

    handler = WSGIHandler(app, health_check_path="/health")
    check = handler(make_health_check_event("/health", multi_value_headers=multi), None)
    assert normalize(check) == (200, TEXT, b"OK\n")
    assert calls == []
    # Other paths, and browsers on the same path, still reach the app.
    other = handler(make_health_check_event("/", multi_value_headers=multi), None)
    browser = handler(make_event("GET", "/health", multi_value_headers=multi), None)
    assert normalize(other)[2] == normalize(browser)[2] == b"from app"
    assert calls == ["/", "/health"]


def test_health_check_path_is_the_target_groups_path_whatever_the_base_path() -> None:
    """One rule: the target group's HealthCheckPath as configured, compared before base_path is
    taken off. A check to the base path's own /health reaches the app."""
    calls: list[str] = []

    def app(environ: Environ, start_response: StartResponse) -> list[bytes]:
        calls.append(environ["SCRIPT_NAME"] + environ["PATH_INFO"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"from app"]

    handler = WSGIHandler(app, health_check_path="/health", base_path="/account")
    assert normalize(handler(make_health_check_event("/health"), None)) == (200, TEXT, b"OK\n")
    assert normalize(handler(make_health_check_event("/account/health"), None))[2] == b"from app"
    assert calls == ["/account/health"]


def test_oversized_response_answers_502_with_the_reason(
    multi: bool, caplog: pytest.LogCaptureFixture
) -> None:
    app = simple_app(headers=[("Content-Type", "application/octet-stream")], body=b"\x00" * 900_000)
    with caplog.at_level(logging.ERROR, logger="alb_adapter"):
        response = WSGIHandler(app)(make_event("GET", "/big", multi_value_headers=multi), None)
    status, headers, body = normalize(response)
    assert (status, headers) == (502, TEXT)
    match = re.fullmatch(
        rb"Bad Gateway: the response is larger than ALB accepts "
        rb"\(response JSON: (12001\d\d) bytes, limit 1000000\)\.\n",
        body,
    )
    assert match is not None, body
    size = match.group(1).decode()
    assert f"GET /big: response JSON is {size} bytes (client does not accept gzip)" in caplog.text


def test_oversized_response_is_gzipped_for_a_browser(multi: bool) -> None:
    app = simple_app(headers=[("Content-Type", "application/octet-stream")], body=b"\x00" * 900_000)
    response = WSGIHandler(app)(
        make_event(
            "GET", "/big", headers={"accept-encoding": "gzip, br"}, multi_value_headers=multi
        ),
        None,
    )
    status, headers, body = normalize(response)
    assert status == 200
    assert ("content-encoding", "gzip") in headers
    import gzip

    assert gzip.decompress(body) == b"\x00" * 900_000


def test_single_cookie_policy_error_answers_500(multi: bool) -> None:
    app = pairs_app(headers=[("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")])
    response = WSGIHandler(app, multi_cookie="error")(make_event(multi_value_headers=multi), None)
    if multi:
        assert normalize(response)[1] == [("set-cookie", "a=1"), ("set-cookie", "b=2")]
    else:
        assert normalize(response) == error_500(multi)


def test_events_that_are_not_alb_raise() -> None:
    handler = WSGIHandler(simple_app())
    with pytest.raises(UnsupportedEvent):
        handler({"version": "2.0", "rawPath": "/"}, None)
    with pytest.raises(InvalidEvent, match="httpMethod"):
        handler({"requestContext": {"elb": {}}, "path": "/"}, None)


def test_the_handler_needs_a_callable() -> None:
    with pytest.raises(TypeError, match="needs a WSGI application"):
        WSGIHandler("app:module")  # type: ignore[arg-type]


def test_the_handler_validates_options_at_construction() -> None:
    with pytest.raises(ValueError, match="multi_cookie"):
        WSGIHandler(simple_app(), multi_cookie="all")  # type: ignore[arg-type]


def test_reads_input_with_and_without_size(multi: bool) -> None:
    seen: list[bytes] = []

    def app(environ: Environ, start_response: StartResponse) -> list[bytes]:
        stream: io.BytesIO = environ["wsgi.input"]
        seen.append(stream.read(3))
        seen.append(stream.readline())
        seen.append(stream.read())
        start_response("204 No Content", [])
        return []

    WSGIHandler(app)(make_event("POST", "/", body=b"abcdef\nrest", multi_value_headers=multi), None)
    assert seen == [b"abc", b"def\n", b"rest"]


def test_response_headers_over_albs_32_kb_answer_502(multi: bool) -> None:
    cookies = [("Set-Cookie", f"c{n}=" + "v" * 1000) for n in range(40)]
    response = WSGIHandler(pairs_app(headers=cookies))(make_event(multi_value_headers=multi), None)
    status, headers, body = normalize(response)
    assert (status, headers) == (502, TEXT)
    assert body.startswith(
        b"Bad Gateway: the response is larger than ALB accepts (response headers: "
    )


# --- the neutral model: nothing here depends on the source or its header mode ---------------


def neutral_request(headers: tuple[tuple[str, str], ...], event: dict[str, Any]) -> Request:
    return Request(
        method="GET",
        raw_path="/",
        path=b"/",
        headers=headers,
        server=("ẞhop.example", 443),
        client=("2001:db8::ā", 0),
        event=event,
    )


REPEATED = (("accept", "text/html"), ("cookie", "a=1"), ("accept", "*/*"), ("cookie", "b=2"))


@pytest.mark.parametrize(
    "event", [{}, {"headers": {}}, {"multiValueHeaders": {}}], ids=["none", "single", "multi"]
)
def test_repeated_headers_are_joined_whatever_the_event_says(event: dict[str, Any]) -> None:
    environ = build_environ(neutral_request(REPEATED, event), Config())
    assert (environ["HTTP_ACCEPT"], environ["HTTP_COOKIE"]) == ("text/html, */*", "a=1; b=2")


def test_server_name_and_remote_addr_are_native_strings() -> None:
    """A Host header beyond latin-1 (any client may send one) reaches the app as its UTF-8 bytes
    read as latin-1, as PEP 3333 wants of every environ string."""
    environ = build_environ(neutral_request((), {}), Config())
    assert environ["SERVER_NAME"] == "ẞhop.example".encode().decode("latin-1")
    assert environ["REMOTE_ADDR"] == "2001:db8::ā".encode().decode("latin-1")


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["host", "content-type", "content-length", "x-a_b", "x-forwarded-for"])
    | st.text(max_size=12),
    st.booleans(),
)
def test_environ_key_memo_answers_as_the_function_cold_and_warm(
    name: str, clear_first: bool
) -> None:
    if clear_first:
        _environ_key.cache_clear()
    reference = _environ_key.__wrapped__(name)
    assert _environ_key(name) == reference
    assert _environ_key(name) == reference


@pytest.mark.parametrize(
    "value",
    [f"id={SECRET}\r\nX-Evil: 1", f"id={SECRET}\x01", f"id={SECRET}☃", 42, f"id={SECRET}".encode()],
    ids=["crlf", "control", "beyond-latin-1", "int", "bytes"],
)
def test_a_malformed_set_cookie_is_a_500_and_its_value_is_never_logged_above_debug(
    multi: bool, value: object, caplog: pytest.LogCaptureFixture
) -> None:
    def app(environ: Environ, start_response: StartResponse) -> list[bytes]:
        start_response("200 OK", [("Set-Cookie", value)])
        return [b"ok"]

    with caplog.at_level(logging.DEBUG, logger="alb_adapter"):
        response = WSGIHandler(app)(make_event(multi_value_headers=multi), None)
    assert response["statusCode"] == 500
    loud = logged_above_debug(caplog.records)
    assert loud, "the failure is logged"
    assert [text for text in loud if SECRET in text] == []
