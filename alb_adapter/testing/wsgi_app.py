"""ALBWSGIApp: a Lambda handler seen as a WSGI application, with ALB in between.

    from werkzeug.test import Client
    client = Client(ALBWSGIApp(handler, multi_value_headers=True))
    assert client.get("/account/profile").status_code == 200

A Lambda handler takes ``(event, context)``, so a WSGI test tool (werkzeug's ``Client``, WebTest,
Flask's and Django's test clients) or a WSGI server cannot call it. ``ALBWSGIApp`` can be called
by any of them: each WSGI request becomes the event ALB would send, the handler is called as Lambda
calls it, and its answer is judged as ALB judges it (``through_alb`` in
``alb_adapter/emulator/invocation.py``, shared with ``ALBClient`` and the local ALB). Where a real
load balancer would answer 502, so does this app, with the reason in the ``x-alb-emulator-error``
header.

Needs nothing beyond the standard library.
"""

from __future__ import annotations

from urllib.parse import quote

from ..emulator.invocation import (
    MAX_REQUEST_BODY_BYTES,
    Handler,
    Headers,
    Outcome,
    response_head,
)
from ..emulator.services import find_service, through
from ..model import reason_phrase
from ..sources.alb.balancer import EXAMPLE_CLIENT_IP

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing

if TYPE_CHECKING:
    from collections.abc import Iterable

    from _typeshed.wsgi import StartResponse, WSGIEnvironment

ERROR_HEADER = "x-alb-emulator-error"
# What may stay unescaped in a path (RFC 3986 pchar and "/"), for environs without the raw URI.
_PATH_SAFE = "/:@!$&'()*+,;=~-._"
# What a request line carries as it is: printable ASCII. The rest (non-ASCII bytes, spaces,
# controls) a client percent-escapes before sending, as UTF-8 bytes.
_REQUEST_LINE_SAFE = "".join(map(chr, range(0x21, 0x7F)))
# CGI gives these headers variables of their own, without the HTTP_ prefix.
_CGI_HEADERS = {"CONTENT_TYPE": "content-type", "CONTENT_LENGTH": "content-length"}


