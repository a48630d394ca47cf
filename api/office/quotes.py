"""Quotes: the list by status, the editor (new quotes and drafts) and one sent quote's journey."""

import uuid

from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder
from sqlalchemy import func
from sqlmodel import select

from api.crud import PageParams
from api.deps import SessionDep
from api.office.nav import OFFICE
from api.office.pages import PageUser, allow, names_by_id, render
from api.principal import Principal
from api.routes.customers import list_customers
from api.routes.quotes import get_quote, list_quotes
from api.routes.services import list_services
from api.tenancy import get_owned, owned
from models.company import Company
from models.customers import Customer
from models.enums import OptionGroup, QuoteStatus
from models.line_items import LineItemIn
from models.quotes import Quote

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
PICKER_SIZE = 200  # customers and services offered in the editor's drop-downs
# What the editor sends back for each line (the API's LineItemIn)
LINE_FIELDS = set(LineItemIn.model_fields)


async def status_counts(session, principal: Principal) -> dict[QuoteStatus, int]:
    rows = await session.exec(
        select(Quote.status, func.count()).where(owned(Quote, principal).whereclause).group_by(Quote.status)
    )
    return dict(rows.all())


@router.get("/quotes")
async def quotes_page(
    request: Request,
    principal: PageUser,
    session: SessionDep,
    status: QuoteStatus | None = None,
    offset: int = 0,
):
    allow(principal, *OFFICE)
    page = PageParams(limit=PAGE_SIZE, offset=max(offset, 0))
    found = await list_quotes(principal, session, page, status=status)
    counts = await status_counts(session, principal)
    return await render(
        request,
        session,
        principal,
        "office/quotes.html",
        quotes=found.data,
        count=found.count,
        names=await names_by_id(session, principal, Customer, (q.customer_id for q in found.data)),
        status=status,
        statuses=list(QuoteStatus),
        counts=counts,
        total=sum(counts.values()),
        offset=page.offset,
        page_size=PAGE_SIZE,
    )


async def _editor_data(session, principal: Principal, quote=None) -> dict:
    """What the editor script starts from: the catalogue, and the draft's lines when there is one."""
    company = await session.get(Company, principal.company_id)  # the same row `render` reads: no query
    services = await list_services(principal, session, PageParams(limit=PICKER_SIZE))
    lines = [line.model_dump(include=LINE_FIELDS) for line in (quote.line_items if quote else [])]
    return jsonable_encoder(
        {
            "quote_id": quote.id if quote else None,
            "currency": company.currency,
            "lines": lines,
            "catalogue": [
                {"id": s.id, "name": s.name, "price_cents": s.price_cents, "taxable": s.taxable}
                for s in services.data
            ],
        }
    )


@router.get("/quotes/new")
async def new_quote(
    request: Request, principal: PageUser, session: SessionDep, customer: uuid.UUID | None = None
):
    allow(principal, *OFFICE)
    chosen = await get_owned(session, Customer, customer, principal) if customer else None
    customers = (
        [] if chosen else (await list_customers(principal, session, PageParams(limit=PICKER_SIZE))).data
    )
    return await render(
        request,
        session,
        principal,
        "office/quote_form.html",
        quote=None,
        customer=chosen,
        customers=customers,
        groups=list(OptionGroup),
        editor=await _editor_data(session, principal),
    )


@router.get("/quotes/{quote_id}")
async def quote_page(request: Request, principal: PageUser, session: SessionDep, quote_id: uuid.UUID):
    allow(principal, *OFFICE)
    quote = await get_quote(quote_id, principal, session, request.app.state.settings)
    customer = await get_owned(session, Customer, quote.customer_id, principal)
    if quote.status == QuoteStatus.draft:
        return await render(
            request,
            session,
            principal,
            "office/quote_form.html",
            quote=quote,
            customer=customer,
            customers=[],
            groups=list(OptionGroup),
            editor=await _editor_data(session, principal, quote),
        )
    return await render(request, session, principal, "office/quote.html", quote=quote, customer=customer)
