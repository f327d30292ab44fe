"""What ALB and Lambda do around one invocation: ALB's front-door refusals, the event it builds,
the context Lambda passes, and how ALB judges the function's answer. Shared by the local ALB and
``alb_adapter.testing``'s clients, so a request that passes in a unit test passes behind the local
load balancer, and behind a real one.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable

from ..errors import InvalidEvent, InvalidResponse
from ..sources.alb.balancer import parse_response, request_event
from ..sources.alb.response import ALB_MAX_JSON_BYTES

log = logging.getLogger("alb_adapter.emulator")

Handler = Callable[[dict[str, object], object], object]
Headers = list[tuple[str, str]]

MAX_REQUEST_BODY_BYTES = 1_000_000
# ALB's request head limits, answered 400 (docs/alb-behaviour.md, "Limits"): "16K per request
# line, 16K per single header, or 64K for the entire header", K read as 1024 as for the 32 KB
# of response headers (rule 13). A header is counted as its line, `name: value`, and the block
# as those lines with their CRLFs.
MAX_REQUEST_LINE_BYTES = 16 * 1024
MAX_HEADER_LINE_BYTES = 16 * 1024
MAX_HEADER_BLOCK_BYTES = 64 * 1024
# More addresses than this in X-Forwarded-For is ALB's 463.
MAX_FORWARDED_FOR_ADDRESSES = 30
ALB_SERVER = ("server", "awselb/2.0")
# Connection-level headers ALB never passes on from a target's answer: it frames the response
# itself and computes Content-Length (docs/alb-behaviour.md, rule 10). Also the headers a proxy
# must not forward (RFC 9110 §7.6.1).
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# Hop-by-hop headers a Lambda event does not carry: they describe the client's connection and
# framing, which end at ALB (the event's body is whole). `connection` itself is kept: AWS's own
# example event shows the client's `connection: keep-alive` (docs/alb-behaviour.md, "The event
# ALB builds").
NOT_IN_LAMBDA_EVENTS = HOP_BY_HOP - {"connection"}


class LambdaContext:
    """A stand-in for the Lambda context object, with the attributes the Python runtime gives.

    ``get_remaining_time_in_millis()`` counts down from ``timeout`` seconds after construction,
    as the real one counts down to the function's deadline.
    """

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        function_name: str = "alb-adapter-local",
        memory_limit_in_mb: int = 512,
        aws_request_id: str | None = None,
        region: str = "us-east-1",
        account_id: str = "123456789012",
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account_id}:function:{function_name}"
        # The Python runtime passes the memory size through from the environment, as a str.
        self.memory_limit_in_mb = str(memory_limit_in_mb)
        self.aws_request_id = aws_request_id or str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the (simulated) deadline, never negative."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def __repr__(self) -> str:
        return (
            f"LambdaContext(function_name={self.function_name!r}, "
            f"aws_request_id={self.aws_request_id!r}, "
            f"remaining_ms={self.get_remaining_time_in_millis()})"
        )


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
    # An authenticate action's `deny`, and the local sign-in's unknown pages: the phrases of
    # the same server software as the others (ALB's 401 page is not documented: UNCONFIRMED).
    401: "Authorization Required",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Time-out",
    413: "Request Entity Too Large",
    463: "",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}


def alb_status(status: int) -> str:
    """The status and phrase of ALB's own pages (``"408 Request Time-out"``, ``"463"``)."""
    return f"{status} {_PHRASES.get(status, '')}".strip()


def alb_error(status: int, reason: str) -> Outcome:
    """The page ALB itself serves for its own errors (same HTML, same Server header)."""
    title = alb_status(status)
    page = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
    ).encode()
    return Outcome(status, [ALB_SERVER, ("content-type", "text/html")], page, reason)


def front_door(
    method: str,
    headers: Iterable[tuple[str, str]],
    body_size: int | None,
    *,
    request_target: str | None = None,
) -> Outcome | None:
    """Requests ALB refuses before a Lambda target sees them, or None (docs/alb-behaviour.md,
    "What ALB itself answers"): ``listener_refusal``, then ``lambda_refusal``.

    ``headers`` are the client's header bytes read as latin-1 (one character per byte), and
    ``request_target`` the path and query as sent, for the request line's limit.
    """
    pairs = list(headers)
    return listener_refusal(
        method, pairs, body_size, request_target=request_target
    ) or lambda_refusal(pairs)


