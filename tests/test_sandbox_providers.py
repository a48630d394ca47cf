"""The Stripe, Twilio and Resend stand-ins, driven through the official SDKs exactly as NexJob builds them.

The SDKs are synchronous and the sandbox serves from this event loop, so every SDK call runs in a thread.
Webhooks and callbacks are checked with the SDKs' own verifiers. Where a test needs to see what the
sandbox sends to "our API", a second sandbox points its webhooks at a small recorder (`world`), so these
tests do not depend on NexJob's webhook routes.
"""

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

import httpx
import pytest
import resend
import stripe
from fastapi import FastAPI, Request, Response
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator

from activities.clients import (
    configure_resend,
    stripe_client,
    stripe_webhook_secret,
    twilio_auth_token,
    twilio_client,
)
from sandbox import credentials
from sandbox.app import create_app as create_sandbox
from sandbox.context import SandboxContext
from settings import Settings
from tests.servers import free_port, serving

BUSINESS_NUMBER = "+15005550006"
TWIML_REPLY = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Message>You are unsubscribed.</Message></Response>'
)
WAIT_SECONDS = 5
SAVED_CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}

run = asyncio.to_thread  # the SDKs block; the sandbox needs this loop free to answer


def unique_phone() -> str:
    return f"+1512{uuid.uuid4().int % 10_000_000:07d}"


def unique_email() -> str:
    return f"customer-{uuid.uuid4().hex[:10]}@example.com"


# --- a recorder standing in for our API's webhook routes ----------------------------------------------


@dataclass
class Arrival:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))

    @property
    def event(self) -> dict:
        return json.loads(self.body)


@dataclass
class Recorder:
    arrivals: list[Arrival] = field(default_factory=list)
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/{path:path}")
        async def record(path: str, request: Request):
            arrival = Arrival(f"/{path}", dict(request.headers), await request.body())
            async with self.arrived:
                self.arrivals.append(arrival)
                self.arrived.notify_all()
            if path == "webhooks/twilio/inbound":
                return Response(TWIML_REPLY, media_type="application/xml")
            return {"received": True}

        return app

    async def wait_for(self, matches, count: int = 1) -> list[Arrival]:
        """What matches, once `count` of them have arrived (within WAIT_SECONDS)."""

        def found() -> list[Arrival]:
            return [a for a in self.arrivals if matches(a)]

        try:
            async with asyncio.timeout(WAIT_SECONDS), self.arrived:
                await self.arrived.wait_for(lambda: len(found()) >= count)
        except TimeoutError:
            raise AssertionError(f"{len(found())} of {count} arrived; all: {self.arrivals}") from None
        return found()

    async def stripe_event(self, event_type: str, count: int = 1) -> list[Arrival]:
        return await self.wait_for(
            lambda a: a.path == "/webhooks/stripe" and a.event["type"] == event_type, count
        )


@dataclass
class World:
    context: SandboxContext
    settings: Settings  # SDKs built from these talk to this sandbox
    recorder: Recorder
    recorder_url: str
    sandbox_url: str


@pytest.fixture
async def world(settings) -> World:
    """A sandbox of its own whose webhooks go to a recorder."""
    recorder = Recorder()
    recorder_port, sandbox_port = free_port(), free_port()
    context = SandboxContext(
        api_url=f"http://127.0.0.1:{recorder_port}", public_url=f"http://127.0.0.1:{sandbox_port}"
    )
    async with (
        serving(recorder.app(), recorder_port) as recorder_url,
        serving(create_sandbox(context), sandbox_port) as sandbox_url,
    ):
        yield World(
            context,
            settings.model_copy(update={"sandbox_url": sandbox_url}),
            recorder,
            recorder_url,
            sandbox_url,
        )


async def get_json(url: str, **params):
    async with httpx.AsyncClient() as http:
        answer = await http.get(url, params=params)
        answer.raise_for_status()
        return answer.json()


# --- Stripe: saving cards --------------------------------------------------------------------------------


