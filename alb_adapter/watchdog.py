"""A last word before Lambda ends the function: one log line naming the request still running
just before its deadline.

A WSGI app, or an ASGI app that blocks its event loop, cannot be interrupted from the thread it
runs in: when it overruns, Lambda kills the process and ALB answers an unexplained 502, and the
function's log says nothing about which request it was. A single background thread per process
waits for the earliest deadline of the invocations in progress and writes that line. Arming it is
one dict entry (atomic, no lock); the thread is woken only when a deadline comes earlier than the
one it already waits for (rarely: Lambda deadlines move forward), never once per invocation.
"""

from __future__ import annotations

import itertools
import time

from .log import logger

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    import threading

# How long before Lambda's deadline the line is written: late enough that the app had every
# chance (an ASGI app has been cancelled and answered 504 by then, unless it blocks its loop),
# early enough to be out before the process is frozen or killed.
WARNING_MARGIN_SECONDS = 0.25


class Watchdog:
    """Deadlines of the invocations in progress (several when threads share the process, as in
    the local ALB or a test suite), and the thread that reports the ones that pass."""

    __slots__ = (
        "_condition",
        "_due",
        "_latest",
        "_thread",
        "_tokens",
        "_waiting_until",
        "looks",
        "wakeups",
    )

    def __init__(self) -> None:
        self._condition: threading.Condition | None = None
        self._thread: threading.Thread | None = None
        # token -> (monotonic deadline, (method, path, request id)); written by the invocations
        # and read by the thread as single dict operations, which are atomic.
        self._due: dict[int, tuple[float, tuple[str, str, object]]] = {}
        self._tokens = itertools.count()
        self._waiting_until = float("inf")
        self._latest = 0.0  # the latest deadline armed, released or not
        self.wakeups = 0  # how often an invocation woke the thread: rarely, never once per call
        self.looks = 0  # how often the thread looked at the deadlines (woken, or on time)

    def watch(self, remaining_seconds: float, what: tuple[str, str, object]) -> int:
        """Report ``what`` if it is still running ``WARNING_MARGIN_SECONDS`` before the end of
        ``remaining_seconds``; returns the token to give to ``release``."""
        # Read the clock first: starting the thread (the first call) takes time that is not the
        # invocation's, and a deadline pushed later by it would make every later one look earlier.
        when = time.monotonic() + max(remaining_seconds - WARNING_MARGIN_SECONDS, 0.0)
        condition = self._condition or self._start()
        token = next(self._tokens)
        self._due[token] = (when, what)
        self._latest = max(self._latest, when)
        # Sooner than the thread will look: wake it. Within a millisecond (what Lambda's clock
        # reports in) is the same deadline, or the context's rounding would wake it every call.
        if when < self._waiting_until - 0.001:
            self.wakeups += 1
            with condition:
                condition.notify()
        return token

    def release(self, token: int) -> None:
        """The invocation ended in time: nothing to report."""
        self._due.pop(token, None)

    def _start(self) -> threading.Condition:
        import threading  # here: only invocations with a deadline need it (cold start)

        self._condition = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="alb-adapter-deadline", daemon=True)
        self._thread.start()
        return self._condition

    def _run(self) -> None:
        condition = self._condition
        assert condition is not None
        with condition:
            while True:
                now = time.monotonic()
                for token, (when, what) in list(self._due.items()):
                    if when <= now and self._due.pop(token, None) is not None:
                        logger().error(
                            "%s %s (request %s) is still running %.2f s before the Lambda "
                            "deadline: Lambda will end the function and ALB will answer 502",
                            *what,
                            WARNING_MARGIN_SECONDS,
                        )
                pending = [when for when, _ in list(self._due.values())]
                if pending:
                    target = min(pending)
                elif self._latest > now:
                    # Nothing running, but the latest deadline armed is the next look: later
                    # invocations' deadlines are not earlier, so arming them never wakes the
                    # thread (it looks about once per Lambda timeout, not once per invocation).
                    target = self._latest
                else:
                    target = float("inf")  # idle: the next invocation wakes the thread
                self._waiting_until = target
                self.looks += 1
                # An invocation armed while the thread looked compared its deadline with the
                # previous target and may not have woken it; it is in _due by now (watch() writes
                # _due before it reads _waiting_until), so one more look finds it. Clearing
                # _waiting_until during the look instead would make every invocation arriving
                # then wake the thread, each wakeup opening the next look: once per invocation
                # under load.
                if any(when < target for when, _ in list(self._due.values())):
                    continue
                condition.wait(None if target == float("inf") else target - now)


WATCHDOG = Watchdog()
