"""Database work done on behalf of workflows: status changes with their payment, audit and action rows."""

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.events import publish
from models.base import utcnow
from models.company import User
from models.customers import Customer
from models.enums import ActionOutcome, InvoiceStatus, JobStatus, PaymentMethod, Role
from models.invoices import Invoice, Payment
from models.jobs import Job
from models.logs import ActionLog, AuditLog
from models.states import TransitionError, check_invoice_transition, check_job_transition

INVALID_TRANSITION = "InvalidTransition"
NOT_FOUND = "NotFound"

_ACTIONS = {
    InvoiceStatus.sent: "mark_invoice_sent",
    InvoiceStatus.paid: "record_payment",
    InvoiceStatus.void: "void_invoice",
}


@dataclass
class PaymentDetails:
    method: str
    received_on: str  # ISO date
    reference: str | None = None
    amount_cents: int | None = None  # None: the whole balance


@dataclass
class ChangeInvoiceStatus:
    invoice_id: str
    company_id: str
    target: str
    actor: str  # who asked: "user:<email>", "api_key:<prefix>", "stripe"
    workflow_id: str
    step_key: str  # unique per request, so a retry of this activity changes nothing twice
    actor_user_id: str | None = None
    payment: PaymentDetails | None = None
    by_provider: bool = False


@dataclass
class InvoiceSnapshot:
    status: str
    amount_paid_cents: int
    total_cents: int


@dataclass
class ChangeJobStatus:
    job_id: str
    company_id: str
    target: str
    actor: str
    workflow_id: str
    step_key: str  # unique per request, so a retry of this activity changes nothing twice
    actor_user_id: str | None = None


@dataclass
class JobSnapshot:
    status: str


@dataclass
class StoreCoordinates:
    company_id: str
    entity_type: str  # customer | job
    entity_id: str
    address: str  # the address that was geocoded
    lat: float
    lng: float


