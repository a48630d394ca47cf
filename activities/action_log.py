"""Writing the action log: one row per automated decision (done, sent, skipped with why, failed with why)."""

import uuid
from dataclasses import dataclass

from sqlalchemy.dialects.postgresql import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from models.enums import ActionOutcome
from models.logs import ActionLog


@dataclass
class ActionRecord:
    company_id: str
    action: str
    outcome: ActionOutcome
    entity_type: str
    entity_id: str
    workflow_id: str | None = None
    automation_key: str | None = None
    reason: str | None = None
    # The step's identity: a retried activity writes its row once.
    idempotency_key: str | None = None


async def record_action(session: AsyncSession, record: ActionRecord) -> bool:
    """Write the row; False when a row with the same idempotency key was already there."""
    inserted = await session.exec(
        insert(ActionLog)
        .values(
            id=uuid.uuid4(),
            company_id=uuid.UUID(record.company_id),
            action=record.action,
            outcome=record.outcome,
            entity_type=record.entity_type,
            entity_id=uuid.UUID(record.entity_id),
            workflow_id=record.workflow_id,
            automation_key=record.automation_key,
            reason=record.reason,
            idempotency_key=record.idempotency_key,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(ActionLog.id)
    )
    return inserted.first() is not None