async def test_a_4242_card_saved_by_a_setup_intent_shows_brand_and_last4(settings, healthy_sandbox):
    client = stripe_client(settings)
    email = unique_email()
    customer = await run(
        client.v1.customers.create,
        params={"email": email, "name": "Ada Lovelace", "phone": "+15125550100", "metadata": {"ours": "c-1"}},
    )
    assert customer.id.startswith("cus_") and customer.metadata.to_dict() == {"ours": "c-1"}
    found = await run(client.v1.customers.list, params={"email": email})
    assert [c.id for c in found.data] == [customer.id]

    intent = await run(
        client.v1.setup_intents.create,
        params={"customer": customer.id, "usage": "off_session", "payment_method_types": ["card"]},
    )
    assert intent.status == "requires_payment_method" and intent.client_secret.startswith(
        f"{intent.id}_secret_"
    )
    card = await run(client.v1.payment_methods.create, params={"type": "card", "card": SAVED_CARD})
    confirmed = await run(client.v1.setup_intents.confirm, intent.id, params={"payment_method": card.id})
    assert confirmed.status == "succeeded" and confirmed.payment_method == card.id

    saved = await run(client.v1.payment_methods.retrieve, card.id)
    assert saved.customer == customer.id
    assert (saved.card.brand, saved.card.last4, saved.card.exp_year) == ("visa", "4242", 2034)
    listed = await run(client.v1.payment_methods.list, params={"customer": customer.id, "type": "card"})
    assert [m.id for m in listed.data] == [card.id]


async def test_a_0002_card_is_declined_when_saved(settings, healthy_sandbox):
    client = stripe_client(settings)
    customer = await run(client.v1.customers.create, params={"name": "Declined Dan"})
    intent = await run(client.v1.setup_intents.create, params={"customer": customer.id})
    with pytest.raises(stripe.CardError) as declined:
        await run(
            client.v1.setup_intents.confirm, intent.id, params={"payment_method": "pm_card_chargeDeclined"}
        )
    assert declined.value.code == "card_declined" and declined.value.http_status == 402
    error = declined.value.json_body["error"]
    assert error["decline_code"] == "generic_decline" and error["setup_intent"]["id"] == intent.id
    after = await run(client.v1.setup_intents.retrieve, intent.id)
    assert after.status == "requires_payment_method" and after.last_setup_error.code == "card_declined"


async def test_a_3184_card_needs_authentication_and_the_test_page_completes_it(settings, healthy_sandbox):
    client = stripe_client(settings)
    customer = await run(client.v1.customers.create, params={"name": "Secure Sam"})
    intent = await run(
        client.v1.setup_intents.create,
        params={"customer": customer.id, "payment_method": "pm_card_authenticationRequired", "confirm": True},
    )
    assert intent.status == "requires_action"
    assert intent.next_action.type == "redirect_to_url"
    async with httpx.AsyncClient() as http:
        challenge = intent.next_action.redirect_to_url.url
        assert "Complete authentication" in (await http.get(challenge)).text
        await http.post(challenge, data={"outcome": "complete"})
    after = await run(client.v1.setup_intents.retrieve, intent.id)
    assert after.status == "succeeded"
    assert (await run(client.v1.payment_methods.retrieve, after.payment_method)).customer == customer.id


# --- Stripe: charging saved cards ------------------------------------------------------------------------


async def _customer_with_card(client, method: str = "pm_card_visa"):
    customer = await run(client.v1.customers.create, params={"name": "Card Holder"})
    card = await run(client.v1.payment_methods.attach, method, params={"customer": customer.id})
    return customer, card


