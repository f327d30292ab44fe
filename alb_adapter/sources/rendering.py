"""What every source's response side shares: the status, the app's headers, the text-or-base64
rule for the body, Set-Cookie in a one-string-per-name header field, measuring the JSON, and
gzipping a body that is over the limit.

The rules are ALB's (docs/alb-behaviour.md, rules 8 and 10-13), and the other sources follow them
as they are (docs/sources/). Each source's ``response.py`` picks its fields, its limit and the
wording of its errors and calls these for the rest, so a rule is written once and the sources
cannot drift apart. Runs on every invocation: zlib and binascii are imported only by the answers
that need them (cold start).
"""

from __future__ import annotations

from functools import cache, lru_cache

from ..errors import AppError, ResponseTooLarge
from ..log import logger
from ..model import has_control_characters, is_valid_status, is_valid_text, reason_phrase

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from ..config import Config, TextTypes
    from ..model import Request, Response

    Grouped = dict[str, list[str]]
    Render = Callable[[Grouped, str], dict[str, object]]


# --------------------------------------------------------------------------- status


def status_description(response: Response) -> str:
    """``"<code> <reason>"`` (rule 8): the app's own reason when it gave one, else the standard
    phrase. Raises AppError for a status no service accepts or a reason that could split the
    response on the wire."""
    status = checked_status(response.status)
    reason = response.reason
    if reason is None:
        reason = reason_phrase(status)
    elif has_control_characters(reason) or not is_valid_text(reason):
        raise AppError(
            "the reason phrase holds control characters (CR, LF, NUL...) or invalid text"
        )
    return f"{status} {reason}"


def checked_status(status: int) -> int:
    """The status, or AppError when it is not an int from 100 to 599 (every source refuses
    other values, or reads them as a JSON body)."""
    if not is_valid_status(status):
        raise AppError(f"status must be an int from 100 to 599, got {status!r}")
    return status


# --------------------------------------------------------------------------- headers

# Headers that describe one connection and mean nothing once the service has re-framed the
# response, and Content-Length, which the service computes itself (a stale one would corrupt the
# response): rule 10.
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
    """Hop-by-hop (including every ``proxy-*``) and Content-Length: never passed on."""
    return lowercase_name in DROPPED_RESPONSE_HEADERS or lowercase_name.startswith("proxy-")


def group_headers(headers: Iterable[tuple[str, str]]) -> tuple[Grouped, int]:
    """Every value of each header the service may get, by lowercase name in order, and their size
    as ``name: value`` lines (ALB's limit is on that). Hop-by-hop headers and Content-Length are
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


# --------------------------------------------------------------------------- Set-Cookie

_COOKIE_LETTERS = [index for index, char in enumerate("set-cookie") if char.isalpha()]
# How many cookies fit under distinct spellings of the name: one per letter case (512).
COOKIE_KEY_SPELLINGS = 2 ** len(_COOKIE_LETTERS)


@cache  # 512 spellings at most; an app sets the same few cookies on every call
def cookie_key(n: int) -> str:
    """The n-th spelling of set-cookie: n's bits say which letters are upper case (512 in all)."""
    chars = list("set-cookie")
    for bit, position in enumerate(_COOKIE_LETTERS):
        if n >> bit & 1:
            chars[position] = chars[position].upper()
    return "".join(chars)


def single_value_headers(
    grouped: Grouped, config: Config, *, too_many: str, only_last: str, refused: str
) -> dict[str, str]:
    """One string per name, for a header field that holds one (ALB's single-value mode, VPC
    Lattice's ``headers``): a repeated header other than Set-Cookie is joined with ``", "``;
    several Set-Cookie follow ``multi_cookie`` (rule 11).

    With ``"case-variants"`` the k-th cookie goes under the k-th spelling of the name
    (``set-cookie``, ``Set-cookie``, ...): distinct JSON keys that reach the client as separate
    Set-Cookie lines, where a comma-joined value would corrupt them all. What is said about the
    cookies is the source's own (its setting to change, its name): ``too_many`` (over
    COOKIE_KEY_SPELLINGS) and ``refused`` (``"error"``) are the AppError, ``only_last`` the
    warning of ``"last"``, each a ``%d`` template of the number of cookies.
    """
    headers: dict[str, str] = {}
    for name, values in grouped.items():
        if len(values) == 1:
            headers[name] = values[0]
        elif name != "set-cookie":
            headers[name] = ", ".join(values)
        elif config.multi_cookie == "case-variants":
            if len(values) > COOKIE_KEY_SPELLINGS:
                raise AppError(too_many % len(values))
            for index, value in enumerate(values):
                headers[cookie_key(index)] = value
        elif config.multi_cookie == "last":
            headers[name] = values[-1]
            if config.warn_once("multi_cookie=last"):
                logger().warning(only_last, len(values))
        else:
            raise AppError(refused % len(values))
    return headers


