"""Database work for booking a quote's job: the slot check and the job itself, the technician choice's
inputs and its write, the admins' alert when nobody fits, and the confirmation's contents.

Bookings of one company take a transaction-long advisory lock, so two customers racing for the last slot
are decided one after the other on fresh data; the job table's exclusion constraint is the last word on
a technician's time whoever writes it.
"""

import hashlib
import html
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.maps import Point
from activities.notifications import OWNERS, notify, team_members
from activities.quotes import INVALID_REQUEST
from activities.records import done_before, locked_row, record_change, refusal
from models.assignment import jobs_on_day, origin_for
from models.base import utcnow
from models.company import Company, User
from models.customers import Customer
from models.enums import JobStatus, QuoteStatus
from models.jobs import Job, job_window
from models.line_items import JobLineItem, QuoteLineItem, carried_over
from models.money import is_counted
from models.quotes import Quote
from models.requirements import requirements_of
from models.slots import SlotError, SlotTaken, check_start, load_availability
from models.states import TransitionError

SLOT_TAKEN = "SlotTaken"  # someone else booked that time first (answered as 409)


@dataclass
class BookSlot:
    quote_id: str
    company_id: str
    start: str  # ISO datetime with offset
    workflow_id: str
    step_key: str


@dataclass
class Booked:
    job_id: str
    start: str  # ISO, UTC
    end: str


@dataclass
class JobRef:
    job_id: str
    company_id: str


@dataclass
class CandidateOrigin:
    technician_id: str
    name: str
    origin: Point | None  # where they set out from (their previous job that day, or home)
    origin_label: str
    jobs_that_day: int


@dataclass
class AssignmentOptions:
    job_point: Point | None
    candidates: list[CandidateOrigin]  # free and qualified for the job's whole window


@dataclass
class AssignRequest:
    job_id: str
    company_id: str
    technician_id: str
    reason: str
    workflow_id: str
    step_key: str


@dataclass
class AdminAlert:
    job_id: str
    company_id: str
    workflow_id: str
    step_key: str


@dataclass
class AdminText:
    purpose: str
    to: str
    body: str


@dataclass
class Confirmation:
    customer_id: str
    customer_email: str | None
    customer_phone: str | None
    email_subject: str
    email_html: str
    email_text: str
    customer_sms: str
    technician_id: str | None
    technician_phone: str | None
    technician_sms: str


@dataclass
class _Actor:
    """Who changed a row, in the shape `record_change` reads."""

    actor: str
    workflow_id: str
    step_key: str
    actor_user_id: str | None = None


class SchedulingActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]):
        self._sessions = sessions

    @activity.defn
    async def book_slot(self, request: BookSlot) -> Booked:
        """Create the accepted quote's job at the chosen start, if a qualified technician is still free."""
        start = datetime.fromisoformat(request.start)
        async with self._sessions() as session, session.begin():
            quote = await locked_row(session, Quote, request.quote_id, request.company_id)
            booked = (await session.exec(select(Job).where(Job.quote_id == quote.id))).first()
            if booked is not None:  # a retry of this booking, or a second click: the first one stands
                if await done_before(session, request.step_key):
                    return _booked(booked)
                raise refusal(TransitionError("this quote's job is already booked"), quote.status)
            if quote.status != QuoteStatus.accepted:
                raise refusal(
                    TransitionError(f"only an accepted quote can be booked; this one is {quote.status}"),
                    quote.status,
                )
            await _lock_company_bookings(session, quote.company_id)
            company = await session.get(Company, quote.company_id)
            lines = list(
                (await session.exec(select(QuoteLineItem).where(QuoteLineItem.quote_id == quote.id))).all()
            )
            counted = [line for line in lines if is_counted(line, quote.chosen_option_group)]
            needs = await requirements_of(session, counted)
            availability = await load_availability(
                session, company, start - timedelta(days=1), start + needs.duration + timedelta(days=1)
            )
            try:
                check_start(
                    availability,
                    required_skills=needs.skills,
                    duration=needs.duration,
                    start=start,
                    now=utcnow(),
                )
            except SlotError as refused:
                kind = SLOT_TAKEN if isinstance(refused, SlotTaken) else INVALID_REQUEST
                raise ApplicationError(str(refused), type=kind, non_retryable=True) from None
            customer = await session.get(Customer, quote.customer_id)
            job = Job(
                company_id=quote.company_id,
                customer_id=quote.customer_id,
                quote_id=quote.id,
                title=quote.title,
                description=quote.notes,
                status=JobStatus.scheduled,
                scheduled_start=start,
                scheduled_end=start + needs.duration,
                address=customer.address,
                city=customer.city,
                lat=customer.lat,
                lng=customer.lng,
            )
            session.add(job)
            session.add_all(carried_over(counted, JobLineItem, company_id=job.company_id, job_id=job.id))
            actor = _Actor("customer", request.workflow_id, request.step_key)
            after = {
                "status": job.status.value,
                "scheduled_start": start.isoformat(),
                "quote_id": str(quote.id),
            }
            record_change(session, job, actor, "book", "book_job_from_quote", {}, after)
            return _booked(job)

    @activity.defn
    async def assignment_options(self, ref: JobRef) -> AssignmentOptions:
        """The technicians who are qualified and free for the job's window, with where they set out from."""
        async with self._sessions() as session:
            job = await locked_row(session, Job, ref.job_id, ref.company_id)
            company = await session.get(Company, job.company_id)
            lines = (await session.exec(select(JobLineItem).where(JobLineItem.job_id == job.id))).all()
            needs = await requirements_of(session, lines)
            start, end = job.scheduled_start, job.scheduled_end
            availability = await load_availability(
                session, company, start - timedelta(days=1), end + timedelta(days=1)
            )
            candidates = []
            for tech in availability.technicians:
                busy = any(b.start < end and b.end > start for b in tech.bookings)
                if busy or not needs.skills <= tech.skills:
                    continue
                origin = origin_for(tech, start, company.timezone)
                candidates.append(
                    CandidateOrigin(
                        technician_id=str(tech.id),
                        name=tech.name,
                        origin=Point(origin[0], origin[1]) if origin else None,
                        origin_label=origin[2] if origin else "unknown location",
                        jobs_that_day=jobs_on_day(tech, start, company.timezone),
                    )
                )
            point = Point(job.lat, job.lng) if job.lat is not None and job.lng is not None else None
            return AssignmentOptions(point, candidates)

    @activity.defn
    async def assign_technician(self, request: AssignRequest) -> bool:
        """Put the technician on the job with the reason; False if they were booked elsewhere meanwhile."""
        async with self._sessions() as session, session.begin():
            job = await locked_row(session, Job, request.job_id, request.company_id)
            if await done_before(session, request.step_key):
                return str(job.assigned_user_id) == request.technician_id
            before = {"assigned_user_id": str(job.assigned_user_id) if job.assigned_user_id else None}
            try:
                async with session.begin_nested():
                    job.assigned_user_id = uuid.UUID(request.technician_id)
                    job.assignment_reason = request.reason
                    session.add(job)
            except IntegrityError:  # the exclusion constraint: that time of theirs is taken
                await session.refresh(job)
                return False
            actor = _Actor("agentic_scheduling", request.workflow_id, request.step_key)
            after = {"assigned_user_id": request.technician_id, "reason": request.reason}
            record_change(session, job, actor, "assign", "assign_technician", before, after)
            return True

    @activity.defn
    async def ask_admins_to_assign(self, alert: AdminAlert) -> list[AdminText]:
        """Notify owners and admins in the app that a booked job needs a technician; their texts to send."""
        async with self._sessions() as session, session.begin():
            job = await locked_row(session, Job, alert.job_id, alert.company_id)
            company = await session.get(Company, job.company_id)
            admins = await team_members(session, job.company_id, OWNERS)
            when = job_window(job, company.timezone)
            body = f"{when}. No qualified technician was free when the customer booked; please assign one."
            await notify(
                session,
                job.company_id,
                (admin.id for admin in admins),
                kind="assign_manually",
                title=f"Assign a technician: {job.title}",
                body=body,
                entity_type="job",
                entity_id=job.id,
                step_key=alert.step_key,
            )
            sms = f"{company.name}: {job.title}, {when}, has no technician yet: please assign one."
            return [
                AdminText(f"assign-alert-{admin.id}", admin.phone, sms) for admin in admins if admin.phone
            ]

    @activity.defn
    async def confirmation(self, ref: JobRef) -> Confirmation:
        """The customer's confirmation (date, time window, technician) and the technician's text."""
        async with self._sessions() as session:
            job = await locked_row(session, Job, ref.job_id, ref.company_id)
            company = await session.get(Company, job.company_id)
            customer = await session.get(Customer, job.customer_id)
            tech = await session.get(User, job.assigned_user_id) if job.assigned_user_id else None
        when = job_window(job, company.timezone)
        who = f"{tech.name} will be your technician." if tech else "We will tell you who your technician is."
        text = (
            f"Hi {customer.name}, your appointment with {company.name} is booked: {job.title}, {when}. {who}"
        )
        email_html = (
            f'<div style="font-family:sans-serif;max-width:32rem">'
            f'<h2 style="color:{html.escape(company.brand_colour)}">Your appointment is booked</h2>'
            f"<p>Hi {html.escape(customer.name)},</p>"
            f"<p><strong>{html.escape(job.title)}</strong><br>{html.escape(when)}</p>"
            f"<p>{html.escape(who)}</p><p>— {html.escape(company.name)}</p></div>"
        )
        where = f" at {job.address}" if job.address else ""
        return Confirmation(
            customer_id=str(customer.id),
            customer_email=customer.email,
            customer_phone=customer.phone,
            email_subject=f"Booked: {job.title}, {when}",
            email_html=email_html,
            email_text=text,
            customer_sms=f"{company.name}: you're booked for {job.title}, {when}. {who}",
            technician_id=str(tech.id) if tech else None,
            technician_phone=tech.phone if tech else None,
            technician_sms=f"{company.name}: new job, {job.title} for {customer.name}, {when}{where}.",
        )


def _booked(job: Job) -> Booked:
    return Booked(str(job.id), job.scheduled_start.isoformat(), job.scheduled_end.isoformat())


async def _lock_company_bookings(session: AsyncSession, company_id) -> None:
    digest = hashlib.sha256(f"nexjob/bookings/{company_id}".encode()).digest()
    await session.exec(select(func.pg_advisory_xact_lock(int.from_bytes(digest[:8], "big", signed=True))))
