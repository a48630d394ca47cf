"""Database work for the job workflow: the job's state, rescheduling and reassigning it, the texts of its
day (reminders, on the way, done), and the invoice a completed job is billed on (with the parts its
technicians logged, also when the invoice existed before them).

Changes lock the job row, are keyed by their workflow step (a retry changes nothing twice), and leave
audit and action-log rows. The database's exclusion constraint refuses a technician two jobs at once.
"""

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.action_log import ActionRecord, record_action
from activities.automations import GateRequest, gate
from activities.documents import format_money
from activities.events import publish
from activities.notifications import OFFICE, notify, team_members
from activities.quotes import INVALID_REQUEST
from activities.records import done_before, locked_row, record_change, refusal
from activities.scheduling import JobRef
from models.company import Company, User
from models.customers import Customer
from models.enums import ActionOutcome, InvoiceStatus, JobStatus
from models.inventory import PartUsage
from models.invoices import Invoice
from models.jobs import Job, job_window
from models.line_items import InvoiceLineItem, JobLineItem, carried_over
from models.money import compute_totals, line_amount_cents
from models.quotes import Quote
from models.states import TransitionError
from models.time import company_today
from models.tracking import tracking_url
from settings import Settings

DEFAULT_LENGTH = timedelta(hours=1)
# Which automation governs each text of the job's day.
TEXT_AUTOMATIONS = {
    "reminder_24h": "send_appointment_reminders",
    "reminder_1h": "send_appointment_reminders",
    "on_the_way": "send_omw_texts",
    "completed": "send_job_completed_sms",
}
FINISHED = (JobStatus.completed, JobStatus.cancelled)


@dataclass
class JobState:
    status: str
    scheduled_start: str | None  # ISO, UTC
    scheduled_end: str | None
    assigned_user_id: str | None


@dataclass
class Reschedule:
    job_id: str
    company_id: str
    scheduled_start: str  # ISO with offset
    actor: str
    workflow_id: str
    step_key: str
    scheduled_end: str | None = None  # None: keeps the job's length (an hour if it had none)
    actor_user_id: str | None = None


@dataclass
class Reassign:
    job_id: str
    company_id: str
    user_id: str | None  # None: unassign
    actor: str
    workflow_id: str
    step_key: str
    actor_user_id: str | None = None


@dataclass
class Reassigned:
    state: JobState
    previous_user_id: str | None

    @property
    def status(self) -> str:  # what RecordStatus remembers of a change
        return self.state.status


@dataclass
class JobTextRequest:
    job_id: str
    company_id: str
    kind: str  # a key of TEXT_AUTOMATIONS
    workflow_id: str
    step: str  # unique within the workflow: the gate logs a skip once
    pay_url: str | None = None  # the completed job's open invoice


@dataclass
class JobText:
    """The customer's text, when its automation allows it now (else why not, logged)."""

    allowed: bool
    to: str | None = None
    body: str = ""
    customer_id: str | None = None
    reason: str | None = None


@dataclass
class BilledInvoice:
    invoice_id: str | None  # None: nothing to bill (a job without lines)
    number: int | None = None
    created: bool = False  # False: the job's (or its quote's) invoice already existed


class JobActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings):
        self._sessions = sessions
        self._settings = settings

    @activity.defn
    async def job_state(self, ref: JobRef) -> JobState:
        async with self._sessions() as session:
            return _state(await locked_row(session, Job, ref.job_id, ref.company_id))

    @activity.defn
    async def reschedule_job(self, request: Reschedule) -> JobState:
        """A new time: an unscheduled job becomes Scheduled; the technician must be free then."""
        start = datetime.fromisoformat(request.scheduled_start)
        async with self._sessions() as session, session.begin():
            job = await locked_row(session, Job, request.job_id, request.company_id)
            if not await done_before(session, request.step_key):
                if job.status in FINISHED:
                    raise refusal(
                        TransitionError(f"a {job.status.value} job cannot be rescheduled"), job.status
                    )
                if request.scheduled_end:
                    end = datetime.fromisoformat(request.scheduled_end)
                elif job.scheduled_start and job.scheduled_end:
                    end = start + (job.scheduled_end - job.scheduled_start)
                else:
                    end = start + DEFAULT_LENGTH
                if end <= start:
                    raise ApplicationError(
                        "scheduled_end must be after scheduled_start",
                        type=INVALID_REQUEST,
                        non_retryable=True,
                    )
                before = _schedule(job)
                status = job.status
                job.scheduled_start, job.scheduled_end = start, end
                if job.status == JobStatus.unscheduled:
                    job.status = JobStatus.scheduled
                session.add(job)
                await _flush_or_clash(session, status)
                record_change(session, job, request, "reschedule", "reschedule_job", before, _schedule(job))
                rescheduled = {"job_id": str(job.id), "assigned_user_id": _state(job).assigned_user_id}
                await publish(session, job.company_id, "job.rescheduled", rescheduled | _schedule(job))
            return _state(job)

    @activity.defn
    async def assign_job(self, request: Reassign) -> Reassigned:
        """Give the job to a team member (or nobody); both people hear of it in the app."""
        async with self._sessions() as session, session.begin():
            job = await locked_row(session, Job, request.job_id, request.company_id)
            previous = str(job.assigned_user_id) if job.assigned_user_id else None
            if await done_before(session, request.step_key):
                return Reassigned(_state(job), previous)
            if job.status in FINISHED:
                raise refusal(TransitionError(f"a {job.status.value} job cannot be reassigned"), job.status)
            person = await session.get(User, uuid.UUID(request.user_id)) if request.user_id else None
            if request.user_id and (
                person is None or person.company_id != job.company_id or not person.active
            ):
                raise ApplicationError(
                    "no active team member with this id", type=INVALID_REQUEST, non_retryable=True
                )
            job.assigned_user_id = person.id if person else None
            job.assignment_reason = None  # chosen by a person now, not by agentic scheduling
            session.add(job)
            await _flush_or_clash(session, job.status)
            company = await session.get(Company, job.company_id)
            when = job_window(job, company.timezone)
            about = {"body": when, "entity_type": "job", "entity_id": job.id, "step_key": request.step_key}
            if person is not None:
                await notify(
                    session,
                    job.company_id,
                    [person.id],
                    kind="job_assigned",
                    title=f"New job: {job.title}",
                    **about,
                )
            if previous and previous != request.user_id:
                await notify(
                    session,
                    job.company_id,
                    [uuid.UUID(previous)],
                    kind="job_unassigned",
                    title=f"Unassigned: {job.title}",
                    **about,
                )
            record_change(
                session,
                job,
                request,
                "assign",
                "assign_job",
                {"assigned_user_id": previous},
                {"assigned_user_id": request.user_id},
            )
            # The dispatch board moves the card; each technician's own page gains or loses the job.
            moved = {"job_id": str(job.id), "assigned_user_id": request.user_id}
            await publish(
                session, job.company_id, "job.assigned", moved | {"previous_assigned_user_id": previous}
            )
            return Reassigned(_state(job), previous)

    @activity.defn
    async def job_text(self, request: JobTextRequest) -> JobText:
        """The text for a moment of the job's day, if its automation is on and the customer consented."""
        async with self._sessions() as session:
            job = await locked_row(session, Job, request.job_id, request.company_id)
            decision = await gate(
                session,
                GateRequest(
                    company_id=request.company_id,
                    automation_key=TEXT_AUTOMATIONS[request.kind],
                    action=f"send_{request.kind}_sms",
                    entity_type="job",
                    entity_id=request.job_id,
                    workflow_id=request.workflow_id,
                    step=request.step,
                    customer_id=str(job.customer_id),
                    needs_sms_consent=True,
                ),
            )
            await session.commit()
            if not decision.allowed:
                return JobText(False, reason=decision.reason)
            company = await session.get(Company, job.company_id)
            customer = await session.get(Customer, job.customer_id)
            tech = await session.get(User, job.assigned_user_id) if job.assigned_user_id else None
        body = self._body(request, job, company, tech)
        return JobText(True, customer.phone, body, str(customer.id))

    def _body(self, request: JobTextRequest, job: Job, company: Company, tech: User | None) -> str:
        who = tech.name.split()[0] if tech else "Your technician"
        when = job_window(job, company.timezone)
        call = f" Questions? Call {company.phone}." if company.phone else ""
        if request.kind == "reminder_24h":
            return f"{company.name}: a reminder of your appointment, {job.title}, {when}.{call}"
        if request.kind == "reminder_1h":
            return f"{company.name}: {who} will be with you in about an hour ({when}) for {job.title}.{call}"
        if request.kind == "on_the_way":
            link = tracking_url(self._settings, job.id, job.company_id)
            return f"{company.name}: {who} is on the way for {job.title}. Follow along live: {link}"
        pay = f" Your invoice: {request.pay_url}" if request.pay_url else ""
        return f"{company.name}: {job.title} is done. Thank you for choosing us!{pay}"

    @activity.defn
    async def invoice_for_job(self, ref: JobRef) -> BilledInvoice:
        """The completed job's invoice: the one it has (or its quote's), with the parts logged since, or a
        new draft from its line items."""
        async with self._sessions() as session, session.begin():
            job = await locked_row(session, Job, ref.job_id, ref.company_id)
            live = Invoice.status != InvoiceStatus.void
            existing = (await session.exec(select(Invoice).where(Invoice.job_id == job.id, live))).first()
            if existing is None and job.quote_id is not None:
                existing = (
                    await session.exec(select(Invoice).where(Invoice.quote_id == job.quote_id, live))
                ).first()
                if existing is not None:
                    existing.job_id = job.id
                    session.add(existing)
            if existing is not None:
                await _bill_logged_parts(session, job, existing)
                return BilledInvoice(str(existing.id), existing.number, created=False)
            lines = (await session.exec(select(JobLineItem).where(JobLineItem.job_id == job.id))).all()
            if not lines:
                return BilledInvoice(None)
            invoice = await _new_invoice(session, job, lines)
            actor = _System(f"{ref.job_id}/invoice", f"job-{ref.job_id}")
            record_change(
                session, invoice, actor, "create", "create_invoice_from_job", {}, {"number": invoice.number}
            )
            return BilledInvoice(str(invoice.id), invoice.number, created=True)


