"""Lambda Managed Instances (Python 3.13+): one execution environment runs several worker
processes, each importing the function's module and answering one request at a time. Each process
must build its own handler, run its own lifespan startup once and answer correctly, with nothing
shared between processes; here with real processes started the way that module is imported
('spawn': a fresh interpreter each, nothing inherited from this one)."""

from __future__ import annotations

import json
import multiprocessing
import os
import queue
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from alb_adapter.testing import make_event, read_response
from tests import managed_instances_function

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = 4
TIMEOUT_SECONDS = 60.0


def fresh_sys_path() -> list[str]:
    """A new interpreter's sys.path, plus the repository (the function's code directory).

    'spawn' gives each child this process's sys.path, which other tests may have extended with
    their own directories (one holds a ``json.py``); a runtime worker process starts clean."""
    listed = subprocess.run(
        [sys.executable, "-c", "import json, sys; print(json.dumps(sys.path[1:]))"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=True,
    )
    return [str(ROOT), *json.loads(listed.stdout)]


def test_each_worker_process_builds_its_handlers_and_runs_its_own_lifespan_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "path", fresh_sys_path())
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(PROCESSES)
    results = context.Queue()
    modes = [False, True]  # one request in each ALB header mode
    events = [
        make_event("GET", "/first", multi_value_headers=modes[0]),
        make_event("POST", "/second", json={}, multi_value_headers=modes[1]),
    ]
    workers = [
        context.Process(
            target=managed_instances_function.serve,
            args=(events, ready, results, TIMEOUT_SECONDS),
            daemon=True,
        )
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    reports: list[dict[str, Any]] = []
    try:
        for _ in workers:
            reports.append(results.get(timeout=TIMEOUT_SECONDS))
    except queue.Empty:
        codes = [worker.exitcode for worker in workers]
        raise AssertionError(f"only {len(reports)} workers answered; exit codes {codes}") from None
    finally:
        for worker in workers:
            worker.join(timeout=TIMEOUT_SECONDS)
            if worker.is_alive():
                worker.kill()
                worker.join(timeout=TIMEOUT_SECONDS)

    pids = {report["pid"] for report in reports}
    assert pids == {worker.pid for worker in workers}
    assert os.getpid() not in pids
    for report in reports:
        pid = report["pid"]
        for kind in ("wsgi", "asgi"):
            answers = [
                read_response(response, multi_value_headers=multi)
                for multi, response in zip(modes, report[kind], strict=True)
            ]
            assert [answer.status for answer in answers] == [200, 200]
            bodies = [json.loads(answer.body) for answer in answers]
            assert [body["pid"] for body in bodies] == [pid, pid]
            if kind == "wsgi":
                assert [body["path"] for body in bodies] == ["/first", "/second"]
            else:
                # The lifespan ran once in this process, before either request, and its state
                # (the pool it made, in this process) reached both.
                assert [body["pool"] for body in bodies] == [{"pid": pid, "startup": 1}] * 2
                assert [body["startups"] for body in bodies] == [1, 1]
        assert report["startups"] == 1
    # This process built no handler of that module: nothing ran here, nothing was shared.
    assert managed_instances_function.STARTUPS == 0
