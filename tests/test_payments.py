"""Stripe through the real SDK (sandboxed): cards saved and charged once, typed refusals, online
payment of an invoice through a signed webhook, forged and replayed webhooks refused."""

import asyncio
import json
import time
import uuid

import httpx
import pytest
import stripe
from temporalio.exceptions import ApplicationError

from activities.clients import stripe_client
from activities.payments import (
    ChargeInput,
    CheckoutInput,
    PaymentsActivities,
    RefundInput,
    SetupIntentInput,
    StripeCustomerInput,
)
from sandbox import credentials as sandbox_keys
from tests.servers import run_sync_activity


@pytest.fixture
def payments(settings, healthy_sandbox) -> PaymentsActivities:
    return PaymentsActivities(stripe_client(settings))


async def _stripe_customer(payments) -> str:
    ours = str(uuid.uuid4())
    return await run_sync_activity(
        payments.ensure_stripe_customer, StripeCustomerInput(ours, "Ada", "ada@example.com")
    )


async def _saved_card(settings, customer: str, card: str = "pm_card_visa") -> str:
    client = stripe_client(settings)
    intent = await asyncio.to_thread(
        client.v1.setup_intents.create,
        {"customer": customer, "usage": "off_session", "payment_method_types": ["card"]},
    )
    confirmed = await asyncio.to_thread(client.v1.setup_intents.confirm, intent.id, {"payment_method": card})
    return confirmed.payment_method


async def _charges(settings) -> list:
    async with httpx.AsyncClient() as client:
        return (await client.get(f"{settings.sandbox_url}/stripe/_charges")).json()


def _charge(customer: str, card: str, invoice_id: str, attempt: int = 1) -> ChargeInput:
    return ChargeInput(
        invoice_id=invoice_id,
        attempt=attempt,
        amount_cents=18_900,
        currency="usd",
        stripe_customer_id=customer,
        payment_method_id=card,
        description="Invoice #1001",
    )


async def test_customer_is_created_once_and_a_setup_intent_saves_cards_off_session(payments, settings):
    customer = await _stripe_customer(payments)
    assert customer.startswith("cus_")
    again = await run_sync_activity(
        payments.ensure_stripe_customer, StripeCustomerInput("x", "Ada", stripe_customer_id=customer)
    )
    assert again == customer
    intent = await run_sync_activity(
        payments.create_setup_intent, SetupIntentInput(customer, f"setup-{customer}")
    )
    assert intent.setup_intent_id.startswith("seti_") and intent.client_secret


async def test_an_idempotent_charge_retried_after_a_timeout_charges_once(payments, settings, healthy_sandbox):
    customer = await _stripe_customer(payments)
    card = await _saved_card(settings, customer)
    invoice_id = str(uuid.uuid4())
    impatient = PaymentsActivities(
        stripe.StripeClient(
            sandbox_keys.STRIPE_API_KEY,
            base_addresses={"api": f"{settings.sandbox_url}/stripe"},
            http_client=stripe.RequestsClient(timeout=0.5),
            max_network_retries=0,
        )
    )
    healthy_sandbox.controls.set("stripe", "timeout", times=1, seconds=1.5)
    with pytest.raises(stripe.APIConnectionError):  # the answer was lost; the charge still happens
        await run_sync_activity(impatient.charge_card_on_file, _charge(customer, card, invoice_id))
    retried = await run_sync_activity(payments.charge_card_on_file, _charge(customer, card, invoice_id))
    await asyncio.sleep(1.5)  # let the slow first request finish on the sandbox
    again = await run_sync_activity(payments.charge_card_on_file, _charge(customer, card, invoice_id))
    assert retried.status == "succeeded" and again.payment_intent_id == retried.payment_intent_id
    mine = [c for c in await _charges(settings) if c.get("metadata", {}).get("invoice_id") == invoice_id]
    assert len(mine) == 1


async def test_a_declined_card_is_a_typed_final_failure(payments, settings):
    customer = await _stripe_customer(payments)
    with pytest.raises(ApplicationError) as declined:
        await run_sync_activity(
            payments.charge_card_on_file, _charge(customer, "pm_card_chargeDeclined", str(uuid.uuid4()))
        )
    assert declined.value.type == "CardDeclined" and declined.value.non_retryable


