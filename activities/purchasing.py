"""Purchasing in the database: stock moves, what is on order, purchase order numbers and drafts; and the
activities of the reorder and purchase order workflows (workflows/purchasing.py).

Concurrency. Stock changes are single `UPDATE … SET quantity = quantity + n` statements, so two
technicians logging the same part at once both count. Everything that creates a purchase order or fills
a supplier's draft holds one advisory lock per company for its transaction (`lock_purchasing`): numbers
follow one another without gaps or clashes, and a reorder pass never races another (or the office) into
two drafts for one supplier. Automated ordering is also funnelled through one workflow per company; the
lock is what still holds when a timed-out activity attempt overlaps its retry.

Idempotency. A reorder pass is keyed by its workflow step: every line it orders leaves an action-log row
under that step, so a retried pass finds what it already ordered, sends those drafts and orders nothing
twice. Quantities themselves count what is on order, so even a fresh pass adds nothing already covered.
"""

import base64
import hashlib
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from activities.action_log import ActionRecord, record_action
from activities.automations import GateRequest, gate
from activities.documents import DocumentLine, PurchaseOrderDocument, purchase_order_email, purchase_order_pdf
from activities.notifications import OFFICE, notify, team_members
from activities.quotes import INVALID_REQUEST
from activities.records import done_before, locked_row, record_change, refusal
from activities.scheduling import JobRef
from models.base import utcnow
from models.catalog import ServicePart
from models.company import Company
from models.enums import ActionOutcome, JobStatus, PurchaseOrderStatus
from models.inventory import InventoryItem, PartUsage, PurchaseOrder, PurchaseOrderLine, Supplier
from models.jobs import Job
from models.line_items import JobLineItem
from models.logs import ActionLog, AuditLog, AutomationSetting, MessageLog
from models.purchasing import (
    OPEN,
    check_purchase_order_transition,
    parts_needed,
    reorder_quantity,
    shortfall_quantity,
)
from models.states import TransitionError
from temporal.search_attributes import for_entity

REORDER = "supplier_reorder"
PARTS_FOR_JOBS = "autonomous_parts_ordering"
NOT_EMAILED = "PurchaseOrderNotEmailed"  # a person's Send whose email the provider did not take
ACTIONS = {REORDER: "reorder_part", PARTS_FOR_JOBS: "order_part_for_jobs"}
UPCOMING = (JobStatus.scheduled, JobStatus.on_the_way, JobStatus.in_progress)  # booked, not yet done
FIRST_NUMBER = 1001


# --- what the workflows exchange ---------------------------------------------------------------------


@dataclass
class ReorderRequest:
    """What may need ordering: items that fell to their reorder point, jobs just booked."""

    item_ids: list[str] = field(default_factory=list)
    job_ids: list[str] = field(default_factory=list)


@dataclass
class ReorderInput:
    company_id: str
    pending: ReorderRequest | None = None  # requests a continued-as-new run had not handled yet


@dataclass
class ReorderBatch:
    company_id: str
    workflow_id: str
    step: str  # unique per pass: its action-log rows are keyed under it
    item_ids: list[str]
    job_ids: list[str]


@dataclass
class PlannedOrder:
    purchase_order_id: str
    automation_key: str  # the automation that put lines on it (the first, when both did)


@dataclass
class ReorderPlan:
    orders: list[PlannedOrder]  # drafts this pass filled: each goes to its supplier next


@dataclass
class PurchaseOrderInput:
    purchase_order_id: str
    company_id: str


@dataclass
class AutoSend:
    automation_key: str


@dataclass
class AutoSendRequest:
    purchase_order_id: str
    company_id: str
    automation_key: str


@dataclass
class IssueRequest:
    purchase_order_id: str
    company_id: str
    actor: str  # "user:<email>", "api_key:<prefix>", "automation:<key>"
    workflow_id: str
    step_key: str  # unique per send: a retry changes nothing twice
    actor_user_id: str | None = None


@dataclass
class PurchaseOrderEmail:
    number: int
    to: str
    subject: str
    html: str
    text: str
    pdf_filename: str
    pdf_base64: str


@dataclass
class NotSent:
    purchase_order_id: str
    company_id: str
    reason: str
    workflow_id: str
    step_key: str
    reopen: bool  # it was marked sent before its email failed: back to draft, nothing went out
    automation_key: str | None = None  # set: an automation tried, so the office is told and it is logged
    actor_user_id: str | None = None  # the person who asked for the send: told when it is reopened
    purpose: str | None = None  # the email's message row, which shows whether it went after all


