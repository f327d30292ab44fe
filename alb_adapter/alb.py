"""The ALB codec: the only module that knows the load balancer's JSON, in both directions.

``parse_event`` and ``render_response`` run in every invocation (event -> Request, Response ->
dict). ``build_event`` and ``parse_response`` are their inverses, for the test helpers and the local
emulator, which must produce exactly what a real ALB produces and reject what a real ALB rejects.
The rules, with their sources, are DESIGN §5 and reference/alb-spec.md.
"""

from __future__ import annotations

import sys

from .errors import AppError, InvalidBody, InvalidEvent, InvalidResponse, UnsupportedEvent
from .http import (
    REASON_PHRASES,
    Request,
    Response,
    has_forbidden_characters,
    is_dropped_response_header,
    is_valid_status,
)
from .log import logger

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from .config import Config, TextTypes
    from .http import Headers

HEALTH_CHECK_AGENT_PREFIX = "ELB-HealthChecker/"
ALB_MAX_JSON_BYTES = 1_000_000
ALB_MAX_HEADER_BYTES = 32 * 1024  # the whole response header block (ELB quotas)

# Characters that may stay as they are in a rebuilt query or path: printable ASCII except the space
# and '#'. '%' is kept, so existing escapes pass through untouched (never decoded and re-encoded).
_QUERY_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) != "#")
_PATH_SAFE = _QUERY_SAFE.replace("?", "")
_QUERY_SAFE_BYTES = _QUERY_SAFE.encode("ascii")

# The request-body rule of ALB (ELB user guide, "Lambda functions as targets"): these types travel
# as text, everything else (and anything with a Content-Encoding) as base64.
ALB_REQUEST_TEXT_TYPES = ("application/json", "application/javascript", "application/xml")

_STRICT_BASE64 = sys.version_info >= (3, 11)


def _log_warning(message: str, *args: object) -> None:
    logger().warning(message, *args)


# --------------------------------------------------------------------------- event -> Request


def parse_event(event: object, context: object, config: Config) -> Request:
    """Turn an ALB event into a Request, following DESIGN §5 rules 1-7.

    Raises UnsupportedEvent for anything that is not an ALB event, InvalidEvent naming the field
    for an ALB event with a missing or mistyped field, and InvalidBody (carrying the rest of the
    request) when ``isBase64Encoded`` is true but the body is not base64.

    This runs on every invocation, so what ALB itself sends (lowercase known header names, ASCII
    text, no escaping needed) is recognised with a few checks done in C, and the field-by-field
    walk that can name what is wrong runs only when one of them fails.
    """
    if type(event) is not dict:
        raise UnsupportedEvent(
            f"expected an ALB event (a JSON object with requestContext.elb), got "
            f"{type(event).__name__}"
        )
    request_context = event.get("requestContext")
    if type(request_context) is not dict or "elb" not in request_context:
        raise UnsupportedEvent(_not_alb(event, request_context))

    method = event.get("httpMethod")
    if type(method) is not str or (method not in _METHODS and not _is_token(method)):
        if not isinstance(method, str) or not method:
            raise InvalidEvent("httpMethod", _must_be("a non-empty string", method))
        raise InvalidEvent("httpMethod", f"is not an HTTP method: {method!r}")

    raw_path, path = _parse_path(event.get("path"))

    multi_value = event.get("multiValueHeaders") is not None
    if multi_value:
        headers, last, xff = _multi_value_headers(event["multiValueHeaders"])
        query_string = _multi_value_query(event.get("multiValueQueryStringParameters"))
        if event.get("headers") or event.get("queryStringParameters"):
            _log_warning(
                "event mixes multi-value and single-value fields, which ALB never does; "
                "using multiValueHeaders/multiValueQueryStringParameters and ignoring "
                "headers/queryStringParameters"
            )
    else:
        last = _single_value_headers(event.get("headers"))
        headers = tuple(last.items())
        query_string = _single_value_query(event.get("queryStringParameters"))
        xff = last.get("x-forwarded-for")

    scheme, server = _server(last, config)
    user_agent = last.get("user-agent")
    body = event.get("body")
    body_error = None
    if not body and (body is None or body == ""):
        body = b""
    else:
        try:
            body = _parse_body(body, event.get("isBase64Encoded"))
        except InvalidBody as exc:
            body, body_error = b"", exc
    request = Request.from_fields(
        (
            method,
            raw_path,
            path,
            query_string,
            headers,
            body,
            scheme,
            server,
            None if xff is None else _client(xff, config.trusted_hops),
            multi_value,
            user_agent is not None and user_agent.startswith(HEALTH_CHECK_AGENT_PREFIX),
            event,
            context,
        ),
    )
    if body_error is not None:
        body_error.request = request  # so the 400 goes out in the header mode ALB expects
        raise body_error
    return request


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _not_alb(event: dict[str, object], request_context: object) -> str:
    seen = ", ".join(sorted(map(str, event))) or "no keys"
    inner = ""
    if isinstance(request_context, dict):
        inner = f"; requestContext has: {', '.join(sorted(map(str, request_context))) or 'no keys'}"
    return (
        f"not an ALB event: requestContext.elb is missing (event has: {seen}{inner}). "
        "alb_adapter handles Application Load Balancer events only"
    )


