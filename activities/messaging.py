"""Texts (Twilio) and emails (Resend), each sent at most once.

A message row keyed by (workflow id, purpose) is written before the provider is called. A retry that finds
the row with the provider's id returns it without sending. A retry that finds it still pending (the first
attempt may have reached Twilio before its worker died) asks Twilio for a matching message before sending.
Emails also carry Resend's own Idempotency-Key.

Texts go only to customers who consented; a skipped or failed send leaves an action-log row saying why.
A customer who unsubscribed with the carrier (Twilio error 21610) loses SMS consent here as well.
Delivery status arrives later from Twilio's status callbacks (see api/routes/webhooks.py): a row is
"queued" once Twilio accepted the text, and moves on only as Twilio reports, never backwards. A callback
may arrive before the send saved Twilio's id; it is kept (webhook_event) and applied when the id is saved.
"""

import asyncio
import base64
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import resend
from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client as TwilioClient

from activities.action_log import ActionRecord, record_action
from activities.errors import is_final
from models.base import utcnow
from models.company import Company
from models.customers import Customer
from models.enums import ActionOutcome, Channel, MessageStatus
from models.logs import AuditLog, MessageLog
from models.providers import WebhookEvent
from settings import Settings

INVALID_PHONE_NUMBER = "InvalidPhoneNumber"
MESSAGE_REJECTED = "MessageRejected"
MESSAGING_ERRORS = [INVALID_PHONE_NUMBER, MESSAGE_REJECTED]
# Twilio error codes that mean "this number can never take this text".
_BAD_NUMBER_CODES = {21211, 21214, 21217, 21219, 21408, 21612, 21614}
# "Attempt to send to unsubscribed recipient": the customer texted STOP to the carrier. Not a bad number.
UNSUBSCRIBED = 21610
CARRIER_OPT_OUT = "the customer opted out with the carrier"
# A retry adopts a text an earlier attempt handed to Twilio: same To, From and body, made at most this long
# before the row (clocks differ; Twilio shows creation times to the second), among the newest ones.
_ADOPT_SLACK = timedelta(minutes=1)
_ADOPT_PAGE = 50

# What Twilio's MessageStatus values mean for our row. Delivery moves one way: a late "sent" callback must
# not undo "delivered".
TWILIO_STATUSES = {
    "accepted": MessageStatus.queued,
    "scheduled": MessageStatus.queued,
    "queued": MessageStatus.queued,
    "sending": MessageStatus.queued,
    "sent": MessageStatus.sent,
    "delivered": MessageStatus.delivered,
    "undelivered": MessageStatus.undelivered,
    "failed": MessageStatus.failed,
    "canceled": MessageStatus.failed,
}
_STATUS_RANK = {
    MessageStatus.pending: 0,
    MessageStatus.queued: 1,
    MessageStatus.sent: 2,
    MessageStatus.delivered: 3,
    MessageStatus.undelivered: 3,
    MessageStatus.failed: 3,
}


def apply_twilio_status(message: MessageLog, reported: str, error_code: str | int | None = None) -> bool:
    """Move a text's row to the status Twilio reported, only ever forward. The one place that rule lives:
    status callbacks and send_sms (statuses that arrived before it saved the sid) both come here.
    False when the status is not one we know or would not move the row on."""
    status = TWILIO_STATUSES.get(reported)
    if status is None or _STATUS_RANK[status] <= _STATUS_RANK[MessageStatus(message.status)]:
        return False
    message.status = status
    if error_code:
        message.error = f"Twilio error {error_code}"
    elif status in (MessageStatus.failed, MessageStatus.undelivered) and not message.error:
        message.error = f"Twilio reported {reported}"
    message.updated_at = utcnow()
    return True


async def lock_twilio_sid(session: AsyncSession, sid: str) -> None:
    """Take a transaction-long lock on one Twilio message id. Both writers of its status take it before
    looking at the other's data: the status callback (records the event, then looks for the row) and
    send_sms (saves the id on the row, then looks for events). Without it each could miss the other's
    uncommitted write and an early status would be lost."""
    digest = hashlib.sha256(f"nexjob/twilio-sid/{sid}".encode()).digest()
    await session.exec(select(func.pg_advisory_xact_lock(int.from_bytes(digest[:8], "big", signed=True))))


@dataclass
class MessageTarget:
    """Which record a message is about and which step of which workflow sends it."""

    company_id: str
    entity_type: str
    entity_id: str
    workflow_id: str
    purpose: str  # "omw", "reminder-24h", …: one message per workflow and purpose
    customer_id: str | None = None  # set: the customer's consent applies
    automation_key: str | None = None


@dataclass
class SmsRequest:
    target: MessageTarget
    to: str
    body: str
    from_number: str | None = None  # a technician's own number; else the company's


@dataclass
class EmailAttachment:
    filename: str
    content_base64: str