@dataclass
class PurchaseOrderSnapshot:
    status: str


@dataclass
class LowStock:
    """Items of one company that a reorder pass would order now (for the hourly backstop)."""

    company_id: str
    item_ids: list[str]


# --- shared with the API -----------------------------------------------------------------------------


async def lock_purchasing(session: AsyncSession, company_id: uuid.UUID) -> None:
    """Hold the company's purchasing lock until this transaction ends (taking it again is harmless)."""
    digest = hashlib.sha256(f"nexjob/purchasing/{company_id}".encode()).digest()
    await session.exec(select(func.pg_advisory_xact_lock(int.from_bytes(digest[:8], "big", signed=True))))


async def new_purchase_order(
    session: AsyncSession, company_id: uuid.UUID, supplier_id: uuid.UUID, notes: str | None = None
) -> PurchaseOrder:
    """A draft with the company's next number."""
    await lock_purchasing(session, company_id)
    last = await session.exec(
        select(func.max(PurchaseOrder.number)).where(PurchaseOrder.company_id == company_id)
    )
    number = (last.one() or FIRST_NUMBER - 1) + 1
    order = PurchaseOrder(company_id=company_id, supplier_id=supplier_id, number=number, notes=notes)
    session.add(order)
    await session.flush()
    return order


async def move_stock(session: AsyncSession, item_id: uuid.UUID, company_id: uuid.UUID, delta: int) -> int:
    """Add `delta` (negative to take) to an item's stock in one statement; the stock after it."""
    moved = await session.exec(
        update(InventoryItem)
        .where(InventoryItem.id == item_id, InventoryItem.company_id == company_id)
        .values(quantity=InventoryItem.quantity + delta)
        .returning(InventoryItem.quantity)
        .execution_options(synchronize_session=False)
    )
    return moved.scalar_one()


async def on_order(session: AsyncSession, company_id: uuid.UUID) -> dict[uuid.UUID, int]:
    """Units of each item ordered and not yet received, on the company's draft and sent orders."""
    outstanding = func.sum(PurchaseOrderLine.quantity - PurchaseOrderLine.quantity_received)
    found = await session.exec(
        select(PurchaseOrderLine.inventory_item_id, outstanding)
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
        .where(PurchaseOrder.company_id == company_id, col(PurchaseOrder.status).in_(OPEN))
        .group_by(PurchaseOrderLine.inventory_item_id)
    )
    return {item_id: int(units) for item_id, units in found.all()}


async def order_lines(
    session: AsyncSession, order_id: uuid.UUID
) -> list[tuple[PurchaseOrderLine, InventoryItem]]:
    found = await session.exec(
        select(PurchaseOrderLine, InventoryItem)
        .join(InventoryItem, InventoryItem.id == PurchaseOrderLine.inventory_item_id)
        .where(PurchaseOrderLine.purchase_order_id == order_id)
        .order_by(InventoryItem.name, PurchaseOrderLine.id)
    )
    return list(found.all())


async def add_to_draft(
    session: AsyncSession, company_id: uuid.UUID, item: InventoryItem, quantity: int
) -> PurchaseOrder:
    """Put `quantity` of `item` on its supplier's draft (the oldest, if the office keeps several), raising
    the item's line when it has one; a new draft when the supplier has none."""
    await lock_purchasing(session, company_id)
    draft = (
        await session.exec(
            select(PurchaseOrder)
            .where(
                PurchaseOrder.company_id == company_id,
                PurchaseOrder.supplier_id == item.supplier_id,
                PurchaseOrder.status == PurchaseOrderStatus.draft,
            )
            .order_by(PurchaseOrder.number)
            .limit(1)
            .with_for_update()
        )
    ).first()
    if draft is None:
        draft = await new_purchase_order(session, company_id, item.supplier_id)
    line = (
        await session.exec(
            select(PurchaseOrderLine).where(
                PurchaseOrderLine.purchase_order_id == draft.id,
                PurchaseOrderLine.inventory_item_id == item.id,
            )
        )
    ).first()
    if line is None:
        line = PurchaseOrderLine(
            company_id=company_id,
            purchase_order_id=draft.id,
            inventory_item_id=item.id,
            quantity=quantity,
            unit_cost_cents=item.unit_cost_cents,
        )
    else:
        line.quantity += quantity  # the draft's row lock (and ours) keep this from racing
    session.add(line)
    await session.flush()
    return draft


