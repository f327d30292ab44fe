"""ASGI 3 (HTTP): Request -> scope, the buffered HTTP cycle on one persistent loop; ASGIHandler.

ALB cannot stream, so the whole response is collected (a StreamingResponse or server-sent events
arrive when complete). The loop is created once per handler and reused, so connection pools made
at startup stay valid; lifespan runs once, at construction (lifespan.py).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import signal
import socket
import threading
import weakref

from .errors import AppError, UnsupportedEvent
from .handler import BaseHandler
from .lifespan import Lifespan
from .log import logger
from .model import Response, header_text, is_valid_status, plain_response, split_base_path
from .snapstart import RESTART_TIMEOUT_SECONDS, register_hooks
from .sources import describe_misuse

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import FrameType
    from typing import Any

    from typing_extensions import Unpack

    from .config import Config, ConfigOptions, ExtraKeys
    from .lifespan import ASGI3Application, LifespanMode
    from .model import Request

# The HTTP part of the asgiref "www" spec this cycle satisfies: 2.4 requires send() after the
# response is complete to raise an OSError subclass (ResponseAlreadySent).
SPEC_VERSION = "2.4"
# Cancel the app this long before Lambda's own deadline, leaving time to answer 504 and log.
DEADLINE_MARGIN_SECONDS = 0.5
# After cancelling, how long the app may take to unwind before the loop is stopped under it.
CANCEL_GRACE_SECONDS = 0.2
# At close(), how long the app's leftover tasks (background work it started) get to finish
# unwinding once cancelled, before the loop is closed anyway.
LEFTOVER_GRACE_SECONDS = 1.0
# At SIGTERM, the same waits cut to fit the runtime's share of Lambda's shutdown phase: SIGTERM
# comes only to an environment with extensions, and the runtime gets up to 300 ms of it (500 ms
# with an internal extension) before SIGKILL (README.md, "Handler lifecycle"). An interrupted
# invocation, the lifespan shutdown and the leftover tasks together stay within 300 ms.
SIGTERM_INTERRUPT_GRACE_SECONDS = 0.05
SIGTERM_LIFESPAN_SECONDS = 0.2
SIGTERM_LEFTOVER_SECONDS = 0.05


class ResponseAlreadySent(AppError, OSError):
    """``send()`` after the response was complete: ASGI 2.4 wants an OSError subclass here."""


class DeadlineExceeded(AppError, TimeoutError):
    """The app did not finish before the Lambda deadline (minus a margin)."""


class ASGIHandler(BaseHandler):
    """Lambda handler for an ASGI 3 application: ``handler = ASGIHandler(app)``.

    ``lifespan`` is ``"auto"`` (run it if the app supports it), ``"on"`` (it must succeed) or
    ``"off"``. ``snapstart`` (on by default; only ever used where Lambda takes snapshots) shuts the
    lifespan down before a SnapStart snapshot and starts it again after each restore, with
    ``random`` re-seeded (snapstart.py). Other options are shared with WSGIHandler (see Config).
    """

    __slots__ = (
        "_deadline",
        "_finalizer",
        "_interruption",
        "_invocation",
        "_lifespan",
        "_loop",
        "app",
    )

    def __init__(
        self,
        app: ASGI3Application,
        *,
        lifespan: LifespanMode = "auto",
        snapstart: bool = True,
        **options: Unpack[ConfigOptions],
    ) -> None:
        super().__init__(**options)
        if not callable(app):
            raise TypeError(f"ASGIHandler needs an ASGI application (a callable), got {app!r}")
        if not isinstance(snapstart, bool):
            raise TypeError(f"snapstart must be True or False, got {snapstart!r}")
        self.app = app
        _refuse_running_loop()
        # Deliberately not made the thread's current loop: all app code runs inside it (where
        # get_running_loop() finds it), and a global left behind would outlive close().
        self._loop = asyncio.new_event_loop()
        self._deadline = _Deadline(self._loop)
        # The task of the invocation in progress, which SIGTERM interrupts (_interrupt), and the
        # timer that stops the loop if the app will not be interrupted.
        self._invocation: asyncio.Task[Response] | None = None
        self._interruption: asyncio.TimerHandle | None = None
        self._lifespan = Lifespan(app, self._loop, lifespan)
        try:
            self._lifespan.startup()
        except BaseException:
            _shut_down(self._lifespan, self._loop, self._deadline, quiet=True)
            raise
        # Runs when the handler is collected without close(), or at interpreter exit if it is
        # still alive then: lifespan shutdown, leftover tasks, the loop, all quietly (DEBUG).
        self._finalizer = weakref.finalize(
            self, _shut_down, self._lifespan, self._loop, self._deadline, quiet=True
        )
        if self._lifespan.supported:
            _close_on_sigterm(self)
        if snapstart:
            register_hooks(self, _before_snapshot, _after_restore)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop every invocation runs on (the same one, always)."""
        return self._loop

    @property
    def state(self) -> dict[str, Any]:
        """The lifespan state; each request's ``scope["state"]`` is a shallow copy of it."""
        return self._lifespan.state

    def close(self) -> None:
        """Run lifespan shutdown, cancel the app's leftover tasks (with a short grace to unwind)
        and close the loop; idempotent. A handler dropped without it is shut down quietly when
        collected, or at interpreter exit."""
        super().close()
        if self._finalizer.detach() is not None:  # not yet run: run it here, and not again
            _shut_down(self._lifespan, self._loop, self._deadline, quiet=False)

    def __call__(self, event: object, context: object = None) -> dict[str, object]:
        # A programming error, not the app's: raised, not answered 500. Given to an ASGI test
        # client as if it were the app, the handler is called with a scope inside that client's
        # loop: say that, rather than only that a loop is running.
        _refuse_running_loop(event)
        return super().__call__(event, context)

    def respond(
        self, request: Request, remaining: float | None, extra_keys: ExtraKeys | None
    ) -> Response:
        if _sigterm.is_set():
            _end_invocation_after_sigterm()  # never starts an app once the environment ends
        scope = scope_with_keys(request, self.config.base_path, self._lifespan.state, extra_keys)
        cycle = HTTPCycle(request.body)
        budget = _time_budget(remaining)
        task = self._loop.create_task(cycle.run(self.app, scope, self.config.raise_app_exceptions))
        self._invocation = task
        try:
            response = self._run(task, request, budget, cycle)
        except BaseException:
            if _sigterm.is_set():
                _end_invocation_after_sigterm()
            raise
        finally:
            self._invocation = None
            if self._interruption is not None:
                self._interruption.cancel()
                self._interruption = None
        if _sigterm.is_set():  # the app finished as SIGTERM came: the answer is not sent either
            _end_invocation_after_sigterm()
        return response

    def _run(
        self, task: asyncio.Task[Response], request: Request, budget: float | None, cycle: HTTPCycle
    ) -> Response:
        loop = self._loop
        if budget is None:
            return loop.run_until_complete(task)
        deadline = self._deadline
        deadline.watch(task, loop.time() + budget)
        try:
            return loop.run_until_complete(task)
        except (asyncio.CancelledError, RuntimeError):
            if not deadline.expired:
                raise  # the app's own error, not our deadline
            return self._deadline_answer(request, budget, cycle)
        finally:
            deadline.release()

    def _interrupt(self) -> None:
        """SIGTERM during an invocation (on the loop, through call_soon_threadsafe): cancel the
        app, and stop the loop under it if it swallows the cancellation, so that respond() gets
        control back and ends the process (_end_invocation_after_sigterm)."""
        task = self._invocation
        if task is None or task.done():
            return
        task.cancel()
        self._interruption = self._loop.call_later(SIGTERM_INTERRUPT_GRACE_SECONDS, self._loop.stop)

    def _close_within_shutdown_budget(self) -> None:
        """close(), with the waits cut to fit Lambda's shutdown phase (SIGTERM_*_SECONDS)."""
        BaseHandler.close(self)
        if self._finalizer.detach() is not None:
            _shut_down(
                self._lifespan,
                self._loop,
                self._deadline,
                quiet=False,
                lifespan_timeout=SIGTERM_LIFESPAN_SECONDS,
                leftover_grace=SIGTERM_LEFTOVER_SECONDS,
            )

    def _deadline_answer(self, request: Request, budget: float, cycle: HTTPCycle) -> Response:
        message = (
            f"{request.method} {request.raw_path}: the application did not finish within "
            f"{budget:.2f} s, before the Lambda deadline; answering 504"
        )
        if self.config.raise_app_exceptions:
            raise DeadlineExceeded(message)
        logger().error("%s (response %s)", message, cycle.progress())
        return plain_response(504, "Gateway Timeout: the application took too long.\n")

    def __repr__(self) -> str:
        return f"ASGIHandler({self.app!r}, lifespan={self._lifespan.mode!r}, {self.config!r})"


