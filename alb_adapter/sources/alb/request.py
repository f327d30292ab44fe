"""ALB event -> Request: the request side of the ALB codec, run on every invocation.

Each rule followed here is stated, with its evidence, in docs/alb-behaviour.md (rules 1-7).
"""

from __future__ import annotations

from ...errors import InvalidBody, InvalidEvent
from ...log import logger
from ...model import Request

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any

    from ...config import Config
    from ...model import Headers

SOURCE_NAME = "alb"
HEALTH_CHECK_AGENT_PREFIX = "ELB-HealthChecker/"

# Characters that may stay as they are in a rebuilt query or path: printable ASCII except the space
# and '#'. '%' is kept, so existing escapes pass through untouched (never decoded and re-encoded).
_QUERY_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) != "#")
_PATH_SAFE = _QUERY_SAFE.replace("?", "")
_QUERY_SAFE_BYTES = _QUERY_SAFE.encode("ascii")


def is_alb_event(event: object) -> bool:
    """ALB marks its events with ``requestContext.elb`` (docs/alb-behaviour.md, "The event")."""
    if type(event) is not dict:
        return False
    request_context = event.get("requestContext")
    return type(request_context) is dict and "elb" in request_context


def is_multi_value(event: Mapping[str, object]) -> bool:
    """The target group's header mode, as the event shows it (rule 1): the response mirrors it."""
    return event.get("multiValueHeaders") is not None


def parse_event(event: dict[str, object], context: object, config: Config) -> Request:
    """Turn an ALB event into a Request (docs/alb-behaviour.md, rules 1-7).

    Raises InvalidEvent naming the field for a missing or mistyped field, and InvalidBody
    (carrying the rest of the request) when the body cannot be decoded, so the handler can answer
    400 in the header mode ALB expects.
    """
    method = event.get("httpMethod")
    if type(method) is not str or not _is_token(method):
        if type(method) is not str or not method:
            raise InvalidEvent("httpMethod", _must_be("a non-empty string", method))
        raise InvalidEvent("httpMethod", f"is not an HTTP method: {method!r}")

    raw_path, path = _parse_path(event.get("path"))

    if is_multi_value(event):
        headers = _multi_value_headers(event["multiValueHeaders"])
        query_string = _multi_value_query(event.get("multiValueQueryStringParameters"))
        if event.get("headers") or event.get("queryStringParameters"):
            logger().warning(
                "event mixes multi-value and single-value fields, which ALB never does; "
                "using multiValueHeaders/multiValueQueryStringParameters and ignoring "
                "headers/queryStringParameters"
            )
        last = dict(headers)  # the last value of each name: what ALB itself would act on
        # ALB may split X-Forwarded-For over several lines: they are one list, in order.
        forwarded_for = ",".join([value for name, value in headers if name == "x-forwarded-for"])
    else:
        last = _single_value_headers(event.get("headers"))
        headers = tuple(last.items())
        query_string = _single_value_query(event.get("queryStringParameters"))
        forwarded_for = last.get("x-forwarded-for", "")

    scheme, server = _addressed(
        last.get("x-forwarded-proto"),
        last.get("x-forwarded-port"),
        last.get("host"),
        config.default_host,
    )
    user_agent = last.get("user-agent", "")

    body_error = None
    try:
        body = _parse_body(event.get("body"), event.get("isBase64Encoded"))
    except InvalidBody as exc:
        body, body_error = b"", exc
    request = Request(
        method=method,
        raw_path=raw_path,
        path=path,
        query_string=query_string,
        headers=headers,
        body=body,
        scheme=scheme,
        server=server,
        client=_client(forwarded_for, config.trusted_hops),
        health_check=user_agent.startswith(HEALTH_CHECK_AGENT_PREFIX),
        source=SOURCE_NAME,
        event=event,
        context=context,
    )
    if body_error is not None:
        body_error.request = request  # so the 400 goes out in the header mode ALB expects
        raise body_error
    return request


