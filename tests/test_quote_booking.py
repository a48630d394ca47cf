"""Booking from a quote: the race for the last slot, who gets assigned and why, the admins' fallback,
switched-off automations, and links that must not open anything."""

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from temporalio import activity
from temporalio.client import WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import Worker

from activities.scheduling import AssignmentOptions, JobRef
from models.company import User
from models.enums import JobStatus
from models.jobs import Job
from models.links import quote_token
from models.logs import ActionLog, MessageLog
from models.notifications import Notification
from models.quotes import Quote
from tests.quote_journey import path_of, prepare, rows, slot_starts, tiered_quote
from worker import WORKFLOWS, Deps, build_activities
from workflows.quote import AcceptQuote, PickTime, QuoteInput, QuoteWorkflow, SendQuote


async def _sent_link(journey, sandbox) -> str:
    quote = await tiered_quote(journey)
    sent = await journey.office.post(f"/v1/quotes/{quote['id']}/send")
    assert sent.status_code == 200, sent.text
    return path_of(sent.json()["portal_url"])


async def _accepted(journey, sandbox, http) -> str:
    """A sent and accepted quote (no card step), its customer on the calendar page."""
    link = await _sent_link(journey, sandbox)
    accepted = await http.post(link + "/accept", data={"signed_name": "Ada Lovelace", "tier": "good"})
    assert accepted.status_code == 303, accepted.text
    return link


async def _set_skills(sessions, user_id, skills: list[str], home=None) -> None:
    async with sessions() as session:
        user = await session.get(User, user_id)
        user.skills = skills
        if home:
            user.home_lat, user.home_lng = home
        session.add(user)
        await session.commit()


async def _job_of(sessions, link_quote_id) -> Job:
    (job,) = await rows(sessions, select(Job).where(Job.quote_id == link_quote_id))
    return job


async def _quote_id(journey, link: str) -> uuid.UUID:
    quotes = (await journey.office.get("/v1/quotes")).json()["data"]
    for quote in quotes:
        detail = (await journey.office.get(f"/v1/quotes/{quote['id']}")).json()
        if detail["portal_url"] and path_of(detail["portal_url"]) == link:
            return uuid.UUID(quote["id"])
    raise AssertionError("no quote with that link")


async def test_two_customers_racing_for_the_last_slot_one_wins_the_other_sees_fresh_times(
    tenant, sessions, healthy_sandbox, http, temporal_env
):
    journey = await prepare(tenant, sessions, card=False)
    await _set_skills(sessions, tenant.users["tech2"].id, [])  # one qualified technician: one job at a time
    first, second = (
        await _accepted(journey, healthy_sandbox, http),
        await _accepted(journey, healthy_sandbox, http),
    )
    start = slot_starts((await http.get(first)).text)[0]
    assert start in slot_starts((await http.get(second)).text)

    answers = await asyncio.gather(
        http.post(first + "/time", data={"start": start}), http.post(second + "/time", data={"start": start})
    )
    assert sorted(a.status_code for a in answers) == [303, 409]
    loser = next(a for a in answers if a.status_code == 409)
    assert "just taken" in loser.text and "Pick a time" in loser.text
    assert start not in slot_starts(loser.text)  # fresh times, without the one just booked
    booked = await rows(sessions, select(Job).where(Job.company_id == tenant.company_id))
    assert [job.scheduled_start.isoformat() for job in booked] == [start]

    # The loser picks another time and is booked too.
    again = await http.post(
        (second if answers[1].status_code == 409 else first) + "/time",
        data={"start": slot_starts(loser.text)[0]},
    )
    assert again.status_code == 303


