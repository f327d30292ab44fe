"""The emulator's ASGI app in-process (httpx's ASGI transport): routing, the event it builds (the
same as make_event's), ALB's judgement of answers, proxying, front door, health, access log."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, MutableMapping
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from alb_adapter import WSGIHandler
from alb_adapter.emulator.app import ALBEmulator, LambdaTarget
from alb_adapter.emulator.health import TargetHealth
from alb_adapter.emulator.rules import HealthCheck, Target, parse_config
from alb_adapter.testing import make_event
from tests.support import MALFORMED_COOKIES, SECRET

Handler = Callable[[dict[str, Any], Any], Any]

CONFIG: dict[str, Any] = {
    "targets": {
        "fn": {"handler": "unused:handler"},
        "legacy": {"url": "http://legacy.internal:9000/base"},
    },
    "rules": [
        {
            "priority": 10,
            "conditions": [{"field": "path-pattern", "values": ["/account", "/account/*"]}],
            "actions": [{"type": "forward", "target_group": "fn"}],
        },
        {
            "priority": 20,
            "conditions": [{"field": "path-pattern", "values": ["/old/*"]}],
            "actions": [
                {"type": "redirect", "path": "/account/#{path}", "status_code": "HTTP_301"}
            ],
        },
        {
            "priority": 30,
            "conditions": [{"field": "http-request-method", "values": ["DELETE"]}],
            "actions": [
                {
                    "type": "fixed-response",
                    "status_code": "403",
                    "content_type": "application/json",
                    "message_body": '{"error": "read only"}',
                }
            ],
        },
    ],
    "default_action": {"type": "forward", "target_group": "legacy"},
}


def wsgi_echo(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = environ["wsgi.input"].read()
    start_response(
        "200 OK",
        [("Content-Type", "application/json"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")],
    )
    return [json.dumps({"path": environ["PATH_INFO"], "body": body.decode("latin-1")}).encode()]


async def legacy_page(request: Request) -> Response:
    response = JSONResponse(
        {
            "url": str(request.url),
            "xff": request.headers.get("x-forwarded-for"),
            "proto": request.headers.get("x-forwarded-proto"),
            "host": request.headers.get("host"),
            "body": (await request.body()).decode(),
        },
        status_code=418,
    )
    response.set_cookie("legacy1", "x")
    response.set_cookie("legacy2", "y")
    return response


LEGACY = Starlette(routes=[Route("/base/{path:path}", legacy_page, methods=["GET", "POST"])])


class Recording:
    """Wraps a Lambda handler, keeping the events it was given."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.events.append(event)
        return self.handler(event, context)


async def started(config: dict[str, Any], handler: Handler, **fn: Any) -> ALBEmulator:
    data = json.loads(json.dumps(config))
    data["targets"]["fn"].update(fn)
    emulator = ALBEmulator(parse_config(data, source="test"))
    emulator.lambdas["fn"] = LambdaTarget(emulator.config.targets["fn"], handler)
    await emulator.startup()
    assert emulator.http is not None
    await emulator.http.aclose()
    emulator.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=LEGACY))
    return emulator