class RecordsActivities:
    """Database work for workflows: invoice and job status changes, geocoded coordinates, who to alert."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]):
        self._sessions = sessions

    @activity.defn
    async def change_invoice_status(self, change: ChangeInvoiceStatus) -> InvoiceSnapshot:
        """Move an invoice to `change.target` if the rules allow, in one transaction with its rows."""
        target = InvoiceStatus(change.target)
        async with self._sessions() as session, session.begin():
            invoice = await locked_row(session, Invoice, change.invoice_id, change.company_id)
            if not await done_before(session, change.step_key):
                self._apply(session, invoice, target, change)
                await publish(
                    session,
                    invoice.company_id,
                    "invoice.status",
                    {"invoice_id": invoice.id, "status": invoice.status, "number": invoice.number},
                )
            return InvoiceSnapshot(invoice.status.value, invoice.amount_paid_cents, invoice.total_cents)

    @staticmethod
    def _apply(session: AsyncSession, invoice: Invoice, target: InvoiceStatus, change: ChangeInvoiceStatus):
        try:
            check_invoice_transition(invoice.status, target, by_provider=change.by_provider)
        except TransitionError as refused:
            raise refusal(refused, invoice.status) from None
        before = {"status": invoice.status.value, "amount_paid_cents": invoice.amount_paid_cents}
        now = utcnow()
        action = _ACTIONS[target]
        if target == InvoiceStatus.sent:
            invoice.status, invoice.sent_at = target, now
        elif target == InvoiceStatus.void:
            invoice.status, invoice.voided_at = target, now
        elif target == InvoiceStatus.paid:
            balance = invoice.total_cents - invoice.amount_paid_cents
            details = change.payment
            # By hand: the balance. From Stripe: what the customer actually paid.
            amount = details.amount_cents if details and details.amount_cents is not None else balance
            if amount > 0 and details is not None:
                session.add(
                    Payment(
                        company_id=invoice.company_id,
                        invoice_id=invoice.id,
                        amount_cents=amount,
                        method=PaymentMethod(details.method),
                        reference=details.reference,
                        received_on=date.fromisoformat(details.received_on),
                        recorded_by_id=uuid_or_none(change.actor_user_id),
                        idempotency_key=change.step_key,
                    )
                )
            invoice.amount_paid_cents += amount
            if invoice.amount_paid_cents >= invoice.total_cents:
                invoice.status, invoice.paid_at = target, now
            else:
                action = "record_partial_payment"  # money in, but a balance is still due
        session.add(invoice)
        after = {"status": invoice.status.value, "amount_paid_cents": invoice.amount_paid_cents}
        record_change(session, invoice, change, action, action, before, after)

    @activity.defn
    async def change_job_status(self, change: ChangeJobStatus) -> JobSnapshot:
        """Move a job to `change.target` if its state machine allows, with audit and action-log rows."""
        target = JobStatus(change.target)
        async with self._sessions() as session, session.begin():
            job = await locked_row(session, Job, change.job_id, change.company_id)
            if not await done_before(session, change.step_key):
                current = job.status
                self._move_job(session, job, target, change)
                try:
                    await session.flush()
                except IntegrityError:  # back on the calendar, on top of another job of the technician's
                    clash = TransitionError("the assigned technician already has another job at that time")
                    raise refusal(clash, current) from None
                await publish(
                    session,
                    job.company_id,
                    "job.status",
                    {
                        "job_id": job.id,
                        "status": job.status,
                        "previous_status": current,
                        "assigned_user_id": job.assigned_user_id,
                        "scheduled_start": job.scheduled_start,
                    },
                )
            return JobSnapshot(job.status.value)

    @staticmethod
    def _move_job(session: AsyncSession, job: Job, target: JobStatus, change: ChangeJobStatus) -> None:
        try:
            check_job_transition(job.status, target)
            if target == JobStatus.scheduled and job.scheduled_start is None:
                raise TransitionError("give the job a scheduled start before scheduling it")
        except TransitionError as refused:
            raise refusal(refused, job.status) from None
        before = {"status": job.status.value}
        job.status = target
        if target == JobStatus.completed:
            job.completed_at = utcnow()
        elif target == JobStatus.unscheduled:
            job.scheduled_start = job.scheduled_end = None  # back on the pile: no time any more
        session.add(job)
        after = {"status": target.value}
        record_change(session, job, change, "change_status", f"job_{target.value}", before, after)

    @activity.defn
    async def store_coordinates(self, data: StoreCoordinates) -> bool:
        """Write geocoded coordinates back, unless the address changed while the geocoder worked."""
        model = {"customer": Customer, "job": Job}[data.entity_type]
        async with self._sessions() as session, session.begin():
            row = await session.get(model, uuid.UUID(data.entity_id), with_for_update=True)
            if row is None or str(row.company_id) != data.company_id or row.address != data.address:
                return False
            row.lat, row.lng = data.lat, data.lng
            session.add(row)
            return True

    @activity.defn
    async def owner_and_admin_phones(self, company_id: str) -> list[str]:
        """Who to tell about the company's own trouble."""
        async with self._sessions() as session:
            rows = await session.exec(
                select(User.phone).where(
                    User.company_id == uuid.UUID(company_id),
                    User.role.in_([Role.owner, Role.admin]),
                    User.active,
                    User.phone.is_not(None),
                )
            )
            return sorted(set(rows.all()))


async def locked_row(session: AsyncSession, model, row_id: str, company_id: str):
    """The company's row, locked for this transaction, or a final NotFound."""
    row = await session.get(model, uuid.UUID(row_id), with_for_update=True)
    if row is None or str(row.company_id) != company_id:
        raise ApplicationError(f"{model.__tablename__} not found", type=NOT_FOUND, non_retryable=True)
    return row


async def done_before(session: AsyncSession, step_key: str) -> bool:
    """Whether this workflow step already committed (its action-log row is there): a retry changes nothing."""
    found = await session.exec(select(ActionLog.id).where(ActionLog.idempotency_key == step_key))
    return found.first() is not None


def refusal(refused: TransitionError, current) -> ApplicationError:
    # The current status rides along, so the workflow learns it (and ends if it is final).
    return ApplicationError(str(refused), current.value, type=INVALID_TRANSITION, non_retryable=True)


def record_change(
    session, row, change, audit_action: str, log_action: str, before: dict, after: dict
) -> None:
    """The audit row (who, before, after) and the action-log row (keyed by the workflow step) of a change."""
    session.add(
        AuditLog(
            company_id=row.company_id,
            actor_user_id=uuid_or_none(change.actor_user_id),
            actor=change.actor,
            entity_type=row.__tablename__,
            entity_id=row.id,
            action=audit_action,
            before=before,
            after=after,
        )
    )
    session.add(
        ActionLog(
            company_id=row.company_id,
            action=log_action,
            outcome=ActionOutcome.done,
            reason=f"requested by {change.actor}",
            entity_type=row.__tablename__,
            entity_id=row.id,
            workflow_id=change.workflow_id,
            idempotency_key=change.step_key,
        )
    )


def uuid_or_none(value: str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None
