"""Pages in a real browser (Debian's Chromium driven by Playwright), against the app served over HTTP."""

import asyncio
import shutil
import socket

import pytest
import uvicorn
from playwright.async_api import async_playwright

from settings import ROOT
from tests.factories import PASSWORD

SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
async def base_url(app):
    """The test app on a real port (its lifespan already ran in the `app` fixture)."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110  (uvicorn offers a flag, not an event)
        await asyncio.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.fixture(scope="session")
async def browser():
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is missing: `make test` installs it"
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        yield launched
        await launched.close()


async def _screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def test_home_page_signs_in_and_out(browser, base_url, tenant):
    page = await browser.new_page()
    await page.goto(base_url + "/")
    await _screenshot(page, "home")
    await page.get_by_label("Email").fill(tenant.users["owner"].email)
    await page.get_by_label("Password").fill("wrong password")
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("alert").filter(has_text="wrong email or password").wait_for()

    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    signed_in = page.get_by_text("Signed in as")
    await signed_in.wait_for()
    assert tenant.company.name in await signed_in.inner_text()
    await _screenshot(page, "home-signed-in")

    await page.reload()  # the session cookie keeps you signed in
    await page.get_by_text("Signed in as").wait_for()
    await page.get_by_role("button", name="Sign out").click()
    await page.get_by_role("button", name="Sign in").wait_for()
    await page.close()


async def test_api_docs_page_renders(browser, base_url):
    page = await browser.new_page()
    await page.goto(base_url + "/docs")
    await page.get_by_text("NexJob API").first.wait_for()
    await page.get_by_text("/v1/invoices/{invoice_id}/mark-paid").first.wait_for()
    await page.close()
