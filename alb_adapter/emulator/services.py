"""The front doors a test or the CLI can put in front of a Lambda handler, seen the same way: the
event the service sends for an HTTP request, and what the client gets for the function's answer.

Each source package knows its service in its own terms (``sources/<package>/service.py``,
``sources/alb/balancer.py``); this module gives them one shape, so ``make_event(source=...)``, the
test clients' ``source=`` and ``alb-adapter event --source`` / ``invoke`` treat every front door
alike. Never used inside Lambda.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..errors import InvalidResponse
from ..sources.alb.balancer import EXAMPLE_CLIENT_IP, client_request_event
from ..sources.apigateway_v1 import service as apigateway_v1
from ..sources.apigateway_v2 import service as apigateway_v2
from ..sources.lattice import service as lattice
from .invocation import (
    Handler,
    Headers,
    Outcome,
    alb_error,
    invoke,
    judge,
    through_alb,
    utf8_headers,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

    from ..model import Response

    # What a front door's event builder is: the client's request in, the service's event out.
    EventBuilder = Callable[["ClientRequest"], dict[str, Any]]

# What Lambda accepts for a synchronous invocation, whichever service makes it: the request's
# event as well as the function's answer (the services' own, larger, limits come after it).
LAMBDA_MAX_PAYLOAD_BYTES = 6 * 1024 * 1024


class Service:
    """One front door. ``event(...)`` builds what it sends the function for an HTTP request;
    ``judge(payload)`` is what the client then receives (the service's own error answer where it
    refuses the function's, with the reason for the logs and the ``x-alb-emulator-error``
    header). ``stage`` (API Gateway only) puts the request on the execute-api host under that
    stage, as a client of the API's default URL sends it; without it the request goes to the
    host the client names, a custom domain, whose API mapping picks the stage."""

    __slots__ = ("_event", "_judge", "error", "label", "name")

    def __init__(
        self,
        name: str,
        label: str,
        event: EventBuilder,
        judge: Callable[[object, bool], Outcome],
        error: Response,
    ) -> None:
        self.name = name
        self.label = label
        self._event = event
        self._judge = judge
        self.error = error

    def event(
        self,
        method: str,
        target: str,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        *,
        host: str | None = None,
        client_ip: str = EXAMPLE_CLIENT_IP,
        scheme: str = "https",
        port: int | None = None,
        multi_value_headers: bool = False,
        stage: str | None = None,
    ) -> dict[str, Any]:
        """The event this service sends when a client requests ``target`` (raw path and query)
        with ``headers`` (text; Host from ``host`` unless a Host header is given)."""
        return self._event(
            ClientRequest(
                method,
                target,
                tuple(headers),
                body,
                host=host,
                client_ip=client_ip,
                scheme=scheme,
                port=port,
                multi_value_headers=multi_value_headers,
                stage=stage,
            )
        )

    def judge(self, payload: object, *, multi_value_headers: bool = False) -> Outcome:
        """What the client receives for the function's answer ``payload``."""
        return self._judge(payload, multi_value_headers)

    def check(self, *, multi_value_headers: bool, stage: str | None) -> None:
        """Refuse, when a client is set up, the settings this front door does not have: the
        header mode is ALB's target-group setting, the stage API Gateway's."""
        if multi_value_headers and self.name != "alb":
            raise ValueError(
                f"multi_value_headers is ALB's target-group setting; {self.label} has one "
                "event format"
            )
        if stage is not None and not self.name.startswith("apigw-"):
            raise ValueError(f"stage= is an API Gateway setting; {self.label} has no stages")

    def refuse(self, reason: str) -> Outcome:
        """The service's own answer when the function failed (raised, timed out, answered what
        the service cannot read), with the reason."""
        if self.name == "alb":
            return alb_error(502, reason)
        error = self.error
        return Outcome(error.status, list(error.headers), error.body, reason)

    def __repr__(self) -> str:
        return f"<Service {self.name}: {self.label}>"