def listener_refusal(
    method: str,
    headers: Iterable[tuple[str, str]],
    body_size: int | None,
    *,
    request_target: str | None = None,
) -> Outcome | None:
    """What ALB answers itself before the listener rules, or None: a request line or headers
    over its limits (400), TRACE (405), more than 30 X-Forwarded-For addresses (463), a body over
    1 MB (413; on AWS a limit of Lambda targets only, see "Known differences").

    ``body_size`` is the size of the body received, or, for a body that was not read to its end,
    None or ``MAX_REQUEST_BODY_BYTES + 1`` (the local ALB stops keeping a body there): the 413's
    reason then gives the Content-Length when there is one, and never the capped size. The
    reasons give sizes and header names, never a value (rule 15).
    """
    pairs = list(headers)
    if request_target is not None:
        line = len(method) + len(" ") + len(request_target) + len(" HTTP/1.1")
        if line > MAX_REQUEST_LINE_BYTES:
            return alb_error(
                400,
                f"the request line is {line:,} bytes, over ALB's limit of "
                f"{MAX_REQUEST_LINE_BYTES:,}",
            )
    block = 0
    for name, value in pairs:
        size = len(name) + len(": ") + len(value)
        if size > MAX_HEADER_LINE_BYTES:
            return alb_error(
                400,
                f"the request header {name.lower()!r} is {size:,} bytes, over ALB's limit of "
                f"{MAX_HEADER_LINE_BYTES:,} per header",
            )
        block += size + len("\r\n")
    if block > MAX_HEADER_BLOCK_BYTES:
        return alb_error(
            400,
            f"the request headers are {block:,} bytes, over ALB's limit of "
            f"{MAX_HEADER_BLOCK_BYTES:,}",
        )
    if method == "TRACE":
        return alb_error(405, "TRACE is not allowed by ALB")
    addresses = sum(
        1
        for name, value in pairs
        if name.lower() == "x-forwarded-for"
        for item in value.split(",")
        if item.strip()
    )
    if addresses > MAX_FORWARDED_FOR_ADDRESSES:
        return alb_error(
            463,
            f"X-Forwarded-For holds {addresses} addresses, over ALB's limit of "
            f"{MAX_FORWARDED_FOR_ADDRESSES}",
        )
    if body_size is None or body_size > MAX_REQUEST_BODY_BYTES:
        return alb_error(413, _body_too_large(pairs, body_size))
    return None


def is_websocket_upgrade(headers: Iterable[tuple[str, str]]) -> bool:
    """Whether the request asks to become a WebSocket (``Upgrade: websocket``)."""
    return any(
        name.lower() == "upgrade" and value.strip().lower() == "websocket"
        for name, value in headers
    )


def lambda_refusal(headers: Iterable[tuple[str, str]]) -> Outcome | None:
    """What ALB answers itself instead of invoking a Lambda target the rules chose, or None: a
    WebSocket upgrade (400, ``LambdaWebsocketNotSupported``). An HTTP target gets the upgrade
    (docs/alb-behaviour.md, "What ALB itself answers")."""
    if is_websocket_upgrade(headers):
        return alb_error(400, "WebSocket upgrades are not supported for Lambda targets")
    return None


def _body_too_large(headers: Headers, body_size: int | None) -> str:
    limit = f"ALB's limit of {MAX_REQUEST_BODY_BYTES:,} bytes"
    if body_size is None or body_size == MAX_REQUEST_BODY_BYTES + 1:  # maybe capped: not a size
        lengths = [value for name, value in headers if name.lower() == "content-length"]
        stated = lengths[-1].strip() if lengths else ""
        if not (stated.isascii() and stated.isdigit() and int(stated) > MAX_REQUEST_BODY_BYTES):
            return f"the request body is over {limit}"
        body_size = int(stated)
    return f"the request body of {body_size:,} bytes is over {limit}"


def response_head(outcome: Outcome) -> list[tuple[bytes, bytes]]:
    """The header bytes ALB sends the client with ``outcome``: names as latin-1, values as UTF-8
    (ALB sends the strings of the function's JSON as UTF-8), without the framing headers of the
    answer, and with ALB's own Content-Length (rule 10). The local ALB and ``ALBClient`` both send
    exactly these, so a test through the client sees the bytes a browser behind the local ALB
    gets."""
    head = [
        (name.encode("latin-1"), value.encode("utf-8"))
        for name, value in outcome.headers
        if name.lower() not in HOP_BY_HOP and name.lower() != "content-length"
    ]
    head.append((b"content-length", str(len(outcome.body)).encode()))
    return head


