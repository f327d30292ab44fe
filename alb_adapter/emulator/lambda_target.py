"""What ALB does around one Lambda invocation: its front-door refusals, the event it builds, and how
it judges the function's answer. Shared by the emulator and ``testing.ALBClient``, so a request
that passes in a unit test passes behind the local load balancer, and behind a real one.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable

from ..alb import ALB_MAX_JSON_BYTES, build_event, forwarded_headers, parse_response
from ..errors import InvalidEvent, InvalidResponse
from ..testing import LambdaContext, new_trace_id

log = logging.getLogger("alb_adapter.emulator")

Handler = Callable[[dict[str, object], object], object]
Headers = list[tuple[str, str]]

MAX_REQUEST_BODY_BYTES = 1_000_000
ALB_SERVER = ("server", "awselb/2.0")


class Outcome:
    """The HTTP response the client gets, and, when ALB itself answered, why (for the logs)."""

    __slots__ = ("body", "headers", "reason", "status")

    def __init__(self, status: int, headers: Headers, body: bytes, reason: str | None = None):
        self.status = status
        self.headers = headers
        self.body = body
        self.reason = reason

    def __repr__(self) -> str:
        return f"Outcome({self.status}, reason={self.reason!r})"


_PHRASES = {
    301: "Moved Permanently",
    302: "Moved Temporarily",
    400: "Bad Request",
    405: "Method Not Allowed",
    413: "Request Entity Too Large",
    463: "",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}


def alb_error(status: int, reason: str) -> Outcome:
    """The page ALB itself serves for its own errors (same HTML, same Server header)."""
    title = f"{status} {_PHRASES.get(status, '')}".strip()
    page = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
    ).encode()
    return Outcome(status, [ALB_SERVER, ("content-type", "text/html")], page, reason)


def front_door(method: str, headers: Iterable[tuple[str, str]], body_size: int) -> Outcome | None:
    """Requests ALB refuses before any target sees them (DESIGN §7), or None."""
    if method == "TRACE":
        return alb_error(405, "TRACE is not allowed by ALB")
    upgrade = [value.lower() for name, value in headers if name.lower() == "upgrade"]
    if "websocket" in upgrade:
        return alb_error(400, "WebSocket upgrades are not supported for Lambda targets")
    if body_size > MAX_REQUEST_BODY_BYTES:
        return alb_error(413, f"request body of {body_size} bytes is over ALB's 1 MB limit")
    return None


def lambda_event(
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
) -> dict[str, object]:
    """The event ALB sends for this HTTP request (the same code make_event uses)."""
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


def judge(payload: object, *, multi_value_headers: bool) -> Outcome:
    """Read the function's answer as ALB does: the HTTP response, or ALB's own 502 and why."""
    try:
        # ALB reads the JSON the runtime produced; a value JSON cannot carry fails here too.
        wire = json.loads(json.dumps(payload))
    except (TypeError, ValueError) as exc:
        return alb_error(502, f"the response is not JSON-serialisable ({exc})")
    try:
        response = parse_response(
            wire, multi_value_headers=multi_value_headers, max_bytes=ALB_MAX_JSON_BYTES
        )
    except InvalidResponse as exc:
        return alb_error(502, f"LambdaInvalidResponse: {exc}")
    return Outcome(response.status, list(response.headers), response.body)


def invoke(
    handler: Handler,
    event: dict[str, object],
    *,
    multi_value_headers: bool,
    timeout: float,
    function_name: str = "alb-adapter-local",
) -> Outcome:
    """Call a Lambda handler as the Lambda service would for ALB, and judge the answer.

    A synchronous handler cannot be stopped from the same thread; a call that overran ``timeout``
    is answered 502 afterwards, as Lambda would have killed it (the emulator also stops waiting
    at the deadline, from another thread).
    """
    context = LambdaContext(timeout=timeout, function_name=function_name)
    began = time.monotonic()
    try:
        payload = handler(event, context)
    except Exception as exc:
        log.exception("the Lambda handler raised; ALB answers 502 (LambdaUnhandled)")
        return alb_error(502, f"LambdaUnhandled: {type(exc).__name__}: {exc}")
    if time.monotonic() - began > timeout:
        return alb_error(502, f"the function ran past its {timeout:g} s timeout")
    return judge(payload, multi_value_headers=multi_value_headers)


def event_or_error(
    method: str,
    raw_path: str,
    query_string: str,
    headers: Headers,
    body: bytes,
    **options: object,
) -> dict[str, object] | Outcome:
    """``lambda_event``, or the answer ALB gives when it cannot build one (non-UTF-8 text)."""
    try:
        return lambda_event(method, raw_path, query_string, headers, body, **options)  # type: ignore[arg-type]
    except InvalidEvent as exc:
        return alb_error(502, f"LambdaBadRequest: {exc.problem}")
