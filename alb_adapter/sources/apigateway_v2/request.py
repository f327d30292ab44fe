"""Payload 2.0 event -> Request: the request side of API Gateway HTTP APIs (payload format 2.0)
and Lambda Function URLs, run on every invocation.

Both services send one schema and differ where it matters: an HTTP API hands over ``rawPath``
already percent-decoded, with a named stage at its start; a Function URL hands it over as the
client sent it and has no stage. Every rule, and the evidence for it, is in
docs/sources/apigateway_v2.md.
"""

from __future__ import annotations

from ...errors import InvalidEvent
from ...model import Request
from ..fields import (
    api_gateway_addressed,
    check_text,
    checked_request,
    clean_headers,
    domain_name,
    header_name,
    must_be,
    parse_decoded_path,
    parse_method,
    parse_path,
    query_text,
    read_body,
    service_address,
    stage_prefix,
)
from .detect import (
    FUNCTION_URL_SOURCE_NAME,
    HTTP_API_SOURCE_NAME,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    from ...config import Config
    from ...model import Headers


# --------------------------------------------------------------------------- parsing


def parse_http_api_event(event: dict[str, object], context: object, config: Config) -> Request:
    """Turn an HTTP API payload 2.0 event into a Request.

    ``rawPath`` arrives percent-decoded: it is never unquoted again, and the Request's
    ``raw_path`` escapes only what cannot stand literally in a URL (so a client's ``%2F`` is seen
    as ``/``, and its ``%25`` as ``%`` in ``path`` and, escaped again, in ``raw_path``). A named
    stage on the execute-api domain becomes ``root_path``.
    """
    raw_path, path = parse_decoded_path(event.get("rawPath"), "rawPath")
    request_context = event.get("requestContext")
    root_path = b""
    if type(request_context) is dict:
        # Every payload 2.0 event names its domain: a hand-made one without it has no stage taken.
        host = domain_name(request_context)
        root_path = stage_prefix(request_context.get("stage"), host, path, strict=False)
    return _parse(event, context, config, raw_path, path, root_path, HTTP_API_SOURCE_NAME)


def parse_function_url_event(event: dict[str, object], context: object, config: Config) -> Request:
    """Turn a Lambda Function URL event into a Request: ``rawPath`` is the path as the client
    sent it (still percent-encoded), and there is no stage."""
    raw_path, path = parse_path(event.get("rawPath"), "rawPath")
    return _parse(event, context, config, raw_path, path, b"", FUNCTION_URL_SOURCE_NAME)


def _parse(
    event: dict[str, object],
    context: object,
    config: Config,
    raw_path: str,
    path: bytes,
    root_path: bytes,
    source: str,
) -> Request:
    """Everything both services send alike: method, query, headers and cookies, address, body.

    Raises InvalidBody carrying the rest of the request, so the handler answers 400 in this
    service's format without calling the app.
    """
    request_context = event.get("requestContext")
    if type(request_context) is not dict or type(request_context.get("http")) is not dict:
        # matches() saw it; a direct call (tests, tools) may not have
        raise InvalidEvent("requestContext.http", "must be an object (it is missing)")
    http = request_context["http"]
    method = parse_method(http.get("method"), "requestContext.http.method")

    headers = _with_cookies(_headers(event.get("headers")), _cookies(event.get("cookies")))
    last = dict(headers)
    scheme, server = api_gateway_addressed(last, request_context, config.default_host)
    body, body_error = read_body(event.get("body"), event.get("isBase64Encoded"))
    request = Request(
        method=method,
        raw_path=raw_path,
        path=path,
        root_path=root_path,
        query_string=_query(event.get("rawQueryString")),
        headers=headers,
        body=body,
        scheme=scheme,
        server=server,
        client=_client(http.get("sourceIp")),
        health_check=False,
        source=source,
        event=event,
        context=context,
    )
    return checked_request(request, body_error)


def _query(value: object) -> str:
    """``rawQueryString``: the query exactly as the client sent it, only what cannot appear in a
    URL escaped. Never rebuilt from ``queryStringParameters``, whose values are decoded and whose
    repeated keys are joined with commas (``a=1&a=2`` and ``a=1%2C2`` both become ``a: "1,2"``)."""
    if value is None:
        return ""
    if type(value) is not str:
        raise InvalidEvent("rawQueryString", must_be("a string", value))
    return query_text(value, "rawQueryString")


def _headers(value: object) -> list[tuple[str, str]]:
    """(lowercase name, value) pairs in the event's order. The services lowercase the names and
    join a repeated header into one value with commas; that value is kept whole.

    What the services send (lowercase header names, ASCII values) is recognised in a few C-level
    passes and taken as it is; any other map is walked, and the walk names what is wrong.
    tests/sources/test_apigateway_v2.py proves both give the same answer.
    """
    if value is None:
        return []
    if type(value) is not dict:
        raise InvalidEvent("headers", must_be("an object of strings", value))
    if clean_headers(value, value.values()):
        return list(value.items())
    return walk_headers(value)


def walk_headers(value: dict[object, object]) -> list[tuple[str, str]]:
    """The reference path of ``_headers``: every name and value checked."""
    pairs: list[tuple[str, str]] = []
    for name, item in value.items():
        lower = header_name(name, "headers")
        field = f"headers[{name!r}]"
        if type(item) is not str:
            raise InvalidEvent(field, must_be("a string", item))
        check_text(item, field)
        pairs.append((lower, item))
    return pairs


def _cookies(value: object) -> list[str]:
    """``cookies``: one ``name=value`` pair per entry, as the client's Cookie header held them."""
    if value is None:
        return []
    if type(value) is not list:
        raise InvalidEvent("cookies", must_be("a list of strings", value))
    for index, item in enumerate(value):
        if type(item) is not str:
            raise InvalidEvent(f"cookies[{index}]", must_be("a string", item))
        check_text(item, f"cookies[{index}]")
    return value


def _with_cookies(headers: list[tuple[str, str]], cookies: list[str]) -> Headers:
    """The headers with one ``cookie`` header made of ``cookies`` joined with ``"; "``, where the
    first ``cookie`` header was (else last).

    An HTTP API removes the Cookie header and sends only ``cookies``; a Function URL sends both,
    the header repeating the list. So a crumb of a ``cookie`` header is kept only when it is not
    already in ``cookies`` (a hand-made event may carry a different one): no cookie is doubled,
    none lost. A crumb that is several cookies joined with commas (a service joining two Cookie
    header lines as it joins other repeated headers) counts as present when each part is.
    """
    if not cookies:
        return tuple(headers)
    crumbs = list(cookies)
    known = set(cookies)
    for name, value in headers:
        if name != "cookie":
            continue
        for crumb in value.split(";"):
            crumb = crumb.strip()  # noqa: PLW2901
            if crumb and not all(part.strip() in known for part in crumb.split(",")):
                crumbs.append(crumb)
    cookie = ("cookie", "; ".join(crumbs))
    out: list[tuple[str, str]] = []
    placed = False
    for pair in headers:
        if pair[0] != "cookie":
            out.append(pair)
        elif not placed:
            out.append(cookie)
            placed = True
    if not placed:
        out.append(cookie)
    return tuple(out)


def _client(source_ip: object) -> tuple[str, int] | None:
    """``requestContext.http.sourceIp`` (``service_address``)."""
    return service_address(source_ip, "requestContext.http.sourceIp")
