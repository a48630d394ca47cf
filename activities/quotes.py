"""Database work for the quote workflow: its state, the messages it sends, and each customer decision
(accept, decline, card, expiry) written with its audit and action-log rows.

Every change checks the quote state machine (models/states.py) under a row lock and is keyed by its
workflow step, so a retried activity changes nothing twice.
"""

import base64
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.documents import DocumentLine, QuoteDocument, quote_email, quote_pdf, quote_sms
from activities.records import done_before, locked_row, record_change, refusal
from models.base import utcnow
from models.company import Company
from models.customers import Customer
from models.enums import OptionGroup, QuoteStatus
from models.jobs import Job
from models.line_items import QuoteLineItem
from models.links import quote_url
from models.money import compute_totals
from models.quotes import QUOTE_VALID_DAYS, Quote
from models.states import TransitionError, check_quote_transition
from models.time import company_today
from settings import Settings

INVALID_REQUEST = "InvalidRequest"  # the customer's input cannot be used as it is (answered as 422)


@dataclass
class QuoteRef:
    quote_id: str
    company_id: str


@dataclass
class QuoteState:
    """What the workflow needs to know about its quote, read from the database."""

    status: str
    timezone: str
    expires_on: str  # ISO date, the last day the quote can be accepted
    sent_at: str | None  # ISO datetime
    card_enabled: bool  # the company offers saving a card
    card_required: bool  # … and wants one before acceptance
    card_saved: bool  # the customer has a card on file
    card_step_done: bool  # saved or skipped for this quote
    job_id: str | None


@dataclass
class QuoteChange:
    quote_id: str
    company_id: str
    actor: str  # "user:<email>", "customer", "system"
    workflow_id: str
    step_key: str  # unique per workflow step, so a retry changes nothing twice
    actor_user_id: str | None = None
    reason: str | None = None  # why a customer declined


@dataclass
class AcceptRequest:
    quote_id: str
    company_id: str
    signed_name: str
    workflow_id: str
    step_key: str
    chosen_option_group: str | None = None
    selected_line_ids: list[str] = field(default_factory=list)  # plain add-ons the customer kept


@dataclass
class QuoteMessagesRequest:
    quote_id: str
    company_id: str
    kind: str  # sent | reminder | nudge


@dataclass
class QuoteMessages:
    customer_id: str
    email_to: str | None
    subject: str
    html: str
    text: str
    sms_to: str | None
    sms_body: str
    pdf_filename: str
    pdf_base64: str | None = None  # attached to the quote itself, not to reminders


@dataclass
class CardCustomer:
    """Who saves a card: enough to find or create their Stripe customer."""

    customer_id: str
    name: str
    email: str | None
    phone: str | None
    stripe_customer_id: str | None
    stripe_account: str | None
    currency: str


@dataclass
class SaveCard:
    quote_id: str
    company_id: str
    stripe_customer_id: str
    payment_method_id: str
    brand: str
    last4: str
    auto_charge: bool
    workflow_id: str
    step_key: str


class QuoteActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings):
        self._sessions = sessions
        self._settings = settings

    @activity.defn
    async def quote_state(self, ref: QuoteRef) -> QuoteState:
        async with self._sessions() as session:
            quote = await _quote(session, ref.quote_id, ref.company_id)
            return await _state(session, quote)

    @activity.defn
    async def quote_messages(self, request: QuoteMessagesRequest) -> QuoteMessages:
        """The email (with the PDF for the quote itself) and text that carry the customer's link."""
        async with self._sessions() as session:
            quote = await _quote(session, request.quote_id, request.company_id)
            company = await session.get(Company, quote.company_id)
            customer = await session.get(Customer, quote.customer_id)
            if not customer.email and not customer.phone:
                raise ApplicationError(
                    f"{customer.name} has no email address or phone number to send the quote to",
                    type=INVALID_REQUEST,
                    non_retryable=True,
                )
            doc = await self._document(session, quote, company, customer)
        subject, html, text = quote_email(doc, request.kind)
        pdf = quote_pdf(doc) if request.kind == "sent" else None
        return QuoteMessages(
            customer_id=str(customer.id),
            email_to=customer.email,
            subject=subject,
            html=html,
            text=text,
            sms_to=customer.phone,
            sms_body=quote_sms(doc, request.kind),
            pdf_filename=f"{doc.quote_number_label.replace(' ', '-')}.pdf",
            pdf_base64=base64.b64encode(pdf).decode() if pdf else None,
        )

    async def _document(self, session, quote: Quote, company: Company, customer: Customer) -> QuoteDocument:
        rows = await _lines(session, quote.id)
        # The default selection: required lines, add-ons left selected, and no tier chosen yet.
        totals = compute_totals(rows, quote.tax_rate_bps, quote.chosen_option_group)
        lines = [
            DocumentLine(
                description=row.description,
                quantity=row.quantity,
                unit_price_cents=row.unit_price_cents,
                amount_cents=amount,
                optional=row.optional,
                option_group=row.option_group.value if row.option_group else None,
                counted=counted,
            )
            for row, amount, counted in zip(rows, totals.line_amounts_cents, totals.counted, strict=True)
        ]
        return QuoteDocument(
            company_name=company.name,
            brand_colour=company.brand_colour,
            company_phone=company.phone,
            currency=company.currency,
            quote_number_label=quote_label(quote.id),
            title=quote.title,
            customer_name=customer.name,
            customer_address=customer.address,
            created_on=quote.created_at.date(),
            expires_on=quote.expires_on,
            lines=lines,
            subtotal_cents=totals.subtotal_cents,
            tax_cents=totals.tax_cents,
            total_cents=totals.total_cents,
            notes=quote.notes,
            link=quote_url(self._settings, quote.id, quote.company_id),
        )

    @activity.defn
    async def mark_quote_sent(self, change: QuoteChange) -> QuoteState:
        """Sent (again): an expired quote sent again gets a fresh validity period."""
        async with self._sessions() as session, session.begin():
            quote = await locked_row(session, Quote, change.quote_id, change.company_id)
            if not await done_before(session, change.step_key):
                before = _snapshot(quote)
                _check(quote, QuoteStatus.sent)
                company = await session.get(Company, quote.company_id)
                today = company_today(company)
                if quote.expires_on < today:
                    quote.expires_on = today + timedelta(days=QUOTE_VALID_DAYS)
                quote.status, quote.sent_at = QuoteStatus.sent, utcnow()
                session.add(quote)
                record_change(session, quote, change, "send", "send_quote", before, _snapshot(quote))
            return await _state(session, quote)

    @activity.defn
    async def accept_quote(self, request: AcceptRequest) -> QuoteState:
        """Accepted and signed: the customer's add-on choice is frozen into the quote and its totals."""
        async with self._sessions() as session, session.begin():
            quote = await locked_row(session, Quote, request.quote_id, request.company_id)
            if not await done_before(session, request.step_key):
                company = await session.get(Company, quote.company_id)
                if quote.status == QuoteStatus.sent and quote.expires_on < company_today(company):
                    raise refusal(
                        TransitionError(f"this quote expired on {quote.expires_on:%B %-d, %Y}"), quote.status
                    )
                before = _snapshot(quote)
                _check(quote, QuoteStatus.accepted)
                rows = await _lines(session, quote.id)
                quote.chosen_option_group = _freeze_choice(rows, request)
                for row in rows:
                    session.add(row)
                totals = compute_totals(rows, quote.tax_rate_bps, quote.chosen_option_group)
                quote.subtotal_cents, quote.tax_cents = totals.subtotal_cents, totals.tax_cents
                quote.total_cents = totals.total_cents
                quote.signed_name = request.signed_name.strip()
                quote.status, quote.accepted_at = QuoteStatus.accepted, utcnow()
                session.add(quote)
                change = QuoteChange(
                    request.quote_id, request.company_id, "customer", request.workflow_id, request.step_key
                )
                record_change(session, quote, change, "accept", "accept_quote", before, _snapshot(quote))
            return await _state(session, quote)

    @activity.defn
    async def decline_quote(self, change: QuoteChange) -> QuoteState:
        return await self._move(change, QuoteStatus.declined, "decline", "decline_quote")

    @activity.defn
    async def expire_quote(self, change: QuoteChange) -> QuoteState:
        return await self._move(change, QuoteStatus.expired, "expire", "expire_quote")

    async def _move(self, change: QuoteChange, target: QuoteStatus, audit: str, action: str) -> QuoteState:
        async with self._sessions() as session, session.begin():
            quote = await locked_row(session, Quote, change.quote_id, change.company_id)
            if not await done_before(session, change.step_key):
                before = _snapshot(quote)
                _check(quote, target)
                quote.status = target
                if target == QuoteStatus.declined:
                    quote.declined_at, quote.decline_reason = utcnow(), (change.reason or "").strip() or None
                session.add(quote)
                record_change(session, quote, change, audit, action, before, _snapshot(quote))
            return await _state(session, quote)

    @activity.defn
    async def card_customer(self, ref: QuoteRef) -> CardCustomer:
        async with self._sessions() as session:
            quote = await _quote(session, ref.quote_id, ref.company_id)
            customer = await session.get(Customer, quote.customer_id)
            company = await session.get(Company, quote.company_id)
            return CardCustomer(
                customer_id=str(customer.id),
                name=customer.name,
                email=customer.email,
                phone=customer.phone,
                stripe_customer_id=customer.stripe_customer_id,
                stripe_account=company.stripe_account_id,
                currency=company.currency,
            )

    @activity.defn
    async def store_stripe_customer(self, data: CardCustomer) -> None:
        """Remember the customer's Stripe id, so later cards and charges use the same Stripe customer."""
        async with self._sessions() as session, session.begin():
            customer = await session.get(Customer, uuid.UUID(data.customer_id), with_for_update=True)
            if customer.stripe_customer_id is None:
                customer.stripe_customer_id = data.stripe_customer_id
                session.add(customer)

    @activity.defn
    async def save_card(self, data: SaveCard) -> QuoteState:
        """The card the customer saved (brand and last 4 only) and their auto-charge choice."""
        async with self._sessions() as session, session.begin():
            quote = await locked_row(session, Quote, data.quote_id, data.company_id)
            customer = await session.get(Customer, quote.customer_id, with_for_update=True)
            if not await done_before(session, data.step_key):
                before = {"card_brand": customer.card_brand, "card_last4": customer.card_last4}
                customer.stripe_customer_id = data.stripe_customer_id
                customer.card_payment_method_id = data.payment_method_id
                customer.card_brand, customer.card_last4 = data.brand, data.last4
                customer.auto_charge_consent = data.auto_charge
                quote.card_step_done_at = utcnow()
                session.add_all([customer, quote])
                after = {
                    "card_brand": data.brand,
                    "card_last4": data.last4,
                    "auto_charge_consent": data.auto_charge,
                }
                change = QuoteChange(
                    data.quote_id, data.company_id, "customer", data.workflow_id, data.step_key
                )
                record_change(session, customer, change, "save_card", "save_card_on_file", before, after)
            return await _state(session, quote)

    @activity.defn
    async def skip_card(self, change: QuoteChange) -> QuoteState:
        async with self._sessions() as session, session.begin():
            quote = await locked_row(session, Quote, change.quote_id, change.company_id)
            if quote.card_step_done_at is None:
                quote.card_step_done_at = utcnow()
                session.add(quote)
            return await _state(session, quote)


