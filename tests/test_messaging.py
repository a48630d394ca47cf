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
from activities.messaging import (
    CARRIER_OPT_OUT,
    EmailRequest,
    MessageTarget,
    MessagingActivities,
    SmsRequest,
)
from models.company import Company, User
from models.customers import Customer
from models.logs import ActionLog, MessageLog
from models.providers import WebhookEvent
from sandbox import credentials as sandbox_keys
from sandbox import twilio_api


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


async def _pending_row(sessions, tenant, target: MessageTarget, phone: str, body: str) -> None:
    """What a first attempt leaves when it dies after writing its row: the row, still pending."""
    async with sessions() as session:
        session.add(
            MessageLog(
                company_id=tenant.company_id,
                customer_id=uuid.UUID(target.customer_id) if target.customer_id else None,
                channel="sms",
                to_address=phone,
                from_address=tenant.company.sms_number,
                body=body,
                purpose=target.purpose,
                workflow_id=target.workflow_id,
            )
        )
        await session.commit()


async def _queued_row(sessions, tenant, target, phone: str, body: str) -> str:
    """A message Twilio took (queued, with its sid) and nothing has reported on since."""
    await _pending_row(sessions, tenant, target, phone, body)
    sid = "SM" + uuid.uuid4().hex
    async with sessions() as session:
        stmt = select(MessageLog).where(MessageLog.workflow_id == target.workflow_id)
        message = (await session.exec(stmt)).one()
        message.provider_id, message.status = sid, "queued"
        session.add(message)
        await session.commit()
    return sid


def _retry() -> ActivityEnvironment:
    retry = ActivityEnvironment()
    retry.info = dataclasses.replace(retry.info, attempt=2)
    return retry


async def test_a_retry_after_twilio_took_the_text_but_the_worker_died_adopts_it(
    texting_tenant, messaging, sessions, sandbox, settings, monkeypatch
):
    phone = "+15125550179"
    target = _target(texting_tenant, await _customer(texting_tenant, phone))
    request = SmsRequest(target, phone, "Your invoice is ready")
    # The first attempt wrote its row and reached Twilio, then died before recording the answer. The
    # carrier is slow: the text is still queued, so it has no sent date yet (Twilio's DateSent filters
    # would not find it).
    monkeypatch.setattr(twilio_api, "STEP_SECONDS", 2)
    twilio = twilio_client(settings)
    from_number = texting_tenant.company.sms_number
    await _pending_row(sessions, texting_tenant, target, phone, request.body)
    sent = await asyncio.to_thread(twilio.messages.create, to=phone, from_=from_number, body=request.body)

    result = await _retry().run(messaging.send_sms, request)
    assert result.provider_id == sent.sid
    assert (await asyncio.to_thread(twilio.messages(sent.sid).fetch)).status == "queued"
    assert len([e for e in _texts_to(sandbox, phone) if e.body == request.body]) == 1
    assert (await _message(sessions, target)).status == "queued"


async def test_a_retry_does_not_adopt_another_workflows_identical_text(
    texting_tenant, messaging, sessions, sandbox
):
    phone = "+15125550183"
    customer_id = await _customer(texting_tenant, phone)
    body = "Reminder: your appointment is tomorrow"
    first = await ActivityEnvironment().run(
        messaging.send_sms, SmsRequest(_target(texting_tenant, customer_id), phone, body)
    )
    # Another workflow's first attempt wrote its row and died before reaching Twilio.
    other = _target(texting_tenant, customer_id)
    await _pending_row(sessions, texting_tenant, other, phone, body)
    second = await _retry().run(messaging.send_sms, SmsRequest(other, phone, body))
    assert second.outcome == "sent" and second.provider_id != first.provider_id
    assert len([e for e in _texts_to(sandbox, phone) if e.body == body]) == 2


def _signed(url: str, form: dict) -> dict:
    return {
        "X-Twilio-Signature": RequestValidator(sandbox_keys.TWILIO_AUTH_TOKEN).compute_signature(url, form)
    }


async def _status_callback(api_url: str, sid: str, status: str, **extra) -> int:
    url = f"{api_url}/webhooks/twilio/status"
    form = {
        "MessageSid": sid,
        "MessageStatus": status,
        "AccountSid": sandbox_keys.TWILIO_ACCOUNT_SID,
        **extra,
    }
    async with httpx.AsyncClient() as client:
        return (await client.post(url, data=form, headers=_signed(url, form))).status_code