async def upcoming_needs(session: AsyncSession, company_id: uuid.UUID) -> dict[uuid.UUID, int]:
    """Units of each item the company's booked, unfinished jobs will use, by the parts their services
    list, less what their technicians have already logged (that is out of stock already)."""
    lines = await session.exec(
        select(JobLineItem.job_id, ServicePart.inventory_item_id, ServicePart.quantity, JobLineItem.quantity)
        .join(Job, Job.id == JobLineItem.job_id)
        .join(ServicePart, ServicePart.service_id == JobLineItem.service_id)
        .where(Job.company_id == company_id, col(Job.status).in_(UPCOMING))
    )
    expected: dict[tuple, int] = defaultdict(int)
    for job_id, item_id, per_service, line_quantity in lines.all():
        expected[job_id, item_id] += parts_needed(per_service, line_quantity)
    used = await session.exec(
        select(PartUsage.job_id, PartUsage.inventory_item_id, func.sum(PartUsage.quantity))
        .join(Job, Job.id == PartUsage.job_id)
        .where(Job.company_id == company_id, col(Job.status).in_(UPCOMING))
        .group_by(PartUsage.job_id, PartUsage.inventory_item_id)
    )
    logged = {(job_id, item_id): int(units) for job_id, item_id, units in used.all()}
    needs: dict[uuid.UUID, int] = defaultdict(int)
    for (job_id, item_id), units in expected.items():
        needs[item_id] += max(units - logged.get((job_id, item_id), 0), 0)
    return {item_id: units for item_id, units in needs.items() if units > 0}


def purchase_order_document(
    company: Company, supplier: Supplier, order: PurchaseOrder, lines
) -> PurchaseOrderDocument:
    # Dated by when it was sent, in the company's zone: a re-rendered email is the same email.
    issued = (order.sent_at or utcnow()).astimezone(ZoneInfo(company.timezone)).date()
    return PurchaseOrderDocument(
        company_name=company.name,
        brand_colour=company.brand_colour,
        company_phone=company.phone,
        currency=company.currency,
        number=order.number,
        supplier_name=supplier.name,
        account_number=supplier.account_number,
        issued_on=issued,
        lines=[
            DocumentLine(
                f"{item.name} (SKU {item.sku})",
                Decimal(line.quantity),
                line.unit_cost_cents,
                line.quantity * line.unit_cost_cents,
            )
            for line, item in lines
        ],
        total_cents=sum(line.quantity * line.unit_cost_cents for line, _ in lines),
        notes=order.notes,
    )


async def request_reorder(client: Client, company_id, task_queue: str, item_ids=(), job_ids=()) -> None:
    """Signal-with-start the company's reorder workflow (`reorder-{company id}`) with what may need
    ordering; it decides, under the automations' switches, what to order."""
    await client.start_workflow(
        "ReorderWorkflow",  # by name: the workflow's module imports this one
        ReorderInput(str(company_id)),
        id=f"reorder-{company_id}",
        task_queue=task_queue,
        start_signal="request",
        start_signal_args=[ReorderRequest([str(i) for i in item_ids], [str(j) for j in job_ids])],
        search_attributes=for_entity(str(company_id), "company", str(company_id)),
    )


async def lists_parts(session: AsyncSession, job_id: uuid.UUID) -> bool:
    """Whether any of the job's lines is a service that lists the parts it usually uses."""
    found = await session.exec(
        select(ServicePart.id)
        .join(JobLineItem, JobLineItem.service_id == ServicePart.service_id)
        .where(JobLineItem.job_id == job_id)
        .limit(1)
    )
    return found.first() is not None


async def _emailed(session: AsyncSession, request: NotSent) -> bool:
    """Whether the provider took the order's email after all (its message row has the provider's id)."""
    if request.purpose is None:
        return False
    found = await session.exec(
        select(MessageLog.id).where(
            MessageLog.workflow_id == request.workflow_id,
            MessageLog.purpose == request.purpose,
            col(MessageLog.provider_id).is_not(None),
        )
    )
    return found.first() is not None


def _invalid(message: str) -> ApplicationError:
    return ApplicationError(message, type=INVALID_REQUEST, non_retryable=True)


# --- activities --------------------------------------------------------------------------------------


class PurchasingActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]):
        self._sessions = sessions

    @activity.defn
    async def plan_reorder(self, batch: ReorderBatch) -> ReorderPlan:
        """One reorder pass: low items (`supplier_reorder`) and booked jobs' shortfall
        (`autonomous_parts_ordering`) onto their suppliers' drafts; each decision in the action log."""
        async with self._sessions() as session, session.begin():
            planner = _Planner(session, batch)
            await planner.start()
            await planner.reorder_low_items()
            await planner.order_for_booked_jobs()
            return ReorderPlan([PlannedOrder(str(po), key) for po, key in planner.touched.items()])

    @activity.defn
    async def issue_purchase_order(self, request: IssueRequest) -> PurchaseOrderEmail:
        """Mark a draft sent (its lines are now what was ordered) and render its email with the PDF;
        refused unless it is a draft with lines and a supplier with an email address."""
        async with self._sessions() as session, session.begin():
            order = await locked_row(session, PurchaseOrder, request.purchase_order_id, request.company_id)
            supplier = await session.get(Supplier, order.supplier_id)
            lines = await order_lines(session, order.id)
            if not await done_before(session, request.step_key):
                try:
                    check_purchase_order_transition(order.status, PurchaseOrderStatus.sent)
                except TransitionError as refused:
                    raise refusal(refused, order.status) from None
                if not lines:
                    raise _invalid("add at least one line before sending the purchase order")
                if not supplier.email:
                    raise _invalid(f"{supplier.name} has no email address: add one to send them orders")
                order.status, order.sent_at = PurchaseOrderStatus.sent, utcnow()
                session.add(order)
                record_change(
                    session,
                    order,
                    request,
                    "send",
                    "send_purchase_order",
                    {"status": "draft"},
                    {"status": "sent"},
                )
            company = await session.get(Company, order.company_id)
            doc = purchase_order_document(company, supplier, order, lines)
        subject, html, text = purchase_order_email(doc)
        return PurchaseOrderEmail(
            number=order.number,
            to=supplier.email,
            subject=subject,
            html=html,
            text=text,
            pdf_filename=f"PO-{order.number}.pdf",
            pdf_base64=base64.b64encode(purchase_order_pdf(doc)).decode(),
        )

    @activity.defn
    async def purchase_order_not_sent(self, request: NotSent) -> PurchaseOrderSnapshot:
        """The order did not go out by email: back to draft if it had been marked sent, unless the email
        went after all (an attempt cut short by its deadline that still got through). Whenever it is
        reopened, and whenever an automation tried, the action log says why and someone is told: the
        person who asked, or else the office."""
        async with self._sessions() as session, session.begin():
            order = await locked_row(session, PurchaseOrder, request.purchase_order_id, request.company_id)
            reopened = False
            if request.reopen and order.status == PurchaseOrderStatus.sent:
                if await _emailed(session, request):
                    return PurchaseOrderSnapshot(order.status.value)
                check_purchase_order_transition(order.status, PurchaseOrderStatus.draft)
                order.status, order.sent_at = PurchaseOrderStatus.draft, None
                session.add(order)
                session.add(
                    AuditLog(
                        company_id=order.company_id,
                        actor=f"workflow:{request.workflow_id}",
                        entity_type=PurchaseOrder.__tablename__,
                        entity_id=order.id,
                        action="reopen",
                        before={"status": "sent"},
                        after={"status": "draft", "why": request.reason},
                    )
                )
                reopened = True
            if reopened or request.automation_key is not None:
                await self._tell(session, order, request)
            return PurchaseOrderSnapshot(order.status.value)

    async def _tell(self, session: AsyncSession, order: PurchaseOrder, request: NotSent) -> None:
        await record_action(
            session,
            ActionRecord(
                company_id=request.company_id,
                action="send_purchase_order",
                outcome=ActionOutcome.failed if request.reopen else ActionOutcome.skipped,
                entity_type=PurchaseOrder.__tablename__,
                entity_id=request.purchase_order_id,
                workflow_id=request.workflow_id,
                automation_key=request.automation_key,
                reason=f"{request.reason}; the purchase order stays a draft",
                idempotency_key=f"{request.step_key}/not-sent",
            ),
        )
        if request.actor_user_id is not None:
            people = [uuid.UUID(request.actor_user_id)]
        else:
            people = [person.id for person in await team_members(session, order.company_id, OFFICE)]
        await notify(
            session,
            order.company_id,
            people,
            kind="purchase_order_not_sent",
            title=f"Purchase order #{order.number} was not emailed",
            body=f"{request.reason}. It is a draft: send it again, or order by phone.",
            entity_type=PurchaseOrder.__tablename__,
            entity_id=order.id,
            step_key=request.step_key,
        )

    @activity.defn
    async def items_to_reorder(self) -> list[LowStock]:
        """For the hourly backstop: in each company with `supplier_reorder` on, the items a reorder pass
        would order now (at or below their reorder point counting what is on order, with a supplier to
        order from). Items already covered are left out, so an hourly sweep logs no skip for them."""
        async with self._sessions() as session:
            switched_on = await session.exec(
                select(AutomationSetting.company_id).where(
                    AutomationSetting.key == REORDER, col(AutomationSetting.enabled)
                )
            )
            due = []
            for company_id in switched_on.all():
                pending = await on_order(session, company_id)
                item_ids = [str(item.id) for item in await items_due(session, company_id, pending)]
                if item_ids:
                    due.append(LowStock(str(company_id), item_ids))
            return due