def _is_token(text: str) -> bool:
    """Non-empty printable ASCII without spaces or colons: a method or a header name."""
    return (
        bool(text) and text.isascii() and text.isprintable() and " " not in text and ":" not in text
    )


def _must_be(expected: str, value: object) -> str:
    """The complaint about a field, naming the value's type only: a value may be a secret (a
    cookie, a token in a query), and the error is logged by Lambda."""
    if value is None:
        return f"must be {expected} (it is missing or null)"
    return f"must be {expected}, got {type(value).__name__}"


# --------------------------------------------------------------------------- path and query


def _parse_path(value: object) -> tuple[str, bytes]:
    """(raw path, percent-decoded bytes) (rule 2). The raw form keeps every escape, so %2F stays
    visible; only what cannot appear in a path is escaped."""
    if type(value) is not str:
        raise InvalidEvent("path", _must_be("a string", value))
    raw = value or "/"
    if raw[0] != "/":
        raw = "/" + raw
    if not _is_safe(raw) or "?" in raw:
        raw = _quote(raw, _PATH_SAFE, "path")
    if "%" not in raw:
        return raw, raw.encode("ascii")
    from urllib.parse import unquote_to_bytes  # only escaped paths need it (cold start)

    return raw, unquote_to_bytes(raw)


def _is_safe(text: str) -> bool:
    """True when ``text`` needs no escaping to sit in a URL."""
    try:
        return not text.encode("ascii").translate(None, _QUERY_SAFE_BYTES)
    except UnicodeEncodeError:
        return False


def _quote(text: str, safe: str, field: str) -> str:
    """Percent-encode (as UTF-8) only what cannot appear in a URL; existing escapes stay."""
    from urllib.parse import quote

    try:
        return quote(text, safe=safe)
    except UnicodeEncodeError:
        raise InvalidEvent(field, "contains text that is not valid Unicode") from None


def _query_text(query: str, field: str) -> str:
    """The query as it may sit in a URL: only what cannot appear there is escaped (rule 3).

    Escaping the joined query is the same as escaping each key and value: ``=`` and ``&`` are
    left as they are either way."""
    return query if _is_safe(query) else _quote(query, _QUERY_SAFE, field)


def _single_value_query(value: object) -> str:
    """``k=v`` pairs joined with ``&``, exactly as the client sent them (rule 3)."""
    if value is None:
        return ""
    field = "queryStringParameters"
    if type(value) is not dict:
        raise InvalidEvent(field, _must_be("an object of strings", value))
    for key, item in value.items():
        if type(key) is not str:
            raise InvalidEvent(field, f"has a key that is not a string: {type(key).__name__}")
        if type(item) is not str:
            raise InvalidEvent(f"{field}[{key!r}]", _must_be("a string", item))
    query = "&".join(map("=".join, value.items()))
    if not query.isascii():  # only text beyond ASCII can be text HTTP cannot carry
        for key, item in value.items():
            _check_text(key, field)
            _check_text(item, f"{field}[{key!r}]")
    return _query_text(query, field)


def _multi_value_query(value: object) -> str:
    """Every ``k=v`` pair of every key, in order, joined with ``&`` (rule 3).

    As with headers, what ALB sends (lists of ASCII strings) is recognised by a few C-level
    passes; anything else is walked, and the walk names what is wrong. tests/test_alb_parse.py
    proves both give the same answer.
    """
    if value is None:
        return ""
    field = "multiValueQueryStringParameters"
    if type(value) is not dict:
        raise InvalidEvent(field, _must_be("an object of string lists", value))
    if {list}.issuperset(map(type, value.values())):
        try:
            keys = "".join(value)  # even a key without values must be a string
            query = "&".join([key + "=" + item for key, items in value.items() for item in items])
        except TypeError:
            pass  # a key or an item that is not a string: the walk names it
        else:
            if keys.isascii() and query.isascii():
                return _query_text(query, field)
    return walk_multi_value_query(value)


