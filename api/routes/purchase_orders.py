"""Purchase orders: the office lists, creates, edits and cancels them, and records what arrived; sending
goes through the order's workflow (`po-{id}`), which emails it to the supplier once.

Draft → sent → received (when every line has arrived), or cancelled from draft or sent
(models/purchasing.py). Changes lock the order's row, so a receipt, an edit and the workflow's send never
interleave. The reorder automations fill suppliers' drafts themselves (activities/purchasing.py).
"""

import uuid

from fastapi import APIRouter, HTTPException, status
from fastapi.exceptions import RequestValidationError
from sqlmodel import delete, select

from activities.purchasing import move_stock, new_purchase_order, order_lines
from api.crud import Page, PageDep, fetch_page, record_audit, snapshot
from api.deps import OfficeStaff, SessionDep, SettingsDep, TemporalDep
from api.flows import update_with_start
from api.principal import Principal
from api.tenancy import check_references, get_owned, owned
from api.workflow_links import workflow_id, workflow_url
from models.base import utcnow
from models.enums import PurchaseOrderStatus
from models.inventory import (
    InventoryItem,
    PurchaseOrder,
    PurchaseOrderCreate,
    PurchaseOrderLine,
    PurchaseOrderLineIn,
    PurchaseOrderLinePublic,
    PurchaseOrderPublic,
    PurchaseOrderSummary,
    PurchaseOrderUpdate,
    ReceiveRequest,
    Supplier,
)
from models.purchasing import check_purchase_order_transition
from models.states import TransitionError
from workflows.purchasing import PurchaseOrderInput, PurchaseOrderWorkflow, SendPurchaseOrder

router = APIRouter(prefix="/purchase-orders", tags=["purchasing"])


async def _public(session, settings, order: PurchaseOrder) -> PurchaseOrderPublic:
    supplier = await session.get(Supplier, order.supplier_id)
    lines = [
        PurchaseOrderLinePublic(
            id=line.id,
            inventory_item_id=item.id,
            item_name=item.name,
            sku=item.sku,
            quantity=line.quantity,
            quantity_received=line.quantity_received,
            unit_cost_cents=line.unit_cost_cents,
            amount_cents=line.quantity * line.unit_cost_cents,
        )
        for line, item in await order_lines(session, order.id)
    ]
    wf_id = workflow_id("po", order.id)
    return PurchaseOrderPublic.model_validate(
        order,
        update={
            "supplier_name": supplier.name,
            "supplier_email": supplier.email,
            "lines": lines,
            "total_cents": sum(line.amount_cents for line in lines),
            "workflow_id": wf_id,
            "workflow_url": workflow_url(settings, wf_id),
        },
    )


