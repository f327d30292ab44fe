"""Lambda targets run the way Lambda runs functions: in execution environments, each a worker
process that a Lambda runtime drives through the Runtime API (``runtime_api.py``).

For each Lambda target an ``EnvironmentPool`` starts, supervises and retires the environments:

- **Init once per environment.** A new environment imports the function (its init) before its
  first invocation; the runtime's first ``next`` ends the init. The first environment of each
  target starts with the emulator, so a function that cannot load stops the emulator at start;
  later ones start when a request finds every environment busy (a cold start, logged). An init
  error (reported on ``/runtime/init/error``, or the runtime exiting) is answered ALB's 502 with
  the error, and the next request starts a new environment, which runs the init again.
- **One invocation at a time per environment**; overlapping requests use other environments, up
  to the target's ``concurrency``. Beyond it the request is throttled as Lambda throttles a
  function whose reserved concurrency is in use: ALB answers ``503`` (``LambdaThrottling``).
- **Timeout:** the environment's processes are killed at the function's deadline, and only once
  they are gone does the client get ALB's 502 for a timed-out function; the next request starts a
  fresh environment, never beside the stuck one.
- **Shutdown:** SIGTERM to every environment, SIGKILL to those still there after a grace period.
- The function's stdout and stderr go to the emulator's log (``alb_adapter.emulator.function``),
  each line prefixed by its environment (``account#2 pid 4242``). For the inspector, a recorded
  invocation also gets the lines written during it: the emulator holds the write end of the
  output pipe too, and when the runtime posts an invocation's result (everything the invocation
  printed is in the pipe by then) it writes a mark there; the relay gives each line to the
  oldest invocation whose mark it has not read yet. The next invocation cannot begin before the
  mark is written, so no line goes to the wrong one.

The runtime is ``awslambdaric`` (AWS's runtime interface client) when it is installed, else the
emulator's own ``bootstrap`` module; both load the handler with ``loader.py``, so every handler
spec the in-process mode accepts works in both. Everything here is threads and
``concurrent.futures``: a runtime waiting for work, a process being watched or its output being
read never occupies the event loop that serves the clients, nor its default thread pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import itertools
import json
import logging
import os
import queue
import signal
import site
import subprocess
import sys
import threading
import time
import uuid
import weakref
from concurrent.futures import Future, InvalidStateError
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from .bootstrap import HANDLER_OPTIONS_ENV
from .invocation import Outcome, alb_error, judge, judgement_notes
from .loader import TargetLoadError
from .rules import DEFAULT_CONCURRENCY
from .runtime_api import (
    DEFAULT_REGION,
    InitError,
    Invocation,
    InvocationResult,
    RuntimeAPIServer,
    function_arn,
    lambda_trace_id,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from .inspector.record import Exchange
    from .rules import Target

log = logging.getLogger("alb_adapter.emulator")
function_log = logging.getLogger("alb_adapter.emulator.function")

RuntimeClient = Literal["auto", "awslambdaric", "builtin"]
RUNTIME_CLIENTS: tuple[RuntimeClient, ...] = ("auto", "awslambdaric", "builtin")
# Lambda's limit for an on-demand init. A slower init is retried by Lambda within the first
# invocation, under the function's timeout: the emulator waits for the longer of the two.
INIT_SECONDS = 10.0
# Lambda's longest Shutdown phase (with external extensions) before it kills what is left.
SHUTDOWN_GRACE_SECONDS = 2.0
# The value AWS_LAMBDA_FUNCTION_MEMORY_SIZE gets (nothing enforces it), as LambdaContext's default.
MEMORY_SIZE_MB = 512
# How long a killed process may take to be gone before the emulator stops waiting for it.
KILL_WAIT_SECONDS = 5.0
# Variables of Lambda's own platform that would change how awslambdaric runs (Managed Instances'
# concurrent mode, the telemetry log descriptor): never passed on from the server's environment.
_PLATFORM_ONLY_ENV = frozenset(
    {
        "AWS_LAMBDA_MAX_CONCURRENCY",
        "_LAMBDA_TELEMETRY_LOG_FD",
        "_LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET",
    }
)
# Set to "1" in every execution environment of the local ALB.
LOCAL_MARKER_ENV = "ALB_ADAPTER_LOCAL"
AWSLAMBDARIC_HANDLER = "alb_adapter.emulator.awslambdaric_entry.handler"
# Written by the emulator into an environment's output pipe after an invocation's result (module
# docstring); control characters, so that no line a function prints is taken for one.
OUTPUT_MARK = b"\x1e\x1falb-adapter-invocation-end:"
# How long a recorded invocation waits for the relay to read its mark (its last log lines).
MARK_WAIT_SECONDS = 1.0

_T = TypeVar("_T")


# ---------------------------------------------------------------------------------- the worker


def runtime_command(runtime_client: RuntimeClient = "auto") -> list[str]:
    """The command line of an environment's process: ``awslambdaric`` when it is installed (or
    asked for), else the built-in runtime. Raises TargetLoadError when ``awslambdaric`` is asked
    for and cannot be imported."""
    if runtime_client not in RUNTIME_CLIENTS:
        raise ValueError(f"runtime_client must be one of {RUNTIME_CLIENTS}, not {runtime_client!r}")
    if runtime_client != "builtin":
        if importlib.util.find_spec("awslambdaric") is not None:
            return [sys.executable, "-m", "awslambdaric", AWSLAMBDARIC_HANDLER]
        if runtime_client == "awslambdaric":
            raise TargetLoadError(
                "awslambdaric is not installed: pip install 'alb-adapter[runtime]' "
                "(or let the local ALB use its built-in runtime)"
            )
    return [sys.executable, "-m", "alb_adapter.emulator.bootstrap"]


def runtime_environment(
    target: Target, runtime_api: str, handler_options: dict[str, Any]
) -> dict[str, str]:
    """The process environment of an execution environment: this process's own (PATH, the
    user's variables and credentials), plus what Lambda sets for a function."""
    assert target.handler is not None
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    stream = time.strftime("%Y/%m/%d/[$LATEST]", time.gmtime()) + uuid.uuid4().hex
    environment = {
        name: value for name, value in os.environ.items() if name not in _PLATFORM_ONLY_ENV
    }
    # The function's own variables (a template's Environment.Variables); Lambda's, set next, win.
    environment.update(target.environment)
    environment.update(
        {
            "AWS_LAMBDA_RUNTIME_API": runtime_api,
            "_HANDLER": target.handler,
            "AWS_LAMBDA_FUNCTION_NAME": target.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(MEMORY_SIZE_MB),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": f"{target.timeout:g}",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{target.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": stream,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_python{version}",
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION") or region,
            "LAMBDA_TASK_ROOT": target.task_root or os.getcwd(),
            "LAMBDA_RUNTIME_DIR": sys.prefix,
            "TZ": ":UTC",
            "PYTHONUNBUFFERED": "1",  # the function's prints reach the log as they happen
            # What tells code it runs under the local ALB and not on Lambda (as SAM CLI's
            # AWS_SAM_LOCAL does): everything else here says Lambda.
            LOCAL_MARKER_ENV: "1",
            HANDLER_OPTIONS_ENV: json.dumps(handler_options),
        }
    )
    package_home = str(Path(__file__).resolve().parent.parent.parent)
    installed = {str(Path(path).resolve()) for path in site.getsitepackages()}
    if package_home not in installed:  # a source checkout: the runtime must import alb_adapter too
        paths = [path for path in environment.get("PYTHONPATH", "").split(os.pathsep) if path]
        environment["PYTHONPATH"] = os.pathsep.join([*paths, package_home])
    return environment