def judge(payload: object, *, multi_value_headers: bool) -> Outcome:
    """Read the function's answer as ALB does: the HTTP response, or ALB's own 502 and why.

    The reason is logged and shown to the client by the local ALB and ``ALBClient``, so it names
    fields and types, never a value: a malformed Set-Cookie is still a secret (rule 15).
    """
    try:
        # ALB reads the JSON the runtime produced; a value JSON cannot carry fails here too.
        wire = json.loads(json.dumps(payload))
    except (TypeError, ValueError) as exc:
        # json's own messages name the type ("Object of type bytes ...") or the problem
        # ("Circular reference detected"), never the value, so they are safe to pass on.
        return alb_error(502, f"the response is not JSON-serialisable ({exc})")
    try:
        response = parse_response(
            wire, multi_value_headers=multi_value_headers, max_bytes=ALB_MAX_JSON_BYTES
        )
    except InvalidResponse as exc:
        return alb_error(502, f"LambdaInvalidResponse: {exc}")
    return Outcome(response.status, list(response.headers), response.body)


def judgement_notes(payload: object, outcome: Outcome, *, multi_value_headers: bool) -> list[str]:
    """What ALB did in reading the function's answer ``payload`` into ``outcome`` besides passing
    it on (for the inspector; ``judge`` decides, this only explains): a header field it ignored,
    headers it dropped or replaced, the function's own Content-Encoding, a base64 body decoded,
    case-variant Set-Cookie keys. Names only, never a header's value (rule 15)."""
    notes: list[str] = []
    if outcome.reason is not None:
        notes.append(f"ALB answered {outcome.status} itself: {outcome.reason}")
    if not isinstance(payload, dict):
        return notes
    wanted, ignored = (
        ("multiValueHeaders", "headers")
        if multi_value_headers
        else ("headers", "multiValueHeaders")
    )
    mode = "on" if multi_value_headers else "off"
    if ignored in payload:
        notes.append(
            f"headers ignored: the response has `{ignored}` but the target group has multi-value "
            f"headers {mode}: ALB reads `{wanted}` only"
        )
    if outcome.reason is not None:
        return notes
    names = [name.lower() for name, _ in outcome.headers]
    dropped = sorted({name for name in names if name in HOP_BY_HOP})
    if dropped:
        notes.append(
            f"headers dropped: {', '.join(dropped)} (ALB frames the response to the client itself)"
        )
    if "content-length" in names:
        notes.append("content-length replaced by ALB's own, counted on the body it sends")
    encodings = [value for name, value in outcome.headers if name.lower() == "content-encoding"]
    if encodings:
        notes.append(
            f"content-encoding {', '.join(encodings)} set by the function: ALB passes the body on "
            "as encoded (ALB itself compresses nothing for Lambda targets)"
        )
    if payload.get("isBase64Encoded") is True:
        notes.append("isBase64Encoded: ALB decoded the body from base64 before sending it")
    header_object = payload.get(wanted)
    if isinstance(header_object, dict):
        cookie_keys = [key for key in header_object if str(key).lower() == "set-cookie"]
        if len(cookie_keys) > 1:
            notes.append(
                f"{len(cookie_keys)} Set-Cookie keys in different cases: one Set-Cookie header each"
            )
    description = payload.get("statusDescription")
    if isinstance(description, str):
        notes.append(f"statusDescription {description!r}: the status line's reason phrase")
    return notes


def invoke(
    handler: Handler,
    event: dict[str, object],
    *,
    multi_value_headers: bool,
    timeout: float,
    function_name: str = "alb-adapter-local",
    raise_handler_errors: bool = False,
    judge_answer: Callable[[object], Outcome] | None = None,
    refuse: Callable[[str], Outcome] | None = None,
) -> Outcome:
    """Call a Lambda handler as the Lambda service would for ALB, and judge the answer.

    Another front door (``alb_adapter/emulator/services.py``) gives its own ``judge_answer`` (its
    reading of the answer) and ``refuse`` (its own answer, given the reason, when the function
    failed); ALB's are ``judge`` and its 502 page.

    A synchronous handler cannot be stopped from the same thread; a call that overran ``timeout``
    is answered 502 afterwards, as Lambda would have killed it (the emulator also stops waiting
    at the deadline, from another thread). With ``raise_handler_errors`` an exception from the
    handler reaches the caller instead of becoming ALB's 502: the framework test clients that
    re-raise the app's errors in the test (Starlette's ``raise_server_exceptions``) ask for it.
    """
    answer = "ALB answers 502 (LambdaUnhandled)"
    if refuse is None:

        def refuse(reason: str) -> Outcome:
            return alb_error(502, reason)

    else:
        answer = "the front door answers its own error"
    context = LambdaContext(timeout=timeout, function_name=function_name)
    began = time.monotonic()
    try:
        payload = handler(event, context)
    except Exception as exc:
        if raise_handler_errors:
            raise
        log.exception("the Lambda handler raised; %s", answer)
        return refuse(f"LambdaUnhandled: {type(exc).__name__}: {exc}")
    if time.monotonic() - began > timeout:
        return refuse(f"the function ran past its {timeout:g} s timeout")
    if judge_answer is not None:
        return judge_answer(payload)
    return judge(payload, multi_value_headers=multi_value_headers)


