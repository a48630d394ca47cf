"""Database work for the invoice workflow: what it needs to know about its invoice, the messages it sends
(email with the PDF, texts, follow-ups, receipt), whether the saved card may be charged, the statuses the
customer and the clock cause (Viewed, Overdue), and telling the office about a declined card.

Payments and the office's status changes are `RecordsActivities.change_invoice_status`; this module only
adds the two moves that one does not make (Viewed, Overdue), with the same row lock, step key, audit and
action-log rows.
"""

import base64
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.action_log import ActionRecord, record_action
from activities.documents import (
    DocumentLine,
    InvoiceDocument,
    invoice_email,
    invoice_pdf,
    invoice_reminder_fallback,
    invoice_reminder_prompt,
    invoice_sms,
    usable_reminder_note,
)
from activities.events import publish
from activities.notifications import OFFICE, notify, team_members
from activities.quotes import INVALID_REQUEST
from activities.records import (
    INVALID_TRANSITION,
    NOT_FOUND,
    InvoiceSnapshot,
    done_before,
    locked_row,
    record_change,
    refusal,
)
from models.base import utcnow
from models.company import Company
from models.customers import Customer
from models.enums import ActionOutcome, InvoiceStatus
from models.invoices import Invoice
from models.line_items import InvoiceLineItem
from models.links import invoice_url
from models.logs import ActionLog, MessageLog
from models.money import compute_totals
from models.states import TransitionError, check_invoice_transition
from models.time import follow_up_at, quote_expires_at
from settings import Settings

# The follow-ups of an unpaid invoice: tone, days after the due date (9:30 company time, on a weekday).
FOLLOW_UPS = (("friendly", 3), ("firm", 7), ("final", 14))
SENDING_KINDS = ("sent", "card_declined")  # the invoice itself goes out: someone must be reachable
AUTO_CHARGE_KEY = "auto_charge_card_on_file"
_MOVES = {InvoiceStatus.viewed: "invoice_viewed", InvoiceStatus.overdue: "invoice_overdue"}


@dataclass
class InvoiceRef:
    invoice_id: str
    company_id: str


@dataclass
class PlannedFollowUp:
    tone: str  # friendly | firm | final
    days: int  # after the due date
    at: str  # ISO datetime, UTC
    purpose: str  # the email's message purpose; the text's is this plus "-sms"


@dataclass
class InvoiceState:
    """What the workflow needs to know about its invoice, read from the database."""

    status: str
    number: int
    total_cents: int
    amount_paid_cents: int
    timezone: str
    due_on: str  # ISO date
    overdue_at: str  # ISO datetime: the end of the due date, company time
    follow_ups: list[PlannedFollowUp]
    follow_ups_sent: list[str] = field(default_factory=list)  # purposes that already have a message row


@dataclass
class InvoiceMessagesRequest:
    invoice_id: str
    company_id: str
    kind: str  # sent | card_declined | friendly | firm | final | receipt
    note: str | None = None  # a follow-up's words, from the AI; the template's when unusable
    days_overdue: int = 0


@dataclass
class InvoiceMessages:
    status: str
    amount_paid_cents: int
    total_cents: int
    customer_id: str
    email_to: str | None
    subject: str
    html: str
    text: str
    sms_to: str | None  # the customer's phone; the gate and the send check consent
    sms_body: str
    pay_url: str
    pdf_filename: str
    pdf_base64: str | None = None  # attached to the invoice itself, not to follow-ups


@dataclass
class ReminderPrompt:
    system: str
    prompt: str
    fallback: str
    reachable: bool = True  # the customer has an email address or a phone: a follow-up can go out


@dataclass
class PaymentRequest:
    invoice_id: str
    company_id: str
    workflow_id: str | None = None
    step: str | None = None  # given: a saved card that will not be charged is logged under this step


@dataclass
class InvoicePayment:
    """The invoice as a payment sees it: what is due, in what currency, and the customer's saved card."""

    status: str
    number: int
    balance_cents: int
    currency: str
    timezone: str
    pay_url: str
    stripe_customer_id: str | None
    payment_method_id: str | None
    stripe_account: str | None
    auto_charge_refusal: str | None  # why the saved card is not to be charged; None: it may be


