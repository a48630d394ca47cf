"""Pages in a real browser (Debian's Chromium driven by Playwright), against the app served over HTTP."""

import shutil

import pytest
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


async def test_home_page_signs_in_and_out(browser, api_url, tenant):
    page = await browser.new_page()
    await page.goto(api_url + "/")
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


async def test_api_docs_page_renders(browser, api_url):
    page = await browser.new_page()
    await page.goto(api_url + "/docs")
    await page.get_by_text("NexJob API").first.wait_for()
    await page.get_by_text("/v1/invoices/{invoice_id}/mark-paid").first.wait_for()
    # Both ways in can be entered on the page: an API key, or the CSRF token for cookie sessions.
    await page.get_by_role("button", name="Authorize").first.click()
    await page.get_by_text("X-CSRF-Token").first.wait_for()
    await page.get_by_text("HTTPBearer").first.wait_for()
    await _screenshot(page, "docs-authorize")
    await page.close()