def _is_token(text: str) -> bool:
    """Non-empty printable ASCII without spaces or colons: a method or a header name."""
    return (
        bool(text) and text.isascii() and text.isprintable() and " " not in text and ":" not in text
    )


def _must_be(expected: str, value: object) -> str:
    if value is None:
        return f"must be {expected} (it is missing or null)"
    return f"must be {expected}, got {type(value).__name__} {value!r:.60}"


def _parse_path(value: object) -> tuple[str, bytes]:
    """(raw path, percent-decoded bytes). The raw form keeps every escape, so %2F stays visible."""
    if type(value) is not str:
        raise InvalidEvent("path", _must_be("a string", value))
    raw = value or "/"
    if raw[0] != "/":
        raw = "/" + raw
    if not _is_safe(raw) or "?" in raw:
        raw = _quote(raw, _PATH_SAFE, "path")
    if "%" not in raw:
        return raw, raw.encode("ascii")
    from urllib.parse import unquote_to_bytes

    return raw, unquote_to_bytes(raw)


def _is_safe(text: str) -> bool:
    """True when ``text`` needs no escaping to sit in a URL (the common case, checked in C)."""
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
        raise InvalidEvent(
            field, f"contains text that is not valid Unicode: {text!r:.60}"
        ) from None


# The characters of a lowercase header name (RFC 9110 token): a name made only of these needs no
# other check, and bytes.translate tells in one C pass.
_LOWERCASE_TOKEN = b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"

# Lowercase forms of header names already seen and checked (names repeat on every invocation).
# Bounded, since names come from clients.
_HEADER_NAMES: dict[str, str] = {}
_HEADER_NAMES_MAX = 1024


def _header_name(name: object, field: str) -> str:
    """The checked, lowercased name (the slow path of the cache above)."""
    if type(name) is not str or not _is_token(name):
        raise InvalidEvent(field, f"has a key that is not a header name: {name!r:.60}")
    lower = name.lower()
    if len(_HEADER_NAMES) < _HEADER_NAMES_MAX:
        _HEADER_NAMES[name] = lower
        if lower == name and len(_CLEAN_NAMES) < _CLEAN_NAMES_MAX:
            _CLEAN_NAMES.add(name)
    return lower


