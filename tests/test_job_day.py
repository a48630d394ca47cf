"""One job's day on the time-skipping server: reminders 24 h and 1 h ahead, on the way with a tracking
link, completed → invoiced → charged → receipt → review request two hours later; a reschedule after the
24-hour reminder; a cancelled job's reminders; an unhappy customer gets no review request."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from sqlmodel import select
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

import activities.records
import models.base
import models.time
from activities.clients import stripe_client
from models.company import Company
from models.customers import Customer
from models.enums import JobStatus
from models.invoices import Invoice
from models.jobs import Job
from models.line_items import JobLineItem
from models.logs import ActionLog, InboundMessage
from models.notifications import Notification
from sandbox.context import SandboxContext
from settings import TASK_QUEUE
from temporal.dev_server import temporal_test_server
from temporal.search_attributes import ensure_registered
from tests.quote_journey import Journey, path_of, prepare, rows, user_row
from tests.test_quote_timing import CENTRAL, ServerClock, central
from worker import Deps, build_worker
from workflows.job import JobInput, JobReschedule, JobStatusChange, JobWorkflow
from workflows.review import ReviewBackstopWorkflow, ReviewInput, ReviewWorkflow

DAY_AUTOMATIONS = (
    "send_appointment_reminders",
    "send_omw_texts",
    "send_job_completed_sms",
    "auto_charge_card_on_file",
    "send_receipt_sms",
    "send_sms_review_requests",
    "send_review_requests",
    "send_job_scheduled_sms",
)


@pytest.fixture
async def clock(monkeypatch) -> AsyncIterator[ServerClock]:
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=temporal_test_server())
    async with env:
        await ensure_registered(env.client, "default")  # the flows tag runs with CompanyId & co.
        server_clock = ServerClock(env)
        monkeypatch.setattr(models.time, "utcnow", server_clock.now)  # company_today
        monkeypatch.setattr(activities.records, "utcnow", server_clock.now)  # completed_at
        yield server_clock


@dataclass
class Day:
    clock: ServerClock
    client: Client
    queue: str
    journey: Journey
    job_id: str
    company_id: str
    sandbox: SandboxContext
    sessions: object

    @property
    def handle(self) -> WorkflowHandle:
        return self.client.get_workflow_handle(f"job-{self.job_id}")

    def texts(self) -> list:
        return [e for e in self.sandbox.outbox if e.channel == "sms" and e.to == self.journey.customer_phone]

    async def move(self, status: str) -> str:
        snapshot = await self.handle.execute_update(
            JobWorkflow.change_status, JobStatusChange(status, "user:test")
        )
        return snapshot.status

    async def job(self) -> Job:
        async with self.sessions() as session:
            return await session.get(Job, uuid.UUID(self.job_id))


async def _save_card(settings, sessions, customer_id: str, number: str = "4242424242424242") -> None:
    """A card saved the way the quote's card step saves one, with consent to auto-charge."""
    stripe = stripe_client(settings)
    holder = await asyncio.to_thread(stripe.v1.customers.create, {"name": "Ada Lovelace"})
    card = {"type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2034}}
    method = await asyncio.to_thread(stripe.v1.payment_methods.create, card)
    await asyncio.to_thread(stripe.v1.payment_methods.attach, method.id, {"customer": holder.id})
    async with sessions() as session:
        customer = await session.get(Customer, uuid.UUID(customer_id))
        customer.stripe_customer_id, customer.card_payment_method_id = holder.id, method.id
        customer.card_brand, customer.card_last4, customer.auto_charge_consent = "visa", number[-4:], True
        session.add(customer)
        await session.commit()


@pytest.fixture
async def day(clock, tenant, sessions, settings, healthy_sandbox) -> AsyncIterator[Day]:
    """A job three days out, 10:00 company time, for a customer with a card on file, and a worker."""
    journey = await prepare(tenant, sessions, card=True, automations=DAY_AUTOMATIONS)
    await _save_card(settings, sessions, journey.customer_id)
    local = clock.now().astimezone(CENTRAL) + timedelta(days=3)
    start = central(local.year, local.month, local.day, 10)
    async with sessions() as session:
        company = await session.get(Company, tenant.company_id)
        company.review_url = "https://g.page/r/test-review"
        session.add(company)
        job = Job(
            company_id=tenant.company_id,
            customer_id=uuid.UUID(journey.customer_id),
            title="Water heater flush",
            status=JobStatus.scheduled,
            assigned_user_id=tenant.users["tech"].id,
            scheduled_start=start,
            scheduled_end=start + timedelta(hours=2),
            address="500 Congress Ave, Austin, TX",
            lat=30.2672,
            lng=-97.7431,
        )
        session.add(job)
        await session.flush()
        session.add(
            JobLineItem(
                company_id=tenant.company_id,
                job_id=job.id,
                description="Water heater flush",
                quantity=Decimal(1),
                unit_price_cents=18_900,
            )
        )
        await session.commit()
    queue = f"test-{uuid.uuid4()}"
    client = clock.env.client
    async with build_worker(client, Deps(sessions=sessions, settings=settings), task_queue=queue):
        await client.start_workflow(
            JobWorkflow.run,
            JobInput(str(job.id), str(tenant.company_id)),
            id=f"job-{job.id}",
            task_queue=queue,
        )
        yield Day(
            clock, client, queue, journey, str(job.id), str(tenant.company_id), healthy_sandbox, sessions
        )


async def test_the_whole_day_of_one_job(day: Day, http, tenant):
    job = await day.job()
    start = job.scheduled_start
    await day.clock.sleep_until(start - timedelta(hours=24) - timedelta(minutes=1))
    assert day.texts() == []
    await day.clock.sleep_until(start - timedelta(hours=24) + timedelta(minutes=1))
    assert [t.body for t in day.texts()] == [
        f"{tenant.company.name}: a reminder of your appointment, Water heater flush, "
        f"{start.astimezone(CENTRAL):%A, %B} {start.astimezone(CENTRAL).day}, 10:00 AM – 12:00 PM."
        " Questions? Call +15125550100."
    ]
    await day.clock.sleep_until(start - timedelta(hours=1) + timedelta(minutes=1))
    assert len(day.texts()) == 2 and "in about an hour" in day.texts()[1].body

    assert await day.move("on_the_way") == "on_the_way"
    await _until(lambda: len(day.texts()) == 3)
    omw = day.texts()[2].body
    assert "is on the way" in omw and "/t/" in omw
    tracking = await http.get(path_of(omw.split()[-1]))
    assert tracking.status_code == 200 and tenant.users["tech"].name.split()[0] in tracking.text

    await day.move("in_progress")
    await day.move("completed")
    assert await day.handle.result() == "completed"
    (invoice,) = await rows(day.sessions, select(Invoice).where(Invoice.job_id == uuid.UUID(day.job_id)))
    assert invoice.status == "paid" and invoice.amount_paid_cents == invoice.total_cents == 18_900 + 1_559
    bodies = [t.body for t in day.texts()]
    assert any("receipt" in b.lower() or "paid" in b.lower() for b in bodies[3:]), bodies
    done = [b for b in bodies if "is done" in b]
    assert len(done) == 1 and "/i/" not in done[0]  # paid: no payment link

    # The review request: not before two hours, then once.
    review = day.client.get_workflow_handle(f"review-{day.job_id}")
    completed_at = (await day.job()).completed_at
    due = models.time.review_due(completed_at, "America/Chicago")
    if due - completed_at == timedelta(hours=2):  # finished before 8 PM company time
        await day.clock.sleep_until(due - timedelta(minutes=1))
        assert not [b for b in (t.body for t in day.texts()) if "review" in b]
    await day.clock.sleep_until(due + timedelta(minutes=1))
    assert await review.result() == "sent"
    asks = [t.body for t in day.texts() if "review" in t.body]
    assert len(asks) == 1 and "https://g.page/r/test-review" in asks[0]


async def test_a_reschedule_after_the_24_hour_reminder_moves_the_reminders_and_confirms_the_new_time(
    day: Day,
):
    job = await day.job()
    await day.clock.sleep_until(job.scheduled_start - timedelta(hours=23))
    assert len(day.texts()) == 1  # the 24-hour reminder for the first time
    # Moved to 10 hours from now: inside the new 24-hour window, so that reminder is still due, once.
    new_start = day.clock.now() + timedelta(hours=10)
    moved = await day.handle.execute_update(
        JobWorkflow.reschedule, JobReschedule(scheduled_start=new_start.isoformat(), actor="user:test")
    )
    assert moved.status == "scheduled"
    await _until(lambda: len(day.texts()) == 3)
    bodies = [t.body for t in day.texts()]
    assert "booked" in bodies[1] or "booked" in bodies[2]  # the confirmation with the new time
    assert sum("a reminder of your appointment" in b for b in bodies) == 2
    await day.clock.sleep_until(new_start - timedelta(hours=1) + timedelta(minutes=1))
    assert sum("in about an hour" in t.body for t in day.texts()) == 1
    await day.clock.sleep_until(new_start + timedelta(hours=30))
    assert len(day.texts()) == 4  # nothing for the old time, nothing twice


async def test_a_cancelled_job_sends_no_reminders(day: Day):
    assert await day.move("cancelled") == "cancelled"
    assert await day.handle.result() == "cancelled"
    job = await day.job()
    await day.clock.sleep_until(job.scheduled_start + timedelta(hours=1))
    assert day.texts() == []


async def test_an_unhappy_customer_gets_no_review_request_and_the_owner_a_task(
    clock, tenant, sessions, settings, healthy_sandbox
):
    journey = await prepare(tenant, sessions, card=False, automations=DAY_AUTOMATIONS)
    completed = clock.now() - timedelta(hours=3)
    async with sessions() as session:
        company = await session.get(Company, tenant.company_id)
        company.review_url = "https://g.page/r/test-review"
        job = Job(
            company_id=tenant.company_id,
            customer_id=uuid.UUID(journey.customer_id),
            title="Drain clean",
            status=JobStatus.completed,
            completed_at=completed,
        )
        session.add_all([company, job])
        session.add(
            InboundMessage(
                company_id=tenant.company_id,
                customer_id=uuid.UUID(journey.customer_id),
                from_address=journey.customer_phone,
                to_address=journey.company_sms,
                body="The tech was late and rude, and the sink is still leaking. Terrible.",
                provider_id=f"SM{uuid.uuid4().hex}",
            )
        )
        await session.commit()
    healthy_sandbox.controls.set("gemini", "down")  # the word lists decide
    healthy_sandbox.controls.set("anthropic", "down")
    queue = f"test-{uuid.uuid4()}"
    async with build_worker(clock.env.client, Deps(sessions=sessions, settings=settings), task_queue=queue):
        result = await clock.env.client.execute_workflow(
            ReviewWorkflow.run,
            ReviewInput(str(job.id), str(tenant.company_id)),
            id=f"review-{job.id}",
            task_queue=queue,
        )
    assert result == "skipped"
    assert not [e for e in healthy_sandbox.outbox if e.to == journey.customer_phone]
    tasks = await rows(sessions, select(Notification).where(Notification.entity_id == job.id))
    assert {t.kind for t in tasks} == {"service_recovery"} and len(tasks) == 2  # owner and admin
    owner_phone = (await user_row(sessions, tenant.users["owner"].id)).phone
    assert [e for e in healthy_sandbox.outbox if e.to == owner_phone and "seems unhappy" in e.body]
    (handled,) = await rows(
        sessions, select(ActionLog).where(ActionLog.entity_id == job.id, ActionLog.action == "review_request")
    )
    assert handled.outcome == "skipped" and handled.reason.startswith("customer seems unhappy")


async def _until(predicate) -> None:
    """Wait (10 s at most) for a text the workflow sends right after an update returns."""
    async with asyncio.timeout(10):
        while not predicate():  # noqa: ASYNC110 (the sandbox's outbox is a plain list to poll)
            await asyncio.sleep(0.05)


# On the dev server, through the API


async def test_reassigning_texts_the_new_technician_and_tells_both_in_the_app(
    tenant, sessions, healthy_sandbox, temporal_env
):
    journey = await prepare(tenant, sessions, card=False, automations=("send_job_assigned_sms",))
    tech, tech2 = tenant.users["tech"], tenant.users["tech2"]
    created = await journey.office.post(
        "/v1/jobs",
        json={
            "customer_id": journey.customer_id,
            "title": "Sump pump",
            "assigned_user_id": str(tech.id),
            "scheduled_start": "2030-03-04T15:00:00+00:00",
        },
    )
    job_id = created.json()["id"]
    moved = await journey.office.patch(f"/v1/jobs/{job_id}", json={"assigned_user_id": str(tech2.id)})
    assert moved.status_code == 200 and moved.json()["assigned_user_id"] == str(tech2.id)
    tech2_phone = (await user_row(sessions, tech2.id)).phone
    await _until(lambda: [e for e in healthy_sandbox.outbox if e.to == tech2_phone])
    assert "Sump pump" in next(e.body for e in healthy_sandbox.outbox if e.to == tech2_phone)
    notes = await rows(sessions, select(Notification).where(Notification.entity_id == uuid.UUID(job_id)))
    assert {(n.user_id, n.kind) for n in notes} == {(tech2.id, "job_assigned"), (tech.id, "job_unassigned")}
    # A technician booked at that time is refused, and nothing changes.
    clash = await journey.office.post(
        "/v1/jobs",
        json={
            "customer_id": journey.customer_id,
            "title": "Other",
            "assigned_user_id": str(tech.id),
            "scheduled_start": "2030-03-04T15:30:00+00:00",
        },
    )
    refused = await journey.office.patch(
        f"/v1/jobs/{clash.json()['id']}", json={"assigned_user_id": str(tech2.id)}
    )
    assert refused.status_code == 409 and "already has another job" in refused.json()["detail"]


async def test_the_hourly_backstop_asks_once_for_a_review_the_real_time_path_missed(
    tenant, sessions, healthy_sandbox, temporal_env
):
    journey = await prepare(tenant, sessions, card=False, automations=())
    async with sessions() as session:
        job = Job(
            company_id=tenant.company_id,
            customer_id=uuid.UUID(journey.customer_id),
            title="Missed",
            status=JobStatus.completed,
            completed_at=models.base.utcnow() - timedelta(hours=20),
        )
        session.add(job)
        await session.commit()
    client = temporal_env.client
    await client.execute_workflow(
        ReviewBackstopWorkflow.run, id=f"backstop-{uuid.uuid4()}", task_queue=TASK_QUEUE
    )
    review = client.get_workflow_handle(f"review-{job.id}")
    assert await review.result() == "skipped"  # no review link: handled, and logged why
    again = await client.execute_workflow(
        ReviewBackstopWorkflow.run, id=f"backstop-{uuid.uuid4()}", task_queue=TASK_QUEUE
    )
    assert isinstance(again, int)
    handled = await rows(
        sessions, select(ActionLog).where(ActionLog.entity_id == job.id, ActionLog.action == "review_request")
    )
    assert len(handled) == 1 and handled[0].reason == "no review link set in the company's settings"


async def test_a_worker_stopped_mid_completion_hands_over_and_nothing_is_sent_or_charged_twice(
    tenant, sessions, settings, healthy_sandbox, temporal_env
):
    journey = await prepare(tenant, sessions, card=True, automations=DAY_AUTOMATIONS)
    await _save_card(settings, sessions, journey.customer_id)
    async with sessions() as session:
        job = Job(
            company_id=tenant.company_id,
            customer_id=uuid.UUID(journey.customer_id),
            title="Handover",
            status=JobStatus.in_progress,
            assigned_user_id=tenant.users["tech"].id,
        )
        session.add(job)
        await session.flush()
        session.add(
            JobLineItem(
                company_id=tenant.company_id, job_id=job.id, description="Repair", unit_price_cents=25_000
            )
        )
        await session.commit()
    client, queue = temporal_env.client, f"test-{uuid.uuid4()}"
    deps = Deps(sessions=sessions, settings=settings)
    first = build_worker(client, deps, task_queue=queue)
    running = asyncio.create_task(first.run())
    handle = await client.start_workflow(
        JobWorkflow.run, JobInput(str(job.id), str(tenant.company_id)), id=f"job-{job.id}", task_queue=queue
    )
    await handle.execute_update(JobWorkflow.change_status, JobStatusChange("completed", "user:test"))
    await first.shutdown()  # mid-completion: the invoice, the charge and the texts are under way
    await running
    async with build_worker(client, deps, task_queue=queue):
        assert await asyncio.wait_for(handle.result(), 60) == "completed"
    (invoice,) = await rows(sessions, select(Invoice).where(Invoice.job_id == job.id))
    assert invoice.status == "paid"
    async with httpx.AsyncClient() as sandbox_http:
        charges = (await sandbox_http.get(f"{healthy_sandbox.public_url}/stripe/_charges")).json()
    assert len([c for c in charges if c.get("metadata", {}).get("invoice_id") == str(invoice.id)]) == 1
    texts = [e.body for e in healthy_sandbox.outbox if e.to == journey.customer_phone]
    assert sum("is done" in t for t in texts) == 1


async def test_a_late_click_on_a_completed_job_bills_and_texts_nothing_again(
    tenant, sessions, healthy_sandbox, temporal_env
):
    journey = await prepare(tenant, sessions, card=False, automations=DAY_AUTOMATIONS)
    created = await journey.office.post(
        "/v1/jobs",
        json={
            "customer_id": journey.customer_id,
            "title": "Faucet swap",
            "scheduled_start": "2030-05-06T15:00:00+00:00",
            "line_items": [{"description": "Faucet swap", "unit_price_cents": 14_000}],
        },
    )
    job_id = created.json()["id"]
    for status in ("in_progress", "completed"):
        assert (
            await journey.office.post(f"/v1/jobs/{job_id}/status", json={"status": status})
        ).status_code == 200
    handle = temporal_env.client.get_workflow_handle(f"job-{job_id}")
    assert await handle.result() == "completed"
    late = await journey.office.post(f"/v1/jobs/{job_id}/status", json={"status": "in_progress"})
    assert late.status_code == 409  # and the run it started ends without completing anything again
    assert await temporal_env.client.get_workflow_handle(f"job-{job_id}").result() == "completed"
    invoices = await rows(sessions, select(Invoice).where(Invoice.job_id == uuid.UUID(job_id)))
    assert len(invoices) == 1 and invoices[0].total_cents == 14_000 + 1_155
    assert sum("is done" in e.body for e in healthy_sandbox.outbox if e.to == journey.customer_phone) == 1