@dataclass
class EmailRequest:
    target: MessageTarget
    to: str
    subject: str
    html: str
    text: str
    attachments: list[EmailAttachment] = field(default_factory=list)


@dataclass
class SendResult:
    outcome: str  # "sent" (the provider took it) or "skipped"
    message_id: str | None = None
    provider_id: str | None = None
    reason: str | None = None


class MessagingActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], twilio: TwilioClient, settings: Settings):
        self._sessions = sessions
        self._twilio = twilio
        self._status_callback = f"{settings.public_url.rstrip('/')}/webhooks/twilio/status"
        self._email_from = settings.email_from

    @activity.defn
    async def send_sms(self, request: SmsRequest) -> SendResult:
        target = request.target
        async with self._sessions() as session:
            company = await session.get(Company, uuid.UUID(target.company_id))
            reason = await self._why_not_text(session, target, company, request)
            if reason:
                await _log(session, target, "send_sms", ActionOutcome.skipped, reason)
                await session.commit()
                return SendResult("skipped", reason=reason)
            sender = request.from_number or company.sms_number
            message = await _message_row(session, target, Channel.sms, request.to, sender, request.body)
            await session.commit()
            if message.provider_id:
                return SendResult("sent", str(message.id), message.provider_id)

            adopted = await self._sent_by_an_earlier_attempt(session, message)
            if adopted:
                provider_id, reported = adopted
            else:
                try:
                    provider_id, reported = await asyncio.to_thread(self._twilio_create, message)
                except TwilioRestException as error:
                    if error.code == UNSUBSCRIBED:
                        await _carrier_opt_out(session, message, target, error.msg)
                        return SendResult("skipped", str(message.id), reason=CARRIER_OPT_OUT)
                    if not is_final(error.status):
                        raise  # rate limits, 5xx: the row stays pending and Temporal retries
                    kind = INVALID_PHONE_NUMBER if error.code in _BAD_NUMBER_CODES else MESSAGE_REJECTED
                    refused = ApplicationError(error.msg, error.code, type=kind, non_retryable=True)
                    await _record_refusal(session, message, target, "send_sms", refused)
                    raise refused from None
            await _save_twilio_sid(session, message, provider_id, reported)
            await _log(session, target, "send_sms", ActionOutcome.sent, None)
            await session.commit()
            return SendResult("sent", str(message.id), provider_id)

    async def _why_not_text(self, session, target: MessageTarget, company, request: SmsRequest) -> str | None:
        if target.customer_id:
            customer = await session.get(Customer, uuid.UUID(target.customer_id))
            if customer is None or not customer.sms_consent:
                return "no SMS consent"
        if not (request.from_number or company.sms_number):
            return "the company has no SMS number"
        return None

    def _twilio_create(self, message: MessageLog) -> tuple[str, str]:
        sent = self._twilio.messages.create(
            to=message.to_address,
            from_=message.from_address,
            body=message.body,
            status_callback=self._status_callback,
        )
        return sent.sid, sent.status

    async def _sent_by_an_earlier_attempt(self, session, message: MessageLog) -> tuple[str, str] | None:
        """A text an earlier attempt handed to Twilio before it could record the answer: (sid, status).

        Listed by To and From only: Twilio's DateSent filters match the sent date, which a text still
        queued does not have yet. Creation time is checked here instead, and a text whose sid is already
        some row's provider id belongs to that row (the same template text from another workflow)."""
        if activity.info().attempt == 1:
            return None
        candidates = await asyncio.to_thread(
            self._twilio.messages.list, to=message.to_address, from_=message.from_address, limit=_ADOPT_PAGE
        )
        since = message.created_at - _ADOPT_SLACK
        matching = [
            c for c in candidates if c.body == message.body and c.date_created and c.date_created >= since
        ]
        if not matching:
            return None
        taken = set(
            (
                await session.exec(
                    select(MessageLog.provider_id).where(
                        MessageLog.provider_id.in_([c.sid for c in matching])
                    )
                )
            ).all()
        )
        for candidate in matching:  # newest first, as Twilio lists them
            if candidate.sid not in taken:
                return candidate.sid, candidate.status
        return None

    @activity.defn
    async def send_email(self, request: EmailRequest) -> SendResult:
        target = request.target
        async with self._sessions() as session:
            message = await _message_row(
                session, target, Channel.email, request.to, self._email_from, request.text, request.subject
            )
            await session.commit()
            if message.provider_id:
                return SendResult("sent", str(message.id), message.provider_id)
            params = {
                "from": self._email_from,
                "to": [request.to],
                "subject": request.subject,
                "html": request.html,
                "text": request.text,
            }
            if request.attachments:
                params["attachments"] = [
                    {"filename": a.filename, "content": list(base64.b64decode(a.content_base64))}
                    for a in request.attachments
                ]
            key = f"{target.workflow_id}/{target.purpose}"
            try:
                sent = await asyncio.to_thread(resend.Emails.send, params, {"idempotency_key": key})
            except resend.exceptions.ResendError as error:
                if not is_final(_status_of(error)):
                    raise  # rate limits and 5xx: Temporal retries
                refused = ApplicationError(error.message, type=MESSAGE_REJECTED, non_retryable=True)
                await _record_refusal(session, message, target, "send_email", refused)
                raise refused from None
            message.provider_id = sent["id"]
            message.status = MessageStatus.queued
            message.updated_at = utcnow()
            session.add(message)
            await _log(session, target, "send_email", ActionOutcome.sent, None)
            await session.commit()
            return SendResult("sent", str(message.id), sent["id"])


