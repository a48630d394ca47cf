"""Database work for review requests: what the customer said lately, the request's words, the owner's
service-recovery task when the customer seems unhappy, and the row that says the job was handled."""

from dataclasses import dataclass, field
from datetime import timedelta
from html import escape

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from activities.action_log import ActionRecord, record_action
from activities.ai_fallbacks import lexicon_sentiment
from activities.notifications import OWNERS, notify, team_members
from activities.records import locked_row
from activities.scheduling import AdminText, JobRef
from models.base import utcnow
from models.company import Company
from models.customers import Customer
from models.enums import ActionOutcome, JobStatus
from models.jobs import Job
from models.logs import ActionLog, InboundMessage

RECENT = timedelta(days=14)  # the texts that tell how the customer feels about this visit
REVIEW_ACTION = "review_request"  # the row every handled job gets: the hourly backstop looks for it
BACKSTOP_LOOKBACK = timedelta(days=7)


@dataclass
class ReviewContext:
    status: str
    completed_at: str | None  # ISO
    timezone: str
    customer_name: str
    recent_texts: list[str] = field(default_factory=list)
    lexicon_score: float = 0.0  # the word-list reading of those texts, -1 … 1


@dataclass
class ReviewMessages:
    customer_id: str
    phone: str | None
    email: str | None
    sms: str
    subject: str
    html: str
    text: str


@dataclass
class Recovery:
    job_id: str
    company_id: str
    workflow_id: str
    why: str


@dataclass
class ReviewHandled:
    job_id: str
    company_id: str
    workflow_id: str
    outcome: str  # sent | skipped
    reason: str | None = None


class ReviewActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]):
        self._sessions = sessions

    @activity.defn
    async def review_context(self, ref: JobRef) -> ReviewContext:
        async with self._sessions() as session:
            job = await locked_row(session, Job, ref.job_id, ref.company_id)
            company = await session.get(Company, job.company_id)
            customer = await session.get(Customer, job.customer_id)
            texts = (
                await session.exec(
                    select(InboundMessage.body)
                    .where(
                        InboundMessage.customer_id == job.customer_id,
                        InboundMessage.received_at > utcnow() - RECENT,
                    )
                    .order_by(InboundMessage.received_at)
                )
            ).all()
        return ReviewContext(
            status=job.status.value,
            completed_at=job.completed_at.isoformat() if job.completed_at else None,
            timezone=company.timezone,
            customer_name=customer.name,
            recent_texts=list(texts),
            lexicon_score=lexicon_sentiment(" ".join(texts)),
        )

    @activity.defn
    async def review_messages(self, ref: JobRef) -> ReviewMessages | None:
        """The review request's text and email; None when the company has no review link to send."""
        async with self._sessions() as session:
            job = await locked_row(session, Job, ref.job_id, ref.company_id)
            company = await session.get(Company, job.company_id)
            customer = await session.get(Customer, job.customer_id)
        if not company.review_url:
            return None
        first = customer.name.split()[0]
        ask = f"Thanks for choosing {company.name} for {job.title}! Would you leave us a quick review?"
        html = (
            f'<div style="font-family:sans-serif;max-width:32rem"><p>Hi {escape(first)},</p>'
            f'<p>{escape(ask)}</p><p><a href="{escape(company.review_url)}" '
            f'style="background:{escape(company.brand_colour)};color:#fff;padding:.6rem 1rem;'
            f'border-radius:6px;text-decoration:none">Leave a review</a></p>'
            f"<p>— {escape(company.name)}</p></div>"
        )
        return ReviewMessages(
            customer_id=str(customer.id),
            phone=customer.phone,
            email=customer.email,
            sms=f"Hi {first}, {ask} {company.review_url}",
            subject=f"How did we do, {first}?",
            html=html,
            text=f"Hi {first},\n\n{ask}\n{company.review_url}\n\n— {company.name}",
        )

    @activity.defn
    async def service_recovery(self, recovery: Recovery) -> list[AdminText]:
        """The customer seems unhappy: a task for the owners (in the app) and the texts to send them."""
        async with self._sessions() as session, session.begin():
            job = await locked_row(session, Job, recovery.job_id, recovery.company_id)
            company = await session.get(Company, job.company_id)
            customer = await session.get(Customer, job.customer_id)
            owners = await team_members(session, job.company_id, OWNERS)
            await notify(
                session,
                job.company_id,
                (owner.id for owner in owners),
                kind="service_recovery",
                title=f"Service recovery: {customer.name} seems unhappy",
                body=f"After {job.title}: {recovery.why}. Call them before asking for a review.",
                entity_type="job",
                entity_id=job.id,
                step_key=f"{recovery.workflow_id}/recovery",
            )
            sms = f"{company.name}: {customer.name} seems unhappy after {job.title} ({recovery.why})."
            return [AdminText(f"recovery-{owner.id}", owner.phone, sms) for owner in owners if owner.phone]

    @activity.defn
    async def review_handled(self, handled: ReviewHandled) -> None:
        async with self._sessions() as session, session.begin():
            await record_action(
                session,
                ActionRecord(
                    company_id=handled.company_id,
                    action=REVIEW_ACTION,
                    outcome=ActionOutcome(handled.outcome),
                    entity_type="job",
                    entity_id=handled.job_id,
                    workflow_id=handled.workflow_id,
                    reason=handled.reason,
                    idempotency_key=f"{handled.workflow_id}/handled",
                ),
            )

    @activity.defn
    async def jobs_missing_review(self, limit: int) -> list[JobRef]:
        """Completed jobs of the past week, past their review time, that no review run has handled."""
        now = utcnow()
        handled = select(ActionLog.entity_id).where(ActionLog.action == REVIEW_ACTION)
        async with self._sessions() as session:
            rows = await session.exec(
                select(Job.id, Job.company_id)
                .where(
                    Job.status == JobStatus.completed,
                    col(Job.completed_at) > now - BACKSTOP_LOOKBACK,
                    # The real-time path waits up to the next morning: leave it that long.
                    col(Job.completed_at) < now - timedelta(hours=14),
                    col(Job.id).not_in(handled),
                )
                .order_by(Job.completed_at)
                .limit(limit)
            )
            return [JobRef(str(job_id), str(company_id)) for job_id, company_id in rows]
