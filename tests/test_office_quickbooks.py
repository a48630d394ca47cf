"""Settings → QuickBooks in a real browser: connect through QuickBooks' consent page, pull a customer the
bookkeeper added there, and read what moved in the sync ledger."""

import httpx
from playwright.async_api import expect

from tests.browser import screenshot, signed_in_page


async def test_the_owner_connects_quickbooks_pulls_customers_and_reads_the_ledger(
    browser, api_url, tenant, healthy_sandbox
):
    page = await signed_in_page(browser, api_url, tenant.users["owner"].email)
    await page.goto(api_url + "/settings/quickbooks")
    await expect(page.get_by_text("Nothing has moved yet")).to_be_visible()
    await screenshot(page, "office-quickbooks-not-connected")

    await page.get_by_role("button", name="Connect QuickBooks").click()
    await page.get_by_role("button", name="Connect").click()  # QuickBooks' own consent page
    await page.wait_for_url("**/settings/quickbooks?connected=1")
    await expect(page.get_by_role("status")).to_have_text("QuickBooks is connected.")
    realm = (await page.locator("dt:has-text('QuickBooks company') + dd").inner_text()).strip()

    async with httpx.AsyncClient() as bookkeeper:  # someone adds a customer straight into QuickBooks
        added = await bookkeeper.post(
            f"{healthy_sandbox.public_url}/quickbooks/_companies/{realm}/customer",
            json={"DisplayName": "Ines Okafor", "PrimaryEmailAddr": {"Address": "ines@example.com"}},
        )
        assert added.status_code == 200, added.text

    await page.get_by_role("button", name="Pull customers").click()
    imported = page.get_by_role("row").filter(has_text="QuickBooks → NexJob").filter(has_text="import")
    for _ in range(50):  # the pull runs in the company's workflow; the page shows the ledger as it stands
        if await imported.count():
            break
        await page.wait_for_timeout(200)
        await page.reload()
    await expect(imported).to_have_count(1)
    await expect(imported.locator(".badge")).to_have_text("ok")
    await screenshot(page, "office-quickbooks-ledger")

    await imported.get_by_role("link", name="Customer").click()
    await expect(page.get_by_role("heading", name="Ines Okafor")).to_be_visible()

    technician = await signed_in_page(browser, api_url, tenant.users["tech"].email)
    answer = await technician.goto(api_url + "/settings/quickbooks")
    assert answer.status == 404
    await page.context.close()
    await technician.context.close()
