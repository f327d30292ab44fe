"""WSGI (PEP 3333): Request -> environ, running the app, collecting its Response; WSGIHandler.

PEP 3333 is followed to the letter: native-string environ values (latin-1 code points for bytes),
``start_response`` with ``exc_info`` semantics, the ``write()`` callable, and ``close()`` called on
the returned iterable whatever happens.
"""

from __future__ import annotations

import io
import sys
from functools import lru_cache

from .errors import AppError
from .handler import BaseHandler
from .model import Response, is_valid_status, split_base_path

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from types import TracebackType

    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment
    from typing_extensions import Unpack

    from .config import Config, ConfigOptions, ExtraKeys
    from .model import Request

    ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


class WSGIHandler(BaseHandler):
    """Lambda handler for a WSGI application: ``handler = WSGIHandler(app)``.

    Options are keyword-only and shared with ASGIHandler (see Config).
    """

    __slots__ = ("_script_base", "app")

    def __init__(self, app: WSGIApplication, **options: Unpack[ConfigOptions]) -> None:
        super().__init__(**options)
        if not callable(app):
            raise TypeError(f"WSGIHandler needs a WSGI application (a callable), got {app!r}")
        self.app = app
        # SCRIPT_NAME is compared with the latin-1 form of the decoded path.
        self._script_base = self.config.base_path.encode("utf-8").decode("latin-1")

    def respond(
        self, request: Request, remaining: float | None, extra_keys: ExtraKeys | None
    ) -> Response:
        environ = environ_with_keys(request, self._script_base, extra_keys)
        return run_wsgi_app(self.app, environ)

    def __repr__(self) -> str:
        return f"WSGIHandler({self.app!r}, {self.config!r})"


# CGI gives these their own variables. The body's real length is set after the headers, so a
# Content-Length header (ALB sends one) never overrides it.
_OWN_VARIABLES = {"content-type": "CONTENT_TYPE", "content-length": "CONTENT_LENGTH"}


@lru_cache(maxsize=1024)  # names repeat on every invocation; bounded, since clients choose them
def _environ_key(name: str) -> str | None:
    """The environ key for a lowercase header name, or None for a name left out."""
    if "_" in name:
        # X-Auth_Token and X-Auth-Token would both become HTTP_X_AUTH_TOKEN: one could spoof the
        # other past a proxy that vets only one spelling. Such names are left out (as nginx and
        # Apache do): docs/alb-behaviour.md, rule 4.
        return None
    return _OWN_VARIABLES.get(name) or "HTTP_" + name.upper().replace("-", "_")


def _native(value: str) -> str:
    """PEP 3333 native string of header text: its UTF-8 bytes (what the client sent, since ALB
    decodes header bytes as UTF-8) read as latin-1, as gunicorn and uvicorn hand them over; for
    every value alike, whatever other characters it holds (docs/alb-behaviour.md, rule 4)."""
    return value if value.isascii() else value.encode("utf-8").decode("latin-1")


def build_environ(
    request: Request, config: Config, script_base: str | None = None
) -> WSGIEnvironment:
    """The PEP 3333 environ ``config``'s handler gives the app for ``request``, the
    ``extra_keys`` option's keys included (the ``identity`` option's key, added per request by
    the handler, is not); ``script_base`` is ``base_path`` in latin-1 form."""
    if script_base is None:
        script_base = config.base_path.encode("utf-8").decode("latin-1")
    return environ_with_keys(request, script_base, config.extra_keys)


def environ_with_keys(
    request: Request, script_base: str, extra_keys: ExtraKeys | None
) -> WSGIEnvironment:
    """The PEP 3333 environ for ``request`` under ``script_base`` (``base_path`` in latin-1
    form), with ``extra_keys``' keys last.

    Repeated headers are joined with ``", "`` (``"; "`` for cookies), whatever the source or its
    header mode (docs/alb-behaviour.md, rule 4).
    """
    path_info = request.path.decode("latin-1")
    script_name = ""
    if request.root_path:  # the source's own prefix (an API Gateway stage) comes first
        script_name = request.root_path.decode("latin-1")
        path_info = path_info[len(script_name) :]
    if script_base:
        base, path_info = split_base_path(path_info, script_base)
        script_name += base
    host, port = request.server
    client = request.client
    environ: dict[str, object] = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": script_name,
        "PATH_INFO": path_info,
        "QUERY_STRING": request.query_string,
        "SERVER_NAME": _native(host),  # from the Host header: any text a client sent
        "SERVER_PORT": str(port),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": _native(client[0]) if client else "",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": request.scheme,
        "wsgi.input": io.BytesIO(request.body),
        "wsgi.errors": sys.stderr,  # read per call: test runners replace it
        "wsgi.input_terminated": True,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "aws.event": request.event,
        "aws.context": request.context,
    }
    if client and client[1]:
        environ["REMOTE_PORT"] = str(client[1])
    for name, value in request.headers:
        key = _environ_key(name)
        if key is None:
            continue
        if not value.isascii():
            value = _native(value)  # noqa: PLW2901
        if key in environ and key != "CONTENT_TYPE":
            separator = "; " if key == "HTTP_COOKIE" else ", "
            environ[key] = f"{environ[key]}{separator}{value}"
        else:
            environ[key] = value
    environ["CONTENT_LENGTH"] = str(len(request.body))
    if extra_keys is not None:  # last, so the app's own function may set REMOTE_USER, say
        environ.update(extra_keys(request))
    return environ