async def test_stripe_outages_stay_retryable(payments, healthy_sandbox):
    healthy_sandbox.controls.set("stripe", "down", times=1)
    with pytest.raises(stripe.APIError):
        await _stripe_customer(payments)
    assert (await _stripe_customer(payments)).startswith("cus_")


async def test_refund_of_a_charge(payments, settings):
    customer = await _stripe_customer(payments)
    card = await _saved_card(settings, customer)
    charge = await run_sync_activity(payments.charge_card_on_file, _charge(customer, card, str(uuid.uuid4())))
    refund = await run_sync_activity(
        payments.refund_payment,
        RefundInput(charge.payment_intent_id, f"refund-{charge.payment_intent_id}", 5_000),
    )
    assert refund.status == "succeeded" and refund.amount_cents == 5_000


async def _paid_online(tenant, payments, settings) -> tuple[dict, dict]:
    office = await tenant.client("owner")
    customer = (await office.post("/v1/customers", json={"name": "Online payer"})).json()["id"]
    invoice = (
        await office.post(
            "/v1/invoices",
            json={
                "customer_id": customer,
                "line_items": [{"description": "Drain clean", "unit_price_cents": 15_000}],
            },
        )
    ).json()
    await office.post(f"/v1/invoices/{invoice['id']}/mark-sent")
    checkout = await run_sync_activity(
        payments.create_invoice_checkout,
        CheckoutInput(
            invoice_id=invoice["id"],
            invoice_number=invoice["number"],
            amount_cents=invoice["total_cents"],
            currency="usd",
            success_url=f"{settings.public_url}/paid",
            cancel_url=f"{settings.public_url}/",
        ),
    )
    async with httpx.AsyncClient() as client:
        page = await client.get(checkout.url)
        assert page.status_code == 200 and "Pay" in page.text
        await client.post(checkout.url, data={"card_number": "4242 4242 4242 4242"})
    for _ in range(100):
        paid = (await office.get(f"/v1/invoices/{invoice['id']}")).json()
        if paid["status"] == "paid":
            return invoice, paid
        await asyncio.sleep(0.05)
    raise AssertionError("the invoice was not marked paid")


async def test_paying_online_marks_the_invoice_paid_through_its_workflow(tenant, payments, settings, api_url):
    invoice, paid = await _paid_online(tenant, payments, settings)
    office = await tenant.client("owner")
    payments_made = (await office.get(f"/v1/invoices/{invoice['id']}/payments")).json()
    assert [(p["method"], p["amount_cents"]) for p in payments_made] == [("card", invoice["total_cents"])]
    assert paid["balance_due_cents"] == 0


def _signed(payload: str, secret: str = sandbox_keys.STRIPE_WEBHOOK_SECRET, age_seconds: int = 0) -> dict:
    timestamp = int(time.time()) - age_seconds
    signature = stripe.WebhookSignature._compute_signature(f"{timestamp}.{payload}", secret)
    return {"Stripe-Signature": f"t={timestamp},v1={signature}", "Content-Type": "application/json"}


async def _draft_invoice(office, cents: int) -> dict:
    customer = (await office.post("/v1/customers", json={"name": "Payer"})).json()["id"]
    lines = [{"description": "Service", "unit_price_cents": cents, "taxable": False}]
    return (await office.post("/v1/invoices", json={"customer_id": customer, "line_items": lines})).json()


async def test_forged_and_replayed_stripe_webhooks_change_nothing(tenant, payments, settings, api_url):
    office = await tenant.client("owner")
    invoice = await _draft_invoice(office, 100)
    event = {
        "id": f"evt_{uuid.uuid4().hex}",
        "object": "event",
        "type": "checkout.session.completed",
        "data": {
            "object": {
                "id": "cs_forged",
                "object": "checkout.session",
                "payment_intent": "pi_forged",
                "payment_status": "paid",
                "amount_total": 100,
                "metadata": {"invoice_id": invoice["id"]},
                "created": int(time.time()),
            }
        },
    }
    payload = json.dumps(event)
    async with httpx.AsyncClient() as client:
        url = f"{api_url}/webhooks/stripe"
        unsigned = await client.post(url, content=payload, headers={"Content-Type": "application/json"})
        wrong = await client.post(url, content=payload, headers=_signed(payload, "whsec_someone_else"))
        assert unsigned.status_code == wrong.status_code == 400
        assert (await office.get(f"/v1/invoices/{invoice['id']}")).json()["status"] == "draft"

        first = await client.post(url, content=payload, headers=_signed(payload))
        replay = await client.post(url, content=payload, headers=_signed(payload))
    assert first.status_code == replay.status_code == 200 and replay.json()["duplicate"] is True
    payments_made = (await office.get(f"/v1/invoices/{invoice['id']}/payments")).json()
    assert len(payments_made) == 1  # a provider payment settles even a draft, once


