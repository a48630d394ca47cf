"""Quotes: build them from the catalogue, price them, edit them while they are drafts, send them (the
quote workflow takes it from there) and turn an accepted one into an invoice."""

import asyncio
import uuid
from datetime import timedelta

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field
from sqlmodel import select
from temporalio.service import RPCError, RPCStatusCode

from api.crud import Page, PageDep, create_owned, fetch_page, record_audit, snapshot, update_owned
from api.deps import OfficeStaff, SessionDep, SettingsDep, TemporalDep
from api.flows import update_with_start
from api.line_items import build_lines, public_lines, replace_lines
from api.routes.invoices import draft_invoice
from api.routes.invoices import public_invoice as invoice_public
from api.tenancy import check_references, get_owned, owned
from api.workflow_links import workflow_id, workflow_url
from models.company import Company
from models.enums import InvoiceStatus, OptionGroup, QuoteStatus
from models.invoices import Invoice, InvoiceCreate, InvoicePublic
from models.jobs import Job
from models.line_items import LineItemIn, QuoteLineItem
from models.links import quote_url
from models.money import compute_totals, is_counted
from models.quotes import QUOTE_VALID_DAYS, Quote, QuoteCreate, QuotePublic, QuoteSummary, QuoteUpdate
from models.time import company_today
from workflows.quote import DESCRIPTIONS, QuoteInput, QuoteStage, QuoteWorkflow, SendQuote

router = APIRouter(prefix="/quotes", tags=["quotes"])
QUERY_WAIT_SECONDS = 5


async def _public(session, settings, quote: Quote) -> QuotePublic:
    wf_id = workflow_id("quote", quote.id)
    job_id = (await session.exec(select(Job.id).where(Job.quote_id == quote.id))).first()
    update = {
        "line_items": await public_lines(session, quote),
        "portal_url": quote_url(settings, quote.id, quote.company_id) if quote.sent_at else None,
        "job_id": job_id,
        "invoice_id": await _open_invoice_id(session, quote),
        "workflow_id": wf_id,
        "workflow_url": workflow_url(settings, wf_id),
    }
    return QuotePublic.model_validate(quote, update=update)


async def _open_invoice_id(session, quote: Quote) -> uuid.UUID | None:
    found = await session.exec(
        select(Invoice.id).where(Invoice.quote_id == quote.id, Invoice.status != InvoiceStatus.void)
    )
    return found.first()


@router.get("", response_model=Page[QuoteSummary])
async def list_quotes(
    principal: OfficeStaff,
    session: SessionDep,
    page: PageDep,
    status: QuoteStatus | None = None,
    customer_id: uuid.UUID | None = None,
):
    """Quotes, newest first, by status or customer (open one quote for its lines)."""
    stmt = owned(Quote, principal)
    if status is not None:
        stmt = stmt.where(Quote.status == status)
    if customer_id is not None:
        stmt = stmt.where(Quote.customer_id == customer_id)
    rows, count = await fetch_page(session, stmt, page, Quote.created_at.desc(), Quote.id)
    return Page(data=rows, count=count)


@router.post("", response_model=QuotePublic, status_code=status.HTTP_201_CREATED)
async def create_quote(body: QuoteCreate, principal: OfficeStaff, session: SessionDep, settings: SettingsDep):
    """Draft a quote; lines may name a catalogue service and take its description and price."""
    company = await session.get(Company, principal.company_id)
    values = body.model_dump(exclude={"line_items"}) | {"tax_rate_bps": company.tax_rate_bps}
    values["expires_on"] = body.expires_on or company_today(company) + timedelta(days=QUOTE_VALID_DAYS)
    quote = await create_owned(session, principal, Quote, values)
    await replace_lines(session, principal, quote, body.line_items)
    await session.commit()
    return await _public(session, settings, quote)


class PriceRequest(BaseModel):
    line_items: list[LineItemIn] = Field(default_factory=list)
    quote_id: uuid.UUID | None = None  # a draft being edited: priced at its own tax rate


class OptionTotals(BaseModel):
    option_group: OptionGroup
    subtotal_cents: int
    tax_cents: int
    total_cents: int


class QuotePrice(BaseModel):
    tax_rate_bps: int
    line_amounts_cents: list[int]
    # Required lines and selected add-ons, no Good/Better/Best option chosen.
    subtotal_cents: int
    tax_cents: int
    total_cents: int
    options: list[OptionTotals]  # the totals with each option group the lines offer chosen


@router.post("/price", response_model=QuotePrice)
async def price_quote(body: PriceRequest, principal: OfficeStaff, session: SessionDep):
    """Price lines without saving them (the quote editor's live totals), by the same rules a saved quote
    is priced with; lines naming a catalogue service take its price. A new quote is priced at the
    company's tax rate, a draft (`quote_id`) at its own."""
    await check_references(session, principal, {"quote_id": body.quote_id})
    if body.quote_id is not None:
        tax_rate_bps = (await session.get(Quote, body.quote_id)).tax_rate_bps
    else:
        tax_rate_bps = (await session.get(Company, principal.company_id)).tax_rate_bps
    rows = await build_lines(session, principal, body.line_items, QuoteLineItem, allow_optional=True)
    totals = compute_totals(rows, tax_rate_bps)
    options = []
    for group in OptionGroup:
        if any(row.option_group == group for row in rows):
            chosen = compute_totals(rows, tax_rate_bps, group)
            options.append(
                OptionTotals(
                    option_group=group,
                    subtotal_cents=chosen.subtotal_cents,
                    tax_cents=chosen.tax_cents,
                    total_cents=chosen.total_cents,
                )
            )
    return QuotePrice(
        tax_rate_bps=tax_rate_bps,
        line_amounts_cents=totals.line_amounts_cents,
        subtotal_cents=totals.subtotal_cents,
        tax_cents=totals.tax_cents,
        total_cents=totals.total_cents,
        options=options,
    )