# --------------------------------------------------------------------------- body


def sent_body(response: Response, request: Request) -> bytes:
    """The body to send: none for HEAD, as every HTTP server does (frameworks such as Starlette
    leave that to the server)."""
    return b"" if request.method == "HEAD" else bytes(response.body)


def encode_body(body: bytes, grouped: Grouped, config: Config) -> tuple[str, bool]:
    """Text when the type is listed as text, nothing encodes it and it is UTF-8; else base64
    (rule 12)."""
    if not body:
        return "", False
    content_type = grouped.get("content-type", [""])[-1]
    encoding = grouped.get("content-encoding", ["identity"])[-1].strip().lower()
    if (
        content_type
        and encoding in ("", "identity")
        and is_text_type(content_type, config.text_content_types)
    ):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass  # mislabelled bytes: base64 keeps them intact instead of a 502
    import binascii  # here, not at the top: only binary answers need it (cold start)

    return binascii.b2a_base64(body, newline=False).decode("ascii"), True


@lru_cache(maxsize=256)  # apps send a handful of Content-Type values; bounded all the same
def is_text_type(content_type: str, text_types: TextTypes) -> bool:
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


# --------------------------------------------------------------------------- size


def json_size(result: dict[str, object]) -> int:
    """Bytes of the JSON the Lambda runtime will send (ASCII-escaped, the larger encoding)."""
    import json

    return len(json.dumps(result))


def json_size_bound(header_bytes: int, body: bytes, text: str, is_base64: bool) -> int:
    """An upper bound of ``json_size``, cheap enough for every response, so the exact size (a
    second serialisation of the whole body) is computed only near the limit.

    JSON escaping grows one byte of UTF-8 text to at most 6 characters (``\u0001``); a header's
    line size (``header_line_size``) also pays for its quotes and separators in the JSON; base64
    is never escaped; 256 covers the fixed keys, the status and the punctuation around them.
    tests/test_alb_render.py checks the bound against the exact size.
    """
    body_chars = len(text) if is_base64 else 6 * len(body)
    return 256 + 6 * header_bytes + body_chars


def oversize(
    result: dict[str, object],
    limit: int,
    header_bytes: int,
    body: bytes,
    text: str,
    is_base64: bool,
) -> int:
    """The exact JSON size of ``result`` when it is over ``limit``, else 0; the cheap bound
    (``json_size_bound``) decides first whether it needs measuring at all."""
    if json_size_bound(header_bytes, body, text, is_base64) <= limit:
        return 0
    size = json_size(result)
    return size if size > limit else 0


def accepts_gzip(request: Request) -> bool:
    """Whether the client's Accept-Encoding allows gzip (``x-gzip`` and ``*`` count, ``q=0``
    refuses)."""
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


def gzip_to_fit(
    size: int, limit: int, grouped: Grouped, body: bytes, request: Request, render: Render
) -> dict[str, object]:
    """The answer with its body gzipped, for a JSON of ``size`` bytes over ``limit`` (rule 13):
    ``render(grouped, text)`` builds it in the source's own fields from the new headers and the
    base64 of the compressed body.

    Content-Encoding becomes gzip, Vary names Accept-Encoding and strong ETags turn weak, since
    they described the uncompressed bytes. Raises ResponseTooLarge when the body is already
    encoded, the client does not accept gzip, or the answer is still over the limit.
    """
    if "content-encoding" in grouped or not accepts_gzip(request):
        why = "already encoded" if "content-encoding" in grouped else "client does not accept gzip"
        raise ResponseTooLarge(size, limit, why)
    import zlib  # here, not at the top: only oversized answers need it (cold start)

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

    result = render(grouped, binascii.b2a_base64(compressed, newline=False).decode("ascii"))
    new_size = json_size(result)
    if new_size > limit:
        raise ResponseTooLarge(new_size, limit, f"after gzip (was {size} bytes)")
    return result
