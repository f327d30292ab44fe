"""The neutral model between wire formats: Request and Response, plus status and header helpers.

Nothing here knows ALB, WSGI or ASGI: an event source turns its JSON into a Request and a
Response back into its JSON; ``wsgi.py`` and ``asgi.py`` turn a Request into an environ or a
scope. Fields are read by name everywhere. The classes are small ``__slots__`` records written
out by hand rather than dataclasses because ``dataclasses`` imports ``inspect``, which alone
costs about as much as the whole ``import alb_adapter`` (paid in every Lambda cold start).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    from collections.abc import Mapping

    Headers = tuple[tuple[str, str], ...]


class _Record:
    """Equality and repr from the record's fields, shared by Request and Response (and their
    subclasses, which add behaviour, not fields)."""

    __slots__: tuple[str, ...] = ()
    _fields: tuple[str, ...] = ()

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Record) or other._fields != self._fields:
            return NotImplemented
        return self._values() == other._values()

    __hash__ = None  # type: ignore[assignment]  # mutable, and a Request holds the event (a dict)

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={getattr(self, name)!r}"
            for name in self._fields
            if name not in ("event", "context")  # large, and may hold secrets
        )
        return f"{type(self).__name__}({fields})"


class Request(_Record):
    """One HTTP request as the front door (a load balancer, an API) forwarded it, before any
    framework sees it.

    ``raw_path`` is the path exactly as sent (still percent-encoded, so ``%2F`` stays
    distinguishable); ``path`` is its percent-decoded bytes, which WSGI reads as latin-1 and ASGI
    as UTF-8. ``root_path`` is a decoded prefix of ``path`` that the front door itself routed by
    (an API Gateway stage in the client's URL): the app sees it as ``SCRIPT_NAME``/``root_path``,
    before the handler's own ``base_path``, so it generates URLs that work and routes without it.
    ``query_string`` is the raw query, never decoded and re-encoded. ``headers`` keeps lowercase
    names, order and duplicates. ``health_check`` is true for the load balancer's own
    probes. ``source`` names the event source (``"alb"``); ``event`` and ``context`` are what
    Lambda passed, for the app (``aws.event``) and for the source's response side.
    """

    __slots__ = (
        "method",
        "raw_path",
        "path",
        "root_path",
        "query_string",
        "headers",
        "body",
        "scheme",
        "server",
        "client",
        "health_check",
        "source",
        "event",
        "context",
    )
    _fields = __slots__

    def __init__(
        self,
        *,
        method: str,
        raw_path: str,
        path: bytes,
        root_path: bytes = b"",
        query_string: str = "",
        headers: Headers = (),
        body: bytes = b"",
        scheme: str = "http",
        server: tuple[str, int] = ("localhost", 80),
        client: tuple[str, int] | None = None,
        health_check: bool = False,
        source: str = "",
        event: Mapping[str, object] | None = None,
        context: object = None,
    ) -> None:
        self.method = method
        self.raw_path = raw_path
        self.path = path
        self.root_path = root_path
        self.query_string = query_string
        self.headers = headers
        self.body = body
        self.scheme = scheme
        self.server = server
        self.client = client
        self.health_check = health_check
        self.source = source
        self.event: Mapping[str, object] = {} if event is None else event
        self.context = context

    def header(self, name: str) -> str | None:
        """The last value of header ``name`` (lowercase), or None: what a proxy would trust."""
        found = None
        for key, value in self.headers:
            if key == name:
                found = value
        return found

    def replace(self, **changes: object) -> Request:
        """A copy with some fields changed."""
        fields: dict[str, object] = {name: getattr(self, name) for name in self._fields}
        fields.update(changes)
        return Request(**fields)  # type: ignore[arg-type]


class Response(_Record):
    """What the application answered, whole: the front doors this package serves cannot stream,
    so the body is always complete.

    ``reason`` is the application's own reason phrase when it gave one (a WSGI status line does);
    None means "use the standard phrase". Header names keep the application's spelling.
    """

    __slots__ = ("status", "reason", "headers", "body")
    _fields = __slots__

    def __init__(
        self,
        status: int,
        headers: Headers = (),
        body: bytes = b"",
        reason: str | None = None,
    ) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def header(self, name: str) -> str | None:
        """The last value of header ``name`` (compared case-insensitively), or None."""
        values = self.header_values(name)
        return values[-1] if values else None

    def header_values(self, name: str) -> list[str]:
        """Every value of header ``name`` (compared case-insensitively), in order: several
        Set-Cookie headers, say."""
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]


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


# The C0 controls and DEL, less the horizontal tab, which header values and reason phrases may hold
# (RFC 9110 §5.5, §15): CR and LF would split the response on the wire; the others are refused by
# HTTP servers (h11, gunicorn) and so by a load balancer.
_CONTROL_CHARACTERS = "".join(chr(code) for code in (*range(0x09), *range(0x0A, 0x20), 0x7F))


def has_control_characters(text: str) -> bool:
    """Whether ``text`` holds a control character other than the tab."""
    # isprintable() is one C pass and true for nearly every real header; only text it refuses
    # (a tab, a control character, some Unicode such as a no-break space) is looked at again.
    return not text.isprintable() and any(char in text for char in _CONTROL_CHARACTERS)


def is_valid_text(text: str) -> bool:
    """Text that can be encoded at all (JSON may carry lone surrogates; HTTP cannot)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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
