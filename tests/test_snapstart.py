"""Lambda SnapStart: an ASGIHandler shuts its lifespan down before the snapshot and starts it
again, with ``random`` re-seeded, after each restore; through hooks that hold it only weakly, do
nothing once it is closed, and are registered only where ``snapshot_restore_py`` exists (the
Lambda runtime), which ``import alb_adapter`` never imports.

``snapshot_restore_py`` is replaced by a stand-in that records registrations as the real library
does (``(func, args, kwargs)``) and runs them as the runtime does: every before-snapshot hook in
reverse order of registration, then every after-restore hook in order of registration."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import random
import subprocess
import sys
import textwrap
import types
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import alb_adapter.snapstart
from alb_adapter import ASGIHandler, LifespanError
from alb_adapter.testing import make_event, read_response

ROOT = Path(__file__).resolve().parent.parent

Hook = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class SnapshotRestore(types.ModuleType):
    """Stands in for the runtime's ``snapshot_restore_py``."""

    def __init__(self) -> None:
        super().__init__("snapshot_restore_py")
        self.before: list[Hook] = []
        self.after: list[Hook] = []

    def register_before_snapshot(
        self, func: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Callable[..., Any]:
        self.before.append((func, args, kwargs))
        return func

    def register_after_restore(
        self, func: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Callable[..., Any]:
        self.after.append((func, args, kwargs))
        return func

    def snapshot(self) -> None:
        for func, args, kwargs in reversed(self.before):
            func(*args, **kwargs)

    def restore(self) -> None:
        for func, args, kwargs in self.after:
            func(*args, **kwargs)

    def snapshot_and_restore(self) -> None:
        self.snapshot()
        self.restore()


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> SnapshotRestore:
    module = SnapshotRestore()
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", module)
    return module


@pytest.fixture
def closing() -> Iterator[list[ASGIHandler]]:
    made: list[ASGIHandler] = []
    yield made
    for handler in made:
        handler.close()


class Pool:
    """Stands in for a connection pool: opened by lifespan startup, closed by its shutdown."""

    def __init__(self) -> None:
        self.closed = False


class PoolApp:
    """A Starlette app whose lifespan opens a Pool (and draws a random token) into its state,
    counting startups and shutdowns; ``/pool`` answers what the request's state holds."""

    def __init__(self, *, fail_from_startup: int = 0, hang_from_startup: int = 0) -> None:
        self.startups = 0
        self.shutdowns = 0
        self.pools: list[Pool] = []
        self.fail_from_startup = fail_from_startup
        self.hang_from_startup = hang_from_startup

        @contextlib.asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
            self.startups += 1
            if self.fail_from_startup and self.startups >= self.fail_from_startup:
                raise ConnectionRefusedError("the database refused the connection")
            if self.hang_from_startup and self.startups >= self.hang_from_startup:
                await asyncio.sleep(3600)
            pool = Pool()
            self.pools.append(pool)
            yield {"pool": pool, "startup": self.startups, "token": random.random()}
            pool.closed = True
            self.shutdowns += 1

        async def which(request: Request) -> JSONResponse:
            return JSONResponse(
                {
                    "pool": self.pools.index(request.state.pool),
                    "closed": request.state.pool.closed,
                    "startup": request.state.startup,
                }
            )

        self.app = Starlette(routes=[Route("/pool", which)], lifespan=lifespan)


def ask(handler: ASGIHandler) -> dict[str, Any]:
    answer = read_response(handler(make_event("GET", "/pool"), None))
    assert answer.status == 200
    result: dict[str, Any] = json.loads(answer.body)
    return result


def test_each_handler_registers_one_hook_of_each_kind(
    runtime: SnapshotRestore, closing: list[ASGIHandler]
) -> None:
    first = ASGIHandler(PoolApp().app)
    closing.append(first)
    assert (len(runtime.before), len(runtime.after)) == (1, 1)
    for _ in range(3):
        ask(first)  # invocations register nothing
    closing.append(ASGIHandler(PoolApp().app))
    assert (len(runtime.before), len(runtime.after)) == (2, 2)


def test_before_snapshot_runs_the_lifespan_shutdown_and_keeps_the_loop(
    runtime: SnapshotRestore, closing: list[ASGIHandler]
) -> None:
    app = PoolApp()
    handler = ASGIHandler(app.app)
    closing.append(handler)
    runtime.snapshot()
    assert (app.startups, app.shutdowns) == (1, 1)
    assert app.pools[0].closed
    assert not handler.closed
    assert not handler.loop.is_closed()


def test_after_restore_starts_the_lifespan_again_and_requests_see_the_new_state(
    runtime: SnapshotRestore, closing: list[ASGIHandler]
) -> None:
    app = PoolApp()
    handler = ASGIHandler(app.app)
    closing.append(handler)
    loop = handler.loop
    assert ask(handler) == {"pool": 0, "closed": False, "startup": 1}
    old_state = handler.state

    runtime.snapshot_and_restore()

    assert (app.startups, app.shutdowns) == (2, 1)
    assert handler.loop is loop  # the same loop, as every invocation expects
    assert handler.state is not old_state
    assert handler.state["pool"] is app.pools[1]
    assert app.pools[0].closed
    assert not app.pools[1].closed
    assert ask(handler) == {"pool": 1, "closed": False, "startup": 2}
    # The restarted lifespan is shut down at close, like the first one.
    handler.close()
    assert (app.startups, app.shutdowns) == (2, 2)
    assert app.pools[1].closed


def test_every_restore_of_the_same_snapshot_starts_it_again(
    runtime: SnapshotRestore, closing: list[ASGIHandler]
) -> None:
    app = PoolApp()
    handler = ASGIHandler(app.app)
    closing.append(handler)
    for _ in range(3):
        runtime.snapshot_and_restore()
    assert (app.startups, app.shutdowns) == (4, 3)
    assert ask(handler)["startup"] == 4


def test_after_restore_reseeds_random_from_the_os_before_the_startup(
    runtime: SnapshotRestore, closing: list[ASGIHandler], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = PoolApp()
    random.seed(1234)
    handler = ASGIHandler(app.app)
    closing.append(handler)
    token_before_snapshot = handler.state["token"]
    runtime.snapshot()
    # Every environment restored from one snapshot starts with the random state it holds.
    random.seed(1234)
    seeds: list[tuple[Any, ...]] = []
    seed = random.seed

    def recording_seed(*args: Any) -> None:
        seeds.append(args)
        seed(*args)

    monkeypatch.setattr(random, "seed", recording_seed)
    runtime.restore()
    assert seeds == [()]  # no argument: seeded from the operating system's randomness
    # Re-seeded before the startup ran, so the startup drew a fresh number.
    assert handler.state["token"] != token_before_snapshot


def test_the_hooks_of_an_app_without_lifespan_only_reseed(
    runtime: SnapshotRestore, closing: list[ASGIHandler], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError("no lifespan here")  # as Django's ASGI handler does
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    handler = ASGIHandler(app)
    closing.append(handler)
    seeds: list[tuple[Any, ...]] = []
    monkeypatch.setattr(random, "seed", lambda *args: seeds.append(args))
    runtime.snapshot_and_restore()
    assert seeds == [()]
    assert read_response(handler(make_event(), None)).body == b"ok"


def test_snapstart_false_registers_nothing(
    runtime: SnapshotRestore, closing: list[ASGIHandler]
) -> None:
    app = PoolApp()
    closing.append(ASGIHandler(app.app, snapstart=False))
    assert (runtime.before, runtime.after) == ([], [])


def test_snapstart_must_be_a_bool(runtime: SnapshotRestore) -> None:
    with pytest.raises(TypeError, match="snapstart must be True or False, got 'yes'"):
        ASGIHandler(PoolApp().app, snapstart="yes")  # type: ignore[arg-type]
    assert (runtime.before, runtime.after) == ([], [])


def test_a_dropped_handler_is_not_kept_alive_and_its_hooks_do_nothing(
    runtime: SnapshotRestore, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = PoolApp()
    handler = ASGIHandler(app.app)
    reference = weakref.ref(handler)
    del handler
    gc.collect()
    assert reference() is None  # the registered hooks did not keep it alive
    assert (app.startups, app.shutdowns) == (1, 1)  # shut down when collected
    seeds: list[tuple[Any, ...]] = []
    monkeypatch.setattr(random, "seed", lambda *args: seeds.append(args))
    runtime.snapshot_and_restore()
    assert (app.startups, app.shutdowns, seeds) == (1, 1, [])


def test_a_closed_handlers_hooks_do_nothing(
    runtime: SnapshotRestore, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = PoolApp()
    handler = ASGIHandler(app.app)
    handler.close()  # and still referenced, so only the closed check can stop the hooks
    seeds: list[tuple[Any, ...]] = []
    monkeypatch.setattr(random, "seed", lambda *args: seeds.append(args))
    runtime.snapshot_and_restore()  # its loop is closed: running anything on it would raise
    assert (app.startups, app.shutdowns, seeds) == (1, 1, [])
    assert handler.closed


def test_a_startup_failing_at_restore_raises_so_that_lambda_fails_the_restore(
    runtime: SnapshotRestore, closing: list[ASGIHandler]
) -> None:
    app = PoolApp(fail_from_startup=2)
    handler = ASGIHandler(app.app)
    closing.append(handler)
    runtime.snapshot()
    with pytest.raises(LifespanError, match="the database refused the connection") as raised:
        runtime.restore()
    assert isinstance(raised.value.__cause__, ConnectionRefusedError)


def test_a_startup_hanging_at_restore_raises_within_the_restore_budget(
    runtime: SnapshotRestore, closing: list[ASGIHandler], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert alb_adapter.snapstart.RESTART_TIMEOUT_SECONDS < 10  # Lambda's documented budget
    monkeypatch.setattr("alb_adapter.asgi.RESTART_TIMEOUT_SECONDS", 0.2)
    app = PoolApp(hang_from_startup=2)
    handler = ASGIHandler(app.app)
    closing.append(handler)
    runtime.snapshot()
    with pytest.raises(LifespanError, match=r"did not complete within 0\.2 s"):
        runtime.restore()
    handler.close()  # the hanging startup is cancelled with the app's leftover tasks
    assert handler.loop.is_closed()


def test_an_app_that_stops_speaking_lifespan_at_restore_fails_it(
    runtime: SnapshotRestore, closing: list[ASGIHandler]
) -> None:
    startups = 0

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        nonlocal startups
        if scope["type"] == "lifespan":
            startups += 1
            if startups > 1:
                return  # returns without asking for the startup message
            while True:
                message = await receive()
                kind = message["type"].rpartition(".")[2]
                await send({"type": f"lifespan.{kind}.complete"})
                if kind == "shutdown":
                    return

    handler = ASGIHandler(app)  # lifespan="auto", which otherwise accepts apps without it
    closing.append(handler)
    runtime.snapshot()
    with pytest.raises(LifespanError, match="did not answer lifespan startup"):
        runtime.restore()


def test_a_lifespan_that_ignored_its_shutdown_is_cancelled_and_started_afresh(
    runtime: SnapshotRestore, closing: list[ASGIHandler], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its shutdown timed out with the shutdown message unread: the restarted lifespan must
    neither run beside it nor read that message as its first."""
    monkeypatch.setattr("alb_adapter.lifespan.SHUTDOWN_TIMEOUT_SECONDS", 0.1)
    runs: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            run = len(runs)
            runs.append("running")
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    scope["state"]["run"] = run
                    await send({"type": "lifespan.startup.complete"})
                    if run == 0:
                        try:
                            await asyncio.sleep(3600)  # busy elsewhere, deaf to shutdown
                        except asyncio.CancelledError:
                            runs[run] = "cancelled"
                            raise
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    runs[run] = "shut down"
                    return
        body = str(scope["state"]["run"]).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    handler = ASGIHandler(app)
    closing.append(handler)
    runtime.snapshot_and_restore()
    assert runs == ["cancelled", "running"]
    assert read_response(handler(make_event(), None)).body == b"1"
    handler.close()
    assert runs == ["cancelled", "shut down"]


def test_without_the_module_nothing_is_registered_and_the_handler_works(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # import raises ImportError
    app = PoolApp()
    with ASGIHandler(app.app) as handler:
        assert ask(handler) == {"pool": 0, "closed": False, "startup": 1}
        assert alb_adapter.snapstart.register_hooks(handler, print, print) is False
    assert (app.startups, app.shutdowns) == (1, 1)


def test_the_module_is_imported_by_a_handler_never_by_import_alb_adapter(
    tmp_path: Path,
) -> None:
    """In a fresh interpreter where ``snapshot_restore_py`` is importable, as in the runtime."""
    (tmp_path / "snapshot_restore_py.py").write_text(
        textwrap.dedent(
            """
            before, after = [], []

            def register_before_snapshot(func, *args, **kwargs):
                before.append((func, args, kwargs))
                return func

            def register_after_restore(func, *args, **kwargs):
                after.append((func, args, kwargs))
                return func
            """
        )
    )
    code = """
    import json, sys
    import alb_adapter
    from alb_adapter import ASGIHandler
    seen = ["snapshot_restore_py" in sys.modules]

    async def app(scope, receive, send):
        raise ValueError("no lifespan")

    handler = ASGIHandler(app)
    seen.append("snapshot_restore_py" in sys.modules)
    import snapshot_restore_py
    print(json.dumps([*seen, len(snapshot_restore_py.before), len(snapshot_restore_py.after)]))
    """
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path}"},
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert json.loads(result.stdout) == [False, True, 1, 1]
