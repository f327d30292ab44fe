"""Smoke tests of the installed wheel, run by release/check.py in a fresh venv, from a directory
outside the source tree (so nothing imports the checkout by accident: the first test proves it).

Not collected by the main suite (its testpaths are tests/ and examples/): these test what a user
installs, not the source tree.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import alb_adapter
from alb_adapter import ASGIHandler, WSGIHandler
from alb_adapter.testing import LambdaContext, make_event, read_response

BIN = Path(sys.executable).parent
SOURCE_TREE = Path(os.environ.get("ALB_ADAPTER_SOURCE_TREE", "/nonexistent"))


def test_the_package_comes_from_the_installed_wheel() -> None:
    installed = Path(alb_adapter.__file__).resolve()
    assert installed.is_relative_to(Path(sys.prefix).resolve())
    assert not installed.is_relative_to(SOURCE_TREE.resolve())
    assert (installed.parent / "py.typed").is_file()


def test_import_loads_no_asyncio_typing_or_logging() -> None:
    probe = (
        "import sys, time\n"
        "began = time.perf_counter()\n"
        "import alb_adapter\n"
        "took = (time.perf_counter() - began) * 1000\n"
        "heavy = sorted({'asyncio', 'typing', 'logging', 'dataclasses'} & set(sys.modules))\n"
        "print(heavy, f'{took:.2f} ms')\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    print("import alb_adapter:", output.strip())  # shown with -s; timing is never asserted
    assert output.startswith("[] ")


def wsgi_app(environ: dict[str, Any], start_response: Callable[..., object]) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"wsgi {environ['PATH_INFO']}".encode()]


async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    headers = [(b"content-type", b"text/plain")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": f"asgi {scope['path']}".encode()})


@pytest.mark.parametrize("multi", [False, True])
def test_both_handlers_answer_a_real_event(multi: bool) -> None:
    event = make_event("GET", "/items/1", multi_value_headers=multi)
    for handler, body in (
        (WSGIHandler(wsgi_app), b"wsgi /items/1"),
        (ASGIHandler(asgi_app), b"asgi /items/1"),
    ):
        with handler:
            answer = read_response(handler(event, LambdaContext()), multi_value_headers=multi)
        assert (answer.status, answer.headers, answer.body) == (
            200,
            (("content-type", "text/plain"),),
            body,
        )


def test_the_command_line_is_installed() -> None:
    done = subprocess.run(
        [BIN / "alb-adapter", "--help"], capture_output=True, text=True, check=True
    )
    assert all(command in done.stdout for command in ("serve", "invoke", "event"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_answers_a_request(tmp_path: Path) -> None:
    (tmp_path / "shop.py").write_text(
        textwrap.dedent(
            """
            def app(environ, start_response):
                start_response("200 OK", [("Content-Type", "application/json")])
                return [b'{"path": "%s"}' % environ["PATH_INFO"].encode()]
            """
        )
    )
    port = free_port()
    server = subprocess.Popen(
        [BIN / "alb-adapter", "serve", f"{tmp_path / 'shop.py'}:app", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/items", timeout=5) as reply:
                    status, headers, body = reply.status, dict(reply.headers), reply.read()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=15)
    assert (status, headers["content-type"], json.loads(body)) == (
        200,
        "application/json",
        {"path": "/items"},
    )


def test_the_pytest_plugin_lists_its_fixtures(tmp_path: Path) -> None:
    (tmp_path / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--fixtures", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    for fixture in ("alb_client", "alb_async_client", "alb_event", "alb_handler", "lambda_context"):
        assert f"\n{fixture}" in done.stdout, fixture
