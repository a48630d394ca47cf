"""Inventory items and the suppliers they come from. An item at or below its reorder point is low stock;
a count that leaves it there asks the company's reorder workflow to order it (`supplier_reorder`). Also
how the jobs API asks that workflow to check a booked job's parts (`autonomous_parts_ordering`)."""

import logging
import uuid
from collections.abc import Iterable

from fastapi import APIRouter, HTTPException, status
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import exists, select
from temporalio.client import Client
from temporalio.service import RPCError

from activities.purchasing import UPCOMING, lists_parts, request_reorder
from api.crud import Page, PageDep, create_owned, delete_owned, fetch_page, update_owned
from api.deps import CurrentPrincipal, OfficeStaff, SessionDep, TemporalDep
from api.tenancy import get_owned, owned
from models.inventory import (
    InventoryItem,
    InventoryItemCreate,
    InventoryItemPublic,
    InventoryItemUpdate,
    PartUsage,
    PurchaseOrder,
    PurchaseOrderLine,
    Supplier,
    SupplierCreate,
    SupplierPublic,
    SupplierUpdate,
)
from models.jobs import Job
from models.purchasing import par_error
from settings import TASK_QUEUE

log = logging.getLogger(__name__)
router = APIRouter(tags=["inventory"])
# What a change to these may do to an item's need for reordering.
REORDER_FIELDS = {"quantity", "reorder_point", "reorder_quantity", "par_level", "supplier_id"}


async def reorder_later(client: Client, company_id, item_ids: Iterable[uuid.UUID]) -> None:
    """Tell the company's reorder workflow these items are low. The change is saved either way: when
    Temporal cannot be reached the items wait for their next change."""
    try:
        await request_reorder(client, company_id, TASK_QUEUE, item_ids=item_ids)
    except RPCError as unreachable:
        log.warning("could not ask for a reorder of %s: %s", list(item_ids), unreachable)


async def order_parts_later(session, client: Client, job: Job) -> None:
    """Ask the company's reorder workflow to check stock for a booked job whose services list parts, as
    booking it does. The job is saved either way: when Temporal cannot be reached, its next change asks."""
    if job.status not in UPCOMING or not await lists_parts(session, job.id):
        return
    try:
        await request_reorder(client, job.company_id, TASK_QUEUE, job_ids=[job.id])
    except RPCError as unreachable:
        log.warning("could not ask for the parts of job %s: %s", job.id, unreachable)


def _check_par(reorder_point: int, par_level: int | None) -> None:
    if error := par_error(reorder_point, par_level):
        raise RequestValidationError([{"loc": ["body", "par_level"], "msg": error, "type": "value_error"}])


def _sku_taken(sku: str) -> HTTPException:
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        [{"loc": ["body", "sku"], "msg": f"SKU {sku!r} is already in use", "type": "unique"}],
    )


async def _in_use(session, *conditions) -> bool:
    return any([(await session.exec(select(exists().where(c)))).one() for c in conditions])


@router.get("/inventory", response_model=Page[InventoryItemPublic])
async def list_inventory(
    principal: CurrentPrincipal, session: SessionDep, page: PageDep, low_stock: bool | None = None
):
    """Stock on hand by name (negative when more was used than the shelf held); `low_stock=true` lists
    what is at or below its reorder point."""
    stmt = owned(InventoryItem, principal)
    if low_stock is not None:
        below = InventoryItem.quantity <= InventoryItem.reorder_point
        stmt = stmt.where(below if low_stock else ~below)
    rows, count = await fetch_page(session, stmt, page, InventoryItem.name, InventoryItem.id)
    return Page(data=rows, count=count)


@router.post("/inventory", response_model=InventoryItemPublic, status_code=status.HTTP_201_CREATED)
async def create_inventory_item(body: InventoryItemCreate, principal: OfficeStaff, session: SessionDep):
    """Add an item to inventory: its stock, reorder point and quantity, par level, cost and price."""
    _check_par(body.reorder_point, body.par_level)
    try:
        item = await create_owned(session, principal, InventoryItem, body.model_dump())
        await session.commit()
    except IntegrityError:
        raise _sku_taken(body.sku) from None
    return item


