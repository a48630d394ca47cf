"""The QuickBooks sync ledger the office reads (what moved, which way, what failed and why), and the
action-log rows of the `quickbooks_sync` automation's pushes."""

import uuid
from dataclasses import dataclass

from sqlalchemy import and_, or_, update
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from activities.action_log import ActionRecord, record_action
from models.base import utcnow
from models.enums import ActionOutcome
from models.quickbooks import QuickBooksLedgerEntry, SyncDirection, SyncStatus

AUTOMATION = "quickbooks_sync"
WAITING = (SyncStatus.failed, SyncStatus.conflict)  # the office's to look at


def workflow_id(company_id) -> str:
    """The company's QuickBooks workflow: every push and pull of the company goes through it."""
    return f"quickbooks-{company_id}"


@dataclass
class LedgerRow:
    """A ledger row about to be written."""

    company_id: uuid.UUID
    key: str  # the workflow step that writes it: a retried step updates its row instead of adding one
    entity_type: str
    entity_id: uuid.UUID
    direction: SyncDirection
    action: str
    qbo_id: str | None = None
    # A push's own: the step writing the row (its action-log rows are keyed by it, a retry of the row having
    # a step of its own), and who in the office asked for it when the automation did not.
    step: str | None = None
    requested_by: str | None = None


async def write_ledger(
    session: AsyncSession, row: LedgerRow, status: SyncStatus, error: str | None = None
) -> None:
    """Add the row, or update the one its step wrote before, counting the attempt."""
    now = utcnow()
    values = {
        "entity_type": row.entity_type,
        "entity_id": row.entity_id,
        "direction": row.direction,
        "action": row.action,
        "status": status,
        "error": error,
        "qbo_id": row.qbo_id,
        "updated_at": now,
    }
    attempts = QuickBooksLedgerEntry.__table__.c.attempts
    await session.exec(
        insert(QuickBooksLedgerEntry)
        .values(id=uuid.uuid4(), company_id=row.company_id, key=row.key, attempts=1, created_at=now, **values)
        .on_conflict_do_update(index_elements=["key"], set_=values | {"attempts": attempts + 1})
    )


async def settle_retrying(session: AsyncSession, key: str) -> None:
    """A step found nothing left to write: the row an earlier attempt of it left retrying is settled."""
    await session.exec(
        update(QuickBooksLedgerEntry)
        .where(QuickBooksLedgerEntry.key == key, QuickBooksLedgerEntry.status == SyncStatus.retrying)
        .values(status=SyncStatus.ok, error=None, action="unchanged", updated_at=utcnow())
    )


async def log_push(session: AsyncSession, row: LedgerRow, outcome: ActionOutcome, reason: str | None) -> None:
    """The action-log row of a push: the automation's, or the office user's who asked for it."""
    asked = f"asked for by {row.requested_by}" if row.requested_by else None
    await record_action(
        session,
        ActionRecord(
            company_id=str(row.company_id),
            action=f"push_{row.entity_type}_to_quickbooks",
            outcome=outcome,
            entity_type=row.entity_type,
            entity_id=str(row.entity_id),
            workflow_id=workflow_id(row.company_id),
            automation_key=None if row.requested_by else AUTOMATION,
            reason="; ".join(part for part in (reason, asked) if part) or None,
            idempotency_key=f"{row.step or row.key}/{outcome.value}",
        ),
    )


def retryable(entry: QuickBooksLedgerEntry) -> bool:
    """A failed push or a conflict: the office's retry writes ours to QuickBooks. A refused pull (a payment
    against an invoice voided here) is shown but waits for nothing: no retry changes QuickBooks' record."""
    return entry.status == SyncStatus.conflict or (
        entry.status == SyncStatus.failed and entry.direction == SyncDirection.push
    )


async def unresolved(session: AsyncSession, company_id: uuid.UUID) -> list[QuickBooksLedgerEntry]:
    """The ledger rows waiting for the office: a record's latest row (either way), when it is retryable. An
    older row of a record is history: a sync since (a pull that took QuickBooks' edits) supersedes it."""
    ledger = QuickBooksLedgerEntry
    latest = (
        select(ledger.id, ledger.direction, ledger.status)
        .where(ledger.company_id == company_id)
        .ext(distinct_on(ledger.entity_type, ledger.entity_id))
        .order_by(ledger.entity_type, ledger.entity_id, col(ledger.updated_at).desc())
        .subquery()
    )
    waiting = or_(
        latest.c.status == SyncStatus.conflict,
        and_(latest.c.status == SyncStatus.failed, latest.c.direction == SyncDirection.push),
    )
    rows = await session.exec(select(ledger).join(latest, latest.c.id == ledger.id).where(waiting))
    return list(rows.all())
