"""Amazon API Gateway, payload format 1.0: REST APIs (Lambda proxy integrations) and HTTP APIs
set to payload format 1.0. The only package that knows this JSON.

``detect`` recognises its events; ``request`` (event -> Request) and ``response`` (Response ->
dict) run in every invocation, imported with the first event of their kind; ``service`` is the
services' own side (building events, judging answers), used by the test helpers and the local
tools, never inside Lambda. The two services share the format but not its meaning (a REST API's
path is raw and lacks the stage; an HTTP API's is decoded and has it):
docs/sources/apigateway_v1.md.
"""

from __future__ import annotations

from ..base import Source
from .detect import is_http_v1_event, is_rest_event

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    from ..base import ParseEvent, RenderResponse


def _http_v1_codec() -> tuple[ParseEvent, RenderResponse]:
    from .request import parse_http_v1_event
    from .response import render_response

    return parse_http_v1_event, render_response


def _rest_codec() -> tuple[ParseEvent, RenderResponse]:
    from .request import parse_rest_event
    from .response import render_response

    return parse_rest_event, render_response


API_GATEWAY_HTTP_V1 = Source(
    name="apigw-http-v1",
    label="API Gateway HTTP API (payload 1.0)",
    description='API Gateway HTTP API, payload format 1.0 (httpMethod with "version": "1.0")',
    matches=is_http_v1_event,
    codec=_http_v1_codec,
    known_by=("version", "httpMethod", "path", "requestContext"),
)

API_GATEWAY_REST = Source(
    name="apigw-rest",
    label="API Gateway REST API",
    description="API Gateway REST API, Lambda proxy (httpMethod and resource, no version)",
    matches=is_rest_event,
    codec=_rest_codec,
    known_by=("httpMethod", "resource", "path", "requestContext"),
)

__all__ = ["API_GATEWAY_HTTP_V1", "API_GATEWAY_REST"]