class PurchasingCalls:
    """Reaching the purchasing workflows from other workflows (through the Temporal client)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], client: Client):
        self._sessions = sessions
        self._client = client

    @activity.defn
    async def order_parts_for_job(self, ref: JobRef) -> bool:
        """Ask the company's reorder workflow to check stock for a booked job whose services list parts;
        False when they list none (nothing to check)."""
        async with self._sessions() as session:
            if not await lists_parts(session, uuid.UUID(ref.job_id)):
                return False
        await request_reorder(self._client, ref.company_id, activity.info().task_queue, job_ids=[ref.job_id])
        return True

    @activity.defn
    async def signal_reorder(self, low: LowStock) -> None:
        """Ask a company's reorder workflow to look at these items (signal-with-start)."""
        await request_reorder(self._client, low.company_id, activity.info().task_queue, item_ids=low.item_ids)

    @activity.defn
    async def send_automatically(self, request: AutoSendRequest) -> None:
        """Hand a filled draft to its purchase order workflow (`po-{id}`) to send (signal-with-start)."""
        await self._client.start_workflow(
            "PurchaseOrderWorkflow",
            PurchaseOrderInput(request.purchase_order_id, request.company_id),
            id=f"po-{request.purchase_order_id}",
            task_queue=activity.info().task_queue,
            start_signal="send_automatically",
            start_signal_args=[AutoSend(request.automation_key)],
            search_attributes=for_entity(request.company_id, "po", request.purchase_order_id),
        )


async def items_due(
    session: AsyncSession,
    company_id: uuid.UUID,
    on_order_now: dict[uuid.UUID, int],
    suppliers: set[uuid.UUID] | None = None,
    leaving_out: list[uuid.UUID] | None = None,
) -> list[InventoryItem]:
    """The items a reorder would order now: at or below their reorder point once what is on order
    counts, with a supplier to order from (only `suppliers`' when given). Covered items are left out, so
    a sweep logs no skip for them."""
    stmt = select(InventoryItem).where(
        InventoryItem.company_id == company_id,
        InventoryItem.quantity <= InventoryItem.reorder_point,
        col(InventoryItem.supplier_id).is_not(None),
    )
    if suppliers is not None:
        stmt = stmt.where(col(InventoryItem.supplier_id).in_(suppliers))
    if leaving_out:
        stmt = stmt.where(col(InventoryItem.id).not_in(leaving_out))
    found = await session.exec(stmt.order_by(InventoryItem.name))
    return [
        item
        for item in found.all()
        if reorder_quantity(
            item.quantity,
            on_order_now.get(item.id, 0),
            item.reorder_point,
            item.reorder_quantity,
            item.par_level,
        )
    ]


