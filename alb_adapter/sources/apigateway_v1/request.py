"""Payload 1.0 event -> Request: the request side of API Gateway REST APIs and of HTTP APIs using
payload format 1.0, run on every invocation.

Both services send one format and differ where it matters. A REST API sends ``path`` as the
client sent it (still percent-encoded) but without the stage its execute-api URL carries; an HTTP
API sends ``path`` already percent-decoded, with a named stage at its start. Both send the query
decoded, so the raw query is rebuilt, and both keep the client's spelling of header names. Every
rule, with its evidence and what is still unconfirmed, is in docs/sources/apigateway_v1.md.
"""

from __future__ import annotations

from functools import cache

from ...errors import InvalidEvent
from ...model import Request
from ..fields import (
    api_gateway_addressed,
    as_list,
    check_text,
    checked_request,
    clean_headers,
    domain_name,
    header_name,
    multi_value_header_pairs,
    must_be,
    parse_decoded_path,
    parse_method,
    parse_path,
    read_body,
    service_address,
    stage_prefix,
)
from .detect import HTTP_V1_SOURCE_NAME, REST_SOURCE_NAME

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    from ...config import Config
    from ...model import Headers


# --------------------------------------------------------------------------- the two formats


def parse_rest_event(event: dict[str, object], context: object, config: Config) -> Request:
    """Turn a REST API event into a Request.

    ``path`` is the raw path; on the execute-api host the client's URL also carried the stage,
    which ``path`` lacks: it is put back in front and becomes ``root_path``, so the app routes
    without it and builds URLs with it. On a custom domain the path is taken as it is (its API
    mapping's base path, if any, stays in it: the handler's ``base_path`` takes it off).
    """
    request_context = _request_context(event.get("requestContext"))
    headers = _headers(event.get("multiValueHeaders"), event.get("headers"))
    raw_path, path = parse_path(event.get("path"))
    root_path = stage_prefix(request_context.get("stage"), _host(request_context, headers))
    if root_path:
        raw_path = root_path.decode("ascii") + raw_path
        path = root_path + path
    return _parse(
        event,
        context,
        config,
        request_context,
        headers,
        raw_path,
        path,
        root_path,
        REST_SOURCE_NAME,
    )


def parse_http_v1_event(event: dict[str, object], context: object, config: Config) -> Request:
    """Turn an HTTP API payload 1.0 event into a Request.

    ``path`` is taken as already percent-decoded, as payload 2.0's is: it is re-encoded only
    where a character cannot appear in a URL, and never decoded again. That is unconfirmed for
    1.0 (docs/sources/apigateway_v1.md): were it raw, a client's ``%20`` would reach the app as
    the text ``%20``, never as a wrongly decoded character. A named stage called on the
    execute-api host is at its start and becomes ``root_path``.
    """
    request_context = _request_context(event.get("requestContext"))
    headers = _headers(event.get("multiValueHeaders"), event.get("headers"))
    raw_path, path = parse_decoded_path(event.get("path"), "path")
    root_path = stage_prefix(request_context.get("stage"), _host(request_context, headers), path)
    return _parse(
        event,
        context,
        config,
        request_context,
        headers,
        raw_path,
        path,
        root_path,
        HTTP_V1_SOURCE_NAME,
    )


def _parse(
    event: dict[str, object],
    context: object,
    config: Config,
    request_context: dict[str, object],
    headers: Headers,
    raw_path: str,
    path: bytes,
    root_path: bytes,
    source: str,
) -> Request:
    """Everything both formats send alike: method, query, address, body.

    Raises InvalidBody carrying the rest of the request, so the handler answers 400 in this
    format without calling the app.
    """
    method = parse_method(event.get("httpMethod"), "httpMethod")

    last = dict(headers)  # the last value of each name
    scheme, server = api_gateway_addressed(last, request_context, config.default_host)
    body, body_error = read_body(event.get("body"), event.get("isBase64Encoded"))
    if body and "content-length" not in last:
        # A REST API drops the client's Content-Length; apps that read it (Django's multipart
        # parser under ASGI) would see an empty body without one.
        headers = (*headers, ("content-length", str(len(body))))
    request = Request(
        method=method,
        raw_path=raw_path,
        path=path,
        root_path=root_path,
        query_string=_query(
            event.get("multiValueQueryStringParameters"), event.get("queryStringParameters")
        ),
        headers=headers,
        body=body,
        scheme=scheme,
        server=server,
        client=_client(request_context.get("identity")),
        health_check=False,
        source=source,
        event=event,
        context=context,
    )
    return checked_request(request, body_error)


