"""The benchmark harness runs end to end (``--smoke``) and alb_adapter gives no WRONG answer in it.

No timing is asserted here: a smoke run takes a handful of samples, and the budget lines it prints
mean nothing. The benchmark runs in its own process because it configures Django process-wide.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks" / "bench.py"
# The peers (the "bench" extra) and the frameworks the benchmark serves.
NEEDED = ("mangum", "apig_wsgi", "serverless_wsgi", "flask", "fastapi", "django")


def test_benchmark_smoke_run_has_no_wrong_alb_adapter_row(tmp_path: Path) -> None:
    for module in NEEDED:
        pytest.importorskip(module, reason=f"{module} is needed by the benchmark (bench extra)")
    results, summary_file = tmp_path / "RESULTS.md", tmp_path / "summary.json"

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
    assert summary["mode"] == "smoke"
    assert summary["rows"] == 6 * 7  # six apps, seven cases: nothing skipped
    assert [row for row in summary["wrong"] if row["runner"] == "alb_adapter"] == []
    report = results.read_text(encoding="utf-8")
    assert report.startswith("# alb_adapter benchmark results")
    assert "## Cold start: import time" in report
    assert "## Cold start: time to first response" in report