async def _locked(session, order_id: uuid.UUID, principal: Principal) -> PurchaseOrder:
    found = await session.exec(
        select(PurchaseOrder)
        .where(PurchaseOrder.id == order_id, PurchaseOrder.company_id == principal.company_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    order = found.first()
    if order is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "purchase order not found")
    return order


def _move(order: PurchaseOrder, target: PurchaseOrderStatus) -> None:
    try:
        check_purchase_order_transition(order.status, target)
    except TransitionError as refused:
        raise HTTPException(status.HTTP_409_CONFLICT, str(refused)) from None
    order.status = target


async def _wanted(session, principal: Principal, items: list[PurchaseOrderLineIn]) -> list[tuple]:
    """(item, quantity, unit cost) for the requested lines, each item once, at its unit cost unless one is
    given; 422 naming the line that points at another company's item or repeats one."""
    wanted_lines, errors, seen = [], [], set()
    for i, wanted in enumerate(items):
        loc = ("body", "lines", i)
        await check_references(session, principal, {"inventory_item_id": wanted.inventory_item_id}, loc)
        if wanted.inventory_item_id in seen:
            errors.append(
                {
                    "loc": [*loc, "inventory_item_id"],
                    "msg": "this item is already on the order: raise that line's quantity",
                    "type": "value_error",
                }
            )
            continue
        seen.add(wanted.inventory_item_id)
        item = await session.get(InventoryItem, wanted.inventory_item_id)
        cost = item.unit_cost_cents if wanted.unit_cost_cents is None else wanted.unit_cost_cents
        wanted_lines.append((item, wanted.quantity, cost))
    if errors:
        raise RequestValidationError(errors)
    return wanted_lines


def _add_lines(session, order: PurchaseOrder, wanted_lines: list[tuple]) -> None:
    session.add_all(
        PurchaseOrderLine(
            company_id=order.company_id,
            purchase_order_id=order.id,
            inventory_item_id=item.id,
            quantity=quantity,
            unit_cost_cents=cost,
        )
        for item, quantity, cost in wanted_lines
    )


@router.get("", response_model=Page[PurchaseOrderSummary])
async def list_purchase_orders(
    principal: OfficeStaff,
    session: SessionDep,
    page: PageDep,
    status: PurchaseOrderStatus | None = None,
    supplier_id: uuid.UUID | None = None,
):
    """Purchase orders, newest number first, by status or supplier (open one for its lines)."""
    stmt = owned(PurchaseOrder, principal)
    if status is not None:
        stmt = stmt.where(PurchaseOrder.status == status)
    if supplier_id is not None:
        stmt = stmt.where(PurchaseOrder.supplier_id == supplier_id)
    rows, count = await fetch_page(session, stmt, page, PurchaseOrder.number.desc())
    return Page(data=rows, count=count)


@router.post("", response_model=PurchaseOrderPublic, status_code=status.HTTP_201_CREATED)
async def create_purchase_order(
    body: PurchaseOrderCreate, principal: OfficeStaff, session: SessionDep, settings: SettingsDep
):
    """Start a purchase order by hand: a draft with the company's next number; each line at its item's
    unit cost unless one is given."""
    await check_references(session, principal, {"supplier_id": body.supplier_id})
    wanted_lines = await _wanted(session, principal, body.lines)
    order = await new_purchase_order(session, principal.company_id, body.supplier_id, body.notes)
    _add_lines(session, order, wanted_lines)
    record_audit(
        session, principal, order, "create", None, snapshot(order) | {"lines": _described(body.lines)}
    )
    await session.commit()
    return await _public(session, settings, order)


@router.get("/{purchase_order_id}", response_model=PurchaseOrderPublic)
async def get_purchase_order(
    purchase_order_id: uuid.UUID, principal: OfficeStaff, session: SessionDep, settings: SettingsDep
):
    """One purchase order with its supplier, lines (ordered and received) and total."""
    return await _public(
        session, settings, await get_owned(session, PurchaseOrder, purchase_order_id, principal)
    )


@router.patch("/{purchase_order_id}", response_model=PurchaseOrderPublic)
async def update_purchase_order(
    purchase_order_id: uuid.UUID,
    body: PurchaseOrderUpdate,
    principal: OfficeStaff,
    session: SessionDep,
    settings: SettingsDep,
):
    """Edit a draft: its notes, and `lines`, which when given replace every line; 409 once it is sent."""
    order = await _locked(session, purchase_order_id, principal)
    if order.status != PurchaseOrderStatus.draft:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"a {order.status.value} purchase order cannot be edited"
        )
    before, after = snapshot(order, {"notes"}), {}
    if "notes" in body.model_fields_set:
        order.notes = body.notes
        after["notes"] = body.notes
    if body.lines is not None:
        wanted_lines = await _wanted(session, principal, body.lines)
        await session.exec(delete(PurchaseOrderLine).where(PurchaseOrderLine.purchase_order_id == order.id))
        _add_lines(session, order, wanted_lines)
        after["lines"] = _described(body.lines)
    session.add(order)
    record_audit(session, principal, order, "update", before, after)
    await session.commit()
    return await _public(session, settings, order)


