"""The inspector's memory bound, measured: 2,000 requests through a started local ALB whose
inspector keeps 50. The store holds exactly the last 50, and the memory Python allocated
(tracemalloc, after a garbage collection) is the same after 2,000 requests as after 500, within
a bound far below what the 1,500 requests in between would take if they were kept (each carries
a 2 KB body each way, a Lambda event, an answer and a log line: some 12 KB).

The requests go over 20 connections at once, as a browser's would, which also keeps the test
short on two cores. The handler prints rather than logs: pytest keeps every log record of a test in memory
(its report's "Captured log call"), which would be growth of the test's, not the emulator's."""

from __future__ import annotations

import gc
import sys
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from alb_adapter.emulator.app import ALBEmulator
from alb_adapter.emulator.rules import ListenerConfig
from alb_adapter.emulator.server import build_server, running

HANDLER = """
def handler(event, context):
    print("request", event["path"])
    return {"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": "r" * 2000}
"""
KEEP = 50
CONNECTIONS = 20
# What 1,500 more exchanges kept would take is some 18 MB; allocator noise is well under this.
FLAT_BYTES = 1_000_000


def traced_after_collection() -> int:
    gc.collect()
    current, _ = tracemalloc.get_traced_memory()
    return current


def test_2000_requests_keep_50_and_memory_stays_flat(tmp_path: Path) -> None:
    handler = tmp_path / "memory_fn.py"
    handler.write_text(HANDLER)
    config = ListenerConfig.single_target(f"{handler}:handler")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "path", list(sys.path))
        patch.delitem(sys.modules, "memory_fn", raising=False)
        server = build_server(config, log_level="warning", inspect_keep=KEEP)
        emulator = server.config.app
        assert isinstance(emulator, ALBEmulator)
        assert emulator.recorder is not None
        tracemalloc.start()
        try:
            with running(server) as url:
                clients = [httpx.Client(base_url=url, timeout=30) for _ in range(CONNECTIONS)]

                def send(numbers: range) -> None:
                    with ThreadPoolExecutor(CONNECTIONS) as pool:
                        statuses = pool.map(
                            lambda n: (
                                clients[n % CONNECTIONS]
                                .post(f"/item/{n}", content=b"q" * 2000)
                                .status_code
                            ),
                            numbers,
                        )
                        assert set(statuses) == {200}

                try:
                    send(range(1, 501))
                    after_500 = traced_after_collection()
                    send(range(501, 2001))
                    after_2000 = traced_after_collection()
                finally:
                    for client in clients:
                        client.close()
                kept = [exchange.id for exchange in emulator.recorder.exchanges]
                statuses = {exchange.status for exchange in emulator.recorder.exchanges}
        finally:
            tracemalloc.stop()
    assert kept == list(range(1951, 2001))  # ids in the order requests arrived
    assert statuses == {200}
    growth = after_2000 - after_500
    assert growth < FLAT_BYTES, f"memory grew by {growth:,} bytes from 500 to 2,000 requests"