async def test_an_off_session_charge_retried_with_its_idempotency_key_charges_once(settings, healthy_sandbox):
    client = stripe_client(settings)
    customer, card = await _customer_with_card(client)
    charges_before = len(await get_json(f"{settings.sandbox_url}/stripe/_charges"))
    params = {
        "amount": 18_950,
        "currency": "usd",
        "customer": customer.id,
        "payment_method": card.id,
        "off_session": True,
        "confirm": True,
        "metadata": {"invoice_id": "inv-1", "attempt": "1"},
    }
    key = f"invoice-{uuid.uuid4()}-charge-1"
    answers = [
        await run(client.v1.payment_intents.create, params=params, options={"idempotency_key": key})
        for _ in range(3)
    ]
    assert {a.id for a in answers} == {answers[0].id}
    assert {a.status for a in answers} == {"succeeded"}
    charges = await get_json(f"{settings.sandbox_url}/stripe/_charges")
    assert len(charges) == charges_before + 1
    charge = charges[0]
    assert (charge["payment_intent"], charge["amount"], charge["status"]) == (
        answers[0].id,
        18_950,
        "succeeded",
    )
    assert charge["metadata"] == {"invoice_id": "inv-1", "attempt": "1"}

    stored = await run(
        client.v1.payment_intents.retrieve, answers[0].id, params={"expand": ["latest_charge"]}
    )
    assert (
        stored.amount_received == 18_950 and stored.latest_charge.payment_method_details.card.last4 == "4242"
    )
    with pytest.raises(stripe.IdempotencyError):  # the same key for another request is refused
        await run(
            client.v1.payment_intents.create,
            params={**params, "amount": 1_000},
            options={"idempotency_key": key},
        )


async def test_declined_and_authentication_required_off_session_charges_are_card_errors(
    settings, healthy_sandbox
):
    client = stripe_client(settings)
    # 0341 saves fine but its charges fail, the way a card goes bad after it was saved.
    customer, card = await _customer_with_card(client, "pm_card_chargeCustomerFail")
    params = {
        "amount": 5_000,
        "currency": "usd",
        "customer": customer.id,
        "payment_method": card.id,
        "off_session": True,
        "confirm": True,
        "metadata": {"invoice_id": "inv-2"},
    }
    key = f"invoice-{uuid.uuid4()}-charge-1"
    declines = []
    for _ in range(2):  # a retry with the same key gets the stored decline, not a second attempt
        with pytest.raises(stripe.CardError) as declined:
            await run(client.v1.payment_intents.create, params=params, options={"idempotency_key": key})
        declines.append(declined.value)
    assert declines[0].code == "card_declined" and declines[0].http_status == 402
    failed = declines[0].json_body["error"]["payment_intent"]
    assert failed["status"] == "requires_payment_method" and failed["metadata"] == {"invoice_id": "inv-2"}
    assert declines[1].json_body == declines[0].json_body

    with pytest.raises(stripe.CardError) as needs_customer:
        await run(
            client.v1.payment_intents.create,
            params={**params, "payment_method": "pm_card_authenticationRequired"},
        )
    assert needs_customer.value.code == "authentication_required"


async def test_a_refund_larger_than_what_is_left_is_refused_and_refunds_send_charge_refunded(world):
    client = stripe_client(world.settings)
    customer, card = await _customer_with_card(client)
    intent = await run(
        client.v1.payment_intents.create,
        params={"amount": 2_000, "currency": "usd", "customer": customer.id, "payment_method": card.id}
        | {"off_session": True, "confirm": True},
    )
    part = await run(client.v1.refunds.create, params={"payment_intent": intent.id, "amount": 500})
    assert part.id.startswith("re_") and (part.status, part.amount) == ("succeeded", 500)
    with pytest.raises(stripe.InvalidRequestError) as too_much:
        await run(client.v1.refunds.create, params={"payment_intent": intent.id, "amount": 2_000})
    assert too_much.value.code == "amount_too_large" and too_much.value.http_status == 400
    rest = await run(client.v1.refunds.create, params={"payment_intent": intent.id})
    assert rest.amount == 1_500

    refunded = await world.recorder.stripe_event("charge.refunded", count=2)
    assert [a.event["data"]["object"]["amount_refunded"] for a in refunded] == [500, 2_000]
    assert refunded[-1].event["data"]["object"]["refunded"] is True


# --- Stripe: hosted checkout and webhooks ----------------------------------------------------------------


