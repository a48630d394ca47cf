"""Texts (Twilio) and emails (Resend), each sent at most once.

A message row keyed by (workflow id, purpose) is written before the provider is called. A retry that finds
the row with the provider's id returns it without sending. A retry that finds it still pending (the first
attempt may have reached Twilio before its worker died) asks Twilio for a matching message before sending.
Emails also carry Resend's own Idempotency-Key.

Texts go only to customers who consented; a skipped or failed send leaves an action-log row saying why.
Delivery status arrives later from Twilio's status callbacks (see api/routes/webhooks.py): a row is
"queued" when the carrier took it, never "sent" before Twilio says so.
"""

import asyncio
import base64
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import resend
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client as TwilioClient

from activities.action_log import ActionRecord, record_action
from models.base import utcnow
from models.company import Company
from models.customers import Customer
from models.enums import ActionOutcome, Channel, MessageStatus
from models.logs import MessageLog
from settings import Settings

INVALID_PHONE_NUMBER = "InvalidPhoneNumber"
MESSAGE_REJECTED = "MessageRejected"
MESSAGING_ERRORS = [INVALID_PHONE_NUMBER, MESSAGE_REJECTED]
# Twilio error codes that mean "this number can never take this text".
_BAD_NUMBER_CODES = {21211, 21214, 21217, 21219, 21408, 21610, 21612, 21614}


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
        self._status_callback = f"{settings.public_url}/webhooks/twilio/status"
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

            try:
                provider_id = await asyncio.to_thread(self._twilio_send_once, message)
            except ApplicationError as refused:
                await _record_refusal(session, message, target, "send_sms", refused)
                raise
            message.provider_id = provider_id
            message.status = MessageStatus.queued
            message.updated_at = utcnow()
            session.add(message)
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

    def _twilio_send_once(self, message: MessageLog) -> str:
        already = self._find_sent(message)
        if already:
            return already
        try:
            sent = self._twilio.messages.create(
                to=message.to_address,
                from_=message.from_address,
                body=message.body,
                status_callback=self._status_callback,
            )
        except TwilioRestException as error:
            if 400 <= error.status < 500:
                kind = INVALID_PHONE_NUMBER if error.code in _BAD_NUMBER_CODES else MESSAGE_REJECTED
                raise ApplicationError(error.msg, error.code, type=kind, non_retryable=True) from None
            raise
        return sent.sid

    def _find_sent(self, message: MessageLog) -> str | None:
        """A message an earlier attempt handed to Twilio before it could record the answer."""
        if activity.info().attempt == 1:
            return None
        since = message.created_at - timedelta(minutes=1)
        for candidate in self._twilio.messages.list(
            to=message.to_address, from_=message.from_address, date_sent_after=since, limit=50
        ):
            if candidate.body == message.body:
                return candidate.sid
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
                if not (str(error.code).startswith("4") and str(error.code) != "429"):
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
    stmt = select(MessageLog).where(
        MessageLog.workflow_id == target.workflow_id, MessageLog.purpose == target.purpose
    )
    return (await session.exec(stmt.with_for_update())).one()


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
