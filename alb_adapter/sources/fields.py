"""Reading the fields of an HTTP event, whatever its source: methods, paths, queries, header
names, text, addresses and bodies.

Every source package (``alb/`` and its siblings) reads its own JSON and calls these for the parts
all HTTP events share, so a rule such as "the path is never decoded twice" or "the body follows
``isBase64Encoded``, never the content type" is written once. Each raises InvalidEvent naming the
field, and never quotes a value that may be a secret.
"""

from __future__ import annotations

from ..errors import InvalidBody, InvalidEvent

# Characters that may stay as they are in a rebuilt query or path: printable ASCII except the space
# and '#'. '%' is kept, so existing escapes pass through untouched (never decoded and re-encoded).
QUERY_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) != "#")
PATH_SAFE = QUERY_SAFE.replace("?", "")
QUERY_SAFE_BYTES = QUERY_SAFE.encode("ascii")


def is_token(text: str) -> bool:
    """Non-empty printable ASCII without spaces or colons: a method or a header name."""
    return (
        bool(text) and text.isascii() and text.isprintable() and " " not in text and ":" not in text
    )


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


def b64decode(text: str) -> bytes:
    """Strict standard base64: no stray characters, correct padding."""
    import binascii  # here, not at the top: only base64 bodies need it (cold start)

    return binascii.a2b_base64(text, strict_mode=True)