@dataclass
class _System:
    """The job workflow itself as the actor of a change, in the shape `record_change` reads."""

    step_key: str
    workflow_id: str
    actor: str = "job_workflow"
    actor_user_id: str | None = None


async def _new_invoice(session: AsyncSession, job: Job, lines) -> Invoice:
    # Locking the company row hands out invoice numbers one at a time, as the office's invoices do.
    company = await session.get(Company, job.company_id, with_for_update=True)
    quote = await session.get(Quote, job.quote_id) if job.quote_id else None
    issued_on = company_today(company)
    invoice = Invoice(
        company_id=job.company_id,
        customer_id=job.customer_id,
        job_id=job.id,
        quote_id=job.quote_id,
        number=company.next_invoice_number,
        currency=company.currency,
        # A booked quote's rate: the customer is billed the tax they accepted.
        tax_rate_bps=quote.tax_rate_bps if quote else company.tax_rate_bps,
        issued_on=issued_on,
        due_on=issued_on + timedelta(days=company.invoice_due_days),
    )
    company.next_invoice_number += 1
    rows = carried_over(lines, InvoiceLineItem, company_id=job.company_id, invoice_id=invoice.id)
    totals = compute_totals(rows, invoice.tax_rate_bps)
    invoice.subtotal_cents, invoice.tax_cents, invoice.total_cents = (
        totals.subtotal_cents,
        totals.tax_cents,
        totals.total_cents,
    )
    session.add_all([company, invoice])
    await session.flush()
    session.add_all(rows)
    return invoice


