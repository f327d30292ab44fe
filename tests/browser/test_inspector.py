"""The request inspector in Chromium (see conftest.py for the browser): requests through the local
ALB appear in its list as they happen; a click shows the event, the function's answer and the
response; a 502 shows ALB's reason; a replay makes a new row; cookie and authorization values stay
masked until the page is asked to reveal them; and the page fetches nothing beyond 127.0.0.1.

With ``ALB_ADAPTER_WRITE_SCREENSHOT=1`` the test also writes the README's screenshot,
``docs/images/inspector.png``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
import pytest

from .conftest import ROOT, TIMEOUT_MS

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

SCREENSHOT = ROOT / "docs" / "images" / "inspector.png"
SCREENSHOT_ENV = "ALB_ADAPTER_WRITE_SCREENSHOT"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
COOKIE_SECRET = "sid=cookie-secret-4f1c"
AUTHORIZATION_SECRET = "Bearer token-secret-9a2e"

HANDLER = """
import json
import logging

log = logging.getLogger("shop")


def handler(event, context):
    path = event["path"]
    log.warning("serving %s", path)
    if path == "/account/broken":
        return {"statusCode": 200, "headers": {"content-type": 42}, "body": "x"}
    page = "<h1>Hello</h1><script>window.injected = true</script>"
    return {
        "statusCode": 200,
        "headers": {"content-type": "text/html; charset=utf-8", "set-cookie": "seen=1"},
        "body": page,
    }
"""

RULES = """
[targets.shop]
handler = "{handler}"

[[rules]]
priority = 5
conditions = [{{ field = "http-header", http_header_name = "X-Env", values = ["staging"] }}]
actions = [{{ type = "fixed-response", status_code = "503" }}]

[[rules]]
priority = 10
conditions = [{{ field = "path-pattern", values = ["/account/*"] }}]
actions = [{{ type = "forward", target_group = "shop" }}]

[default_action]
type = "fixed-response"
status_code = "404"
"""


@dataclass(frozen=True)
class Inspected:
    alb: str  # the local ALB's base URL
    inspector: str  # the inspector's page


@pytest.fixture(scope="module")
def inspected(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Inspected]:
    from alb_adapter.emulator.app import ALBEmulator
    from alb_adapter.emulator.rules import load_config
    from alb_adapter.emulator.server import build_server, running

    folder = tmp_path_factory.mktemp("inspected-shop")
    (folder / "shop_fn.py").write_text(HANDLER)
    (folder / "rules.toml").write_text(RULES.format(handler="shop_fn.py:handler"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "path", list(sys.path))
        patch.delitem(sys.modules, "shop_fn", raising=False)
        server = build_server(
            load_config(folder / "rules.toml"), log_level="warning", inspect_keep=20
        )
        with running(server) as url:
            emulator = server.config.app
            assert isinstance(emulator, ALBEmulator)
            assert emulator.inspector_url is not None
            yield Inspected(url, emulator.inspector_url)


@pytest.fixture
def context(browser: Browser, inspected: Inspected) -> Iterator[BrowserContext]:
    context = browser.new_context(
        base_url=inspected.inspector, viewport={"width": 1400, "height": 1000}
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    try:
        yield context
    finally:
        context.close()


def row(page: Page, text: str) -> str:
    """The selector of the list's row whose path cell is ``text``."""
    return f'#exchanges tbody tr:has(td.path:text-is("{text}"))'


def page_text(page: Page) -> str:
    return page.locator("body").inner_text() + page.content()