def walk_multi_value_query(value: dict[object, object]) -> str:
    """The reference path of ``_multi_value_query``: every key and item checked."""
    field = "multiValueQueryStringParameters"
    pairs: list[str] = []
    for key, items in value.items():
        if type(key) is not str:
            raise InvalidEvent(field, f"has a key that is not a string: {type(key).__name__}")
        _check_text(key, field)
        for index, item in enumerate(_as_list(items, f"{field}[{key!r}]")):
            item_field = f"{field}[{key!r}][{index}]"
            if type(item) is not str:
                raise InvalidEvent(item_field, _must_be("a string", item))
            _check_text(item, item_field)
            pairs.append(key + "=" + item)
    return _query_text("&".join(pairs), field)


def _as_list(items: object, field: str) -> list[object]:
    """A multi-value entry: a list; a bare string (seen in hand-made events) counts as one value."""
    if type(items) is list:
        return items
    if items is None:
        return []
    if type(items) is str:
        return [items]
    raise InvalidEvent(field, _must_be("a list of strings", items))


# --------------------------------------------------------------------------- headers


def _single_value_headers(value: object) -> dict[str, str]:
    """Lowercase name -> value, one per name (rule 4).

    ALB's own maps are already clean (lowercase names, ASCII values): ``_clean_headers`` sees
    that in a few C-level passes and the map is taken as it is; any other map is walked, and the
    walk names what is wrong. tests/test_alb_parse.py proves both give the same answer.
    """
    if value is None:
        return {}
    if type(value) is not dict:
        raise InvalidEvent("headers", _must_be("an object of strings", value))
    if _clean_headers(value, value.values()):
        return value
    return walk_single_value_headers(value)


def walk_single_value_headers(value: dict[object, object]) -> dict[str, str]:
    """The reference path of ``_single_value_headers``: every name and value checked."""
    last: dict[str, str] = {}
    for name, item in value.items():
        lower = _header_name(name, "headers")
        field = f"headers[{name!r}]"
        if type(item) is not str:
            raise InvalidEvent(field, _must_be("a string", item))
        _check_text(item, field)
        # A hand-made event may spell one name twice (Host, host): one value per name, the last,
        # as ALB's single-value mode itself keeps.
        last.pop(lower, None)
        last[lower] = item
    return last


def _multi_value_headers(value: object) -> Headers:
    """(lowercase name, value) pairs, every value of every name in order (rule 4); the fast
    check and the walk as in ``_single_value_headers``."""
    if type(value) is not dict:
        raise InvalidEvent("multiValueHeaders", _must_be("an object of string lists", value))
    lists = value.values()
    # Every entry a list (one C-level pass over their types), then the usual clean check.
    if {list}.issuperset(map(type, lists)) and _clean_headers(value, map("".join, lists)):
        return tuple([(name, item) for name, items in value.items() for item in items])
    return walk_multi_value_headers(value)


def walk_multi_value_headers(value: dict[object, object]) -> Headers:
    """The reference path of ``_multi_value_headers``: every name and item checked."""
    pairs: list[tuple[str, str]] = []
    for name, entry in value.items():
        lower = _header_name(name, "multiValueHeaders")
        for index, item in enumerate(_as_list(entry, f"multiValueHeaders[{name!r}]")):
            field = f"multiValueHeaders[{name!r}][{index}]"
            if type(item) is not str:
                raise InvalidEvent(field, _must_be("a string", item))
            _check_text(item, field)
            pairs.append((lower, item))
    return tuple(pairs)


def _clean_headers(names: Mapping[Any, object], values: Iterable[object]) -> bool:
    """Whether every name (the keys of ``names``) is already a lowercase token and every value
    ASCII text, which is what ALB sends: then no per-header check can fail and none is needed.

    The names are joined with ``:``, which no name may contain, so one pass over the joined text
    checks them all: as many colons as separators means none inside a name.
    """
    try:
        joined_names = ":".join(names)  # TypeError: a name that is not a str
        joined_values = "".join(values)  # type: ignore[arg-type]  # TypeError: a value not a str
    except TypeError:
        return False
    return (
        "" not in names
        and joined_names.count(":") == len(names) - 1
        and " " not in joined_names
        and joined_names.isascii()
        and joined_names.isprintable()
        and joined_names.lower() == joined_names
        and joined_values.isascii()
    )


