"""The events a real ALB would send for a request, and how ALB reads a handler's answer.

``make_event`` goes through the same code as the local emulator
(``alb_adapter/sources/alb/balancer.py``), so a test that passes with it sees what production sees.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Mapping
from urllib.parse import urlencode

from ..emulator.services import find_service
from ..errors import InvalidResponse
from ..model import Response
from ..sources.alb.balancer import (
    EXAMPLE_CLIENT_IP,
    EXAMPLE_HOST,
    build_health_check_event,
    client_request_event,
    parse_response,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any

    HeaderInput = Mapping[str, str] | Iterable[tuple[str, str]]
    QueryInput = str | Mapping[str, str | Sequence[str]] | Iterable[tuple[str, str]]


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
    host: str | None = EXAMPLE_HOST,
    client_ip: str = EXAMPLE_CLIENT_IP,
    scheme: str = "https",
    port: int | None = None,
    trace_id: str | None = None,
    source: str = "alb",
    stage: str | None = None,
) -> dict[str, Any]:
    """The event ALB sends to a Lambda target for this request (or, with ``source=``, the
    event that front door sends: ``"apigw-rest"``, ``"apigw-http-v1"``, ``"apigw-http-v2"``,
    ``"function-url"``, ``"vpc-lattice-v2"``, ``"vpc-lattice-v1"``).

    ``path`` is the raw request target and may carry the query (``"/search?q=a+b"``); ``query``
    may instead be the raw string, a mapping (values may be lists) or pairs, which are
    form-encoded as a browser would. ``json=`` and ``form=`` build the body and its Content-Type.
    ALB's own headers are added as ALB adds them: Host (unless ``host=None``), Content-Length for
    a body, X-Forwarded-For (``client_ip`` appended to any the client sent), -Proto, -Port and a
    trace id. The other front doors add theirs, as each does; API Gateway events go to ``host``
    as a custom domain, or, with ``stage=``, to the API's execute-api URL, where ``path`` starts
    with the stage as the client's URL does.
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
    target = f"{raw_path}?{raw_query}" if raw_query else raw_path
    if source != "alb" or stage is not None:
        if trace_id is not None:
            raise ValueError("trace_id= is for ALB's events")
        service = find_service(source)
        service.check(multi_value_headers=multi_value_headers, stage=stage)
        return service.event(
            method,
            target,
            pairs,
            payload,
            host=host,
            client_ip=client_ip,
            scheme=scheme,
            port=port,
            stage=stage,
        )
    return client_request_event(
        method,
        target,
        pairs,
        payload,
        host=host,
        client_ip=client_ip,
        scheme=scheme,
        port=port,
        multi_value_headers=multi_value_headers,
        trace_id=trace_id,
    )


def make_health_check_event(
    path: str = "/", *, multi_value_headers: bool = False
) -> dict[str, Any]:
    """ALB's health check: GET with only ``user-agent: ELB-HealthChecker/2.0`` (no Host, no
    X-Forwarded-*), in the target group's header mode."""
    return build_health_check_event(path, multi_value_headers=multi_value_headers)


class ClientResponse(Response):
    """The response a client receives for a handler's answer (what ``read_response`` returns):
    ``status``, ``headers`` (lowercase name, value pairs, in order), ``body`` bytes, and the
    conveniences of an HTTP client's response."""

    __slots__ = ()

    @property
    def text(self) -> str:
        """The body as text (UTF-8, as ALB sends the function's text bodies)."""
        return self.body.decode("utf-8")

    def json(self) -> Any:
        """The body parsed as JSON."""
        return jsonlib.loads(self.body)


def read_response(
    payload: object, *, multi_value_headers: bool = False, source: str = "alb"
) -> ClientResponse:
    """Judge a handler's answer as ALB would (or the front door ``source`` names) and read it
    back as the client receives it.

    Raises InvalidResponse wherever a real ALB would answer 502. Header names come back lowercase
    with Set-Cookie case variants merged (``header("Content-Type")`` and
    ``header_values("set-cookie")`` look them up case-insensitively), the body as bytes (``.text``,
    ``.json()``). One check is stricter than ALB: headers in the other mode's field, which ALB
    drops silently, fail here, because a test should not pass on headers the client would never
    receive.
    """
    if source != "alb":
        service = find_service(source)
        service.check(multi_value_headers=multi_value_headers, stage=None)
        outcome = service.judge(payload)
        if outcome.reason is not None:
            raise InvalidResponse(outcome.reason)
        return ClientResponse(outcome.status, tuple(outcome.headers), outcome.body)
    ignored = "headers" if multi_value_headers else "multiValueHeaders"
    if isinstance(payload, dict) and ignored in payload:
        raise InvalidResponse(
            f"the response has {ignored}, which ALB ignores when multi-value headers are "
            f"{'enabled' if multi_value_headers else 'disabled'}"
        )
    answer = parse_response(payload, multi_value_headers=multi_value_headers)
    return ClientResponse(answer.status, answer.headers, answer.body, answer.reason)


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
