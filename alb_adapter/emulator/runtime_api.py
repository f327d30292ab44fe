"""The Lambda Runtime API, as the local ALB serves it to the execution environments it runs.

A runtime (``awslambdaric``, or the emulator's own ``bootstrap``) finds it at
``http://$AWS_LAMBDA_RUNTIME_API/2018-06-01`` and drives it in a loop: ``GET
/runtime/invocation/next`` waits for an event, then ``POST /runtime/invocation/{id}/response``
(or ``/error``) reports how it ended; ``POST /runtime/init/error`` reports a function that could
not even be loaded. A runtime's first ``next`` is the end of its init.

Each execution environment gets its own server, on 127.0.0.1 and a port of the system's choosing,
as each Lambda sandbox has its own endpoint: a runtime's requests carry nothing that names their
environment, and the emulator must know which process holds an invocation to kill it at the
deadline. The server is ``http.server``'s threading one: a runtime may wait in ``next`` for as long
as no request comes, and it does so in a thread of its own, never on the event loop that serves the
clients; the standard library's parser also answers ``Expect: 100-continue``, which curl (inside
``awslambdaric``) may send with a large result.
"""

from __future__ import annotations

import json
import logging
import re
import socketserver
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from concurrent.futures import Future

log = logging.getLogger("alb_adapter.emulator.runtime")

API_VERSION = "2018-06-01"
NEXT_PATH = f"/{API_VERSION}/runtime/invocation/next"
INIT_ERROR_PATH = f"/{API_VERSION}/runtime/init/error"
_INVOCATION_PATH = re.compile(rf"/{API_VERSION}/runtime/invocation/([^/]+)/(response|error)")
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
# Lambda's limit for a synchronous invocation's result (6 MB); ALB's own 1 MB limit applies later.
MAX_RESPONSE_BYTES = 6 * 1024 * 1024
DEFAULT_REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # the documentation's example account, as LambdaContext uses


def function_arn(function_name: str, region: str = DEFAULT_REGION) -> str:
    return f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{function_name}"


def lambda_trace_id(event: dict[str, object]) -> str:
    """The ``Lambda-Runtime-Trace-Id`` for an invocation from ALB: the ``Root`` ALB put in the
    event's ``X-Amzn-Trace-Id`` (a new one when there is none), a new ``Parent``, not sampled."""
    root = None
    headers = event.get("headers") or event.get("multiValueHeaders") or {}
    value = headers.get("x-amzn-trace-id") if isinstance(headers, dict) else None
    if isinstance(value, list):
        value = value[-1] if value else None
    if isinstance(value, str):
        for part in value.split(";"):
            key, _, field_value = part.strip().partition("=")
            if key == "Root" and field_value:
                root = field_value
                break
    if root is None:
        root = f"1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
    return f"Root={root};Parent={uuid.uuid4().hex[:16]};Sampled=0"


@dataclass
class Invocation:
    """One event on its way to a runtime, and, in ``result``, how it ended (set once, by the
    thread that serves the runtime's answer, or by the emulator when the runtime died)."""

    event: bytes  # the event JSON
    deadline_ms: int  # Unix epoch milliseconds, what the context's remaining time counts down to
    function_arn: str
    trace_id: str
    result: Future[InvocationResult]
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    handed_out: bool = False  # the runtime has received it from ``next``


@dataclass(frozen=True)
class InvocationResult:
    """How an invocation ended: the function's result (JSON bytes), or its error payload as the
    runtime reported it (``errorType``, ``errorMessage``, ``stackTrace``)."""

    payload: bytes | None = None
    error: dict[str, object] | None = None

    @classmethod
    def failure(cls, error_type: str, message: str) -> InvocationResult:
        """An error the emulator reports itself (the runtime exited, or was stopped)."""
        return cls(error={"errorType": error_type, "errorMessage": message, "stackTrace": []})


class InitError(Exception):
    """The runtime reported (or showed, by exiting) that the function could not be initialised."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message


class RuntimeBackend(Protocol):
    """What the server asks of the execution environment it serves. Each method answers with
    the status code and the body Lambda's Runtime API would give (None: accepted)."""

    def next_invocation(self) -> Invocation | None:
        """Block until the environment has an invocation for its runtime; None when it is being
        retired (the runtime is then sent nothing more)."""

    def report_result(self, request_id: str, result: InvocationResult) -> tuple[int, str] | None:
        """The runtime finished ``request_id``; the error status and type when it cannot have."""

    def report_init_error(self, error: InitError) -> tuple[int, str] | None:
        """The runtime could not initialise the function."""


