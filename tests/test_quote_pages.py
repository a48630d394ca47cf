"""The customer's quote pages in a real browser on a phone: from the emailed link to "You're booked!"."""

import re

from playwright.async_api import expect

from tests.browser import screenshot
from tests.quote_journey import link_in, prepare, tiered_quote

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}


async def test_customer_accepts_saves_a_card_after_a_decline_and_books_on_a_phone(
    browser,  # noqa: F811
    api_url,
    tenant,
    sessions,
    healthy_sandbox,
):
    journey = await prepare(tenant, sessions)
    quote = await tiered_quote(journey)
    sent = await journey.office.post(f"/v1/quotes/{quote['id']}/send")
    assert sent.status_code == 200, sent.text
    (email,) = [e for e in healthy_sandbox.outbox if e.channel == "email" and e.to == journey.customer_email]
    link = link_in(email.body)
    assert link.startswith(api_url + "/q/")

    async with await browser.new_context(**PHONE) as phone:
        page = await phone.new_page()
        await page.goto(link)
        await expect(page.get_by_role("heading", name="New water heater")).to_be_visible()
        await expect(page.locator("#total")).to_have_text("Choose an option")
        await expect(page.get_by_text("Water heater install")).to_be_visible()
        await screenshot(page, "portal-quote")

        # The haul-away comes ticked; no total until an option is chosen.
        haul_away = page.get_by_role("checkbox", name=re.compile("Haul away old heater"))
        await expect(haul_away).to_be_checked()
        await page.get_by_text("Better", exact=True).click()
        # 1,200 + 75 haul-away + 200 five-year warranty = 1,475.00, plus 8.25 % tax.
        await expect(page.locator("#total")).to_have_text("$1,596.69")
        await expect(page.locator("#subtotal")).to_have_text("$1,475.00")
        await expect(page.locator("#tax")).to_have_text("$121.69")
        await haul_away.uncheck()
        await expect(page.locator("#total")).to_have_text("$1,515.50")
        await haul_away.check()
        await expect(page.locator("#total")).to_have_text("$1,596.69")
        await screenshot(page, "portal-quote-choices")

        # A blank signature passes the browser's `required` check but not the server's; the choices stay.
        await page.locator("#signed_name").fill(" ")
        await page.get_by_role("button", name="Accept quote").click()
        await expect(page.get_by_role("alert")).to_contain_text("Sign with your name")
        await expect(page.get_by_role("radio", name=re.compile("Better"))).to_be_checked()
        await expect(page.locator("#total")).to_have_text("$1,596.69")
        await screenshot(page, "portal-quote-unsigned")

        await page.locator("#signed_name").fill("Ada Lovelace")
        await page.get_by_role("button", name="Accept quote").click()

        await expect(page.get_by_role("heading", name="Save a card on file")).to_be_visible()
        await expect(page.get_by_text("Ada Lovelace")).to_be_visible()
        await expect(
            page.get_by_role("checkbox", name=re.compile("Charge this card automatically"))
        ).to_be_checked()
        await screenshot(page, "portal-card")
        await page.get_by_role("button", name="Save a card").click()

        # Stripe's hosted page (the sandbox's): a declined card first, then one that saves.
        await page.wait_for_url(healthy_sandbox.public_url + "/**")
        await page.get_by_label("Card number").fill("4000 0000 0000 0002")
        await page.get_by_role("button", name="Save card").click()
        await expect(page.get_by_role("alert")).to_contain_text("Your card was declined.")
        await screenshot(page, "portal-stripe-decline")
        await page.get_by_label("Card number").fill("4242 4242 4242 4242")
        await page.get_by_role("button", name="Save card").click()

        await expect(page.get_by_role("heading", name="Pick a time")).to_be_visible()
        assert page.url == link  # /card/done recorded the card and sent the customer back to the link
        await expect(page.get_by_text("Visa •••• 4242")).to_be_visible()
        await screenshot(page, "portal-schedule")
        first_slot = page.locator("form[action$='/time'] .slot").first
        picked = await first_slot.inner_text()
        await first_slot.click()
        book = page.get_by_role("button", name=re.compile("^Book "))
        await expect(book).to_contain_text(picked)
        await screenshot(page, "portal-schedule-picked")
        await book.click()

        await expect(page.get_by_text("You're booked!")).to_be_visible()
        assert picked.strip() in await page.locator("main").inner_text()
        technician = tenant.users["tech"].name
        # The technician is assigned just after the booking: the page follows until the name shows.
        await expect(page.get_by_text(technician)).to_be_visible(timeout=20_000)
        await screenshot(page, "portal-booked")


async def test_forged_quote_link_shows_not_valid_page(browser, api_url):  # noqa: F811
    async with await browser.new_context(**PHONE) as phone:
        page = await phone.new_page()
        response = await page.goto(api_url + "/q/nonsense")
        assert response.status == 404
        await expect(page.get_by_role("heading", name="Link not valid")).to_be_visible()
        await expect(page.get_by_text("This quote link is not valid")).to_be_visible()
        await screenshot(page, "portal-invalid-link")
