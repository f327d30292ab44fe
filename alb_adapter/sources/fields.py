"""Reading the fields of an HTTP event, whatever its source: methods, paths, queries, header
names, text, addresses and bodies, and the stage and host of API Gateway's formats.

Every source package (``alb/`` and its siblings) reads its own JSON and calls these for the parts
several sources share, so a rule such as "the path is never decoded twice" or "the body follows
``isBase64Encoded``, never the content type" is written once. Each raises InvalidEvent naming the
field, and never quotes a value that may be a secret. The response side's shared rules are in
sources/rendering.py.
"""

from __future__ import annotations

from ..errors import InvalidBody, InvalidEvent

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any

    from ..model import Request

# Characters that may stay as they are in a rebuilt query or path: printable ASCII except the space
# and '#'. '%' is kept, so existing escapes pass through untouched (never decoded and re-encoded).
QUERY_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) != "#")
PATH_SAFE = QUERY_SAFE.replace("?", "")
QUERY_SAFE_BYTES = QUERY_SAFE.encode("ascii")
# What may stay literal when an already-decoded path is put back into URL form: PATH_SAFE less
# '%', because a '%' in a decoded path is a percent sign, not the start of an escape.
DECODED_PATH_SAFE = PATH_SAFE.replace("%", "")

DEFAULT_STAGE = "$default"  # an API Gateway HTTP API's unnamed stage: never in the URL
# Stage names are letters, digits, '-' and '_' (API Gateway refuses others).
_STAGE_BYTES = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def is_token(text: str) -> bool:
    """Non-empty printable ASCII without spaces or colons: a method or a header name."""
    return (
        bool(text) and text.isascii() and text.isprintable() and " " not in text and ":" not in text
    )


def parse_method(value: object, field: str) -> str:
    """The request method: a token (``GET``, or an extension method such as ``PURGE``)."""
    if type(value) is not str or not is_token(value):
        if type(value) is not str or not value:
            raise InvalidEvent(field, must_be("a non-empty string", value))
        raise InvalidEvent(field, f"is not an HTTP method: {value!r}")
    return value


def must_be(expected: str, value: object) -> str:
    """The complaint about a field, naming the value's type only: a value may be a secret (a
    cookie, a token in a query), and the error is logged by Lambda."""
    if value is None:
        return f"must be {expected} (it is missing or null)"
    return f"must be {expected}, got {type(value).__name__}"


def parse_path(value: object, field: str = "path") -> tuple[str, bytes]:
    """(raw path, percent-decoded bytes) of a path sent still percent-encoded (ALB's rule 2 in
    docs/alb-behaviour.md). The raw form keeps every escape, so %2F stays visible; only what
    cannot appear in a path is escaped."""
    if type(value) is not str:
        raise InvalidEvent(field, must_be("a string", value))
    raw = value or "/"
    if raw[0] != "/":
        raw = "/" + raw
    if not is_safe(raw) or "?" in raw:
        raw = quote_unsafe(raw, PATH_SAFE, field)
    if "%" not in raw:
        return raw, raw.encode("ascii")
    from urllib.parse import unquote_to_bytes  # only escaped paths need it (cold start)

    return raw, unquote_to_bytes(raw)


def parse_decoded_path(value: object, field: str) -> tuple[str, bytes]:
    """(raw path, path bytes) of a path the service has already percent-decoded (API Gateway
    HTTP APIs, in both payload formats), where ``parse_path`` reads one still percent-encoded.

    The client's own escapes are lost; the raw form escapes, as UTF-8, only what cannot appear
    literally (space, '?', '#', '%', controls, non-ASCII), and the bytes are the text's UTF-8,
    never unquoted (unquoting would decode a client's ``%2541`` a second time, into ``A``).
    """
    if type(value) is not str:
        raise InvalidEvent(field, must_be("a string", value))
    path = value or "/"
    if path[0] != "/":
        path = "/" + path
    if is_safe(path) and "%" not in path and "?" not in path:
        return path, path.encode("ascii")
    raw = quote_unsafe(path, DECODED_PATH_SAFE, field)  # InvalidEvent for a lone surrogate
    return raw, path.encode("utf-8")


def is_safe(text: str) -> bool:
    """True when ``text`` needs no escaping to sit in a URL."""
    try:
        return not text.encode("ascii").translate(None, QUERY_SAFE_BYTES)
    except UnicodeEncodeError:
        return False


def quote_unsafe(text: str, safe: str, field: str) -> str:
    """Percent-encode (as UTF-8) only what cannot appear in a URL; existing escapes stay."""
    from urllib.parse import quote

    try:
        return quote(text, safe=safe)
    except UnicodeEncodeError:
        raise InvalidEvent(field, "contains text that is not valid Unicode") from None