def quote_label(quote_id) -> str:
    """How people refer to a quote: short and stable ("Quote Q-1A2B3C4D")."""
    return f"Quote Q-{str(quote_id)[:8].upper()}"


async def _quote(session: AsyncSession, quote_id: str, company_id: str) -> Quote:
    quote = await session.get(Quote, uuid.UUID(quote_id))
    if quote is None or str(quote.company_id) != company_id:
        raise ApplicationError("quote not found", type="NotFound", non_retryable=True)
    return quote


async def _lines(session: AsyncSession, quote_id) -> list[QuoteLineItem]:
    rows = await session.exec(
        select(QuoteLineItem).where(QuoteLineItem.quote_id == quote_id).order_by(QuoteLineItem.position)
    )
    return list(rows.all())


async def _state(session: AsyncSession, quote: Quote) -> QuoteState:
    company = await session.get(Company, quote.company_id)
    customer = await session.get(Customer, quote.customer_id)
    job_id = (await session.exec(select(Job.id).where(Job.quote_id == quote.id))).first()
    return QuoteState(
        status=quote.status.value,
        timezone=company.timezone,
        expires_on=quote.expires_on.isoformat(),
        sent_at=quote.sent_at.isoformat() if quote.sent_at else None,
        card_enabled=company.card_on_file_enabled,
        card_required=company.card_on_file_enabled and company.require_card_for_acceptance,
        card_saved=customer.card_payment_method_id is not None,
        card_step_done=quote.card_step_done_at is not None,
        job_id=str(job_id) if job_id else None,
    )


def _check(quote: Quote, target: QuoteStatus) -> None:
    try:
        check_quote_transition(quote.status, target)
    except TransitionError as refused:
        raise refusal(refused, quote.status) from None


def _freeze_choice(rows: list[QuoteLineItem], request: AcceptRequest) -> OptionGroup | None:
    """Apply the customer's tier and add-on choice to the lines; the tier chosen, if the quote has tiers."""
    tiers = {row.option_group for row in rows if row.option_group is not None}
    chosen = None
    if tiers:
        try:
            chosen = OptionGroup(request.chosen_option_group or "")
        except ValueError:
            chosen = None
        if chosen not in tiers:
            offered = ", ".join(t.value for t in OptionGroup if t in tiers)
            raise ApplicationError(
                f"choose one of the options: {offered}", type=INVALID_REQUEST, non_retryable=True
            )
    addons = {str(row.id) for row in rows if row.optional and row.option_group is None}
    unknown = set(request.selected_line_ids) - addons
    if unknown:
        raise ApplicationError(
            "an add-on that is not on this quote was chosen", type=INVALID_REQUEST, non_retryable=True
        )
    for row in rows:
        if row.optional and row.option_group is None:
            row.selected = str(row.id) in request.selected_line_ids
        elif row.option_group is not None:
            row.selected = row.option_group == chosen
    return chosen


def _snapshot(quote: Quote) -> dict:
    return {"status": quote.status.value, "total_cents": quote.total_cents}