def _signal(process: subprocess.Popen[bytes], kill: bool) -> None:
    """SIGKILL (``kill``) or SIGTERM to the environment: its process group, so that what the
    function started ends with it, as a Lambda sandbox is reset whole."""
    if process.returncode is not None:
        return
    try:
        if hasattr(os, "killpg"):
            os.killpg(process.pid, signal.SIGKILL if kill else signal.SIGTERM)
        elif kill:
            process.kill()
        else:
            process.terminate()
    except (ProcessLookupError, PermissionError):
        pass  # already gone


def _settle(
    future: Future[_T], result: _T | None = None, error: BaseException | None = None
) -> None:
    """Complete ``future`` unless something else did first (a deadline, an exit, a cancel)."""
    try:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]
    except InvalidStateError:
        pass


async def _wait(future: Future[_T], timeout: float | None = None) -> _T:
    """Await a concurrent future without cancelling it when the waiter gives up (other waiters,
    and the threads that complete it, still count on it)."""
    return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), timeout)


def _in_thread(function: Callable[[], None], name: str) -> Future[None]:
    """Run ``function`` in a thread of its own: never in the event loop's default pool, which
    the in-process targets' invocations can fill (a hung one holds its thread for good)."""
    done: Future[None] = Future()

    def run() -> None:
        try:
            function()
        except BaseException as exc:  # noqa: BLE001 (handed to the waiter, which re-raises it)
            done.set_exception(exc)
        else:
            done.set_result(None)

    threading.Thread(target=run, name=name, daemon=True).start()
    return done


