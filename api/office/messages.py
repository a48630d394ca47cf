"""Messages: every text and email the platform sent, with its delivery status."""

import uuid

from fastapi import APIRouter, Request

from api.crud import PageParams, fetch_page
from api.deps import SessionDep
from api.office.customers import messages_with
from api.office.nav import OFFICE
from api.office.pages import PageUser, allow, names_by_id, render
from api.tenancy import get_owned, owned
from models.customers import Customer
from models.enums import Channel, MessageStatus
from models.logs import MessageLog

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50


@router.get("/messages")
async def messages_page(
    request: Request,
    principal: PageUser,
    session: SessionDep,
    channel: Channel | None = None,
    status: MessageStatus | None = None,
    customer: uuid.UUID | None = None,
    offset: int = 0,
):
    allow(principal, *OFFICE)
    stmt = owned(MessageLog, principal)
    if channel is not None:
        stmt = stmt.where(MessageLog.channel == channel)
    if status is not None:
        stmt = stmt.where(MessageLog.status == status)
    about = await get_owned(session, Customer, customer, principal) if customer else None
    if about is not None:
        stmt = stmt.where(messages_with(about))
    page = PageParams(limit=PAGE_SIZE, offset=max(offset, 0))
    rows, count = await fetch_page(session, stmt, page, MessageLog.created_at.desc(), MessageLog.id)
    return await render(
        request,
        session,
        principal,
        "office/messages.html",
        messages=rows,
        count=count,
        names=await names_by_id(session, principal, Customer, (m.customer_id for m in rows)),
        channel=channel,
        status=status,
        customer=about,
        channels=list(Channel),
        statuses=list(MessageStatus),
        offset=page.offset,
        page_size=PAGE_SIZE,
    )