@dataclass
class MoveInvoice:
    """A status the customer or the clock causes: Viewed (from Sent), Overdue (from Sent or Viewed)."""

    invoice_id: str
    company_id: str
    target: str
    only_from: list[str]  # from any other status: nothing happens, and that is no refusal
    actor: str
    workflow_id: str
    step_key: str
    actor_user_id: str | None = None


@dataclass
class DeclineAlert:
    invoice_id: str
    company_id: str
    reason: str
    workflow_id: str
    step_key: str


class InvoicingActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings):
        self._sessions = sessions
        self._settings = settings

    @activity.defn
    async def invoice_state(self, ref: InvoiceRef) -> InvoiceState:
        async with self._sessions() as session:
            invoice = await _invoice(session, ref)
            company = await session.get(Company, invoice.company_id)
            follow_ups = planned_follow_ups(invoice.due_on, company.timezone)
            purposes = [p.purpose for p in follow_ups] + [f"{p.purpose}-sms" for p in follow_ups]
            sent = await session.exec(
                select(MessageLog.purpose).where(
                    MessageLog.workflow_id == f"invoice-{invoice.id}", MessageLog.purpose.in_(purposes)
                )
            )
            return InvoiceState(
                status=invoice.status.value,
                number=invoice.number,
                total_cents=invoice.total_cents,
                amount_paid_cents=invoice.amount_paid_cents,
                timezone=company.timezone,
                due_on=invoice.due_on.isoformat(),
                overdue_at=overdue_at(invoice.due_on, company.timezone).isoformat(),
                follow_ups=follow_ups,
                follow_ups_sent=sorted({purpose.removesuffix("-sms") for purpose in sent.all()}),
            )

    @activity.defn
    async def invoice_messages(self, request: InvoiceMessagesRequest) -> InvoiceMessages:
        """The email (with the PDF for the invoice itself) and text that carry the customer's link."""
        async with self._sessions() as session:
            invoice = await _invoice(session, InvoiceRef(request.invoice_id, request.company_id))
            customer = await session.get(Customer, invoice.customer_id)
            if request.kind in SENDING_KINDS:
                _check_sendable(invoice, customer)
            doc = await invoice_document(session, self._settings, invoice, request.days_overdue)
        subject = html = text = ""
        if request.kind != "receipt":
            note = request.note if usable_reminder_note(request.note) else None
            subject, html, text = invoice_email(doc, request.kind, note)
        pdf = invoice_pdf(doc) if request.kind in SENDING_KINDS else None
        return InvoiceMessages(
            status=invoice.status.value,
            amount_paid_cents=invoice.amount_paid_cents,
            total_cents=invoice.total_cents,
            customer_id=str(customer.id),
            email_to=customer.email,
            subject=subject,
            html=html,
            text=text,
            sms_to=customer.phone,
            sms_body=invoice_sms(doc, request.kind),
            pay_url=doc.link,
            pdf_filename=f"Invoice-{invoice.number}.pdf",
            pdf_base64=base64.b64encode(pdf).decode() if pdf else None,
        )

    @activity.defn
    async def reminder_prompt(self, request: InvoiceMessagesRequest) -> ReminderPrompt:
        """What to ask the AI for a follow-up in `request.kind`'s tone, and the words to use without it."""
        async with self._sessions() as session:
            invoice = await _invoice(session, InvoiceRef(request.invoice_id, request.company_id))
            customer = await session.get(Customer, invoice.customer_id)
            doc = await invoice_document(session, self._settings, invoice, request.days_overdue)
        system, prompt = invoice_reminder_prompt(doc, request.kind)
        reachable = bool(customer.email or customer.phone)
        return ReminderPrompt(system, prompt, invoice_reminder_fallback(doc, request.kind), reachable)

    @activity.defn
    async def invoice_payment(self, request: PaymentRequest) -> InvoicePayment:
        async with self._sessions() as session:
            invoice = await _invoice(session, InvoiceRef(request.invoice_id, request.company_id))
            company = await session.get(Company, invoice.company_id)
            customer = await session.get(Customer, invoice.customer_id)
            refused = await _auto_charge_refusal(session, invoice, company, customer)
            if refused and request.step and request.workflow_id:
                await record_action(
                    session,
                    ActionRecord(
                        company_id=request.company_id,
                        action="charge_card_on_file",
                        outcome=ActionOutcome.skipped,
                        entity_type="invoice",
                        entity_id=request.invoice_id,
                        workflow_id=request.workflow_id,
                        automation_key=AUTO_CHARGE_KEY,
                        reason=refused,
                        idempotency_key=f"{request.workflow_id}/{request.step}/eligibility",
                    ),
                )
                await session.commit()
            return InvoicePayment(
                status=invoice.status.value,
                number=invoice.number,
                balance_cents=invoice.balance_due_cents,
                currency=invoice.currency,
                timezone=company.timezone,
                pay_url=invoice_url(self._settings, invoice.id, invoice.company_id),
                stripe_customer_id=customer.stripe_customer_id,
                payment_method_id=customer.card_payment_method_id,
                stripe_account=company.stripe_account_id,
                auto_charge_refusal=refused,
            )

    @activity.defn
    async def move_invoice(self, move: MoveInvoice) -> InvoiceSnapshot:
        """Viewed or Overdue, only from the statuses named; any other status is left as it is."""
        target = InvoiceStatus(move.target)
        async with self._sessions() as session, session.begin():
            invoice = await locked_row(session, Invoice, move.invoice_id, move.company_id)
            if invoice.status.value in move.only_from and not await done_before(session, move.step_key):
                try:
                    check_invoice_transition(invoice.status, target)
                except TransitionError as refused:
                    raise refusal(refused, invoice.status) from None
                before = {"status": invoice.status.value}
                invoice.status = target
                if target == InvoiceStatus.viewed and invoice.viewed_at is None:
                    invoice.viewed_at = utcnow()
                session.add(invoice)
                action = _MOVES[target]
                record_change(session, invoice, move, action, action, before, {"status": target.value})
                await publish(
                    session,
                    invoice.company_id,
                    "invoice.status",
                    {"invoice_id": invoice.id, "status": invoice.status, "number": invoice.number},
                )
            return InvoiceSnapshot(invoice.status.value, invoice.amount_paid_cents, invoice.total_cents)

    @activity.defn
    async def notify_office_of_decline(self, alert: DeclineAlert) -> int:
        """An in-app notification for each owner, admin and manager, and a failed action-log row; how
        many people were notified."""
        async with self._sessions() as session, session.begin():
            invoice = await _invoice(session, InvoiceRef(alert.invoice_id, alert.company_id))
            customer = await session.get(Customer, invoice.customer_id)
            office = await team_members(session, invoice.company_id, OFFICE)
            body = (
                f"The card on file for {customer.name} was not charged again. The invoice was sent with a "
                "link to pay online."
            )
            await notify(
                session,
                invoice.company_id,
                (person.id for person in office),
                kind="auto_charge_declined",
                title=f"Auto-charge declined for invoice #{invoice.number}: {alert.reason}",
                body=body,
                entity_type="invoice",
                entity_id=invoice.id,
                step_key=alert.step_key,
            )
            await record_action(
                session,
                ActionRecord(
                    company_id=alert.company_id,
                    action="charge_card_on_file",
                    outcome=ActionOutcome.failed,
                    entity_type="invoice",
                    entity_id=alert.invoice_id,
                    workflow_id=alert.workflow_id,
                    automation_key=AUTO_CHARGE_KEY,
                    reason=alert.reason,
                    idempotency_key=f"{alert.step_key}/declined",
                ),
            )
            return len(office)