class _Planner:
    """One reorder pass for a company, inside its purchasing lock."""

    def __init__(self, session: AsyncSession, batch: ReorderBatch):
        self.session = session
        self.batch = batch
        self.company_id = uuid.UUID(batch.company_id)
        self.touched: dict[uuid.UUID, str] = {}  # drafts filled by this pass → the automation that did
        self.on_order: dict[uuid.UUID, int] = {}
        self.ordered: set[str] = set()  # the parts of this pass already done (by an earlier attempt)

    def key(self, part: str, what: str) -> str:
        return f"{self.batch.workflow_id}/{self.batch.step}/{part}/{what}"

    async def start(self) -> None:
        await lock_purchasing(self.session, self.company_id)
        # An earlier attempt of this pass may have committed: what it ordered is in the action log.
        earlier = await self.session.exec(
            select(ActionLog).where(
                col(ActionLog.idempotency_key).startswith(f"{self.batch.workflow_id}/{self.batch.step}/"),
                ActionLog.outcome == ActionOutcome.done,
            )
        )
        for row in earlier.all():
            self.ordered.add(row.idempotency_key)
            self.touched.setdefault(row.entity_id, row.automation_key)
        self.on_order = await on_order(self.session, self.company_id)

    async def reorder_low_items(self) -> None:
        reported = await self._items({uuid.UUID(i) for i in self.batch.item_ids})
        # A supplier's order collects every item of theirs that needs reordering, not only the one that
        # just dropped: one order and one email, not one a day.
        suppliers = {item.supplier_id for item in reported if item.supplier_id}
        mates = await items_due(
            self.session, self.company_id, self.on_order, suppliers, [item.id for item in reported]
        )
        for item in reported + mates:
            part = f"item-{item.id}"
            if not item.low_stock or self.key(part, "ordered") in self.ordered:
                continue  # restocked since it was reported, or ordered by an earlier attempt
            if not await self._allowed(REORDER, "inventory_item", item.id, part):
                continue
            pending = self.on_order.get(item.id, 0)
            units = reorder_quantity(
                item.quantity, pending, item.reorder_point, item.reorder_quantity, item.par_level
            )
            if units == 0:
                why = f"{pending} already on order" if pending else "no par level or reorder quantity set"
                await self._log(REORDER, ActionOutcome.skipped, "inventory_item", item.id, part, why)
                continue
            why = f"{item.quantity} in stock, reorder point {item.reorder_point}"
            await self._order(REORDER, item, units, part, why)

    async def order_for_booked_jobs(self) -> None:
        booked = [
            job_id
            for job_id in dict.fromkeys(self.batch.job_ids)
            if await self._allowed(PARTS_FOR_JOBS, "job", uuid.UUID(job_id), f"job-{job_id}")
        ]
        if not booked:
            return
        needs = await upcoming_needs(self.session, self.company_id)
        for item in await self._items(set(needs)):
            part = f"need-{item.id}"
            if self.key(part, "ordered") in self.ordered:
                continue
            pending = self.on_order.get(item.id, 0)
            units = shortfall_quantity(needs[item.id], item.quantity, pending, item.reorder_quantity)
            if units:
                why = f"{needs[item.id]} needed by booked jobs, {item.quantity} in stock, {pending} on order"
                await self._order(PARTS_FOR_JOBS, item, units, part, why)

    async def _items(self, ids: set[uuid.UUID]) -> list[InventoryItem]:
        if not ids:
            return []
        found = await self.session.exec(
            select(InventoryItem)
            .where(InventoryItem.company_id == self.company_id, col(InventoryItem.id).in_(ids))
            .order_by(InventoryItem.name)
        )
        return list(found.all())

    async def _allowed(self, key: str, entity_type: str, entity_id: uuid.UUID, part: str) -> bool:
        """The automation's switch, read now; a no leaves a skipped row about this item or job."""
        decision = await gate(
            self.session,
            GateRequest(
                company_id=self.batch.company_id,
                automation_key=key,
                action=ACTIONS[key],
                entity_type=entity_type,
                entity_id=str(entity_id),
                workflow_id=self.batch.workflow_id,
                step=f"{self.batch.step}/{part}",
            ),
        )
        return decision.allowed

    async def _order(self, key: str, item: InventoryItem, units: int, part: str, why: str) -> None:
        if item.supplier_id is None:
            reason = f"{item.name} has no supplier to order from ({why})"
            await self._log(key, ActionOutcome.skipped, "inventory_item", item.id, part, reason)
            return
        draft = await add_to_draft(self.session, self.company_id, item, units)
        self.on_order[item.id] = self.on_order.get(item.id, 0) + units
        self.touched.setdefault(draft.id, key)
        reason = f"{units} × {item.name} on #{draft.number}: {why}"
        await self._log(key, ActionOutcome.done, "purchase_order", draft.id, part, reason)

    async def _log(self, key, outcome: ActionOutcome, entity_type: str, entity_id, part: str, reason: str):
        what = "ordered" if outcome == ActionOutcome.done else outcome.value
        await record_action(
            self.session,
            ActionRecord(
                company_id=self.batch.company_id,
                action=ACTIONS[key],
                outcome=outcome,
                entity_type=entity_type,
                entity_id=str(entity_id),
                workflow_id=self.batch.workflow_id,
                automation_key=key,
                reason=reason,
                idempotency_key=self.key(part, what),
            ),
        )
