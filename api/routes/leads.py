"""Leads: enquiries that may become customers."""

import uuid

from fastapi import APIRouter, status

from api.crud import Page, PageDep, create_owned, delete_owned, fetch_page, update_owned
from api.deps import OfficeStaff, SessionDep
from api.tenancy import get_owned, owned
from models.enums import LeadStatus
from models.leads import Lead, LeadCreate, LeadPublic, LeadUpdate

router = APIRouter(prefix="/leads", tags=["leads"])


@router.get("", response_model=Page[LeadPublic])
async def list_leads(
    principal: OfficeStaff, session: SessionDep, page: PageDep, status: LeadStatus | None = None
):
    """Leads, newest first, optionally by status."""
    stmt = owned(Lead, principal)
    if status is not None:
        stmt = stmt.where(Lead.status == status)
    rows, count = await fetch_page(session, stmt, page, Lead.created_at.desc(), Lead.id)
    return Page(data=rows, count=count)


@router.post("", response_model=LeadPublic, status_code=status.HTTP_201_CREATED)
async def create_lead(body: LeadCreate, principal: OfficeStaff, session: SessionDep):
    """Record a lead."""
    lead = await create_owned(session, principal, Lead, body.model_dump())
    await session.commit()
    return lead


@router.get("/{lead_id}", response_model=LeadPublic)
async def get_lead(lead_id: uuid.UUID, principal: OfficeStaff, session: SessionDep):
    """One lead."""
    return await get_owned(session, Lead, lead_id, principal)


@router.patch("/{lead_id}", response_model=LeadPublic)
async def update_lead(lead_id: uuid.UUID, body: LeadUpdate, principal: OfficeStaff, session: SessionDep):
    """Change a lead or move it along (new → contacted → qualified → won / lost)."""
    lead = await get_owned(session, Lead, lead_id, principal)
    await update_owned(session, principal, lead, body.model_dump(exclude_unset=True))
    await session.commit()
    return lead


@router.delete("/{lead_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_lead(lead_id: uuid.UUID, principal: OfficeStaff, session: SessionDep):
    """Delete a lead (spam, duplicates)."""
    await delete_owned(session, principal, await get_owned(session, Lead, lead_id, principal))
    await session.commit()