def _header_name(name: object, field: str) -> str:
    if type(name) is not str or not _is_token(name):
        raise InvalidEvent(field, f"has a key that is not a header name: {name!r:.60}")
    return name.lower()


def _check_text(value: str, field: str) -> None:
    """Text must be encodable: JSON can carry lone surrogates, HTTP cannot."""
    if value.isascii():
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidEvent(field, "is not valid Unicode") from None


# --------------------------------------------------------------------------- addresses


def _addressed(
    proto: str | None, port_text: str | None, host: str | None, default_host: str
) -> tuple[str, tuple[str, int]]:
    """Scheme and (host, port) as the client addressed the load balancer (rule 6)."""
    scheme = "https" if proto is not None and proto.strip().lower() == "https" else "http"
    port = int(port_text) if port_text and _is_port(port_text) else 0
    if not 0 < port < 65536:
        port = 443 if scheme == "https" else 80
    name = _host_name(host) if host else ""
    return scheme, (name or default_host, port)


def _is_port(text: str) -> bool:
    """One to five ASCII digits: ``str.isdigit`` alone also takes ``²`` and ``١٢``, which ``int``
    then refuses or reads as another number."""
    return 0 < len(text) <= 5 and text.isascii() and text.isdigit()


def _host_name(host: str) -> str:
    """The Host header without its port; an IPv6 literal loses its brackets."""
    host = host.strip()
    if host.startswith("["):
        end = host.find("]")
        return host[1:end] if end > 0 else ""
    return host.partition(":")[0]


def _client(forwarded_for: str, trusted_hops: int) -> tuple[str, int] | None:
    """The client address from X-Forwarded-For, trusting only the last ``trusted_hops`` entries
    (rule 6).

    ALB appends the address of the peer it saw, so with one trusted hop (ALB alone) the client is
    the rightmost entry; everything to its left came from the client and can be forged. With a
    CDN in front (two hops) it is the second from the right, and so on.
    """
    entries = [entry.strip() for entry in forwarded_for.split(",")]
    entries = [entry for entry in entries if entry]
    if trusted_hops == 0 or len(entries) < trusted_hops:
        # Fewer entries than trusted proxies: the request did not come through all of them, so
        # every entry may be the client's own (werkzeug's ProxyFix decides the same).
        return None
    return _address(entries[-trusted_hops])


def _address(entry: str) -> tuple[str, int]:
    """``ip``, ``ip:port`` or ``[v6]:port`` (ALB's xff_client_port format) -> (ip, port or 0)."""
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif entry.count(":") == 1:
        host, _, port_text = entry.partition(":")
    else:  # a bare IPv4 address, as ALB writes it, or a bare IPv6 one
        host, port_text = entry, ""
    port = int(port_text) if _is_port(port_text) else 0
    return host, port if port < 65536 else 0


# --------------------------------------------------------------------------- body


def _parse_body(body: object, encoded: object) -> bytes:
    """The body bytes per ``isBase64Encoded`` (rule 5): never guessed from the content type."""
    if body is None or body == "":
        return b""
    if type(body) is not str:
        raise InvalidEvent("body", _must_be("a string", body))
    if encoded is None:
        encoded = False
    elif type(encoded) is not bool:
        raise InvalidEvent("isBase64Encoded", _must_be("true or false", encoded))
    if not encoded:
        try:
            return body.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidBody("is not valid Unicode text") from None
    try:
        return b64decode(body)
    except ValueError:  # binascii.Error is one
        raise InvalidBody("is not valid base64 although isBase64Encoded is true") from None


def b64decode(text: str) -> bytes:
    """Strict standard base64: no stray characters, correct padding."""
    import binascii  # here, not at the top: only base64 bodies need it (cold start)

    return binascii.a2b_base64(text, strict_mode=True)
