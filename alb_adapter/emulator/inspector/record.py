"""What the inspector keeps of each request: one ``Exchange`` per request through the local ALB,
in a ``Recorder`` that holds the last ``keep`` of them and nothing older.

Memory is bounded twice: the ring buffer (``collections.deque(maxlen=keep)``) drops the oldest
exchange when a new one arrives, and each exchange keeps at most ``body_bytes`` of each body (the
request's, the event's, the function's answer's, the response's) and ``MAX_LOG_LINES`` log lines,
noting what it left out. Nothing here is written to disk.

The function's log lines reach the exchange two ways. Thread environments: while the handler
runs, a context variable names the exchange (``asyncio.to_thread`` carries it into the worker
thread), and a logging handler on the root logger and a tee on ``sys.stdout``/``sys.stderr``
copy what is logged or printed in that context. Process environments: the worker's output relay
(``environments.Environment``) hands each line to the invocation it belongs to.

Live updates are polled (``Recorder.changed_since``), not pushed: a page that asks every second
holds no connection open, so stopping the server never waits for an open event stream
(uvicorn gives in-flight requests ``server.IN_FLIGHT_GRACE_SECONDS`` before it stops).
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import logging
import sys
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from ..rules import RuleVerdict

DEFAULT_KEEP = 200
DEFAULT_BODY_BYTES = 256 * 1024
MAX_LOG_LINES = 500
MAX_LOG_LINE_CHARS = 4000
# Header names whose values are secrets: shown masked unless the user asks to reveal them.
SECRET_HEADERS = frozenset({"cookie", "set-cookie", "authorization", "proxy-authorization"})
SECRET_HEADER_PREFIXES = ("x-amzn-oidc-",)

Headers = list[tuple[str, str]]


def is_secret_header(name: str) -> bool:
    """Whether the value of header ``name`` is masked (any case: ALB's ``Set-cookie`` too)."""
    lowered = name.lower()
    return lowered in SECRET_HEADERS or lowered.startswith(SECRET_HEADER_PREFIXES)


def mask(value: str) -> str:
    """What a secret value shows as: its length only."""
    return f"[masked: {len(value)} characters]"


def masked_headers(headers: Iterable[tuple[str, str]], *, reveal: bool) -> Headers:
    return [
        (name, value if reveal or not is_secret_header(name) else mask(value))
        for name, value in headers
    ]


def masked_header_map(value: object, *, reveal: bool) -> object:
    """An event's or an answer's ``headers`` / ``multiValueHeaders`` object, secrets masked."""
    if reveal or not isinstance(value, dict):
        return value
    shown: dict[str, object] = {}
    for name, item in value.items():
        if not is_secret_header(str(name)):
            shown[name] = item
        elif isinstance(item, list):
            shown[name] = [mask(part) if isinstance(part, str) else part for part in item]
        else:
            shown[name] = mask(item) if isinstance(item, str) else item
    return shown


def bounded_text(text: str, limit: int) -> tuple[str, bool]:
    """``text`` cut to ``limit`` characters, and whether it was cut."""
    return (text, False) if len(text) <= limit else (text[:limit], True)


def bounded_json(value: object, limit: int) -> tuple[object, bool]:
    """A copy of a Lambda event or answer the inspector can keep and show: top-level and
    header objects copied (a handler may change the dict it was given), ``body`` cut to
    ``limit`` characters, anything JSON cannot carry shown as its type. Returns the copy and
    whether the body was cut."""
    if not isinstance(value, dict):
        return _plain(value), False
    copy: dict[str, object] = {}
    cut = False
    for key, item in value.items():
        if key == "body" and isinstance(item, str):
            copy[key], cut = bounded_text(item, limit)
        else:
            copy[str(key)] = _plain(item)
    return copy, cut


def _plain(value: object, depth: int = 0) -> object:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if depth < 8 and isinstance(value, dict):
        return {str(key): _plain(item, depth + 1) for key, item in value.items()}
    if depth < 8 and isinstance(value, list | tuple):
        return [_plain(item, depth + 1) for item in value]
    return f"<{type(value).__name__}: not JSON>"


class Exchange:
    """One request through the local ALB, from what arrived to what the client got.

    Filled in as the request goes: ``Recorder.begin`` with the request as received, then the
    listener's evaluation, the Lambda event, the function's raw answer and ALB's notes on it,
    its log lines, and ``finish`` with the response. ``status`` is None while it is in flight.
    """

    __slots__ = (
        "id", "started", "client", "server", "method", "target", "request_headers",
        "request_body", "request_size", "replay_of", "trace", "refusal", "rule", "action",
        "target_name", "event", "event_truncated", "answer", "answer_truncated", "notes",
        "status", "reason", "response_headers", "response_body", "response_size",
        "duration_ms", "cold_start", "environment", "logs", "logs_dropped", "version",
        "body_limit", "_partial",
    )  # fmt: skip

    def __init__(
        self,
        exchange_id: int,
        *,
        client: tuple[str, int],
        server: tuple[str, int],
        method: str,
        target: str,
        headers: Headers,
        body: bytes,
        body_limit: int,
        replay_of: int | None = None,
    ) -> None:
        self.id = exchange_id
        self.started = time.time()
        self.client = client
        self.server = server
        self.method = method
        self.target = target  # the request target as sent: raw path and query
        self.request_headers = headers
        self.request_body = body[:body_limit]
        self.request_size = len(body)
        self.replay_of = replay_of
        self.trace: list[RuleVerdict] | None = None
        self.refusal: str | None = None  # answered before the listener rules, and why
        self.rule = "-"
        self.action = "-"
        self.target_name: str | None = None
        self.event: object = None
        self.event_truncated = False
        self.answer: object = None
        self.answer_truncated = False
        self.notes: list[str] = []
        self.status: int | None = None
        self.reason: str | None = None
        self.response_headers: Headers = []
        self.response_body = b""
        self.response_size = 0
        self.duration_ms: float | None = None
        self.cold_start: bool | None = None
        self.environment: str | None = None
        self.logs: list[str] = []
        self.logs_dropped = 0
        self.version = 0
        self.body_limit = body_limit
        self._partial = ""

    # -- filled in on the way --------------------------------------------------------------

    def sent_event(self, event: dict[str, object]) -> None:
        self.event, self.event_truncated = bounded_json(event, self.body_limit)

    def answered(self, payload: object, notes: list[str]) -> None:
        """The function's answer as it returned it, and ALB's notes on reading it."""
        self.answer, self.answer_truncated = bounded_json(payload, self.body_limit)
        self.notes = notes

    def log(self, line: str) -> None:
        """One log line of the function's (any thread)."""
        if len(self.logs) >= MAX_LOG_LINES:
            self.logs_dropped += 1
            return
        text, cut = bounded_text(line, MAX_LOG_LINE_CHARS)
        self.logs.append(text + (" [line cut]" if cut else ""))

    def write(self, text: str) -> None:
        """Printed output, which may end mid-line: whole lines become log lines."""
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            self.log(line.rstrip("\r"))

    def finish(
        self, status: int, reason: str | None, headers: Headers, body: bytes, duration_ms: float
    ) -> None:
        if self._partial:
            self.log(self._partial)
            self._partial = ""
        self.status = status
        self.reason = reason
        self.response_headers = headers
        self.response_body = body[: self.body_limit]
        self.response_size = len(body)
        self.duration_ms = duration_ms


class Recorder:
    """The last ``keep`` exchanges, newest last; ``version`` grows with every change, so a page
    can ask for what changed since it last looked."""

    def __init__(self, keep: int = DEFAULT_KEEP, *, body_bytes: int = DEFAULT_BODY_BYTES) -> None:
        if keep < 1:
            raise ValueError(f"the inspector must keep at least one request, not {keep}")
        self.keep = keep
        self.body_bytes = body_bytes
        self.exchanges: deque[Exchange] = deque(maxlen=keep)
        self.version = 0
        self._ids = itertools.count(1)
        self._capturing = False

    def begin(
        self,
        *,
        client: tuple[str, int],
        server: tuple[str, int],
        method: str,
        target: str,
        headers: Headers,
        body: bytes,
        replay_of: int | None = None,
    ) -> Exchange:
        exchange = Exchange(
            next(self._ids),
            client=client,
            server=server,
            method=method,
            target=target,
            headers=headers,
            body=body,
            body_limit=self.body_bytes,
            replay_of=replay_of,
        )
        self.exchanges.append(exchange)  # the oldest goes when full
        self.touch(exchange)
        return exchange

    def touch(self, exchange: Exchange) -> None:
        self.version += 1
        exchange.version = self.version

    def get(self, exchange_id: int) -> Exchange | None:
        for exchange in self.exchanges:
            if exchange.id == exchange_id:
                return exchange
        return None

    def changed_since(self, version: int) -> list[Exchange]:
        return [exchange for exchange in self.exchanges if exchange.version > version]

    def clear(self) -> None:
        self.exchanges.clear()
        self.version += 1

    # -- the function's logs, in thread environments ----------------------------------------

    def start_capture(self) -> None:
        """Copy log records made while a recorded function runs in this process to its
        exchange (the root logger's handler; the level of each logger still decides)."""
        with _install_lock:
            if not self._capturing:
                self._capturing = True
                _recorders_capturing.add(id(self))
                if len(_recorders_capturing) == 1:
                    logging.getLogger().addHandler(_HANDLER)

    def stop_capture(self) -> None:
        with _install_lock:
            if not self._capturing:
                return
            self._capturing = False
            _recorders_capturing.discard(id(self))
            if not _recorders_capturing:
                logging.getLogger().removeHandler(_HANDLER)
                for name in ("stdout", "stderr"):
                    stream = getattr(sys, name)
                    if isinstance(stream, _Tee):
                        setattr(sys, name, stream.wrapped)


# The exchange whose function is running in this context (a worker thread of a thread target).
CURRENT: contextvars.ContextVar[Exchange | None] = contextvars.ContextVar(
    "alb_adapter_inspector_exchange", default=None
)
_install_lock = threading.Lock()
_recorders_capturing: set[int] = set()  # the recorders whose capture is on


class _CaptureHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("[%(levelname)s] %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        exchange = CURRENT.get()
        if exchange is not None:
            for line in self.format(record).splitlines():
                exchange.log(line)


_HANDLER = _CaptureHandler()


class _Tee:
    """``sys.stdout`` or ``sys.stderr`` as before, also copying what a recorded function
    prints to its exchange."""

    def __init__(self, wrapped: TextIO) -> None:
        self.wrapped = wrapped

    def write(self, text: str) -> int:
        exchange = CURRENT.get()
        if exchange is not None:
            exchange.write(text)
        return self.wrapped.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)


@contextlib.contextmanager
def capturing(exchange: Exchange) -> Iterator[None]:
    """While the block runs (and in the threads ``asyncio.to_thread`` starts from it), what is
    logged or printed in this context belongs to ``exchange``."""
    with _install_lock:
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            if stream is not None and not isinstance(stream, _Tee):
                setattr(sys, name, _Tee(stream))
    token = CURRENT.set(exchange)
    try:
        yield
    finally:
        CURRENT.reset(token)
