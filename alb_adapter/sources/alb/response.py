"""Response -> the dict ALB accepts: the response side of the ALB codec, run on every invocation.

Each rule followed here is stated, with its evidence, in docs/alb-behaviour.md (rules 8-13).
"""

from __future__ import annotations

from functools import cache, lru_cache

from ...errors import AppError, ResponseTooLarge
from ...log import logger
from ...model import has_control_characters, is_valid_status, is_valid_text, reason_phrase
from .request import is_multi_value

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ...config import Config, TextTypes
    from ...model import Request, Response

    Grouped = dict[str, list[str]]

ALB_MAX_JSON_BYTES = 1_000_000
ALB_MAX_HEADER_BYTES = 32 * 1024  # the whole response header block (docs/alb-behaviour.md, Limits)

# Headers that describe one connection and mean nothing once ALB has re-framed the response, and
# Content-Length, which ALB computes itself (a stale one would corrupt the response): rule 10.
DROPPED_RESPONSE_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "content-length",
    }
)


def is_dropped_response_header(lowercase_name: str) -> bool:
    """Hop-by-hop (including every ``proxy-*``) and Content-Length: never passed to ALB."""
    return lowercase_name in DROPPED_RESPONSE_HEADERS or lowercase_name.startswith("proxy-")


def render_response(response: Response, request: Request, config: Config) -> dict[str, object]:
    """Turn a Response into the dict ALB expects (docs/alb-behaviour.md, rules 8-13).

    Raises AppError for a response no load balancer may receive (bad status, a header that is not
    a string or holds CR/LF/NUL, several cookies with ``multi_cookie="error"``) and
    ResponseTooLarge when it is over one of ALB's limits even gzipped.
    """
    status = response.status
    if not is_valid_status(status):
        raise AppError(f"status must be an int from 100 to 599, got {status!r}")
    reason = response.reason
    if reason is None:
        reason = reason_phrase(status)
    elif has_control_characters(reason) or not is_valid_text(reason):
        raise AppError(
            "the reason phrase holds control characters (CR, LF, NUL...) or invalid text"
        )
    description = f"{status} {reason}"

    grouped, header_bytes = group_headers(response.headers)
    if header_bytes > ALB_MAX_HEADER_BYTES:
        raise ResponseTooLarge(
            header_bytes, ALB_MAX_HEADER_BYTES, "ALB's limit on headers", "response headers"
        )
    # As every HTTP server does for HEAD; frameworks such as Starlette leave it to the server.
    body = b"" if request.method == "HEAD" else bytes(response.body)
    text, is_base64 = _encode_body(body, grouped, config)
    multi_value = is_multi_value(request.event)
    result = _render(status, description, grouped, text, is_base64, multi_value, config)

    limit = config.max_response_bytes or ALB_MAX_JSON_BYTES
    if _json_size_bound(header_bytes, body, text, is_base64) > limit:
        size = json_size(result)
        if size > limit:
            result = _shrink(size, status, description, grouped, body, request, config)
    return result


def group_headers(headers: Iterable[tuple[str, str]]) -> tuple[Grouped, int]:
    """Every value of each header ALB may get, by lowercase name in order, and their size as
    ``name: value`` lines (ALB's limit is on that). Hop-by-hop headers and Content-Length are
    dropped (rule 10); a name or value that could split the response on the wire is an error."""
    grouped: Grouped = {}
    size = 0
    for name, value in headers:
        if type(name) is not str:
            raise AppError(f"header names must be str, got {name!r}")
        if type(value) is not str:
            raise AppError(f"header {name!r}: values must be str, got {type(value).__name__}")
        lower = name.lower()
        if is_dropped_response_header(lower):
            continue
        # A token (RFC 9110): printable ASCII without spaces or colons.
        if not (name.isascii() and name.isprintable()) or " " in name or ":" in name or not name:
            raise AppError(f"invalid header name {name!r}")
        if has_control_characters(value):
            # The value is not shown: it may be a cookie or a token, and this is logged as an error.
            raise AppError(
                f"header {name!r} contains control characters such as CR, LF or NUL "
                "(header injection)"
            )
        # Surrounding blanks are not part of a value (RFC 9110 §5.5); Django adds one to cookies.
        clean = value.strip(" \t")
        try:
            size += header_line_size(lower, clean)
        except UnicodeEncodeError:  # a lone surrogate: text no HTTP header can carry
            raise AppError(f"header {name!r} is not valid Unicode text") from None
        grouped.setdefault(lower, []).append(clean)
    return grouped, size


def header_line_size(name: str, value: str) -> int:
    """Bytes of one header as a ``name: value\r\n`` line on the wire."""
    return len(name) + len(value.encode("utf-8")) + 4


