"""The signed-in person's in-app notifications ("assign a technician to this job")."""

import uuid

from fastapi import APIRouter, HTTPException, status

from api.crud import Page, PageDep, fetch_page
from api.deps import CurrentPrincipal, SessionDep
from api.principal import Principal
from api.tenancy import owned
from models.base import utcnow
from models.notifications import Notification, NotificationPublic

router = APIRouter(prefix="/notifications", tags=["notifications"])


def _mine(principal: Principal):
    if principal.user_id is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "notifications belong to people; an API key has none")
    return owned(Notification, principal).where(Notification.user_id == principal.user_id)


@router.get("", response_model=Page[NotificationPublic])
async def list_notifications(
    principal: CurrentPrincipal, session: SessionDep, page: PageDep, unread: bool = False
):
    """Your notifications, newest first (`unread=true`: only those not yet read)."""
    stmt = _mine(principal)
    if unread:
        stmt = stmt.where(Notification.read_at.is_(None))
    rows, count = await fetch_page(session, stmt, page, Notification.created_at.desc(), Notification.id)
    return Page(data=rows, count=count)


@router.post("/{notification_id}/read", response_model=NotificationPublic)
async def mark_read(notification_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep):
    """Mark one of your notifications read."""
    found = await session.exec(_mine(principal).where(Notification.id == notification_id))
    notification = found.first()
    if notification is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "notification not found")
    if notification.read_at is None:
        notification.read_at = utcnow()
        session.add(notification)
    await session.commit()
    return notification
