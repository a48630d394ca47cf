"""QuickBooks Online two-way sync: the activities of the company's QuickBooks workflow (spec Workflow 8).
The connection and its rotating tokens are `activities/quickbooks_link.py`'s; the ledger's rows,
`activities/quickbooks_ledger.py`'s; our records as QuickBooks' JSON, `activities/quickbooks_fields.py`'s.

Push: QuickBooks' copy of one of our records is made to match ours. Which record is which comes from the
mapping table alone. Every write carries a `requestid`: a create's comes from the push step, an update's
from the SyncToken and the fields written, so a write retried after a timeout is answered with the first
one's result instead of being done twice. An update carries the SyncToken we last saw; when QuickBooks
says it is stale and someone changed the fields we sync there, it is a conflict for the office, not an
overwrite.

Pull: QuickBooks customers without a mapping are imported; mapped ones refresh email, phone and address.
A QuickBooks payment against an invoice we mapped is recorded through that invoice's workflow (which marks
it Paid) and mapped at once, so pushing the invoice never sends it back.

QuickBooks unreachable (timeouts, 5xx, throttling, a page that is not JSON) raises and Temporal retries;
a request QuickBooks refuses is a typed, non-retryable failure. Either way a ledger row says why.
"""

import logging
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

import requests
from quickbooks.exceptions import QuickbooksException
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from activities.clients import TIMEOUT_SECONDS
from activities.errors import is_final, root_cause
from activities.quickbooks_client import DUPLICATE_NAME, STALE_OBJECT, describe, error_code, request_id
from activities.quickbooks_fields import (
    CUSTOMER_FIELDS,
    CUSTOMER_SHOWN,
    SERVICES_ITEM,
    applications,
    customer_body,
    customer_fields,
    display_names,
    invoice_body,
    invoice_fields,
    payment_body,
    payment_method,
    pulled,
    remote_customer,
    remote_invoice,
)
from activities.quickbooks_ledger import (
    AUTOMATION,
    WAITING,
    LedgerRow,
    log_push,
    settle_retrying,
    unresolved,
    workflow_id,
    write_ledger,
)
from activities.quickbooks_link import NOT_CONNECTED, Link, Tokens, connection_of, open_link
from activities.records import INVALID_TRANSITION, NOT_FOUND
from models.base import utcnow
from models.customers import Customer
from models.enums import ActionOutcome, InvoiceStatus
from models.invoices import Invoice, Payment
from models.line_items import InvoiceLineItem
from models.logs import AuditLog, AutomationSetting
from models.quickbooks import QuickBooksConnection, QuickBooksMapping, SyncDirection, SyncStatus
from settings import Settings
from temporal.search_attributes import for_entity

log = logging.getLogger(__name__)

QUICKBOOKS_REFUSED = "QuickBooksRefused"
QUICKBOOKS_ERRORS = [NOT_CONNECTED, QUICKBOOKS_REFUSED]
WORKFLOW = "QuickBooksSyncWorkflow"  # started by name: its module imports this one
FULL_SYNC = ["push", "customers", "payments"]


# What crosses into and out of the workflow


@dataclass
class PushRequest:
    """Make QuickBooks' copy of one of our records match ours (an invoice brings its customer and its
    payments along)."""

    entity_type: str  # customer | invoice
    entity_id: str
    overwrite: bool = False  # the office chose ours over an edit made in QuickBooks (a conflict's retry)
    ledger_key: str | None = None  # the ledger row the office retries: it is updated, not added to
    # Who in the office asked for it (an audit actor, "user:<email>"): the office decided, so the automation's
    # switch is not asked; the action log names them. None: the automation's own push.
    requested_by: str | None = None


@dataclass
class SyncRequest:
    steps: list[str]  # in order, from FULL_SYNC: "push" (whatever is pending), "customers", "payments"
    automatic: bool = False  # the hourly schedule's: the automation's switch is read before each step


@dataclass
class QuickBooksStart:
    """QuickBooksInput's shape, for starting the workflow by name."""

    company_id: str


@dataclass
class RecordRef:
    company_id: str
    entity_type: str
    entity_id: str


