"""Workflow 1 + 10 end to end: the office sends a quote; the customer opens the emailed link, picks
add-ons, signs, saves a card, picks a time; the job is booked, assigned and confirmed."""

import asyncio
import uuid
from datetime import timedelta

import httpx
from sqlmodel import select

from models.jobs import Job
from models.line_items import JobLineItem
from models.logs import ActionLog, MessageLog
from models.quotes import Quote
from tests.quote_journey import (
    customer_row,
    link_in,
    path_of,
    prepare,
    rows,
    slot_starts,
    tiered_quote,
    user_row,
)


async def test_quote_to_booked_job_through_the_customers_pages(
    tenant, sessions, healthy_sandbox, http, temporal_env
):
    journey = await prepare(tenant, sessions)
    quote = await tiered_quote(journey)

    sent = await journey.office.post(f"/v1/quotes/{quote['id']}/send")
    assert sent.status_code == 200, sent.text
    assert sent.json()["status"] == "sent"
    emails = [e for e in healthy_sandbox.outbox if e.channel == "email" and e.to == journey.customer_email]
    assert len(emails) == 1 and emails[0].attachments == [f"Quote-Q-{quote['id'][:8].upper()}.pdf"]
    texts = [e for e in healthy_sandbox.outbox if e.channel == "sms" and e.to == journey.customer_phone]
    assert len(texts) == 1
    link = link_in(emails[0].body)
    assert link == link_in(texts[0].body) == sent.json()["portal_url"]

    # The customer opens the link: the quote, marked viewed, asks for a tier before a total.
    page = await http.get(path_of(link))
    assert page.status_code == 200 and "New water heater" in page.text and "Choose an option" in page.text
    lines = {line["description"]: line["id"] for line in sent.json()["line_items"]}
    priced = await http.post(
        path_of(link) + "/price",
        json={"chosen_option_group": "better", "selected_line_ids": [lines["Haul away old heater"]]},
    )
    # 1,200 + 75 + 200 = 1,475.00, 8.25 % tax = 121.69
    assert priced.json()["total_cents"] == 147_500 + 12_169 and priced.json()["total"] == "$1,596.69"

    unsigned = await http.post(
        path_of(link) + "/accept",
        data={"signed_name": " ", "tier": "better", "addon": lines["Haul away old heater"]},
    )
    assert unsigned.status_code == 422 and "Sign with your name" in unsigned.text
    # The refusal keeps what the customer chose, priced.
    assert 'value="better" required checked' in unsigned.text and "$1,596.69" in unsigned.text

    accepted = await http.post(
        path_of(link) + "/accept",
        data={"signed_name": "Ada Lovelace", "tier": "better", "addon": lines["Haul away old heater"]},
    )
    assert accepted.status_code == 303
    card_page = await http.get(path_of(link))
    assert "Save a card on file" in card_page.text
    office_view = (await journey.office.get(f"/v1/quotes/{quote['id']}")).json()
    assert office_view["status"] == "accepted" and office_view["signed_name"] == "Ada Lovelace"
    assert office_view["total_cents"] == 159_669 and office_view["chosen_option_group"] == "better"
    assert office_view["viewed_at"] is not None
    stage = await journey.office.get(f"/v1/quotes/{quote['id']}/stage")
    assert stage.json()["stage"] == "waiting_for_card"

    # Saving a card: off to Stripe's page, a declined card first, then 4242.
    to_stripe = await http.post(path_of(link) + "/card", data={"auto_charge": "true"})
    assert to_stripe.status_code == 303
    stripe_page = to_stripe.headers["location"]
    async with httpx.AsyncClient() as browser:
        declined = await browser.post(stripe_page, data={"card_number": "4000 0000 0000 0002"})
        assert declined.status_code == 402 and "declined" in declined.text
        saved = await browser.post(stripe_page, data={"card_number": "4242 4242 4242 4242"})
    assert saved.status_code == 303
    back = await http.get(path_of(saved.headers["location"]))
    assert back.status_code == 303
    customer = await customer_row(sessions, journey.customer_id)
    assert (customer.card_brand, customer.card_last4, customer.auto_charge_consent) == ("visa", "4242", True)
    assert customer.stripe_customer_id and customer.card_payment_method_id

    # Picking a time: the calendar, then the first slot.
    schedule = await http.get(path_of(link))
    starts = slot_starts(schedule.text)
    assert "Pick a time" in schedule.text and starts
    booked = await http.post(path_of(link) + "/time", data={"start": starts[0]})
    assert booked.status_code == 303

    quote_id = uuid.UUID(quote["id"])
    handle = temporal_env.client.get_workflow_handle(f"quote-{quote_id}")
    assert await asyncio.wait_for(handle.result(), 30) == "scheduled"
    (job,) = await rows(sessions, select(Job).where(Job.quote_id == quote_id))
    assert job.status == "scheduled" and job.scheduled_start.isoformat() == starts[0]
    assert job.scheduled_end - job.scheduled_start == timedelta(hours=2)
    assert job.assigned_user_id in {tenant.users["tech"].id, tenant.users["tech2"].id}
    # tech is 5.5 km from the customer's home, tech2 11 km: the closer one, with the reason in words.
    assert job.assigned_user_id == tenant.users["tech"].id
    assert job.assignment_reason.startswith("closest qualified tech")
    job_lines = await rows(sessions, select(JobLineItem).where(JobLineItem.job_id == job.id))
    assert sorted(line.description for line in job_lines) == [
        "5-year warranty",
        "Haul away old heater",
        "Water heater install",
    ]

    confirmation_page = await http.get(path_of(link))
    assert "You're booked!" in confirmation_page.text and tenant.users["tech"].name in confirmation_page.text
    messages = await rows(sessions, select(MessageLog).where(MessageLog.workflow_id == f"quote-{quote_id}"))
    purposes = sorted(m.purpose for m in messages)
    assert "job-scheduled-email" in purposes and "job-scheduled-sms" in purposes
    assert f"job-assigned-{tenant.users['tech'].id}" in purposes
    tech_phone = (await user_row(sessions, tenant.users["tech"].id)).phone
    tech_texts = [e for e in healthy_sandbox.outbox if e.to == tech_phone]
    assert len(tech_texts) == 1 and "New water heater" in tech_texts[0].body
    customer_texts = [e for e in healthy_sandbox.outbox if e.to == journey.customer_phone]
    assert any("booked" in e.body and tenant.users["tech"].name in e.body for e in customer_texts)

    # The office turns the accepted quote into an invoice with every accepted line.
    invoice = await journey.office.post(f"/v1/quotes/{quote['id']}/invoice")
    assert invoice.status_code == 201, invoice.text
    assert invoice.json()["quote_id"] == quote["id"] and invoice.json()["job_id"] == str(job.id)
    assert invoice.json()["total_cents"] == 159_669
    again = await journey.office.post(f"/v1/quotes/{quote['id']}/invoice")
    assert again.status_code == 409
    actions = await rows(sessions, select(ActionLog.action).where(ActionLog.entity_id == quote_id))
    assert {"send_quote", "accept_quote"} <= set(actions)
    async with sessions() as session:
        assert (await session.get(Quote, quote_id)).card_step_done_at is not None
