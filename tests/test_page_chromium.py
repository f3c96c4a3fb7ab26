"""The overview page in real headless Chromium against a real `factorwatch demo` process:
it loads with no console error, shows the demo's top choice and leader, and fits a phone.
The API docs at /docs render every operation with the network closed. Screenshots
are kept in test-artifacts/ (a laptop and a phone width)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from devtools.chromium import NETWORK_CLOSED, Chromium, Page
from devtools.demo import DemoProcess
from tests.needs import binary

pytestmark = pytest.mark.integration

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
WORKLOAD = "consumer-chat"


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoProcess]:
    process = DemoProcess().start()
    try:
        process.wait_scored(WORKLOAD)
        yield process
    finally:
        process.stop()


async def open_tab(flags: tuple[str, ...] = ()) -> AsyncIterator[Page]:
    browser = Chromium(binary("chromium", "chromium"), flags)
    try:
        tab = await Page.open(browser.start())
        yield tab
        await tab.close()
    finally:
        browser.stop()


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    async for tab in open_tab():
        yield tab


@pytest.fixture
async def offline_page() -> AsyncIterator[Page]:
    async for tab in open_tab(NETWORK_CLOSED):
        yield tab


async def shown_and_stored(page: Page, demo: DemoProcess) -> tuple[list[str], dict[str, str]]:
    await page.goto(f"{demo.url}/")
    shown = await page.evaluate(
        f"[document.querySelector('[data-top-choice=\"{WORKLOAD}\"]').textContent,"
        f" document.querySelector('#wl-{WORKLOAD} tbody tr .cand').firstChild.textContent.trim()]")
    doc = httpx.get(f"{demo.url}/api/v1/workloads/{WORKLOAD}/ranking", timeout=5).json()
    return shown, {"top_choice": doc["top_choice"], "leader": doc["leader"]}


async def test_overview_shows_the_demos_leader_without_console_errors(
        page: Page, demo: DemoProcess) -> None:
    for _ in range(3):  # the demo rescores every 5 s: retry a read that straddled one
        shown, stored = await shown_and_stored(page, demo)
        if shown == [stored["top_choice"], stored["leader"]]:
            break
    assert shown == [stored["top_choice"], stored["leader"]]
    assert page.problems == []
    assert await page.evaluate("document.title") == "factorwatch"
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(ARTIFACTS / "overview-laptop.png", 1280, 800, mobile=False)
    await page.screenshot(ARTIFACTS / "overview-phone.png", 390, 844, mobile=True)
    await page.screenshot(ARTIFACTS / "overview-phone-first-screen.png", 390, 844, mobile=True,
                          full_page=False)
    # On a phone the page itself does not scroll sideways: wide tables scroll in their box.
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.problems == []


async def count_when_settled(page: Page, selector: str, want: int, timeout: float = 20) -> int:
    """How many `selector` elements the page shows, waiting up to `timeout` for `want` of
    them (Swagger UI draws after the load event)."""
    deadline = time.monotonic() + timeout
    count = 0
    while time.monotonic() < deadline:
        count = await page.evaluate(f"document.querySelectorAll({selector!r}).length")
        if count >= want:
            break
        await asyncio.sleep(0.2)
    return int(count)


async def test_api_docs_render_every_operation_with_the_network_closed(
        offline_page: Page, demo: DemoProcess) -> None:
    spec = httpx.get(f"{demo.url}/openapi.json", timeout=5).json()
    operations = sum(len(ops) for ops in spec["paths"].values())
    await offline_page.goto(f"{demo.url}/docs")
    # Swagger UI draws one .opblock per operation
    assert await count_when_settled(offline_page, ".opblock", operations) == operations
    assert [u for u in offline_page.requests
            if not u.startswith((f"{demo.url}/", "data:", "blob:"))] == []
    assert offline_page.problems == []
    ARTIFACTS.mkdir(exist_ok=True)
    await offline_page.screenshot(ARTIFACTS / "api-docs.png", 1280, 800, mobile=False,
                                  full_page=False)