def _request_context(value: object) -> dict[str, object]:
    """``requestContext``; absent or null (hand-made and some invoked events) reads as empty."""
    if value is None:
        return {}
    if type(value) is not dict:
        raise InvalidEvent("requestContext", must_be("an object", value))
    return value


# --------------------------------------------------------------------------- stage


def _host(request_context: dict[str, object], headers: Headers) -> str | None:
    """The host whose URL may carry the stage: ``requestContext.domainName``, else (hand-made
    events and SAM's local emulation may lack it) the last Host header."""
    host = domain_name(request_context)
    if host is None:
        host = next((value for name, value in reversed(headers) if name == "host"), None)
    return host


# --------------------------------------------------------------------------- headers and query


def _headers(multi: object, single: object) -> Headers:
    """(lowercase name, value) pairs: every value of ``multiValueHeaders`` in order, then any
    name only ``headers`` has (hand-made events may fill one map less than the other).

    A REST API keeps the client's spelling of a name and keeps spellings apart (``X-Token`` and
    ``x-token`` are two keys): they are merged here by lowercasing, which also reads an HTTP
    API's names alike whether it lowercases them or not (unconfirmed for 1.0). Where both maps
    name a header, ``multiValueHeaders`` holds every value and ``headers`` only the last; several
    ``cookie`` entries (an HTTP/2 client's split cookies, unconfirmed) are kept as they are and
    joined with ``"; "`` by the WSGI and ASGI layers.

    What the services send (``headers`` naming only what ``multiValueHeaders`` names, every entry
    of that a list, the names header names and the values ASCII) is recognised in a few C-level
    passes, and ``headers`` then adds nothing; any other pair of maps is walked, and the walk names
    what is wrong. tests/sources/test_apigateway_v1.py proves both give the same answer.
    """
    if (
        type(multi) is dict
        and (single is None or (type(single) is dict and single.keys() <= multi.keys()))
        and {list}.issuperset(map(type, multi.values()))
        and clean_headers(multi, map("".join, multi.values()), lowercase=False)
    ):
        return tuple([(name.lower(), item) for name, items in multi.items() for item in items])
    return walk_headers(multi, single)


def walk_headers(multi: object, single: object) -> Headers:
    """The reference path of ``_headers``: every name and value checked."""
    pairs: list[tuple[str, str]] = []
    in_multi: set[str] = set()
    if multi is not None:
        if type(multi) is not dict:
            raise InvalidEvent("multiValueHeaders", must_be("an object of string lists", multi))
        pairs = multi_value_header_pairs(multi, "multiValueHeaders")
        in_multi = {name.lower() for name in multi}  # all checked: header names, as strings
    if single is not None:
        if type(single) is not dict:
            raise InvalidEvent("headers", must_be("an object of strings", single))
        for name, item in single.items():
            lower = header_name(name, "headers")
            if lower in in_multi:
                continue
            field = f"headers[{name!r}]"
            if type(item) is not str:
                raise InvalidEvent(field, must_be("a string", item))
            check_text(item, field)
            pairs.append((lower, item))
    return tuple(pairs)


