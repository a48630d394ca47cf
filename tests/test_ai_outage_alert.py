"""When both AI providers are down, customer-facing text falls back to templates and the company's owners
and admins get one SMS about it that day, however many flows hit the outage."""

import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlmodel import delete
from temporalio.worker import Worker

from activities.ai import AiRequest
from models.company import Company, User
from models.providers import AiProviderState
from tests.ai_probe import AiProbeWorkflow
from worker import Deps, build_activities

FALLBACK = "Thanks! We'll confirm your appointment shortly."


async def test_owners_are_texted_once_a_day_while_messages_fall_back(
    tenant, sessions, settings, temporal_env, api_url, healthy_sandbox
):
    owner_phone, admin_phone = "+15125550191", "+15125550192"
    async with sessions() as session:
        for who, phone in (("owner", owner_phone), ("admin", admin_phone)):
            user = await session.get(User, tenant.users[who].id)
            user.phone = phone
            session.add(user)
        company = await session.get(Company, tenant.company_id)
        company.sms_number = "+15125550190"
        session.add(company)
        await session.commit()
    healthy_sandbox.controls.set("gemini", "down")
    healthy_sandbox.controls.set("anthropic", "down")

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
            results = []
            for _attempt in range(4):  # enough calls to open both breakers and to try alerting twice
                request = AiRequest(
                    company_id=str(tenant.company_id),
                    feature="booking_confirmation",
                    prompt="Confirm the booking",
                    fallback=FALLBACK,
                )
                results.append(
                    await temporal_env.client.execute_workflow(
                        AiProbeWorkflow.run, request, id=f"ai-probe-{uuid.uuid4()}", task_queue=queue
                    )
                )
    finally:
        async with sessions() as session:
            await session.exec(delete(AiProviderState))
            await session.commit()

    assert {r.text for r in results} == {FALLBACK} and {r.provider for r in results} == {"fallback"}
    texts = [e for e in healthy_sandbox.outbox if e.channel == "sms" and e.to in (owner_phone, admin_phone)]
    assert sorted(e.to for e in texts) == [owner_phone, admin_phone]
    assert all("AI providers are down" in e.body for e in texts)