class _Deadline:
    """Cancels the running app at its deadline, with one timer kept from call to call.

    A timer per call would cost, on every call of an app that waits on I/O, a push onto the
    loop's heap (Python-level comparisons), a cancel and a later pop. A later call's deadline is
    nearly always later too, so the timer stays armed: when it fires for a deadline that has
    moved on, it re-arms for the current one (about once per Lambda timeout).
    """

    __slots__ = ("_grace", "_loop", "_task", "_timer", "_when", "expired")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._timer: asyncio.TimerHandle | None = None
        self._grace: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[Response] | None = None
        self._when = 0.0
        self.expired = False

    def watch(self, task: asyncio.Task[Response], when: float) -> None:
        """Cancel ``task`` at loop time ``when`` (until release())."""
        self._task = task
        self._when = when
        self.expired = False
        timer = self._timer
        # Within a millisecond (what Lambda's clock reports in) is the same deadline: a context
        # used for several calls must not re-arm on rounding.
        if timer is None or timer.when() > when + 0.001:
            if timer is not None:
                timer.cancel()
            self._timer = self._loop.call_at(when, self._fire)

    def release(self) -> None:
        self._task = None
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None

    def close(self) -> None:
        self.release()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _fire(self) -> None:
        self._timer = None
        task = self._task
        if task is None or task.done():
            return  # nothing is being watched: the next watch() arms a timer again
        if self._loop.time() < self._when:
            self._timer = self._loop.call_at(self._when, self._fire)
            return
        self.expired = True
        task.cancel()
        # An app that swallows the cancellation: stop the loop under it, answer anyway.
        self._grace = self._loop.call_later(CANCEL_GRACE_SECONDS, self._loop.stop)


