"""Inventory pages: items with their stock (low and negative stock flagged), suppliers, and the purchase
orders that restock them (list, detail, send, receive, cancel). Reads go through the inventory and
purchasing APIs' own functions."""

import uuid

from fastapi import APIRouter, Request
from sqlalchemy import func
from sqlmodel import col, select

from api.crud import PageParams
from api.deps import SessionDep
from api.office.nav import OFFICE
from api.office.pages import PageUser, allow, names_by_id, render
from api.principal import Principal
from api.routes.inventory import get_inventory_item, get_supplier, list_inventory, list_suppliers
from api.routes.purchase_orders import get_purchase_order, list_purchase_orders
from api.tenancy import owned
from models.company import Company, User
from models.enums import PurchaseOrderStatus
from models.inventory import InventoryItem, PartUsage, PurchaseOrder, PurchaseOrderLine, Supplier
from models.jobs import Job
from models.purchasing import OPEN

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 100
ORDERS_PAGE_SIZE = 50
RECENT_USES = 20


async def every_supplier(session, principal: Principal) -> list[Supplier]:
    """The company's suppliers, preferred first: for lists and the item form's select."""
    return (await list_suppliers(principal, session, PageParams(limit=200, offset=0))).data


@router.get("/inventory")
async def inventory_page(
    request: Request,
    principal: PageUser,
    session: SessionDep,
    low_stock: bool = False,
    offset: int = 0,
):
    """Items by name with stock on hand; `low_stock=true` keeps those at or below their reorder point."""
    allow(principal, *OFFICE)
    offset = max(offset, 0)
    page = await list_inventory(
        principal, session, PageParams(limit=PAGE_SIZE, offset=offset), low_stock=low_stock or None
    )
    low = await list_inventory(principal, session, PageParams(limit=1, offset=0), low_stock=True)
    suppliers = await every_supplier(session, principal)
    return await render(
        request,
        session,
        principal,
        "office/inventory.html",
        items=page.data,
        count=page.count,
        low_count=low.count,
        offset=offset,
        page_size=PAGE_SIZE,
        low_stock=low_stock,
        suppliers=suppliers,
        supplier_names={s.id: s.name for s in suppliers},
        currency=(await session.get(Company, principal.company_id)).currency,
    )


@router.get("/inventory/suppliers")
async def suppliers_page(request: Request, principal: PageUser, session: SessionDep):
    """Suppliers, preferred first, with a form to add one."""
    allow(principal, *OFFICE)
    return await render(
        request,
        session,
        principal,
        "office/suppliers.html",
        suppliers=await every_supplier(session, principal),
    )


@router.get("/inventory/suppliers/{supplier_id}")
async def supplier_page(request: Request, supplier_id: uuid.UUID, principal: PageUser, session: SessionDep):
    """One supplier: edit its details, see the items it supplies."""
    allow(principal, *OFFICE)
    supplier = await get_supplier(supplier_id, principal, session)
    items = await session.exec(
        owned(InventoryItem, principal)
        .where(InventoryItem.supplier_id == supplier.id)
        .order_by(InventoryItem.name)
    )
    return await render(
        request, session, principal, "office/supplier.html", supplier=supplier, items=items.all()
    )


@router.get("/inventory/{item_id}")
async def item_page(request: Request, item_id: uuid.UUID, principal: PageUser, session: SessionDep):
    """One item: edit it, what is on order on open purchase orders, and the jobs that used it lately."""
    allow(principal, *OFFICE)
    item = await get_inventory_item(item_id, principal, session)
    uses = (
        await session.exec(
            select(PartUsage, Job.title)
            .join(Job, Job.id == PartUsage.job_id)
            .where(PartUsage.company_id == principal.company_id, PartUsage.inventory_item_id == item.id)
            .order_by(PartUsage.created_at.desc())
            .limit(RECENT_USES)
        )
    ).all()
    on_order = (
        await session.exec(
            select(PurchaseOrderLine, PurchaseOrder)
            .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
            .where(
                PurchaseOrder.company_id == principal.company_id,
                PurchaseOrderLine.inventory_item_id == item.id,
                col(PurchaseOrder.status).in_(OPEN),
            )
            .order_by(PurchaseOrder.number)
        )
    ).all()
    company = await session.get(Company, principal.company_id)
    return await render(
        request,
        session,
        principal,
        "office/inventory_item.html",
        item=item,
        uses=uses,
        on_order=on_order,
        users=await names_by_id(session, principal, User, (use.used_by_id for use, _ in uses)),
        suppliers=await every_supplier(session, principal),
        currency=company.currency,
        timezone=company.timezone,
    )


@router.get("/purchase-orders")
async def purchase_orders_page(
    request: Request,
    principal: PageUser,
    session: SessionDep,
    status: PurchaseOrderStatus | None = None,
    offset: int = 0,
):
    """Purchase orders, newest first, in tabs by status, with a form to start one by hand."""
    allow(principal, *OFFICE)
    offset = max(offset, 0)
    page = await list_purchase_orders(
        principal, session, PageParams(limit=ORDERS_PAGE_SIZE, offset=offset), status=status
    )
    totals = await session.exec(
        select(
            PurchaseOrderLine.purchase_order_id,
            func.sum(PurchaseOrderLine.quantity * PurchaseOrderLine.unit_cost_cents),
        )
        .where(col(PurchaseOrderLine.purchase_order_id).in_([order.id for order in page.data]))
        .group_by(PurchaseOrderLine.purchase_order_id)
    )
    suppliers = await every_supplier(session, principal)
    company = await session.get(Company, principal.company_id)
    return await render(
        request,
        session,
        principal,
        "office/purchase_orders.html",
        orders=page.data,
        count=page.count,
        offset=offset,
        page_size=ORDERS_PAGE_SIZE,
        status=status,
        statuses=list(PurchaseOrderStatus),
        totals=dict(totals.all()),
        suppliers=suppliers,
        supplier_names={s.id: s.name for s in suppliers},
        currency=company.currency,
        timezone=company.timezone,
    )


@router.get("/purchase-orders/{purchase_order_id}")
async def purchase_order_page(
    request: Request, purchase_order_id: uuid.UUID, principal: PageUser, session: SessionDep
):
    """One purchase order: its lines ordered and received, and what its status allows (a draft: add and
    remove lines, send; sent: receive all or part; either: cancel)."""
    allow(principal, *OFFICE)
    order = await get_purchase_order(purchase_order_id, principal, session, request.app.state.settings)
    company = await session.get(Company, principal.company_id)
    items, draft_lines = [], []
    if order.status == PurchaseOrderStatus.draft:
        items = (await session.exec(owned(InventoryItem, principal).order_by(InventoryItem.name))).all()
        # What the page's add and remove buttons send back: the draft's lines as the API takes them.
        draft_lines = [
            line.model_dump(mode="json", include={"id", "inventory_item_id", "quantity", "unit_cost_cents"})
            for line in order.lines
        ]
    return await render(
        request,
        session,
        principal,
        "office/purchase_order.html",
        order=order,
        items=items,
        draft_lines=draft_lines,
        currency=company.currency,
        timezone=company.timezone,
    )
