"""ALB's own side: the events a load balancer builds and how it judges a function's answer.

Never run inside Lambda: the local ALB (``alb_adapter.emulator``) and the test helpers
(``alb_adapter.testing``) use it to produce exactly what a real ALB produces and to reject what a
real ALB rejects. The behaviour is stated, with its evidence, in docs/alb-behaviour.md ("The event
ALB builds", "What ALB itself answers").
"""

from __future__ import annotations

import os
import time

from ...errors import InvalidEvent, InvalidResponse
from ...log import logger
from ...model import Response, is_valid_status
from ..rendering import header_line_size, json_size
from ..service_side import decode_response_body, describe_status, is_request_text_type
from .response import ALB_MAX_HEADER_BYTES, ALB_MAX_JSON_BYTES

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from ...model import Headers

HEALTH_CHECK_USER_AGENT = "ELB-HealthChecker/2.0"
# What the test helpers and the CLI put in an event when the caller names no client or host.
EXAMPLE_CLIENT_IP = "198.51.100.7"  # TEST-NET-2: never a real client
EXAMPLE_HOST = "example.com"


def new_trace_id(now: float | None = None) -> str:
    """An X-Amzn-Trace-Id root as ALB makes it: ``Root=1-<8 hex epoch seconds>-<24 hex>``."""
    seconds = int(time.time() if now is None else now)
    return f"Root=1-{seconds:08x}-{os.urandom(12).hex()}"


def build_event(
    method: str,
    raw_path: str,
    query_string: str = "",
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    *,
    multi_value_headers: bool = False,
    target_group_arn: str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/"
    "alb-adapter/0123456789abcdef",
) -> dict[str, Any]:
    """The event ALB sends for an HTTP request, as ALB builds it.

    ``raw_path`` and ``query_string`` are taken as they came on the wire (never decoded).
    Header names are lowercased; in single-value mode the last of a repeated header or query key
    wins, in multi-value mode all are kept in order. The body is base64 when there is a
    Content-Encoding or the type is not text/*, JSON, JavaScript or XML (ALB's own rule). The
    headers ALB adds (X-Forwarded-*, trace id) are the caller's: see ``forwarded_headers``.
    """
    pairs = [(name.lower(), value) for name, value in headers]
    query = [_split_query_item(item) for item in query_string.split("&") if item]
    encoded = bool(body) and _alb_sends_base64(pairs)
    if encoded:
        import binascii

        text = binascii.b2a_base64(body, newline=False).decode("ascii")
    else:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidEvent(
                "body",
                "is not UTF-8 but its content type travels as text; ALB fails such a request "
                "(LambdaBadRequest)",
            ) from None
    event: dict[str, Any] = {
        "requestContext": {"elb": {"targetGroupArn": target_group_arn}},
        "httpMethod": method,
        "path": raw_path or "/",
    }
    if multi_value_headers:
        multi_query: dict[str, list[str]] = {}
        for key, value in query:
            multi_query.setdefault(key, []).append(value)
        multi_headers: dict[str, list[str]] = {}
        for name, value in pairs:
            multi_headers.setdefault(name, []).append(value)
        event["multiValueQueryStringParameters"] = multi_query
        event["multiValueHeaders"] = multi_headers
    else:
        event["queryStringParameters"] = dict(query)
        event["headers"] = dict(pairs)
    event["body"] = text
    event["isBase64Encoded"] = encoded
    return event


def request_event(
    method: str,
    raw_path: str,
    query_string: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    *,
    client_ip: str,
    scheme: str,
    port: int,
    multi_value_headers: bool,
    trace_id: str | None = None,
) -> dict[str, Any]:
    """The event ALB sends for an HTTP request whose headers are ``headers`` as they arrived:
    the forwarded headers added (``forwarded_headers``), then the event built (``build_event``)."""
    forwarded = forwarded_headers(
        headers,
        client_ip=client_ip,
        scheme=scheme,
        port=port,
        trace_id=trace_id or new_trace_id(),
    )
    return build_event(
        method, raw_path, query_string, forwarded, body, multi_value_headers=multi_value_headers
    )