def _shut_down(
    lifespan: Lifespan,
    loop: asyncio.AbstractEventLoop,
    deadline: _Deadline,
    *,
    quiet: bool,
    lifespan_timeout: float | None = None,
    leftover_grace: float = LEFTOVER_GRACE_SECONDS,
) -> None:
    """Everything close() releases. Never raises; with ``quiet`` (a handler collected or still
    alive at exit) it logs at DEBUG only, since nobody asked for it and nothing can be done.
    ``lifespan_timeout`` (None: the lifespan's own) and ``leftover_grace`` bound the waits."""
    if loop.is_closed():
        return
    if _a_loop_is_running():
        # Collected inside some loop's callback (another handler's call): no loop can be run
        # from here, so this one is shut down at exit instead.
        atexit.register(_shut_down, lifespan, loop, deadline, quiet=True)
        return
    try:
        lifespan.shutdown(quiet=quiet, timeout=lifespan_timeout)
        deadline.close()
        _cancel_leftover_tasks(loop, leftover_grace)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
    except Exception:  # noqa: BLE001 (closing: report, never raise)
        logger().log(10 if quiet else 30, "closing the ASGI handler's loop failed", exc_info=True)
    finally:
        loop.close()


def _cancel_leftover_tasks(loop: asyncio.AbstractEventLoop, grace: float) -> None:
    """Cancel what the app left running (background tasks, pollers) and let it unwind, so
    nothing is destroyed pending and no exception goes unretrieved."""
    tasks = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.wait(tasks, timeout=grace))
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: the app's business, not a warning at exit


def _a_loop_is_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


# Handlers to close on SIGTERM, which Lambda sends before ending an environment that has
# extensions (without a handler, SIGTERM kills Python before any exit hook runs).
_close_at_sigterm: weakref.WeakSet[ASGIHandler] = weakref.WeakSet()
# Set by the first SIGTERM: from then on no invocation answers (_end_invocation_after_sigterm).
_sigterm = threading.Event()
# Taken by the thread that closes the handlers and ends the process; never released.
_ending = threading.Lock()
# How long the wakeup-fd thread leaves SIGTERM to the main thread's Python handler, which runs
# at once unless the main thread waits inside native code (the runtime client's idle wait).
MAIN_THREAD_FIRST_SECONDS = 0.05


