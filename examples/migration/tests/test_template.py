"""The migration as infrastructure: ``template.yaml`` describes the same listener as
``rules.toml``, and ``alb-adapter serve --template`` runs it over real HTTP.

The differential test routes one corpus of requests through both files and asserts the same
outcome for each (the target groups are named ``account``/``legacy`` in the TOML file and by
their logical ids ``Account``/``Legacy`` in the template); the serve test starts the command as
a user types it, in front of the legacy app on a real socket.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import legacy_app
import pytest
import uvicorn

from alb_adapter.emulator.rules import (
    Action,
    FixedResponse,
    Forward,
    ListenerConfig,
    Redirect,
    RuleRequest,
    load_config,
)
from alb_adapter.emulator.server import running
from alb_adapter.emulator.templates import load_template

if TYPE_CHECKING:
    from collections.abc import Iterator

pytest.importorskip("cfnlint", reason="the 'templates' extra (cfn-lint) reads templates")

DEMO = Path(__file__).resolve().parent.parent
ROOT = DEMO.parent.parent
TEMPLATE = DEMO / "template.yaml"
LEGACY_URL = "http://127.0.0.1:9000"  # the one rules.toml names
SAME_GROUP = {"account": "Account", "legacy": "Legacy"}  # rules.toml's names -> logical ids
TIMEOUT = httpx.Timeout(5.0)
FLASK_ENV = ("ALB_BASE_PATH", "SECRET_KEY", "AWS_LAMBDA_FUNCTION_NAME", "SESSION_COOKIE_SECURE")

PATHS = (
    "/", "/about", "/account", "/account/", "/account/profile", "/account/a/b?c", "/Account/profile",
    "/accounts", "/login", "/login/", "/logout", "/logo.png", "/logo.png.bak", "/old-account",
    "/old-account/", "/robots.txt", "/ROBOTS.TXT", "/account%2Fprofile", "/static/app.css",
)  # fmt: skip
METHODS = ("GET", "POST", "HEAD", "DELETE")
HOSTS = ("shop.example.com", "www.example.com:8443", "")


def outcome(
    config: ListenerConfig, request: RuleRequest, names: dict[str, str]
) -> tuple[object, ...]:
    """What the listener does with ``request``, target groups named through ``names``."""
    _, action = config.select(request)
    return describe(action, request, names)


def describe(action: Action, request: RuleRequest, names: dict[str, str]) -> tuple[object, ...]:
    if isinstance(action, Forward):
        return ("forward", tuple((names[name], weight) for name, weight in action.target_groups))
    if isinstance(action, Redirect):
        return ("redirect", action.status_code, action.location(request))
    assert isinstance(action, FixedResponse)
    return ("fixed-response", action.status_code, action.content_type, action.message_body)


def test_rules_toml_and_template_route_every_request_alike() -> None:
    toml = load_config(DEMO / "rules.toml")
    template = load_template(TEMPLATE, target_urls={"Legacy": LEGACY_URL})
    assert [rule.priority for rule in toml.rules] == [rule.priority for rule in template.rules]
    assert [rule.conditions for rule in toml.rules] == [rule.conditions for rule in template.rules]
    requests = [
        RuleRequest.from_http(
            method, path.partition("?")[0], path.partition("?")[2],
            [("Host", host)] if host else [], "203.0.113.9", scheme, port,
        )
        for path in PATHS
        for method in METHODS
        for host in HOSTS
        for scheme, port in (("https", 443), ("http", 8000))
    ]  # fmt: skip
    identity = {name: name for name in template.targets}
    differences = [
        (request.method, request.path, request.host)
        for request in requests
        if outcome(toml, request, SAME_GROUP) != outcome(template, request, identity)
    ]
    assert differences == []
    # Every kind of outcome is in the corpus, so a rule missing on one side would show.
    seen = {str(outcome(template, request, identity)[0]) for request in requests}
    assert seen == {"forward", "redirect", "fixed-response"}
    # The same function and server behind the same names.
    account, legacy = template.targets["Account"], template.targets["Legacy"]
    toml_account = toml.targets["account"]
    assert toml_account.handler == str(DEMO.parent / "flask_app" / "flask_example.py") + ":handler"
    assert (account.task_root, account.handler) == (
        str(DEMO.parent / "flask_app"),
        "flask_example.handler",
    )
    assert (account.timeout, legacy.url) == (toml_account.timeout, toml.targets["legacy"].url)


# --------------------------------------------------------------------------- serve --template


@pytest.fixture
def legacy() -> Iterator[str]:
    config = uvicorn.Config(
        legacy_app.app, lifespan="off", access_log=False, log_config=None, log_level="warning"
    )
    with running(uvicorn.Server(config)) as url:
        yield url


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_up(client: httpx.Client, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 20.0
    while True:
        assert process.poll() is None, process.communicate(timeout=10)[1]
        with contextlib.suppress(httpx.TransportError):
            if client.get("/about").status_code == 200:
                return
        assert time.monotonic() < deadline, "the local ALB did not answer within 20 s"
        time.sleep(0.05)


def test_serve_template_runs_the_migration(legacy: str) -> None:
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in FLASK_ENV}
    env.update(PYTHONIOENCODING="utf-8", PYTHONPATH=str(ROOT), SESSION_COOKIE_SECURE="0")
    argv = [
        sys.executable, "-m", "alb_adapter", "serve",
        "--template", "examples/migration/template.yaml",
        "--target-url", f"Legacy={legacy}", "--port", str(port),
    ]  # fmt: skip
    process = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", timeout=TIMEOUT, trust_env=False
        ) as client:
            wait_until_up(client, process)
            about = client.get("/about")
            assert about.headers["x-served-by"] == "legacy-app"
            profile = client.get("/account/profile")
            assert (profile.status_code, profile.json()) == (
                401,
                {"error": "login required", "login": "/login"},
            )
            assert "x-served-by" not in profile.headers
            robots = client.get("/robots.txt")
            assert (robots.status_code, robots.text) == (
                200,
                "User-agent: *\nDisallow: /account/\n",
            )
            old = client.get("/old-account")
            assert (old.status_code, old.headers["location"]) == (
                301,
                f"http://127.0.0.1:{port}/account/profile",
            )
            login = client.post("/login", data={"user": "ada", "password": "pw", "theme": "dark"})
            assert (login.status_code, login.headers["location"]) == (302, "/")
            assert len(login.headers.get_list("set-cookie")) == 2  # the session and the theme
            home = client.get("/")
            assert home.headers["x-served-by"] == "legacy-app"
            assert '<strong id="theme">dark</strong>' in home.text
            assert client.get("/account/profile").json() == {
                "user": "ada",
                "theme": "dark",
                "notes": 0,
            }
    finally:
        process.terminate()
        out, err = process.communicate(timeout=10)
    assert out.startswith(
        f"Local ALB on http://127.0.0.1:{port} → examples/migration/template.yaml "
        "(3 rules; target groups: Account, Legacy)"
    ), out
    assert "Traceback" not in err, err
    assert '"POST /login" 302' in err
    assert "target=Account" in err
    assert "target=Legacy" in err