def _status_of(error: "resend.exceptions.ResendError") -> int | None:
    try:
        return int(error.code)
    except (TypeError, ValueError):
        return None


async def _message_row(
    session: AsyncSession,
    target: MessageTarget,
    channel: Channel,
    to: str,
    sender: str | None,
    body: str,
    subject: str | None = None,
) -> MessageLog:
    await session.exec(
        insert(MessageLog)
        .values(
            id=uuid.uuid4(),
            company_id=uuid.UUID(target.company_id),
            customer_id=uuid.UUID(target.customer_id) if target.customer_id else None,
            channel=channel,
            to_address=to,
            from_address=sender,
            subject=subject,
            body=body,
            purpose=target.purpose,
            workflow_id=target.workflow_id,
            status=MessageStatus.pending,
            created_at=utcnow(),
            updated_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["workflow_id", "purpose"])
    )
    # No row lock: the caller commits before calling the provider, which would release it anyway. Once-only
    # rests on the unique (workflow_id, purpose) row and its provider id: a retry that finds the id does
    # not send, one that finds none first looks for an earlier attempt's text (Twilio) or sends with the
    # same idempotency key (Resend). Temporal runs one attempt of an activity at a time.
    stmt = select(MessageLog).where(
        MessageLog.workflow_id == target.workflow_id, MessageLog.purpose == target.purpose
    )
    return (await session.exec(stmt)).one()


async def _save_twilio_sid(session, message: MessageLog, provider_id: str, reported: str | None) -> None:
    """Record Twilio's id on the row, then the statuses Twilio reported for it before it was recorded
    (their callbacks found no row, but each left its webhook_event): the highest-ranked one wins."""
    await lock_twilio_sid(session, provider_id)
    message.provider_id = provider_id
    apply_twilio_status(message, "queued")  # Twilio accepted it
    if reported:
        apply_twilio_status(message, reported)
    early = await session.exec(
        select(WebhookEvent.event_id).where(
            WebhookEvent.provider == "twilio", WebhookEvent.event_id.startswith(f"{provider_id}:")
        )
    )
    for event_id in early.all():
        apply_twilio_status(message, event_id.partition(":")[2])
    session.add(message)


async def _carrier_opt_out(session, message: MessageLog, target: MessageTarget, error: str) -> None:
    """Twilio 21610: the customer unsubscribed with the carrier. Not a bad number and not worth a retry:
    consent goes off here too (so later texts are skipped up front), and this send is logged as skipped."""
    message.status = MessageStatus.failed  # never sent; the action log says it was skipped and why
    message.error = f"{CARRIER_OPT_OUT} (Twilio {UNSUBSCRIBED}: {error})"
    message.updated_at = utcnow()
    session.add(message)
    customer = await session.get(Customer, uuid.UUID(target.customer_id)) if target.customer_id else None
    if customer is not None and customer.sms_consent:
        customer.sms_consent = False
        customer.sms_consent_at = utcnow()
        customer.sms_consent_source = "carrier_opt_out"
        session.add(customer)
        session.add(
            AuditLog(
                company_id=customer.company_id,
                actor=f"workflow:{target.workflow_id}",
                entity_type=Customer.__tablename__,
                entity_id=customer.id,
                action="sms_consent",
                before={"sms_consent": True},
                after={"sms_consent": False},
            )
        )
    await _log(session, target, "send_sms", ActionOutcome.skipped, CARRIER_OPT_OUT)
    await session.commit()


async def _record_refusal(session, message: MessageLog, target, action: str, refused: ApplicationError):
    """A provider's final no: the row says failed (never sent), the action log says why."""
    message.status = MessageStatus.failed
    message.error = refused.message
    message.updated_at = utcnow()
    session.add(message)
    await _log(session, target, action, ActionOutcome.failed, refused.message)
    await session.commit()


async def _log(session, target: MessageTarget, action: str, outcome: ActionOutcome, reason: str | None):
    await record_action(
        session,
        ActionRecord(
            company_id=target.company_id,
            action=action,
            outcome=outcome,
            entity_type=target.entity_type,
            entity_id=target.entity_id,
            workflow_id=target.workflow_id,
            automation_key=target.automation_key,
            reason=reason,
            idempotency_key=f"{target.workflow_id}/{target.purpose}/{outcome.value}",
        ),
    )
