"""Helpers for the browser tests: Debian's Chromium (driven by Playwright) and screenshots to look at."""

import shutil
from contextlib import asynccontextmanager

from playwright.async_api import Browser, Page, async_playwright

from settings import ROOT
from tests.factories import PASSWORD

SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"  # git-ignored: look at them after a run
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


@asynccontextmanager
async def chromium():
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is missing: `make test` installs it"
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        await launched.close()


async def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def signed_in_page(browser: Browser, api_url: str, email: str, **context_options) -> Page:
    """A fresh browser context signed in as `email` through the sign-in page, as a person would."""
    context = await browser.new_context(viewport={"width": 1280, "height": 860}, **context_options)
    page = await context.new_page()
    await page.goto(api_url + "/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(lambda url: "/login" not in url)
    return page
