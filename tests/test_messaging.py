"""Texts and emails through the real Twilio and Resend SDKs (sandboxed): once only, consent first,
delivery status from signed callbacks, STOP/START from signed inbound texts."""

import asyncio
import dataclasses
import uuid

import httpx
import pytest
from sqlmodel import select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment
from twilio.request_validator import RequestValidator

from activities.clients import configure_resend, twilio_client
from activities.messaging import EmailRequest, MessageTarget, MessagingActivities, SmsRequest
from models.company import Company
from models.customers import Customer
from models.logs import ActionLog, MessageLog
from sandbox import credentials as sandbox_keys


@pytest.fixture
async def texting_tenant(tenant, sessions):
    """The test company with an SMS number of its own (so inbound texts find it)."""
    number = "+1512" + str(uuid.uuid4().int)[:7]
    async with sessions() as session:
        company = await session.get(Company, tenant.company_id)
        company.sms_number = number
        session.add(company)
        await session.commit()
    tenant.company.sms_number = number
    return tenant


@pytest.fixture
def messaging(sessions, settings, api_url, healthy_sandbox):  # the API must listen: callbacks go there
    configure_resend(settings)
    return MessagingActivities(sessions, twilio_client(settings), settings)


async def _customer(tenant, phone: str, consent: bool = True) -> str:
    office = await tenant.client("manager")
    body = {
        "name": "Texted",
        "phone": phone,
        "email": f"{uuid.uuid4().hex[:8]}@example.com",
        "sms_consent": consent,
    }
    return (await office.post("/v1/customers", json=body)).json()["id"]


def _target(tenant, customer_id: str | None, purpose: str = "omw") -> MessageTarget:
    job = str(uuid.uuid4())
    return MessageTarget(
        company_id=str(tenant.company_id),
        entity_type="job",
        entity_id=job,
        workflow_id=f"job-{job}",
        purpose=purpose,
        customer_id=customer_id,
        automation_key="send_omw_texts",
    )


async def _message(sessions, target: MessageTarget) -> MessageLog:
    async with sessions() as session:
        stmt = select(MessageLog).where(MessageLog.workflow_id == target.workflow_id)
        return (await session.exec(stmt)).one()


async def _wait_for_status(sessions, target, wanted: str) -> MessageLog:
    for _ in range(100):
        message = await _message(sessions, target)
        if message.status == wanted:
            return message
        await asyncio.sleep(0.05)
    raise AssertionError(f"message stayed {message.status}, expected {wanted}")


def _texts_to(sandbox, number: str) -> list:
    return [e for e in sandbox.outbox if e.channel == "sms" and e.to == number]


async def test_sms_is_queued_then_delivered_by_signed_status_callbacks(
    texting_tenant, messaging, sessions, sandbox
):
    phone = "+15125550177"
    target = _target(texting_tenant, await _customer(texting_tenant, phone))
    result = await ActivityEnvironment().run(
        messaging.send_sms, SmsRequest(target, phone, "Your tech is on the way")
    )
    assert result.outcome == "sent" and result.provider_id.startswith("SM")
    queued = await _message(sessions, target)
    assert (
        queued.status in ("queued", "sent", "delivered")
        and queued.from_address == texting_tenant.company.sms_number
    )
    delivered = await _wait_for_status(sessions, target, "delivered")
    assert delivered.provider_id == result.provider_id


async def test_a_retried_sms_activity_does_not_send_twice(texting_tenant, messaging, sessions, sandbox):
    phone = "+15125550178"
    target = _target(texting_tenant, await _customer(texting_tenant, phone))
    request = SmsRequest(target, phone, "Reminder: tomorrow at 9")
    first = await ActivityEnvironment().run(messaging.send_sms, request)
    again = await ActivityEnvironment().run(messaging.send_sms, request)
    assert again.provider_id == first.provider_id
    assert len([e for e in _texts_to(sandbox, phone) if e.body == request.body]) == 1


async def test_a_retry_after_twilio_took_the_text_but_the_worker_died_adopts_it(
    texting_tenant, messaging, sessions, sandbox, settings
):
    phone = "+15125550179"
    target = _target(texting_tenant, await _customer(texting_tenant, phone))
    request = SmsRequest(target, phone, "Your invoice is ready")
    # The first attempt wrote its row and reached Twilio, then died before recording the answer.
    twilio = twilio_client(settings)
    from_number = texting_tenant.company.sms_number
    async with sessions() as session:
        session.add(
            MessageLog(
                company_id=texting_tenant.company_id,
                customer_id=uuid.UUID(target.customer_id),
                channel="sms",
                to_address=phone,
                from_address=from_number,
                body=request.body,
                purpose=target.purpose,
                workflow_id=target.workflow_id,
            )
        )
        await session.commit()
    sent = await asyncio.to_thread(twilio.messages.create, to=phone, from_=from_number, body=request.body)

    retry = ActivityEnvironment()
    retry.info = dataclasses.replace(retry.info, attempt=2)
    result = await retry.run(messaging.send_sms, request)
    assert result.provider_id == sent.sid
    assert len([e for e in _texts_to(sandbox, phone) if e.body == request.body]) == 1


