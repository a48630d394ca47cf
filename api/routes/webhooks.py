"""Inbound provider webhooks: Stripe events, Twilio delivery status and inbound texts.

Each is verified with the provider SDK's own signature check (400 and nothing changed when it fails) and
handled once: an event id already seen answers 200 without acting again, since providers retry.
"""

import json
import logging
import uuid
from datetime import UTC, datetime

import stripe
from fastapi import APIRouter, HTTPException, Request, Response
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import select
from twilio.request_validator import RequestValidator

from activities.action_log import ActionRecord, record_action
from activities.clients import stripe_webhook_secret, twilio_auth_token
from activities.messaging import TWILIO_STATUSES, apply_twilio_status, lock_twilio_sid
from api.crud import record_audit
from api.deps import SessionDep, SettingsDep, TemporalDep
from api.flows import update_with_start
from api.principal import Principal
from models.base import utcnow
from models.company import Company, User
from models.customers import Customer
from models.enums import ActionOutcome, Role
from models.invoices import Invoice
from models.logs import InboundMessage, MessageLog
from models.providers import WebhookEvent
from workflows.invoice import InvoiceInput, InvoiceWorkflow, ProviderPaymentInput

router = APIRouter(prefix="/webhooks", tags=["webhooks"], include_in_schema=False)
log = logging.getLogger(__name__)

STRIPE_TOLERANCE_SECONDS = 300
OPT_OUT = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}
OPT_IN = {"START", "YES", "UNSTOP"}
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


async def _first_time(session, provider: str, event_id: str) -> bool:
    """Claim the event; False when an earlier delivery of it was already handled."""
    inserted = await session.exec(
        insert(WebhookEvent)
        .values(provider=provider, event_id=event_id, received_at=utcnow())
        .on_conflict_do_nothing()
        .returning(WebhookEvent.event_id)
    )
    return inserted.first() is not None


@router.post("/stripe")
async def stripe_event(request: Request, session: SessionDep, settings: SettingsDep, client: TemporalDep):
    payload = await request.body()
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode(),
            request.headers.get("stripe-signature", ""),
            stripe_webhook_secret(settings),
            tolerance=STRIPE_TOLERANCE_SECONDS,  # an old signed event replayed later is refused
        )
        event = json.loads(payload)
    except (ValueError, UnicodeDecodeError, stripe.SignatureVerificationError):
        raise HTTPException(400, "invalid Stripe signature") from None
    if not await _first_time(session, "stripe", event["id"]):
        return {"received": True, "duplicate": True}
    checkout = event["data"]["object"]
    # "paid": card money has arrived (slower methods complete later and are not offered yet).
    if event["type"] == "checkout.session.completed" and checkout.get("payment_status") == "paid":
        await _invoice_paid_online(session, client, event["id"], checkout)
    await session.commit()
    return {"received": True}


async def _invoice_paid_online(session, client, event_id: str, checkout: dict) -> None:
    invoice_id = (checkout.get("metadata") or {}).get("invoice_id")
    invoice = await session.get(Invoice, uuid.UUID(invoice_id)) if invoice_id else None
    if invoice is None:
        log.warning("checkout %s names no invoice of ours", checkout.get("id"))
        return
    received_on = datetime.fromtimestamp(checkout.get("created") or utcnow().timestamp(), UTC).date()
    paid = ProviderPaymentInput(
        payment_reference=checkout.get("payment_intent") or checkout["id"],
        received_on=received_on.isoformat(),
        amount_cents=checkout.get("amount_total"),
    )
    try:
        await update_with_start(
            client,
            "invoice",
            invoice.id,
            invoice.company_id,
            InvoiceWorkflow.run,
            InvoiceInput(invoice_id=str(invoice.id), company_id=str(invoice.company_id)),
            InvoiceWorkflow.record_provider_payment,
            paid,
            # The event's id as the update's: a redelivery is the same update, answered the same.
            update_id=f"stripe-{event_id}",
        )
    except HTTPException as refused:
        if refused.status_code != 409:
            raise
        # Already paid, or void: money arrived that the rules will not book. Acknowledge, so Stripe stops
        # retrying, and put it in the action log where the office sees it (a refund may be due).
        await record_action(
            session,
            ActionRecord(
                company_id=str(invoice.company_id),
                action="record_payment",
                outcome=ActionOutcome.failed,
                reason=f"online payment {paid.payment_reference} not booked: {refused.detail}",
                entity_type="invoice",
                entity_id=str(invoice.id),
                workflow_id=f"invoice-{invoice.id}",
                idempotency_key=f"stripe/{paid.payment_reference}/not-booked",
            ),
        )