def overdue_at(due_on: date, timezone: str) -> datetime:
    """An invoice is payable through its due date: it is overdue from the following midnight, company time."""
    return quote_expires_at(due_on, timezone)  # the same moment: the midnight after a day, in UTC


def company_date(moment: datetime, timezone: str) -> str:
    """The ISO date `moment` falls on at the company. Here, not in workflow code: the workflow sandbox
    hands workflows a restricted ZoneInfo that datetime refuses."""
    return moment.astimezone(ZoneInfo(timezone)).date().isoformat()


def planned_follow_ups(due_on: date, timezone: str) -> list[PlannedFollowUp]:
    # Counted from the due date itself; follow_up_at moves a weekend to Monday, at 9:30 company time.
    due_noon = datetime.combine(due_on, time(12), tzinfo=ZoneInfo(timezone))
    return [
        PlannedFollowUp(tone, days, follow_up_at(due_noon, days, timezone).isoformat(), f"reminder-{days}")
        for tone, days in FOLLOW_UPS
    ]


async def invoice_document(
    session: AsyncSession, settings: Settings, invoice: Invoice, days_overdue: int = 0
) -> InvoiceDocument:
    """The invoice as the PDF, the messages and the customer's page show it."""
    company = await session.get(Company, invoice.company_id)
    customer = await session.get(Customer, invoice.customer_id)
    rows = (
        await session.exec(
            select(InvoiceLineItem)
            .where(InvoiceLineItem.invoice_id == invoice.id)
            .order_by(InvoiceLineItem.position)
        )
    ).all()
    totals = compute_totals(rows, invoice.tax_rate_bps)
    lines = [
        DocumentLine(row.description, row.quantity, row.unit_price_cents, amount)
        for row, amount in zip(rows, totals.line_amounts_cents, strict=True)
    ]
    return InvoiceDocument(
        company_name=company.name,
        brand_colour=company.brand_colour,
        company_phone=company.phone,
        currency=invoice.currency,
        number=invoice.number,
        customer_name=customer.name,
        customer_address=customer.address,
        issued_on=invoice.issued_on,
        due_on=invoice.due_on,
        lines=lines,
        subtotal_cents=invoice.subtotal_cents,
        tax_cents=invoice.tax_cents,
        total_cents=invoice.total_cents,
        amount_paid_cents=invoice.amount_paid_cents,
        notes=invoice.notes,
        link=invoice_url(settings, invoice.id, invoice.company_id),
        status=invoice.status.value,
        days_overdue=days_overdue,
    )


