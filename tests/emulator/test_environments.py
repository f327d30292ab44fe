"""Lambda targets run as Lambda runs functions (emulator/environments.py): execution environments
as worker processes behind the Lambda Runtime API, each with the built-in runtime and, when it is
installed, with AWS's own runtime client (awslambdaric). Everything over real HTTP: the local ALB
on 127.0.0.1, its environments reporting from the inside (their pid, their environment, what they
ran and when) through the files of the function below."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import itertools
import json
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from alb_adapter.emulator.app import ALBEmulator
from alb_adapter.emulator.environments import SHUTDOWN_GRACE_SECONDS, RuntimeClient
from alb_adapter.emulator.invocation import alb_error
from alb_adapter.emulator.loader import TargetLoadError
from alb_adapter.emulator.rules import ListenerConfig, parse_config
from alb_adapter.emulator.runtime_api import (
    InitError,
    Invocation,
    InvocationResult,
    RuntimeAPIServer,
)
from alb_adapter.emulator.server import build_server, running

# The function. Its init appends its pid to inits.log (and fails while `fail-init` exists); each
# invocation with an `id` appends its start, end, id and request id to records-<pid>.log.
FUNCTION = r"""
import json, os, sys, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
with open(HERE / "inits.log", "a") as log:
    log.write(f"{os.getpid()}\n")
if (HERE / "fail-init").exists():
    raise RuntimeError("init failed on purpose")
if (HERE / "ignore-sigterm").exists():
    import signal
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

ENVIRON = [
    "AWS_LAMBDA_FUNCTION_NAME", "_HANDLER", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_TIMEOUT", "LAMBDA_TASK_ROOT",
    "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_LAMBDA_RUNTIME_API",
    "ALB_ADAPTER_LOCAL", "TZ", "_X_AMZN_TRACE_ID", "GREETING",
]


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def handler(event, context):
    began = time.monotonic()
    query = event["queryStringParameters"]
    path = event["path"]
    body = {"pid": os.getpid(), "path": path}
    if path.endswith("/hang"):
        (HERE / f"hanging-{os.getpid()}").touch()
        while not (HERE / "release").exists():
            time.sleep(0.01)
    elif path.endswith("/sleep"):
        time.sleep(float(query["seconds"]))
    elif path.endswith("/exit"):
        os._exit(3)
    elif path.endswith("/alive"):
        body["alive"] = alive(int(query["pid"]))
    elif path.endswith("/env"):
        body["environ"] = {name: os.environ.get(name) for name in ENVIRON}
        body["context"] = {
            name: getattr(context, name)
            for name in (
                "function_name", "function_version", "memory_limit_in_mb",
                "invoked_function_arn", "log_group_name", "aws_request_id",
            )
        }
        body["remaining_ms"] = context.get_remaining_time_in_millis()
        body["runtime"] = "awslambdaric" if "awslambdaric" in sys.modules else "bootstrap"
        body["event_trace_id"] = event["headers"]["x-amzn-trace-id"]
    if "id" in query:
        body["id"] = query["id"]
        with open(HERE / f"records-{os.getpid()}.log", "a") as log:
            log.write(f"{began} {time.monotonic()} {query['id']} {context.aws_request_id}\n")
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body),
    }
"""

RUNTIMES: list[RuntimeClient] = ["builtin", "awslambdaric"]
WAIT_SECONDS = 30.0
PAGE_502 = alb_error(502, "").body
PAGE_503 = alb_error(503, "").body


@pytest.fixture(params=RUNTIMES)
def runtime_client(request: pytest.FixtureRequest) -> RuntimeClient:
    """Each test that takes it runs with the built-in runtime and with awslambdaric."""
    if request.param == "awslambdaric" and importlib.util.find_spec("awslambdaric") is None:
        pytest.skip("awslambdaric is not installed (pip install 'alb-adapter[runtime]')")
    chosen: RuntimeClient = request.param
    return chosen


@pytest.fixture
def function(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The function's directory (its files are how the environments report)."""
    (tmp_path / "fn.py").write_text(FUNCTION)
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def spec(function: Path) -> str:
    return f"{function / 'fn.py'}:handler"