def _check_text(value: str, field: str) -> None:
    """Non-ASCII header text must be encodable (JSON can carry lone surrogates; HTTP cannot)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidEvent(field, "is not valid Unicode") from None


# Header names already seen that are lowercase RFC 9110 tokens, as ALB sends them: a header map made
# only of these needs no per-name check, and set.issuperset tells in C. Bounded, since names come
# from clients (a name outside it only takes the slower walk).
_CLEAN_NAMES: set[str] = set()
_CLEAN_NAMES_MAX = 1024


def _single_value_headers(value: object) -> dict[str, str]:
    """Lowercase name -> value; the event's own map when it is already clean (as ALB's are)."""
    if type(value) is dict:
        if _CLEAN_NAMES.issuperset(value):
            try:
                if "".join(value.values()).isascii():
                    return value
            except TypeError:
                pass  # a value that is not a string: the walk below names it
    elif value is None:
        return {}
    else:
        raise InvalidEvent("headers", _must_be("an object of strings", value))
    last: dict[str, str] = {}
    known = _HEADER_NAMES
    for name, item in value.items():
        lower = known.get(name) or _header_name(name, "headers")
        if type(item) is not str:
            raise InvalidEvent(f"headers[{name!r}]", _must_be("a string", item))
        if not item.isascii():
            _check_text(item, f"headers[{name!r}]")
        # A hand-made event may spell one name twice (Host, host): one value per name, the last,
        # as ALB's single-value mode itself keeps.
        last.pop(lower, None)
        last[lower] = item
    return last


# What every entry of a clean multi-value map is: set.issuperset(map(type, ...)) checks it in C.
_LIST_TYPE = frozenset({list})


def _multi_value_headers(value: object) -> tuple[Headers, dict[str, str], str | None]:
    """The (name, value) pairs in order, the last value of each name, and every X-Forwarded-For
    value joined with commas (ALB may split that header over several lines)."""
    if type(value) is dict:
        if _CLEAN_NAMES.issuperset(value):
            lists = value.values()
            try:
                clean = (
                    _LIST_TYPE.issuperset(map(type, lists))
                    and "".join(map("".join, lists)).isascii()
                )
            except TypeError:
                clean = False  # an item that is not a string: the walk below names it
            if clean:
                pairs = tuple([(name, item) for name, items in value.items() for item in items])
                forwarded_for = value.get("x-forwarded-for")
                return pairs, dict(pairs), ",".join(forwarded_for) if forwarded_for else None
    else:
        raise InvalidEvent("multiValueHeaders", _must_be("an object of string lists", value))
    return _walk_multi_value_headers(value)


def _walk_multi_value_headers(
    value: dict[Any, Any],
) -> tuple[Headers, dict[str, str], str | None]:
    """The field-by-field form of the above, for maps it cannot vouch for: it names what is bad."""
    pairs: list[tuple[str, str]] = []
    last: dict[str, str] = {}
    forwarded_for: list[str] = []
    names = _HEADER_NAMES
    for name, entry in value.items():
        lower = names.get(name) or _header_name(name, "multiValueHeaders")
        items = entry if type(entry) is list else _as_list(entry, f"multiValueHeaders[{name!r}]")
        is_xff = lower == "x-forwarded-for"
        for index, raw in enumerate(items):
            if type(raw) is str and raw.isascii():
                item = raw
            else:
                item = _check_item(raw, f"multiValueHeaders[{name!r}][{index}]")
            pairs.append((lower, item))
            last[lower] = item
            if is_xff:
                forwarded_for.append(item)
    return tuple(pairs), last, ",".join(forwarded_for) if forwarded_for else None


def _check_item(item: object, field: str) -> str:
    if type(item) is not str:
        raise InvalidEvent(field, _must_be("a string", item))
    _check_text(item, field)
    return item


def _as_list(items: object, field: str) -> list[object]:
    """A multi-value entry: a list; a bare string (seen in hand-made events) counts as one value."""
    if isinstance(items, list):
        return items
    if items is None:
        return []
    if isinstance(items, str):
        return [items]
    raise InvalidEvent(field, _must_be("a list of strings", items))


def _query_part(text: object, field: str) -> str:
    if type(text) is not str:
        raise InvalidEvent(field, _must_be("a string", text))
    return text if _is_safe(text) else _quote(text, _QUERY_SAFE, field)


def _single_value_query(value: object) -> str:
    if type(value) is dict:
        if not value:
            return ""
        try:
            query = "&".join(map("=".join, value.items()))
        except TypeError:
            pass  # a part that is not a string: the walk below names it
        else:
            # Nearly always safe already: one check on the whole string, not one per part.
            if _is_safe(query):
                return query
    elif value is None:
        return ""
    else:
        raise InvalidEvent("queryStringParameters", _must_be("an object of strings", value))
    return "&".join(
        [
            f"{_query_part(key, 'queryStringParameters')}="
            f"{_query_part(item, f'queryStringParameters[{key!r}]')}"
            for key, item in value.items()
        ]
    )


def _multi_value_query(value: object) -> str:
    if not value and (value is None or type(value) is dict):
        return ""
    if type(value) is not dict:
        raise InvalidEvent(
            "multiValueQueryStringParameters", _must_be("an object of string lists", value)
        )
    try:
        query = "&".join(
            [key + "=" + item for key, items in value.items() for item in items]
            if _LIST_TYPE.issuperset(map(type, value.values()))
            else []
        )
    except TypeError:
        query = ""
    if query and _is_safe(query):
        return query
    pairs: list[str] = []
    for key, items in value.items():
        field = f"multiValueQueryStringParameters[{key!r}]"
        raw_key = _query_part(key, "multiValueQueryStringParameters")
        for index, item in enumerate(_as_list(items, field)):
            pairs.append(f"{raw_key}={_query_part(item, f'{field}[{index}]')}")
    return "&".join(pairs)


# (X-Forwarded-Proto, X-Forwarded-Port, Host, default host) -> (scheme, (host, port)): a site sees
# few combinations, so each is worked out once. Bounded, since the headers come from clients.
_SERVERS: dict[tuple[str | None, str | None, str | None, str], tuple[str, tuple[str, int]]] = {}
_SERVERS_MAX = 256


def _server(last: dict[str, str], config: Config) -> tuple[str, tuple[str, int]]:
    """Scheme and (host, port) as the client addressed the load balancer."""
    key = (
        last.get("x-forwarded-proto"),
        last.get("x-forwarded-port"),
        last.get("host"),
        config.default_host,
    )
    found = _SERVERS.get(key)
    if found is None:
        found = _addressed(*key)
        if len(_SERVERS) < _SERVERS_MAX:
            _SERVERS[key] = found
    return found


def _addressed(
    proto: str | None, port_text: str | None, host: str | None, default_host: str
) -> tuple[str, tuple[str, int]]:
    scheme = "http" if proto is None else proto.strip().lower()
    if scheme != "https":
        scheme = "http"
    port = int(port_text) if port_text and port_text.isdigit() and len(port_text) <= 5 else 0
    if not 0 < port < 65536:
        port = 443 if scheme == "https" else 80
    name = _host_name(host) if host else ""
    return scheme, (name or default_host, port)


def _host_name(host: str) -> str:
    """The Host header without its port; an IPv6 literal keeps its brackets off."""
    if ":" not in host:
        return host.strip()
    host = host.strip()
    if host.startswith("["):
        end = host.find("]")
        return host[1:end] if end > 0 else ""
    return host.partition(":")[0]


def _client(joined: str, trusted_hops: int) -> tuple[str, int] | None:
    """The client address from X-Forwarded-For, trusting only the last ``trusted_hops`` entries.

    ALB appends the address of the peer it saw, so with one trusted hop (ALB alone) the client is
    the rightmost entry; everything to its left came from the client and can be forged. With a
    CDN in front (two hops) it is the second from the right, and so on. ``joined`` is every
    X-Forwarded-For value joined with commas.
    """
    if trusted_hops == 0:
        return None
    if "," not in joined and trusted_hops == 1:
        entry = joined.strip()
        if ":" not in entry:  # a bare IPv4 address, as ALB writes it
            return (entry, 0) if entry else None
        return _address(entry)
    entries = [entry.strip() for entry in joined.split(",")]
    entries = [entry for entry in entries if entry]
    if not entries:
        return None
    entry = entries[-trusted_hops] if len(entries) >= trusted_hops else entries[0]
    return _address(entry)


def _address(entry: str) -> tuple[str, int]:
    """``ip``, ``ip:port`` or ``[v6]:port`` (ALB's xff_client_port format) -> (ip, port or 0)."""
    if ":" not in entry:
        return entry, 0
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif entry.count(":") == 1:
        host, _, port_text = entry.partition(":")
    else:
        host, port_text = entry, ""
    port = int(port_text) if port_text.isdigit() and len(port_text) <= 5 else 0
    return host, port if port < 65536 else 0


def _parse_body(body: object, encoded: object) -> bytes:
    """The body bytes of a non-empty ``body`` field, per ``isBase64Encoded``."""
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
        return _b64decode(body)
    except ValueError:  # binascii.Error is one
        raise InvalidBody("is not valid base64 although isBase64Encoded is true") from None


def _b64decode(text: str) -> bytes:
    """Strict standard base64: no stray characters, correct padding."""
    if _STRICT_BASE64:
        import binascii  # here, not at the top: only base64 bodies need it (cold start)

        return binascii.a2b_base64(text, strict_mode=True)  # type: ignore[call-arg,unused-ignore]
    import base64

    return base64.b64decode(text, validate=True)  # pragma: no cover (Python 3.10)


# --------------------------------------------------------------------------- Response -> dict


def render_response(response: Response, request: Request, config: Config) -> dict[str, object]:
    """Turn a Response into the dict ALB expects, following DESIGN §5 rules 8-13.

    Raises AppError for a response no load balancer may receive (bad status, a header that is not
    a string or holds CR/LF/NUL, several cookies with ``multi_cookie="error"``) and
    ResponseTooLarge when the JSON would exceed ``max_response_bytes`` even gzipped.
    """
    status, reason, headers, body = response
    # The standard phrase ("200 OK", what WSGI frameworks send) needs no check: it is in the table.
    if reason is None or reason == REASON_PHRASES.get(status):
        description = _DESCRIPTIONS.get(status) if type(status) is int else None
        if description is None:
            if type(status) is not int or not 100 <= status <= 599:
                raise AppError(f"status must be an int from 100 to 599, got {status!r}")
            description = f"{status} Unknown"
    else:
        if type(status) is not int or not 100 <= status <= 599:
            raise AppError(f"status must be an int from 100 to 599, got {status!r}")
        if has_forbidden_characters(reason):
            raise AppError(f"reason phrase contains CR, LF or NUL: {reason!r}")
        description = f"{status} {reason}"

    last, grouped, header_chars = _group_headers(headers)
    if header_chars > ALB_MAX_HEADER_BYTES // 2:  # cheap bound first: chars <= bytes <= 4 * chars
        _check_header_size(_every_value(last, grouped))
    if type(body) is not bytes:
        body = bytes(body)
    if request.method == "HEAD":
        body = b""  # as every HTTP server does; frameworks such as Starlette leave it to them

    text, is_base64 = _encode_body(body, last, config) if body else ("", False)
    multi_value = request.multi_value
    result = _render(status, description, last, grouped, text, is_base64, multi_value, config)
    # A cheap upper bound first: JSON escaping grows one byte of UTF-8 text to at most 6
    # characters (\u0001) and a header character to at most 12 (a non-BMP one); base64 is never
    # escaped. Only near the limit is the exact size computed.
    bound = 256 + 12 * header_chars + (len(text) if is_base64 else 6 * len(body))
    limit = config.max_response_bytes
    if bound > limit:
        size = _json_size(result)
        if size > limit:
            every = _every_value(last, grouped)
            result = _shrink(result, size, status, description, every, body, request, config)
    return result


# "200 OK" for every registered status: the statusDescription when the app gave no reason.
_DESCRIPTIONS = {status: f"{status} {phrase}" for status, phrase in REASON_PHRASES.items()}


def _check_header_size(grouped: dict[str, list[str]]) -> None:
    """ALB answers 502 when the response headers pass 32 KB (as "name: value" lines on the wire)."""
    size = sum(
        len(name) + len(value.encode("utf-8")) + 4
        for name, values in grouped.items()
        for value in values
    )
    if size > ALB_MAX_HEADER_BYTES:
        from .errors import ResponseTooLarge

        raise ResponseTooLarge(
            size, ALB_MAX_HEADER_BYTES, "ALB's limit on headers", "response headers"
        )


# Response header names already checked: name as the app wrote it -> lowercase name, or "" for a
# header ALB must not get (hop-by-hop, Content-Length). Bounded: apps use a handful of names.
_RESPONSE_NAMES: dict[str, str] = {}
_RESPONSE_NAMES_MAX = 1024


def _response_header_name(name: object) -> str:
    if type(name) is not str:
        raise AppError(f"header names must be str, got {name!r}")
    lower = name.lower()
    if is_dropped_response_header(lower):
        lower = ""
    elif not name or not name.isascii() or has_forbidden_characters(name) or ":" in name:
        raise AppError(f"invalid header name {name!r}")
    if len(_RESPONSE_NAMES) < _RESPONSE_NAMES_MAX:
        _RESPONSE_NAMES[name] = lower
    return lower


def _group_headers(
    headers: Iterable[tuple[str, str]],
) -> tuple[dict[str, str], dict[str, list[str]] | None, int]:
    """The headers ALB may get, by lowercase name in order (hop-by-hop and Content-Length
    dropped): the last value of each name; every value of each name, or None when no name
    repeats (the common case, which then needs no lists); and the characters they hold."""
    last: dict[str, str] = {}
    grouped: dict[str, list[str]] | None = None
    chars = 0
    names = _RESPONSE_NAMES
    for name, value in headers:
        if type(value) is not str:
            raise AppError(f"header values must be str, got {name!r}: {value!r}")
        lower = names.get(name)
        if lower is None:
            lower = _response_header_name(name)
        if not lower:
            continue
        if not value.isprintable() and ("\r" in value or "\n" in value or "\0" in value):
            raise AppError(f"header {name!r} contains CR, LF or NUL (header injection): {value!r}")
        # Surrounding blanks are not part of a value (RFC 9110 §5.5); Django adds one to cookies.
        clean = value.strip(" \t")
        chars += len(lower) + len(clean) + 1
        if grouped is not None:
            values = grouped.get(lower)
            if values is None:
                grouped[lower] = [clean]
            else:
                values.append(clean)
        elif lower in last:
            grouped = {key: [item] for key, item in last.items()}
            grouped[lower].append(clean)
        last[lower] = clean
    return last, grouped, chars


def _every_value(
    last: dict[str, str], grouped: dict[str, list[str]] | None
) -> dict[str, list[str]]:
    return grouped if grouped is not None else {name: [value] for name, value in last.items()}


def _render(
    status: int,
    description: str,
    last: dict[str, str],
    grouped: dict[str, list[str]] | None,
    text: str,
    is_base64: bool,
    multi_value: bool,
    config: Config,
) -> dict[str, object]:
    if multi_value:
        return {
            "statusCode": status,
            "statusDescription": description,
            "isBase64Encoded": is_base64,
            "multiValueHeaders": _every_value(last, grouped),
            "body": text,
        }
    return {
        "statusCode": status,
        "statusDescription": description,
        "isBase64Encoded": is_base64,
        "headers": last if grouped is None else _single_value(grouped, config),
        "body": text,
    }


def _encode_body(body: bytes, last: dict[str, str], config: Config) -> tuple[str, bool]:
    """Text when the type is listed as text, nothing encodes it and it is UTF-8; else base64."""
    content_type = last.get("content-type")
    encoding = last.get("content-encoding")
    if content_type and (encoding is None or encoding.strip().lower() in ("", "identity")):
        text_types = config.text_content_types
        as_text = text_types.cache.get(content_type)
        if as_text is None:
            as_text = _is_text_type(content_type, text_types)
        if as_text:
            try:
                return body.decode("utf-8"), False
            except UnicodeDecodeError:
                pass  # mislabelled bytes: base64 keeps them intact instead of a 502
    import binascii  # here, not at the top: only binary answers need it (cold start)

    return binascii.b2a_base64(body, newline=False).decode("ascii"), True


def _is_text_type(content_type: str, text_types: TextTypes) -> bool:
    """Whether this Content-Type value is sent as text (remembered: apps use a handful)."""
    media_type, _, params = content_type.partition(";")
    as_text = text_types.matches(media_type.strip().lower()) and _utf8_charset(params)
    if len(text_types.cache) < 256:
        text_types.cache[content_type] = as_text
    return as_text


def _utf8_charset(params: str) -> bool:
    """No charset, or one whose bytes are UTF-8 (sending latin-1 as text would corrupt it)."""
    if "charset" not in params.lower():
        return True
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip('"').lower() in ("utf-8", "utf8", "us-ascii", "ascii")
    return True


_COOKIE_LETTERS = [index for index, char in enumerate("set-cookie") if char.isalpha()]
_warned_last_cookie: set[int] = set()


def _cookie_key(n: int) -> str:
    """The n-th spelling of set-cookie: n's bits say which letters are upper case (512 in all)."""
    chars = list("set-cookie")
    for bit, position in enumerate(_COOKIE_LETTERS):
        if n >> bit & 1:
            chars[position] = chars[position].upper()
    return "".join(chars)


def _single_value(grouped: dict[str, list[str]], config: Config) -> dict[str, str]:
    """One string per name; repeated Set-Cookie per ``multi_cookie``, others joined with ', '."""
    headers: dict[str, str] = {}
    for name, values in grouped.items():
        if len(values) == 1:
            headers[name] = values[0]
        elif name != "set-cookie":
            headers[name] = ", ".join(values)
        elif config.multi_cookie == "case-variants":
            if len(values) > 2 ** len(_COOKIE_LETTERS):
                raise AppError(
                    f"{len(values)} Set-Cookie headers: at most 512 fit in single-value mode"
                )
            for index, value in enumerate(values):
                headers[_cookie_key(index)] = value
        elif config.multi_cookie == "last":
            headers[name] = values[-1]
            if id(config) not in _warned_last_cookie:
                _warned_last_cookie.add(id(config))
                _log_warning(
                    "%d Set-Cookie headers in single-value mode: only the last is sent "
                    "(multi_cookie='last'); enable lambda.multi_value_headers.enabled on the "
                    "target group to send them all. Warned once.",
                    len(values),
                )
        else:
            raise AppError(
                f"{len(values)} Set-Cookie headers cannot be sent in single-value mode "
                "(multi_cookie='error'); enable lambda.multi_value_headers.enabled on the "
                "target group, or choose multi_cookie='case-variants'"
            )
    return headers


def _json_size(result: dict[str, object]) -> int:
    """Bytes of the JSON the Lambda runtime will send (ASCII-escaped, the larger encoding)."""
    import json

    return len(json.dumps(result))


def _accepts_gzip(request: Request) -> bool:
    accept = ",".join(value for key, value in request.headers if key == "accept-encoding")
    quality: dict[str, float] = {}
    for item in accept.split(","):
        coding, _, params = item.partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        quality[coding.strip().lower()] = q
    q = quality.get("gzip", quality.get("x-gzip", quality.get("*", 0.0)))
    return q > 0


def _shrink(
    result: dict[str, object],
    size: int,
    status: int,
    description: str,
    grouped: dict[str, list[str]],
    body: bytes,
    request: Request,
    config: Config,
) -> dict[str, object]:
    """Gzip an oversized body when the client allows it; otherwise (or if still too big) raise."""
    from .errors import ResponseTooLarge

    limit = config.max_response_bytes
    if "content-encoding" in grouped or not _accepts_gzip(request):
        why = "already encoded" if "content-encoding" in grouped else "client does not accept gzip"
        raise ResponseTooLarge(size, limit, why)
    import zlib

    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # 31: gzip container
    compressed = compressor.compress(body) + compressor.flush()
    grouped = dict(grouped)
    grouped["content-encoding"] = ["gzip"]
    vary = grouped.get("vary", [])
    if not any("accept-encoding" in value.lower() or "*" in value for value in vary):
        grouped["vary"] = [*vary, "Accept-Encoding"]
    # A validator of the uncompressed body no longer describes these bytes.
    etags = grouped.get("etag")
    if etags:
        grouped["etag"] = [tag if tag.startswith("W/") else "W/" + tag for tag in etags]
    import binascii

    text = binascii.b2a_base64(compressed, newline=False).decode("ascii")
    last = {name: values[-1] for name, values in grouped.items()}
    result = _render(status, description, last, grouped, text, True, request.multi_value, config)
    new_size = _json_size(result)
    if new_size > limit:
        raise ResponseTooLarge(new_size, limit, f"after gzip (was {size} bytes)")
    return result


# --------------------------------------------------------------------------- the inverses


def build_event(
    method: str,
    raw_path: str,
    query_string: str = "",
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    *,
    multi_value_headers: bool = False,
    target_group_arn: str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/"
    "alb-adapter/0123456789abcdef",
) -> dict[str, object]:
    """The event ALB sends for an HTTP request, as ALB builds it.

    ``raw_path`` and ``query_string`` are taken as they came on the wire (never decoded).
    Header names are lowercased; in single-value mode the last of a repeated header or query key
    wins, in multi-value mode all are kept in order. The body is base64 when there is a
    Content-Encoding or the type is not text/*, JSON, JavaScript or XML (ALB's own rule). The
    headers ALB adds (X-Forwarded-*, trace id) are the caller's: see ``forwarded_headers``.
    """
    pairs = [(name.lower(), value) for name, value in headers]
    query = [_split_query_item(item) for item in query_string.split("&") if item]
    encoded = bool(body) and _alb_sends_base64(pairs)
    if encoded:
        import binascii

        text = binascii.b2a_base64(body, newline=False).decode("ascii")
    else:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidEvent(
                "body",
                "is not UTF-8 but its content type travels as text; ALB fails such a request "
                "(LambdaBadRequest)",
            ) from None
    event: dict[str, object] = {
        "requestContext": {"elb": {"targetGroupArn": target_group_arn}},
        "httpMethod": method,
        "path": raw_path or "/",
    }
    if multi_value_headers:
        multi_query: dict[str, list[str]] = {}
        for key, value in query:
            multi_query.setdefault(key, []).append(value)
        multi_headers: dict[str, list[str]] = {}
        for name, value in pairs:
            multi_headers.setdefault(name, []).append(value)
        event["multiValueQueryStringParameters"] = multi_query
        event["multiValueHeaders"] = multi_headers
    else:
        event["queryStringParameters"] = dict(query)
        event["headers"] = dict(pairs)
    event["body"] = text
    event["isBase64Encoded"] = encoded
    return event


def _split_query_item(item: str) -> tuple[str, str]:
    key, _, value = item.partition("=")
    return key, value


def _alb_sends_base64(lowercase_headers: list[tuple[str, str]]) -> bool:
    content_type = ""
    for name, value in lowercase_headers:
        if name == "content-encoding":
            return True
        if name == "content-type":
            content_type = value
    media_type = content_type.partition(";")[0].strip().lower()
    return not (media_type.startswith("text/") or media_type in ALB_REQUEST_TEXT_TYPES)


def forwarded_headers(
    headers: Iterable[tuple[str, str]],
    *,
    client_ip: str,
    scheme: str,
    port: int,
    trace_id: str,
) -> list[tuple[str, str]]:
    """The request headers as ALB forwards them: X-Forwarded-For appended to, X-Forwarded-Proto
    and -Port set, a trace id added (or ``Self=`` prepended to the client's own)."""
    out: list[tuple[str, str]] = []
    xff: list[str] = []
    client_trace = None
    for name, value in headers:
        lower = name.lower()
        if lower == "x-forwarded-for":
            xff.append(value)
        elif lower == "x-amzn-trace-id":
            client_trace = value
        elif lower == "host":
            out.append((lower, value.lower()))  # ALB lowercases the host name it forwards
        elif lower not in ("x-forwarded-proto", "x-forwarded-port"):
            out.append((lower, value))
    xff.append(client_ip)
    out.append(("x-forwarded-for", ", ".join(xff)))
    out.append(("x-forwarded-proto", scheme))
    out.append(("x-forwarded-port", str(port)))
    if client_trace and "Root=" in client_trace:
        trace = f"Self={trace_id.removeprefix('Root=')};{client_trace}"
    elif client_trace:
        trace = f"{trace_id};{client_trace}"
    else:
        trace = trace_id
    out.append(("x-amzn-trace-id", trace))
    return out


def parse_response(
    payload: object,
    *,
    multi_value_headers: bool = False,
    max_bytes: int = ALB_MAX_JSON_BYTES,
) -> Response:
    """Read a Lambda answer the way ALB does, raising InvalidResponse wherever ALB answers 502.

    Headers sent in the field ALB ignores for this mode are dropped, with a warning, as ALB drops
    them silently. Case-variant Set-Cookie keys each become a Set-Cookie header.
    """
    if not isinstance(payload, dict):
        raise InvalidResponse(f"the response must be a JSON object, got {type(payload).__name__}")
    _reject_nulls(payload, "response")
    size = _json_size(payload)
    if size > max_bytes:
        raise InvalidResponse(
            f"the response JSON is {size} bytes, over ALB's limit of {max_bytes} "
            "(LambdaResponseTooLarge)"
        )
    status = payload.get("statusCode")
    if not is_valid_status(status):
        raise InvalidResponse(f"statusCode must be an integer from 100 to 599, got {status!r}")
    assert isinstance(status, int)
    description = payload.get("statusDescription")
    reason = None
    if description is not None:
        if not isinstance(description, str):
            raise InvalidResponse(f"statusDescription must be a string, got {description!r}")
        reason = description.partition(" ")[2] or None

    wanted, ignored = (
        ("multiValueHeaders", "headers")
        if multi_value_headers
        else ("headers", "multiValueHeaders")
    )
    if ignored in payload:
        _log_warning(
            "the response has %s, which ALB ignores when multi-value headers are %s: "
            "those headers are dropped",
            ignored,
            "enabled" if multi_value_headers else "disabled",
        )
    headers = _response_headers(payload.get(wanted, {}), wanted)
    header_bytes = sum(len(name) + len(value.encode("utf-8")) + 4 for name, value in headers)
    if header_bytes > ALB_MAX_HEADER_BYTES:
        raise InvalidResponse(
            f"the response headers are {header_bytes} bytes, over ALB's limit of "
            f"{ALB_MAX_HEADER_BYTES}"
        )

    encoded = payload.get("isBase64Encoded", False)
    if not isinstance(encoded, bool):
        raise InvalidResponse(f"isBase64Encoded must be true or false, got {encoded!r}")
    body_text = payload.get("body", "")
    if not isinstance(body_text, str):
        raise InvalidResponse(f"body must be a string, got {type(body_text).__name__}")
    if encoded:
        try:
            body = _b64decode(body_text)
        except ValueError:  # binascii.Error is one
            raise InvalidResponse("isBase64Encoded is true but body is not valid base64") from None
    else:
        body = body_text.encode("utf-8", "surrogatepass")
    return Response(status, headers, body, reason)


def _reject_nulls(value: object, where: str) -> None:
    if value is None:
        raise InvalidResponse(f"{where} is null (ALB answers 502 to a null anywhere)")
    if isinstance(value, dict):
        for key, item in value.items():
            _reject_nulls(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _reject_nulls(item, f"{where}[{index}]")


def _response_headers(value: object, field: str) -> Headers:
    if not isinstance(value, dict):
        raise InvalidResponse(f"{field} must be an object, got {type(value).__name__}")
    pairs: list[tuple[str, str]] = []
    for name, items in value.items():
        values = items if field == "multiValueHeaders" else [items]
        if not isinstance(values, list):
            raise InvalidResponse(f"{field}[{name!r}] must be a list of strings, got {items!r}")
        for item in values:
            if not isinstance(item, str):
                raise InvalidResponse(
                    f"{field}[{name!r}] holds {type(item).__name__} {item!r}; ALB accepts only "
                    "strings (LambdaInvalidResponse)"
                )
            pairs.append((name.lower(), item))
    return tuple(pairs)