class _Collector:
    """The server side of one WSGI call: ``start_response``, ``write`` and the collected answer."""

    __slots__ = ("body_started", "chunks", "headers", "reason", "status")

    def __init__(self) -> None:
        self.status: int | None = None
        self.reason: str | None = None
        self.headers: tuple[tuple[str, str], ...] = ()
        self.chunks: list[bytes] = []
        self.body_started = False

    def start_response(
        self,
        status: str,
        headers: list[tuple[str, str]],
        exc_info: ExcInfo | None = None,
    ) -> Callable[[bytes], object]:
        if exc_info is not None:
            try:
                if self.body_started:
                    # PEP 3333: once body bytes are out, the error must propagate to the server.
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None  # break the traceback reference cycle
        elif self.status is not None:
            raise AppError("start_response was called a second time without exc_info")
        self.status, self.reason = _parse_status(status)
        self.headers = _checked_headers(headers)
        return self.write

    def write(self, data: bytes) -> None:
        if self.status is None:
            raise AppError("write() was called before start_response")
        if type(data) is not bytes:
            raise AppError(f"write() needs bytes, got {type(data).__name__}")
        if data:
            self.body_started = True
            self.chunks.append(data)

    def response(self) -> Response:
        if self.status is None:
            raise AppError("the application returned without calling start_response")
        return Response(self.status, self.headers, b"".join(self.chunks), self.reason)


def _parse_status(status: object) -> tuple[int, str | None]:
    """``"404 Not Found"`` -> (404, "Not Found"); the reason is kept for statusDescription."""
    if not isinstance(status, str):
        raise AppError(f"the status must be a str such as '200 OK', got {status!r}")
    code, _, reason = status.partition(" ")
    if not (len(code) == 3 and code.isdigit()):
        raise AppError(f"the status must start with a 3-digit code, got {status!r}")
    number = int(code)
    if not is_valid_status(number):
        raise AppError(f"the status code must be from 100 to 599, got {status!r}")
    return number, reason.strip() or None


def _checked_headers(headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    try:
        pairs = tuple(headers)
    except TypeError:
        raise AppError(
            f"response headers must be a list of (name, value) tuples, got {type(headers).__name__}"
        ) from None
    beyond_ascii = False
    for pair in pairs:
        if not (
            type(pair) is tuple and len(pair) == 2 and type(pair[0]) is str and type(pair[1]) is str
        ):
            # Types only: a header value may be a cookie or a token, and this is logged as an error.
            raise AppError(f"each response header must be a (str, str) tuple, got {_types(pair)}")
        if not pair[1].isascii():
            try:
                pair[1].encode("latin-1")
            except UnicodeEncodeError:
                raise AppError(
                    f"header {pair[0]!r} has characters beyond latin-1 (PEP 3333 wants bytes as "
                    "latin-1 code points)"
                ) from None
            beyond_ascii = True
    return tuple(map(_unlatin, pairs)) if beyond_ascii else pairs


def _types(pair: object) -> str:
    """``(str, int)``: what a header pair holds, without its values."""
    if isinstance(pair, tuple):
        return "(" + ", ".join(type(item).__name__ for item in pair) + ")"
    return type(pair).__name__


def _unlatin(pair: tuple[str, str]) -> tuple[str, str]:
    """Undo PEP 3333's latin-1 view of header bytes, so UTF-8 text reaches the JSON as text."""
    name, value = pair
    if value.isascii():
        return pair
    try:
        return name, value.encode("latin-1").decode("utf-8")
    except UnicodeDecodeError:
        return pair


def run_wsgi_app(app: WSGIApplication, environ: WSGIEnvironment) -> Response:
    """Call ``app`` once and collect its whole response; ``close()`` is always called."""
    collector = _Collector()
    iterable = app(environ, collector.start_response)  # type: ignore[arg-type]
    try:
        chunks = collector.chunks
        for chunk in iterable:
            if type(chunk) is not bytes:
                raise AppError(
                    f"the application's iterable yielded {type(chunk).__name__}, not bytes"
                )
            if chunk:
                if collector.status is None:
                    raise AppError(
                        "the application yielded body bytes before calling start_response"
                    )
                collector.body_started = True
                chunks.append(chunk)
    finally:
        close = getattr(iterable, "close", None)
        if close is not None:
            close()
    return collector.response()