@router.get("/{quote_id}", response_model=QuotePublic)
async def get_quote(quote_id: uuid.UUID, principal: OfficeStaff, session: SessionDep, settings: SettingsDep):
    """One quote with its priced lines, the customer's link (once sent), its job and invoice."""
    return await _public(session, settings, await get_owned(session, Quote, quote_id, principal))


@router.patch("/{quote_id}", response_model=QuotePublic)
async def update_quote(
    quote_id: uuid.UUID, body: QuoteUpdate, principal: OfficeStaff, session: SessionDep, settings: SettingsDep
):
    """Edit a draft quote; `line_items`, when given, replaces every line."""
    quote = await get_owned(session, Quote, quote_id, principal)
    if quote.status != QuoteStatus.draft:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"only draft quotes can be edited; this one is {quote.status}"
        )
    before = snapshot(quote, {"subtotal_cents", "tax_cents", "total_cents"})
    await update_owned(session, principal, quote, body.model_dump(exclude_unset=True, exclude={"line_items"}))
    if body.line_items is not None:
        await replace_lines(session, principal, quote, body.line_items)
        record_audit(
            session,
            principal,
            quote,
            "replace_lines",
            before,
            snapshot(quote, {"subtotal_cents", "tax_cents", "total_cents"}),
        )
    await session.commit()
    return await _public(session, settings, quote)


@router.post("/{quote_id}/send", response_model=QuotePublic)
async def send_quote(
    quote_id: uuid.UUID,
    principal: OfficeStaff,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
):
    """Email the quote (PDF attached) and text it when the customer consented, each with the customer's
    private link; the quote's workflow then follows up, expires it, and walks the customer from
    acceptance to a booked job. 409 unless the quote is a draft or expired."""
    quote = await get_owned(session, Quote, quote_id, principal)
    company_id = quote.company_id
    request = SendQuote(principal.actor, str(principal.user_id) if principal.user_id else None)
    await session.rollback()  # the workflow's activities lock the row: hold nothing while they run
    await update_with_start(
        client,
        "quote",
        quote_id,
        company_id,
        QuoteWorkflow.run,
        QuoteInput(str(quote_id), str(company_id)),
        QuoteWorkflow.send,
        request,
    )
    return await _public(session, settings, await get_owned(session, Quote, quote_id, principal))


@router.get("/{quote_id}/stage", response_model=QuoteStage)
async def quote_stage(quote_id: uuid.UUID, principal: OfficeStaff, session: SessionDep, client: TemporalDep):
    """Where the customer's journey stands ("waiting for the customer to pick a time"), from its workflow."""
    quote = await get_owned(session, Quote, quote_id, principal)
    handle = client.get_workflow_handle(workflow_id("quote", quote.id))
    try:
        return await asyncio.wait_for(handle.query(QuoteWorkflow.stage), QUERY_WAIT_SECONDS)
    except TimeoutError:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "the quote's workflow did not answer (is the worker running?)",
        ) from None
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
    # Never sent, so no workflow yet.
    return QuoteStage(quote.status.value, DESCRIPTIONS.get(quote.status.value, quote.status.value))


@router.post("/{quote_id}/invoice", response_model=InvoicePublic, status_code=status.HTTP_201_CREATED)
async def invoice_quote(
    quote_id: uuid.UUID, principal: OfficeStaff, session: SessionDep, settings: SettingsDep
):
    """Draft an invoice with every line the customer accepted, linked to the quote (and its job).
    409 unless the quote is accepted, or when it already has an invoice that is not void."""
    quote = await get_owned(session, Quote, quote_id, principal)
    # Lock the quote: two clicks on Invoice make one invoice.
    await session.refresh(quote, with_for_update=True)
    if quote.status != QuoteStatus.accepted:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"only an accepted quote can be invoiced; this one is {quote.status}"
        )
    if existing := await _open_invoice_id(session, quote):
        raise HTTPException(status.HTTP_409_CONFLICT, f"this quote already has invoice {existing}")
    rows = (await session.exec(select(QuoteLineItem).where(QuoteLineItem.quote_id == quote.id))).all()
    lines = [
        LineItemIn(
            service_id=row.service_id,
            description=row.description,
            quantity=row.quantity,
            unit_price_cents=row.unit_price_cents,
            taxable=row.taxable,
        )
        for row in sorted(rows, key=lambda r: r.position)
        if is_counted(row, quote.chosen_option_group)
    ]
    job_id = (await session.exec(select(Job.id).where(Job.quote_id == quote.id))).first()
    body = InvoiceCreate(customer_id=quote.customer_id, quote_id=quote.id, job_id=job_id, line_items=lines)
    invoice = await draft_invoice(session, principal, body, tax_rate_bps=quote.tax_rate_bps)
    await session.commit()
    return await invoice_public(session, settings, invoice)
