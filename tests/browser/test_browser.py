"""The Flask example behind the local ALB, used through a real browser (see conftest.py).

The unit tests check the events and answers. This checks what only a browser shows: a form that is
filled and submitted, a redirect that is followed, two cookies that are stored and sent back, JSON
that is displayed, and a binary download, in both header modes of the Lambda target.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

    from .conftest import Site

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_sign_in_and_read_the_account(context: BrowserContext, site: Site, tmp_path: Path) -> None:
    page = context.new_page()
    home = page.goto("/")
    assert home is not None
    assert home.status == 200
    assert page.locator("h1").inner_text() == "alb-adapter Flask example"

    page.get_by_role("link", name="Sign in").click()
    page.wait_for_url(f"{site.url}/login")
    page.get_by_label("User").fill("ada")
    page.get_by_label("Password").fill("correct horse")
    page.get_by_label("Theme").select_option("dark")
    with page.expect_response(f"{site.url}/login") as posted:
        page.get_by_role("button", name="Sign in").click()
    login = posted.value
    assert (login.request.method, login.status) == ("POST", 302)
    # The browser received both cookies of the one response, whatever the header mode.
    set_cookies = [h["value"] for h in login.headers_array() if h["name"].lower() == "set-cookie"]
    assert sorted(value.partition("=")[0] for value in set_cookies) == ["session", "theme"]

    # It followed the redirect to the home page, now signed in and in the chosen theme.
    page.wait_for_url(f"{site.url}/")
    assert page.locator("header strong").inner_text() == "ada"
    assert page.locator("body").get_attribute("class") == "theme-dark"
    cookies = {cookie["name"]: cookie for cookie in context.cookies()}
    assert sorted(cookies) == ["session", "theme"]
    assert cookies["theme"]["value"] == "dark"
    assert cookies["session"]["httpOnly"] is True
    assert (cookies["session"]["path"], cookies["theme"]["path"]) == ("/", "/")
    # SESSION_COOKIE_SECURE=0 took effect: the cookies travel over the emulator's plain HTTP.
    assert not cookies["session"]["secure"]
    assert not cookies["theme"]["secure"]

    mode = "multi" if site.multi_value_headers else "single"
    screenshot = page.screenshot(path=tmp_path / f"signed-in-{mode}-value.png", full_page=True)
    assert screenshot.startswith(PNG_SIGNATURE)

    profile = page.goto("/account/profile")
    assert profile is not None
    assert (profile.status, profile.headers["content-type"]) == (200, "application/json")
    shown = json.loads(page.locator("body").inner_text())  # what the browser displays
    assert shown == {"user": "ada", "theme": "dark", "notes": 0}


def test_download_the_logo(context: BrowserContext, site: Site) -> None:
    page = context.new_page()
    page.goto("/")
    # The header's <img> was fetched and decoded by the browser: a 32x32 image.
    size = page.locator("header img").evaluate("img => [img.complete, img.naturalWidth]")
    assert size == [True, 32]

    with page.expect_download() as started:
        page.evaluate(
            """() => {
                const link = document.createElement("a");
                link.href = "/logo.png";
                link.download = "logo.png";
                document.body.append(link);
                link.click();
            }"""
        )
    download = started.value
    assert download.url == f"{site.url}/logo.png"
    assert download.failure() is None
    data = Path(download.path()).read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert data == site.logo
