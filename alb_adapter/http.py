"""The neutral model between wire formats: Request and Response, plus status and header helpers.

Nothing here knows ALB, WSGI or ASGI. The classes are hand-written immutable records rather than
dataclasses because ``dataclasses`` imports ``inspect``, which alone costs about as much as the
whole budget for ``import alb_adapter`` (paid in every Lambda cold start), and because a frozen
dataclass sets each field through ``object.__setattr__``, slow on a path run per invocation.
"""

from __future__ import annotations

try:  # CPython's C accessor behind namedtuple fields: about twice as fast as a property
    from _collections import _tuplegetter  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover (other Pythons)
    from operator import itemgetter

    def _tuplegetter(index: int, doc: str) -> property:
        return property(itemgetter(index), doc=doc)


TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from typing_extensions import Self

    Headers = tuple[tuple[str, str], ...]


class _Record(tuple):  # type: ignore[type-arg]
    """Immutable fields by name, for Request and Response: a tuple underneath, because building
    one is a single C call (per invocation, that matters), with a read-only property per field."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()

    if TYPE_CHECKING:

        @classmethod
        def from_fields(cls, fields: tuple[object, ...]) -> Self:
            """A record from all its fields in ``_fields`` order, unchecked: for the codecs'
            per-invocation path, where a keyword call costs five times as much."""
    else:
        from_fields = classmethod(tuple.__new__)

    def __init_subclass__(cls) -> None:
        for index, name in enumerate(cls._fields):
            setattr(cls, name, _tuplegetter(index, f"The {name} field."))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable (tried to set {name!r})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable (tried to delete {name!r})")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None  # type: ignore[assignment]  # holds the event, a dict

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={value!r}"
            for name, value in zip(self._fields, self, strict=True)
            if name not in ("event", "context")
        )
        return f"{type(self).__name__}({fields})"


class Request(_Record):
    """One HTTP request as the load balancer forwarded it, before any framework sees it.

    ``raw_path`` is the path exactly as sent (still percent-encoded, so ``%2F`` stays
    distinguishable); ``path`` is its percent-decoded bytes, which WSGI reads as latin-1 and ASGI
    as UTF-8. ``query_string`` is the raw query, never decoded and re-encoded. ``headers`` keeps
    lowercase names, order and duplicates. ``multi_value`` records the event's header mode, which
    the response must mirror. ``health_check`` is true for the load balancer's own probes.
    """

    __slots__ = ()
    _fields = (
        "method",
        "raw_path",
        "path",
        "query_string",
        "headers",
        "body",
        "scheme",
        "server",
        "client",
        "multi_value",
        "health_check",
        "event",
        "context",
    )

    method: str
    raw_path: str
    path: bytes
    query_string: str
    headers: Headers
    body: bytes
    scheme: str
    server: tuple[str, int]
    client: tuple[str, int] | None
    multi_value: bool
    health_check: bool
    event: Mapping[str, object]
    context: object

    def __new__(
        cls,
        method: str,
        raw_path: str,
        path: bytes,
        query_string: str,
        headers: Headers,
        body: bytes,
        scheme: str,
        server: tuple[str, int],
        client: tuple[str, int] | None,
        multi_value: bool,
        health_check: bool = False,
        event: Mapping[str, object] | None = None,
        context: object = None,
    ) -> Request:
        return tuple.__new__(
            cls,
            (
                method,
                raw_path,
                path,
                query_string,
                headers,
                body,
                scheme,
                server,
                client,
                multi_value,
                health_check,
                {} if event is None else event,
                context,
            ),
        )

    def header(self, name: str) -> str | None:
        """The last value of header ``name`` (lowercase), or None: what a proxy would trust."""
        found = None
        for key, value in self.headers:
            if key == name:
                found = value
        return found

    def replace(self, **changes: object) -> Request:
        """A copy with some fields changed."""
        fields: dict[str, object] = dict(zip(self._fields, self, strict=True))
        fields.update(changes)
        return Request(**fields)  # type: ignore[arg-type]


class Response(_Record):
    """What the application answered, whole: ALB cannot stream, so the body is always complete.

    ``reason`` is the application's own reason phrase when it gave one (a WSGI status line does);
    None means "use the standard phrase". Header names keep the application's spelling.
    """

    __slots__ = ()
    _fields = ("status", "reason", "headers", "body")

    status: int
    reason: str | None
    headers: Headers
    body: bytes

    def __new__(
        cls,
        status: int,
        headers: Headers = (),
        body: bytes = b"",
        reason: str | None = None,
    ) -> Response:
        return tuple.__new__(cls, (status, reason, headers, body))

    def header(self, name: str) -> str | None:
        """The last value of header ``name`` (compared case-insensitively), or None."""
        found = None
        for key, value in self.headers:
            if key.lower() == name:
                found = value
        return found


def plain_response(status: int, text: str) -> Response:
    """A short text/plain answer the adapter makes itself (errors, health checks)."""
    return Response(
        status,
        (("Content-Type", "text/plain; charset=utf-8"),),
        text.encode("utf-8"),
    )


# Reason phrases from the IANA HTTP status code registry (RFC 9110 and friends). Kept as a
# literal rather than built from http.HTTPStatus because importing the enum costs several
# milliseconds of cold start; tests check this table against http.HTTPStatus.
REASON_PHRASES: dict[int, str] = {
    100: "Continue",
    101: "Switching Protocols",
    102: "Processing",
    103: "Early Hints",
    200: "OK",
    201: "Created",
    202: "Accepted",
    203: "Non-Authoritative Information",
    204: "No Content",
    205: "Reset Content",
    206: "Partial Content",
    207: "Multi-Status",
    208: "Already Reported",
    226: "IM Used",
    300: "Multiple Choices",
    301: "Moved Permanently",
    302: "Found",
    303: "See Other",
    304: "Not Modified",
    305: "Use Proxy",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    409: "Conflict",
    410: "Gone",
    411: "Length Required",
    412: "Precondition Failed",
    413: "Content Too Large",
    414: "URI Too Long",
    415: "Unsupported Media Type",
    416: "Range Not Satisfiable",
    417: "Expectation Failed",
    418: "I'm a Teapot",
    421: "Misdirected Request",
    422: "Unprocessable Content",
    423: "Locked",
    424: "Failed Dependency",
    425: "Too Early",
    426: "Upgrade Required",
    428: "Precondition Required",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    451: "Unavailable For Legal Reasons",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    505: "HTTP Version Not Supported",
    506: "Variant Also Negotiates",
    507: "Insufficient Storage",
    508: "Loop Detected",
    510: "Not Extended",
    511: "Network Authentication Required",
}


def reason_phrase(status: int) -> str:
    """The standard phrase for ``status``, or ``Unknown`` for codes without one (e.g. 599)."""
    return REASON_PHRASES.get(status, "Unknown")


def is_valid_status(status: object) -> bool:
    """ALB accepts an integer status from 100 to 599 (a bool is not an integer here)."""
    return type(status) is int and 100 <= status <= 599


# Headers that describe one connection and mean nothing once ALB has re-framed the response, and
# Content-Length, which ALB computes itself (a stale one would corrupt the response).
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


def has_forbidden_characters(text: str) -> bool:
    """CR, LF or NUL would let a header split into two on the wire (response splitting)."""
    # isprintable() is a single C pass and true for nearly every real header; only when it is
    # false (tabs, control characters, some Unicode) do we look for the three that matter.
    return not text.isprintable() and ("\r" in text or "\n" in text or "\0" in text)


def header_text(value: bytes) -> str:
    """Header bytes as text for JSON: UTF-8 when they are UTF-8, else latin-1 (every byte kept)."""
    if value.isascii():
        return value.decode("ascii")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def split_base_path(path: str, base_path: str) -> tuple[str, str]:
    """Split a decoded path into (mount prefix, rest) on a segment boundary.

    ``/account/x`` with base ``/account`` gives ``("/account", "/x")``; ``/accounts`` is not
    under ``/account`` and comes back whole with an empty prefix, so the app still answers it
    (with its own 404, typically) instead of seeing a mangled path.
    """
    if not base_path or not path.startswith(base_path):
        return "", path
    rest = path[len(base_path) :]
    if not rest:
        return base_path, ""
    if rest[0] != "/":
        return "", path
    return base_path, rest
