"""The QuickBooks sync ledger the office reads (what moved, which way, what failed and why), and the
action-log rows of the `quickbooks_sync` automation's pushes."""

import uuid
from dataclasses import dataclass

from sqlalchemy import update
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
    await record_action(
        session,
        ActionRecord(
            company_id=str(row.company_id),
            action=f"push_{row.entity_type}_to_quickbooks",
            outcome=outcome,
            entity_type=row.entity_type,
            entity_id=str(row.entity_id),
            workflow_id=workflow_id(row.company_id),
            automation_key=AUTOMATION,
            reason=reason,
            idempotency_key=f"{row.key}/{outcome.value}",
        ),
    )


async def unresolved(session: AsyncSession, company_id: uuid.UUID) -> list[tuple[str, uuid.UUID, SyncStatus]]:
    """(direction, our id, status) of the records whose latest ledger row failed or conflicted."""
    ledger = QuickBooksLedgerEntry
    latest = (
        select(ledger.direction, ledger.entity_type, ledger.entity_id, ledger.status)
        .where(ledger.company_id == company_id)
        .ext(distinct_on(ledger.direction, ledger.entity_type, ledger.entity_id))
        .order_by(ledger.direction, ledger.entity_type, ledger.entity_id, col(ledger.updated_at).desc())
        .subquery()
    )
    rows = await session.exec(
        select(latest.c.direction, latest.c.entity_id, latest.c.status).where(latest.c.status.in_(WAITING))
    )
    return [(direction, entity_id, SyncStatus(status)) for direction, entity_id, status in rows.all()]