def _exit_description(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit status {code}"


# ---------------------------------------------------------------------------- one environment


class Environment:
    """One execution environment: a runtime process and the Runtime API it pulls from.

    ``state`` (changed under the pool's lock): ``busy`` from its creation (a cold start serves the
    request that caused it) or whenever it holds an invocation, ``idle`` between invocations,
    ``doomed`` once the emulator killed it (timeout, init error), ``stopping`` at shutdown, and
    ``gone`` when its process has exited.
    """

    def __init__(self, pool: EnvironmentPool, number: int) -> None:
        self.pool = pool
        self.label = f"{pool.target.name}#{number}"
        self.state = "busy"
        self.current: Invocation | None = None
        self.inbox: queue.SimpleQueue[Invocation | None] = queue.SimpleQueue()
        self.initialised: Future[float] = Future()  # seconds the init took, or its InitError
        self.exited: Future[int] = Future()  # the process's exit status
        self.api: RuntimeAPIServer | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.began = time.monotonic()
        self.invocations = 0  # invocations given so far: the first is the cold start
        self._threads: list[threading.Thread] = []
        # The inspector's side of the output (module docstring): the pipe's write end, and the
        # recorded invocations whose mark the relay has not read, oldest first.
        self._output_write: int | None = None
        self._output_lock = threading.Lock()
        self._output: Any = None  # the read end, a binary file
        self._recorded: list[tuple[str, Exchange | None, Future[None]]] = []

    @property
    def name(self) -> str:
        pid = self.process.pid if self.process is not None else "-"
        return f"{self.label} (pid {pid})"

    def start(self) -> None:
        """Serve its Runtime API and start its runtime (the init begins)."""
        pool = self.pool
        self.api = RuntimeAPIServer(self)
        serving = threading.Thread(
            target=self.api.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"runtime-api {self.label}",
            daemon=True,
        )
        serving.start()
        read_end, write_end = os.pipe()
        try:
            self.process = subprocess.Popen(  # noqa: S603 (this interpreter, fixed arguments)
                pool.command,
                env=runtime_environment(pool.target, self.api.address, pool.handler_options),
                stdin=subprocess.DEVNULL,
                stdout=write_end,
                stderr=subprocess.STDOUT,
                # Its own session: a Ctrl+C in the terminal reaches the emulator, which stops the
                # environments itself; and their process group can be killed whole.
                start_new_session=True,
            )
        except OSError:
            os.close(read_end)
            os.close(write_end)
            self.api.shutdown()
            self.api.server_close()
            raise
        self._output = os.fdopen(read_end, "rb")
        # Kept only while invocations are recorded; the relay sees the end of the output once
        # the process (and what it started) and this end are closed.
        if pool.recording:
            self._output_write = write_end
        else:
            os.close(write_end)
        pool.processes.add(self.process)
        self.began = time.monotonic()
        for target, role in ((self._relay_output, "output"), (self._watch, "watch")):
            thread = threading.Thread(target=target, name=f"{role} {self.label}", daemon=True)
            thread.start()
            self._threads.append(thread)
        with pool.lock:
            closed = pool.closed
        if closed:  # the emulator stopped while this one was starting
            self.kill()

    def give(self, invocation: Invocation, exchange: Exchange | None = None) -> Future[None] | None:
        """Hand ``invocation`` to the runtime (its next ``next``); the caller made it busy. With
        ``exchange``, the lines written until its result get there; the future returned is done
        once the relay has read them all."""
        self.current = invocation
        self.invocations += 1
        done: Future[None] | None = None
        if self._output_write is not None:
            # Every invocation, recorded or not (a health check's), is marked, so that the lines
            # of one never reach the next.
            done = Future()
            with self._output_lock:
                self._recorded.append((invocation.request_id, exchange, done))
        self.inbox.put(invocation)
        return done if exchange is not None else None

    def terminate(self) -> None:
        if self.process is not None:
            _signal(self.process, kill=False)

    def kill(self) -> None:
        if self.process is not None:
            _signal(self.process, kill=True)

    def join_output(self, timeout: float) -> None:
        """Wait (a little) for the last lines of the function's output to reach the log."""
        for thread in self._threads:
            thread.join(timeout)

    # -- the Runtime API's side (RuntimeBackend), in the server's threads ----------------------

    def next_invocation(self) -> Invocation | None:
        if not self.initialised.done():
            _settle(self.initialised, time.monotonic() - self.began)
        invocation = self.inbox.get()
        if invocation is None:
            return None
        with self.pool.lock:
            if self.current is not invocation or self.state != "busy":
                return None  # given up on (a deadline, the shutdown) before the runtime asked
            invocation.handed_out = True
        return invocation

    def report_result(self, request_id: str, result: InvocationResult) -> tuple[int, str] | None:
        pool = self.pool
        with pool.lock:
            invocation = self.current
            if invocation is None or invocation.request_id != request_id:
                return 400, "InvalidRequestID"
            if not invocation.handed_out:
                return 403, "InvalidStateTransition"
            self.current = None
            self._mark(request_id)
            # Free before the client hears back: its next request may come at once, and must find
            # this environment idle rather than start (or be throttled for want of) another.
            if self.state == "busy" and not pool.closed:
                self.state = "idle"
                pool.idle.append(self)
        _settle(invocation.result, result)
        return None

    def report_init_error(self, error: InitError) -> tuple[int, str] | None:
        if self.initialised.done():
            return 403, "InvalidStateTransition"
        _settle(self.initialised, error=error)
        return None

    # -- supervision, in its own threads -----------------------------------------------------

    def _mark(self, request_id: str) -> None:
        """Write the end mark of a recorded invocation into the output pipe (module docstring)."""
        with self._output_lock:
            if self._output_write is None or not any(
                item[0] == request_id for item in self._recorded
            ):
                return
            with contextlib.suppress(OSError):
                os.write(self._output_write, OUTPUT_MARK + request_id.encode() + b"\n")

    def _close_output_write(self) -> None:
        with self._output_lock:
            if self._output_write is not None:
                os.close(self._output_write)
                self._output_write = None

    def _relay_output(self) -> None:
        assert self.process is not None
        prefix = f"{self.label} pid {self.process.pid}"
        for received in self._output:
            # The mark may follow a line printed without its end.
            raw, _, mark = received.partition(OUTPUT_MARK)
            # awslambdaric ends the lines of one error report with "\r": a line each here too.
            for line in raw.decode("utf-8", "replace").splitlines():
                function_log.info("[%s] %s", prefix, line)
                recorded = self._recorded
                if recorded and recorded[0][1] is not None:
                    recorded[0][1].log(line)
            if mark:
                self._marked(mark.strip().decode("ascii", "replace"))
        self._output.close()
        with self._output_lock:
            recorded, self._recorded = self._recorded, []
        for _, _, done in recorded:
            _settle(done)

    def _marked(self, request_id: str) -> None:
        """The relay read ``request_id``'s mark: that invocation's lines are all in."""
        with self._output_lock:
            while self._recorded:
                item_id, _, done = self._recorded.pop(0)
                _settle(done)
                if item_id == request_id:
                    break

    def _watch(self) -> None:
        """When the process ends: forget the environment, fail what it held, stop its API."""
        assert self.process is not None
        assert self.api is not None
        code = self.process.wait()
        self._close_output_write()  # the relay ends with the output of what is left
        pool = self.pool
        with pool.lock:
            previous = self.state
            self.state = "gone"
            pool.forget(self)
            invocation, self.current = self.current, None
        how = _exit_description(code)
        init_failed = self.initialised.done() and (
            self.initialised.cancelled() or self.initialised.exception() is not None
        )
        if not self.initialised.done():
            _settle(
                self.initialised,
                error=InitError("Runtime.ExitError", f"the runtime exited during init ({how})"),
            )
        if invocation is not None:
            if previous == "stopping":
                message = "the local ALB stopped the environment (shutting down)"
            else:
                message = f"RequestId: {invocation.request_id} Error: Runtime exited ({how})"
            _settle(invocation.result, InvocationResult.failure("Runtime.ExitError", message))
        if previous == "stopping":
            log.info("target %s: %s stopped (%s)", pool.target.name, self.name, how)
        elif previous != "doomed" and not init_failed:
            log.warning("target %s: %s exited unexpectedly (%s)", pool.target.name, self.name, how)
        pool.processes.discard(self.process)
        self.inbox.put(None)  # a runtime API thread still waiting in `next` gives up
        _settle(self.exited, code)
        self.api.shutdown()
        self.api.server_close()


# ------------------------------------------------------------------------------- the pool


class EnvironmentPool:
    """The execution environments of one Lambda target (module docstring)."""

    def __init__(
        self,
        target: Target,
        *,
        handler_options: dict[str, Any] | None = None,
        runtime_client: RuntimeClient = "auto",
        shutdown_grace: float = SHUTDOWN_GRACE_SECONDS,
        recording: bool = False,
    ) -> None:
        if target.handler is None:
            raise ValueError(f"target {target.name} has no handler: it is not a Lambda target")
        self.target = target
        self.concurrency = target.concurrency or DEFAULT_CONCURRENCY
        self.command = runtime_command(runtime_client)
        self.handler_options = dict(handler_options or {})
        self.shutdown_grace = shutdown_grace
        # Whether invocations may be recorded for the inspector (Environment.give).
        self.recording = recording
        self.init_seconds = max(INIT_SECONDS, target.timeout)
        self.function_arn = function_arn(target.name)
        self.lock = threading.Lock()
        self.environments: list[Environment] = []  # counted against the concurrency
        self.idle: list[Environment] = []  # the last one freed is used first (the warmest)
        self.closed = False
        self.processes: set[subprocess.Popen[bytes]] = set()
        self._numbers = itertools.count(1)
        self._stopping: list[Environment] = []
        # At interpreter exit, whatever is still running (the emulator killed without its
        # shutdown) is killed rather than left behind.
        weakref.finalize(self, _kill_all, self.processes)

    @property
    def runtime(self) -> str:
        """Which runtime the environments run: ``awslambdaric`` or ``bootstrap``."""
        return "awslambdaric" if "awslambdaric" in self.command else "bootstrap"

    def forget(self, environment: Environment) -> None:
        """Stop counting ``environment`` (under the lock)."""
        if environment in self.environments:
            self.environments.remove(environment)
        if environment in self.idle:
            self.idle.remove(environment)

    def _new_environment(self) -> Environment:
        environment = Environment(self, next(self._numbers))
        self.environments.append(environment)
        return environment

    def _doom(self, environment: Environment) -> None:
        """Kill ``environment`` now; it no longer counts or serves."""
        with self.lock:
            if environment.state not in ("gone", "stopping"):
                environment.state = "doomed"
            self.forget(environment)
        environment.kill()

    def _end(self, environment: Environment) -> None:
        """``_doom``, and wait (a little) for the process to be gone."""
        self._doom(environment)
        with contextlib.suppress(TimeoutError):
            environment.exited.result(timeout=KILL_WAIT_SECONDS)

    async def _ended(self, environment: Environment) -> None:
        """``_end`` without blocking the event loop."""
        self._doom(environment)
        with contextlib.suppress(TimeoutError):
            await _wait(environment.exited, KILL_WAIT_SECONDS)

    # -- start -------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the first environment and wait for its init, so that a function that cannot
        load is a TargetLoadError now (naming the target), not a 502 at the first request."""
        with self.lock:
            environment = self._new_environment()
        try:
            environment.start()
        except OSError as exc:
            with self.lock:
                self.forget(environment)
            raise TargetLoadError(f"{self.target.handler}: cannot start a runtime: {exc}") from exc
        try:
            seconds = environment.initialised.result(timeout=self.init_seconds)
        except InitError as error:
            self._end(environment)
            raise TargetLoadError(self._init_error_text(error)) from None
        except TimeoutError:
            self._end(environment)
            raise TargetLoadError(
                f"{self.target.handler}: the init did not complete within {self.init_seconds:g} s"
            ) from None
        with self.lock:
            if environment.state == "busy" and not self.closed:
                environment.state = "idle"
                self.idle.append(environment)
        log.info(
            "target %s: %s initialised in %.2f s (%s)",
            self.target.name,
            environment.name,
            seconds,
            self.runtime,
        )

    def _init_error_text(self, error: InitError) -> str:
        """What ``loader.load_lambda_target`` would say of the same failure in-process: where the
        target is defined (``Target.origin``), then the loader's message, which names the handler,
        or the handler and the exception."""
        where = f"{self.target.origin}: " if self.target.origin else ""
        if error.error_type == "TargetLoadError":
            return f"{where}{error.message}"
        return f"{where}{self.target.handler}: {error.error_type}: {error.message}"

    # -- invoke ------------------------------------------------------------------------------

    async def invoke(self, event: dict[str, object], exchange: Exchange | None = None) -> Outcome:
        """One invocation, as Lambda runs it for ALB, and ALB's answer; with ``exchange``,
        recorded there (environment, cold start, raw answer, ALB's notes, log lines)."""
        with self.lock:
            if self.closed:
                return alb_error(503, "the local ALB is shutting down")
            if self.idle:
                environment, cold = self.idle.pop(), False
                environment.state = "busy"
            elif len(self.environments) < self.concurrency:
                environment, cold = self._new_environment(), True
            else:
                return alb_error(
                    503,
                    f"LambdaThrottling: {self.target.name} is at its concurrency "
                    f"({self.concurrency} environments, all busy)",
                )
        if exchange is not None:
            exchange.environment = environment.label
            exchange.cold_start = environment.invocations == 0
        if cold:
            began = time.monotonic()
            refusal = await self._cold_start(environment)
            if refusal is not None:
                return refusal
            if exchange is not None:
                exchange.environment = environment.name
                exchange.notes.append(
                    f"cold start: {environment.name} started for this request, init and start "
                    f"took {time.monotonic() - began:.2f} s"
                )
        elif exchange is not None:
            exchange.environment = environment.name
        return await self._run(environment, event, exchange)

    async def _cold_start(self, environment: Environment) -> Outcome | None:
        try:
            await _wait(_in_thread(environment.start, f"start {environment.label}"))
        except OSError as exc:
            with self.lock:
                self.forget(environment)
            return alb_error(502, f"LambdaUnhandled: the runtime could not start: {exc}")
        try:
            seconds = await _wait(environment.initialised, self.init_seconds)
        except InitError as error:
            await self._ended(environment)
            log.warning(
                "target %s: %s init error: %s: %s; the next request starts a new environment",
                self.target.name,
                environment.name,
                error.error_type,
                error.message,
            )
            return alb_error(502, f"LambdaUnhandled: init error: {error}")
        except TimeoutError:
            await self._ended(environment)
            return alb_error(
                502,
                f"LambdaUnhandled: Sandbox.Timedout: the init did not complete within "
                f"{self.init_seconds:g} s",
            )
        except asyncio.CancelledError:
            self._doom(environment)
            return _given_up()
        log.info(
            "target %s: cold start: %s initialised in %.2f s",
            self.target.name,
            environment.name,
            seconds,
        )
        return None

    async def _run(
        self, environment: Environment, event: dict[str, object], exchange: Exchange | None
    ) -> Outcome:
        timeout = self.target.timeout
        invocation = Invocation(
            event=json.dumps(event).encode(),
            deadline_ms=int((time.time() + timeout) * 1000),
            function_arn=self.function_arn,
            trace_id=lambda_trace_id(event),
            result=Future(),
        )
        logged = environment.give(invocation, exchange)
        try:
            result = await _wait(invocation.result, timeout)
        except TimeoutError:
            log.warning(
                "target %s: %s timed out after %g s: killed; the next request starts a fresh "
                "environment",
                self.target.name,
                environment.name,
                timeout,
            )
            # Answer only once it is gone: what the client sends next never runs beside it.
            await self._ended(environment)
            return alb_error(502, f"the function did not answer within its {timeout:g} s timeout")
        except asyncio.CancelledError:
            self._doom(environment)
            return _given_up()
        if logged is not None:  # the relay has read the invocation's last lines
            with contextlib.suppress(TimeoutError):
                await _wait(logged, MARK_WAIT_SECONDS)
        if result.error is not None:
            error_type = result.error.get("errorType") or "Unhandled"
            message = result.error.get("errorMessage") or ""
            outcome = alb_error(502, f"LambdaUnhandled: {error_type}: {message}")
            if exchange is not None:
                failed = f"the function failed: {error_type}"
                exchange.answered(result.error, [*exchange.notes, failed])
            return outcome
        try:
            payload = json.loads(result.payload or b"")
        except ValueError:
            return alb_error(502, "LambdaInvalidResponse: the function's result is not JSON")
        multi = self.target.multi_value_headers
        outcome = judge(payload, multi_value_headers=multi)
        if exchange is not None:
            notes = judgement_notes(payload, outcome, multi_value_headers=multi)
            exchange.answered(payload, [*exchange.notes, *notes])
        return outcome

    # -- shutdown ----------------------------------------------------------------------------

    def begin_close(self) -> None:
        """SIGTERM to every environment; no new invocation starts (``finish_close`` waits)."""
        with self.lock:
            self.closed = True
            self._stopping = list(self.environments)
            self.idle.clear()
            for environment in self._stopping:
                environment.state = "stopping"
        for environment in self._stopping:
            environment.terminate()

    def finish_close(self, deadline: float) -> None:
        """Wait for the environments until ``deadline`` (``time.monotonic()``), SIGKILL to those
        still running, then wait for them to be gone."""
        for environment in self._stopping:
            if environment.process is None:
                continue
            try:
                environment.exited.result(timeout=max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                log.warning(
                    "target %s: %s did not stop within %g s of SIGTERM: killed",
                    self.target.name,
                    environment.name,
                    self.shutdown_grace,
                )
                environment.kill()
        for environment in self._stopping:
            if environment.process is not None:
                try:
                    environment.exited.result(timeout=KILL_WAIT_SECONDS)
                except TimeoutError:
                    log.error("target %s: %s would not die", self.target.name, environment.name)
            environment.join_output(1.0)
        self._stopping = []

    def close(self) -> None:
        """Stop every environment: SIGTERM, then SIGKILL after the grace period."""
        self.begin_close()
        self.finish_close(time.monotonic() + self.shutdown_grace)


def _given_up() -> Outcome:
    """The answer to a request the server gave up while its function ran: uvicorn cancels the
    requests still in flight when it stops (``server.IN_FLIGHT_GRACE_SECONDS``). The environment
    is killed, and the client gets ALB's 503 page rather than uvicorn's 500 and a traceback; the
    cancellation ends here, as the request it was meant to end is answered at once."""
    return alb_error(503, "the local ALB stopped before the function answered")


def close_pools(pools: list[EnvironmentPool]) -> None:
    """Close several pools within one grace period (all are sent SIGTERM first)."""
    for pool in pools:
        pool.begin_close()
    deadline = time.monotonic() + max((pool.shutdown_grace for pool in pools), default=0.0)
    for pool in pools:
        pool.finish_close(deadline)


async def close_pools_async(pools: list[EnvironmentPool]) -> None:
    """``close_pools`` from the event loop, in a thread of its own (``_in_thread``)."""
    await _wait(_in_thread(lambda: close_pools(pools), "stop environments"))


def _kill_all(processes: set[subprocess.Popen[bytes]]) -> None:
    for process in list(processes):
        _signal(process, kill=True)
