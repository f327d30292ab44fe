"""The benchmark harness runs end to end (``--smoke``), alb_adapter gives no WRONG answer in it, and
the API Gateway rows are measured, checked and judged beside ALB's.

No timing is asserted here: a smoke run takes a handful of samples, and the budget lines it prints
mean nothing. The benchmark runs in its own process because it configures Django process-wide; the
three tests share one run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks" / "bench.py"
# The peers (the "bench" extra) and the frameworks the benchmark serves.
NEEDED = ("mangum", "apig_wsgi", "serverless_wsgi", "flask", "fastapi", "django")

# The rows benchmarks/bench.py measures on each API Gateway front door (its API_GATEWAY_ROWS).
API_GATEWAY_WSGI_ROWS = {"raw-wsgi get", "raw-wsgi cookies", "raw-wsgi get-image", "flask get"}
API_GATEWAY_ASGI_ROWS = {"raw-asgi get", "raw-asgi cookies", "raw-asgi get-image", "fastapi get"}
API_GATEWAY_SOURCES = ("apigw-http-v2", "apigw-rest")


class SmokeRun:
    """One ``--smoke`` run: its JSON summary and its RESULTS.md."""

    def __init__(self, summary: Any, report: str) -> None:
        self.summary = summary
        self.report = report

    def budget_rows(self, line: int, prefix: str) -> set[str]:
        """The rows budget line ``line`` judges whose name starts with ``prefix``."""
        (found,) = [entry for entry in self.summary["budget"] if entry["number"] == line]
        return {row["where"] for row in found["rows"] if row["where"].startswith(prefix)}


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> SmokeRun:
    for module in NEEDED:
        pytest.importorskip(module, reason=f"{module} is needed by the benchmark (bench extra)")
    out = tmp_path_factory.mktemp("bench")
    results, summary_file = out / "RESULTS.md", out / "summary.json"
    done = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--smoke",
            "--output",
            str(results),
            "--json",
            str(summary_file),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads(summary_file.read_text(encoding="utf-8"))
    return SmokeRun(summary, results.read_text(encoding="utf-8"))


def test_benchmark_smoke_run_has_no_wrong_alb_adapter_row(smoke_run: SmokeRun) -> None:
    summary = smoke_run.summary
    assert summary["mode"] == "smoke"
    # ALB: six apps, seven cases; each API Gateway front door: the eight rows above.
    assert summary["rows"] == 6 * 7 + 2 * 8
    assert summary["rows_by_source"] == {"alb": 42, "apigw-http-v2": 8, "apigw-rest": 8}
    assert [row for row in summary["wrong"] if row["runner"] == "alb_adapter"] == []
    report = smoke_run.report
    assert report.startswith("# alb_adapter benchmark results")
    assert "## Cold start: import time" in report
    assert "## Cold start: time to first response" in report


def test_api_gateway_rows_are_judged_by_the_same_budget_lines(smoke_run: SmokeRun) -> None:
    for source in API_GATEWAY_SOURCES:
        wsgi = {f"{source} {row}" for row in API_GATEWAY_WSGI_ROWS}
        asgi = {f"{source} {row}" for row in API_GATEWAY_ASGI_ROWS}
        binary = {row for row in wsgi | asgi if row.endswith(" get-image")}
        assert smoke_run.budget_rows(1, source) == wsgi  # WSGI apps against apig-wsgi
        assert smoke_run.budget_rows(2, source) == asgi  # ASGI apps against Mangum
        assert smoke_run.budget_rows(3, source) == binary  # 512 KiB within 10 % of floor+codec
    for heading in (
        "## Time above floor+codec, WSGI apps, API Gateway HTTP API (payload 2.0) (median µs)",
        "## Time above floor+codec, ASGI apps, API Gateway REST API (median µs)",
        "### Flask, API Gateway REST API",
        "### FastAPI, API Gateway HTTP API (payload 2.0)",
    ):
        assert heading in smoke_run.report


def test_peers_are_wrong_on_api_gateway_only_where_the_client_loses_something(
    smoke_run: SmokeRun,
) -> None:
    """Every peer serves the API Gateway rows right, except serverless-wsgi's three Set-Cookie
    under case variants of the name in payload 2.0's ``headers``, where only one reaches the
    client (docs/sources/apigateway_v2.md)."""
    wrong = [row for row in smoke_run.summary["wrong"] if row["source"] != "alb"]

    assert wrong == [
        {
            "source": "apigw-http-v2",
            "app": "raw-wsgi",
            "case": "cookies",
            "runner": "serverless-wsgi",
            "reason": "sends 3 set-cookie headers under case variants of the name in `headers`, "
            "which holds one value per name in payload 2.0: the client gets one, 2 lost",
        }
    ]
    assert (
        "[^w2]: **serverless-wsgi** (Raw WSGI app cookies behind API Gateway HTTP API (payload "
        "2.0)): sends 3 set-cookie headers" in smoke_run.report
    )