@dataclass
class PushInput:
    company_id: str
    entity_type: str
    entity_id: str
    step: str  # unique per push; creates carry it in their requestid, so only its own retries repeat it
    key: str  # the ledger row to write: the step's own, or the row the office retries
    overwrite: bool = False
    requested_by: str | None = None  # PushRequest's


@dataclass
class PushResult:
    outcome: str  # create | update | overwrite | unchanged | skipped
    qbo_id: str | None = None


@dataclass
class PendingRequest:
    company_id: str
    limit: int


@dataclass
class PullInput:
    company_id: str
    step: str  # the workflow step: this pull's ledger rows are keyed under it


@dataclass
class PullResult:
    imported: int = 0  # customers taken in, or payments recorded
    refreshed: int = 0
    failed: int = 0


# Reaching the company's workflow (from the API and from activities)


async def signal_quickbooks(client: Client, company_id, signal: str, argument, task_queue: str) -> None:
    """Hand `signal` to the company's QuickBooks workflow, starting it when it is not running."""
    await client.start_workflow(
        WORKFLOW,
        QuickBooksStart(str(company_id)),
        id=workflow_id(company_id),
        task_queue=task_queue,
        start_signal=signal,
        start_signal_args=[argument],
        search_attributes=for_entity(str(company_id), "company", str(company_id)),
    )


async def request_push(
    session: AsyncSession, client: Client, company_id, entity_type: str, entity_id, task_queue: str
) -> bool:
    """After a change committed: push the record if the company is connected to QuickBooks. Temporal
    being unreachable is no failure of the change: the next full sync finds the record pending."""
    if await session.get(QuickBooksConnection, company_id) is None:
        return False
    push = PushRequest(entity_type, str(entity_id))
    try:
        await signal_quickbooks(client, company_id, "push", push, task_queue)
    except RPCError as unreachable:
        log.warning("QuickBooks push of %s %s not queued: %s", entity_type, entity_id, unreachable)
        return False
    return True


# What a sync works with


@dataclass
class _Step:
    """Where a push writes: `step` goes into creates' requestids, `key` names the ledger row."""

    step: str
    key: str
    requested_by: str | None = None

    def part(self, name: str) -> "_Step":
        return _Step(f"{self.step}/{name}", f"{self.key}/{name}", self.requested_by)


class _Conflict(Exception):
    """QuickBooks' copy was edited, in the fields we sync, since our last sync."""