def _render(
    status: int,
    description: str,
    grouped: Grouped,
    text: str,
    is_base64: bool,
    multi_value: bool,
    config: Config,
) -> dict[str, object]:
    """The response dict, with exactly one header field: the one the event's mode asks for."""
    result: dict[str, object] = {
        "statusCode": status,
        "statusDescription": description,
        "isBase64Encoded": is_base64,
    }
    if multi_value:
        result["multiValueHeaders"] = grouped
    else:
        result["headers"] = _single_value(grouped, config)
    result["body"] = text
    return result


def _encode_body(body: bytes, grouped: Grouped, config: Config) -> tuple[str, bool]:
    """Text when the type is listed as text, nothing encodes it and it is UTF-8; else base64
    (rule 12)."""
    if not body:
        return "", False
    content_type = grouped.get("content-type", [""])[-1]
    encoding = grouped.get("content-encoding", ["identity"])[-1].strip().lower()
    if (
        content_type
        and encoding in ("", "identity")
        and _is_text_type(content_type, config.text_content_types)
    ):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass  # mislabelled bytes: base64 keeps them intact instead of a 502
    import binascii  # here, not at the top: only binary answers need it (cold start)

    return binascii.b2a_base64(body, newline=False).decode("ascii"), True


@lru_cache(maxsize=256)  # apps send a handful of Content-Type values; bounded all the same
def _is_text_type(content_type: str, text_types: TextTypes) -> bool:
    """Whether this Content-Type value is sent as text: a listed type, in UTF-8."""
    media_type, _, params = content_type.partition(";")
    return text_types.matches(media_type.strip().lower()) and _utf8_charset(params)


def _utf8_charset(params: str) -> bool:
    """No charset, or one whose bytes are UTF-8 (sending latin-1 as text would corrupt it)."""
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip('"').lower() in ("utf-8", "utf8", "us-ascii", "ascii")
    return True


# --------------------------------------------------------------------------- single-value mode

_COOKIE_LETTERS = [index for index, char in enumerate("set-cookie") if char.isalpha()]


@cache  # 512 spellings at most; an app sets the same few cookies on every call
def cookie_key(n: int) -> str:
    """The n-th spelling of set-cookie: n's bits say which letters are upper case (512 in all)."""
    chars = list("set-cookie")
    for bit, position in enumerate(_COOKIE_LETTERS):
        if n >> bit & 1:
            chars[position] = chars[position].upper()
    return "".join(chars)


def _single_value(grouped: Grouped, config: Config) -> dict[str, str]:
    """One string per name; repeated Set-Cookie per ``multi_cookie``, others joined with ', '
    (rule 11)."""
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
                headers[cookie_key(index)] = value
        elif config.multi_cookie == "last":
            headers[name] = values[-1]
            if config.warn_once("multi_cookie=last"):
                logger().warning(
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


# --------------------------------------------------------------------------- size


def json_size(result: dict[str, object]) -> int:
    """Bytes of the JSON the Lambda runtime will send (ASCII-escaped, the larger encoding)."""
    import json

    return len(json.dumps(result))


def _json_size_bound(header_bytes: int, body: bytes, text: str, is_base64: bool) -> int:
    """An upper bound of ``json_size``, cheap enough for every response, so the exact size (a
    second serialisation of the whole body) is computed only near the limit.

    JSON escaping grows one byte of UTF-8 text to at most 6 characters (``\u0001``); a header's
    line size (``header_line_size``) also pays for its quotes and separators in the JSON; base64
    is never escaped; 256 covers the fixed keys, the status and the punctuation around them.
    tests/test_alb_render.py checks the bound against the exact size.
    """
    body_chars = len(text) if is_base64 else 6 * len(body)
    return 256 + 6 * header_bytes + body_chars


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
    size: int,
    status: int,
    description: str,
    grouped: Grouped,
    body: bytes,
    request: Request,
    config: Config,
) -> dict[str, object]:
    """Gzip an oversized body when the client allows it; otherwise (or if still too big) raise
    (rule 13)."""
    limit = config.max_response_bytes or ALB_MAX_JSON_BYTES
    if "content-encoding" in grouped or not _accepts_gzip(request):
        why = "already encoded" if "content-encoding" in grouped else "client does not accept gzip"
        raise ResponseTooLarge(size, limit, why)
    import zlib

    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # 31: gzip container
    compressed = compressor.compress(body) + compressor.flush()
    grouped = {name: list(values) for name, values in grouped.items()}
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
    multi_value = is_multi_value(request.event)
    result = _render(status, description, grouped, text, True, multi_value, config)
    new_size = json_size(result)
    if new_size > limit:
        raise ResponseTooLarge(new_size, limit, f"after gzip (was {size} bytes)")
    return result
