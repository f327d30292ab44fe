"""ASGI lifespan, run once per handler (and again after each SnapStart restore, see snapstart.py):
startup while Lambda initialises the function, shutdown when the handler is closed (explicitly,
when collected, on SIGTERM or at interpreter exit: see ``ASGIHandler.close`` in asgi.py), never
around an invocation.

Running startup per invocation (as Mangum does) rebuilds connection pools on every request and
exhausts databases; running it once at construction puts the cost in Lambda's init phase, which
has more CPU and is billed differently.
"""

from __future__ import annotations

import asyncio

from .errors import LifespanError
from .log import logger

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, MutableMapping
    from typing import Any, Literal

    # Deliberately loose: asgiref's TypedDict-based ASGI3Application rejects Starlette and FastAPI
    # apps (their scope is a MutableMapping), and a handler must accept every ASGI 3 app.
    ASGI3Application = Callable[[Any, Any, Any], Awaitable[None]]
    LifespanMode = Literal["auto", "on", "off"]

LIFESPAN_MODES = ("auto", "on", "off")
SHUTDOWN_TIMEOUT_SECONDS = 5.0


class Lifespan:
    """The lifespan protocol for one app on one event loop.

    ``startup()`` returns once the app has answered (or shown it does not speak lifespan);
    ``shutdown()`` is idempotent and safe to call from an exit hook.
    """

    def __init__(self, app: ASGI3Application, loop: asyncio.AbstractEventLoop, mode: LifespanMode):
        if mode not in LIFESPAN_MODES:
            raise ValueError(f"lifespan must be one of 'auto', 'on', 'off', got {mode!r}")
        self.app = app
        self.loop = loop
        self.mode = mode
        self.state: dict[str, Any] = {}
        self.supported = False
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._answer: asyncio.Future[dict[str, Any]] | None = None
        self._received_startup = False
        self._task: asyncio.Task[None] | None = None
        self._shut_down = False

    # ------------------------------------------------------------------ the app's side

    async def _receive(self) -> dict[str, Any]:
        message = await self._inbox.get()
        if message["type"] == "lifespan.startup":
            self._received_startup = True
        return message

    async def _send(self, message: MutableMapping[str, Any]) -> None:
        kind = message.get("type") if isinstance(message, dict) else None
        if kind not in (
            "lifespan.startup.complete",
            "lifespan.startup.failed",
            "lifespan.shutdown.complete",
            "lifespan.shutdown.failed",
        ):
            raise LifespanError(f"unexpected lifespan message from the app: {message!r}")
        if self._answer is not None and not self._answer.done():
            self._answer.set_result(dict(message))

    async def _main(self) -> None:
        scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": self.state,
        }
        await self.app(scope, self._receive, self._send)

    # ------------------------------------------------------------------ the server's side

    def startup(self, *, timeout: float | None = None) -> None:
        """Run the app's startup; raise LifespanError where the mode says it must succeed, or when
        the app has not answered within ``timeout`` seconds (None: as long as it takes)."""
        if self.mode == "off":
            return
        loop = self.loop
        self._answer = loop.create_future()
        self._inbox.put_nowait({"type": "lifespan.startup"})
        self._task = loop.create_task(self._main())
        waiters: set[asyncio.Future[Any]] = {self._task, self._answer}
        loop.run_until_complete(
            asyncio.wait(waiters, timeout=timeout, return_when="FIRST_COMPLETED")
        )
        if not self._answer.done() and not self._task.done():
            # Left running: close() cancels it with the app's other leftover tasks.
            raise LifespanError(f"lifespan startup did not complete within {timeout} s")

        if self._answer.done():
            answer = self._answer.result()
            if answer["type"] == "lifespan.startup.complete":
                self.supported = True
                return
            if answer["type"] == "lifespan.startup.failed":
                raise LifespanError(
                    f"lifespan startup failed: {_summary(answer.get('message'))}"
                ) from self._app_error()
            raise LifespanError(f"the app answered lifespan startup with {answer['type']}")

        # The app returned or raised without answering startup.
        error = self._task.exception()
        if not self._received_startup:
            # It never asked for the startup message: it does not speak lifespan (Django raises
            # ValueError at once; others just return). Normal in "auto".
            if self.mode == "on":
                raise LifespanError(
                    "lifespan='on' but the app does not support the lifespan protocol"
                ) from error
            logger().debug("the app does not support ASGI lifespan (%r); continuing without", error)
            return
        if error is not None:
            raise LifespanError(f"the app raised during lifespan startup: {error!r}") from error
        raise LifespanError("the app returned during lifespan startup without answering it")

    def restart(self, *, timeout: float | None = None) -> None:
        """Run startup again after shutdown(), on the same loop, with a fresh task, inbox and
        state (SnapStart: what the first startup opened was closed before the snapshot). A no-op
        unless a successful startup was shut down; raises LifespanError as startup() does, and
        also when the app, which answered its first startup, does not answer this one."""
        if not self._shut_down:
            return
        old = self._task
        if old is not None and not old.done():  # its shutdown timed out: it must not linger
            old.cancel()
            self.loop.run_until_complete(asyncio.wait({old}, timeout=1.0))
        if old is not None and old.done() and not old.cancelled():
            old.exception()  # retrieved: reported (or not) by shutdown(), never again at exit
        self.state = {}
        self.supported = False
        self._inbox = asyncio.Queue()
        self._answer = None
        self._received_startup = False
        self._task = None
        self._shut_down = False
        self.startup(timeout=timeout)
        if not self.supported:
            raise LifespanError("the app did not answer lifespan startup when it was run again")

    def _app_error(self) -> BaseException | None:
        """What the app raised after answering startup.failed (frameworks re-raise the startup
        error right after), retrieved so that asyncio never reports it a second time."""
        assert self._task is not None
        if not self._task.done():
            self.loop.run_until_complete(asyncio.wait({self._task}, timeout=1.0))
        if self._task.done() and not self._task.cancelled():
            return self._task.exception()
        return None

    def shutdown(self, *, quiet: bool = False, timeout: float | None = None) -> None:
        """Best effort: tell the app to shut down and wait for it, ``timeout`` seconds at most
        (None: SHUTDOWN_TIMEOUT_SECONDS). Its failures are logged at WARNING, or at DEBUG when
        ``quiet`` (nobody asked for this shutdown)."""
        if self._shut_down or not self.supported or self._task is None:
            return
        level = 10 if quiet else 30  # logging.DEBUG, logging.WARNING (logging imports lazily)
        self._shut_down = True
        loop = self.loop
        if loop.is_closed() or loop.is_running():
            return  # interrupted mid-invocation: nothing safe to run
        self._answer = loop.create_future()
        self._inbox.put_nowait({"type": "lifespan.shutdown"})
        waiters: set[asyncio.Future[Any]] = {self._task, self._answer}
        try:
            loop.run_until_complete(
                asyncio.wait(
                    waiters,
                    timeout=SHUTDOWN_TIMEOUT_SECONDS if timeout is None else timeout,
                    return_when="FIRST_COMPLETED",
                )
            )
        except Exception:  # noqa: BLE001 (the process is ending; report, never raise)
            logger().log(level, "ASGI lifespan shutdown failed", exc_info=True)
            return
        if self._answer.done() and self._answer.result()["type"] == "lifespan.shutdown.failed":
            message = _summary(self._answer.result().get("message"))
            logger().log(level, "ASGI lifespan shutdown failed: %s", message)
        elif not self._answer.done():
            error = (
                self._task.exception() if self._task.done() and not self._task.cancelled() else None
            )
            logger().log(level, "ASGI lifespan shutdown did not complete (%r)", error)


def _summary(message: object) -> str:
    """The last line of a lifespan failure message: frameworks send a whole traceback as text,
    which the chained exception already carries."""
    lines = [line for line in str(message or "").splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no message"