def _close_on_sigterm(handler: ASGIHandler) -> None:
    """Close ``handler`` on SIGTERM, whatever thread the Lambda runtime waits on.

    A Python signal handler runs only on the main thread, between bytecodes; but a runtime
    client may wait for the next event on the main thread inside a native call (awslambdaric
    does, in its default mode), where the handler would not run until an event arrived. So the
    first handler also sets the signal module's wakeup fd: the C-level part of Python's signal
    handling writes the signal number to it from whichever thread the signal interrupts, and a
    daemon thread waiting on it acts when the main thread has not (_on_wakeup). The thread (and
    its two descriptors) exists only under a Lambda runtime, which names its Runtime API in
    AWS_LAMBDA_RUNTIME_API; elsewhere the main thread runs Python code and the signal handler
    suffices. Nothing is installed where SIGTERM or the wakeup fd already belong to someone else.

    Either way _on_sigterm_received decides: with no invocation running, the handlers are closed
    (lifespan shutdown) and the process dies of SIGTERM; during one, the app is cancelled on its
    loop and the invocation, getting control back, does the same instead of answering."""
    if (
        not _close_at_sigterm
        and threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None)
    ):
        signal.signal(signal.SIGTERM, _on_sigterm)
        if os.environ.get("AWS_LAMBDA_RUNTIME_API"):
            _watch_for_sigterm()
    _close_at_sigterm.add(handler)


def _watch_for_sigterm() -> None:
    """Start the thread that hears SIGTERM through the wakeup fd (main thread only)."""
    reader, writer = socket.socketpair()
    writer.setblocking(False)  # set_wakeup_fd requires it: a signal handler never blocks
    try:
        previous = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    except ValueError:  # pragma: no cover (checked by the caller: main thread only)
        reader.close()
        writer.close()
        return
    if previous != -1:  # an asyncio loop's signal handling owns it: leave it the main thread
        signal.set_wakeup_fd(previous)
        reader.close()
        writer.close()
        return
    # A forked child has no watcher thread, and must not wake its parent's through the pair.
    os.register_at_fork(after_in_child=_forget_wakeup_fd)
    threading.Thread(
        target=_wait_for_sigterm, args=(reader, writer), name="alb-adapter-sigterm", daemon=True
    ).start()


def _forget_wakeup_fd() -> None:
    with contextlib.suppress(ValueError):  # forked from a thread other than the main one
        signal.set_wakeup_fd(-1)


def _wait_for_sigterm(reader: socket.socket, writer: socket.socket) -> None:
    # ``writer`` is held so that its descriptor stays open as long as the wakeup fd names it.
    while True:
        received = reader.recv(64)
        if not received:  # pragma: no cover (the writer is never closed)
            return
        if signal.SIGTERM not in received:
            continue  # another signal with a Python handler (SIGINT, ...): not ours
        # The main thread's handler runs at once if the main thread executes Python code, and
        # then only the main thread may touch a loop it may be about to run; this thread acts
        # only when the main thread waits inside native code, where nothing can start.
        if not _sigterm.wait(MAIN_THREAD_FIRST_SECONDS):
            _on_sigterm_received()


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    _on_sigterm_received()


def _on_sigterm_received() -> None:
    """SIGTERM, heard on the main thread (the Python handler) or the wakeup-fd thread: interrupt
    the invocations in progress, which then end the process; with none, end it here."""
    first = not _sigterm.is_set()
    _sigterm.set()
    running = [handler for handler in list(_close_at_sigterm) if handler._invocation is not None]
    if running:
        if first:
            for handler in running:
                handler._loop.call_soon_threadsafe(handler._interrupt)
        return
    _end_process()


def _end_invocation_after_sigterm() -> None:
    """Called by an invocation that SIGTERM interrupted (or that began after it): never returns,
    so nothing is answered. The first thread here closes the handlers and ends the process; any
    other waits for that."""
    _end_process()
    threading.Event().wait()  # pragma: no cover (another thread is ending the process)


def _end_process() -> None:
    """Close every handler (lifespan shutdown, within the runtime's share of Lambda's shutdown
    phase), then die of SIGTERM as the process would have without us. Once: a second caller
    returns at once."""
    if not _ending.acquire(blocking=False):
        return
    for handler in list(_close_at_sigterm):
        handler._close_within_shutdown_budget()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.raise_signal(signal.SIGTERM)
        return
    # signal.signal() is refused outside the main thread, which may be stuck in native code:
    # reset the disposition through the C library's signal() instead.
    try:
        import ctypes

        c_signal = ctypes.CDLL(None).signal
        c_signal.argtypes = (ctypes.c_int, ctypes.c_void_p)
        c_signal.restype = ctypes.c_void_p
        c_signal(signal.SIGTERM, None)  # None is the null pointer: SIG_DFL
    except (ImportError, OSError, AttributeError):  # pragma: no cover (no ctypes, or no libc)
        os.kill(os.getpid(), signal.SIGKILL)  # the handlers are closed: end as Lambda would
    os.kill(os.getpid(), signal.SIGTERM)


