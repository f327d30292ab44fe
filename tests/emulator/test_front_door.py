"""The local ALB's front door over real HTTP (uvicorn on 127.0.0.1, in a thread, bounded in time):
what ALB answers itself (docs/alb-behaviour.md, "What ALB itself answers" and "Limits"), header
bytes as ALB decodes them, the event's headers, absolute-form targets, the header-read timeout,
and WebSocket upgrades per target kind. Raw sockets send what httpx would not (invalid bytes,
absolute-form targets, heads that never end)."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator, MutableMapping
from typing import Any

import httpx
import pytest
import uvicorn

from alb_adapter.emulator.invocation import alb_error
from alb_adapter.emulator.rules import parse_config
from alb_adapter.emulator.server import build_server, running

TIMEOUT = 10.0  # bounds every socket read and HTTP call: a hang fails, it never blocks the suite
HEADER_TIMEOUT = 0.5
NAME = "Zoë"
EVENTS: list[dict[str, Any]] = []


def echo_event(event: dict[str, Any], context: object) -> dict[str, Any]:
    """The Lambda target: keeps the event and sends it back as its JSON body."""
    EVENTS.append(event)
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(event),
    }


async def legacy(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
    """The HTTP target: answers what it received (header bytes as latin-1, the body's size)."""
    if scope["type"] != "http":
        return
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    seen = {
        "method": scope["method"],
        "path": scope["raw_path"].decode("latin-1"),
        "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]],
        "body_size": size,
    }
    body = json.dumps(seen).encode()
    headers = [(b"content-type", b"application/json"), (b"x-served-by", b"legacy")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def legacy_url() -> Iterator[str]:
    config = uvicorn.Config(legacy, lifespan="off", log_config=None, log_level="warning")
    with running(uvicorn.Server(config)) as url:
        yield url


@pytest.fixture(scope="module")
def alb(legacy_url: str) -> Iterator[str]:
    config = parse_config(
        {
            "targets": {
                "fn": {"handler": f"{__name__}:echo_event"},
                "legacy": {"url": legacy_url},
            },
            "rules": [
                {
                    "priority": 10,
                    "conditions": [{"field": "path-pattern", "values": ["/account/*"]}],
                    "actions": [{"type": "forward", "target_group": "fn"}],
                }
            ],
            "default_action": {"type": "forward", "target_group": "legacy"},
        },
        source="test",
    )
    server = build_server(config, log_level="warning", header_timeout=HEADER_TIMEOUT)
    with running(server) as url:
        yield url


@pytest.fixture
def client(alb: str) -> Iterator[httpx.Client]:
    EVENTS.clear()
    with httpx.Client(base_url=alb, timeout=TIMEOUT, trust_env=False) as client:
        yield client


def address(url: str) -> tuple[str, int]:
    host, port = httpx.URL(url).host, httpx.URL(url).port
    assert port is not None
    return host, port


def exchange(url: str, raw: bytes) -> bytes:
    """Send ``raw`` on a new connection and read until the server closes it."""
    with socket.create_connection(address(url), timeout=TIMEOUT) as sock:
        sock.sendall(raw)
        return read_to_end(sock)


def read_to_end(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def albs_page(status: int) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """ALB's own answer as a client sees it: status, headers (without Date), body."""
    page = alb_error(status, "").body
    headers = [
        (b"server", b"awselb/2.0"),
        (b"content-type", b"text/html"),
        (b"content-length", str(len(page)).encode()),
    ]
    return status, headers, page


def seen(response: httpx.Response) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    without_date = [(k, v) for k, v in response.headers.raw if k.lower() != b"date"]
    return response.status_code, without_date, response.content


def raw_answer(raw: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """A raw HTTP/1.1 answer as (status, headers without Date and Connection, body)."""
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.split(b"\r\n")
    headers = [line.partition(b": ")[::2] for line in lines]
    kept = [(k, v) for k, v in headers if k.lower() not in (b"date", b"connection")]
    return int(status_line.split(b" ")[1]), kept, body


def messages(caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    """The messages of ``logger`` itself (the server threads log on others too)."""
    return [record.getMessage() for record in caplog.records if record.name == logger]


def event_headers(event: dict[str, Any]) -> dict[str, str]:
    """The event's headers without the trace id (new for each request)."""
    headers = dict(event["headers"])
    assert headers.pop("x-amzn-trace-id").startswith("Root=1-")
    return headers


# --------------------------------------------------------------------------- header bytes


def test_utf8_header_bytes_reach_the_event_as_the_text_they_spell(client: httpx.Client) -> None:
    response = client.get("/account/x", headers={b"X-Name": NAME.encode()})
    assert response.status_code == 200
    assert event_headers(response.json()) == {
        "host": address(str(client.base_url))[0] + f":{address(str(client.base_url))[1]}",
        "accept": "*/*",
        "accept-encoding": "gzip, deflate",
        "connection": "keep-alive",
        "user-agent": f"python-httpx/{httpx.__version__}",
        "x-name": NAME,
        "x-forwarded-for": "127.0.0.1",
        "x-forwarded-proto": "http",
        "x-forwarded-port": str(address(str(client.base_url))[1]),
    }


def test_header_bytes_that_are_not_utf8_are_refused_for_a_lambda_target(
    client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="alb_adapter.emulator")
    response = client.get("/account/x", headers={b"X-Name": b"Zo\xeb s3cr3t"})
    assert seen(response) == albs_page(502)
    assert EVENTS == []
    reason = "LambdaBadRequest: request header 'x-name' is not UTF-8; ALB fails such a request"
    assert messages(caplog, "alb_adapter.emulator") == [
        f"GET /account/x: ALB answered 502: {reason}"
    ]
    assert "s3cr3t" not in caplog.text


def test_a_proxied_target_gets_the_header_bytes_as_sent(client: httpx.Client) -> None:
    response = client.get("/about", headers={b"X-Latin-1": b"Zo\xeb"})
    assert response.status_code == 200
    assert ["x-latin-1", "Zo\xeb"] in response.json()["headers"]


# --------------------------------------------------------------------------- size limits


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        # One header line `name: value` of exactly 16 KB passes; one byte more is ALB's 400.
        ({"x-big": "v" * (16 * 1024 - len("x-big: "))}, 200),
        ({"x-big": "v" * (16 * 1024 - len("x-big: ") + 1)}, 400),
        # Five headers of 15,000 bytes: each within its limit, together over 64 KB.
        ({f"x-part-{i}": "v" * 15_000 for i in range(5)}, 400),
    ],
    ids=["header-at-limit", "header-over-limit", "block-over-limit"],
)
def test_request_headers_over_albs_limits_are_a_400(
    client: httpx.Client, headers: dict[str, str], status: int
) -> None:
    response = client.get("/account/x", headers=headers)
    if status == 200:
        assert response.status_code == 200
        assert event_headers(response.json())["x-big"] == headers["x-big"]
    else:
        assert seen(response) == albs_page(400)
        assert EVENTS == []


def test_a_request_line_over_16_kb_is_a_400(client: httpx.Client) -> None:
    line_without_path = len("GET ") + len(" HTTP/1.1")
    at_limit = "/account/" + "a" * (16 * 1024 - line_without_path - len("/account/"))
    assert client.get(at_limit).status_code == 200
    assert seen(client.get(at_limit + "a")) == albs_page(400)
    assert len(EVENTS) == 1


def test_a_head_h11_cannot_hold_gets_albs_400_not_uvicorns(alb: str) -> None:
    # 90 KB of headers that never end: past what any request ALB accepts can be.
    never_ending = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"v" * 90_000
    assert raw_answer(exchange(alb, never_ending)) == albs_page(400)


def test_a_malformed_request_gets_albs_400(alb: str) -> None:
    assert raw_answer(exchange(alb, b"NOT HTTP AT ALL\r\n\r\n")) == albs_page(400)


def test_more_than_30_forwarded_addresses_is_a_463(client: httpx.Client) -> None:
    thirty = ", ".join(f"10.0.0.{i}" for i in range(30))
    response = client.get("/account/x", headers={"X-Forwarded-For": thirty})
    assert response.status_code == 200
    assert event_headers(response.json())["x-forwarded-for"] == f"{thirty}, 127.0.0.1"
    # The 31st may come in another X-Forwarded-For line: ALB counts addresses, not lines.
    headers = [("X-Forwarded-For", thirty), ("X-Forwarded-For", "10.0.1.1")]
    assert seen(client.get("/account/x", headers=headers)) == albs_page(463)
    assert seen(client.get("/about", headers=headers)) == albs_page(463)  # whatever the target
    assert len(EVENTS) == 1


def test_a_body_over_1_mb_is_refused_before_the_rules(client: httpx.Client) -> None:
    # On AWS a limit of Lambda targets only (docs/alb-behaviour.md, "Known differences").
    body = b"x" * 1_100_000
    assert seen(client.post("/account/x", content=body)) == albs_page(413)
    assert seen(client.post("/about", content=body)) == albs_page(413)
    assert EVENTS == []


# --------------------------------------------------------------------------- the event


def test_hop_by_hop_headers_stay_out_of_the_event(client: httpx.Client) -> None:
    def chunked() -> Iterator[bytes]:
        yield b'{"a": '
        yield b"1}"

    response = client.post(
        "/account/x",
        content=chunked(),
        headers={"Content-Type": "application/json", "TE": "trailers", "Keep-Alive": "timeout=5"},
    )
    assert response.status_code == 200
    event = response.json()
    base = str(client.base_url)
    assert event_headers(event) == {
        "host": f"{address(base)[0]}:{address(base)[1]}",
        "accept": "*/*",
        "accept-encoding": "gzip, deflate",
        "connection": "keep-alive",  # as in AWS's own example event
        "user-agent": f"python-httpx/{httpx.__version__}",
        "content-type": "application/json",
        "content-length": "8",  # the chunked body arrives whole, with its length
        "x-forwarded-for": "127.0.0.1",
        "x-forwarded-proto": "http",
        "x-forwarded-port": str(address(base)[1]),
    }
    assert (event["body"], event["isBase64Encoded"]) == ('{"a": 1}', False)


def test_an_absolute_form_target_is_the_path_it_names(alb: str) -> None:
    raw = (
        b"GET http://shop.example.com/account/x?q=1 HTTP/1.1\r\n"
        b"Host: elsewhere.example.com\r\nConnection: close\r\n\r\n"
    )
    status, _, body = raw_answer(exchange(alb, raw))
    assert status == 200
    event = json.loads(body)
    assert (event["path"], event["queryStringParameters"]) == ("/account/x", {"q": "1"})
    assert event["headers"]["host"] == "shop.example.com"  # RFC 9112 §3.2.2


# --------------------------------------------------------------------------- slow clients


@pytest.mark.parametrize(
    "sent",
    [b"", b"GET /account/x HTTP/1.1\r\nHost: x\r\n"],
    ids=["nothing", "half-a-head"],
)
def test_a_request_head_that_never_completes_is_a_408(
    alb: str, sent: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="alb_adapter.emulator.access")
    with socket.create_connection(address(alb), timeout=TIMEOUT) as sock:
        sock.sendall(sent)
        answer = read_to_end(sock)  # the server closes the connection: no hang
    assert raw_answer(answer) == albs_page(408)
    reason = f"no complete request head within {HEADER_TIMEOUT:g} s (idle timeout)"
    assert messages(caplog, "alb_adapter.emulator.access") == [
        f"127.0.0.1 \"-\" 408 {len(albs_page(408)[2])} target=- reason='{reason}'"
    ]


def test_a_slow_head_arriving_in_time_is_served(alb: str) -> None:
    with socket.create_connection(address(alb), timeout=TIMEOUT) as sock:
        for part in (b"GET /account/x HTTP/1.1\r\n", b"Host: x\r\n", b"Connection: close\r\n\r\n"):
            sock.sendall(part)
        status, _, _ = raw_answer(read_to_end(sock))
    assert status == 200


# --------------------------------------------------------------------------- WebSocket


WEBSOCKET = {
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
}


def test_a_websocket_upgrade_to_a_lambda_target_is_a_400(client: httpx.Client) -> None:
    assert seen(client.get("/account/x", headers=WEBSOCKET)) == albs_page(400)
    assert EVENTS == []


def test_a_websocket_upgrade_to_an_http_target_reaches_it(
    client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="alb_adapter.emulator")
    response = client.get("/chat", headers=WEBSOCKET)
    assert (response.status_code, response.headers["x-served-by"]) == (200, "legacy")
    names = [name for name, _ in response.json()["headers"]]
    assert "sec-websocket-key" in names
    assert "upgrade" not in names
    assert messages(caplog, "alb_adapter.emulator") == [
        "GET /chat: a WebSocket upgrade for target legacy is forwarded without its Upgrade "
        "header: the local ALB does not tunnel WebSockets (ALB does)"
    ]


def test_connections_are_answered_without_nagles_delay() -> None:
    """The head and the body of an answer are two writes; with Nagle's algorithm on, a kept-alive
    connection's second request waited 40 ms for the client's delayed ACK (server.py,
    ALBHttpProtocol.connection_made). Every connection the local ALB accepts has it off."""
    config = parse_config(
        {
            "targets": {"fn": {"handler": f"{__name__}:echo_event"}},
            "default_action": {"type": "forward", "target_group": "fn"},
        },
        source="test",
    )
    server = build_server(config, log_level="warning")
    with running(server) as url, httpx.Client(base_url=url, trust_env=False) as client:
        assert [client.get("/a").status_code, client.get("/b").status_code] == [200, 200]
        options = {
            protocol.transport.get_extra_info("socket").getsockopt(
                socket.IPPROTO_TCP, socket.TCP_NODELAY
            )
            for protocol in server.server_state.connections
        }
    assert options == {1}