def one_target(function: Path, **settings: Any) -> ListenerConfig:
    target = {"handler": spec(function), "environments": "process", **settings}
    data = {"targets": {"fn": target}, "default_action": {"type": "forward", "target_group": "fn"}}
    return parse_config(data, source="rules.toml")


@pytest.fixture
def log_lines(caplog: pytest.LogCaptureFixture) -> Callable[[], list[str]]:
    """The emulator's own log lines (not the access log, nor the function's output)."""
    caplog.set_level(logging.INFO, logger="alb_adapter.emulator")
    return lambda: [r.getMessage() for r in caplog.records if r.name == "alb_adapter.emulator"]


@pytest.fixture
def output_lines(caplog: pytest.LogCaptureFixture) -> Callable[[], list[str]]:
    """The functions' stdout and stderr, as the emulator logs them."""
    caplog.set_level(logging.INFO, logger="alb_adapter.emulator.function")
    name = "alb_adapter.emulator.function"
    return lambda: [r.getMessage() for r in caplog.records if r.name == name]


def serve(
    config: ListenerConfig,
    runtime_client: RuntimeClient,
    *,
    shutdown_grace: float = SHUTDOWN_GRACE_SECONDS,
) -> contextlib.AbstractContextManager[str]:
    server = build_server(
        config, log_level="warning", runtime_client=runtime_client, shutdown_grace=shutdown_grace
    )
    return running(server, stop_seconds=15.0)


def client(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=WAIT_SECONDS, trust_env=False)


def inits(function: Path) -> list[int]:
    return [int(line) for line in (function / "inits.log").read_text().split()]


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"still waiting, after {WAIT_SECONDS:g} s, for {what}"
        time.sleep(0.01)


def hanging(function: Path) -> set[int]:
    """The pids of the environments inside a /hang invocation now (or released since)."""
    return {int(path.name.split("-")[1]) for path in function.glob("hanging-*")}


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def alb_page(response: httpx.Response) -> tuple[int, str, str, bytes]:
    return (
        response.status_code,
        response.headers["server"],
        response.headers["content-type"],
        response.content,
    )


# --------------------------------------------------------------------------- the environment


def test_the_function_runs_in_a_lambda_environment(
    function: Path, runtime_client: RuntimeClient, log_lines: Callable[[], list[str]]
) -> None:
    with serve(one_target(function, timeout=5), runtime_client) as url, client(url) as http:
        response = http.get("/env")
    assert response.status_code == 200
    body = response.json()
    [init_pid] = inits(function)
    assert body["pid"] == init_pid != os.getpid()
    assert body["runtime"] == ("awslambdaric" if runtime_client == "awslambdaric" else "bootstrap")
    environ = body["environ"]
    volatile = {
        "AWS_LAMBDA_RUNTIME_API": r"127\.0\.0\.1:\d+",
        "AWS_LAMBDA_LOG_STREAM_NAME": r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}",
        "_X_AMZN_TRACE_ID": r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0",
    }
    trace_id = environ["_X_AMZN_TRACE_ID"]
    for name, pattern in volatile.items():
        assert re.fullmatch(pattern, environ.pop(name)), name
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert environ == {
        "AWS_LAMBDA_FUNCTION_NAME": "fn",
        "_HANDLER": spec(function),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_FUNCTION_TIMEOUT": "5",
        "LAMBDA_TASK_ROOT": os.getcwd(),
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python{version}",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/fn",
        "ALB_ADAPTER_LOCAL": "1",
        "TZ": ":UTC",
        "GREETING": None,
    }
    # The trace the runtime exports continues the one ALB put in the event.
    assert trace_id.startswith(body["event_trace_id"] + ";Parent=")
    context = body["context"]
    assert re.fullmatch(r"[0-9a-f-]{36}", context.pop("aws_request_id"))
    assert context == {
        "function_name": "fn",
        "function_version": "$LATEST",
        "memory_limit_in_mb": "512",
        "invoked_function_arn": "arn:aws:lambda:us-east-1:123456789012:function:fn",
        "log_group_name": "/aws/lambda/fn",
    }
    assert 0 < body["remaining_ms"] <= 5000
    runtime = "awslambdaric" if runtime_client == "awslambdaric" else "bootstrap"
    [started] = [line for line in log_lines() if " initialised in " in line]
    assert re.fullmatch(
        rf"target fn: fn#1 \(pid {init_pid}\) initialised in [0-9.]+ s \({runtime}\)", started
    )