async def test_the_database_refuses_two_overlapping_jobs_for_one_technician(tenant, sessions, app):
    office = await tenant.client("manager")
    customer = (await office.post("/v1/customers", json={"name": "Overlap"})).json()["id"]
    tech = str(tenant.users["tech"].id)
    start = "2030-01-07T15:00:00+00:00"
    first = await office.post(
        "/v1/jobs",
        json={"customer_id": customer, "title": "A", "assigned_user_id": tech, "scheduled_start": start},
    )
    assert first.status_code == 201
    clash = await office.post(
        "/v1/jobs",
        json={
            "customer_id": customer,
            "title": "B",
            "assigned_user_id": tech,
            "scheduled_start": "2030-01-07T15:30:00+00:00",
        },
    )
    assert clash.status_code == 409 and "already has another job" in clash.json()["detail"]
    # Back to back is fine, and so is someone else at the same time.
    after = await office.post(
        "/v1/jobs",
        json={
            "customer_id": customer,
            "title": "C",
            "assigned_user_id": tech,
            "scheduled_start": "2030-01-07T16:00:00+00:00",
        },
    )
    assert after.status_code == 201
    async with sessions() as session:
        session.add(
            Job(
                company_id=tenant.company_id,
                customer_id=uuid.UUID(customer),
                title="D",
                status=JobStatus.scheduled,
                assigned_user_id=tenant.users["tech"].id,
                scheduled_start=first.json()["scheduled_start"],
                scheduled_end=first.json()["scheduled_end"],
            )
        )
        try:
            await session.commit()
            raise AssertionError("the overlap was stored")
        except IntegrityError:
            await session.rollback()


async def test_assignment_prefers_skill_over_distance_and_a_lighter_day_at_equal_distance(
    tenant, sessions, healthy_sandbox, http, temporal_env
):
    journey = await prepare(tenant, sessions, card=False)
    # tech lives next door but cannot do plumbing; tech2 is further out and can.
    await _set_skills(sessions, tenant.users["tech"].id, ["electrical"], home=(30.2672, -97.7431))
    await _set_skills(sessions, tenant.users["tech2"].id, ["plumbing"], home=(30.40, -97.7431))
    link = await _accepted(journey, healthy_sandbox, http)
    starts = slot_starts((await http.get(link)).text)
    day = sorted({start[:10] for start in starts})[1]  # a whole working day, not what is left of today
    day_starts = [start for start in starts if start.startswith(day)]
    await _book(http, temporal_env, journey, link, day_starts[-1])  # the day's last slot
    job = await _job_of(sessions, await _quote_id(journey, link))
    assert job.assigned_user_id == tenant.users["tech2"].id
    assert job.assignment_reason.startswith("only qualified tech free")

    # Both qualified and setting out from the same home for the day's first slot: the lighter day wins.
    await _set_skills(sessions, tenant.users["tech"].id, ["plumbing"], home=(30.40, -97.7431))
    link = await _accepted(journey, healthy_sandbox, http)
    await _book(http, temporal_env, journey, link, day_starts[0])
    job = await _job_of(sessions, await _quote_id(journey, link))
    assert job.assigned_user_id == tenant.users["tech"].id, job.assignment_reason
    assert (
        job.assignment_reason.startswith("about as close as")
        and "no other jobs that day" in job.assignment_reason
    )


async def _book(http, temporal_env, journey, link: str, start: str) -> None:
    assert (await http.post(link + "/time", data={"start": start})).status_code == 303
    quote_id = await _quote_id(journey, link)
    assert await temporal_env.client.get_workflow_handle(f"quote-{quote_id}").result() == "scheduled"


@activity.defn(name="assignment_options")
async def _nobody_fits(ref: JobRef) -> AssignmentOptions:
    """Stands in for the moment between booking and assigning when the last free technician got booked."""
    return AssignmentOptions(None, [])


