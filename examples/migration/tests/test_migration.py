"""The migration demo end to end: the legacy app and the local ALB on real sockets, real HTTP.

The ALB runs the checked-in ``rules.toml``, changed only where a test must: the legacy app's port,
and the Lambda target's header mode (every test runs in both). Which side answered is read from
the ALB's access log (``target=account``, ``target=legacy``, ``target=-``), which page content
cannot fake. The last test runs the README's two commands as they are written.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import shlex
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

from alb_adapter.emulator.rules import load_config
from alb_adapter.emulator.server import build_server, running

if TYPE_CHECKING:
    from collections.abc import Iterator

DEMO = Path(__file__).resolve().parent.parent
ROOT = DEMO.parent.parent
RULES = DEMO / "rules.toml"
CHECKED_IN_LEGACY_URL = "http://127.0.0.1:9000"
ACCESS_LOG = "alb_adapter.emulator.access"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TIMEOUT = httpx.Timeout(5.0)
START_SECONDS = 15.0
STOP_SECONDS = 10.0
ROBOTS = "User-agent: *\nDisallow: /account/\n"
XFF = re.compile(r'<code id="xff">([^<]*)</code>')
# Variables of a developer's shell that would change what the Flask example does.
FLASK_ENV = ("ALB_BASE_PATH", "SECRET_KEY", "AWS_LAMBDA_FUNCTION_NAME", "SESSION_COOKIE_SECURE")


# --------------------------------------------------------------------------- servers


def listener_config(legacy_url: str, *, multi_value_headers: bool) -> str:
    """The checked-in rules.toml with the legacy app's real address and the wanted header mode,
    for a copy in another directory (so the handler's path, relative to the file, made absolute)."""
    text = RULES.read_text(encoding="utf-8")
    mode = "true" if multi_value_headers else "false"
    flask_file = ROOT / "examples" / "flask_app" / "flask_example.py"
    for old, new in (
        ('handler = "../flask_app/flask_example.py:handler"', f'handler = "{flask_file}:handler"'),
        (f'url = "{CHECKED_IN_LEGACY_URL}"', f'url = "{legacy_url}"'),
        ("multi_value_headers = false", f"multi_value_headers = {mode}"),
    ):
        assert text.count(old) == 1, f"rules.toml should contain {old!r} exactly once"
        text = text.replace(old, new)
    return text


@pytest.fixture(scope="module")
def legacy() -> Iterator[str]:
    config = uvicorn.Config(
        legacy_app.app, lifespan="off", access_log=False, log_config=None, log_level="warning"
    )
    with running(uvicorn.Server(config)) as url:
        yield url


@pytest.fixture(scope="module", params=[False, True], ids=["single-value", "multi-value"])
def alb(
    request: pytest.FixtureRequest, legacy: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The local ALB in front of the legacy app and the Flask example, in one header mode."""
    multi = bool(request.param)
    path = tmp_path_factory.mktemp("migration") / "rules.toml"
    path.write_text(listener_config(legacy, multi_value_headers=multi), encoding="utf-8")
    config = load_config(path)
    assert config.targets["account"].multi_value_headers is multi
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)  # where the README runs it
        for name in FLASK_ENV:
            patch.delenv(name, raising=False)
        patch.setenv("SESSION_COOKIE_SECURE", "0")  # plain HTTP: httpx never sends Secure cookies
        # The loader imports the handler's file into this process: undo what that changes.
        patch.setattr(sys, "path", list(sys.path))
        patch.delitem(sys.modules, "flask_example", raising=False)
        with running(build_server(config, log_level="warning")) as url:
            yield url


@pytest.fixture
def client(alb: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=alb, timeout=TIMEOUT, trust_env=False) as client:
        yield client


@pytest.fixture
def access_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger=ACCESS_LOG)
    return caplog


def tag() -> str:
    """A query value marking one test's requests, to find their access-log lines among others."""
    return secrets.token_hex(6)


def access_lines(caplog: pytest.LogCaptureFixture, marker: str, count: int) -> list[str]:
    """The access-log lines containing ``marker``, once there are ``count`` of them or 5 s have
    passed (the emulator writes a line just after answering, so it may trail the response)."""
    deadline = time.monotonic() + 5.0
    while True:
        lines = [
            record.getMessage()
            for record in list(caplog.records)
            if record.name == ACCESS_LOG and marker in record.getMessage()
        ]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.01)


# --------------------------------------------------------------------------- routing


@pytest.mark.parametrize(
    ("path", "target", "status", "content_type"),
    [
        ("/", "legacy", 200, "text/html; charset=utf-8"),
        ("/about", "legacy", 200, "text/html; charset=utf-8"),
        ("/account/profile", "account", 401, "application/json"),  # no session cookie yet
        ("/login", "account", 200, "text/html; charset=utf-8"),
        ("/logo.png", "account", 200, "image/png"),
    ],
)
def test_each_path_reaches_its_side(
    client: httpx.Client,
    access_log: pytest.LogCaptureFixture,
    path: str,
    target: str,
    status: int,
    content_type: str,
) -> None:
    marker = tag()
    response = client.get(path, params={"t": marker})
    assert (response.status_code, response.headers["content-type"]) == (status, content_type)
    [line] = access_lines(access_log, marker, 1)
    expected = rf'127\.0\.0\.1 "GET {re.escape(path)}\?t={marker}" {status} {len(response.content)} target={target} \d+\.\dms'
    assert re.fullmatch(expected, line), line
    assert (response.headers.get("x-served-by") == "legacy-app") is (target == "legacy")
    if path == "/account/profile":
        assert response.json() == {"error": "login required", "login": "/login"}
    elif path == "/login":
        assert "<h1>Sign in</h1>" in response.text
    elif path == "/logo.png":
        assert response.content.startswith(PNG_SIGNATURE)
    elif path == "/":
        assert "<h1>Legacy shop</h1>" in response.text
        for link in ("/login", "/account/profile", "/about"):
            assert f'<a href="{link}">' in response.text


def test_login_cookies_reach_the_legacy_home(client: httpx.Client, alb: str) -> None:
    """Lambda sets two cookies and redirects to ``/``; the legacy app, on the same host, gets them."""
    home = client.post(
        "/login", data={"user": "ada", "password": "pw", "theme": "dark"}, follow_redirects=True
    )
    [login] = home.history
    assert (login.status_code, login.headers["location"]) == (302, "/")
    session, theme = sorted(login.headers.get_list("set-cookie"))
    assert re.fullmatch(r"session=[\w.-]+; HttpOnly; Path=/; SameSite=Lax", session), session
    assert re.fullmatch(
        r"theme=dark; Expires=[^;]+ GMT; Max-Age=2592000; Path=/; SameSite=Lax", theme
    ), theme

    assert (home.status_code, str(home.url)) == (200, f"{alb}/")
    assert home.headers["x-served-by"] == "legacy-app"
    assert '<strong id="theme">dark</strong>' in home.text
    sent = home.request.headers["cookie"]
    assert "theme=dark" in sent
    assert "session=" in sent

    profile = client.get("/account/profile")
    assert (profile.status_code, profile.headers["content-type"]) == (200, "application/json")
    assert profile.json() == {"user": "ada", "theme": "dark", "notes": 0}

    # Signing out on the Lambda side deletes both cookies; the legacy page forgets the theme.
    after = client.get("/logout", follow_redirects=True)
    assert len(after.history[0].headers.get_list("set-cookie")) == 2
    assert after.headers["x-served-by"] == "legacy-app"
    assert "No theme chosen yet" in after.text
    assert client.get("/account/profile").status_code == 401


# --------------------------------------------------------------------------- answered by the ALB


def test_redirect_rule(client: httpx.Client, alb: str) -> None:
    response = client.get("/old-account")
    assert response.status_code == 301
    assert response.headers["location"] == f"{alb}/account/profile"
    assert response.headers["server"] == "awselb/2.0"


def test_fixed_response_rule(client: httpx.Client) -> None:
    response = client.get("/robots.txt")
    assert (response.status_code, response.headers["content-type"]) == (200, "text/plain")
    assert response.text == ROBOTS
    assert response.headers["server"] == "awselb/2.0"


def test_front_door_refusals(client: httpx.Client) -> None:
    """ALB refuses these before any rule: a legacy path and a Lambda path alike."""
    for path in ("/", "/login"):
        trace = client.request("TRACE", path)
        assert (trace.status_code, trace.headers["server"]) == (405, "awselb/2.0")
        big = client.post(path, content=b"x" * 2_000_000)
        assert (big.status_code, big.headers["server"]) == (413, "awselb/2.0")


def test_access_log_has_a_line_per_request(
    client: httpx.Client, access_log: pytest.LogCaptureFixture
) -> None:
    marker = tag()
    expected = [
        ("GET", "/about", 200, "legacy"),
        ("GET", "/login", 200, "account"),
        ("GET", "/old-account", 301, "-"),
        ("GET", "/robots.txt", 200, "-"),
        ("TRACE", "/about", 405, "-"),
        ("POST", "/account/notes", 413, "-"),
    ]
    sizes = []
    for method, path, status, _ in expected:
        body = b"x" * 2_000_000 if method == "POST" else None
        response = client.request(method, path, params={"t": marker}, content=body)
        assert response.status_code == status
        sizes.append(len(response.content))
    lines = access_lines(access_log, marker, len(expected))
    assert len(lines) == len(expected), lines
    for line, (method, path, status, target), size in zip(lines, expected, sizes, strict=True):
        pattern = rf'127\.0\.0\.1 "{method} {path}\?t={marker}" {status} {size} target={target} \d+\.\dms( reason=.*)?'
        assert re.fullmatch(pattern, line), line


# --------------------------------------------------------------------------- the legacy side


def test_legacy_app_sees_x_forwarded_for(client: httpx.Client) -> None:
    """The ALB appends the TCP peer it saw (this test, on 127.0.0.1) to X-Forwarded-For, and
    keeps what the client sent before it (never taking the client's word for the peer)."""
    for sent, seen in ((None, "127.0.0.1"), ("203.0.113.9", "203.0.113.9, 127.0.0.1")):
        headers = {"X-Forwarded-For": sent} if sent else {}
        found = XFF.search(client.get("/about", headers=headers).text)
        assert found is not None
        assert found.group(1) == seen


@pytest.mark.parametrize("path", ["/about", "/login", "/robots.txt"])
def test_one_date_header(client: httpx.Client, path: str) -> None:
    """Proxied (the legacy server's own Date), from Lambda, or from the ALB: one Date each."""
    response = client.get(path)
    assert response.status_code == 200
    assert len(response.headers.get_list("date")) == 1


# --------------------------------------------------------------------------- the README


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def readme_commands(legacy_port: int, alb_port: int, config: Path) -> list[list[str]]:
    """The README's two commands (in its "Run it by hand" section), as argv lists with this
    test's ports and config, run with this interpreter: if the README changes, this test sees it.
    Environment assignments before a command (``NAME=value cmd``) stay in the list."""
    text = (DEMO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Run it by hand", 1)[1].split("\n## ", 1)[0]
    legacy_line, alb_line = re.findall(r"```sh\n(.+?)\n```", section)[:2]
    legacy_argv = shlex.split(legacy_line)
    assert legacy_argv[0] == "uvicorn"
    assert legacy_argv[-2:] == ["--port", "9000"]
    legacy_argv[:1] = [sys.executable, "-m", "uvicorn"]
    legacy_argv[-1] = str(legacy_port)
    alb_argv = shlex.split(alb_line)
    start = alb_argv.index("alb-adapter")
    assert alb_argv[start:] == [
        "alb-adapter",
        "serve",
        "--config",
        "examples/migration/rules.toml",
        "--port",
        "8000",
    ]
    alb_argv[start:] = [sys.executable, "-m", "alb_adapter", "serve", "--config", str(config)]
    alb_argv += ["--port", str(alb_port)]
    return [legacy_argv, alb_argv]


def start(argv: list[str]) -> subprocess.Popen[str]:
    """Start one README command from the repository root, its ``NAME=value`` prefixes applied."""
    env = {key: value for key, value in os.environ.items() if key not in FLASK_ENV}
    env.update(PYTHONIOENCODING="utf-8", PYTHONPATH=str(ROOT))
    while "=" in argv[0] and not argv[0].startswith("/"):
        name, _, value = argv.pop(0).partition("=")
        env[name] = value
    return subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def stop(process: subprocess.Popen[str]) -> str:
    """Stop a process started here (SIGTERM, then SIGKILL after 10 s); its stderr."""
    process.terminate()
    try:
        _, err = process.communicate(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate(timeout=STOP_SECONDS)
    return err


def wait_until_up(client: httpx.Client, path: str, processes: list[subprocess.Popen[str]]) -> None:
    """Until ``path`` answers 200 (the ALB answers 502 while the legacy app is still starting)."""
    deadline = time.monotonic() + 20.0
    while True:
        for process in processes:
            assert process.poll() is None, (
                f"{process.args!r} exited: {process.communicate(timeout=STOP_SECONDS)[1]}"
            )
        with contextlib.suppress(httpx.TransportError):
            if client.get(path).status_code == 200:
                return
        assert time.monotonic() < deadline, f"GET {path} did not answer 200 within 20 s"
        time.sleep(0.05)


def test_the_readme_commands(tmp_path: Path) -> None:
    legacy_port, alb_port = free_port(), free_port()
    config = tmp_path / "rules.toml"
    config.write_text(
        listener_config(f"http://127.0.0.1:{legacy_port}", multi_value_headers=False),
        encoding="utf-8",
    )
    processes: list[subprocess.Popen[str]] = []
    errors: list[str] = []
    try:
        for argv in readme_commands(legacy_port, alb_port, config):
            processes.append(start(argv))
        base = f"http://127.0.0.1:{alb_port}"
        with httpx.Client(base_url=base, timeout=TIMEOUT, trust_env=False) as client:
            wait_until_up(client, "/about", processes)  # through the ALB to the legacy app
            login = client.post("/login", data={"user": "ada", "password": "pw", "theme": "dark"})
            assert login.status_code == 302
            assert len(login.headers.get_list("set-cookie")) == 2
            home = client.get("/")
            assert home.headers["x-served-by"] == "legacy-app"
            assert '<strong id="theme">dark</strong>' in home.text
            assert client.get("/account/profile").json()["user"] == "ada"
    finally:
        errors = [stop(process) for process in processes]
    for err in errors:
        assert "Traceback" not in err, err
    assert '"POST /login" 302' in errors[1]
    assert "target=legacy" in errors[1]