class QuickBooksActivities:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], settings: Settings, timeout: float = TIMEOUT_SECONDS
    ):
        self._sessions = sessions
        self._settings = settings
        self._tokens = Tokens(sessions, settings)
        self._timeout = timeout  # per HTTP call

    # pushing

    @activity.defn
    async def push_record(self, request: PushInput) -> PushResult:
        """Make QuickBooks' copy of a customer, or of an invoice and its payments, match ours."""
        link = await self._link(request.company_id)
        step = _Step(request.step, request.key, request.requested_by)
        record_id = uuid.UUID(request.entity_id)
        if request.entity_type == "customer":
            return await self._push_customer(link, record_id, step, request.overwrite)
        if request.entity_type == "invoice":
            return await self._push_invoice(link, record_id, step, request.overwrite)
        raise ApplicationError(
            f"a {request.entity_type} is not pushed to QuickBooks",
            type=QUICKBOOKS_REFUSED,
            non_retryable=True,
        )

    async def _push_customer(
        self, link: Link, customer_id: uuid.UUID, step: _Step, overwrite: bool
    ) -> PushResult:
        async with self._sessions() as session:
            customer = await _owned(session, Customer, customer_id, link.company_id)
            mapping = await _mapping(session, link, "customer", customer_id)
        ours = customer_fields(customer)
        row = _row(link, step, "customer", customer_id, mapping, overwrite)
        async with self._recording(link, row):
            if mapping is None:
                record = await self._create_customer(link, customer_id, ours, step)
            else:
                record = await self._update_customer(link, customer_id, mapping, ours, overwrite)
        if record is None:
            return await self._unchanged(row, mapping)
        await self._pushed(link, row, record, remote_customer(record) | {"name": ours["name"]})
        return PushResult(row.action, record["Id"])

    async def _create_customer(self, link: Link, customer_id, ours: dict, step: _Step) -> dict:
        async def create(body: dict) -> dict:
            created = request_id("c", customer_id, step.step, body["DisplayName"])
            return await link.call(link.api.create, "Customer", body, created)

        given = {name for name in CUSTOMER_FIELDS if ours[name] is not None}
        return await _named(ours, customer_id, given, create)

    async def _update_customer(
        self, link: Link, customer_id, mapping: QuickBooksMapping, ours: dict, overwrite: bool
    ) -> dict | None:
        synced = mapping.synced or {}
        changed = {name for name in CUSTOMER_FIELDS if overwrite or ours[name] != synced.get(name)}
        if not changed:
            return None

        async def write(token: str) -> dict:
            async def update_with(body: dict) -> dict:
                updated = request_id("c", customer_id, token, body)
                return await link.call(link.api.update, "Customer", mapping.qbo_id, token, body, updated)

            return await _named(ours, customer_id, changed, update_with)

        def edited(remote: dict) -> bool:
            theirs = remote_customer(remote)
            return any(theirs[name] != synced.get(name) for name in CUSTOMER_SHOWN)

        return await self._update(link, "Customer", mapping, overwrite, write, edited)

    async def _push_invoice(
        self, link: Link, invoice_id: uuid.UUID, step: _Step, overwrite: bool
    ) -> PushResult:
        async with self._sessions() as session:
            invoice = await _owned(session, Invoice, invoice_id, link.company_id)
            lines = (
                await session.exec(
                    select(InvoiceLineItem)
                    .where(InvoiceLineItem.invoice_id == invoice_id)
                    .order_by(InvoiceLineItem.position)
                )
            ).all()
            mapping = await _mapping(session, link, "invoice", invoice_id)
            customer = await _mapping(session, link, "customer", invoice.customer_id)
        if mapping is None and (invoice.status == InvoiceStatus.void or not lines):
            return PushResult("skipped")  # nothing to book
        if invoice.status == InvoiceStatus.void:
            return await self._void_invoice(link, invoice_id, mapping, step, overwrite)
        row = _row(link, step, "invoice", invoice_id, mapping, overwrite)
        async with self._recording(link, row):
            if customer is None:
                customer_qbo_id = (
                    await self._push_customer(link, invoice.customer_id, step.part("customer"), False)
                ).qbo_id
            else:
                customer_qbo_id = customer.qbo_id
            ours = invoice_fields(invoice, lines, customer_qbo_id)
            if mapping is None:
                body = invoice_body(ours, await self._services_item(link))
                created = request_id("i", invoice_id, step.step)
                record = await link.call(link.api.create, "Invoice", body, created)
            elif ours != mapping.synced or overwrite:
                body = invoice_body(ours, await self._services_item(link))

                async def write(token: str) -> dict:
                    updated = request_id("i", invoice_id, token, body)
                    return await link.call(link.api.update, "Invoice", mapping.qbo_id, token, body, updated)

                def edited(remote: dict) -> bool:
                    return remote_invoice(remote) != mapping.synced

                record = await self._update(link, "Invoice", mapping, overwrite, write, edited)
            else:
                record = None
        if record is None:
            result = await self._unchanged(row, mapping)
        else:
            await self._pushed(link, row, record, remote_invoice(record))
            result = PushResult(row.action, record["Id"])
        await self._push_payments(link, invoice_id, customer_qbo_id, result.qbo_id, step)
        return result

    async def _void_invoice(
        self, link: Link, invoice_id: uuid.UUID, mapping: QuickBooksMapping, step: _Step, overwrite: bool
    ) -> PushResult:
        """Void QuickBooks' copy of an invoice voided here, once: it is kept there with its amounts zeroed,
        and the payments applied to it there are unlinked. Ours stay on the invoice here; none is sent."""
        row = _row(link, step, "invoice", invoice_id, mapping, overwrite, action="void")
        if (mapping.synced or {}).get("voided"):
            return await self._unchanged(row, mapping)

        async def write(token: str) -> dict:
            voided = request_id("v", invoice_id, token)
            return await link.call(link.api.void_invoice, mapping.qbo_id, token, voided)

        def edited(remote: dict) -> bool:
            return remote_invoice(remote) != mapping.synced

        async with self._recording(link, row):
            record = await self._update(link, "Invoice", mapping, overwrite, write, edited)
        await self._pushed(link, row, record, (mapping.synced or {}) | {"voided": True})
        return PushResult(row.action, record["Id"])

    async def _update(
        self, link: Link, entity: str, mapping: QuickBooksMapping, overwrite: bool, write, edited
    ):
        """`write` on the SyncToken we last saw. When QuickBooks calls it stale: if its copy still holds our
        fields as we left them (a payment applied to the invoice, a field we do not sync), write on its
        new token; if someone edited them there, it is a conflict. `overwrite` (the office's choice after a
        conflict) writes on QuickBooks' latest token whatever its copy holds."""
        if not overwrite:
            try:
                return await write(mapping.sync_token)
            except QuickbooksException as error:
                if error_code(error) != STALE_OBJECT:
                    raise
                stale = error
        remote = await link.call(link.api.read, entity, mapping.qbo_id)
        if not overwrite and edited(remote):
            raise _Conflict(describe(stale))
        return await write(remote["SyncToken"])

    async def _push_payments(
        self, link: Link, invoice_id, customer_qbo_id: str, invoice_qbo_id: str, step: _Step
    ):
        """Our payments of the invoice that QuickBooks does not have (those taken from it are mapped)."""
        async with self._sessions() as session:
            payments = (
                await session.exec(
                    select(Payment)
                    .where(
                        Payment.invoice_id == invoice_id, col(Payment.id).not_in(_mapped_ids(link, "payment"))
                    )
                    .order_by(Payment.created_at)
                )
            ).all()
        for payment in payments:
            part = step.part(f"payment-{payment.id}")
            row = _row(link, part, "payment", payment.id, None, False)
            async with self._recording(link, row):
                body = payment_body(payment, customer_qbo_id, invoice_qbo_id)
                record = await link.call(
                    link.api.create, "Payment", body, request_id("p", payment.id, part.step)
                )
            await self._pushed(link, row, record, {"amount_cents": payment.amount_cents})

    async def _services_item(self, link: Link) -> str:
        """The one QuickBooks Item our invoice lines are booked to: the company's own "Services" (every new
        QuickBooks company has it), else one we create."""
        if link.services_item_id:
            return link.services_item_id
        found = await link.call(link.api.query, f"SELECT * FROM Item WHERE Name = '{SERVICES_ITEM}'")
        if found:
            link.services_item_id = found[0]["Id"]
        else:
            body = {"Name": SERVICES_ITEM, "Type": "Service"}
            created = request_id("s", link.company_id, link.realm_id)
            link.services_item_id = (await link.call(link.api.create, "Item", body, created))["Id"]
        async with self._sessions() as session, session.begin():
            connection = await session.get(QuickBooksConnection, link.company_id)
            if connection is not None and connection.realm_id == link.realm_id:
                connection.services_item_id = link.services_item_id
        return link.services_item_id

    @activity.defn
    async def pending_pushes(self, request: PendingRequest) -> list[PushRequest]:
        """What a full sync pushes: records QuickBooks does not have (after connecting, the company's whole
        history, a batch per sync), records changed here since their last sync, mapped invoices with payments
        QuickBooks does not have.
        Those whose latest sync failed to push or conflicted wait for the office's retry."""
        company_id = uuid.UUID(request.company_id)
        async with self._sessions() as session:
            connection = await connection_of(session, company_id)
            waiting = {entry.entity_id for entry in await unresolved(session, company_id)}
            maps = {
                (m.entity_type, m.entity_id): m
                for m in (
                    await session.exec(
                        select(QuickBooksMapping).where(
                            QuickBooksMapping.company_id == company_id,
                            QuickBooksMapping.realm_id == connection.realm_id,
                        )
                    )
                ).all()
            }
            pending = [
                PushRequest("customer", str(customer.id))
                for customer in (
                    await session.exec(select(Customer).where(Customer.company_id == company_id))
                ).all()
                if _pending(maps.get(("customer", customer.id)), customer_fields(customer))
            ]
            pending += await _pending_invoices(session, connection, maps)
        return [push for push in pending if uuid.UUID(push.entity_id) not in waiting][: request.limit]

    # pulling

    @activity.defn
    async def pull_customers(self, request: PullInput) -> PullResult:
        """Import QuickBooks customers we do not have; refresh email, phone and address of those we do."""
        link = await self._link(request.company_id)
        started, result = utcnow(), PullResult()
        for record in await link.changed("Customer", link.customers_pulled_at):
            outcome = await self._take_customer(link, record, request.step)
            result.imported += outcome == "import"
            result.refreshed += outcome == "refresh"
            activity.heartbeat(record.get("Id"))
        await self._advance(link, customers_pulled_at=started)
        return result

    async def _take_customer(self, link: Link, record: dict, step: str) -> str | None:
        if record.get("status") == "Deleted":
            return None
        remote = remote_customer(record)
        async with self._sessions() as session, session.begin():
            mapping = await _mapped(session, link, "customer", record["Id"])
            if mapping is None:
                if not remote["active"]:
                    return None  # put away in QuickBooks: not news here
                pull = pulled(remote, {}, {})
                customer = Customer(company_id=link.company_id, name=remote["display_name"], **pull.taken)
                session.add(customer)
                await session.flush()
                mapping = QuickBooksMapping(
                    company_id=link.company_id,
                    realm_id=link.realm_id,
                    entity_type="customer",
                    entity_id=customer.id,
                    qbo_id=record["Id"],
                    synced={"name": customer.name},
                )
                _audit(session, customer, "create", None, customer_fields(customer))
                action = "import"
            elif mapping.sync_token == record["SyncToken"]:
                return None  # our own write coming back, or nothing new
            else:
                customer = await session.get(Customer, mapping.entity_id, with_for_update=True)
                if customer is None:
                    return None  # deleted here since; QuickBooks keeps its own
                before = customer_fields(customer)
                pull = pulled(remote, before, mapping.synced or {})
                changes = {k: v for k, v in pull.taken.items() if before[k] != v}
                for name, value in changes.items():
                    setattr(customer, name, value)
                session.add(customer)
                if changes:
                    _audit(session, customer, "update", {k: before[k] for k in changes}, changes)
                action = "refresh" if changes else None
            # What was taken, both sides now hold. A clash keeps the SyncToken we had: a push of ours meets
            # the Stale Object Error and the clash, until the office chooses.
            shown = {name: remote[name] for name in ("display_name", "active")}
            mapping.synced = (mapping.synced or {}) | shown | pull.taken
            if not pull.clashes:
                mapping.sync_token = record["SyncToken"]
            mapping.pulled_at = utcnow()
            session.add(mapping)
            if pull.clashes:
                await self._clash(session, link, record, customer.id, pull.clashes)
                return "conflict"
            if action:
                row = LedgerRow(
                    link.company_id,
                    f"{step}/customer-{record['Id']}-{record['SyncToken']}",
                    "customer",
                    customer.id,
                    SyncDirection.pull,
                    action,
                    record["Id"],
                )
                await write_ledger(session, row, SyncStatus.ok)
        return action

    async def _clash(self, session: AsyncSession, link: Link, record: dict, customer_id, clashes) -> None:
        """A conflict for the office: QuickBooks' edit of fields we changed too and have not pushed yet.
        Keyed by QuickBooks' version, so reading it again (the pulls overlap) adds no row."""
        row = LedgerRow(
            link.company_id,
            f"{workflow_id(link.company_id)}/pull/customer-{record['Id']}-{record['SyncToken']}",
            "customer",
            customer_id,
            SyncDirection.pull,
            "refresh",
            record["Id"],
        )
        why = (
            f"{', '.join(clashes)} changed here and in QuickBooks since the last sync: ours kept "
            "(Overwrite QuickBooks sends ours; edit ours to keep theirs)"
        )
        await write_ledger(session, row, SyncStatus.conflict, why)

    @activity.defn
    async def pull_payments(self, request: PullInput) -> PullResult:
        """Payments recorded in QuickBooks against invoices we mapped: each is recorded on our invoice, in
        part or in full, through the invoice's workflow, and mapped so it never goes back."""
        link = await self._link(request.company_id)
        started, result = utcnow(), PullResult()
        for record in await link.changed("Payment", link.payments_pulled_at):
            if record.get("status") == "Deleted":
                continue
            for invoice_qbo_id, cents in applications(record):
                outcome = await self._take_payment(link, record, invoice_qbo_id, cents)
                result.imported += outcome == "record_payment"
                result.failed += outcome == "failed"
            activity.heartbeat(record.get("Id"))
        await self._advance(link, payments_pulled_at=started)
        return result

    async def _take_payment(self, link: Link, record: dict, invoice_qbo_id: str, cents: int) -> str | None:
        # Imported here, not at the top: the invoice workflow imports this module for its push step.
        from workflows.invoice import InvoiceInput, InvoiceWorkflow, ProviderPaymentInput

        application = f"{record['Id']}:{invoice_qbo_id}"
        async with self._sessions() as session:
            known = await session.exec(
                select(QuickBooksMapping.id).where(
                    *_in_realm(link, "payment"),
                    col(QuickBooksMapping.qbo_id).in_([record["Id"], application]),
                )
            )
            if known.first() is not None:
                return None  # pushed from here, or taken before
            invoice = await _mapped(session, link, "invoice", invoice_qbo_id)
        if invoice is None:
            return None  # an invoice we do not track
        invoice_id = str(invoice.entity_id)
        row = LedgerRow(
            link.company_id,
            f"pull/payment/{link.realm_id}/{application}",
            "invoice",
            invoice.entity_id,
            SyncDirection.pull,
            "record_payment",
            record["Id"],
        )
        # The update id is the payment's identity: repeated, the invoice workflow records it once.
        update_id = f"quickbooks-{link.realm_id}-{application}"
        paid = ProviderPaymentInput(
            payment_reference=f"QuickBooks payment {record['Id']}",
            received_on=record.get("TxnDate") or utcnow().date().isoformat(),
            method=payment_method(record),
            amount_cents=cents,
            provider="quickbooks",
        )
        start = WithStartWorkflowOperation(
            InvoiceWorkflow.run,
            InvoiceInput(invoice_id, str(link.company_id)),
            id=f"invoice-{invoice_id}",
            task_queue=activity.info().task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            search_attributes=for_entity(str(link.company_id), "invoice", invoice_id),
        )
        try:
            await activity.client().execute_update_with_start_workflow(
                InvoiceWorkflow.record_provider_payment, paid, start_workflow_operation=start, id=update_id
            )
        except WorkflowUpdateFailedError as failed:
            refusal = root_cause(failed)
            if not (
                isinstance(refusal, ApplicationError) and refusal.type in (INVALID_TRANSITION, NOT_FOUND)
            ):
                raise
            async with self._sessions() as session, session.begin():
                await write_ledger(session, row, SyncStatus.failed, f"not recorded here: {refusal.message}")
            return "failed"
        async with self._sessions() as session, session.begin():
            ours = await session.exec(
                select(Payment.id).where(Payment.idempotency_key == f"invoice-{invoice_id}/{update_id}")
            )
            session.add(
                QuickBooksMapping(
                    company_id=link.company_id,
                    realm_id=link.realm_id,
                    entity_type="payment",
                    entity_id=ours.one(),
                    qbo_id=application,
                    sync_token=record.get("SyncToken"),
                    synced={"amount_cents": cents},
                    pulled_at=utcnow(),
                )
            )
            await write_ledger(session, row, SyncStatus.ok)
        return "record_payment"

    @activity.defn
    async def finish_sync(self, company_id: str) -> None:
        async with self._sessions() as session, session.begin():
            connection = await session.get(QuickBooksConnection, uuid.UUID(company_id))
            if connection is not None:
                connection.last_sync_at = utcnow()

    # for the invoice workflow and the hourly schedule

    @activity.defn
    async def request_quickbooks_push(self, record: RecordRef) -> bool:
        """Queue a push on the company's QuickBooks workflow, when the company is connected."""
        async with self._sessions() as session:
            return await request_push(
                session,
                activity.client(),
                uuid.UUID(record.company_id),
                record.entity_type,
                record.entity_id,
                activity.info().task_queue,
            )

    @activity.defn
    async def queue_scheduled_syncs(self) -> int:
        """A full sync for every company connected with `quickbooks_sync` on; how many were asked."""
        async with self._sessions() as session:
            companies = (
                await session.exec(
                    select(QuickBooksConnection.company_id)
                    .join(AutomationSetting, AutomationSetting.company_id == QuickBooksConnection.company_id)
                    .where(
                        AutomationSetting.key == AUTOMATION,
                        AutomationSetting.enabled,
                        col(QuickBooksConnection.problem).is_(None),
                    )
                )
            ).all()
        for company_id in companies:
            sync = SyncRequest(FULL_SYNC, automatic=True)
            await signal_quickbooks(activity.client(), company_id, "sync", sync, activity.info().task_queue)
        return len(companies)

    async def _link(self, company_id: str) -> Link:
        return await open_link(self._sessions, self._tokens, self._settings, company_id, self._timeout)

    async def _advance(self, link: Link, **cursor: datetime) -> None:
        async with self._sessions() as session, session.begin():
            connection = await session.get(QuickBooksConnection, link.company_id)
            if connection is not None and connection.realm_id == link.realm_id:
                for name, moment in cursor.items():
                    setattr(connection, name, moment)

    # the ledger

    @asynccontextmanager
    async def _recording(self, link: Link, row: LedgerRow):
        """The ledger row of a push step that goes wrong: a conflict or a refusal (raised as final), or
        QuickBooks out of reach (raised again, for Temporal to retry)."""
        try:
            yield
        except _Conflict as conflict:
            await self._finish(
                row, SyncStatus.conflict, f"edited in QuickBooks since our last sync: {conflict}"
            )
            raise ApplicationError(str(conflict), type=QUICKBOOKS_REFUSED, non_retryable=True) from None
        except QuickbooksException as error:
            if not is_final(link.api.http.last_status):
                await self._finish(row, SyncStatus.retrying, describe(error))
                raise
            await self._finish(row, SyncStatus.failed, describe(error))
            raise ApplicationError(describe(error), type=QUICKBOOKS_REFUSED, non_retryable=True) from None
        except ApplicationError as refused:  # the connection's, or a part's (the invoice's customer)
            await self._finish(row, SyncStatus.failed, refused.message)
            raise
        except requests.RequestException as unreachable:
            await self._finish(row, SyncStatus.retrying, f"QuickBooks did not answer: {unreachable}")
            raise

    async def _finish(self, row: LedgerRow, status: SyncStatus, error: str) -> None:
        async with self._sessions() as session, session.begin():
            await write_ledger(session, row, status, error)
            if status in WAITING:
                await log_push(session, row, ActionOutcome.failed, error)

    async def _pushed(self, link: Link, row: LedgerRow, record: dict, synced: dict) -> None:
        """QuickBooks took our write: the mapping, the ledger row and the action-log row, together."""
        row.qbo_id = record["Id"]
        async with self._sessions() as session, session.begin():
            mapping = await _mapping(session, link, row.entity_type, row.entity_id) or QuickBooksMapping(
                company_id=link.company_id,
                realm_id=link.realm_id,
                entity_type=row.entity_type,
                entity_id=row.entity_id,
                qbo_id=record["Id"],
            )
            mapping.sync_token, mapping.synced, mapping.pushed_at = record["SyncToken"], synced, utcnow()
            session.add(mapping)
            await write_ledger(session, row, SyncStatus.ok)
            await log_push(session, row, ActionOutcome.sent, f"{row.action} in QuickBooks ({record['Id']})")

    async def _unchanged(self, row: LedgerRow, mapping: QuickBooksMapping | None) -> PushResult:
        """Nothing to write. A row an earlier attempt left retrying is settled."""
        async with self._sessions() as session, session.begin():
            await settle_retrying(session, row.key)
        return PushResult("unchanged", mapping.qbo_id if mapping else None)