def through(
    service: Service,
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
    stage: str | None = None,
) -> Outcome:
    """``through_alb`` for any front door: one HTTP request from a client to the function, the
    event ``service`` sends, the invocation, and what the client receives. ALB's own front-door
    refusals apply to ALB only; for the others the request is refused (with the service's error)
    when its event is over what Lambda accepts."""
    if service.name == "alb" and stage is None:
        return through_alb(
            handler,
            method,
            target,
            wire_headers,
            body,
            client_ip=client_ip,
            scheme=scheme,
            port=port,
            multi_value_headers=multi_value_headers,
            timeout=timeout,
            raise_handler_errors=raise_handler_errors,
        )
    from ..errors import InvalidEvent

    try:
        headers = utf8_headers(wire_headers)
    except InvalidEvent as exc:
        return service.refuse(f"{exc.field} {exc.problem}")
    event = service.event(
        method,
        target,
        headers,
        body,
        client_ip=client_ip,
        scheme=scheme,
        port=port,
        multi_value_headers=multi_value_headers,
        stage=stage,
    )
    size = len(json.dumps(event))
    if size > LAMBDA_MAX_PAYLOAD_BYTES:
        return service.refuse(
            f"the event is {size:,} bytes, over Lambda's {LAMBDA_MAX_PAYLOAD_BYTES:,} for a "
            "synchronous invocation"
        )
    return invoke(
        handler,
        event,
        multi_value_headers=multi_value_headers,
        timeout=timeout,
        raise_handler_errors=raise_handler_errors,
        judge_answer=lambda payload: service.judge(payload, multi_value_headers=False),
        refuse=service.refuse,
    )


@dataclass(frozen=True)
class ClientRequest:
    """One HTTP request as the client sent it, and the front door's settings for it: what every
    event builder reads, each taking the parts its service puts in an event (and refusing the
    settings it does not have). ``headers`` are text; Host comes from ``host`` unless a Host
    header is given."""

    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    host: str | None
    client_ip: str
    scheme: str
    port: int | None
    multi_value_headers: bool
    stage: str | None

    def headers_without_host(self) -> list[tuple[str, str]]:
        """The headers but Host, for a front door whose event names its own domain."""
        return [(name, value) for name, value in self.headers if name.lower() != "host"]


def _alb_event(request: ClientRequest) -> dict[str, Any]:
    if request.stage is not None:
        raise ValueError("stage= is an API Gateway setting; ALB has no stages")
    return client_request_event(
        request.method,
        request.target,
        request.headers,
        request.body,
        host=request.host,
        client_ip=request.client_ip,
        scheme=request.scheme,
        port=request.port,
        multi_value_headers=request.multi_value_headers,
    )


def _single_mode(source: str, multi_value_headers: bool) -> None:
    if multi_value_headers:
        raise ValueError(
            f"multi_value_headers is ALB's target-group setting; {source} has one event format"
        )


def _api_gateway_event(http_api: bool | None) -> EventBuilder:
    """The payload 1.0 builder for a REST API (``http_api=False``) or an HTTP API (True), or
    the payload 2.0 one for an HTTP API (None)."""

    def build(request: ClientRequest) -> dict[str, Any]:
        _single_mode("API Gateway", request.multi_value_headers)
        host = request.host
        headers: Iterable[tuple[str, str]] = request.headers
        if request.stage is not None:
            # The API's default URL: the request went to the execute-api host (whatever Host the
            # test client would have sent), the stage first in its path.
            host = None
            headers = request.headers_without_host()
        elif host is None and not any(name.lower() == "host" for name, _ in headers):
            raise ValueError(
                "an API Gateway request needs a host: the custom domain it was sent to, or "
                "stage= for the API's default execute-api URL"
            )
        options: dict[str, Any] = {
            "host": host,
            "client_ip": request.client_ip,
            "scheme": request.scheme,
            "port": request.port,
        }
        if request.stage is not None:
            options["stage"] = request.stage
        if http_api is None:
            return apigateway_v2.request_event(
                request.method, request.target, headers, request.body, **options
            )
        if not http_api:
            # A REST API passes binary bodies only with binaryMediaTypes, which an API serving
            # a web app sets to */* (browsers' Accept headers): the same API the answers are read
            # by (apigateway_v1.parse_response's default), so uploads and downloads agree.
            options["binary_media_types"] = ("*/*",)
        return apigateway_v1.request_event(
            request.method, request.target, headers, request.body, http_api=http_api, **options
        )

    return build


def _function_url_event(request: ClientRequest) -> dict[str, Any]:
    _single_mode("a Function URL", request.multi_value_headers)
    if request.stage is not None:
        raise ValueError("stage= is an API Gateway setting; a Function URL has no stages")
    # A Function URL has no custom domains of its own: its event names its own domain whatever
    # Host the test client sent (a CloudFront distribution in front forwards to that domain too).
    return apigateway_v2.request_event(
        request.method,
        request.target,
        request.headers_without_host(),
        request.body,
        function_url=True,
        client_ip=request.client_ip,
        scheme=request.scheme,
    )


