"""Read-only logs: what automations did (action log) and who changed what (audit log)."""

import uuid

from fastapi import APIRouter

from api.crud import Page, PageDep, fetch_page
from api.deps import OfficeStaff, SessionDep
from api.tenancy import owned
from models.enums import ActionOutcome
from models.logs import ActionLog, ActionLogPublic, AuditLog, AuditLogPublic

router = APIRouter(tags=["logs"])


@router.get("/action-log", response_model=Page[ActionLogPublic])
async def list_actions(
    principal: OfficeStaff,
    session: SessionDep,
    page: PageDep,
    entity_id: uuid.UUID | None = None,
    outcome: ActionOutcome | None = None,
):
    """Every automated action, newest first: done, sent, skipped (with why) or failed (with why)."""
    stmt = owned(ActionLog, principal)
    if entity_id is not None:
        stmt = stmt.where(ActionLog.entity_id == entity_id)
    if outcome is not None:
        stmt = stmt.where(ActionLog.outcome == outcome)
    rows, count = await fetch_page(session, stmt, page, ActionLog.created_at.desc(), ActionLog.id)
    return Page(data=rows, count=count)


@router.get("/audit-log", response_model=Page[AuditLogPublic])
async def list_audit(
    principal: OfficeStaff, session: SessionDep, page: PageDep, entity_id: uuid.UUID | None = None
):
    """Who changed what, with the values before and after, newest first."""
    stmt = owned(AuditLog, principal)
    if entity_id is not None:
        stmt = stmt.where(AuditLog.entity_id == entity_id)
    rows, count = await fetch_page(session, stmt, page, AuditLog.created_at.desc(), AuditLog.id)
    return Page(data=rows, count=count)