async def test_a_checkout_page_takes_a_card_and_sends_signed_webhooks(world):
    client = stripe_client(world.settings)
    invoice_id = str(uuid.uuid4())
    session = await run(
        client.v1.checkout.sessions.create,
        params={
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": "usd",
                        "unit_amount": 12_345,
                        "product_data": {"name": "Invoice #1001"},
                    },
                }
            ],
            "success_url": "https://nexjob.test/paid?session={CHECKOUT_SESSION_ID}",
            "cancel_url": "https://nexjob.test/invoice",
            "metadata": {"invoice_id": invoice_id},
            "payment_intent_data": {"metadata": {"invoice_id": invoice_id}},
        },
    )
    assert session.url == f"{world.sandbox_url}/stripe/pay/{session.id}"
    assert (session.status, session.payment_status, session.amount_total) == ("open", "unpaid", 12_345)

    async with httpx.AsyncClient() as http:
        page = await http.get(session.url)
        assert page.status_code == 200
        assert "$123.45" in page.text and "Invoice #1001" in page.text and "4242 4242 4242 4242" in page.text
        declined = await http.post(session.url, data={"card_number": "4000 0000 0000 0002"})
        assert declined.status_code == 402 and "Your card was declined." in declined.text
        paid = await http.post(session.url, data={"card_number": "4242 4242 4242 4242"})
    assert paid.status_code == 303
    assert paid.headers["location"] == f"https://nexjob.test/paid?session={session.id}"

    [completed] = await world.recorder.stripe_event("checkout.session.completed")
    event = stripe.Webhook.construct_event(
        completed.body, completed.headers["stripe-signature"], stripe_webhook_secret(world.settings)
    )
    paid_session = event.data.object
    assert event.type == "checkout.session.completed" and event.id.startswith("evt_")
    assert paid_session.id == session.id and paid_session.metadata["invoice_id"] == invoice_id
    assert (paid_session.status, paid_session.payment_status) == ("complete", "paid")
    [succeeded] = await world.recorder.stripe_event("payment_intent.succeeded")
    intent = succeeded.event["data"]["object"]
    assert intent["id"] == paid_session.payment_intent and intent["metadata"] == {"invoice_id": invoice_id}

    with pytest.raises(stripe.SignatureVerificationError):  # a changed body no longer verifies
        stripe.Webhook.construct_event(
            completed.body.replace(b"complete", b"open"),
            completed.headers["stripe-signature"],
            stripe_webhook_secret(world.settings),
        )

    async with httpx.AsyncClient() as http:
        again = await http.post(f"{world.sandbox_url}/stripe/_resend_event/{event.id}")
    assert again.json() == {"id": event.id, "status": 200}
    first, second = await world.recorder.stripe_event("checkout.session.completed", count=2)
    assert second.event == first.event
    stripe.Webhook.construct_event(
        second.body, second.headers["stripe-signature"], stripe_webhook_secret(world.settings)
    )

    stored = await run(client.v1.checkout.sessions.retrieve, session.id)
    assert (stored.status, stored.payment_status, stored.url) == ("complete", "paid", None)


async def test_a_payment_link_pays_through_a_checkout_session_of_its_own(world):
    client = stripe_client(world.settings)
    price = await run(
        client.v1.prices.create,
        params={"unit_amount": 7_500, "currency": "usd", "product_data": {"name": "Invoice #1002"}},
    )
    link = await run(
        client.v1.payment_links.create,
        params={"line_items": [{"price": price.id, "quantity": 2}], "metadata": {"invoice_id": "inv-1002"}},
    )
    assert link.id.startswith("plink_") and link.url == f"{world.sandbox_url}/stripe/pay/{link.id}"
    async with httpx.AsyncClient() as http:
        assert "$150.00" in (await http.get(link.url)).text
        done = await http.post(link.url, data={"card_number": "4242424242424242"})
    assert done.status_code == 200 and "Paid $150.00" in done.text
    [completed] = await world.recorder.stripe_event("checkout.session.completed")
    paid = completed.event["data"]["object"]
    assert paid["payment_link"] == link.id and paid["metadata"] == {"invoice_id": "inv-1002"}
    assert paid["amount_total"] == 15_000


