"""API Gateway HTTP APIs (payload format 2.0) and Lambda Function URLs: the only package that
knows their JSON.

The two services share one event and one response schema; they differ in what ``rawPath`` holds
(decoded with the stage for an HTTP API, raw for a Function URL) and in the cookies they send, so
each is its own Source. ``detect`` recognises their events; ``request`` (event -> Request) and
``response`` (Response -> dict) run in every invocation, imported with the first event of their
kind; ``service`` is the services' own side (building events, reading answers), used by tests and
local tools, never inside Lambda. The rules: docs/sources/apigateway_v2.md.
"""

from __future__ import annotations

from ..base import Source
from .detect import (
    FUNCTION_URL_SOURCE_NAME,
    HTTP_API_SOURCE_NAME,
    is_function_url_event,
    is_http_api_event,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    from ..base import ParseEvent, RenderResponse


def _http_api_codec() -> tuple[ParseEvent, RenderResponse]:
    from .request import parse_http_api_event
    from .response import render_response

    return parse_http_api_event, render_response


def _function_url_codec() -> tuple[ParseEvent, RenderResponse]:
    from .request import parse_function_url_event
    from .response import render_response

    return parse_function_url_event, render_response


API_GATEWAY_HTTP_V2 = Source(
    name=HTTP_API_SOURCE_NAME,
    label="API Gateway HTTP API (payload 2.0)",
    description=(
        "API Gateway HTTP API, payload 2.0 (version 2.0 with requestContext.http, any domain but "
        "*.lambda-url.*)"
    ),
    matches=is_http_api_event,
    codec=_http_api_codec,
    known_by=("version", "rawPath", "rawQueryString", "requestContext.http"),
)

FUNCTION_URL = Source(
    name=FUNCTION_URL_SOURCE_NAME,
    label="Lambda Function URL",
    description=(
        "Lambda Function URL (version 2.0 with requestContext.http, requestContext.domainName "
        "*.lambda-url.*)"
    ),
    matches=is_function_url_event,
    codec=_function_url_codec,
    known_by=(
        "version",
        "rawPath",
        "rawQueryString",
        "requestContext.http",
        "requestContext.domainName",
    ),
)

__all__ = ["API_GATEWAY_HTTP_V2", "FUNCTION_URL"]