async def _bill_logged_parts(session: AsyncSession, job: Job, invoice: Invoice) -> None:
    """Put on the job's existing invoice the part lines it lacks (it was drafted from the quote, or by
    hand, before the technicians logged them). A draft gains them and its totals are priced again; an
    invoice the customer already has is left as it is and the office is told what to bill separately."""
    step_key = f"{job.id}/invoice-parts"
    if await done_before(session, step_key):
        return
    invoiced = await session.exec(select(InvoiceLineItem).where(InvoiceLineItem.invoice_id == invoice.id))
    lines = list(invoiced.all())
    missing = await _parts_not_on(session, job, lines)
    if not missing:
        return
    company = await session.get(Company, job.company_id)
    described = ", ".join(
        f"{line.quantity.normalize():f} × {line.description} "
        f"({format_money(line_amount_cents(line), company.currency)})"
        for line in missing
    )
    if invoice.status != InvoiceStatus.draft:
        reason = f"invoice #{invoice.number} is already {invoice.status.value}: {described} not billed"
        await record_action(
            session,
            ActionRecord(
                company_id=str(job.company_id),
                action="bill_job_parts",
                outcome=ActionOutcome.skipped,
                entity_type=Invoice.__tablename__,
                entity_id=str(invoice.id),
                workflow_id=f"job-{job.id}",
                reason=reason,
                idempotency_key=step_key,
            ),
        )
        office = await team_members(session, job.company_id, OFFICE)
        await notify(
            session,
            job.company_id,
            [person.id for person in office],
            kind="job_parts_not_invoiced",
            title=f"Parts used on {job.title} are not on invoice #{invoice.number}",
            body=f"The invoice was already {invoice.status.value} when the job was completed. "
            f"Bill them separately: {described}.",
            entity_type=Invoice.__tablename__,
            entity_id=invoice.id,
            step_key=step_key,
        )
        return
    last = max((line.position for line in lines), default=-1)
    added = carried_over(missing, InvoiceLineItem, company_id=job.company_id, invoice_id=invoice.id)
    for row in added:
        row.position += last + 1  # after the invoice's own lines
    before = {"total_cents": invoice.total_cents}
    totals = compute_totals([*lines, *added], invoice.tax_rate_bps)
    invoice.subtotal_cents, invoice.tax_cents = totals.subtotal_cents, totals.tax_cents
    invoice.total_cents = totals.total_cents
    session.add_all([invoice, *added])
    after = {"total_cents": invoice.total_cents, "parts": described}
    actor = _System(step_key, f"job-{job.id}")
    record_change(session, invoice, actor, "update", "bill_job_parts", before, after)


async def _parts_not_on(
    session: AsyncSession, job: Job, invoiced: list[InvoiceLineItem]
) -> list[JobLineItem]:
    """The job's part lines with no matching line (description, quantity, price) among `invoiced`. The
    job's other lines claim their matches first: a valve the customer was quoted is not the valve a
    technician logged on top of it."""
    job_lines = (await session.exec(select(JobLineItem).where(JobLineItem.job_id == job.id))).all()
    logged = await session.exec(select(PartUsage.job_line_item_id).where(PartUsage.job_id == job.id))
    part_line_ids = set(logged.all())
    unclaimed = Counter(_billed_as(line) for line in invoiced)
    missing = []
    for line in sorted(job_lines, key=lambda row: (row.id in part_line_ids, row.position)):
        if unclaimed[_billed_as(line)] > 0:
            unclaimed[_billed_as(line)] -= 1
        elif line.id in part_line_ids:
            missing.append(line)
    return missing


def _billed_as(line) -> tuple:
    return line.description, line.quantity, line.unit_price_cents


def _state(job: Job) -> JobState:
    return JobState(
        status=job.status.value,
        scheduled_start=job.scheduled_start.isoformat() if job.scheduled_start else None,
        scheduled_end=job.scheduled_end.isoformat() if job.scheduled_end else None,
        assigned_user_id=str(job.assigned_user_id) if job.assigned_user_id else None,
    )


def _schedule(job: Job) -> dict:
    state = _state(job)
    return {
        "status": state.status,
        "scheduled_start": state.scheduled_start,
        "scheduled_end": state.scheduled_end,
    }


async def _flush_or_clash(session: AsyncSession, current: JobStatus) -> None:
    try:
        await session.flush()
    except IntegrityError:  # the exclusion constraint: that technician is booked then
        raise refusal(
            TransitionError("the technician already has another job at that time"), current
        ) from None