def _query(multi: object, single: object) -> str:
    """The raw query rebuilt from the decoded maps, form-encoded as a browser encodes a query
    (``a b`` -> ``a+b``, ``a+b`` -> ``a%2Bb``, ``,`` -> ``%2C``).

    ``multiValueQueryStringParameters`` holds every value of each key in order; a key only in
    ``queryStringParameters`` follows. The service groups values by key, so the relative order
    of different keys (``a=1&b=2&a=3``) is lost, as are the client's own escapes.

    What the services send (``queryStringParameters`` naming only keys the multi-value map has,
    every entry of that a list of strings, all valid Unicode) is recognised in a few C-level
    passes and encoded without a check per value; any other pair of maps is walked, and the walk
    names what is wrong. tests/sources/test_apigateway_v1.py proves both give the same answer.
    """
    if (
        type(multi) is dict
        and (single is None or (type(single) is dict and single.keys() <= multi.keys()))
        and {list}.issuperset(map(type, multi.values()))
    ):
        try:
            # TypeError: a key or an item that is not a str; UnicodeEncodeError: a lone surrogate
            "".join([*multi, *map("".join, multi.values())]).encode("utf-8")
        except (TypeError, UnicodeEncodeError):
            pass  # the walk names it
        else:
            return "&".join(
                [
                    form_encode(key) + "=" + form_encode(item)
                    for key, items in multi.items()
                    for item in items
                ]
            )
    return walk_query(multi, single)


def walk_query(multi: object, single: object) -> str:
    """The reference path of ``_query``: every key and value checked."""
    items: list[str] = []
    in_multi: set[str] = set()
    if multi is not None:
        field = "multiValueQueryStringParameters"
        if type(multi) is not dict:
            raise InvalidEvent(field, must_be("an object of string lists", multi))
        for key, entry in multi.items():
            if type(key) is not str:
                raise InvalidEvent(field, f"has a key that is not a string: {type(key).__name__}")
            check_text(key, field)
            in_multi.add(key)
            prefix = form_encode(key) + "="
            for index, item in enumerate(as_list(entry, f"{field}[{key!r}]")):
                item_field = f"{field}[{key!r}][{index}]"
                if type(item) is not str:
                    raise InvalidEvent(item_field, must_be("a string", item))
                check_text(item, item_field)
                items.append(prefix + form_encode(item))
    if single is not None:
        field = "queryStringParameters"
        if type(single) is not dict:
            raise InvalidEvent(field, must_be("an object of strings", single))
        for key, item in single.items():
            if type(key) is not str:
                raise InvalidEvent(field, f"has a key that is not a string: {type(key).__name__}")
            if key in in_multi:
                continue
            if type(item) is not str:
                raise InvalidEvent(f"{field}[{key!r}]", must_be("a string", item))
            check_text(key, field)
            check_text(item, f"{field}[{key!r}]")
            items.append(form_encode(key) + "=" + form_encode(item))
    return "&".join(items)


# Letters, digits and these stay as they are in a form-encoded query; a space becomes '+'.
_FORM_SAFE = "*-._"


@cache  # built by the first query that needs it, not at import (cold start)
def _form_escapes() -> list[str]:
    """What each byte becomes in a form-encoded query, indexed by the byte."""
    escapes = [f"%{byte:02X}" for byte in range(256)]
    for byte in range(128):
        if chr(byte).isalnum() or chr(byte) in _FORM_SAFE:
            escapes[byte] = chr(byte)
    escapes[ord(" ")] = "+"
    return escapes


def form_encode(text: str) -> str:
    """``text`` as a browser form-encodes it (application/x-www-form-urlencoded): letters,
    digits and ``*-._`` stay, a space becomes ``+``, everything else is escaped as UTF-8
    (``urllib.parse.quote_plus(text, safe="*")`` with ``~`` escaped too, as browsers do).

    ``text`` must be valid Unicode (``check_text``): a lone surrogate raises UnicodeEncodeError.
    """
    if text.isascii() and text.isalnum():
        return text
    # Each UTF-8 byte read as the code point of the same number, so one translate maps them all.
    return text.encode("utf-8").decode("latin-1").translate(_form_escapes())


# --------------------------------------------------------------------------- address


def _client(identity: object) -> tuple[str, int] | None:
    """``requestContext.identity.sourceIp`` (``service_address``)."""
    if identity is None:
        return None
    if type(identity) is not dict:
        raise InvalidEvent("requestContext.identity", must_be("an object", identity))
    return service_address(identity.get("sourceIp"), "requestContext.identity.sourceIp")