def query_text(query: str, field: str) -> str:
    """The query as it may sit in a URL: only what cannot appear there is escaped (rule 3).

    Escaping the joined query is the same as escaping each key and value: ``=`` and ``&`` are
    left as they are either way."""
    return query if is_safe(query) else quote_unsafe(query, QUERY_SAFE, field)


def header_name(name: object, field: str) -> str:
    if type(name) is not str or not is_token(name):
        raise InvalidEvent(field, f"has a key that is not a header name: {name!r:.60}")
    return name.lower()


def clean_headers(
    names: Mapping[Any, object], values: Iterable[object], *, lowercase: bool = True
) -> bool:
    """Whether every name (the keys of ``names``) is a header name, already in lower case unless
    ``lowercase=False``, and every value ASCII text: what the services send, where no per-header
    check can fail and none is needed. The sources' fast paths beside their walks use it.

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
        and (not lowercase or joined_names.lower() == joined_names)
        and joined_values.isascii()
    )


def multi_value_header_pairs(value: dict[object, object], field: str) -> list[tuple[str, str]]:
    """(lowercase name, value) pairs of a ``multiValueHeaders`` object (name -> list of strings),
    every item of every name in order, each name and item checked and named when wrong."""
    pairs: list[tuple[str, str]] = []
    for name, entry in value.items():
        lower = header_name(name, field)
        for index, item in enumerate(as_list(entry, f"{field}[{name!r}]")):
            item_field = f"{field}[{name!r}][{index}]"
            if type(item) is not str:
                raise InvalidEvent(item_field, must_be("a string", item))
            check_text(item, item_field)
            pairs.append((lower, item))
    return pairs


def as_list(items: object, field: str) -> list[object]:
    """A multi-value entry: a list; a bare string (seen in hand-made events) counts as one value."""
    if type(items) is list:
        return items
    if items is None:
        return []
    if type(items) is str:
        return [items]
    raise InvalidEvent(field, must_be("a list of strings", items))


def check_text(value: str, field: str) -> None:
    """Text must be encodable: JSON can carry lone surrogates, HTTP cannot."""
    if value.isascii():
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidEvent(field, "is not valid Unicode") from None


def addressed(
    proto: str | None, port_text: str | None, host: str | None, default_host: str
) -> tuple[str, tuple[str, int]]:
    """Scheme and (host, port) as the client addressed the load balancer (rule 6)."""
    scheme = "https" if proto is not None and proto.strip().lower() == "https" else "http"
    port = int(port_text) if port_text and is_port(port_text) else 0
    if not 0 < port < 65536:
        port = 443 if scheme == "https" else 80
    name = host_name(host) if host else ""
    return scheme, (name or default_host, port)


def api_gateway_addressed(
    last: dict[str, str], request_context: dict[str, object], default_host: str
) -> tuple[str, tuple[str, int]]:
    """``addressed`` for API Gateway and Function URLs (``last``: the last value of each header):
    their endpoints are HTTPS only, so https unless X-Forwarded-Proto says otherwise (SAM's local
    emulation says http there); the Host header, else ``requestContext.domainName``."""
    return addressed(
        last.get("x-forwarded-proto", "https"),
        last.get("x-forwarded-port"),
        last.get("host") or domain_name(request_context),
        default_host,
    )


def is_port(text: str) -> bool:
    """One to five ASCII digits: ``str.isdigit`` alone also takes ``²`` and ``١٢``, which ``int``
    then refuses or reads as another number."""
    return 0 < len(text) <= 5 and text.isascii() and text.isdigit()


def host_name(host: str) -> str:
    """The Host header without its port; an IPv6 literal loses its brackets."""
    host = host.strip()
    if host.startswith("["):
        end = host.find("]")
        return host[1:end] if end > 0 else ""
    return host.partition(":")[0]


def is_execute_api_host(host: str) -> bool:
    """``<api-id>.execute-api.<region>.amazonaws.com`` (``.com.cn`` in China; private APIs add
    labels), as opposed to a custom domain name: the only host whose URLs carry an API Gateway
    stage. A port is ignored, and so is case."""
    name = host_name(host).lower()
    return ".execute-api." in name and name.endswith((".amazonaws.com", ".amazonaws.com.cn"))


def domain_name(request_context: dict[str, object]) -> str | None:
    """API Gateway's ``requestContext.domainName``: the host the client called, when the event
    names one."""
    domain = request_context.get("domainName")
    return domain if type(domain) is str and domain else None


def stage_prefix(
    stage: object, host: str | None, path: bytes | None = None, *, strict: bool = True
) -> bytes:
    """``/<stage>`` when the client's URL carries an API Gateway stage, else empty: the
    ``root_path`` of an API Gateway request, in every payload format.

    The URL carries it when a named stage (not ``$default``) is called on the execute-api host
    (``host``, as the source knows it; None when unknown). On a custom domain the API mapping,
    not the URL, picks the stage: nothing is taken there, and the handler's ``base_path`` names
    a prefix to take (docs/sources/apigateway_v1.md, docs/sources/apigateway_v2.md).

    ``path`` is the decoded path when the service leaves the stage in it (HTTP APIs): the prefix
    is then taken only where it starts that path on a segment boundary (``/beta`` in ``/beta/x``,
    not in ``/betamax``), since a hand-made event may lack it. None for a REST API, which sends
    the path without the stage: the caller puts the prefix back in front.

    A stage that is not a stage name (letters, digits, '-' and '_') raises InvalidEvent when
    ``strict``, as the payload 1.0 codec (REST and HTTP APIs alike) does: a REST API's stage is
    put into the path, so it must be one. With ``strict=False`` (payload 2.0) it is no prefix
    instead: AWS's own sample events carry such stages (its .NET library's HTTP API sample says
    ``$default-stage``), and a payload 2.0 stage is only compared with the path, never put in it.
    """
    if host is None or not is_execute_api_host(host):
        return b""
    if stage is None or stage in ("", DEFAULT_STAGE):
        return b""
    if (
        type(stage) is not str
        or not stage.isascii()
        or stage.encode().translate(None, _STAGE_BYTES)
    ):
        if not strict:
            return b""
        raise InvalidEvent(
            "requestContext.stage", "must be a stage name (letters, digits, '-' and '_')"
        )
    prefix = b"/" + stage.encode("ascii")
    if path is None or path == prefix or path.startswith(prefix + b"/"):
        return prefix
    return b""


# Characters of an IPv4 or IPv6 address (a cheap test: ``ipaddress`` costs a cold-start import).
_ADDRESS_BYTES = b"0123456789abcdefABCDEF.:"


def service_address(source_ip: object, field: str) -> tuple[str, int] | None:
    """The client address an API Gateway service writes in ``field`` (``sourceIp``): the address
    it saw itself, never the X-Forwarded-For header a client can write. No port is given.

    What is not an address gives no client: the console's test invocations send
    ``test-invoke-source-ip``, and samples carry placeholders (``IP``, ``192.168.0.1/32``).
    Anything but a string (or null) is a malformed event.
    """
    if source_ip is None:
        return None
    if type(source_ip) is not str:
        raise InvalidEvent(field, must_be("a string", source_ip))
    if (
        not source_ip.isascii()
        or not (":" in source_ip or "." in source_ip)
        or source_ip.encode("ascii").translate(None, _ADDRESS_BYTES)
    ):
        return None
    return source_ip, 0


def client_from_forwarded_for(forwarded_for: str, trusted_hops: int) -> tuple[str, int] | None:
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
    return parse_address(entries[-trusted_hops])


def parse_address(entry: str) -> tuple[str, int]:
    """``ip``, ``ip:port`` or ``[v6]:port`` (ALB's xff_client_port format) -> (ip, port or 0)."""
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif entry.count(":") == 1:
        host, _, port_text = entry.partition(":")
    else:  # a bare IPv4 address, as ALB writes it, or a bare IPv6 one
        host, port_text = entry, ""
    port = int(port_text) if is_port(port_text) else 0
    return host, port if port < 65536 else 0


def parse_body(body: object, encoded: object, flag_field: str = "isBase64Encoded") -> bytes:
    """The body bytes per the base64 flag (``flag_field``; ALB's rule 5 in
    docs/alb-behaviour.md): never guessed from the content type."""
    if body is None or body == "":
        return b""
    if type(body) is not str:
        raise InvalidEvent("body", must_be("a string", body))
    if encoded is None:
        encoded = False
    elif type(encoded) is not bool:
        raise InvalidEvent(flag_field, must_be("true or false", encoded))
    if not encoded:
        try:
            return body.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidBody("is not valid Unicode text") from None
    try:
        return b64decode(body)
    except ValueError:  # binascii.Error is one
        raise InvalidBody(f"is not valid base64 although {flag_field} is true") from None


def read_body(
    body: object, encoded: object, flag_field: str = "isBase64Encoded"
) -> tuple[bytes, InvalidBody | None]:
    """``parse_body`` with its InvalidBody held back: (the bytes, None), or (b"", the error) for
    a body that cannot be decoded. The codec reads the rest of the request all the same and
    hands both to ``checked_request``, so the handler answers that 400 in the source's own format
    (ALB's header mode, say) without calling the app."""
    try:
        return parse_body(body, encoded, flag_field), None
    except InvalidBody as exc:
        return b"", exc


def checked_request(request: Request, body_error: InvalidBody | None) -> Request:
    """The request, or ``read_body``'s error raised carrying it."""
    if body_error is not None:
        body_error.request = request
        raise body_error
    return request


def b64decode(text: str) -> bytes:
    """Strict standard base64: no stray characters, correct padding."""
    import binascii  # here, not at the top: only base64 bodies need it (cold start)

    return binascii.a2b_base64(text, strict_mode=True)