class ALBWSGIApp:
    """A WSGI application that sends every request through ALB to a Lambda handler.

    ``multi_value_headers`` is the target group's setting. ``client_ip`` is the address ALB puts
    in X-Forwarded-For; by default the environ's ``REMOTE_ADDR`` (what a WSGI server or test
    client says the peer is). ``timeout`` is the function's timeout in seconds. With
    ``raise_handler_errors`` an exception the handler raises reaches the caller (a test client
    that re-raises the app's errors) instead of becoming ALB's 502. ``source`` puts another front
    door in ALB's place (``"apigw-rest"``, ``"function-url"``...; the list is in
    ``alb_adapter/emulator/services.py``) and ``stage`` (API Gateway) sends requests to the API's
    execute-api URL under that stage.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        multi_value_headers: bool = False,
        client_ip: str | None = None,
        timeout: float = 30.0,
        raise_handler_errors: bool = False,
        source: str = "alb",
        stage: str | None = None,
    ) -> None:
        if not callable(handler):
            raise TypeError(f"ALBWSGIApp needs a Lambda handler (a callable), got {handler!r}")
        self.service = find_service(source)
        self.service.check(multi_value_headers=multi_value_headers, stage=stage)
        self.stage = stage
        self.handler = handler
        self.multi_value_headers = multi_value_headers
        self.client_ip = client_ip
        self.timeout = timeout
        self.raise_handler_errors = raise_handler_errors

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        outcome = self.outcome(environ)
        head = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in response_head(outcome)
        ]
        if outcome.reason:
            head.append((ERROR_HEADER, outcome.reason.encode("ascii", "replace").decode()))
        start_response(f"{outcome.status} {reason_phrase(outcome.status)}", head)
        return [outcome.body]

    def outcome(self, environ: WSGIEnvironment) -> Outcome:
        """What the client receives for this WSGI request, with ALB's reason when ALB answered
        itself (the framework clients build their own response objects from it)."""
        scheme = str(environ.get("wsgi.url_scheme", "http"))
        return through(
            self.service,
            self.handler,
            str(environ["REQUEST_METHOD"]).upper(),
            request_target(environ),
            wire_headers(environ),
            read_body(environ),
            client_ip=self.client_ip or str(environ.get("REMOTE_ADDR") or EXAMPLE_CLIENT_IP),
            scheme=scheme,
            port=_port(environ, scheme),
            multi_value_headers=self.multi_value_headers,
            timeout=self.timeout,
            raise_handler_errors=self.raise_handler_errors,
            stage=self.stage,
        )

    def __repr__(self) -> str:
        mode = "multi-value" if self.multi_value_headers else "single-value"
        return f"ALBWSGIApp({self.handler!r}, {mode} headers)"


def request_target(environ: WSGIEnvironment) -> str:
    """The request target as the client sent it: the path from the server's raw URI where it
    gives one (``REQUEST_URI``/``RAW_URI``, as werkzeug, gunicorn and uWSGI do: the only place
    ``%2F`` is still told from ``/``), else the PEP 3333 path escaped again; the query from
    ``QUERY_STRING``, which every server fills with the raw query (werkzeug's ``REQUEST_URI``
    leaves out a query given as ``query_string=``).

    Bytes a request line cannot carry raw are percent-escaped, as an HTTP client escapes them:
    werkzeug's ``client.get("/café")`` puts the UTF-8 bytes of ``é`` in ``REQUEST_URI`` (one
    character per byte, PEP 3333), and ALB's event gets ``/caf%C3%A9``, as from a browser.
    """
    raw = environ.get("REQUEST_URI") or environ.get("RAW_URI")
    if isinstance(raw, str) and raw:
        raw_path = raw.partition("?")[0]
        if "://" in raw_path:  # absolute form: keep only the path
            after_authority = raw_path.partition("://")[2]
            slash = after_authority.find("/")
            raw_path = after_authority[slash:] if slash >= 0 else "/"
        path = _escape_for_request_line(raw_path) or "/"
    else:
        # PEP 3333 native strings hold the path's bytes one per character.
        script_and_path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        path = quote(script_and_path.encode("latin-1"), safe=_PATH_SAFE) or "/"
    query = _escape_for_request_line(environ.get("QUERY_STRING", ""))
    return f"{path}?{query}" if query else path


def _escape_for_request_line(native: str) -> str:
    """Percent-escape the bytes of a PEP 3333 native string that are not printable ASCII;
    existing escapes and everything else stay byte for byte."""
    return quote(native.encode("latin-1"), safe=_REQUEST_LINE_SAFE)


def wire_headers(environ: WSGIEnvironment) -> Headers:
    """The request's headers as the client sent them (bytes read as latin-1, as PEP 3333 keeps
    them), with a Host made from ``SERVER_NAME``/``SERVER_PORT`` when the environ has none (some
    test clients, Django's among them, set only those)."""
    headers: Headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.append((key[5:].replace("_", "-").lower(), str(value)))
        elif key in _CGI_HEADERS and value:
            headers.append((_CGI_HEADERS[key], str(value)))
    if "HTTP_HOST" not in environ and environ.get("SERVER_NAME"):
        scheme = str(environ.get("wsgi.url_scheme", "http"))
        port = _port(environ, scheme)
        default = 443 if scheme == "https" else 80
        host = str(environ["SERVER_NAME"])
        headers.append(("host", host if port == default else f"{host}:{port}"))
    return headers


def read_body(environ: WSGIEnvironment) -> bytes:
    """The request body: ``CONTENT_LENGTH`` bytes, or to the end where the server marks the
    input as terminated. At most one byte past ALB's limit is read: enough for its 413."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    limit = MAX_REQUEST_BODY_BYTES + 1
    length = str(environ.get("CONTENT_LENGTH") or "").strip()
    if length.isdigit():
        return bytes(stream.read(min(int(length), limit)))
    if environ.get("wsgi.input_terminated"):
        return bytes(stream.read(limit))
    return b""


def _port(environ: WSGIEnvironment, scheme: str) -> int:
    port = str(environ.get("SERVER_PORT", ""))
    return int(port) if port.isdigit() else (443 if scheme == "https" else 80)