# --- Twilio -------------------------------------------------------------------------------------------


async def test_a_text_is_queued_then_signed_callbacks_report_sent_and_delivered(world):
    client = twilio_client(world.settings)
    callback_url = f"{world.recorder_url}/webhooks/twilio/status"
    to = unique_phone()
    message = await run(
        client.messages.create,
        to=to,
        from_=BUSINESS_NUMBER,
        body="Maria is on her way, arriving about 10:40.",
        status_callback=callback_url,
    )
    assert message.sid.startswith("SM") and len(message.sid) == 34
    assert (message.status, message.to, message.from_, message.num_segments) == (
        "queued",
        to,
        BUSINESS_NUMBER,
        "1",
    )

    callbacks = await world.recorder.wait_for(lambda a: a.path == "/webhooks/twilio/status", count=2)
    validator = RequestValidator(twilio_auth_token(world.settings))
    for callback in callbacks:
        assert validator.validate(callback_url, callback.form, callback.headers["x-twilio-signature"])
        assert callback.form["MessageSid"] == message.sid and callback.form["AccountSid"] == client.username
    assert [c.form["MessageStatus"] for c in callbacks] == ["sent", "delivered"]
    forged = {**callbacks[-1].form, "MessageStatus": "failed"}
    assert not validator.validate(callback_url, forged, callbacks[-1].headers["x-twilio-signature"])

    fetched = await run(client.messages(message.sid).fetch)
    assert fetched.status == "delivered" and fetched.date_sent is not None
    [entry] = [e for e in world.context.outbox if e.provider_id == message.sid]
    assert (entry.channel, entry.to, entry.status) == ("sms", to, "delivered")
    since = datetime.now(UTC) - timedelta(minutes=1)
    listed = await run(client.messages.list, to=to, from_=BUSINESS_NUMBER, date_sent_after=since, limit=50)
    assert [m.sid for m in listed] == [message.sid]


async def test_a_text_to_an_unreachable_handset_ends_undelivered_with_30003(world):
    client = twilio_client(world.settings)
    callback_url = f"{world.recorder_url}/webhooks/twilio/status"
    message = await run(
        client.messages.create,
        to="+15005550010",
        from_=BUSINESS_NUMBER,
        body="Hi",
        status_callback=callback_url,
    )
    callbacks = await world.recorder.wait_for(
        lambda a: a.path == "/webhooks/twilio/status" and a.form["MessageSid"] == message.sid, count=2
    )
    assert [c.form["MessageStatus"] for c in callbacks] == ["sent", "undelivered"]
    assert callbacks[-1].form["ErrorCode"] == "30003" and "ErrorCode" not in callbacks[0].form
    assert (await run(client.messages(message.sid).fetch)).error_code == 30003


async def test_invalid_numbers_are_refused_with_twilio_error_codes(settings, healthy_sandbox):
    client = twilio_client(settings)
    sent_before = len(healthy_sandbox.outbox)
    refusals = []
    for to in ("+15005550001", "512-555-0100", "+15005550009"):
        with pytest.raises(TwilioRestException) as refused:
            await run(client.messages.create, to=to, from_=BUSINESS_NUMBER, body="Hello")
        refusals.append(refused.value)
    assert [(r.status, r.code) for r in refusals] == [(400, 21211), (400, 21211), (400, 21614)]
    assert "The 'To' number +15005550001 is not a valid phone number." in refusals[0].msg
    assert len(healthy_sandbox.outbox) == sent_before


async def test_wrong_twilio_credentials_are_refused_with_20003(settings, healthy_sandbox):
    client = twilio_client(settings)
    client.auth = (client.username, "not-the-token")
    with pytest.raises(TwilioRestException) as refused:
        await run(client.messages.create, to=unique_phone(), from_=BUSINESS_NUMBER, body="Hello")
    assert (refused.value.status, refused.value.code) == (401, 20003)


