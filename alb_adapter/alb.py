"""The ALB codec: the only module that knows the load balancer's JSON, in both directions.

``parse_event`` and ``render_response`` run in every invocation (event -> Request, Response ->
dict). ``build_event`` and ``parse_response`` are their inverses, for the test helpers and the local
emulator, which must produce exactly what a real ALB produces and reject what a real ALB rejects.
The rules, with their sources, are DESIGN §5 and reference/alb-spec.md.
"""

from __future__ import annotations

import binascii
import sys

from .errors import AppError, InvalidBody, InvalidEvent, InvalidResponse, UnsupportedEvent
from .http import (
    Request,
    Response,
    has_forbidden_characters,
    is_dropped_response_header,
    is_valid_status,
    reason_phrase,
)
from .log import logger

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from .config import Config
    from .http import Headers

HEALTH_CHECK_AGENT_PREFIX = "ELB-HealthChecker/"
ALB_MAX_JSON_BYTES = 1_000_000

# Characters that may stay as they are in a rebuilt query or path: printable ASCII except the space
# and '#'. '%' is kept, so existing escapes pass through untouched (never decoded and re-encoded).
_QUERY_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) != "#")
_PATH_SAFE = _QUERY_SAFE.replace("?", "")

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
    """
    if not isinstance(event, dict):
        raise UnsupportedEvent(
            f"expected an ALB event (a JSON object with requestContext.elb), got "
            f"{type(event).__name__}"
        )
    request_context = event.get("requestContext")
    if not isinstance(request_context, dict) or "elb" not in request_context:
        seen = ", ".join(sorted(map(str, event))) or "no keys"
        inner = ""
        if isinstance(request_context, dict):
            inner = (
                f"; requestContext has: {', '.join(sorted(map(str, request_context))) or 'no keys'}"
            )
        raise UnsupportedEvent(
            f"not an ALB event: requestContext.elb is missing (event has: {seen}{inner}). "
            "alb_adapter handles Application Load Balancer events only"
        )

    method = event.get("httpMethod")
    if not isinstance(method, str) or not method:
        raise InvalidEvent("httpMethod", _must_be("a non-empty string", method))
    if not method.isascii() or not method.isprintable() or " " in method:
        raise InvalidEvent("httpMethod", f"is not an HTTP method: {method!r}")

    raw_path, path = _parse_path(event.get("path"))

    multi_value = event.get("multiValueHeaders") is not None
    if multi_value:
        headers = _multi_value_headers(event["multiValueHeaders"])
        query_string = _multi_value_query(event.get("multiValueQueryStringParameters"))
        if event.get("headers") or event.get("queryStringParameters"):
            _log_warning(
                "event mixes multi-value and single-value fields, which ALB never does; "
                "using multiValueHeaders/multiValueQueryStringParameters and ignoring "
                "headers/queryStringParameters"
            )
    else:
        headers = _single_value_headers(event.get("headers"))
        query_string = _single_value_query(event.get("queryStringParameters"))

    scheme, server = _server(headers, config)
    user_agent = _last(headers, "user-agent")
    request = Request(
        method=method,
        raw_path=raw_path,
        path=path,
        query_string=query_string,
        headers=headers,
        body=b"",
        scheme=scheme,
        server=server,
        client=_client(headers, config.trusted_hops),
        multi_value=multi_value,
        health_check=user_agent is not None and user_agent.startswith(HEALTH_CHECK_AGENT_PREFIX),
        event=event,
        context=context,
    )
    body = _parse_body(event, request)
    return request.replace(body=body) if body else request


def _must_be(expected: str, value: object) -> str:
    if value is None:
        return f"must be {expected} (it is missing or null)"
    return f"must be {expected}, got {type(value).__name__} {value!r:.60}"


def _parse_path(value: object) -> tuple[str, bytes]:
    """(raw path, percent-decoded bytes). The raw form keeps every escape, so %2F stays visible."""
    if not isinstance(value, str):
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
    return text.isascii() and text.isprintable() and " " not in text and "#" not in text


def _quote(text: str, safe: str, field: str) -> str:
    """Percent-encode (as UTF-8) only what cannot appear in a URL; existing escapes stay."""
    from urllib.parse import quote

    try:
        return quote(text, safe=safe)
    except UnicodeEncodeError:
        raise InvalidEvent(
            field, f"contains text that is not valid Unicode: {text!r:.60}"
        ) from None


def _header_value(name: str, value: object, field: str) -> str:
    if not isinstance(value, str):
        raise InvalidEvent(field, _must_be("a string", value))
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidEvent(field, "is not valid Unicode") from None
    return value


def _single_value_headers(value: object) -> Headers:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise InvalidEvent("headers", _must_be("an object of strings", value))
    return tuple(
        (_header_name(name, "headers"), _header_value(name, item, f"headers[{name!r}]"))
        for name, item in value.items()
    )


def _multi_value_headers(value: object) -> Headers:
    if not isinstance(value, dict):
        raise InvalidEvent("multiValueHeaders", _must_be("an object of string lists", value))
    pairs: list[tuple[str, str]] = []
    for name, items in value.items():
        lower = _header_name(name, "multiValueHeaders")
        for index, item in enumerate(_as_list(items, f"multiValueHeaders[{name!r}]")):
            pairs.append(
                (lower, _header_value(lower, item, f"multiValueHeaders[{name!r}][{index}]"))
            )
    return tuple(pairs)


def _header_name(name: str, field: str) -> str:
    if not name or not name.isascii() or not name.isprintable() or " " in name or ":" in name:
        raise InvalidEvent(field, f"has a key that is not a header name: {name!r:.60}")
    return name.lower()


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
    if not isinstance(text, str):
        raise InvalidEvent(field, _must_be("a string", text))
    return text if _is_safe(text) else _quote(text, _QUERY_SAFE, field)


def _single_value_query(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, dict):
        raise InvalidEvent("queryStringParameters", _must_be("an object of strings", value))
    return "&".join(
        f"{_query_part(key, 'queryStringParameters')}="
        f"{_query_part(item, f'queryStringParameters[{key!r}]')}"
        for key, item in value.items()
    )


def _multi_value_query(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, dict):
        raise InvalidEvent(
            "multiValueQueryStringParameters", _must_be("an object of string lists", value)
        )
    pairs: list[str] = []
    for key, items in value.items():
        field = f"multiValueQueryStringParameters[{key!r}]"
        raw_key = _query_part(key, "multiValueQueryStringParameters")
        for index, item in enumerate(_as_list(items, field)):
            pairs.append(f"{raw_key}={_query_part(item, f'{field}[{index}]')}")
    return "&".join(pairs)


def _last(headers: Headers, name: str) -> str | None:
    found = None
    for key, value in headers:
        if key == name:
            found = value
    return found


def _server(headers: Headers, config: Config) -> tuple[str, tuple[str, int]]:
    """Scheme and (host, port) as the client addressed the load balancer."""
    proto = _last(headers, "x-forwarded-proto")
    scheme = proto.strip().lower() if proto else "http"
    if scheme not in ("http", "https"):
        scheme = "http"
    port_text = _last(headers, "x-forwarded-port")
    port = int(port_text) if port_text and port_text.isdigit() and len(port_text) <= 5 else 0
    if not 0 < port < 65536:
        port = 443 if scheme == "https" else 80
    host = _last(headers, "host")
    name = _host_name(host) if host else ""
    return scheme, (name or config.default_host, port)


def _host_name(host: str) -> str:
    """The Host header without its port; an IPv6 literal keeps its brackets off."""
    host = host.strip()
    if host.startswith("["):
        end = host.find("]")
        return host[1:end] if end > 0 else ""
    return host.partition(":")[0]


def _client(headers: Headers, trusted_hops: int) -> tuple[str, int] | None:
    """The client address from X-Forwarded-For, trusting only the last ``trusted_hops`` entries.

    ALB appends the address of the peer it saw, so with one trusted hop (ALB alone) the client is
    the rightmost entry; everything to its left came from the client and can be forged. With a
    CDN in front (two hops) it is the second from the right, and so on. No header: no client.
    """
    if trusted_hops == 0:
        return None
    values = [value for key, value in headers if key == "x-forwarded-for"]
    if not values:
        return None
    entries = [entry.strip() for entry in ",".join(values).split(",")]
    entries = [entry for entry in entries if entry]
    if not entries:
        return None
    entry = entries[-trusted_hops] if len(entries) >= trusted_hops else entries[0]
    return _address(entry)


def _address(entry: str) -> tuple[str, int]:
    """``ip``, ``ip:port`` or ``[v6]:port`` (ALB's xff_client_port format) -> (ip, port or 0)."""
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif entry.count(":") == 1:
        host, _, port_text = entry.partition(":")
    else:
        host, port_text = entry, ""
    port = int(port_text) if port_text.isdigit() and len(port_text) <= 5 else 0
    return host, port if port < 65536 else 0


def _parse_body(event: Mapping[str, object], request: Request) -> bytes:
    body = event.get("body")
    if body is None or body == "":
        return b""
    if not isinstance(body, str):
        raise InvalidEvent("body", _must_be("a string", body))
    encoded = event.get("isBase64Encoded")
    if encoded is None:
        encoded = False
    if not isinstance(encoded, bool):
        raise InvalidEvent("isBase64Encoded", _must_be("true or false", encoded))
    if not encoded:
        try:
            return body.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidBody("is not valid Unicode text", request) from None
    try:
        return _b64decode(body)
    except (binascii.Error, ValueError):
        raise InvalidBody("is not valid base64 although isBase64Encoded is true", request) from None


def _b64decode(text: str) -> bytes:
    """Strict standard base64: no stray characters, correct padding."""
    if _STRICT_BASE64:
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
    status = response.status
    if not is_valid_status(status):
        raise AppError(f"status must be an int from 100 to 599, got {status!r}")
    reason = response.reason or reason_phrase(status)
    if has_forbidden_characters(reason):
        raise AppError(f"reason phrase contains CR, LF or NUL: {reason!r}")

    grouped = _group_headers(response.headers)
    body = response.body
    if type(body) is not bytes:
        body = bytes(body)
    if request.method == "HEAD":
        body = b""  # as every HTTP server does; frameworks such as Starlette leave it to them

    result = _render(status, reason, grouped, body, request, config)
    if _may_exceed(result, body, config.max_response_bytes):
        size = _json_size(result)
        if size > config.max_response_bytes:
            result = _shrink(result, size, status, reason, grouped, body, request, config)
    return result


_BLANKS = (" ", "\t")


def _group_headers(headers: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Headers by lowercase name, in order; hop-by-hop and Content-Length dropped."""
    grouped: dict[str, list[str]] = {}
    for name, value in headers:
        if type(name) is not str or type(value) is not str:
            raise AppError(f"header names and values must be str, got {name!r}: {value!r}")
        lower = name.lower()
        if is_dropped_response_header(lower):
            continue
        if not name or not name.isascii() or has_forbidden_characters(name) or ":" in name:
            raise AppError(f"invalid header name {name!r}")
        if has_forbidden_characters(value):
            raise AppError(f"header {name!r} contains CR, LF or NUL (header injection): {value!r}")
        # Surrounding blanks are not part of a value (RFC 9110 §5.5); Django adds one to cookies.
        clean = value.strip(" \t") if value[:1] in _BLANKS or value[-1:] in _BLANKS else value
        if lower in grouped:
            grouped[lower].append(clean)
        else:
            grouped[lower] = [clean]
    return grouped


def _render(
    status: int,
    reason: str,
    grouped: dict[str, list[str]],
    body: bytes,
    request: Request,
    config: Config,
) -> dict[str, object]:
    text, is_base64 = _encode_body(body, grouped, config)
    result: dict[str, object] = {
        "statusCode": status,
        "statusDescription": f"{status} {reason}",
        "isBase64Encoded": is_base64,
        "body": text,
    }
    if request.multi_value:
        result["multiValueHeaders"] = grouped
    else:
        result["headers"] = _single_value(grouped, config)
    return result


def _encode_body(body: bytes, grouped: dict[str, list[str]], config: Config) -> tuple[str, bool]:
    """Text when the type is listed as text, nothing encodes it and it is UTF-8; else base64."""
    if not body:
        return "", False
    encoding = grouped.get("content-encoding")
    content_type = grouped.get("content-type")
    if (not encoding or encoding[-1].strip().lower() in ("", "identity")) and content_type:
        media_type, _, params = content_type[-1].partition(";")
        if config.text_content_types.matches(media_type.strip().lower()) and _utf8_charset(params):
            try:
                return body.decode("utf-8"), False
            except UnicodeDecodeError:
                pass  # mislabelled bytes: base64 keeps them intact instead of a 502
    return binascii.b2a_base64(body, newline=False).decode("ascii"), True


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


def _may_exceed(result: dict[str, object], body: bytes, limit: int) -> bool:
    """A cheap upper bound on the JSON size; only near the limit is the exact size computed.

    JSON escaping grows one byte of UTF-8 text to at most 6 characters (``\\u0001``); base64
    text is never escaped, so it counts once.
    """
    text = result["body"]
    assert isinstance(text, str)
    bound = 256 + (len(text) if result["isBase64Encoded"] else 6 * len(body))
    headers = result["multiValueHeaders"] if "multiValueHeaders" in result else result["headers"]
    assert isinstance(headers, dict)
    for name, values in headers.items():
        for value in values if isinstance(values, list) else (values,):
            bound += 12 * (len(name) + len(value)) + 8  # 12: a non-BMP character
    return bound > limit


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
    reason: str,
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
    result = _render(status, reason, grouped, compressed, request, config)
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

    encoded = payload.get("isBase64Encoded", False)
    if not isinstance(encoded, bool):
        raise InvalidResponse(f"isBase64Encoded must be true or false, got {encoded!r}")
    body_text = payload.get("body", "")
    if not isinstance(body_text, str):
        raise InvalidResponse(f"body must be a string, got {type(body_text).__name__}")
    if encoded:
        try:
            body = _b64decode(body_text)
        except (binascii.Error, ValueError):
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