def test_the_functions_own_variables_reach_it_and_lambdas_win(function: Path) -> None:
    """A template's Environment.Variables (Target.environment): given to the function, except
    the names Lambda sets itself."""
    config = one_target(function, timeout=5)
    target = dataclasses.replace(
        config.targets["fn"],
        environment=(("GREETING", "hello"), ("AWS_LAMBDA_FUNCTION_NAME", "not-this")),
    )
    config = dataclasses.replace(config, targets={"fn": target})
    with serve(config, "builtin") as url, client(url) as http:
        environ = http.get("/env").json()["environ"]
    assert (environ["GREETING"], environ["AWS_LAMBDA_FUNCTION_NAME"]) == ("hello", "fn")


def test_the_functions_output_reaches_the_log_prefixed_by_its_environment(
    function: Path, runtime_client: RuntimeClient, output_lines: Callable[[], list[str]]
) -> None:
    (function / "fn.py").write_text(
        FUNCTION + "\nprint('hello from init')\n"
        "def shouting(event, context):\n"
        "    print('hello from', event['path'])\n"
        "    raise ValueError('boom')\n"
    )
    config = one_target(function, handler=f"{function / 'fn.py'}:shouting")
    with serve(config, runtime_client) as url, client(url) as http:
        response = http.get("/x")
    assert alb_page(response) == (502, "awselb/2.0", "text/html", PAGE_502)
    [pid] = inits(function)
    lines = output_lines()
    prefix = f"[fn#1 pid {pid}] "
    assert all(line.startswith(prefix) for line in lines), lines
    text = [line.removeprefix(prefix) for line in lines]
    assert text[:2] == ["hello from init", "hello from /x"]
    assert text[2] == "[ERROR] ValueError: boom"  # the runtime's own report, as on Lambda
    assert "Traceback (most recent call last):" in text


# --------------------------------------------------------------------------- timeout


def test_a_timed_out_function_is_killed_and_the_next_request_starts_a_fresh_environment(
    function: Path, runtime_client: RuntimeClient, log_lines: Callable[[], list[str]]
) -> None:
    with serve(one_target(function, timeout=1), runtime_client) as url, client(url) as http:
        [stuck] = inits(function)
        timed_out = http.get("/sleep", params={"seconds": "60"})
        after = http.get("/alive", params={"pid": str(stuck)})
    assert alb_page(timed_out) == (502, "awselb/2.0", "text/html", PAGE_502)
    # Served by a new environment, whose init ran, while the stuck one was already gone.
    fresh = after.json()["pid"]
    assert after.json() == {"pid": fresh, "path": "/alive", "alive": False}
    assert fresh != stuck
    assert inits(function) == [stuck, fresh]
    lines = log_lines()
    assert (
        f"target fn: fn#1 (pid {stuck}) timed out after 1 s: killed; the next request starts a "
        "fresh environment" in lines
    )
    assert "GET /sleep: ALB answered 502: the function did not answer within its 1 s timeout" in (
        lines
    )
    assert any(line.startswith(f"target fn: cold start: fn#2 (pid {fresh}) ") for line in lines)


def test_a_runtime_that_dies_mid_invocation_is_a_502_and_is_replaced(
    function: Path, log_lines: Callable[[], list[str]]
) -> None:
    with serve(one_target(function), "builtin") as url, client(url) as http:
        [dead] = inits(function)
        died = http.get("/exit")
        after = http.get("/x")
    assert alb_page(died) == (502, "awselb/2.0", "text/html", PAGE_502)
    fresh = after.json()["pid"]
    assert inits(function) == [dead, fresh]
    lines = log_lines()
    assert f"target fn: fn#1 (pid {dead}) exited unexpectedly (exit status 3)" in lines
    [answered] = [line for line in lines if line.startswith("GET /exit: ALB answered 502: ")]
    assert re.fullmatch(
        r"GET /exit: ALB answered 502: LambdaUnhandled: Runtime\.ExitError: RequestId: "
        r"[0-9a-f-]{36} Error: Runtime exited \(exit status 3\)",
        answered,
    )


# --------------------------------------------------------------------------- init errors


