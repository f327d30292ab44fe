"""Test helpers: the events a real ALB would send, and a realistic Lambda context.

``make_event`` goes through the same code as the local emulator (``alb.build_event`` and
``alb.forwarded_headers``), so a test that passes with it sees what production sees.

    from alb_adapter.testing import make_event, LambdaContext
    response = handler(make_event("POST", "/account/login", form={"user": "ada"}), LambdaContext())
"""

from __future__ import annotations

import json as jsonlib
import os
import time
import uuid
from collections.abc import Mapping
from urllib.parse import urlencode

from .alb import build_event, forwarded_headers, parse_response
from .errors import InvalidResponse

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    HeaderInput = Mapping[str, str] | Iterable[tuple[str, str]]
    QueryInput = str | Mapping[str, str | Sequence[str]] | Iterable[tuple[str, str]]

    from .emulator.client import ALBClient
    from .http import Response

__all__ = [
    "ALBClient",
    "LambdaContext",
    "make_event",
    "make_health_check_event",
    "new_trace_id",
    "read_response",
]

DEFAULT_CLIENT_IP = "198.51.100.7"  # TEST-NET-2: never a real client
DEFAULT_HOST = "example.com"


def new_trace_id(now: float | None = None) -> str:
    """An X-Amzn-Trace-Id root as ALB makes it: ``Root=1-<8 hex epoch seconds>-<24 hex>``."""
    seconds = int(time.time() if now is None else now)
    return f"Root=1-{seconds:08x}-{os.urandom(12).hex()}"


def make_event(
    method: str = "GET",
    path: str = "/",
    *,
    query: QueryInput | None = None,
    headers: HeaderInput | None = None,
    body: bytes | str = b"",
    json: object = None,
    form: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
    multi_value_headers: bool = False,
    host: str | None = DEFAULT_HOST,
    client_ip: str = DEFAULT_CLIENT_IP,
    scheme: str = "https",
    port: int | None = None,
    trace_id: str | None = None,
) -> dict[str, object]:
    """The event ALB sends to a Lambda target for this request.

    ``path`` is the raw request target and may carry the query (``"/search?q=a+b"``); ``query``
    may instead be the raw string, a mapping (values may be lists) or pairs, which are
    form-encoded as a browser would. ``json=`` and ``form=`` build the body and its Content-Type.
    ALB's own headers are added as ALB adds them: Host (unless ``host=None``), Content-Length for
    a body, X-Forwarded-For (``client_ip`` appended to any the client sent), -Proto, -Port and a
    trace id.
    """
    raw_path, _, raw_query = path.partition("?")
    if query is not None:
        if raw_query:
            raise ValueError("give the query either in path ('/p?a=1') or as query=, not both")
        raw_query = _encode_query(query)

    pairs = _header_pairs(headers)
    names = {name.lower() for name, _ in pairs}
    payload = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    if json is not None or form is not None:
        if payload or (json is not None and form is not None):
            raise ValueError("give only one of body=, json= and form=")
        if json is not None:
            payload = jsonlib.dumps(json).encode("utf-8")
            content_type = "application/json"
        else:
            assert form is not None
            items = form.items() if isinstance(form, Mapping) else form
            payload = urlencode(list(items)).encode("ascii")
            content_type = "application/x-www-form-urlencoded"
        if "content-type" not in names:
            pairs.append(("content-type", content_type))
    if host is not None and "host" not in names:
        pairs.insert(0, ("host", host))
    if payload and "content-length" not in names:
        pairs.append(("content-length", str(len(payload))))

    forwarded = forwarded_headers(
        pairs,
        client_ip=client_ip,
        scheme=scheme,
        port=port if port is not None else (443 if scheme == "https" else 80),
        trace_id=trace_id or new_trace_id(),
    )
    return build_event(
        method,
        raw_path or "/",
        raw_query,
        forwarded,
        payload,
        multi_value_headers=multi_value_headers,
    )


def make_health_check_event(
    path: str = "/", *, multi_value_headers: bool = False
) -> dict[str, object]:
    """ALB's health check: GET with only ``user-agent: ELB-HealthChecker/2.0`` (no Host, no
    X-Forwarded-*), in the target group's header mode."""
    raw_path, _, raw_query = path.partition("?")
    return build_event(
        "GET",
        raw_path or "/",
        raw_query,
        [("user-agent", "ELB-HealthChecker/2.0")],
        b"",
        multi_value_headers=multi_value_headers,
    )


def read_response(payload: object, *, multi_value_headers: bool = False) -> Response:
    """Judge a handler's answer as ALB would and read it back as a Response.

    Raises InvalidResponse wherever a real ALB would answer 502. Header names come back lowercase
    with Set-Cookie case variants merged, and the body as bytes. One check is stricter than ALB:
    headers in the other mode's field, which ALB drops silently, fail here, because a test should
    not pass on headers the client would never receive.
    """
    ignored = "headers" if multi_value_headers else "multiValueHeaders"
    if isinstance(payload, dict) and ignored in payload:
        raise InvalidResponse(
            f"the response has {ignored}, which ALB ignores when multi-value headers are "
            f"{'enabled' if multi_value_headers else 'disabled'}"
        )
    return parse_response(payload, multi_value_headers=multi_value_headers)


def _header_pairs(headers: HeaderInput | None) -> list[tuple[str, str]]:
    if headers is None:
        return []
    items = headers.items() if isinstance(headers, Mapping) else headers
    return [(str(name), str(value)) for name, value in items]


def _encode_query(query: QueryInput) -> str:
    if isinstance(query, str):
        return query
    if isinstance(query, Mapping):
        return urlencode(list(query.items()), doseq=True)
    return urlencode(list(query))


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


def __getattr__(name: str) -> object:
    # ALBClient is an httpx.Client: only tests that use it need httpx (alb-adapter[local]).
    if name == "ALBClient":
        from .emulator.client import ALBClient

        return ALBClient
    raise AttributeError(f"module 'alb_adapter.testing' has no attribute {name!r}")
