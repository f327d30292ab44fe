"""testing.ALBClient and the ALB behaviour it shares with the local ALB (emulator/invocation.py)."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest

from alb_adapter import WSGIHandler
from alb_adapter.emulator.invocation import alb_error, front_door, invoke, judge
from alb_adapter.testing import ALBClient, make_event
from tests.support import MALFORMED_COOKIES, SECRET

Environ = dict[str, Any]


def app(environ: Environ, start_response: Any) -> list[bytes]:
    """Echoes what it saw, sets two cookies: enough to see the whole ALB round trip."""
    body = environ["wsgi.input"].read()
    seen = {
        "method": environ["REQUEST_METHOD"],
        "path": environ["PATH_INFO"],
        "query": environ["QUERY_STRING"],
        "cookie": environ.get("HTTP_COOKIE"),
        "host": environ.get("HTTP_HOST"),
        "remote": environ["REMOTE_ADDR"],
        "scheme": environ["wsgi.url_scheme"],
        "body": body.decode("latin-1"),
    }
    start_response(
        "200 OK",
        [
            ("Content-Type", "application/json"),
            ("Set-Cookie", "a=1; Path=/"),
            ("Set-Cookie", "b=2; Path=/"),
        ],
    )
    return [json.dumps(seen).encode()]


HANDLER = WSGIHandler(app)


def test_a_request_goes_through_as_alb_sends_it(multi: bool) -> None:
    with ALBClient(HANDLER, multi_value_headers=multi, client_ip="203.0.113.4") as client:
        response = client.post(
            "/caf%C3%A9?q=a+b&r=%2B",
            content=b"\x00\xff",
            headers={"Cookie": "x=1", "Host": "Shop.Example.com", "X-Forwarded-For": "6.6.6.6"},
        )
    assert response.status_code == 200
    assert response.json() == {
        "method": "POST",
        "path": "/café".encode().decode("latin-1"),
        "query": "q=a+b&r=%2B",
        "cookie": "x=1",
        "host": "shop.example.com",
        "remote": "203.0.113.4",
        "scheme": "https",
        "body": "\x00\xff",
    }
    assert response.headers.get_list("set-cookie") == ["a=1; Path=/", "b=2; Path=/"]
    assert set(response.cookies) == {"a", "b"}


def test_cookies_round_trip_through_the_client_jar(multi: bool) -> None:
    with ALBClient(HANDLER, multi_value_headers=multi) as client:
        client.get("/")
        assert client.get("/").json()["cookie"] in ("a=1; b=2", "b=2; a=1")


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"statusCode": 200, "headers": None}, "null"),
        ({"statusCode": 200, "headers": {"content-length": 5}}, "only strings"),
        ({"headers": {}}, "statusCode"),
        ({"statusCode": 200, "body": "!!", "isBase64Encoded": True}, "not valid base64"),
        ({"statusCode": 200, "body": "x" * 1_100_000}, "LambdaResponseTooLarge"),
        ("not a dict", "must be a JSON object"),
    ],
)
def test_answers_alb_would_reject_are_502(
    payload: object, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    with ALBClient(lambda event, context: payload) as client:
        response = client.get("/")
    assert response.status_code == 502
    assert response.headers["server"] == "awselb/2.0"
    assert "<h1>502 Bad Gateway</h1>" in response.text
    assert reason in response.headers["x-alb-emulator-error"]


def test_an_exception_in_the_handler_is_502(caplog: pytest.LogCaptureFixture) -> None:
    def broken(event: object, context: object) -> object:
        raise RuntimeError("init failed")

    with caplog.at_level(logging.ERROR, logger="alb_adapter.emulator"), ALBClient(broken) as client:
        response = client.get("/")
    assert response.status_code == 502
    assert response.headers["x-alb-emulator-error"] == "LambdaUnhandled: RuntimeError: init failed"
    assert "the Lambda handler raised" in caplog.text


def test_headers_in_the_wrong_field_are_dropped(caplog: pytest.LogCaptureFixture) -> None:
    payload = {"statusCode": 200, "multiValueHeaders": {"x-lost": ["1"]}, "body": "ok"}
    with caplog.at_level(logging.WARNING), ALBClient(lambda e, c: payload) as client:
        response = client.get("/")
    assert response.status_code == 200
    assert "x-lost" not in response.headers
    assert "which ALB ignores" in caplog.text


@pytest.mark.parametrize(
    ("method", "headers", "size", "status"),
    [
        ("TRACE", {}, 0, 405),
        ("GET", {"Upgrade": "websocket", "Connection": "Upgrade"}, 0, 400),
        ("POST", {}, 1_000_001, 413),
        ("POST", {}, 1_000_000, 200),
    ],
)
def test_front_door(method: str, headers: dict[str, str], size: int, status: int) -> None:
    with ALBClient(HANDLER) as client:
        response = client.request(method, "/", headers=headers, content=b"x" * size)
    assert response.status_code == status


def test_a_413_reports_the_size_received() -> None:
    with ALBClient(HANDLER) as client:
        response = client.post("/", content=b"x" * 1_100_000)
    assert response.status_code == 413
    assert response.headers["x-alb-emulator-error"] == (
        "the request body of 1,100,000 bytes is over ALB's limit of 1,000,000 bytes"
    )


@pytest.mark.parametrize(
    ("headers", "size", "reason"),
    [
        ([], 1_100_000, "the request body of 1,100,000 bytes is over"),
        # A body read only up to the limit (None, or the limit + 1): never that capped size.
        ([], None, "the request body is over ALB's limit of 1,000,000 bytes"),
        ([], 1_000_001, "the request body is over ALB's limit of 1,000,000 bytes"),
        ([("Content-Length", "1200000")], 1_000_001, "the request body of 1,200,000 bytes is"),
        ([("content-length", "1000001")], 1_000_001, "the request body of 1,000,001 bytes is"),
        ([("content-length", "oops")], None, "the request body is over ALB's limit of 1,000,000"),
    ],
)
def test_front_door_size_reasons(
    headers: list[tuple[str, str]], size: int | None, reason: str
) -> None:
    outcome = front_door("POST", headers, size)
    assert outcome is not None
    assert outcome.status == 413
    assert outcome.reason is not None
    assert outcome.reason.startswith(reason)


def test_non_utf8_text_body_is_refused_as_alb_does() -> None:
    with ALBClient(HANDLER) as client:
        response = client.post("/", content=b"\xff", headers={"content-type": "text/plain"})
    assert response.status_code == 502
    assert "LambdaBadRequest" in response.headers["x-alb-emulator-error"]


def test_a_function_past_its_timeout_is_502() -> None:
    import time

    def slow(event: dict[str, object], context: object) -> object:
        time.sleep(0.15)
        return {"statusCode": 200}

    with ALBClient(slow, timeout=0.1) as client:
        response = client.get("/")
    assert response.status_code == 502
    assert "past its 0.1 s timeout" in response.headers["x-alb-emulator-error"]


def test_invocation_helpers_directly() -> None:
    assert front_door("GET", [], 10) is None
    page = alb_error(503, "no targets")
    assert (page.status, page.reason) == (503, "no targets")
    assert page.body.startswith(b"<html>")
    outcome = judge({"statusCode": 204}, multi_value_headers=True)
    assert (outcome.status, outcome.headers, outcome.body, outcome.reason) == (204, [], b"", None)
    assert judge({"statusCode": 200, "body": object()}, multi_value_headers=False).status == 502
    event = make_event("GET", "/", multi_value_headers=True)
    ok = invoke(HANDLER, event, multi_value_headers=True, timeout=5)
    assert ok.status == 200
    assert repr(ok) == "Outcome(200, reason=None)"


# --- header bytes: the event carries their UTF-8 text, the answer goes out as UTF-8 (rule 4) ---

NAME = "Zoë ☃"
ALB_502_PAGE = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)


class Recording:
    """A function that keeps the events it was given and answers 204: the event is all there is
    to see, whatever state the adapter's own WSGI/ASGI layers are in."""

    def __init__(self, answer: object = None) -> None:
        self.events: list[dict[str, object]] = []
        self.answer = {"statusCode": 204} if answer is None else answer

    def __call__(self, event: dict[str, object], context: object) -> object:
        self.events.append(event)
        return self.answer