def client_request_event(
    method: str,
    target: str,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    *,
    host: str | None = EXAMPLE_HOST,
    client_ip: str = EXAMPLE_CLIENT_IP,
    scheme: str = "https",
    port: int | None = None,
    multi_value_headers: bool = False,
    trace_id: str | None = None,
) -> dict[str, Any]:
    """The event ALB sends when an HTTP client requests ``target`` (the raw path, which may carry
    the raw query): the headers a client adds itself, Host (unless ``host`` is None or a Host
    header is given) and Content-Length for a body, then ``request_event``."""
    pairs = [(str(name), str(value)) for name, value in headers]
    names = {name.lower() for name, _ in pairs}
    if host is not None and "host" not in names:
        pairs.insert(0, ("host", host))
    if body and "content-length" not in names:
        pairs.append(("content-length", str(len(body))))
    raw_path, _, raw_query = target.partition("?")
    return request_event(
        method,
        raw_path or "/",
        raw_query,
        pairs,
        body,
        client_ip=client_ip,
        scheme=scheme,
        port=port if port is not None else (443 if scheme == "https" else 80),
        multi_value_headers=multi_value_headers,
        trace_id=trace_id,
    )


def build_health_check_event(
    path: str = "/", *, multi_value_headers: bool = False
) -> dict[str, Any]:
    """ALB's health check: GET with only ``user-agent: ELB-HealthChecker/2.0`` (no Host, no
    X-Forwarded-*), in the target group's header mode."""
    raw_path, _, raw_query = path.partition("?")
    return build_event(
        "GET",
        raw_path or "/",
        raw_query,
        [("user-agent", HEALTH_CHECK_USER_AGENT)],
        b"",
        multi_value_headers=multi_value_headers,
    )


def _split_query_item(item: str) -> tuple[str, str]:
    key, _, value = item.partition("=")
    return key, value


def _alb_sends_base64(lowercase_headers: list[tuple[str, str]]) -> bool:
    content_type = ""
    for name, value in lowercase_headers:
        if name == "content-encoding":
            return True
        if name == "content-type":
            content_type = value
    return not is_request_text_type(content_type.partition(";")[0].strip().lower())


def forwarded_headers(
    headers: Iterable[tuple[str, str]],
    *,
    client_ip: str,
    scheme: str,
    port: int,
    trace_id: str,
) -> list[tuple[str, str]]:
    """The request headers as ALB forwards them: X-Forwarded-For appended to, X-Forwarded-Proto
    and -Port set, a trace id added (or ``Self=`` prepended to the client's own)."""
    out: list[tuple[str, str]] = []
    xff: list[str] = []
    client_trace = None
    for name, value in headers:
        lower = name.lower()
        if lower == "x-forwarded-for":
            xff.append(value)
        elif lower == "x-amzn-trace-id":
            client_trace = value
        elif lower == "host":
            out.append((lower, value.lower()))  # ALB lowercases the host name it forwards
        elif lower not in ("x-forwarded-proto", "x-forwarded-port"):
            out.append((lower, value))
    xff.append(client_ip)
    out.append(("x-forwarded-for", ", ".join(xff)))
    out.append(("x-forwarded-proto", scheme))
    out.append(("x-forwarded-port", str(port)))
    if client_trace and "Root=" in client_trace:
        trace = f"Self={trace_id.removeprefix('Root=')};{client_trace}"
    elif client_trace:
        trace = f"{trace_id};{client_trace}"
    else:
        trace = trace_id
    out.append(("x-amzn-trace-id", trace))
    return out