@router.post("/{purchase_order_id}/send", response_model=PurchaseOrderPublic)
async def send_purchase_order(
    purchase_order_id: uuid.UUID,
    principal: OfficeStaff,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
):
    """Email a draft to its supplier with the PDF attached, through its workflow; 409 unless it is a
    draft (or while it is being sent), 422 when it has no lines or the supplier has no email address, 502
    when the email is refused or cannot go out within about 20 s (it then stays a draft, and you are
    notified)."""
    await get_owned(session, PurchaseOrder, purchase_order_id, principal)
    request = SendPurchaseOrder(
        actor=principal.actor, actor_user_id=str(principal.user_id) if principal.user_id else None
    )
    company_id = principal.company_id
    await session.rollback()  # the workflow's activity locks the row: hold nothing meanwhile
    await update_with_start(
        client,
        "po",
        purchase_order_id,
        company_id,
        PurchaseOrderWorkflow.run,
        PurchaseOrderInput(str(purchase_order_id), str(company_id)),
        PurchaseOrderWorkflow.send,
        request,
    )
    order = await session.get(PurchaseOrder, purchase_order_id, populate_existing=True)
    return await _public(session, settings, order)


@router.post("/{purchase_order_id}/cancel", response_model=PurchaseOrderPublic)
async def cancel_purchase_order(
    purchase_order_id: uuid.UUID, principal: OfficeStaff, session: SessionDep, settings: SettingsDep
):
    """Cancel a draft or sent order (what has not arrived is no longer on order: the next stock change
    of a low item reorders it); 409 once received or cancelled."""
    order = await _locked(session, purchase_order_id, principal)
    before = snapshot(order, {"status"})
    _move(order, PurchaseOrderStatus.cancelled)
    order.cancelled_at = utcnow()
    session.add(order)
    record_audit(session, principal, order, "cancel", before, snapshot(order, {"status"}))
    await session.commit()
    return await _public(session, settings, order)


@router.post("/{purchase_order_id}/receive", response_model=PurchaseOrderPublic)
async def receive_purchase_order(
    purchase_order_id: uuid.UUID,
    principal: OfficeStaff,
    session: SessionDep,
    settings: SettingsDep,
    body: ReceiveRequest | None = None,
):
    """Record a delivery against a sent order: each line's quantity goes into stock and onto the line's
    received count (no `lines`: everything still outstanding arrived). The order is received once every
    line is complete; more than a line still expects is a 422."""
    order = await _locked(session, purchase_order_id, principal)
    if order.status != PurchaseOrderStatus.sent:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"only a sent purchase order can be received; this one is {order.status.value}",
        )
    lines = {line.id: line for line, _ in await order_lines(session, order.id)}
    arrivals = _arrivals(lines, body)
    for line, quantity in arrivals:
        line.quantity_received += quantity  # the order's row lock serialises receipts
        session.add(line)
        await move_stock(session, line.inventory_item_id, order.company_id, quantity)
    before = snapshot(order, {"status"})
    if all(line.quantity_received >= line.quantity for line in lines.values()):
        _move(order, PurchaseOrderStatus.received)
        order.received_at = utcnow()
        session.add(order)
    received = {str(line.id): quantity for line, quantity in arrivals}
    record_audit(
        session, principal, order, "receive", before, snapshot(order, {"status"}) | {"received": received}
    )
    await session.commit()
    return await _public(session, settings, order)


def _described(lines: list[PurchaseOrderLineIn]) -> list[dict]:
    return [line.model_dump(mode="json") for line in lines]


def _arrivals(lines: dict[uuid.UUID, PurchaseOrderLine], body: ReceiveRequest | None) -> list[tuple]:
    """(line, quantity) pairs to receive; 422 naming the line that is not on the order, repeats, or asks
    for more than is outstanding."""
    if body is None or not body.lines:
        return [
            (line, line.quantity - line.quantity_received)
            for line in lines.values()
            if line.quantity_received < line.quantity
        ]
    arrivals, errors, seen = [], [], set()
    for i, wanted in enumerate(body.lines):
        line = lines.get(wanted.line_id)
        if line is None or wanted.line_id in seen:
            why = "not a line of this purchase order" if line is None else "this line is listed twice"
            errors.append({"loc": ["body", "lines", i, "line_id"], "msg": why, "type": "value_error"})
            continue
        seen.add(wanted.line_id)
        outstanding = line.quantity - line.quantity_received
        if wanted.quantity > outstanding:
            errors.append(
                {
                    "loc": ["body", "lines", i, "quantity"],
                    "msg": f"only {outstanding} of this line are still to come",
                    "type": "value_error",
                }
            )
            continue
        arrivals.append((line, wanted.quantity))
    if errors:
        raise RequestValidationError(errors)
    return arrivals