def utf8_headers(wire_headers: Iterable[tuple[str, str]]) -> Headers:
    """Request headers as ALB puts them in a Lambda event: ``wire_headers`` hold the bytes the
    client sent read as latin-1 (one character per byte, as the local ALB and ``ALBClient`` get
    them from their HTTP layer); ALB reads those bytes as UTF-8 (docs/alb-behaviour.md, rule 4).

    Raises InvalidEvent, naming the header but never quoting its value (rule 15), when the bytes
    are not UTF-8: ALB fails such a request (``LambdaBadRequest``). Proxied HTTP targets and the
    listener rules keep the raw bytes; only a Lambda event needs text.
    """
    decoded: Headers = []
    for name, value in wire_headers:
        try:
            text_name = name.encode("latin-1").decode("utf-8")
        except UnicodeError:
            raise InvalidEvent(
                "a request header name", "is not UTF-8; ALB fails such a request"
            ) from None
        try:
            text_value = value.encode("latin-1").decode("utf-8")
        except UnicodeError:
            raise InvalidEvent(
                f"request header {text_name.lower()!r}", "is not UTF-8; ALB fails such a request"
            ) from None
        decoded.append((text_name, text_value))
    return decoded


def event_or_error(
    method: str,
    raw_path: str,
    query_string: str,
    wire_headers: Headers,
    body: bytes,
    *,
    client_ip: str,
    scheme: str,
    port: int,
    multi_value_headers: bool,
) -> dict[str, object] | Outcome:
    """``request_event`` for a Lambda target, or the answer ALB gives when it cannot build one
    (header or text-body bytes that are not UTF-8: ``LambdaBadRequest``).

    ``wire_headers`` are the client's header bytes read as latin-1; the event gets them decoded
    as UTF-8 (``utf8_headers``), without the hop-by-hop ones it does not carry
    (``NOT_IN_LAMBDA_EVENTS``). A body that came without a Content-Length (chunked) gets one, as
    the event's body is whole. The local ALB and ``ALBClient`` both come through here, so they
    cannot disagree on the event.
    """
    end_to_end = [pair for pair in wire_headers if pair[0].lower() not in NOT_IN_LAMBDA_EVENTS]
    try:
        headers = utf8_headers(end_to_end)
        if body and not any(name.lower() == "content-length" for name, _ in headers):
            headers.append(("content-length", str(len(body))))
        return request_event(
            method,
            raw_path,
            query_string,
            headers,
            body,
            client_ip=client_ip,
            scheme=scheme,
            port=port,
            multi_value_headers=multi_value_headers,
        )
    except InvalidEvent as exc:
        return alb_error(502, f"LambdaBadRequest: {exc.field} {exc.problem}")


def through_alb(
    handler: Handler,
    method: str,
    target: str,
    wire_headers: Headers,
    body: bytes,
    *,
    client_ip: str,
    scheme: str,
    port: int,
    multi_value_headers: bool,
    timeout: float,
    raise_handler_errors: bool = False,
) -> Outcome:
    """One HTTP request from a client to a Lambda target, the whole way through ALB: the front
    door's refusals, the event ALB builds, the invocation, and ALB's judgement of the answer.

    ``target`` is the request target as sent (raw path and query, percent-escapes kept);
    ``wire_headers`` are the header bytes as sent, read as latin-1 (``event_or_error``). Every
    test client (``ALBClient``, ``AsyncALBClient``, ``ALBWSGIApp`` and the framework clients
    built on them) comes through here, so none can disagree with another, or with the local ALB.
    """
    outcome = front_door(method, wire_headers, len(body), request_target=target)
    if outcome is not None:
        return outcome
    raw_path, _, query_string = target.partition("?")
    event = event_or_error(
        method,
        raw_path or "/",
        query_string,
        wire_headers,
        body,
        client_ip=client_ip,
        scheme=scheme,
        port=port,
        multi_value_headers=multi_value_headers,
    )
    if isinstance(event, Outcome):
        return event
    return invoke(
        handler,
        event,
        multi_value_headers=multi_value_headers,
        timeout=timeout,
        raise_handler_errors=raise_handler_errors,
    )