async def client_for(emulator: ALBEmulator) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=emulator, client=("203.0.113.50", 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://shop.example.com")


@pytest.fixture
async def lambda_client(multi: bool) -> AsyncIterator[tuple[httpx.AsyncClient, Recording]]:
    handler = Recording(WSGIHandler(wsgi_echo))
    emulator = await started(CONFIG, handler, multi_value_headers=multi)
    async with await client_for(emulator) as client:
        yield client, handler
    await emulator.shutdown()


pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_the_event_is_make_events_event(
    lambda_client: tuple[httpx.AsyncClient, Recording], multi: bool
) -> None:
    client, handler = lambda_client
    response = await client.post(
        "/account/caf%C3%A9?q=a+b&q=%2B",
        content=b"\x00\xff",
        headers={"X-Forwarded-For": "6.6.6.6", "Cookie": "k=v"},
    )
    assert response.status_code == 200
    event = handler.events[0]
    expected = make_event(
        "POST",
        "/account/caf%C3%A9?q=a+b&q=%2B",
        body=b"\x00\xff",
        headers=[
            ("host", "shop.example.com"),
            ("accept", "*/*"),
            ("accept-encoding", "gzip, deflate"),
            ("connection", "keep-alive"),
            ("user-agent", f"python-httpx/{httpx.__version__}"),
            ("x-forwarded-for", "6.6.6.6"),
            ("cookie", "k=v"),
            ("content-length", "2"),
        ],
        host=None,
        client_ip="203.0.113.50",
        scheme="http",
        port=80,
        multi_value_headers=multi,
        trace_id="Root=1-00000000-000000000000000000000000",
    )
    field = "multiValueHeaders" if multi else "headers"
    trace = event[field]["x-amzn-trace-id"]
    expected[field]["x-amzn-trace-id"] = trace
    assert event == expected


async def test_responses_and_both_cookies_reach_the_client(
    lambda_client: tuple[httpx.AsyncClient, Recording],
) -> None:
    client, _ = lambda_client
    response = await client.get("/account")
    assert response.json() == {"path": "/account", "body": ""}
    assert response.headers.get_list("set-cookie") == ["a=1", "b=2"]


async def test_redirect_and_fixed_response_rules(
    lambda_client: tuple[httpx.AsyncClient, Recording],
) -> None:
    client, handler = lambda_client
    moved = await client.get("/old/profile?tab=2")
    assert (moved.status_code, moved.headers["location"]) == (
        301,
        "http://shop.example.com/account/old/profile?tab=2",
    )
    assert moved.headers["server"] == "awselb/2.0"
    refused = await client.delete("/catalog/1")  # rule 10 would win for /account/*
    assert (refused.status_code, refused.headers["content-type"], refused.json()) == (
        403,
        "application/json",
        {"error": "read only"},
    )
    assert handler.events == []


async def test_the_default_action_proxies_to_the_legacy_app(
    lambda_client: tuple[httpx.AsyncClient, Recording],
) -> None:
    client, handler = lambda_client
    response = await client.post(
        "/about?x=%2B", content=b"form=1", headers={"X-Forwarded-For": "10.1.1.1"}
    )
    assert response.status_code == 418
    assert response.json() == {
        "url": "http://shop.example.com/base/about?x=%2B",
        "xff": "10.1.1.1, 203.0.113.50",
        "proto": "http",
        "host": "shop.example.com",
        "body": "form=1",
    }
    assert response.headers.get_list("set-cookie") == [
        "legacy1=x; Path=/; SameSite=lax",
        "legacy2=y; Path=/; SameSite=lax",
    ]
    assert handler.events == []


@pytest.mark.parametrize(
    ("method", "headers", "size", "status"),
    [
        ("TRACE", {}, 0, 405),
        ("GET", {"Upgrade": "websocket", "Connection": "Upgrade"}, 0, 400),
        ("POST", {}, 1_000_001, 413),
    ],
)
async def test_front_door(
    lambda_client: tuple[httpx.AsyncClient, Recording],
    method: str,
    headers: dict[str, str],
    size: int,
    status: int,
) -> None:
    client, handler = lambda_client
    response = await client.request(method, "/account/x", headers=headers, content=b"x" * size)
    assert response.status_code == status
    assert handler.events == []


async def chunks(size: int) -> AsyncIterator[bytes]:
    """A body without Content-Length (chunked): its size is known only by reading it all."""
    for _ in range(size // 100_000):
        yield b"x" * 100_000


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        # The local ALB stops keeping a body past the limit; the size comes from Content-Length.
        (b"x" * 1_100_000, "the request body of 1,100,000 bytes is over ALB's limit of 1,000,000"),
        (chunks(1_100_000), "the request body is over ALB's limit of 1,000,000 bytes"),
    ],
)
async def test_a_413_reports_the_size_received_not_where_reading_stopped(
    body: Any, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    emulator = await started(CONFIG, lambda event, context: {"statusCode": 200})
    caplog.set_level(logging.INFO, logger="alb_adapter.emulator")
    async with await client_for(emulator) as client:
        response = await client.post("/account/x", content=body)
    await emulator.shutdown()
    assert response.status_code == 413
    access = [r.getMessage() for r in caplog.records if r.name == "alb_adapter.emulator.access"]
    assert len(access) == 1
    assert reason in access[0]
    assert "1000001" not in access[0]
    assert "1,000,001" not in access[0]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ({"statusCode": 200, "body": None}, "response.body is null"),
        ({"statusCode": 200, "headers": {"x": 1}}, "ALB accepts only strings"),
        ({"body": "no status"}, "statusCode must be an integer"),
    ],
)
async def test_answers_alb_rejects_are_502_with_the_reason_logged(
    answer: dict[str, Any], reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    emulator = await started(CONFIG, lambda event, context: answer)
    caplog.set_level(logging.INFO, logger="alb_adapter.emulator")
    async with await client_for(emulator) as client:
        response = await client.get("/account/x")
    await emulator.shutdown()
    assert response.status_code == 502
    assert "<h1>502 Bad Gateway</h1>" in response.text
    assert reason in caplog.text
    access = [r.getMessage() for r in caplog.records if r.name == "alb_adapter.emulator.access"]
    assert len(access) == 1
    assert access[0].startswith('203.0.113.50 "GET /account/x" 502 ')
    assert "target=fn" in access[0]


async def test_a_slow_function_is_502_at_its_timeout() -> None:
    def slow(event: Any, context: Any) -> Any:
        time.sleep(1.3)
        return {"statusCode": 200}

    emulator = await started(CONFIG, slow, timeout=1)
    async with await client_for(emulator) as client:
        began = time.monotonic()
        response = await client.get("/account/x")
    await emulator.shutdown()
    assert response.status_code == 502
    assert time.monotonic() - began < 2.5


async def test_invocations_of_one_target_never_overlap() -> None:
    running: list[int] = []
    peak: list[int] = []

    def handler(event: Any, context: Any) -> Any:
        running.append(1)
        peak.append(len(running))
        time.sleep(0.02)
        running.pop()
        return {"statusCode": 204}

    emulator = await started(CONFIG, handler)
    async with await client_for(emulator) as client:
        answers = await asyncio.gather(*(client.get("/account/x") for _ in range(5)))
    await emulator.shutdown()
    assert [answer.status_code for answer in answers] == [204] * 5
    assert max(peak) == 1  # one execution environment: one invocation at a time


async def test_the_access_log_names_target_status_and_size(
    lambda_client: tuple[httpx.AsyncClient, Recording], caplog: pytest.LogCaptureFixture
) -> None:
    client, _ = lambda_client
    caplog.set_level(logging.INFO, logger="alb_adapter.emulator.access")
    await client.get("/account/a?b=1")
    await client.get("/robots.txt")
    lines = [r.getMessage() for r in caplog.records if r.name == "alb_adapter.emulator.access"]
    assert [line.split(" ms")[0].rsplit(" ", 1)[0] for line in lines] == [
        '203.0.113.50 "GET /account/a?b=1" 200 34 target=fn',
        '203.0.113.50 "GET /robots.txt" 418 ' + lines[1].split(" ")[4] + " target=legacy",
    ]


def test_health_state_changes_follow_the_thresholds(caplog: pytest.LogCaptureFixture) -> None:
    target = Target(
        "fn",
        handler="x:y",
        health_check=HealthCheck(enabled=True, healthy_threshold=3, unhealthy_threshold=2),
    )
    health = TargetHealth(target)
    caplog.set_level(logging.INFO, logger="alb_adapter.emulator.health")
    changes = [health.record(status) for status in (200, 200, 200, 500, 200, 500, 500, None)]
    assert changes == [None, None, "healthy", None, None, None, "unhealthy", None]
    assert "target fn: initial -> healthy: 3 checks passed" in caplog.text
    assert "target fn: healthy -> unhealthy: status 500 (2 failed in a row)" in caplog.text
    first_failure = TargetHealth(target)
    assert first_failure.record(None, "timed out") == "unhealthy"


async def test_health_checks_run_on_schedule_and_reach_the_handler(
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler = Recording(lambda event, context: {"statusCode": 200})
    emulator = await started(CONFIG, handler)
    target = Target(
        "fn",
        handler="x:y",
        health_check=HealthCheck(enabled=True, path="/health", interval=0.01, healthy_threshold=2),
    )
    caplog.set_level(logging.INFO, logger="alb_adapter.emulator.health")
    emulator.health.start(target, emulator._health_probe(target))
    for _ in range(200):
        if "initial -> healthy" in caplog.text:
            break
        await asyncio.sleep(0.01)
    await emulator.shutdown()
    assert "target fn: initial -> healthy" in caplog.text
    check = handler.events[0]
    assert (check["path"], check["headers"]) == ("/health", {"user-agent": "ELB-HealthChecker/2.0"})


async def test_a_target_that_fails_to_load_fails_startup() -> None:
    emulator = ALBEmulator(parse_config(json.loads(json.dumps(CONFIG)), source="test"))
    messages: list[MutableMapping[str, Any]] = []
    inbox: list[MutableMapping[str, Any]] = [{"type": "lifespan.startup"}]

    async def receive() -> MutableMapping[str, Any]:
        return inbox.pop(0)

    async def send(message: MutableMapping[str, Any]) -> None:
        messages.append(message)

    await emulator({"type": "lifespan"}, receive, send)
    assert messages == [
        {"type": "lifespan.startup.failed", "message": "unused:handler: no module named 'unused'"}
    ]


async def test_a_functions_own_framing_headers_are_not_passed_on() -> None:
    answer = {
        "statusCode": 200,
        "headers": {"content-length": "10", "transfer-encoding": "chunked", "x-kept": "1"},
        "body": "ok",
    }
    emulator = await started(CONFIG, lambda event, context: answer)
    async with await client_for(emulator) as client:
        response = await client.get("/account/x")
    await emulator.shutdown()
    assert (response.status_code, response.content, response.headers["x-kept"]) == (200, b"ok", "1")
    assert response.headers["content-length"] == "2"
    assert "transfer-encoding" not in response.headers


async def test_shutdown_runs_an_asgi_targets_lifespan_shutdown() -> None:
    from alb_adapter import ASGIHandler

    events: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                events.append(message["type"])
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return

    handler = await asyncio.to_thread(ASGIHandler, app)  # it runs its own loop: not on this one
    emulator = await started(CONFIG, handler)
    await emulator.shutdown()  # on this (running) loop, as under uvicorn
    assert events == ["lifespan.startup", "lifespan.shutdown"]


# --- header bytes: UTF-8 for a Lambda event, untouched for a proxied target (rule 4) -----------

NAME = "Zoë ☃"


@pytest.fixture
async def recording_client(multi: bool) -> AsyncIterator[tuple[httpx.AsyncClient, Recording]]:
    """The local ALB in front of a function that only records its events: the event is then all
    there is to see, whatever state the adapter's own WSGI/ASGI layers are in."""
    handler = Recording(lambda event, context: {"statusCode": 204})
    emulator = await started(CONFIG, handler, multi_value_headers=multi)
    async with await client_for(emulator) as client:
        yield client, handler
    await emulator.shutdown()


def without_date(response: httpx.Response) -> list[tuple[bytes, bytes]]:
    """The response's header bytes, but for the Date (the only one that changes every second)."""
    return [(name, value) for name, value in response.headers.raw if name != b"date"]


async def test_utf8_header_bytes_reach_the_event_as_the_text_they_spell(
    recording_client: tuple[httpx.AsyncClient, Recording], multi: bool
) -> None:
    client, handler = recording_client
    response = await client.get("/account/x", headers={b"X-Name": NAME.encode()})
    assert (response.status_code, without_date(response)) == (204, [(b"content-length", b"0")])
    event = handler.events[0]
    expected = make_event(
        "GET",
        "/account/x",
        headers=[
            ("host", "shop.example.com"),
            ("accept", "*/*"),
            ("accept-encoding", "gzip, deflate"),
            ("connection", "keep-alive"),
            ("user-agent", f"python-httpx/{httpx.__version__}"),
            ("x-name", NAME),
        ],
        host=None,
        client_ip="203.0.113.50",
        scheme="http",
        port=80,
        multi_value_headers=multi,
    )
    field = "multiValueHeaders" if multi else "headers"
    expected[field]["x-amzn-trace-id"] = event[field]["x-amzn-trace-id"]
    assert event == expected
    assert event[field]["x-name"] == ([NAME] if multi else NAME)


async def test_header_bytes_that_are_not_utf8_are_refused_for_a_lambda_target(
    recording_client: tuple[httpx.AsyncClient, Recording], caplog: pytest.LogCaptureFixture
) -> None:
    client, handler = recording_client
    caplog.set_level(logging.INFO, logger="alb_adapter.emulator")
    response = await client.get("/account/x", headers={b"X-Name": b"Zo\xeb s3cr3t"})
    page = (
        b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
        b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
    )
    assert (response.status_code, without_date(response), response.content) == (
        502,
        [
            (b"server", b"awselb/2.0"),
            (b"content-type", b"text/html"),
            (b"content-length", str(len(page)).encode()),
        ],
        page,
    )
    assert handler.events == []
    reason = "LambdaBadRequest: request header 'x-name' is not UTF-8; ALB fails such a request"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"GET /account/x: ALB answered 502: {reason}"]
    assert "s3cr3t" not in caplog.text  # the reason names the header, never its value


async def test_a_proxied_target_gets_the_header_bytes_the_client_sent() -> None:
    seen: list[list[tuple[bytes, bytes]]] = []

    async def legacy(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        seen.append(list(scope["headers"]))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    emulator = await started(CONFIG, Recording(lambda event, context: {"statusCode": 500}))
    assert emulator.http is not None
    await emulator.http.aclose()
    emulator.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=legacy))
    async with await client_for(emulator) as client:
        response = await client.get(
            "/about", headers={b"X-Name": NAME.encode(), b"X-Latin-1": b"Zo\xeb"}
        )
    await emulator.shutdown()
    assert response.status_code == 204
    agent = f"python-httpx/{httpx.__version__}".encode()
    assert seen == [
        [
            (b"connection", b"keep-alive"),  # the proxy's own connection, not the client's
            (b"host", b"shop.example.com"),
            (b"accept", b"*/*"),
            (b"accept-encoding", b"gzip, deflate"),
            (b"user-agent", agent),
            (b"x-name", NAME.encode()),
            (b"x-latin-1", b"Zo\xeb"),
            (b"x-forwarded-for", b"203.0.113.50"),
            (b"x-forwarded-proto", b"http"),
            (b"x-forwarded-port", b"80"),
        ]
    ]


