"""Parts used on a job. A technician (on their own jobs) or the office logs them: the stock goes down in
the same transaction, the part becomes a line on the job (and so on its invoice) at the item's price, and
its cost at that moment feeds job costing. An item left at or below its reorder point is reordered
(`supplier_reorder`). While the job is open a usage can be undone: the stock and the line come back."""

import uuid
from decimal import Decimal

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import func
from sqlmodel import delete, select

from activities.purchasing import move_stock
from api.crud import record_audit, snapshot
from api.deps import CurrentPrincipal, SessionDep, TemporalDep
from api.principal import Principal
from api.routes.inventory import reorder_later
from api.routes.jobs import _get_visible
from api.tenancy import check_references
from models.enums import JobStatus
from models.inventory import (
    InventoryItem,
    JobPartsPublic,
    PartLogged,
    PartUsage,
    PartUsageCreate,
    PartUsagePublic,
)
from models.jobs import Job
from models.line_items import JobLineItem
from models.money import line_amount_cents

router = APIRouter(prefix="/jobs", tags=["jobs"])


async def _open_job(session, job_id: uuid.UUID, principal: Principal) -> Job:
    """The caller's job (a technician's own), share-locked while this request changes its parts: the job
    cannot be completed, and billed without this part, halfway through."""
    job = await _get_visible(session, job_id, principal)
    locked = await session.exec(select(Job.status).where(Job.id == job.id).with_for_update(read=True))
    current = locked.one()
    if current in (JobStatus.completed, JobStatus.cancelled):
        raise HTTPException(status.HTTP_409_CONFLICT, f"the job is {current.value}: its parts are final")
    return job


def _public(usage: PartUsage, item: InventoryItem, line: JobLineItem | None) -> PartUsagePublic:
    return PartUsagePublic(
        id=usage.id,
        job_id=usage.job_id,
        inventory_item_id=item.id,
        item_name=item.name,
        sku=item.sku,
        quantity=usage.quantity,
        unit_cost_cents=usage.unit_cost_cents,
        cost_cents=usage.quantity * usage.unit_cost_cents,
        unit_price_cents=line.unit_price_cents if line else None,
        notes=usage.notes,
        used_by_id=usage.used_by_id,
        job_line_item_id=usage.job_line_item_id,
        created_at=usage.created_at,
    )


@router.get("/{job_id}/parts", response_model=JobPartsPublic)
async def list_parts(job_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep):
    """The parts logged on a job, in the order they were used, with what they cost the company (job
    costing) and what their lines charge the customer."""
    job = await _get_visible(session, job_id, principal)
    found = await session.exec(
        select(PartUsage, InventoryItem, JobLineItem)
        .join(InventoryItem, InventoryItem.id == PartUsage.inventory_item_id)
        .outerjoin(JobLineItem, JobLineItem.id == PartUsage.job_line_item_id)
        .where(PartUsage.job_id == job.id)
        .order_by(PartUsage.created_at, PartUsage.id)
    )
    rows = found.all()
    return JobPartsPublic(
        data=[_public(usage, item, line) for usage, item, line in rows],
        count=len(rows),
        parts_cost_cents=sum(usage.quantity * usage.unit_cost_cents for usage, _, _ in rows),
        parts_price_cents=sum(line_amount_cents(line) for _, _, line in rows if line is not None),
    )


@router.post("/{job_id}/parts", response_model=PartLogged, status_code=status.HTTP_201_CREATED)
async def log_part(
    job_id: uuid.UUID,
    body: PartUsageCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    client: TemporalDep,
):
    """Log a part used on an open job: its stock goes down now (below zero when the shelf was short:
    `short_by` says by how many) and it becomes a line on the job at the item's price."""
    job = await _open_job(session, job_id, principal)
    await check_references(session, principal, {"inventory_item_id": body.inventory_item_id})
    item = await session.get(InventoryItem, body.inventory_item_id)
    stock_after = await move_stock(session, item.id, job.company_id, -body.quantity)
    last = await session.exec(select(func.max(JobLineItem.position)).where(JobLineItem.job_id == job.id))
    line = JobLineItem(
        company_id=job.company_id,
        job_id=job.id,
        description=item.name,
        quantity=Decimal(body.quantity),
        unit_price_cents=item.price_cents,
        position=(last.one() or 0) + 1,
    )
    session.add(line)
    await session.flush()
    usage = PartUsage(
        company_id=job.company_id,
        job_id=job.id,
        inventory_item_id=item.id,
        quantity=body.quantity,
        unit_cost_cents=item.unit_cost_cents,
        notes=body.notes,
        used_by_id=principal.user_id,
        job_line_item_id=line.id,
    )
    session.add(usage)
    await session.flush()
    record_audit(session, principal, usage, "create", None, snapshot(usage) | {"stock_after": stock_after})
    await session.commit()
    if stock_after <= item.reorder_point:
        await reorder_later(client, job.company_id, [item.id])
    logged = _public(usage, item, line)
    short_by = min(body.quantity, max(-stock_after, 0))
    return PartLogged(**logged.model_dump(), stock_after=stock_after, short_by=short_by)


@router.delete("/{job_id}/parts/{usage_id}", status_code=status.HTTP_204_NO_CONTENT)
async def undo_part(job_id: uuid.UUID, usage_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep):
    """Undo a part logged on an open job: its stock comes back and its line leaves the job."""
    job = await _open_job(session, job_id, principal)
    found = await session.exec(
        select(PartUsage).where(PartUsage.id == usage_id, PartUsage.job_id == job.id).with_for_update()
    )
    usage = found.first()
    if usage is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "part usage not found")
    await move_stock(session, usage.inventory_item_id, job.company_id, usage.quantity)
    record_audit(session, principal, usage, "delete", snapshot(usage), None)
    line_id = usage.job_line_item_id
    await session.delete(usage)
    await session.flush()
    if line_id is not None:  # the office may have edited the job's lines since
        await session.exec(delete(JobLineItem).where(JobLineItem.id == line_id))
    await session.commit()