async def test_no_consent_no_text_and_the_skip_is_logged(texting_tenant, messaging, sessions, sandbox):
    phone = "+15125550180"
    target = _target(texting_tenant, await _customer(texting_tenant, phone, consent=False))
    result = await ActivityEnvironment().run(messaging.send_sms, SmsRequest(target, phone, "Hello"))
    assert result.outcome == "skipped" and result.reason == "no SMS consent"
    assert _texts_to(sandbox, phone) == []
    async with sessions() as session:
        rows = (
            await session.exec(select(ActionLog).where(ActionLog.workflow_id == target.workflow_id))
        ).all()
    assert [(r.outcome, r.reason) for r in rows] == [("skipped", "no SMS consent")]


async def test_invalid_number_is_a_typed_final_failure_and_never_shows_sent(
    texting_tenant, messaging, sessions
):
    phone = "+15005550001"  # Twilio's magic "invalid number"
    target = _target(texting_tenant, await _customer(texting_tenant, phone))
    with pytest.raises(ApplicationError) as failure:
        await ActivityEnvironment().run(messaging.send_sms, SmsRequest(target, phone, "Hi"))
    assert failure.value.type == "InvalidPhoneNumber" and failure.value.non_retryable
    message = await _message(sessions, target)
    assert message.status == "failed" and message.provider_id is None


async def test_undelivered_text_ends_undelivered(texting_tenant, messaging, sessions):
    phone = "+15005550010"  # the sandbox's carrier drops texts to this number
    target = _target(texting_tenant, await _customer(texting_tenant, phone))
    await ActivityEnvironment().run(messaging.send_sms, SmsRequest(target, phone, "Hi"))
    message = await _wait_for_status(sessions, target, "undelivered")
    assert "30003" in message.error


async def test_email_goes_out_once_with_resends_idempotency_key(texting_tenant, messaging, sessions, sandbox):
    target = _target(texting_tenant, None, purpose="invoice-email")
    to = f"{uuid.uuid4().hex[:8]}@example.com"
    request = EmailRequest(target, to, "Invoice #1001", "<p>Thanks!</p>", "Thanks!")
    first = await ActivityEnvironment().run(messaging.send_email, request)
    again = await ActivityEnvironment().run(messaging.send_email, request)
    assert first.provider_id == again.provider_id
    assert len([e for e in sandbox.outbox if e.channel == "email" and e.to == to]) == 1


async def _inbound(sandbox_url: str, sender: str, to: str, body: str) -> int:
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{sandbox_url}/inbound-sms", json={"from": sender, "to": to, "body": body}
        )
        return response.status_code


async def _consent(sessions, customer_id: str) -> bool:
    async with sessions() as session:
        return (await session.get(Customer, uuid.UUID(customer_id))).sms_consent


async def test_stop_and_start_replies_change_consent(
    texting_tenant, sessions, settings, api_url, healthy_sandbox
):
    phone = "+15125550181"
    customer_id = await _customer(texting_tenant, phone)
    to = texting_tenant.company.sms_number
    await _inbound(settings.sandbox_url, phone, to, "STOP")
    assert await _consent(sessions, customer_id) is False
    await _inbound(settings.sandbox_url, phone, to, "start")
    assert await _consent(sessions, customer_id) is True


async def test_forged_twilio_callbacks_are_refused(texting_tenant, sessions, api_url):
    phone = "+15125550182"
    customer_id = await _customer(texting_tenant, phone)
    form = {"From": phone, "To": texting_tenant.company.sms_number, "Body": "STOP", "MessageSid": "SMforged"}
    url = f"{api_url}/webhooks/twilio/inbound"
    async with httpx.AsyncClient() as client:
        unsigned = await client.post(url, data=form)
        wrong_key = RequestValidator("not-the-token").compute_signature(url, form)
        forged = await client.post(url, data=form, headers={"X-Twilio-Signature": wrong_key})
        good = RequestValidator(sandbox_keys.TWILIO_AUTH_TOKEN).compute_signature(url, form)
        tampered = await client.post(url, data=form | {"Body": "START"}, headers={"X-Twilio-Signature": good})
    assert unsigned.status_code == forged.status_code == tampered.status_code == 400
    assert await _consent(sessions, customer_id) is True
