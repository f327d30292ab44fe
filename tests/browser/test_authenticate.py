"""Signing in through the local ALB in Chromium: the migration demo's authenticated listener
(``examples/migration/rules-authenticated.toml``) in front of the Flask example. A page behind the
authenticate rule sends the browser to the local sign-in page; once signed in, the page is served
with the claims the example's handler verified; logging out ends the load balancer's session, so
the next visit is sent to sign in again.

The legacy target of the rules file is replaced by a one-page app on a free port: only the page
the sign-out returns to (``/``) is asked of it.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

import pytest
import uvicorn

from .conftest import FLASK_ENV, ROOT, TIMEOUT_MS

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext

RULES = ROOT / "examples" / "migration" / "rules-authenticated.toml"
SESSION_COOKIE = "AWSELBAuthSessionCookie-0"
LEGACY_HOME = b"<!doctype html><title>Legacy</title><h1>The legacy home page</h1>"


async def legacy_home(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
    headers = [(b"content-type", b"text/html; charset=utf-8")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": LEGACY_HOME})


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    """The local ALB with the authenticated rules file, the Flask example as its Lambda target."""
    pytest.importorskip("cryptography")  # the auth extra
    from alb_adapter.emulator.rules import load_config
    from alb_adapter.emulator.server import build_server, running

    config = load_config(RULES)
    legacy_config = uvicorn.Config(legacy_home, lifespan="off", log_config=None)
    with pytest.MonkeyPatch.context() as patch, running(uvicorn.Server(legacy_config)) as legacy:
        config.targets["legacy"] = dataclasses.replace(config.targets["legacy"], url=legacy)
        for name in (*FLASK_ENV, "ALB_LOAD_BALANCER_ARN", "ALB_LOGOUT_URL"):
            patch.delenv(name, raising=False)
        patch.setenv("SESSION_COOKIE_SECURE", "0")  # plain HTTP (see conftest.py)
        # The loader imports the handler's file into this process: undo what that changes.
        patch.setattr(sys, "path", list(sys.path))
        patch.delitem(sys.modules, "flask_example", raising=False)
        with running(build_server(config, log_level="warning")) as url:
            yield url


@pytest.fixture
def context(browser: Browser, site: str) -> Iterator[BrowserContext]:
    """A fresh profile per test: no cookies."""
    context = browser.new_context(base_url=site)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    try:
        yield context
    finally:
        context.close()


def session_cookies(context: BrowserContext) -> list[dict[str, Any]]:
    return [dict(cookie) for cookie in context.cookies() if cookie["name"] == SESSION_COOKIE]


def test_sign_in_reach_the_account_pages_and_sign_out(context: BrowserContext) -> None:
    page = context.new_page()
    page.goto("/account/me")
    assert "/_local_alb/sign-in?state=" in page.url
    assert page.locator("h1").inner_text() == "Sign in"

    page.fill('input[name="sub"]', "ada")
    page.fill('input[name="email"]', "ada@example.com")
    page.fill('input[name="name"]', "Ada Lovelace")
    page.fill('textarea[name="claims"]', '{"groups": ["admin"]}')
    with page.expect_response(lambda response: response.url.endswith("/account/me")) as answer:
        page.click("#sign-in")
    me = answer.value
    assert me.status == 200
    assert me.json() == {
        "subject": "ada",
        "email": "ada@example.com",
        "claims": {
            "sub": "ada",
            "email": "ada@example.com",
            "name": "Ada Lovelace",
            "groups": ["admin"],
        },
    }
    [cookie] = session_cookies(context)
    assert (cookie["httpOnly"], cookie["path"], cookie["sameSite"]) == (True, "/", "Lax")

    profile = page.goto("/account/profile")
    assert profile is not None
    assert profile.json() == {"user": "ada@example.com", "theme": "light", "notes": 0}

    page.goto("/logout")  # the app, the local provider's sign-out, then the legacy home page
    assert page.url.endswith("/")
    assert page.locator("h1").inner_text() == "The legacy home page"
    assert session_cookies(context) == []

    page.goto("/account/me")
    assert "/_local_alb/sign-in?state=" in page.url


def test_a_user_signed_in_before_is_offered_on_the_sign_in_page(context: BrowserContext) -> None:
    page = context.new_page()
    page.goto("/account/profile")
    page.fill('input[name="sub"]', "grace")
    page.fill('input[name="email"]', "grace@example.com")
    with page.expect_response(lambda response: response.url.endswith("/account/profile")):
        page.click("#sign-in")
    context.clear_cookies()

    page.goto("/account/profile")
    with page.expect_response(lambda response: response.url.endswith("/account/profile")) as got:
        page.click("text=Sign in as grace")
    assert got.value.json() == {"user": "grace@example.com", "theme": "light", "notes": 0}
