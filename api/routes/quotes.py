"""Quotes: build them from the catalogue, price them, edit them while they are drafts."""

import uuid
from datetime import timedelta

from fastapi import APIRouter, HTTPException, status

from api.crud import Page, PageDep, create_owned, fetch_page, record_audit, snapshot, update_owned
from api.deps import OfficeStaff, SessionDep
from api.line_items import public_lines, replace_lines
from api.tenancy import get_owned, owned
from models.company import Company
from models.enums import QuoteStatus
from models.quotes import QUOTE_VALID_DAYS, Quote, QuoteCreate, QuotePublic, QuoteSummary, QuoteUpdate
from models.time import company_today

router = APIRouter(prefix="/quotes", tags=["quotes"])


async def _public(session, quote: Quote) -> QuotePublic:
    return QuotePublic.model_validate(quote, update={"line_items": await public_lines(session, quote)})


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
async def create_quote(body: QuoteCreate, principal: OfficeStaff, session: SessionDep):
    """Draft a quote; lines may name a catalogue service and take its description and price."""
    company = await session.get(Company, principal.company_id)
    values = body.model_dump(exclude={"line_items"}) | {"tax_rate_bps": company.tax_rate_bps}
    values["expires_on"] = body.expires_on or company_today(company) + timedelta(days=QUOTE_VALID_DAYS)
    quote = await create_owned(session, principal, Quote, values)
    await replace_lines(session, principal, quote, body.line_items)
    await session.commit()
    return await _public(session, quote)


@router.get("/{quote_id}", response_model=QuotePublic)
async def get_quote(quote_id: uuid.UUID, principal: OfficeStaff, session: SessionDep):
    """One quote with its priced lines."""
    return await _public(session, await get_owned(session, Quote, quote_id, principal))


@router.patch("/{quote_id}", response_model=QuotePublic)
async def update_quote(quote_id: uuid.UUID, body: QuoteUpdate, principal: OfficeStaff, session: SessionDep):
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
    return await _public(session, quote)