async def _invoice(session: AsyncSession, ref: InvoiceRef) -> Invoice:
    invoice = await session.get(Invoice, uuid.UUID(ref.invoice_id))
    if invoice is None or str(invoice.company_id) != ref.company_id:
        raise ApplicationError("invoice not found", type=NOT_FOUND, non_retryable=True)
    return invoice


def _check_sendable(invoice: Invoice, customer: Customer) -> None:
    if invoice.status in (InvoiceStatus.paid, InvoiceStatus.void):
        raise ApplicationError(
            f"this invoice is {invoice.status.value}; only an unpaid invoice can be sent",
            invoice.status.value,
            type=INVALID_TRANSITION,
            non_retryable=True,
        )
    if not customer.email and not (customer.phone and customer.sms_consent):
        why = "has no phone number" if not customer.phone else "has not agreed to texts"
        raise ApplicationError(
            f"{customer.name} has no email address and {why}: the invoice cannot be sent",
            type=INVALID_REQUEST,
            non_retryable=True,
        )


async def _auto_charge_refusal(
    session: AsyncSession, invoice: Invoice, company: Company, customer: Customer
) -> str | None:
    """Why the customer's saved card is not to be charged for this invoice; None when it may be. The
    automation's own switch is the gate's to check."""
    if not company.card_on_file_enabled:
        return "card on file is switched off in Settings → Invoicing"
    if not (customer.card_payment_method_id and customer.stripe_customer_id):
        return "the customer has no card on file"
    if not customer.auto_charge_consent:
        return "the customer did not agree to automatic charges"
    if invoice.balance_due_cents <= 0:
        return "nothing is due"
    # A declined card is never charged again for the same invoice: the customer pays by the link.
    declined = await session.exec(
        select(ActionLog.reason).where(
            ActionLog.entity_id == invoice.id,
            ActionLog.action == "charge_card_on_file",
            ActionLog.outcome == ActionOutcome.failed,
        )
    )
    earlier = declined.first()
    if earlier is not None:
        return f"the card on file was already declined for this invoice ({earlier})"
    return None
