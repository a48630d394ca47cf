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
from api.crud import record_audit
from api.deps import SessionDep, SettingsDep, TemporalDep
from api.flows import update_with_start
from api.principal import Principal
from models.base import utcnow
from models.company import Company
from models.customers import Customer
from models.enums import ActionOutcome, MessageStatus, Role
from models.invoices import Invoice
from models.logs import MessageLog
from models.providers import WebhookEvent
from workflows.invoice import InvoiceInput, InvoiceWorkflow, ProviderPaymentInput

router = APIRouter(prefix="/webhooks", tags=["webhooks"], include_in_schema=False)
log = logging.getLogger(__name__)

OPT_OUT = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}
OPT_IN = {"START", "YES", "UNSTOP"}
# Delivery moves one way; a late "sent" callback must not undo "delivered".
_STATUS_RANK = {
    MessageStatus.pending: 0,
    MessageStatus.queued: 1,
    MessageStatus.sent: 2,
    MessageStatus.delivered: 3,
    MessageStatus.undelivered: 3,
    MessageStatus.failed: 3,
}
_TWILIO_STATUSES = {
    "accepted": MessageStatus.queued,
    "queued": MessageStatus.queued,
    "sending": MessageStatus.queued,
    "sent": MessageStatus.sent,
    "delivered": MessageStatus.delivered,
    "undelivered": MessageStatus.undelivered,
    "failed": MessageStatus.failed,
}
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
            payload.decode(), request.headers.get("stripe-signature", ""), stripe_webhook_secret(settings)
        )
        event = json.loads(payload)
    except (ValueError, UnicodeDecodeError, stripe.SignatureVerificationError):
        raise HTTPException(400, "invalid Stripe signature") from None
    if not await _first_time(session, "stripe", event["id"]):
        return {"received": True, "duplicate": True}
    if event["type"] == "checkout.session.completed":
        await _invoice_paid_online(session, client, event["data"]["object"])
    await session.commit()
    return {"received": True}


async def _invoice_paid_online(session, client, checkout: dict) -> None:
    invoice_id = (checkout.get("metadata") or {}).get("invoice_id")
    invoice = await session.get(Invoice, uuid.UUID(invoice_id)) if invoice_id else None
    if invoice is None:
        log.warning("checkout %s names no invoice of ours", checkout.get("id"))
        return
    received_on = datetime.fromtimestamp(checkout.get("created") or utcnow().timestamp(), UTC).date()
    paid = ProviderPaymentInput(
        payment_reference=checkout.get("payment_intent") or checkout["id"],
        received_on=received_on.isoformat(),
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
    url = f"{settings.public_url}{request.url.path}"
    signature = request.headers.get("x-twilio-signature", "")
    if not RequestValidator(twilio_auth_token(settings)).validate(url, form, signature):
        raise HTTPException(400, "invalid Twilio signature")
    return form


@router.post("/twilio/status")
async def twilio_status(request: Request, session: SessionDep, settings: SettingsDep):
    form = await _verified_twilio_form(request, settings)
    sid, reported = form.get("MessageSid", ""), form.get("MessageStatus", "")
    status = _TWILIO_STATUSES.get(reported)
    if status is None or not await _first_time(session, "twilio", f"{sid}:{reported}"):
        return Response(status_code=204)
    message = (
        await session.exec(select(MessageLog).where(MessageLog.provider_id == sid).with_for_update())
    ).first()
    if message is not None and _STATUS_RANK[status] > _STATUS_RANK[message.status]:
        message.status = status
        if form.get("ErrorCode"):
            message.error = f"Twilio error {form['ErrorCode']}"
        message.updated_at = utcnow()
        session.add(message)
    await session.commit()
    return Response(status_code=204)


@router.post("/twilio/inbound")
async def twilio_inbound(request: Request, session: SessionDep, settings: SettingsDep):
    """STOP and START replies set the sender's SMS consent with each company that texts from that number."""
    form = await _verified_twilio_form(request, settings)
    keyword = form.get("Body", "").strip().upper()
    if keyword in OPT_OUT | OPT_IN and await _first_time(session, "twilio", form.get("MessageSid", "")):
        consent = keyword in OPT_IN
        companies = select(Company.id).where(Company.sms_number == form.get("To"))
        customers = await session.exec(
            select(Customer).where(Customer.phone == form.get("From"), Customer.company_id.in_(companies))
        )
        for customer in customers:
            if customer.sms_consent == consent:
                continue
            before = {"sms_consent": customer.sms_consent}
            customer.sms_consent = consent
            customer.sms_consent_at = utcnow()
            customer.sms_consent_source = f"sms_{keyword.lower()}"
            session.add(customer)
            texter = Principal(
                company_id=customer.company_id, role=Role.technician, actor=f"sms:{form['From']}"
            )
            record_audit(session, texter, customer, "sms_consent", before, {"sms_consent": consent})
        await session.commit()
    return Response(EMPTY_TWIML, media_type="application/xml")