def test_an_init_error_is_an_explained_502_and_the_next_request_runs_the_init_again(
    function: Path, runtime_client: RuntimeClient, log_lines: Callable[[], list[str]]
) -> None:
    config = one_target(function, concurrency=3)
    with (
        serve(config, runtime_client) as url,
        client(url) as http,
        ThreadPoolExecutor(1) as pool,
    ):
        [first] = inits(function)
        held = pool.submit(http.get, "/hang")  # the first environment stays busy
        wait_until(lambda: first in hanging(function), "the first environment to hang")
        (function / "fail-init").touch()
        failed = http.get("/x")  # a second environment: its init fails
        (function / "fail-init").unlink()
        retried = http.get("/x")  # a third: the init runs again, and works
        (function / "release").touch()
        released = held.result(timeout=WAIT_SECONDS)
    assert alb_page(failed) == (502, "awselb/2.0", "text/html", PAGE_502)
    [_, broken, third] = inits(function)
    assert retried.json() == {"pid": third, "path": "/x"}
    assert released.json() == {"pid": first, "path": "/hang"}
    file = function / "fn.py"
    reason = (
        f"LambdaUnhandled: init error: TargetLoadError: {file}:handler: importing "
        f"'{file}' failed: RuntimeError: init failed on purpose"
    )
    lines = log_lines()
    assert f"GET /x: ALB answered 502: {reason}" in lines
    assert any(line.startswith(f"target fn: fn#2 (pid {broken}) init error: ") for line in lines)
    assert not is_running(broken)


def test_a_function_that_cannot_load_stops_the_emulator_at_start(
    function: Path, runtime_client: RuntimeClient
) -> None:
    """The first environment of each target starts with the emulator: a function whose init
    fails is the error `alb-adapter serve` prints, naming the target, and no process is left."""
    (function / "fail-init").touch()
    config = one_target(function)
    emulator = ALBEmulator(config, runtime_client=runtime_client, environments="process")
    with pytest.raises(TargetLoadError) as caught:
        emulator.load()
    file = function / "fn.py"
    where = f"{config.targets['fn'].origin}: " if config.targets["fn"].origin else ""
    assert str(caught.value) == (
        f"{where}{file}:handler: importing '{file}' failed: RuntimeError: init failed on purpose"
    )
    [pid] = inits(function)
    assert not is_running(pid)
    assert emulator.pools == {}


# --------------------------------------------------------------------------- concurrency


def test_ten_hung_invocations_do_not_delay_another_targets_requests(
    function: Path, runtime_client: RuntimeClient
) -> None:
    handler = spec(function)
    data = {
        "targets": {
            "slow": {"handler": handler, "environments": "process", "concurrency": 10},
            "fast": {"handler": handler, "environments": "process"},
        },
        "rules": [
            {
                "priority": 1,
                "conditions": [{"field": "path-pattern", "values": ["/slow/*"]}],
                "actions": [{"type": "forward", "target_group": "slow"}],
            }
        ],
        "default_action": {"type": "forward", "target_group": "fast"},
    }
    config = parse_config(data, source="rules.toml")
    with (
        serve(config, runtime_client) as url,
        client(url) as http,
        ThreadPoolExecutor(10) as pool,
    ):
        hung = [pool.submit(http.get, "/slow/hang") for _ in range(10)]
        wait_until(lambda: len(hanging(function)) == 10, "ten environments to hang")
        throttled = http.get("/slow/x")  # an eleventh: beyond the target's concurrency
        fast = [http.get("/fast", params={"n": str(n)}) for n in range(20)]
        still_hung = [future.done() for future in hung]
        (function / "release").touch()
        released = [future.result(timeout=WAIT_SECONDS) for future in hung]
    assert alb_page(throttled) == (503, "awselb/2.0", "text/html", PAGE_503)
    assert [response.status_code for response in fast] == [200] * 20
    assert still_hung == [False] * 10
    assert [response.status_code for response in released] == [200] * 10
    assert {response.json()["pid"] for response in released} == hanging(function)


