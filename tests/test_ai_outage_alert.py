"""When both AI providers are down, customer-facing text falls back to templates and the company's owners
and admins get one SMS about it that day, however many flows hit the outage; an alert that cannot be sent
never holds the customer's text back."""

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlmodel import delete
from temporalio.worker import Worker

from activities.ai import AiRequest
from models.base import utcnow
from models.company import Company, User
from models.providers import AiProviderState
from tests.ai_probe import AiProbeWorkflow
from worker import Deps, build_activities

FALLBACK = "Thanks! We'll confirm your appointment shortly."


async def set_phones(sessions, tenant, phones: dict[str, str]) -> None:
    """The owner's and admin's phones, and the company's SMS number to text them from."""
    async with sessions() as session:
        for who, phone in phones.items():
            user = await session.get(User, tenant.users[who].id)
            user.phone = phone
            session.add(user)
        company = await session.get(Company, tenant.company_id)
        company.sms_number = "+1512" + str(uuid.uuid4().int)[:7]  # numbers are unique across companies
        session.add(company)
        await session.commit()


def probe_request(tenant) -> AiRequest:
    return AiRequest(
        company_id=str(tenant.company_id),
        feature="booking_confirmation",
        prompt="Confirm the booking",
        fallback=FALLBACK,
    )


async def run_probes(temporal_env, sessions, settings, tenant, count: int) -> list:
    """Run `count` AI-using workflows one after another on a worker of their own; the breakers they open
    are closed again afterwards (they are global, and other tests share the database)."""
    queue = f"ai-probe-{uuid.uuid4()}"
    deps = Deps(sessions=sessions, settings=settings)
    try:
        async with Worker(
            temporal_env.client,
            task_queue=queue,
            workflows=[AiProbeWorkflow],
            activities=build_activities(deps),
            activity_executor=ThreadPoolExecutor(4),
        ):
            return [
                await temporal_env.client.execute_workflow(
                    AiProbeWorkflow.run,
                    probe_request(tenant),
                    id=f"ai-probe-{uuid.uuid4()}",
                    task_queue=queue,
                )
                for _ in range(count)
            ]
    finally:
        async with sessions() as session:
            await session.exec(delete(AiProviderState))
            await session.commit()


async def test_owners_are_texted_once_a_day_while_messages_fall_back(
    tenant, sessions, settings, temporal_env, api_url, healthy_sandbox
):
    owner_phone, admin_phone = "+15125550191", "+15125550192"
    await set_phones(sessions, tenant, {"owner": owner_phone, "admin": admin_phone})
    healthy_sandbox.controls.set("gemini", "down")
    healthy_sandbox.controls.set("anthropic", "down")

    # Enough calls to open both breakers and to try alerting twice.
    results = await run_probes(temporal_env, sessions, settings, tenant, 4)

    assert {r.text for r in results} == {FALLBACK} and {r.provider for r in results} == {"fallback"}
    texts = [e for e in healthy_sandbox.outbox if e.channel == "sms" and e.to in (owner_phone, admin_phone)]
    assert sorted(e.to for e in texts) == [owner_phone, admin_phone]
    assert all("AI providers are down" in e.body for e in texts)


async def test_a_failed_owner_sms_neither_stops_the_others_nor_the_message(
    tenant, sessions, settings, temporal_env, api_url, healthy_sandbox
):
    # Twilio refuses +15005550001 for good; it sorts first, so the admin's text comes after its failure.
    bad_phone, admin_phone = "+15005550001", "+15125550193"
    await set_phones(sessions, tenant, {"owner": bad_phone, "admin": admin_phone})
    async with sessions() as session:
        for provider in ("gemini", "claude"):
            until = utcnow() + timedelta(seconds=60)
            session.add(AiProviderState(provider=provider, consecutive_failures=3, open_until=until))
        await session.commit()

    [result] = await run_probes(temporal_env, sessions, settings, tenant, 1)

    assert (result.text, result.provider) == (FALLBACK, "fallback")
    texts = [e for e in healthy_sandbox.outbox if e.channel == "sms" and e.to in (bad_phone, admin_phone)]
    assert [e.to for e in texts] == [admin_phone]