def _lattice_event(version: lattice.Version) -> EventBuilder:
    def build(request: ClientRequest) -> dict[str, Any]:
        _single_mode("VPC Lattice", request.multi_value_headers)
        if request.stage is not None:
            raise ValueError("stage= is an API Gateway setting; VPC Lattice has no stages")
        return lattice.request_event(
            request.method,
            request.target,
            request.headers,
            request.body,
            client_ip=request.client_ip,
            scheme=request.scheme,
            host=request.host if request.host is not None else lattice.EXAMPLE_HOST,
            port=request.port,
            version=version,
        )

    return build


def _judged_by(
    read: Callable[[object], Response], error: Response, service: str
) -> Callable[[object, bool], Outcome]:
    """A judge from a service's own reading of an answer, and the answer it gives when that
    reading fails (or when the answer cannot reach it at all: not JSON, over Lambda's limit)."""

    def judge_payload(payload: object, multi_value_headers: bool) -> Outcome:
        def refused(reason: str) -> Outcome:
            return Outcome(error.status, list(error.headers), error.body, reason)

        try:
            wire = json.dumps(payload)
        except (TypeError, ValueError) as exc:  # json's messages name types, never values
            return refused(f"the response is not JSON-serialisable ({exc})")
        if len(wire) > LAMBDA_MAX_PAYLOAD_BYTES:
            return refused(
                f"the response is {len(wire):,} bytes, over Lambda's "
                f"{LAMBDA_MAX_PAYLOAD_BYTES:,} for a synchronous invocation"
            )
        try:
            response = read(json.loads(wire))
        except InvalidResponse as exc:
            # The service's own words differ; this says what they all mean, without a value.
            return refused(f"malformed Lambda response: {exc}")
        return Outcome(response.status, list(response.headers), response.body)

    return judge_payload


def _error(status: int, body: bytes, content_type: str | None = "application/json") -> Response:
    from ..model import Response

    return Response(status, (("content-type", content_type),) if content_type else (), body)


def _alb_judge(payload: object, multi_value_headers: bool) -> Outcome:
    return judge(payload, multi_value_headers=multi_value_headers)


def _api_service(
    name: str,
    label: str,
    event: EventBuilder,
    read: Callable[[object], Response],
    error: Response,
) -> Service:
    """A front door other than ALB: its reading of an answer, and its own error answer."""
    return Service(name, label, event, _judged_by(read, error, label), error)


# An empty body, so no content type (what Lattice answers is unconfirmed: docs/sources/lattice.md).
_LATTICE_ERROR = _error(lattice.INVALID_RESPONSE_STATUS, lattice.INVALID_RESPONSE_BODY, None)

SERVICES: dict[str, Service] = {
    service.name: service
    for service in (
        Service("alb", "ALB", _alb_event, _alb_judge, _error(502, b"", "text/html")),
        _api_service(
            "apigw-rest",
            "API Gateway REST API",
            _api_gateway_event(http_api=False),
            apigateway_v1.parse_response,
            apigateway_v1.error_response(),
        ),
        _api_service(
            "apigw-http-v1",
            "API Gateway HTTP API (payload 1.0)",
            _api_gateway_event(http_api=True),
            lambda payload: apigateway_v1.parse_response(payload, http_api=True),
            apigateway_v1.error_response(http_api=True),
        ),
        _api_service(
            "apigw-http-v2",
            "API Gateway HTTP API (payload 2.0)",
            _api_gateway_event(http_api=None),
            apigateway_v2.parse_response,
            _error(apigateway_v2.HTTP_API_ERROR_STATUS, apigateway_v2.HTTP_API_ERROR_BODY),
        ),
        _api_service(
            "function-url",
            "Lambda Function URL",
            _function_url_event,
            apigateway_v2.parse_response,
            _error(
                apigateway_v2.FUNCTION_URL_ERROR_STATUS,
                apigateway_v2.FUNCTION_URL_ERROR_BODY,
                "text/plain",
            ),
        ),
        _api_service(
            "vpc-lattice-v2",
            "VPC Lattice (V2)",
            _lattice_event("V2"),
            lattice.parse_response,
            _LATTICE_ERROR,
        ),
        _api_service(
            "vpc-lattice-v1",
            "VPC Lattice (V1)",
            _lattice_event("V1"),
            lattice.parse_response,
            _LATTICE_ERROR,
        ),
    )
}


def find_service(name: str) -> Service:
    """The front door called ``name`` (a source's name: ``"alb"``, ``"apigw-rest"``...), or a
    ValueError listing them."""
    try:
        return SERVICES[name]
    except KeyError:
        raise ValueError(
            f"no front door called {name!r}; the front doors are: {', '.join(SERVICES)}"
        ) from None


__all__ = ["LAMBDA_MAX_PAYLOAD_BYTES", "SERVICES", "Service", "find_service", "through"]