def test_two_thousand_requests_at_twenty_connections_with_concurrency_four(
    function: Path,
) -> None:
    """None lost (each answered once: served, or throttled beyond the concurrency), none answered
    with another's result, and never two at once in one environment, as the workers saw it."""
    answers: dict[str, httpx.Response] = {}

    def connection(url: str, first: int) -> None:
        with client(url) as http:  # one connection, kept alive for its 100 requests
            for number in range(first, first + 100):
                answers[str(number)] = http.get("/n", params={"id": str(number)})

    with (
        serve(one_target(function, concurrency=4), "builtin") as url,
        ThreadPoolExecutor(20) as pool,
    ):
        for done in [pool.submit(connection, url, first) for first in range(0, 2000, 100)]:
            done.result(timeout=WAIT_SECONDS)
    served = {key for key, response in answers.items() if response.status_code == 200}
    throttled = [response for response in answers.values() if response.status_code != 200]
    assert len(answers) == 2000
    assert served
    assert {alb_page(response) for response in throttled} <= {
        (503, "awselb/2.0", "text/html", PAGE_503)
    }
    assert all(answers[key].json()["id"] == key for key in served)
    records: dict[int, list[tuple[float, float, str, str]]] = {}
    for path in function.glob("records-*.log"):
        pid = int(path.stem.split("-")[1])
        fields = [line.split() for line in path.read_text().splitlines()]
        records[pid] = sorted((float(a), float(b), key, rid) for a, b, key, rid in fields)
    ran = [row[2] for rows in records.values() for row in rows]
    assert sorted(ran) == sorted(served)  # each served request ran exactly once
    assert len({row[3] for rows in records.values() for row in rows}) == len(ran)
    assert 1 <= len(records) <= 4
    for rows in records.values():
        for earlier, later in itertools.pairwise(rows):
            assert earlier[1] <= later[0]  # one invocation at a time per environment


# --------------------------------------------------------------------------- shutdown


def test_shutdown_stops_every_environment_with_sigterm(
    function: Path, runtime_client: RuntimeClient, log_lines: Callable[[], list[str]]
) -> None:
    with (
        serve(one_target(function, concurrency=3), runtime_client) as url,
        client(url) as http,
        ThreadPoolExecutor(3) as pool,
    ):
        busy = [pool.submit(http.get, "/hang") for _ in range(3)]
        wait_until(lambda: len(hanging(function)) == 3, "three environments")
        (function / "release").touch()
        pids = {future.result(timeout=WAIT_SECONDS).json()["pid"] for future in busy}
    assert pids == hanging(function) == set(inits(function))
    pattern = re.compile(r"target fn: fn#([123]) \(pid (\d+)\) stopped \(signal SIGTERM\)")
    stopped = [pattern.fullmatch(line) for line in log_lines() if " stopped (" in line]
    assert None not in stopped, log_lines()
    assert sorted(int(m[1]) for m in stopped if m) == [1, 2, 3]
    assert {int(m[2]) for m in stopped if m} == pids
    assert not [line for line in log_lines() if "did not stop" in line]
    assert not [pid for pid in pids if is_running(pid)]


ASGI_FUNCTION = """
import os
from pathlib import Path

HERE = Path(__file__).resolve().parent


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                (HERE / f"lifespan-shutdown-{os.getpid()}").touch()
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(os.getpid()).encode()})
"""


def test_sigterm_lets_an_asgi_app_run_its_lifespan_shutdown(function: Path) -> None:
    """Lambda's SIGTERM before it retires an environment reaches ASGIHandler, which closes the
    app. (With awslambdaric on Python 3.11 the runtime waits for events in C code, where no
    Python signal handler runs: the environment is killed after the grace period instead.)"""
    (function / "asgi_fn.py").write_text(ASGI_FUNCTION)
    config = one_target(function, handler=f"{function / 'asgi_fn.py'}:app")
    with serve(config, "builtin") as url, client(url) as http:
        pid = int(http.get("/").text)
    assert [path.name for path in function.glob("lifespan-shutdown-*")] == [
        f"lifespan-shutdown-{pid}"
    ]
    assert not is_running(pid)


def test_an_environment_that_ignores_sigterm_is_killed_after_the_grace_period(
    function: Path, log_lines: Callable[[], list[str]]
) -> None:
    (function / "ignore-sigterm").touch()
    with serve(one_target(function), "builtin", shutdown_grace=0.5):
        [pid] = inits(function)
    assert f"target fn: fn#1 (pid {pid}) did not stop within 0.5 s of SIGTERM: killed" in (
        log_lines()
    )
    assert not is_running(pid)