def test_the_inspector_shows_replays_and_masks(
    context: BrowserContext, inspected: Inspected, tmp_path: Path
) -> None:
    fetched: list[str] = []
    page = context.new_page()
    page.on("request", lambda request: fetched.append(request.url))
    page.goto("/")
    assert page.locator("h1").inner_text() == "Local ALB inspector"

    # Requests through the local ALB appear in the list, the page already open.
    with httpx.Client(base_url=inspected.alb, timeout=10) as client:
        hello = client.get(
            "/account/hello?ref=mail",
            headers={
                "Cookie": COOKIE_SECRET,
                "Authorization": AUTHORIZATION_SECRET,
                "X-Env": "prod",
            },
        )
        broken = client.get("/account/broken")
    assert (hello.status_code, broken.status_code) == (200, 502)
    page.locator(row(page, "/account/hello?ref=mail")).wait_for()
    page.locator(row(page, "/account/broken")).wait_for()
    cells = page.locator(row(page, "/account/hello?ref=mail")).locator("td").all_inner_texts()
    assert cells[2:7] == ["GET", "/account/hello?ref=mail", "200", "priority 10", "shop"]
    assert cells[8] == "yes"  # the target's first invocation: its cold start

    # A click shows the event as sent, the function's answer and the response, HTML as text.
    page.locator(row(page, "/account/hello?ref=mail")).click()
    page.locator("#detail-title", has_text="/account/hello?ref=mail").wait_for()
    event = page.locator("#event").inner_text()
    assert '"path": "/account/hello"' in event
    assert '"ref": "mail"' in event
    assert '"statusCode": 200' in page.locator("#answer").inner_text()
    response = page.locator("#response pre").inner_text()
    assert response == "<h1>Hello</h1><script>window.injected = true</script>"
    assert page.locator("#response h1").count() == 0
    assert page.evaluate("() => window.injected === undefined")
    assert page.locator("#logs").inner_text() == "[WARNING] shop: serving /account/hello"
    listener = page.locator("#listener").inner_text()
    assert (
        "priority 5: did not match (http-header: X-Env is 'prod', matching none of 'staging')"
        in listener
    )

    # Masked until asked: not a trace of either secret on the page.
    text = page_text(page)
    assert COOKIE_SECRET not in text
    assert AUTHORIZATION_SECRET not in text
    assert "[masked: 22 characters]" in text
    page.locator("#reveal").check()
    page.locator("#request", has_text=COOKIE_SECRET).wait_for()
    assert AUTHORIZATION_SECRET in page.locator("#event").inner_text()
    page.locator("#reveal").uncheck()
    page.locator("#request", has_text="[masked: 22 characters]").wait_for()
    assert COOKIE_SECRET not in page_text(page)

    # The copied event and invoke command line (the box appears with the first copy).
    assert page.locator("#copied-box").is_hidden()
    page.locator("#copy-event").click()
    assert page.locator("#copied-box").is_visible()
    assert '"httpMethod": "GET"' in page.locator("#copied").input_value()
    page.locator("#copy-invoke").click()
    assert "| alb-adapter invoke " in page.locator("#copied").input_value()

    if os.environ.get(SCREENSHOT_ENV) == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOT)
    assert page.screenshot(path=tmp_path / "inspector.png").startswith(PNG_SIGNATURE)

    # A 502 shows ALB's reason.
    page.locator(row(page, "/account/broken")).click()
    page.locator("#detail-title", has_text="/account/broken").wait_for()
    assert page.locator("#judgement .reason").inner_text() == (
        "ALB answered 502: LambdaInvalidResponse: headers['content-type'] holds a value of type "
        "int; ALB accepts only strings (LambdaInvalidResponse)"
    )

    # A replay, edited, makes a new row marked as such; its secrets were the original's.
    page.locator(row(page, "/account/hello?ref=mail")).click()
    page.locator("#detail-title", has_text="/account/hello?ref=mail").wait_for()
    page.locator("#replay").evaluate("form => form.closest('details').open = true")
    page.locator("#replay input[name=target]").fill("/account/hello?ref=replay")
    page.locator("#replay-send").click()
    page.locator("#replay-result", has_text="answered 200").wait_for()
    replayed = page.locator(row(page, "/account/hello?ref=replay"))
    replayed.wait_for()
    assert "(replay of " in replayed.locator("td").first.inner_text()
    assert COOKIE_SECRET not in page_text(page)

    # The rules and health tables.
    page.locator(".tab[data-tab=rules]").click()
    page.locator("#rules-table tbody tr").first.wait_for()
    assert page.locator("#rules-table tbody tr").all_inner_texts() == [
        "5\thttp-header X-Env is staging\tfixed-response 503",
        "10\tpath-pattern is /account/*\tforward to shop",
        "default\t(any request)\tfixed-response 404",
    ]
    page.locator(".tab[data-tab=health]").click()
    page.locator("#health-table tbody tr").first.wait_for()
    assert page.locator("#health-table tbody tr").all_inner_texts() == ["shop\tnot checked\t-\t\t-"]

    # The HAR download, masked.
    with page.expect_download() as started:
        page.locator("#har").click()
    download = started.value
    har = Path(download.path()).read_text()
    assert '"version": "1.2"' in har
    assert COOKIE_SECRET not in har

    page.close()
    assert fetched, "the page fetched nothing"
    assert {urlsplit(url).hostname for url in fetched} == {"127.0.0.1"}, fetched