async def _named(ours: dict, customer_id: uuid.UUID, changed: set[str], write) -> dict:
    """`write` the changed fields of a customer; a name QuickBooks already has gets our suffix."""
    names = display_names(ours["name"], customer_id) if "name" in changed else [None]
    for display_name in names:
        try:
            return await write(customer_body(ours, changed, display_name))
        except QuickbooksException as error:
            if error_code(error) != DUPLICATE_NAME or display_name == names[-1]:
                raise
    raise AssertionError("unreachable: the last name's failure is raised")


def _row(
    link: Link, step: _Step, entity_type: str, entity_id, mapping, overwrite: bool, action: str | None = None
) -> LedgerRow:
    action = action or ("create" if mapping is None else "overwrite" if overwrite else "update")
    return LedgerRow(
        link.company_id,
        step.key,
        entity_type,
        entity_id,
        SyncDirection.push,
        action,
        step=step.step,
        requested_by=step.requested_by,
    )


def _pending(mapping, ours: dict) -> bool:
    """Whether a record waits for a push: QuickBooks lacks it (the first full sync after connecting brings
    the books up to date), or it changed here since its last sync."""
    if mapping is None:
        return True
    return any(ours[key] != (mapping.synced or {}).get(key) for key in ours)


async def _pending_invoices(
    session: AsyncSession, connection: QuickBooksConnection, maps: dict
) -> list[PushRequest]:
    company_id = connection.company_id
    lines: dict[uuid.UUID, list[InvoiceLineItem]] = {}
    for line in (
        await session.exec(
            select(InvoiceLineItem)
            .where(InvoiceLineItem.company_id == company_id)
            .order_by(InvoiceLineItem.position)
        )
    ).all():
        lines.setdefault(line.invoice_id, []).append(line)
    pushed = {entity_id for entity_type, entity_id in maps if entity_type == "payment"}
    with_unsent_payments = {
        invoice_id
        for payment_id, invoice_id in (
            await session.exec(select(Payment.id, Payment.invoice_id).where(Payment.company_id == company_id))
        ).all()
        if payment_id not in pushed
    }
    pending = []
    for invoice in (await session.exec(select(Invoice).where(Invoice.company_id == company_id))).all():
        mapping = maps.get(("invoice", invoice.id))
        if invoice.status == InvoiceStatus.void:
            if mapping is not None and not (mapping.synced or {}).get("voided"):
                pending.append(PushRequest("invoice", str(invoice.id)))  # to void there too
            continue
        if mapping is None and not lines.get(invoice.id):
            continue
        customer = maps.get(("customer", invoice.customer_id))
        ours = invoice_fields(invoice, lines.get(invoice.id, []), customer.qbo_id if customer else None)
        if _pending(mapping, ours) or (mapping is not None and invoice.id in with_unsent_payments):
            pending.append(PushRequest("invoice", str(invoice.id)))
    return pending


