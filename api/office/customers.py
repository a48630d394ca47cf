"""Customers: the searchable list, the create/edit form and everything about one customer on one page."""

import uuid

from fastapi import APIRouter, Request
from sqlmodel import or_

from api.crud import PageParams
from api.deps import SessionDep
from api.office.nav import OFFICE
from api.office.pages import PageUser, allow, render
from api.routes.customers import list_customers
from api.routes.invoices import list_invoices
from api.routes.jobs import list_jobs
from api.routes.quotes import list_quotes
from api.tenancy import get_owned, owned
from models.customers import Customer, Equipment, Property
from models.logs import MessageLog

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
HISTORY_ROWS = 20  # per section of a customer's page: the latest ones


def messages_with(customer: Customer):
    """Messages to this customer: texts carry their id; emails are known by the address they went to."""
    addresses = [address for address in (customer.email, customer.phone) if address]
    return or_(MessageLog.customer_id == customer.id, MessageLog.to_address.in_(addresses))


@router.get("/customers")
async def customers_page(
    request: Request,
    principal: PageUser,
    session: SessionDep,
    q: str = "",
    inactive: bool = False,
    offset: int = 0,
):
    allow(principal, *OFFICE)
    page = PageParams(limit=PAGE_SIZE, offset=max(offset, 0))
    found = await list_customers(principal, session, page, q=q or None, active=None if inactive else True)
    return await render(
        request,
        session,
        principal,
        "office/customers.html",
        customers=found.data,
        count=found.count,
        q=q,
        inactive=inactive,
        offset=page.offset,
        page_size=PAGE_SIZE,
    )


@router.get("/customers/new")
async def new_customer(request: Request, principal: PageUser, session: SessionDep):
    allow(principal, *OFFICE)
    return await render(request, session, principal, "office/customer_form.html", customer=None)


@router.get("/customers/{customer_id}/edit")
async def edit_customer(request: Request, principal: PageUser, session: SessionDep, customer_id: uuid.UUID):
    allow(principal, *OFFICE)
    customer = await get_owned(session, Customer, customer_id, principal)
    return await render(request, session, principal, "office/customer_form.html", customer=customer)


@router.get("/customers/{customer_id}")
async def customer_page(request: Request, principal: PageUser, session: SessionDep, customer_id: uuid.UUID):
    allow(principal, *OFFICE)
    customer = await get_owned(session, Customer, customer_id, principal)
    latest = PageParams(limit=HISTORY_ROWS)
    properties = await session.exec(
        owned(Property, principal).where(Property.customer_id == customer.id).order_by(Property.name)
    )
    equipment = await session.exec(
        owned(Equipment, principal).where(Equipment.customer_id == customer.id).order_by(Equipment.name)
    )
    messages = await session.exec(
        owned(MessageLog, principal)
        .where(messages_with(customer))
        .order_by(MessageLog.created_at.desc())
        .limit(HISTORY_ROWS)
    )
    return await render(
        request,
        session,
        principal,
        "office/customer.html",
        customer=customer,
        properties=properties.all(),
        equipment=equipment.all(),
        jobs=await list_jobs(principal, session, latest, customer_id=customer.id, sort="-scheduled_start"),
        quotes=await list_quotes(principal, session, latest, customer_id=customer.id),
        invoices=await list_invoices(principal, session, latest, customer_id=customer.id),
        messages=messages.all(),
    )