# SnapStart (snapstart.py calls these through a weak reference, never for a closed handler).


def _before_snapshot(handler: ASGIHandler) -> None:
    """Run lifespan shutdown before the snapshot: pools and clients bound to sockets opened now
    would be stale in every environment restored from it. The loop stays open for the restore."""
    handler._lifespan.shutdown()


def _after_restore(handler: ASGIHandler) -> None:
    """Run lifespan startup again, on the same loop, within Lambda's restore budget. Its failure
    is raised, so that Lambda fails the restore rather than invoke an app without its startup."""
    handler._lifespan.restart(timeout=RESTART_TIMEOUT_SECONDS)


def _refuse_running_loop(event: object = None) -> None:
    """The handler runs its own loop to completion, which cannot happen inside another one."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    misuse = describe_misuse(event)
    if misuse:
        raise UnsupportedEvent(misuse)
    raise RuntimeError(
        "ASGIHandler runs its own event loop, so it cannot be built or called from code running "
        "in one: build it at module level, as Lambda does, or in a synchronous fixture; in async "
        "tests, send requests with alb_adapter.testing.AsyncALBClient(handler), which calls it "
        "in a worker thread"
    )


def _time_budget(seconds: float | None) -> float | None:
    """Seconds the app may run: Lambda's remaining time minus a margin to answer 504 in."""
    if seconds is None:
        return None
    if seconds > 2 * DEADLINE_MARGIN_SECONDS:
        return seconds - DEADLINE_MARGIN_SECONDS
    return max(seconds / 2, 0.0)


def build_scope(request: Request, config: Config, state: Mapping[str, Any]) -> dict[str, Any]:
    """The HTTP connection scope ``config``'s handler gives the app for ``request``, the
    ``extra_keys`` option's keys included (the ``identity`` option's key, added per request by
    the handler, is not)."""
    return scope_with_keys(request, config.base_path, state, config.extra_keys)


def scope_with_keys(
    request: Request, base_path: str, state: Mapping[str, Any], extra_keys: ExtraKeys | None
) -> dict[str, Any]:
    """The HTTP connection scope for ``request`` under ``base_path``.

    ``path`` is the whole decoded path and ``root_path`` the mount prefix it starts with, as the
    current ASGI spec and Starlette expect (Starlette strips ``root_path`` from ``path`` itself).
    Every other header pair is passed as it came. Cookie headers split by HTTP/2 clients are
    merged with ``"; "``, whatever the source or header mode: frameworks that join repeated headers
    with ``","`` (Django) would otherwise read one broken cookie (docs/alb-behaviour.md, rule 4).
    ``extra_keys``' keys come last.
    """
    path = request.path.decode("utf-8", "surrogateescape")
    # The source's own prefix (an API Gateway stage) first, then the handler's base_path.
    source_root = request.root_path.decode("utf-8", "surrogateescape")
    base, _ = split_base_path(path[len(source_root) :], base_path)
    root_path = source_root + base
    pairs = request.headers
    # Names are ASCII: every source lets only RFC 9110 tokens through. Values are the UTF-8 bytes
    # the client sent (ALB decodes header bytes as UTF-8): docs/alb-behaviour.md, rule 4.
    headers = [(name.encode("ascii"), value.encode("utf-8")) for name, value in pairs]
    if sum(1 for name, _ in pairs if name == "cookie") > 1:
        headers = _merge_cookies(headers)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": SPEC_VERSION},
        "http_version": "1.1",
        "method": request.method,
        "scheme": request.scheme,
        "path": path,
        "raw_path": request.raw_path.encode("ascii"),
        "query_string": request.query_string.encode("ascii"),
        "root_path": root_path,
        "headers": headers,
        "client": request.client,
        "server": request.server,
        "state": dict(state),
        "extensions": {"http.response.pathsend": {}},
        "aws.event": request.event,
        "aws.context": request.context,
    }
    if extra_keys is not None:
        scope.update(extra_keys(request))
    return scope