def test_a_hung_invocation_does_not_hold_the_shutdown(function: Path) -> None:
    """The server gives requests in flight a few seconds, then stops the environments anyway
    (the function's timeout, 900 s here, is not waited for)."""
    answer: Future[httpx.Response] = Future()

    def ask(url: str) -> None:
        answer.set_result(httpx.get(url + "/hang", timeout=WAIT_SECONDS, trust_env=False))

    with serve(one_target(function, timeout=900), "builtin") as url:
        asking = threading.Thread(target=ask, args=(url,))
        asking.start()
        wait_until(lambda: len(hanging(function)) == 1, "the environment to hang")
    asking.join(WAIT_SECONDS)
    [pid] = hanging(function)
    assert not is_running(pid)
    assert alb_page(answer.result(timeout=0)) == (503, "awselb/2.0", "text/html", PAGE_503)


# --------------------------------------------------------------------------- the Runtime API


class Backend:
    """One environment's side of the Runtime API, recording what the runtime reported."""

    def __init__(self, invocation: Invocation) -> None:
        self.invocation = invocation
        self.given = False
        self.results: list[tuple[str, InvocationResult]] = []
        self.init_errors: list[InitError] = []

    def next_invocation(self) -> Invocation | None:
        if self.given:
            return None
        self.given = True
        return self.invocation

    def report_result(self, request_id: str, result: InvocationResult) -> tuple[int, str] | None:
        if request_id != self.invocation.request_id:
            return 400, "InvalidRequestID"
        self.results.append((request_id, result))
        return None

    def report_init_error(self, error: InitError) -> tuple[int, str] | None:
        self.init_errors.append(error)
        return None


@pytest.fixture
def runtime_api() -> Iterator[tuple[httpx.Client, Backend]]:
    invocation = Invocation(
        event=b'{"path": "/"}',
        deadline_ms=1_700_000_000_000,
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:fn",
        trace_id="Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0",
        result=Future(),
        request_id="8f3c-request",
    )
    backend = Backend(invocation)
    server = RuntimeAPIServer(backend)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    base = f"http://{server.address}/2018-06-01/runtime"
    try:
        with httpx.Client(base_url=base, timeout=WAIT_SECONDS, trust_env=False) as http:
            yield http, backend
    finally:
        server.shutdown()
        server.server_close()
        thread.join(WAIT_SECONDS)


def test_the_runtime_api_speaks_lambdas_protocol(
    runtime_api: tuple[httpx.Client, Backend],
) -> None:
    http, backend = runtime_api
    nxt = http.get("/invocation/next")
    assert (nxt.status_code, nxt.content) == (200, b'{"path": "/"}')
    assert {name: nxt.headers[name] for name in nxt.headers if name.startswith("lambda-")} == {
        "lambda-runtime-aws-request-id": "8f3c-request",
        "lambda-runtime-deadline-ms": "1700000000000",
        "lambda-runtime-invoked-function-arn": "arn:aws:lambda:us-east-1:123456789012:function:fn",
        "lambda-runtime-trace-id": (
            "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0"
        ),
    }
    unknown = http.post("/invocation/other/response", content=b"{}")
    assert (unknown.status_code, unknown.json()) == (
        400,
        {
            "errorMessage": "InvalidRequestID for /2018-06-01/runtime/invocation/other/response",
            "errorType": "InvalidRequestID",
        },
    )
    error: dict[str, object] = {
        "errorMessage": "boom",
        "errorType": "ValueError",
        "stackTrace": ["  File x\n"],
    }
    accepted = http.post("/invocation/8f3c-request/error", json=error)
    assert (accepted.status_code, accepted.json()) == (202, {"status": "OK"})
    assert backend.results == [("8f3c-request", InvocationResult(error=error))]
    init = http.post(
        "/init/error",
        json={"errorMessage": "no module", "errorType": "Runtime.ImportModuleError"},
        headers={"Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError"},
    )
    assert init.status_code == 202
    assert [(e.error_type, e.message) for e in backend.init_errors] == [
        ("Runtime.ImportModuleError", "no module")
    ]
    missing = http.get("/invocation/nope")
    assert (missing.status_code, missing.json()["errorType"]) == (404, "UnknownPath")
    assert json.loads(http.post("/nowhere", content=b"").content)["errorType"] == "UnknownPath"