@router.get("/inventory/{item_id}", response_model=InventoryItemPublic)
async def get_inventory_item(item_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep):
    """One inventory item."""
    return await get_owned(session, InventoryItem, item_id, principal)


@router.patch("/inventory/{item_id}", response_model=InventoryItemPublic)
async def update_inventory_item(
    item_id: uuid.UUID,
    body: InventoryItemUpdate,
    principal: OfficeStaff,
    session: SessionDep,
    client: TemporalDep,
):
    """Change an item: a count of the shelf, reorder point and quantity, par level, cost, price, supplier.
    Left at or below its reorder point, it is reordered (`supplier_reorder`)."""
    item = await get_owned(session, InventoryItem, item_id, principal)
    changes = body.model_dump(exclude_unset=True)
    _check_par(changes.get("reorder_point", item.reorder_point), changes.get("par_level", item.par_level))
    try:
        await update_owned(session, principal, item, changes)
        await session.commit()
    except IntegrityError:
        raise _sku_taken(body.sku) from None
    if item.low_stock and REORDER_FIELDS & set(changes):
        await reorder_later(client, item.company_id, [item.id])
    return item


@router.delete("/inventory/{item_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_inventory_item(item_id: uuid.UUID, principal: OfficeStaff, session: SessionDep):
    """Delete an item that no job or purchase order has used."""
    item = await get_owned(session, InventoryItem, item_id, principal)
    if await _in_use(
        session, PartUsage.inventory_item_id == item.id, PurchaseOrderLine.inventory_item_id == item.id
    ):
        raise HTTPException(status.HTTP_409_CONFLICT, "this item is on jobs or purchase orders; keep it")
    await delete_owned(session, principal, item)
    await session.commit()


@router.get("/suppliers", response_model=Page[SupplierPublic])
async def list_suppliers(principal: OfficeStaff, session: SessionDep, page: PageDep):
    """Suppliers, preferred first."""
    stmt = owned(Supplier, principal)
    rows, count = await fetch_page(session, stmt, page, Supplier.preferred.desc(), Supplier.name)
    return Page(data=rows, count=count)


@router.post("/suppliers", response_model=SupplierPublic, status_code=status.HTTP_201_CREATED)
async def create_supplier(body: SupplierCreate, principal: OfficeStaff, session: SessionDep):
    """Add a supplier."""
    supplier = await create_owned(session, principal, Supplier, body.model_dump())
    await session.commit()
    return supplier


@router.get("/suppliers/{supplier_id}", response_model=SupplierPublic)
async def get_supplier(supplier_id: uuid.UUID, principal: OfficeStaff, session: SessionDep):
    """One supplier."""
    return await get_owned(session, Supplier, supplier_id, principal)


@router.patch("/suppliers/{supplier_id}", response_model=SupplierPublic)
async def update_supplier(
    supplier_id: uuid.UUID, body: SupplierUpdate, principal: OfficeStaff, session: SessionDep
):
    """Change a supplier's details."""
    supplier = await get_owned(session, Supplier, supplier_id, principal)
    await update_owned(session, principal, supplier, body.model_dump(exclude_unset=True))
    await session.commit()
    return supplier


@router.delete("/suppliers/{supplier_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_supplier(supplier_id: uuid.UUID, principal: OfficeStaff, session: SessionDep):
    """Delete a supplier with no purchase orders and no items."""
    supplier = await get_owned(session, Supplier, supplier_id, principal)
    if await _in_use(
        session, PurchaseOrder.supplier_id == supplier.id, InventoryItem.supplier_id == supplier.id
    ):
        raise HTTPException(status.HTTP_409_CONFLICT, "this supplier has items or purchase orders; keep it")
    await delete_owned(session, principal, supplier)
    await session.commit()
