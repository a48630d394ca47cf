"""The service catalogue quotes and invoices are built from, and the parts each service usually uses."""

import uuid

from fastapi import APIRouter, status
from fastapi.exceptions import RequestValidationError
from sqlmodel import delete, select

from api.crud import Page, PageDep, create_owned, fetch_page, record_audit, update_owned
from api.deps import CurrentPrincipal, OfficeStaff, SessionDep
from api.tenancy import check_references, get_owned, owned
from models.catalog import (
    Service,
    ServiceCreate,
    ServicePart,
    ServicePartPublic,
    ServicePartsUpdate,
    ServicePublic,
    ServiceUpdate,
)
from models.inventory import InventoryItem

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


async def _parts(session, service: Service) -> list[ServicePartPublic]:
    found = await session.exec(
        select(ServicePart, InventoryItem)
        .join(InventoryItem, InventoryItem.id == ServicePart.inventory_item_id)
        .where(ServicePart.service_id == service.id)
        .order_by(InventoryItem.name)
    )
    return [
        ServicePartPublic(
            inventory_item_id=item.id, quantity=part.quantity, item_name=item.name, sku=item.sku
        )
        for part, item in found.all()
    ]


@router.get("/{service_id}/parts", response_model=list[ServicePartPublic])
async def list_service_parts(service_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep):
    """The parts a service usually uses, per job line: auto parts ordering stocks up for booked jobs."""
    return await _parts(session, await get_owned(session, Service, service_id, principal))


@router.put("/{service_id}/parts", response_model=list[ServicePartPublic])
async def replace_service_parts(
    service_id: uuid.UUID, body: ServicePartsUpdate, principal: OfficeStaff, session: SessionDep
):
    """Replace the parts a service usually uses (each item once; `[]` clears the list)."""
    service = await get_owned(session, Service, service_id, principal)
    seen = set()
    for i, part in enumerate(body.parts):
        loc = ("body", "parts", i)
        await check_references(session, principal, {"inventory_item_id": part.inventory_item_id}, loc)
        if part.inventory_item_id in seen:
            raise RequestValidationError(
                [
                    {
                        "loc": [*loc, "inventory_item_id"],
                        "msg": "this item is listed twice",
                        "type": "value_error",
                    }
                ]
            )
        seen.add(part.inventory_item_id)
    before = [p.model_dump(mode="json") for p in await _parts(session, service)]
    await session.exec(delete(ServicePart).where(ServicePart.service_id == service.id))
    session.add_all(
        ServicePart(company_id=service.company_id, service_id=service.id, **part.model_dump())
        for part in body.parts
    )
    after = [part.model_dump(mode="json") for part in body.parts]
    record_audit(session, principal, service, "parts", {"parts": before}, {"parts": after})
    await session.commit()
    return await _parts(session, service)