async def test_statuses_that_beat_the_saved_sid_are_applied_when_it_is_saved(
    texting_tenant, messaging, sessions, sandbox, settings, api_url, monkeypatch
):
    phone = "+15125550184"
    target = _target(texting_tenant, await _customer(texting_tenant, phone))
    request = SmsRequest(target, phone, "Your tech is 10 minutes away")
    monkeypatch.setattr(twilio_api, "STEP_SECONDS", 2)  # the sandbox's own callbacks stay out of the way
    await _pending_row(sessions, texting_tenant, target, phone, request.body)
    twilio = twilio_client(settings)
    sent = await asyncio.to_thread(
        twilio.messages.create, to=phone, from_=texting_tenant.company.sms_number, body=request.body
    )
    # Twilio reports on the text before any row carries its sid: the callbacks are kept, not lost.
    assert await _status_callback(api_url, sent.sid, "delivered") == 204
    assert await _status_callback(api_url, sent.sid, "sent") == 204
    assert (await _message(sessions, target)).status == "pending"

    result = await _retry().run(messaging.send_sms, request)
    assert result.provider_id == sent.sid
    assert (await _message(sessions, target)).status == "delivered"  # the highest one, never back to sent


async def test_a_status_callback_before_send_sms_records_the_sid_is_not_lost(
    texting_tenant, messaging, sessions, sandbox, settings, api_url
):
    phone = "+15125550185"
    target = _target(texting_tenant, await _customer(texting_tenant, phone))
    create = messaging._twilio_create

    def create_then_callback_at_once(message):
        sid, status = create(message)
        form = {
            "MessageSid": sid,
            "MessageStatus": "delivered",
            "AccountSid": sandbox_keys.TWILIO_ACCOUNT_SID,
        }
        url = f"{api_url}/webhooks/twilio/status"
        httpx.post(url, data=form, headers=_signed(url, form)).raise_for_status()
        return sid, status

    messaging._twilio_create = create_then_callback_at_once
    result = await ActivityEnvironment().run(messaging.send_sms, SmsRequest(target, phone, "On my way"))
    message = await _message(sessions, target)
    assert message.provider_id == result.provider_id and message.status == "delivered"


async def test_canceled_means_failed(texting_tenant, sessions, api_url):
    target = _target(texting_tenant, None, purpose="scheduled-reminder")
    sid = await _queued_row(sessions, texting_tenant, target, "+15125550186", "Tomorrow at 9")
    assert await _status_callback(api_url, sid, "canceled") == 204
    assert (await _message(sessions, target)).status == "failed"


@pytest.mark.parametrize("trouble", ["rate_limit", "fail"])
async def test_twilio_rate_limits_and_outages_are_retried_and_the_text_goes_once(
    texting_tenant, messaging, sessions, sandbox, trouble
):
    phone = "+15125550187" if trouble == "rate_limit" else "+15125550188"
    target = _target(texting_tenant, await _customer(texting_tenant, phone))
    request = SmsRequest(target, phone, "Your invoice is ready")
    sandbox.controls.set("twilio", trouble, times=1)  # 429, or 500
    with pytest.raises(Exception) as passing:
        await ActivityEnvironment().run(messaging.send_sms, request)
    assert not (isinstance(passing.value, ApplicationError) and passing.value.non_retryable)
    message = await _message(sessions, target)
    assert message.status == "pending" and message.provider_id is None
    assert _texts_to(sandbox, phone) == []

    result = await _retry().run(messaging.send_sms, request)
    assert result.outcome == "sent"
    assert len(_texts_to(sandbox, phone)) == 1
    assert (await _message(sessions, target)).provider_id == result.provider_id


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