async def test_no_qualified_technician_free_leaves_the_job_unassigned_and_tells_the_admins(
    tenant, sessions, healthy_sandbox, temporal_env, settings, http
):
    journey = await prepare(tenant, sessions, card=False)
    quote = await tiered_quote(journey)
    client, queue = temporal_env.client, f"test-{uuid.uuid4()}"
    deps = Deps(sessions, settings, temporal=client)
    real = [a for a in build_activities(deps) if a.__name__ != "assignment_options"]
    async with Worker(
        client,
        task_queue=queue,
        workflows=WORKFLOWS,
        activities=[*real, _nobody_fits],
        activity_executor=ThreadPoolExecutor(max_workers=8),
    ):
        start = WithStartWorkflowOperation(
            QuoteWorkflow.run,
            QuoteInput(quote["id"], str(tenant.company_id)),
            id=f"quote-{quote['id']}",
            task_queue=queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        await client.execute_update_with_start_workflow(
            QuoteWorkflow.send, SendQuote("user:test"), start_workflow_operation=start
        )
        handle = client.get_workflow_handle(f"quote-{quote['id']}")
        await handle.execute_update(QuoteWorkflow.accept, AcceptQuote("Ada Lovelace", "best"))
        link = path_of((await journey.office.get(f"/v1/quotes/{quote['id']}")).json()["portal_url"])
        slot = slot_starts((await http.get(link)).text)[0]
        await handle.execute_update(QuoteWorkflow.pick_time, PickTime(slot))
        assert await handle.result() == "scheduled"
    job = await _job_of(sessions, uuid.UUID(quote["id"]))
    assert job.assigned_user_id is None and job.status == JobStatus.scheduled
    notes = await rows(sessions, select(Notification).where(Notification.entity_id == job.id))
    assert {n.user_id for n in notes} == {tenant.users["owner"].id, tenant.users["admin"].id}
    assert all(n.kind == "assign_manually" for n in notes)
    owner = await journey.office.get("/v1/notifications")  # the manager has none
    assert owner.json()["count"] == 0
    owner_client = await tenant.client("owner")
    mine = (await owner_client.get("/v1/notifications?unread=true")).json()
    assert mine["count"] == 1 and mine["data"][0]["title"].startswith("Assign a technician")
    for who in ("owner", "admin"):
        async with sessions() as session:
            phone = (await session.get(User, tenant.users[who].id)).phone
        assert [e for e in healthy_sandbox.outbox if e.to == phone and "no technician yet" in e.body]
    # The customer is still confirmed, without a technician's name.
    texts = [e for e in healthy_sandbox.outbox if e.to == journey.customer_phone]
    assert any("We will tell you who your technician is" in e.body for e in texts)


async def test_switched_off_automations_send_nothing_and_say_why(
    tenant, sessions, healthy_sandbox, http, temporal_env
):
    journey = await prepare(tenant, sessions, card=False, automations=())
    link = await _accepted(journey, healthy_sandbox, http)
    start = slot_starts((await http.get(link)).text)[0]
    assert (await http.post(link + "/time", data={"start": start})).status_code == 303
    quote_id = await _quote_id(journey, link)
    assert await temporal_env.client.get_workflow_handle(f"quote-{quote_id}").result() == "scheduled"
    job = await _job_of(sessions, quote_id)
    assert job.assigned_user_id is None  # agentic scheduling is off: the office assigns
    skipped = await rows(
        sessions,
        select(ActionLog).where(ActionLog.workflow_id == f"quote-{quote_id}", ActionLog.outcome == "skipped"),
    )
    reasons = {row.automation_key: row.reason for row in skipped}
    assert reasons == {
        "agentic_scheduling": "Agentic Scheduling is switched off",
        "send_job_scheduled_sms": "Job Scheduled SMS is switched off",
    }
    messages = await rows(
        sessions, select(MessageLog.purpose).where(MessageLog.workflow_id == f"quote-{quote_id}")
    )
    assert "job-scheduled-sms" not in messages and "job-scheduled-email" in messages


async def test_links_that_are_forged_for_another_company_or_expired_open_nothing(
    tenant, other_tenant, sessions, healthy_sandbox, http, settings, temporal_env
):
    journey = await prepare(tenant, sessions, card=False)
    link = await _sent_link(journey, healthy_sandbox)
    quote_id = await _quote_id(journey, link)
    token = link.rsplit("/", 1)[1]

    forged = await http.get("/q/" + token[:-3] + "abc")
    assert forged.status_code == 404 and "not valid" in forged.text
    assert (
        await http.post("/q/" + token[:-3] + "abc/accept", data={"signed_name": "Mallory"})
    ).status_code == 404

    # A genuine signature over this quote's id with the other company's id: refused all the same.
    crossed = quote_token(settings, quote_id, other_tenant.company_id)
    assert (await http.get(f"/q/{crossed}")).status_code == 404
    assert (await http.post(f"/q/{crossed}/accept", data={"signed_name": "Mallory"})).status_code == 404

    # Past its expiry date the link says so, and accepting is refused.
    async with sessions() as session:
        quote = await session.get(Quote, quote_id)
        quote.expires_on = quote.expires_on - timedelta(days=60)
        session.add(quote)
        await session.commit()
    expired = await http.get(link)
    assert expired.status_code == 410 and "expired" in expired.text
    refused = await http.post(link + "/accept", data={"signed_name": "Ada", "tier": "good"})
    assert "expired" in refused.text
    async with sessions() as session:
        quote = await session.get(Quote, quote_id)
    assert quote.status == "sent" and quote.signed_name is None  # nothing changed


async def test_declining_ends_the_journey_with_the_reason(
    tenant, sessions, healthy_sandbox, http, temporal_env
):
    journey = await prepare(tenant, sessions, card=False)
    link = await _sent_link(journey, healthy_sandbox)
    declined = await http.post(link + "/decline", data={"reason": "Too expensive for now"})
    assert declined.status_code == 303
    page = await http.get(link)
    assert "You declined this quote" in page.text
    quote_id = await _quote_id(journey, link)
    assert await temporal_env.client.get_workflow_handle(f"quote-{quote_id}").result() == "declined"
    async with sessions() as session:
        quote = await session.get(Quote, quote_id)
    assert quote.status == "declined" and quote.decline_reason == "Too expensive for now"
    late = await http.post(link + "/accept", data={"signed_name": "Ada", "tier": "good"})
    assert late.status_code == 200 and "You declined this quote" in late.text


async def test_a_company_that_requires_a_card_asks_for_it_before_acceptance(
    tenant, sessions, healthy_sandbox, http, temporal_env
):
    journey = await prepare(tenant, sessions, card=True, require_card=True)
    link = await _sent_link(journey, healthy_sandbox)
    page = await http.get(link)
    assert "Save a card to accept" in page.text
    refused = await http.post(link + "/accept", data={"signed_name": "Ada", "tier": "good"})
    assert refused.status_code == 409 and "Save a card before accepting" in refused.text

    to_stripe = await http.post(link + "/card", data={})
    async with httpx.AsyncClient() as browser:
        saved = await browser.post(to_stripe.headers["location"], data={"card_number": "5555 5555 5555 4444"})
    assert (await http.get(path_of(saved.headers["location"]))).status_code == 303
    page = await http.get(link)
    assert "Card on file: Mastercard •••• 4444" in page.text and "Accept and sign" in page.text
    accepted = await http.post(link + "/accept", data={"signed_name": "Ada", "tier": "good"})
    assert accepted.status_code == 303
    assert "Pick a time" in (await http.get(link)).text  # the card is on file: straight to the calendar


async def test_times_in_the_past_or_beyond_90_days_are_refused_and_nothing_is_booked(
    tenant, sessions, healthy_sandbox, http, temporal_env
):
    journey = await prepare(tenant, sessions, card=False)
    link = await _accepted(journey, healthy_sandbox, http)
    for start, why in (
        ("2020-01-06T15:00:00+00:00", "already passed"),
        ("2099-01-05T15:00:00+00:00", "up to 90 days ahead"),
        ("not a time", "pick one of the times offered"),
    ):
        refused = await http.post(link + "/time", data={"start": start})
        assert refused.status_code == 422 and why in refused.text and "Pick a time" in refused.text
    assert await rows(sessions, select(Job).where(Job.company_id == tenant.company_id)) == []
