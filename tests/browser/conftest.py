"""A real browser (headless Chromium driven by Playwright) against the local ALB serving the Flask
example, in both header modes of the Lambda target.

Chromium is Debian's (``/usr/bin/chromium``), never a build that Playwright downloads
(``playwright install`` is not used). Without it or the ``playwright`` package these tests skip,
unless ``ALB_ADAPTER_REQUIRE_BROWSER=1`` (set by CI), which makes them fail instead. A CI
that lost its browser would otherwise still pass, testing nothing.

The target is the Flask example's own ``handler``, loaded from its file as ``alb-adapter serve``
loads it, with ``SESSION_COOKIE_SECURE=0``: the switch the example's README gives for plain-HTTP
local tries (the emulator speaks plain HTTP; the example marks its cookies ``Secure`` by default).
Chromium would keep ``Secure`` cookies from ``http://127.0.0.1`` anyway (loopback counts as a
secure context), but not from any other plain-HTTP host, and neither would curl or httpx; the test
checks that the switch took effect. A wrapper module around ``create_app(secure_cookies=False)``
would test a handler that nobody deploys, and a setting that nobody types.
"""

from __future__ import annotations

import functools
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Browser, BrowserContext

ROOT = Path(__file__).resolve().parents[2]
FLASK_FILE = ROOT / "examples" / "flask_app" / "flask_example.py"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # root in a container: Chromium's sandbox needs user namespaces
    "--disable-gpu",
    "--disable-background-networking",  # no traffic beyond the loopback servers under test
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REQUIRE_ENV = "ALB_ADAPTER_REQUIRE_BROWSER"
# Variables of a developer's shell that would change what the Flask example does.
FLASK_ENV = ("ALB_BASE_PATH", "SECRET_KEY", "AWS_LAMBDA_FUNCTION_NAME", "SESSION_COOKIE_SECURE")
TIMEOUT_MS = 10_000  # every Playwright wait (navigation, click, download)
START_SECONDS = 15.0
STOP_SECONDS = 10.0


@functools.cache
def missing_requirements() -> tuple[str, ...]:
    """What this machine lacks to run the browser tests (empty when nothing)."""
    missing = []
    if not os.access(CHROMIUM, os.X_OK):
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install playwright)")
    return tuple(missing)


@pytest.fixture(scope="session", autouse=True)
def browser_requirements() -> None:
    """Skip the browser tests on a machine without a browser; fail them where CI demands one."""
    missing = missing_requirements()
    if not missing:
        return
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but missing: {'; '.join(missing)}", pytrace=False)
    pytest.skip(f"needs {'; '.join(missing)} (set {REQUIRE_ENV}=1 to fail instead of skipping)")


# --------------------------------------------------------------------------- the local ALB


@dataclass(frozen=True)
class Site:
    """The Flask example behind the local ALB."""

    url: str
    multi_value_headers: bool
    logo: bytes  # LOGO_PNG of the very module the emulator serves


@pytest.fixture(scope="module", params=[False, True], ids=["single-value", "multi-value"])
def site(request: pytest.FixtureRequest) -> Iterator[Site]:
    from alb_adapter.emulator.app import ALBEmulator
    from alb_adapter.emulator.rules import ListenerConfig
    from alb_adapter.emulator.server import build_server, running

    multi = bool(request.param)
    config = ListenerConfig.single_target(f"{FLASK_FILE}:handler", multi_value_headers=multi)
    with pytest.MonkeyPatch.context() as patch:
        for name in FLASK_ENV:
            patch.delenv(name, raising=False)
        patch.setenv("SESSION_COOKIE_SECURE", "0")  # read when the emulator imports the file
        # The loader imports the handler's file into this process: undo what that changes.
        patch.setattr(sys, "path", list(sys.path))
        patch.delitem(sys.modules, "flask_example", raising=False)
        server = build_server(config, log_level="warning")
        with running(server) as url:
            module = sys.modules["flask_example"]
            emulator = server.config.app
            assert isinstance(emulator, ALBEmulator)
            assert emulator.lambdas["lambda"].handler is module.handler
            yield Site(url, multi, module.LOGO_PNG)


# --------------------------------------------------------------------------- the browser


@pytest.fixture(scope="module")
def browser(browser_requirements: None) -> Iterator[Browser]:
    """Module-scoped, not session-scoped: while Playwright's sync API is open, asyncio sees a
    running loop in the main thread, and code that refuses to run inside one (building an
    ASGIHandler) would fail in every test collected after this directory."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def context(browser: Browser, site: Site) -> Iterator[BrowserContext]:
    """A fresh profile per test: no cookies, no cache, downloads allowed."""
    context = browser.new_context(base_url=site.url, accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    try:
        yield context
    finally:
        context.close()