async def test_a_carrier_opt_out_withdraws_consent_and_skips_without_failing(
    texting_tenant, messaging, sessions, sandbox
):
    phone = "+15005550004"  # Twilio's magic "unsubscribed recipient" (21610)
    customer_id = await _customer(texting_tenant, phone)
    target = _target(texting_tenant, customer_id)
    result = await ActivityEnvironment().run(messaging.send_sms, SmsRequest(target, phone, "Hi"))
    assert result.outcome == "skipped" and result.reason == CARRIER_OPT_OUT
    async with sessions() as session:
        customer = await session.get(Customer, uuid.UUID(customer_id))
        rows = (
            await session.exec(select(ActionLog).where(ActionLog.workflow_id == target.workflow_id))
        ).all()
    assert customer.sms_consent is False and customer.sms_consent_source == "carrier_opt_out"
    assert customer.sms_consent_at is not None
    assert [(r.outcome, r.reason) for r in rows] == [("skipped", CARRIER_OPT_OUT)]
    assert (await _message(sessions, target)).provider_id is None
    later = await ActivityEnvironment().run(
        messaging.send_sms, SmsRequest(_target(texting_tenant, customer_id), phone, "Hi again")
    )
    assert later.outcome == "skipped" and later.reason == "no SMS consent"


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


async def test_stop_to_a_technicians_own_number_is_honoured_for_that_company_only(
    texting_tenant, other_tenant, sessions, settings, api_url, healthy_sandbox
):
    phone = "+15125550189"
    ours, theirs = await _customer(texting_tenant, phone), await _customer(other_tenant, phone)
    tech_number = "+1737" + str(uuid.uuid4().int)[:7]
    async with sessions() as session:
        tech = await session.get(User, texting_tenant.users["tech"].id)
        tech.sms_number = tech_number
        session.add(tech)
        await session.commit()

    await _inbound(settings.sandbox_url, phone, "+1919" + str(uuid.uuid4().int)[:7], "STOP")  # nobody's
    assert await _consent(sessions, ours) is True and await _consent(sessions, theirs) is True
    await _inbound(settings.sandbox_url, phone, tech_number, "STOP")
    assert await _consent(sessions, ours) is False and await _consent(sessions, theirs) is True
    await _inbound(settings.sandbox_url, phone, tech_number, "START")
    assert await _consent(sessions, ours) is True


async def test_a_replayed_status_callback_applies_once(texting_tenant, sessions, api_url):
    target = _target(texting_tenant, None, purpose="invoice-sms")
    sid = await _queued_row(sessions, texting_tenant, target, "+15125550190", "Invoice ready")
    assert await _status_callback(api_url, sid, "undelivered", ErrorCode="30003") == 204
    first = await _message(sessions, target)
    assert await _status_callback(api_url, sid, "undelivered", ErrorCode="30005") == 204
    again = await _message(sessions, target)
    assert (again.status, again.error, again.updated_at) == (
        "undelivered",
        "Twilio error 30003",
        first.updated_at,
    )
    async with sessions() as session:
        events = (
            await session.exec(select(WebhookEvent).where(WebhookEvent.event_id == f"{sid}:undelivered"))
        ).all()
    assert len(events) == 1


async def test_a_replayed_inbound_stop_is_handled_once(texting_tenant, sessions, api_url):
    phone = "+15125550191"
    customer_id = await _customer(texting_tenant, phone)
    url = f"{api_url}/webhooks/twilio/inbound"
    form = {
        "From": phone,
        "To": texting_tenant.company.sms_number,
        "Body": "STOP",
        "MessageSid": "SM" + uuid.uuid4().hex,
    }
    async with httpx.AsyncClient() as client:
        assert (await client.post(url, data=form, headers=_signed(url, form))).status_code == 200
        assert await _consent(sessions, customer_id) is False
        office = await texting_tenant.client("manager")
        restored = await office.patch(
            f"/v1/customers/{customer_id}", json={"sms_consent": True, "sms_consent_source": "office"}
        )
        assert restored.status_code == 200
        assert (await client.post(url, data=form, headers=_signed(url, form))).status_code == 200
    assert await _consent(sessions, customer_id) is True


async def test_the_signature_covers_the_query_string(texting_tenant, sessions, api_url):
    phone = "+15125550192"
    customer_id = await _customer(texting_tenant, phone)
    form = {
        "From": phone,
        "To": texting_tenant.company.sms_number,
        "Body": "STOP",
        "MessageSid": "SM" + uuid.uuid4().hex,
    }
    url = f"{api_url}/webhooks/twilio/inbound?source=carrier"
    async with httpx.AsyncClient() as client:
        without_query = await client.post(url, data=form, headers=_signed(url.partition("?")[0], form))
        assert without_query.status_code == 400
        assert await _consent(sessions, customer_id) is True
        signed = await client.post(url, data=form, headers=_signed(url, form))
    assert signed.status_code == 200
    assert await _consent(sessions, customer_id) is False
