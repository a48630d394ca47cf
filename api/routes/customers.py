"""Customers: search, create, edit, deactivate; deleting one with history is refused."""

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy.exc import IntegrityError
from sqlmodel import exists, or_, select

from activities.quickbooks import request_push
from api.crud import Page, PageDep, create_owned, delete_owned, fetch_page, update_owned
from api.deps import CurrentPrincipal, OfficeStaff, SessionDep, TemporalDep
from api.flows import geocode_later, needs_geocoding
from api.tenancy import get_owned, owned
from models.base import utcnow
from models.customers import Customer, CustomerCreate, CustomerPublic, CustomerUpdate
from models.invoices import Invoice
from models.jobs import Job
from models.leads import Lead
from models.logs import MessageLog
from models.quotes import Quote
from settings import TASK_QUEUE

router = APIRouter(prefix="/customers", tags=["customers"])


@router.get("", response_model=Page[CustomerPublic])
async def list_customers(
    principal: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    q: Annotated[str | None, Query(description="matches name, email, phone or city")] = None,
    active: bool | None = True,
):
    """Customers, searched by name, email, phone or city."""
    stmt = owned(Customer, principal)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(
            or_(
                Customer.name.ilike(like),
                Customer.email.ilike(like),
                Customer.phone.ilike(like),
                Customer.city.ilike(like),
            )
        )
    if active is not None:
        stmt = stmt.where(Customer.active == active)
    rows, count = await fetch_page(session, stmt, page, Customer.name, Customer.id)
    return Page(data=rows, count=count)


@router.post("", response_model=CustomerPublic, status_code=status.HTTP_201_CREATED)
async def create_customer(
    body: CustomerCreate, principal: OfficeStaff, session: SessionDep, client: TemporalDep
):
    """Add a customer; an address without coordinates is geocoded in the background."""
    values = body.model_dump()
    if body.sms_consent:
        values |= {"sms_consent_at": utcnow(), "sms_consent_source": body.sms_consent_source or "office"}
    customer = await create_owned(session, principal, Customer, values)
    await session.commit()
    if needs_geocoding(customer, values):
        await geocode_later(client, "customer", customer)
    await request_push(session, client, principal.company_id, "customer", customer.id, TASK_QUEUE)
    return customer


@router.get("/{customer_id}", response_model=CustomerPublic)
async def get_customer(customer_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep):
    """One customer."""
    return await get_owned(session, Customer, customer_id, principal)


@router.patch("/{customer_id}", response_model=CustomerPublic)
async def update_customer(
    customer_id: uuid.UUID,
    body: CustomerUpdate,
    principal: OfficeStaff,
    session: SessionDep,
    client: TemporalDep,
):
    """Change a customer's details, consent or active flag; a new address gets new coordinates."""
    customer = await get_owned(session, Customer, customer_id, principal)
    changes = body.model_dump(exclude_unset=True)
    if changes.get("sms_consent") is not None and changes["sms_consent"] != customer.sms_consent:
        changes |= {"sms_consent_at": utcnow(), "sms_consent_source": body.sms_consent_source or "office"}
    if "address" in changes and "lat" not in changes:
        changes |= {"lat": None, "lng": None}  # the old address's point is wrong for the new one
    await update_owned(session, principal, customer, changes)
    await session.commit()
    if needs_geocoding(customer, changes):
        await geocode_later(client, "customer", customer)
    await request_push(session, client, principal.company_id, "customer", customer.id, TASK_QUEUE)
    return customer


@router.delete("/{customer_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_customer(customer_id: uuid.UUID, principal: OfficeStaff, session: SessionDep):
    """Delete a customer who has no quotes, jobs or invoices; anyone with history is deactivated instead."""
    customer = await get_owned(session, Customer, customer_id, principal)
    history = (
        (Job, "jobs"),
        (Quote, "quotes"),
        (Invoice, "invoices"),
        (Lead, "leads"),
        (MessageLog, "messages"),
    )
    for model, what in history:
        if (await session.exec(select(exists().where(model.customer_id == customer.id)))).one():
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                f"{customer.name} has {what} on record, so deleting would lose history; "
                "deactivate the customer instead (PATCH active=false)",
            )
    try:
        await delete_owned(session, principal, customer)
        await session.commit()
    except IntegrityError:  # history recorded since the check above
        raise HTTPException(
            status.HTTP_409_CONFLICT, "the customer now has history; deactivate instead"
        ) from None
