"""The service catalogue quotes and invoices are built from."""

import uuid

from fastapi import APIRouter, status

from api.crud import Page, PageDep, create_owned, fetch_page, update_owned
from api.deps import CurrentPrincipal, OfficeStaff, SessionDep
from api.tenancy import get_owned, owned
from models.catalog import Service, ServiceCreate, ServicePublic, ServiceUpdate

router = APIRouter(prefix="/services", tags=["services"])


@router.get("", response_model=Page[ServicePublic])
async def list_services(
    principal: CurrentPrincipal, session: SessionDep, page: PageDep, active: bool | None = True
):
    """The catalogue, by name."""
    stmt = owned(Service, principal)
    if active is not None:
        stmt = stmt.where(Service.active == active)
    rows, count = await fetch_page(session, stmt, page, Service.name, Service.id)
    return Page(data=rows, count=count)


@router.post("", response_model=ServicePublic, status_code=status.HTTP_201_CREATED)
async def create_service(body: ServiceCreate, principal: OfficeStaff, session: SessionDep):
    """Add a service to the catalogue."""
    service = await create_owned(session, principal, Service, body.model_dump())
    await session.commit()
    return service


@router.get("/{service_id}", response_model=ServicePublic)
async def get_service(service_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep):
    """One service."""
    return await get_owned(session, Service, service_id, principal)


@router.patch("/{service_id}", response_model=ServicePublic)
async def update_service(
    service_id: uuid.UUID, body: ServiceUpdate, principal: OfficeStaff, session: SessionDep
):
    """Change a service; set active=false to retire it (lines already priced keep their price)."""
    service = await get_owned(session, Service, service_id, principal)
    await update_owned(session, principal, service, body.model_dump(exclude_unset=True))
    await session.commit()
    return service