def test_utf8_header_bytes_reach_the_event_as_the_text_they_spell(multi: bool) -> None:
    handler = Recording()
    with ALBClient(handler, multi_value_headers=multi) as client:
        response = client.get("/", headers={b"X-Name": NAME.encode()})
    assert (response.status_code, response.headers.raw, response.content) == (
        204,
        [(b"content-length", b"0")],
        b"",
    )
    event: dict[str, Any] = handler.events[0]
    expected = make_event(
        "GET",
        "/",
        headers=[
            ("host", "alb-adapter.test"),
            ("accept", "*/*"),
            ("accept-encoding", "gzip, deflate"),
            ("connection", "keep-alive"),
            ("user-agent", f"python-httpx/{httpx.__version__}"),
            ("x-name", NAME),
        ],
        host=None,
        multi_value_headers=multi,
    )
    field = "multiValueHeaders" if multi else "headers"
    expected[field]["x-amzn-trace-id"] = event[field]["x-amzn-trace-id"]
    assert event == expected
    assert event[field]["x-name"] == ([NAME] if multi else NAME)


def test_header_bytes_that_are_not_utf8_are_refused_as_alb_does(
    multi: bool, caplog: pytest.LogCaptureFixture
) -> None:
    handler = Recording()
    caplog.set_level(logging.DEBUG)
    with ALBClient(handler, multi_value_headers=multi) as client:
        response = client.get("/", headers={b"X-Name": b"Zo\xeb s3cr3t"})
    reason = b"LambdaBadRequest: request header 'x-name' is not UTF-8; ALB fails such a request"
    assert (response.status_code, response.headers.raw, response.content) == (
        502,
        [
            (b"server", b"awselb/2.0"),
            (b"content-type", b"text/html"),
            (b"content-length", str(len(ALB_502_PAGE)).encode()),
            (b"x-alb-emulator-error", reason),
        ],
        ALB_502_PAGE,
    )
    assert handler.events == []
    assert "s3cr3t" not in caplog.text