async def _owned(session: AsyncSession, model, record_id: uuid.UUID, company_id: uuid.UUID):
    row = await session.get(model, record_id)
    if row is None or row.company_id != company_id:
        raise ApplicationError(f"{model.__tablename__} not found", type=NOT_FOUND, non_retryable=True)
    return row


def _in_realm(link: Link, entity_type: str) -> tuple:
    """The mappings of one kind of record between this company and its connected QuickBooks company."""
    return (
        QuickBooksMapping.company_id == link.company_id,
        QuickBooksMapping.realm_id == link.realm_id,
        QuickBooksMapping.entity_type == entity_type,
    )


def _mapped_ids(link: Link, entity_type: str):
    return select(QuickBooksMapping.entity_id).where(*_in_realm(link, entity_type))


async def _mapping(
    session: AsyncSession, link: Link, entity_type: str, entity_id
) -> QuickBooksMapping | None:
    """The mapping of one of our records."""
    where = (*_in_realm(link, entity_type), QuickBooksMapping.entity_id == entity_id)
    return (await session.exec(select(QuickBooksMapping).where(*where))).first()


async def _mapped(
    session: AsyncSession, link: Link, entity_type: str, qbo_id: str
) -> QuickBooksMapping | None:
    """The mapping of one QuickBooks record."""
    where = (*_in_realm(link, entity_type), QuickBooksMapping.qbo_id == qbo_id)
    return (await session.exec(select(QuickBooksMapping).where(*where))).first()


def _audit(session: AsyncSession, customer: Customer, action: str, before, after) -> None:
    session.add(
        AuditLog(
            company_id=customer.company_id,
            actor="quickbooks",
            entity_type="customer",
            entity_id=customer.id,
            action=action,
            before=before,
            after=after,
        )
    )
