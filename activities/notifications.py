"""In-app notifications written on behalf of workflows: who in the office to tell, and telling them once."""

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.company import User
from models.enums import Role
from models.notifications import Notification

OWNERS = (Role.owner, Role.admin)  # told about the company's own trouble
OFFICE = (Role.owner, Role.admin, Role.manager)  # told about a customer's payment


async def team_members(session: AsyncSession, company_id, roles: Sequence[Role]) -> list[User]:
    """The company's active members in these roles."""
    found = await session.exec(
        select(User).where(User.company_id == company_id, col(User.role).in_(roles), col(User.active))
    )
    return list(found.all())


async def notify(
    session: AsyncSession,
    company_id: uuid.UUID,
    user_ids: Iterable[uuid.UUID],
    *,
    kind: str,
    title: str,
    body: str | None,
    entity_type: str,
    entity_id: uuid.UUID,
    step_key: str,
) -> None:
    """One notification per person for this workflow step: a retried activity adds none twice."""
    for user_id in user_ids:
        await session.exec(
            insert(Notification)
            .values(
                id=uuid.uuid4(),
                company_id=company_id,
                user_id=user_id,
                kind=kind,
                title=title[:500],
                body=body,
                entity_type=entity_type,
                entity_id=entity_id,
                idempotency_key=f"{step_key}/{kind}/{user_id}",
            )
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
        )
