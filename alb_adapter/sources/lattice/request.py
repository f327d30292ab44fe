"""VPC Lattice event -> Request: the request side of the Lattice codec, for both event structures.

A Lattice target group of type Lambda sends its requests in one of two shapes, chosen per target
group (``lambdaEventStructureVersion``): V1, flat and snake_case, and V2, camelCase with a
``requestContext``. Both are read here into the same Request; what each field becomes, and the
choices made where Lattice's behaviour is unconfirmed, are in docs/sources/lattice.md.
"""

from __future__ import annotations

from ...errors import InvalidEvent
from ...model import Request
from ..fields import (
    addressed,
    check_text,
    checked_request,
    client_from_forwarded_for,
    header_name,
    must_be,
    parse_method,
    parse_path,
    query_text,
    read_body,
)
from .detect import V1_SOURCE_NAME, V2_SOURCE_NAME

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    from ...config import Config
    from ...model import Headers


def parse_v1_event(event: dict[str, object], context: object, config: Config) -> Request:
    """Turn a V1 event (``raw_path``, ``query_string_parameters``, ``is_base64_encoded``) into a
    Request. Header and query values are strings: Lattice has already joined a repeated header
    with commas and kept the last value of a repeated query key."""
    return _parse(
        event,
        context,
        config,
        source=V1_SOURCE_NAME,
        path_field="raw_path",
        query_field="query_string_parameters",
        flag_field="is_base64_encoded",
    )


def parse_v2_event(event: dict[str, object], context: object, config: Config) -> Request:
    """Turn a V2 event (``path``, ``queryStringParameters``, ``isBase64Encoded``) into a Request.
    Header and query values are lists, one item per occurrence; a plain string (older hand-made
    events) counts as one value. ``body`` and ``isBase64Encoded`` may be absent."""
    return _parse(
        event,
        context,
        config,
        source=V2_SOURCE_NAME,
        path_field="path",
        query_field="queryStringParameters",
        flag_field="isBase64Encoded",
    )


def _parse(
    event: dict[str, object],
    context: object,
    config: Config,
    *,
    source: str,
    path_field: str,
    query_field: str,
    flag_field: str,
) -> Request:
    """Both versions differ only in the names of three fields and in the value types, which the
    readers below accept either way.

    Raises InvalidEvent naming the field for a missing or mistyped field, and InvalidBody
    (carrying the rest of the request) when the body cannot be decoded, so the handler answers 400.
    """
    method = parse_method(event.get("method"), "method")

    # Sent as the client wrote it, escapes included, as ALB does (docs/sources/lattice.md).
    raw_path, path = parse_path(event.get(path_field), path_field)
    query_string = _query(event.get(query_field), query_field)
    headers = _headers(event.get("headers"))

    last: dict[str, str] = {}
    forwarded_for: list[str] = []
    for name, value in headers:
        last[name] = value
        if name == "x-forwarded-for":
            forwarded_for.append(value)
    # Lattice's own names for HTTP targets first (x-forwarded-for-proto, -port), then the usual
    # ones; with neither, https (the reasons are in docs/sources/lattice.md).
    proto = last.get("x-forwarded-for-proto") or last.get("x-forwarded-proto") or "https"
    scheme, server = addressed(
        proto,
        last.get("x-forwarded-for-port") or last.get("x-forwarded-port"),
        last.get("host"),
        config.default_host,
    )

    body, body_error = read_body(event.get("body"), event.get(flag_field), flag_field)
    request = Request(
        method=method,
        raw_path=raw_path,
        path=path,
        query_string=query_string,
        headers=headers,
        body=body,
        scheme=scheme,
        server=server,
        client=client_from_forwarded_for(",".join(forwarded_for), config.trusted_hops),
        health_check=False,  # nothing in a Lattice event marks a health check
        source=source,
        event=event,
        context=context,
    )
    return checked_request(request, body_error)


def _values(value: object, field: str) -> list[object]:
    """The values of one header or query key: a list (V2), or a string (V1, and the V2 events
    written before the documentation showed lists)."""
    if type(value) is list:
        return value
    if type(value) is str:
        return [value]
    raise InvalidEvent(field, must_be("a string or a list of strings", value))


def _headers(value: object) -> Headers:
    """(lowercase name, value) pairs: every value of every name, in event order.

    V2 may keep a client's capitals (``Header1``), so names are lowercased here; two spellings of
    one name are two occurrences of one header, as on the wire.
    """
    if value is None:
        return ()
    if type(value) is not dict:
        raise InvalidEvent("headers", must_be("an object", value))
    pairs: list[tuple[str, str]] = []
    for name, entry in value.items():
        lower = header_name(name, "headers")
        for index, item in enumerate(_values(entry, f"headers[{name!r}]")):
            if type(item) is not str:
                raise InvalidEvent(f"headers[{name!r}][{index}]", must_be("a string", item))
            check_text(item, f"headers[{name!r}]")
            pairs.append((lower, item))
    return tuple(pairs)


def _query(value: object, field: str) -> str:
    """``k=v`` pairs joined with ``&``, in event order, taken as sent: never decoded, only what
    cannot stand in a URL is escaped (docs/alb-behaviour.md, rule 3)."""
    if value is None:
        return ""
    if type(value) is not dict:
        raise InvalidEvent(field, must_be("an object", value))
    pairs: list[str] = []
    for key, entry in value.items():
        if type(key) is not str:
            raise InvalidEvent(field, f"has a key that is not a string: {type(key).__name__}")
        check_text(key, field)
        for index, item in enumerate(_values(entry, f"{field}[{key!r}]")):
            if type(item) is not str:
                raise InvalidEvent(f"{field}[{key!r}][{index}]", must_be("a string", item))
            check_text(item, f"{field}[{key!r}]")
            pairs.append(key + "=" + item)
    return query_text("&".join(pairs), field)