async def test_a_customer_text_reaches_the_api_signed_and_a_twiml_reply_is_texted_back(world):
    customer = unique_phone()
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"{world.sandbox_url}/inbound-sms", json={"from": customer, "to": BUSINESS_NUMBER, "body": "STOP"}
        )
    result = answer.json()
    assert answer.status_code == 200 and result["webhook_status"] == 200 and len(result["replies"]) == 1

    [inbound] = await world.recorder.wait_for(lambda a: a.path == "/webhooks/twilio/inbound")
    url = f"{world.recorder_url}/webhooks/twilio/inbound"
    assert RequestValidator(twilio_auth_token(world.settings)).validate(
        url, inbound.form, inbound.headers["x-twilio-signature"]
    )
    assert (inbound.form["From"], inbound.form["To"], inbound.form["Body"]) == (
        customer,
        BUSINESS_NUMBER,
        "STOP",
    )
    assert inbound.form["MessageSid"] == result["sid"] and inbound.form["NumMedia"] == "0"

    shown = await get_json(f"{world.sandbox_url}/inbox.json")
    mine = [e for e in shown if customer in (e["to"], e["from"])]
    assert [(e["direction"], e["body"]) for e in mine] == [
        ("outbound", "You are unsubscribed."),
        ("inbound", "STOP"),
    ]


# --- Resend -------------------------------------------------------------------------------------------


async def test_an_email_sent_twice_with_one_idempotency_key_is_sent_once(settings, healthy_sandbox):
    configure_resend(settings)
    to = unique_email()
    params = {
        "from": "NexJob <billing@nexjob.dev>",
        "to": [to],
        "subject": "Invoice #1001 from Lone Star Plumbing",
        "html": '<p>Your invoice is ready. <a href="https://pay.example/i/1001">Pay online</a></p>',
        "attachments": [{"filename": "invoice-1001.pdf", "content": list(b"%PDF-1.4 sandbox")}],
    }
    key = f"invoice-{uuid.uuid4()}/send"
    first = await run(resend.Emails.send, params, {"idempotency_key": key})
    second = await run(resend.Emails.send, params, {"idempotency_key": key})
    assert first["id"] == second["id"]

    [entry] = await get_json(f"{settings.sandbox_url}/inbox.json", to=to)
    assert (entry["channel"], entry["subject"], entry["status"]) == ("email", params["subject"], "delivered")
    assert entry["from"] == "NexJob <billing@nexjob.dev>" and entry["attachments"] == ["invoice-1001.pdf"]
    assert entry["body"] == "Your invoice is ready. Pay online (https://pay.example/i/1001)"
    stored = await run(resend.Emails.get, first["id"])
    assert stored["to"] == [to] and stored["last_event"] == "delivered"

    with pytest.raises(resend.exceptions.ResendError) as reused:
        await run(resend.Emails.send, {**params, "subject": "Something else"}, {"idempotency_key": key})
    assert str(reused.value.code) == "409" and reused.value.error_type == "invalid_idempotent_request"


async def test_an_email_without_a_subject_or_content_is_refused(settings, healthy_sandbox):
    configure_resend(settings)
    base = {"from": "NexJob <billing@nexjob.dev>", "to": unique_email(), "text": "Hello"}
    with pytest.raises(resend.exceptions.MissingRequiredFieldsError):
        await run(resend.Emails.send, base)
    with pytest.raises(resend.exceptions.ValidationError) as no_content:
        await run(resend.Emails.send, {**base, "subject": "Hi", "text": ""})
    assert "html" in no_content.value.message
    with pytest.raises(resend.exceptions.ValidationError):
        await run(resend.Emails.send, {**base, "subject": "Hi", "to": "not an address"})


# --- the inbox page ------------------------------------------------------------------------------------


