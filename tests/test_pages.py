"""Signing in, navigation limited to each role, and the API docs in a real browser (Debian's Chromium)."""

import html

import pytest

from tests.browser import screenshot, signed_in_page
from tests.factories import PASSWORD


async def test_sign_in_lands_on_the_roles_home_and_sign_out_returns(browser, api_url, tenant):
    page = await browser.new_page()
    await page.goto(api_url + "/")
    await page.wait_for_url("**/login?next=/")
    await screenshot(page, "login")
    await page.get_by_label("Email").fill(tenant.users["owner"].email)
    await page.get_by_label("Password").fill("wrong password")
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("alert").filter(has_text="wrong email or password").wait_for()

    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/dashboard")
    header = page.locator("header")
    assert tenant.company.name in await header.inner_text()
    assert "owner" in await header.inner_text()

    await page.reload()  # the session cookie keeps you signed in
    await page.wait_for_url("**/dashboard")
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url("**/login")
    await page.goto(api_url + "/dashboard")  # signed out: pages send you to sign in, then back
    await page.wait_for_url("**/login?next=/dashboard")
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
    await screenshot(page, "docs-authorize")
    await page.close()


async def test_navigation_shows_each_role_only_what_it_may_use(browser, api_url, tenant):
    technician = await signed_in_page(browser, api_url, tenant.users["tech"].email)
    assert technician.url.endswith("/jobs")  # a technician's day starts at their jobs
    nav = technician.get_by_role("navigation", name="Main")
    assert await nav.get_by_role("link").all_inner_texts() == ["My jobs", "Schedule"]
    await screenshot(technician, "nav-technician")
    for path in ("/settings", "/invoices", "/team", "/dashboard", "/customers", "/quotes", "/messages"):
        response = await technician.goto(api_url + path)
        assert response.status == 404, path
    await technician.context.close()

    manager = await signed_in_page(browser, api_url, tenant.users["manager"].email)
    links = await manager.get_by_role("navigation", name="Main").get_by_role("link").all_inner_texts()
    assert {"Dashboard", "Customers", "Quotes", "Invoices", "Messages"} <= set(links)
    assert not {"My jobs", "Team", "Settings"} & set(links)
    assert (await manager.goto(api_url + "/settings")).status == 404
    await manager.context.close()

    admin = await signed_in_page(browser, api_url, tenant.users["admin"].email)
    links = await admin.get_by_role("navigation", name="Main").get_by_role("link").all_inner_texts()
    assert {"Team", "Settings"} <= set(links)
    assert (await admin.goto(api_url + "/settings")).status == 200
    await admin.context.close()


@pytest.mark.parametrize(
    ("asked", "kept"),
    [
        ("/jobs?status=scheduled", "/jobs?status=scheduled"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("/\t/evil.example", "/"),
        ("https://evil.example/", "/"),
    ],
)
async def test_sign_in_returns_only_to_a_page_of_this_site(http, asked, kept):
    page = await http.get("/login", params={"next": asked})
    assert page.status_code == 200
    assert f'data-next="{html.escape(kept)}"' in page.text