def parse_response(
    payload: object,
    *,
    multi_value_headers: bool = False,
    max_bytes: int = ALB_MAX_JSON_BYTES,
) -> Response:
    """Read a Lambda answer the way ALB does, raising InvalidResponse wherever ALB answers 502.

    Headers sent in the field ALB ignores for this mode are dropped, with a warning, as ALB drops
    them silently. Case-variant Set-Cookie keys each become a Set-Cookie header.

    The InvalidResponse messages name fields, header names and types, never a value: the local
    ALB logs them at WARNING and a malformed Set-Cookie or body is as secret as a well-formed one
    (docs/alb-behaviour.md, rule 15).
    """
    if not isinstance(payload, dict):
        raise InvalidResponse(f"the response must be a JSON object, got {type(payload).__name__}")
    _reject_nulls(payload)
    size = json_size(payload)
    if size > max_bytes:
        raise InvalidResponse(
            f"the response JSON is {size} bytes, over ALB's limit of {max_bytes} "
            "(LambdaResponseTooLarge)"
        )
    status = payload.get("statusCode")
    if not is_valid_status(status):
        raise InvalidResponse(
            f"statusCode must be an integer from 100 to 599, got {describe_status(status)}"
        )
    assert isinstance(status, int)
    description = payload.get("statusDescription")
    reason = None
    if description is not None:
        if not isinstance(description, str):
            raise InvalidResponse(
                f"statusDescription must be a string, got {type(description).__name__}"
            )
        reason = description.partition(" ")[2] or None

    wanted, ignored = (
        ("multiValueHeaders", "headers")
        if multi_value_headers
        else ("headers", "multiValueHeaders")
    )
    if ignored in payload:
        logger().warning(
            "the response has %s, which ALB ignores when multi-value headers are %s: "
            "those headers are dropped",
            ignored,
            "enabled" if multi_value_headers else "disabled",
        )
    headers = _response_headers(payload.get(wanted, {}), wanted)
    header_bytes = sum(header_line_size(name, value) for name, value in headers)
    if header_bytes > ALB_MAX_HEADER_BYTES:
        raise InvalidResponse(
            f"the response headers are {header_bytes} bytes, over ALB's limit of "
            f"{ALB_MAX_HEADER_BYTES}"
        )

    encoded = payload.get("isBase64Encoded", False)
    if not isinstance(encoded, bool):
        raise InvalidResponse(
            f"isBase64Encoded must be true or false, got {type(encoded).__name__}"
        )
    body_text = payload.get("body", "")
    if not isinstance(body_text, str):
        raise InvalidResponse(f"body must be a string, got {type(body_text).__name__}")
    return Response(status, headers, decode_response_body(body_text, encoded), reason)


def _reject_nulls(payload: dict[str, object]) -> None:
    """Find a null anywhere in the answer. The path names the answer's fields and the header
    names of its header fields; keys deeper down belong to a value, which may be a secret, and show
    as ``<key>`` (rule 15)."""
    for field, value in payload.items():
        where = f"response.{field}"
        if field in ("headers", "multiValueHeaders") and isinstance(value, dict):
            for name, item in value.items():
                _reject_null_in_value(item, f"{where}.{name}")
        else:
            _reject_null_in_value(value, where)


def _reject_null_in_value(value: object, where: str) -> None:
    if value is None:
        raise InvalidResponse(f"{where} is null (ALB answers 502 to a null anywhere)")
    if isinstance(value, dict):
        for item in value.values():
            _reject_null_in_value(item, f"{where}.<key>")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _reject_null_in_value(item, f"{where}[{index}]")


def _response_headers(value: object, field: str) -> Headers:
    if not isinstance(value, dict):
        raise InvalidResponse(f"{field} must be an object, got {type(value).__name__}")
    pairs: list[tuple[str, str]] = []
    for name, items in value.items():
        values = items if field == "multiValueHeaders" else [items]
        if not isinstance(values, list):
            raise InvalidResponse(
                f"{field}[{name!r}] must be a list of strings, got {type(items).__name__}"
            )
        for item in values:
            if not isinstance(item, str):
                # The type only: the value may be a cookie or a token (rule 15).
                raise InvalidResponse(
                    f"{field}[{name!r}] holds a value of type {type(item).__name__}; ALB accepts "
                    "only strings (LambdaInvalidResponse)"
                )
            pairs.append((name.lower(), item))
    return tuple(pairs)
