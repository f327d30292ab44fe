"""Which events are API Gateway HTTP API payload 2.0 and Function URL events: all the handler
needs of this package until such an event arrives (the parsers load then: sources/base.py).
"""

from __future__ import annotations

HTTP_API_SOURCE_NAME = "apigw-http-v2"
FUNCTION_URL_SOURCE_NAME = "function-url"
FUNCTION_URL_DOMAIN_MARK = ".lambda-url."  # <url-id>.lambda-url.<region>.on.aws


def _payload_v2_context(event: object) -> dict[str, object] | None:
    """The requestContext of a payload 2.0 HTTP event (``version`` "2.0" and a
    ``requestContext.http`` object), else None.

    ``requestContext.http`` is what tells these events from VPC Lattice's V2 events, which also
    say ``"version": "2.0"`` but carry ``method`` and ``path`` at the top level instead.
    """
    if type(event) is not dict or event.get("version") != "2.0":
        return None
    request_context = event.get("requestContext")
    if type(request_context) is not dict or type(request_context.get("http")) is not dict:
        return None
    return request_context


def _is_function_url_domain(request_context: dict[str, object]) -> bool:
    domain = request_context.get("domainName")
    return type(domain) is str and FUNCTION_URL_DOMAIN_MARK in domain


def is_http_api_event(event: object) -> bool:
    """An API Gateway HTTP API event in payload format 2.0 (not a Function URL's)."""
    request_context = _payload_v2_context(event)
    return request_context is not None and not _is_function_url_domain(request_context)


def is_function_url_event(event: object) -> bool:
    """A Lambda Function URL event: the payload 2.0 schema, on a ``*.lambda-url.*`` domain."""
    request_context = _payload_v2_context(event)
    return request_context is not None and _is_function_url_domain(request_context)