async def test_a_functions_non_ascii_header_reaches_the_client_as_utf8(multi: bool) -> None:
    headers = {"multiValueHeaders": {"x-name": [NAME]}} if multi else {"headers": {"x-name": NAME}}
    answer = {"statusCode": 200, **headers, "body": "ok"}
    emulator = await started(CONFIG, lambda event, context: answer, multi_value_headers=multi)
    async with await client_for(emulator) as client:
        response = await client.get("/account/x")
    await emulator.shutdown()
    assert (response.status_code, without_date(response), response.content) == (
        200,
        [(b"x-name", NAME.encode()), (b"content-length", b"2")],
        b"ok",
    )


# --- rule 15: a malformed Set-Cookie is still a secret ------------------------------------------


def malformed_cookie_answer(cookie: object, *, multi: bool) -> dict[str, object]:
    """The function's answer, the cookie in the header field ALB reads in this mode."""
    return {
        "statusCode": 200,
        ("multiValueHeaders" if multi else "headers"): {"set-cookie": cookie},
    }


def leaks(records: list[logging.LogRecord]) -> list[str]:
    """Log lines above DEBUG that hold the secret (message or traceback)."""
    return [
        record.getMessage()
        for record in records
        if record.levelno > logging.DEBUG
        and SECRET in record.getMessage() + (record.exc_text or "")
    ]


@pytest.mark.parametrize(("cookie", "single_reason", "multi_reason"), MALFORMED_COOKIES)
async def test_a_malformed_set_cookie_never_reaches_the_logs(
    cookie: object,
    single_reason: str,
    multi_reason: str,
    multi: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    answer = malformed_cookie_answer(cookie, multi=multi)
    emulator = await started(CONFIG, lambda event, context: answer, multi_value_headers=multi)
    async with await client_for(emulator) as client:
        response = await client.get("/account/x")
    await emulator.shutdown()
    reason = f"LambdaInvalidResponse: {multi_reason if multi else single_reason}"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"GET /account/x: ALB answered 502: {reason}"]
    assert response.status_code == 502
    assert "x-alb-emulator-error" not in response.headers  # the served ALB only logs the reason
    assert SECRET.encode() not in b"".join(b"".join(pair) for pair in response.headers.raw)
    assert SECRET.encode() not in response.content
    assert leaks(caplog.records) == []