def _merge_cookies(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """One cookie header, where the first was, its crumbs joined with "; " (RFC 9113 §8.2.3)."""
    merged: list[tuple[bytes, bytes]] = []
    first = -1
    for name, value in headers:
        if name == b"cookie":
            if first >= 0:
                merged[first] = (b"cookie", merged[first][1] + b"; " + value)
                continue
            first = len(merged)
        merged.append((name, value))
    return merged


_START, _BODY, _DONE = 0, 1, 2


class HTTPCycle:
    """One request/response exchange: the whole body in one ``http.request``, the response
    collected in order (start, body..., last body), ``http.disconnect`` once it is complete."""

    __slots__ = ("body", "chunks", "completed", "headers", "request_sent", "stage", "status")

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.request_sent = False
        self.stage = _START
        self.status = 0
        self.headers: tuple[tuple[str, str], ...] = ()
        self.chunks: list[bytes] = []
        self.completed: asyncio.Future[None] | None = None

    def progress(self) -> str:
        if self.stage == _START:
            return "not started"
        if self.stage == _BODY:
            return f"started, {sum(map(len, self.chunks))} body bytes so far"
        return "complete"

    async def receive(self) -> dict[str, Any]:
        if not self.request_sent:
            self.request_sent = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        # Like a server whose client waits: nothing more until the response is complete.
        if self.stage != _DONE:
            if self.completed is None:
                self.completed = asyncio.get_running_loop().create_future()
            await self.completed
        return {"type": "http.disconnect"}

    async def send(self, message: Mapping[str, Any]) -> None:
        kind = message.get("type") if isinstance(message, dict) else None
        if self.stage == _START:
            if kind != "http.response.start":
                raise AppError(f"expected http.response.start first, got {_describe(message)}")
            self._start(message)
        elif self.stage == _BODY:
            if kind == "http.response.body":
                body = message.get("body", b"")
                if type(body) is not bytes:
                    raise AppError(
                        f"http.response.body 'body' must be bytes, got {type(body).__name__}"
                    )
                if body:
                    self.chunks.append(body)
                more = message.get("more_body", False)
                if not isinstance(more, bool):
                    raise AppError(f"'more_body' must be a bool, got {more!r}")
                if not more:
                    self._complete()
            elif kind == "http.response.pathsend":
                self.chunks.append(await _read_file(message.get("path")))
                self._complete()
            elif kind == "http.response.start":
                raise AppError("http.response.start was sent twice")
            else:
                raise AppError(f"unexpected message during the response body: {_describe(message)}")
        else:
            raise ResponseAlreadySent(f"{_describe(message)} sent after the response was complete")

    def _start(self, message: Mapping[str, Any]) -> None:
        status = message.get("status")
        if not is_valid_status(status):
            raise AppError(
                f"http.response.start 'status' must be an int from 100 to 599, got {status!r}"
            )
        assert isinstance(status, int)
        if message.get("trailers"):
            raise AppError("response trailers were requested, but ALB cannot send them")
        pairs: list[tuple[str, str]] = []
        try:
            for name, value in message.get("headers", ()):
                if type(name) is not bytes or type(value) is not bytes:
                    raise AppError(
                        "response headers must be (bytes, bytes) pairs, got "
                        f"({type(name).__name__}, {type(value).__name__})"
                    )
                pairs.append((name.decode("latin-1"), header_text(value)))
        except (TypeError, ValueError) as exc:
            raise AppError(
                f"response headers must be an iterable of [name, value] pairs: {exc}"
            ) from None
        self.status = status
        self.headers = tuple(pairs)
        self.stage = _BODY

    def _complete(self) -> None:
        self.stage = _DONE
        if self.completed is not None and not self.completed.done():
            self.completed.set_result(None)

    def response(self) -> Response:
        return Response(self.status, self.headers, b"".join(self.chunks))

    async def run(self, app: ASGI3Application, scope: dict[str, Any], reraise: bool) -> Response:
        """Run the app to its end (background tasks included: Lambda freezes the process as soon
        as the handler returns) and return the complete response."""
        try:
            await app(scope, self.receive, self.send)
        except Exception as exc:
            if self.stage != _DONE or isinstance(exc, AppError) or reraise:
                raise
            # The client has its whole response; a real server would log this and move on.
            logger().error(
                "%s %s: the application raised after sending a complete response (often its own "
                "500 page); that response is sent as it is",
                scope["method"],
                scope["raw_path"].decode("ascii"),
                exc_info=True,
            )
        if self.stage != _DONE:
            if self.stage == _START:
                raise AppError("the application returned without sending http.response.start")
            raise AppError("the application returned before the last http.response.body")
        return self.response()


async def _read_file(path: object) -> bytes:
    if not isinstance(path, str):
        raise AppError(f"http.response.pathsend 'path' must be a str, got {path!r}")
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, _read_bytes, path)


def _read_bytes(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()


def _describe(message: object) -> str:
    if isinstance(message, dict) and isinstance(message.get("type"), str):
        return repr(message["type"])
    return f"a {type(message).__name__} without a 'type'"