async def test_a_payment_for_a_void_invoice_is_acknowledged_and_shown_to_the_office(tenant, api_url):
    office = await tenant.client("owner")
    invoice = await _draft_invoice(office, 100)
    await office.post(f"/v1/invoices/{invoice['id']}/void")
    event = {
        "id": f"evt_{uuid.uuid4().hex}",
        "object": "event",
        "type": "checkout.session.completed",
        "data": {
            "object": {
                "id": "cs_late",
                "payment_intent": "pi_late",
                "payment_status": "paid",
                "amount_total": 100,
                "metadata": {"invoice_id": invoice["id"]},
            }
        },
    }
    payload = json.dumps(event)
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{api_url}/webhooks/stripe", content=payload, headers=_signed(payload))
    assert response.status_code == 200  # Stripe must not keep retrying
    assert (await office.get(f"/v1/invoices/{invoice['id']}")).json()["status"] == "void"
    actions = (
        await office.get("/v1/action-log", params={"entity_id": invoice["id"], "outcome": "failed"})
    ).json()
    assert "pi_late not booked" in actions["data"][0]["reason"]


def _checkout_event(invoice_id: str, amount_cents: int) -> str:
    session = {
        "id": f"cs_{uuid.uuid4().hex[:12]}",
        "object": "checkout.session",
        "payment_intent": f"pi_{uuid.uuid4().hex[:12]}",
        "payment_status": "paid",
        "amount_total": amount_cents,
        "metadata": {"invoice_id": invoice_id},
    }
    event = {
        "id": f"evt_{uuid.uuid4().hex}",
        "type": "checkout.session.completed",
        "data": {"object": session},
    }
    return json.dumps(event)


async def _sent_invoice(office, cents: int) -> dict:
    invoice = await _draft_invoice(office, cents)
    await office.post(f"/v1/invoices/{invoice['id']}/mark-sent")
    return invoice


async def test_an_old_signed_event_replayed_later_is_refused(tenant, api_url):
    office = await tenant.client("owner")
    invoice = await _sent_invoice(office, 5_000)
    payload = _checkout_event(invoice["id"], 5_000)
    async with httpx.AsyncClient() as client:
        stale = await client.post(
            f"{api_url}/webhooks/stripe", content=payload, headers=_signed(payload, age_seconds=3600)
        )
    assert stale.status_code == 400
    assert (await office.get(f"/v1/invoices/{invoice['id']}")).json()["status"] == "sent"


async def test_a_partial_online_payment_leaves_the_balance_open(tenant, api_url):
    office = await tenant.client("owner")
    invoice = await _sent_invoice(office, 10_000)
    async with httpx.AsyncClient() as client:
        for amount in (4_000, 6_000):
            payload = _checkout_event(invoice["id"], amount)
            response = await client.post(
                f"{api_url}/webhooks/stripe", content=payload, headers=_signed(payload)
            )
            assert response.status_code == 200
            if amount == 4_000:
                partly = (await office.get(f"/v1/invoices/{invoice['id']}")).json()
                assert (partly["status"], partly["balance_due_cents"]) == ("sent", 6_000)
    paid = (await office.get(f"/v1/invoices/{invoice['id']}")).json()
    assert (paid["status"], paid["balance_due_cents"]) == ("paid", 0)
    amounts = [p["amount_cents"] for p in (await office.get(f"/v1/invoices/{invoice['id']}/payments")).json()]
    assert sorted(amounts) == [4_000, 6_000]
