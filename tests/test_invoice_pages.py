"""The customer's invoice page `/i/{token}`: opening it marks the invoice Viewed; Pay now goes to Stripe's
page and back, Stripe's webhook marks it Paid and the customer gets a receipt text; forged links and
drafts open nothing; paid and void invoices say so."""

import asyncio
import re
import uuid

import httpx
from playwright.async_api import expect
from sqlmodel import select

from models.invoices import Invoice, Payment
from models.links import invoice_url, quote_token
from models.logs import ActionLog
from tests.browser import screenshot
from tests.quote_journey import path_of, rows
from tests.test_invoice_collection import Billing, finished
from tests.test_invoice_collection import bill as bill  # noqa: F401  (the fixture)
from tests.test_quote_pages import PHONE


async def _sent(bill: Billing) -> tuple[dict, str]:
    invoice = await bill.invoice()
    sent = await bill.office.post(f"/v1/invoices/{invoice['id']}/send")
    assert sent.status_code == 200, sent.text
    return invoice, sent.json()["pay_url"]


async def _until_paid(bill: Billing, invoice: dict) -> Invoice:
    for _ in range(200):
        row = await bill.row(invoice["id"])
        if row.status == "paid":
            return row
        await asyncio.sleep(0.05)
    raise AssertionError("Stripe's webhook did not mark the invoice paid")


async def test_opening_the_link_marks_viewed_and_paying_online_marks_paid_with_a_receipt(
    bill: Billing, http: httpx.AsyncClient, api_url, temporal_env
):
    invoice, link = await _sent(bill)
    page = await http.get(path_of(link))
    assert page.status_code == 200
    assert "$347.09 due" in page.text and "Water heater flush" in page.text and "Labour" in page.text
    assert "Pay $347.09 now" in page.text
    row = await bill.row(invoice["id"])
    assert row.status == "viewed" and row.viewed_at is not None
    viewed = [a for a in await bill.actions(invoice["id"]) if a.action == "invoice_viewed"]
    assert len(viewed) == 1 and viewed[0].reason == "requested by customer"
    again = await http.get(path_of(link))  # viewed already: nothing more to record
    assert again.status_code == 200 and (await bill.row(invoice["id"])).viewed_at == row.viewed_at

    to_stripe = await http.post(path_of(link) + "/pay")
    assert to_stripe.status_code == 303
    stripe_page = to_stripe.headers["location"]
    assert stripe_page.startswith(bill.settings.sandbox_url + "/stripe/pay/")
    async with httpx.AsyncClient() as browser_like:
        declined = await browser_like.post(stripe_page, data={"card_number": "4000 0000 0000 0002"})
        assert declined.status_code == 402
        paid = await browser_like.post(stripe_page, data={"card_number": "4242 4242 4242 4242"})
    assert paid.status_code == 303 and paid.headers["location"] == f"{link}?paid=1"

    settled = await _until_paid(bill, invoice)
    assert settled.amount_paid_cents == invoice["total_cents"]
    (payment,) = await rows(bill.sessions, select(Payment).where(Payment.invoice_id == settled.id))
    assert payment.method == "card" and payment.reference.startswith("pi_")
    back = await http.get(path_of(paid.headers["location"]))
    assert "Paid, thank you" in back.text and "Pay $347.09 now" not in back.text
    assert await finished(temporal_env.client, invoice) == "paid"
    receipts = [t for t in bill.texts() if "thank you" in t.body]
    assert len(receipts) == 1 and receipts[0].body.endswith(link)

    late = await http.post(path_of(link) + "/pay")  # an old tab: nothing left to pay
    assert late.status_code == 409 and "already paid" in late.text


async def test_forged_crossed_and_draft_links_open_nothing(bill: Billing, http: httpx.AsyncClient):
    forged = await http.get("/i/nonsense")
    assert forged.status_code == 404 and "Link not valid" in forged.text
    draft = await bill.invoice()
    unsent = await http.get(path_of(invoice_url(bill.settings, draft["id"], bill.tenant.company_id)))
    assert unsent.status_code == 404
    # A quote's token for the same ids is signed for quotes: it opens no invoice.
    crossed = await http.get(f"/i/{quote_token(bill.settings, draft['id'], bill.tenant.company_id)}")
    assert crossed.status_code == 404
    other_company = invoice_url(bill.settings, draft["id"], uuid.uuid4())
    assert (await http.get(path_of(other_company))).status_code == 404
    assert (await http.post(path_of(other_company) + "/pay")).status_code == 404
    assert (await bill.row(draft["id"])).status == "draft"


async def test_void_and_overdue_invoices_say_so_and_the_pdf_downloads(bill: Billing, http: httpx.AsyncClient):
    invoice, link = await _sent(bill)
    pdf = await http.get(path_of(link) + "/pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert (
        pdf.content.startswith(b"%PDF")
        and f"Invoice-{invoice['number']}.pdf" in pdf.headers["content-disposition"]
    )

    async with bill.sessions() as session:  # as the workflow's clock would have left it
        row = await session.get(Invoice, uuid.UUID(invoice["id"]))
        row.status = "overdue"
        session.add(row)
        await session.commit()
    overdue = await http.get(path_of(link))
    assert "past due" in overdue.text and "Past due" in overdue.text and "Pay $347.09 now" in overdue.text
    assert (await bill.row(invoice["id"])).status == "overdue"  # opening it changes nothing now

    second, second_link = await _sent(bill)
    assert (await bill.office.post(f"/v1/invoices/{second['id']}/void")).json()["status"] == "void"
    void = await http.get(path_of(second_link))
    assert void.status_code == 200 and "Invoice voided" in void.text and "Pay $" not in void.text
    refused = await http.post(path_of(second_link) + "/pay")
    assert refused.status_code == 409 and "voided" in refused.text
    logged = await rows(
        bill.sessions, select(ActionLog.action).where(ActionLog.entity_id == uuid.UUID(second["id"]))
    )
    assert "invoice_viewed" not in logged


async def test_customer_pays_on_a_phone_and_sees_paid(browser, api_url, bill: Billing):  # noqa: F811
    invoice, link = await _sent(bill)
    assert link.startswith(api_url + "/i/")
    async with await browser.new_context(**PHONE) as phone:
        page = await phone.new_page()
        await page.goto(link)
        await expect(page.get_by_role("heading", name="$347.09 due")).to_be_visible()
        await expect(page.locator("#status")).to_have_text("Waiting for payment")
        await expect(page.get_by_text("Water heater flush")).to_be_visible()
        await screenshot(page, "invoice-page")
        await page.get_by_role("button", name="Pay $347.09 now").click()

        await page.wait_for_url(bill.sandbox.public_url + "/**")
        await page.get_by_label("Card number").fill("4242 4242 4242 4242")
        await page.get_by_role("button", name=re.compile("^Pay ")).click()

        await page.wait_for_url(re.compile(r"/i/.+\?paid=\d+$"))
        # Back before or after Stripe's webhook: the page looks again until the payment shows.
        await expect(page.get_by_role("heading", name="Paid, thank you")).to_be_visible(timeout=20_000)
        await screenshot(page, "invoice-paid")
    assert (await bill.row(invoice["id"])).status == "paid"