async def test_the_inbox_lists_texts_and_emails_newest_first(settings, healthy_sandbox):
    configure_resend(settings)
    phone, email = unique_phone(), unique_email()
    text = await run(
        twilio_client(settings).messages.create,
        to=phone,
        from_=BUSINESS_NUMBER,
        body="Pay: https://x.test/p?a=1&b=2",
    )
    await run(
        resend.Emails.send,
        {"from": "NexJob <hi@nexjob.dev>", "to": email, "subject": "Receipt", "text": "Thanks!"},
    )
    entries = await get_json(f"{settings.sandbox_url}/inbox.json")
    moments = [e["at"] for e in entries]
    assert moments == sorted(moments, reverse=True)
    ours = [e["to"] for e in entries if e["to"] in (phone, email)]
    assert ours == [email, phone]
    assert [e["provider_id"] for e in await get_json(f"{settings.sandbox_url}/inbox.json", to=phone)] == [
        text.sid
    ]

    async with httpx.AsyncClient(base_url=settings.sandbox_url) as http:
        page = await http.get("/inbox")
        home = await http.get("/")
    assert page.status_code == 200 and phone in page.text and "Receipt" in page.text
    assert '<a href="https://x.test/p?a=1&amp;b=2">' in page.text  # texted links open from the phone
    assert 'action="/inbound-sms"' in page.text
    assert home.status_code == 307 and home.headers["location"] == "/inbox"


# --- outages --------------------------------------------------------------------------------------------


async def test_stripe_outages_raise_the_sdks_retryable_errors_then_recover(settings, healthy_sandbox):
    client = stripe_client(settings)
    healthy_sandbox.controls.set("stripe", "fail", times=1)
    with pytest.raises(stripe.APIError) as failed:
        await run(client.v1.customers.create, params={"name": "Outage Olga"})
    assert failed.value.http_status == 500
    assert (await run(client.v1.customers.create, params={"name": "Outage Olga"})).id.startswith("cus_")

    healthy_sandbox.controls.set("stripe", "rate_limit", times=1)
    with pytest.raises(stripe.RateLimitError):
        await run(client.v1.customers.create, params={"name": "Busy Bob"})
    assert (await run(client.v1.customers.create, params={"name": "Busy Bob"})).id.startswith("cus_")


async def test_twilio_and_resend_outages_surface_as_their_sdk_errors(settings, healthy_sandbox):
    configure_resend(settings)
    healthy_sandbox.controls.set("twilio", "down", times=1)
    with pytest.raises(TwilioRestException) as down:
        await run(
            twilio_client(settings).messages.create, to=unique_phone(), from_=BUSINESS_NUMBER, body="Hi"
        )
    assert down.value.status == 503
    healthy_sandbox.controls.set("resend", "rate_limit", times=1)
    params = {"from": "hi@nexjob.dev", "to": unique_email(), "subject": "Hi", "text": "Hi"}
    with pytest.raises(resend.exceptions.RateLimitError):
        await run(resend.Emails.send, params)
    assert (await run(resend.Emails.send, params))["id"]


async def test_a_request_without_a_secret_key_is_a_stripe_authentication_error(settings, healthy_sandbox):
    client = stripe.StripeClient(
        "pk_test_publishable", base_addresses={"api": f"{settings.sandbox_url}/stripe"}, max_network_retries=0
    )
    with pytest.raises(stripe.AuthenticationError):
        await run(client.v1.customers.create, params={"name": "Nobody"})


async def test_a_request_whose_answer_is_lost_to_a_timeout_is_still_carried_out(settings, healthy_sandbox):
    impatient = stripe.StripeClient(
        credentials.STRIPE_API_KEY,
        base_addresses={"api": f"{settings.sandbox_url}/stripe"},
        http_client=stripe.RequestsClient(timeout=0.3),
        max_network_retries=0,
    )
    healthy_sandbox.controls.set("stripe", "timeout", times=1, seconds=0.6)
    email = unique_email()
    with pytest.raises(stripe.APIConnectionError):
        await run(impatient.v1.customers.create, params={"email": email})
    await asyncio.sleep(0.6)  # the held-up request finishes on the sandbox meanwhile
    found = await run(stripe_client(settings).v1.customers.list, params={"email": email})
    assert len(found.data) == 1