class RuntimeAPIServer(ThreadingHTTPServer):
    """The Runtime API of one execution environment, on 127.0.0.1 and a free port."""

    daemon_threads = True  # a runtime waiting in `next` never holds the emulator's exit

    def __init__(self, backend: RuntimeBackend) -> None:
        self.backend = backend
        super().__init__(("127.0.0.1", 0), _RuntimeAPIHandler)

    def server_bind(self) -> None:
        # HTTPServer's own looks the host name up (socket.getfqdn), which can take seconds where
        # the resolver is slow; the address is all a runtime needs.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]  # type: ignore[assignment]

    def handle_error(self, request: object, client_address: object) -> None:
        """A runtime's connection that broke mid-request (its process ended, was killed at the
        timeout, or exited after an init error): the environment's supervisor reports what
        matters; socketserver's default would print a traceback to stderr."""
        log.debug("runtime API %s: a request failed", self.address, exc_info=True)

    @property
    def address(self) -> str:
        """``host:port``, the value of ``AWS_LAMBDA_RUNTIME_API``."""
        host, port = self.server_address[:2]
        return f"{host!s}:{port}"


class _RuntimeAPIHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as runtimes expect (curl reuses its connection)
    # The head and the body go out in two writes: without this, Nagle's algorithm holds the second
    # until the runtime's delayed ACK (40 ms on Linux) on every answer.
    disable_nagle_algorithm = True
    server: RuntimeAPIServer

    def log_message(self, format: str, *args: object) -> None:
        log.debug("runtime API %s: " + format, self.server.address, *args)

    def do_GET(self) -> None:
        if self.path != NEXT_PATH:
            self._error(404, "UnknownPath", f"no such endpoint: GET {self.path}")
            return
        invocation = self.server.backend.next_invocation()
        if invocation is None:  # the environment is being retired: its runtime gets nothing more
            self.close_connection = True
            return
        headers = {
            "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
            "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": invocation.function_arn,
            "Lambda-Runtime-Trace-Id": invocation.trace_id,
            "Content-Type": "application/json",
        }
        self._send(200, invocation.event, headers)

    def do_POST(self) -> None:
        body = self._read_body()
        if body is None:
            return
        if self.path == INIT_ERROR_PATH:
            payload = _error_payload(body)
            error_type = self.headers.get(ERROR_TYPE_HEADER) or str(
                payload.get("errorType") or "Runtime.Unknown"
            )
            message = str(payload.get("errorMessage") or "")
            self._answer(self.server.backend.report_init_error(InitError(error_type, message)))
            return
        match = _INVOCATION_PATH.fullmatch(self.path)
        if match is None:
            self._error(404, "UnknownPath", f"no such endpoint: POST {self.path}")
            return
        request_id, kind = match.groups()
        if kind == "response":
            if len(body) > MAX_RESPONSE_BYTES:
                message = f"the response is {len(body):,} bytes, over Lambda's 6 MB limit"
                self.server.backend.report_result(
                    request_id, InvocationResult.failure("Function.ResponseSizeTooLarge", message)
                )
                self._error(413, "RequestEntityTooLarge", message)
                return
            result = InvocationResult(payload=body)
        else:
            error = _error_payload(body)
            header_type = self.headers.get(ERROR_TYPE_HEADER)
            if "errorType" not in error and header_type:
                error["errorType"] = header_type
            result = InvocationResult(error=error)
        self._answer(self.server.backend.report_result(request_id, result))

    # -- helpers -------------------------------------------------------------------------------

    def _read_body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = self.headers.get("Content-Length", "0").strip()
        if not length.isdigit():
            self._error(400, "InvalidRequest", "a body needs a Content-Length")
            return None
        return self.rfile.read(int(length))

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()  # the CRLF after each chunk

    def _answer(self, refusal: tuple[int, str] | None) -> None:
        if refusal is None:
            self._send(202, b'{"status":"OK"}', {"Content-Type": "application/json"})
        else:
            status, error_type = refusal
            self._error(status, error_type, f"{error_type} for {self.path}")

    def _error(self, status: int, error_type: str, message: str) -> None:
        body = json.dumps({"errorMessage": message, "errorType": error_type}).encode()
        self._send(status, body, {"Content-Type": "application/json"})

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the runtime went away (killed at its deadline, or at shutdown)
            self.close_connection = True


def _error_payload(body: bytes) -> dict[str, object]:
    """A runtime's error report: a JSON object with ``errorType``, ``errorMessage`` and
    ``stackTrace``; whatever else it sent is kept as the message."""
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if isinstance(payload, dict):
        return payload
    return {"errorMessage": body.decode("utf-8", "replace")}
