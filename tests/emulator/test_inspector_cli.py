"""``alb-adapter serve``'s inspector flags: on by default on the listener's port + 1 (or any free
one), announced on stderr; ``--inspect 0``, ``--inspect-keep``, ``--no-inspect``; a host that is
not loopback refused; ``--reload``'s workers serve it on the socket the command bound."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from alb_adapter import cli
from alb_adapter.emulator import server

ROOT = Path(__file__).resolve().parents[2]
HANDLER = """
def handler(event, context):
    print("serving", event["path"])
    return {"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": "hello"}
"""
RULES = """
[targets.fn]
handler = "cli_fn.py:handler"

[[rules]]
priority = 10
conditions = [{ field = "path-pattern", values = ["/fn/*"] }]
actions = [{ type = "forward", target_group = "fn" }]

[default_action]
type = "fixed-response"
status_code = "404"
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_host_that_is_not_loopback_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "serve", "x:y", "--inspect", "0.0.0.0:9000")
    assert (code, out) == (1, "")
    assert err == (
        "alb-adapter: argument --inspect: 0.0.0.0 is not a loopback address: the inspector shows "
        "cookies and authorization headers, so it listens on this machine only (127.0.0.1, ::1, "
        "localhost) (see 'alb-adapter serve --help')\n"
    )


def test_inspect_and_no_inspect_together_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "serve", "x:y", "--inspect", "0", "--no-inspect") == (
        1,
        "",
        "alb-adapter: give --inspect PORT or --no-inspect, not both\n",
    )
    code, _, err = run(capsys, "serve", "x:y", "--inspect-keep", "0")
    assert code == 1
    assert "argument --inspect-keep: must be a whole number from 1 to 100000, not '0'" in err


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def serve(folder: Path, *argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "alb_adapter", "serve", *argv],
        cwd=folder,
        env={**os.environ, "PYTHONIOENCODING": "utf-8", "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    process.terminate()
    try:
        return process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate(timeout=15)


def wait_until_up(
    process: subprocess.Popen[str], client: httpx.Client, path: str
) -> httpx.Response:
    deadline = time.monotonic() + 20
    while True:
        assert process.poll() is None, process.communicate()
        try:
            return client.get(path)
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the server did not answer within 20 s"
            time.sleep(0.05)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "cli_fn.py").write_text(HANDLER)
    (tmp_path / "rules.toml").write_text(RULES)
    return tmp_path


def test_serve_inspects_by_default_on_the_next_port(folder: Path) -> None:
    """A rules file, process environments: the inspector on the listener's port + 1."""
    port = free_port()
    process = serve(folder, "--config", "rules.toml", "--port", str(port), "--inspect-keep", "3")
    inspector = f"http://127.0.0.1:{port + 1}"
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as alb:
            assert wait_until_up(process, alb, "/fn/1").text == "hello"
            for number in range(2, 6):
                assert alb.get(f"/fn/{number}").status_code == 200
        with httpx.Client(base_url=inspector, timeout=10) as client:
            kept = client.get("/api/exchanges").json()
            assert kept["keep"] == 3
            assert [row["target"] for row in kept["rows"]] == ["/fn/3", "/fn/4", "/fn/5"]
            detail = client.get(f"/api/exchanges/{kept['ids'][-1]}").json()
            assert detail["logs"] == ["serving /fn/5"]
            assert detail["environment"].startswith("fn#1 (pid ")
    finally:
        out, err = stop(process)
    assert out.startswith(f"Local ALB on http://127.0.0.1:{port} ")
    assert f"inspector: {inspector}/\n" in err


def test_serve_no_inspect_and_inspect_zero(folder: Path) -> None:
    port = free_port()
    process = serve(folder, "cli_fn.py:handler", "--port", str(port), "--no-inspect")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as alb:
            assert wait_until_up(process, alb, "/").status_code == 200
    finally:
        _, err = stop(process)
    assert "inspector:" not in err

    process = serve(
        folder, "cli_fn.py:handler", "--port", "0", "--inspect", "0", "--environments", "thread"
    )
    try:
        deadline = time.monotonic() + 20
        assert process.stderr is not None
        line = ""
        while not line.startswith("inspector: "):
            assert time.monotonic() < deadline
            assert process.poll() is None
            line = process.stderr.readline()
        url = line.split()[1]
        with httpx.Client(base_url=url, timeout=10) as client:
            page = wait_until_up(process, client, "/")
            assert page.status_code == 200
            assert page.headers["content-type"] == "text/html; charset=utf-8"
    finally:
        stop(process)


def test_reload_workers_serve_the_inspector_on_the_bound_socket(
    monkeypatch: pytest.MonkeyPatch, folder: Path
) -> None:
    options: server.ServeOptions = {
        "target": f"{folder / 'cli_fn.py'}:handler",
        "config": None,
        "multi_value_headers": False,
        "timeout": 30.0,
        "handler_options": {},
        "log_level": "warning",
        "inspect_keep": 7,
        "inspect_address": ("127.0.0.1", 9999),
    }
    monkeypatch.setenv(server.RELOAD_ENV, json.dumps(options))
    app = server.reload_app()
    assert app.recorder is not None
    assert app.recorder.keep == 7
    assert app.inspector is not None
    assert app.inspector_url == "http://127.0.0.1:9999/"
    monkeypatch.setenv(server.RELOAD_ENV, json.dumps({**options, "inspect_keep": None}))
    plain = server.reload_app()
    assert (plain.recorder, plain.inspector) == (None, None)


def test_serve_reload_hands_the_inspectors_socket_to_its_workers(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, folder: Path
) -> None:
    import uvicorn.supervisors

    started: list[list[tuple[str, int]]] = []

    class FakeReload:
        def __init__(self, config: object, *, target: object, sockets: list[socket.socket]) -> None:
            started.append([sock.getsockname()[:2] for sock in sockets])

        def run(self) -> None:
            pass

    monkeypatch.setattr(uvicorn.supervisors, "ChangeReload", FakeReload)
    monkeypatch.setenv(server.RELOAD_ENV, "")  # restored (removed) after the test
    target = f"{folder / 'cli_fn.py'}:handler"
    code, _, err = run(capsys, "serve", target, "--reload", "--port", "0", "--inspect", "0")
    assert code == 0
    [[listener, inspector]] = started
    assert f"inspector: http://127.0.0.1:{inspector[1]}/\n" in err
    options = json.loads(os.environ[server.RELOAD_ENV])
    assert (options["inspect_keep"], options["inspect_address"]) == (200, list(inspector))
    assert listener != inspector