async def _verified_twilio_form(request: Request, settings) -> dict:
    form = dict(await request.form())
    # Twilio signs the exact URL it called: our public address, the path, and any query string.
    url = settings.public_url.rstrip("/") + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    signature = request.headers.get("x-twilio-signature", "")
    if not RequestValidator(twilio_auth_token(settings)).validate(url, form, signature):
        raise HTTPException(400, "invalid Twilio signature")
    return form


@router.post("/twilio/status")
async def twilio_status(request: Request, session: SessionDep, settings: SettingsDep):
    form = await _verified_twilio_form(request, settings)
    sid, reported = form.get("MessageSid", ""), form.get("MessageStatus", "")
    if not sid or reported not in TWILIO_STATUSES:
        return Response(status_code=204)
    # The event is recorded even when no row has this sid yet (the callback beat send_sms saving it):
    # send_sms applies it when it saves the sid. The lock keeps the two from missing each other.
    if not await _first_time(session, "twilio", f"{sid}:{reported}"):
        return Response(status_code=204)
    await lock_twilio_sid(session, sid)
    message = (
        await session.exec(select(MessageLog).where(MessageLog.provider_id == sid).with_for_update())
    ).first()
    if message is not None and apply_twilio_status(message, reported, form.get("ErrorCode")):
        session.add(message)
    await session.commit()
    return Response(status_code=204)


@router.post("/twilio/inbound")
async def twilio_inbound(request: Request, session: SessionDep, settings: SettingsDep):
    """A customer's text to a company's number (its own or a technician's): kept for each company that
    texts from that number (review requests read them first), and STOP / START set the sender's SMS
    consent there. A number nobody owns changes nothing."""
    form = await _verified_twilio_form(request, settings)
    sid = form.get("MessageSid", "")
    if not await _first_time(session, "twilio", sid):
        return Response(EMPTY_TWIML, media_type="application/xml")
    keyword = form.get("Body", "").strip().upper()
    to = form.get("To") or ""
    companies = (
        select(Company.id)
        .where(Company.sms_number == to)
        .union(select(User.company_id).where(User.sms_number == to))
    )
    customers = (
        await session.exec(
            select(Customer).where(Customer.phone == form.get("From"), Customer.company_id.in_(companies))
        )
    ).all()
    for customer in customers:
        session.add(
            InboundMessage(
                company_id=customer.company_id,
                customer_id=customer.id,
                from_address=form.get("From") or "",
                to_address=to,
                body=form.get("Body", ""),
                provider_id=f"{sid}/{customer.company_id}",
            )
        )
        if keyword not in OPT_OUT | OPT_IN or customer.sms_consent == (keyword in OPT_IN):
            continue
        consent = keyword in OPT_IN
        before = {"sms_consent": customer.sms_consent}
        customer.sms_consent = consent
        customer.sms_consent_at = utcnow()
        customer.sms_consent_source = f"sms_{keyword.lower()}"
        session.add(customer)
        texter = Principal(company_id=customer.company_id, role=Role.technician, actor=f"sms:{form['From']}")
        record_audit(session, texter, customer, "sms_consent", before, {"sms_consent": consent})
    await session.commit()
    return Response(EMPTY_TWIML, media_type="application/xml")