def test_a_functions_non_ascii_header_reaches_the_client_as_utf8(multi: bool) -> None:
    headers = {"multiValueHeaders": {"x-name": [NAME]}} if multi else {"headers": {"x-name": NAME}}
    answer = {"statusCode": 200, **headers, "body": "ok"}
    with ALBClient(Recording(answer), multi_value_headers=multi) as client:
        response = client.get("/")
    # The bytes the local ALB sends too (tests/emulator/test_app.py has the same test).
    assert (response.status_code, response.headers.raw, response.content) == (
        200,
        [(b"x-name", NAME.encode()), (b"content-length", b"2")],
        b"ok",
    )
    assert response.headers["x-name"] == NAME  # httpx reads the UTF-8 back


def test_a_functions_own_framing_headers_are_not_passed_on() -> None:
    # As the local ALB (tests/emulator/test_app.py): ALB frames the response itself (rule 10).
    answer = {
        "statusCode": 200,
        "headers": {"content-length": "10", "transfer-encoding": "chunked", "x-kept": "1"},
        "body": "ok",
    }
    with ALBClient(Recording(answer)) as client:
        response = client.get("/")
    assert (response.status_code, response.headers.raw, response.content) == (
        200,
        [(b"x-kept", b"1"), (b"content-length", b"2")],
        b"ok",
    )


# --- rule 15: a malformed Set-Cookie is still a secret ------------------------------------------


@pytest.mark.parametrize(("cookie", "single_reason", "multi_reason"), MALFORMED_COOKIES)
def test_a_malformed_set_cookie_never_reaches_the_logs_or_the_error_header(
    cookie: object,
    single_reason: str,
    multi_reason: str,
    multi: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    answer = {
        "statusCode": 200,
        ("multiValueHeaders" if multi else "headers"): {"set-cookie": cookie},
    }
    with ALBClient(Recording(answer), multi_value_headers=multi) as client:
        response = client.get("/")
    reason = f"LambdaInvalidResponse: {multi_reason if multi else single_reason}"
    assert (response.status_code, response.headers.raw, response.content) == (
        502,
        [
            (b"server", b"awselb/2.0"),
            (b"content-type", b"text/html"),
            (b"content-length", str(len(ALB_502_PAGE)).encode()),
            (b"x-alb-emulator-error", reason.encode()),
        ],
        ALB_502_PAGE,
    )
    above_debug = [
        record.getMessage() + (record.exc_text or "")
        for record in caplog.records
        if record.levelno > logging.DEBUG
    ]
    assert [line for line in above_debug if SECRET in line] == []
