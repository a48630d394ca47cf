"""The customer's quote pages, reached by the private link in the quote email: no login.

One address, `/q/{token}`, shows whatever the customer's next step is: the quote to accept or decline
(with add-ons and Good/Better/Best options), saving a card, picking a time, then the booking itself.
Every decision goes to the quote's workflow as an update; a refusal is shown on the page in plain words.
"""

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import groupby
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel
from sqlmodel import select

from activities.documents import format_money
from api.deps import SessionDep, SettingsDep, TemporalDep
from api.flows import update_with_start
from api.line_items import priced_lines
from api.rendering import templates
from models.base import utcnow
from models.company import Company, User
from models.customers import Customer
from models.enums import OptionGroup, QuoteStatus
from models.jobs import Job
from models.line_items import QuoteLineItem
from models.links import read_quote_token
from models.money import compute_totals, is_counted
from models.quotes import Quote
from models.requirements import requirements_of
from models.slots import CALENDAR_DAYS, calendar_window, free_slots, load_availability
from models.time import company_today
from workflows.quote import (
    AcceptQuote,
    CardReturn,
    CardSetup,
    DeclineQuote,
    PickTime,
    QuoteInput,
    QuoteWorkflow,
    SkipCard,
)

router = APIRouter(prefix="/q", include_in_schema=False)


class PortalRefusal(Exception):
    """A page that says why the customer cannot go on (bad link, expired quote)."""

    def __init__(self, status: int, title: str, message: str):
        self.status, self.title, self.message = status, title, message


@dataclass
class Choice:
    """What the customer chose and typed: kept when their answer is refused, so nothing is lost."""

    tier: OptionGroup | None = None
    addon_ids: set[str] = field(default_factory=set)
    signed_name: str = ""


@dataclass
class Opened:
    token: str
    quote: Quote
    company: Company
    customer: Customer


async def _open(session, settings, token: str) -> Opened:
    found = read_quote_token(settings, token)
    quote = await session.get(Quote, found[0]) if found else None
    # A forged token, or one whose company is not the quote's, opens nothing, and says no more.
    if quote is None or quote.company_id != found[1] or quote.status == QuoteStatus.draft:
        raise PortalRefusal(
            404, "Link not valid", "This quote link is not valid. Please check the link you received."
        )
    company = await session.get(Company, quote.company_id)
    customer = await session.get(Customer, quote.customer_id)
    return Opened(token, quote, company, customer)


def _page(request: Request, name: str, opened: Opened | None, status: int = 200, **context) -> HTMLResponse:
    base = {"company": opened.company, "quote": opened.quote, "token": opened.token} if opened else {}
    return templates.TemplateResponse(request, f"portal/{name}.html", base | context, status_code=status)


async def refusal_handler(request: Request, refusal: PortalRefusal) -> HTMLResponse:
    """Any page whose link turns out not to open (forged, a draft): the refusal page, never a 500."""
    return _refusal_page(request, refusal)


def _refusal_page(request: Request, refusal: PortalRefusal, opened: Opened | None = None) -> HTMLResponse:
    return _page(request, "message", opened, refusal.status, title=refusal.title, message=refusal.message)


async def _update(client, quote_id: uuid.UUID, company_id: uuid.UUID, update, argument):
    return await update_with_start(
        client,
        "quote",
        quote_id,
        company_id,
        QuoteWorkflow.run,
        QuoteInput(str(quote_id), str(company_id)),
        update,
        argument,
    )


def _expired(opened: Opened) -> bool:
    quote = opened.quote
    return quote.status == QuoteStatus.expired or (
        quote.status == QuoteStatus.sent and quote.expires_on < company_today(opened.company)
    )


@router.get("/{token}", response_class=HTMLResponse)
async def quote_page(
    token: str, request: Request, session: SessionDep, settings: SettingsDep, error: str = ""
):
    """The customer's next step on this quote."""
    try:
        opened = await _open(session, settings, token)
    except PortalRefusal as refusal:
        return _refusal_page(request, refusal)
    quote = opened.quote
    if quote.viewed_at is None:
        quote.viewed_at = utcnow()  # opening the link marks it viewed (not a status: follow-ups go on)
        session.add(quote)
        await session.commit()
    return await _current_page(request, session, opened, error)


async def _current_page(
    request, session, opened: Opened, error: str = "", status: int = 200, choice: Choice | None = None
) -> HTMLResponse:
    """Where the quote stands decides the page; `error` (with its `status`) says why an action was refused."""
    quote = opened.quote
    if _expired(opened):
        message = (
            f"This quote expired on {quote.expires_on:%B %-d, %Y}. "
            f"Contact {opened.company.name} for a new one."
        )
        return _page(request, "message", opened, 410, title="Quote expired", message=message)
    if quote.status == QuoteStatus.declined:
        message = "You declined this quote. Thank you for letting us know."
        return _page(request, "message", opened, title="Quote declined", message=message)
    if quote.status == QuoteStatus.sent:
        return await _quote_view(request, session, opened, error, status, choice)
    job = (await session.exec(select(Job).where(Job.quote_id == quote.id))).first()
    if job is not None:
        technician = await session.get(User, job.assigned_user_id) if job.assigned_user_id else None
        return _page(request, "booked", opened, job=job, technician=technician)
    card_step = opened.company.card_on_file_enabled and not opened.customer.card_payment_method_id
    if card_step and quote.card_step_done_at is None:
        return _page(request, "card", opened, status, customer=opened.customer, error=error)
    return await _schedule_view(request, session, opened, error, status)


async def _quote_view(
    request, session, opened: Opened, error: str, status: int = 200, choice: Choice | None = None
) -> HTMLResponse:
    quote = opened.quote
    rows = await _lines(session, quote)
    if choice is not None:
        session.expunge_all()  # the choice is shown, not saved
        _apply_choice(rows, choice.addon_ids)
    chosen_tier = choice.tier if choice else None
    lines, totals = priced_lines(rows, quote.tax_rate_bps, chosen_tier)
    tiers = [group for group in OptionGroup if any(line.option_group == group for line in lines)]
    customer = opened.customer
    card_first = (
        opened.company.card_on_file_enabled
        and opened.company.require_card_for_acceptance
        and not customer.card_payment_method_id
    )
    return _page(
        request,
        "quote",
        opened,
        status,
        lines=lines,
        required_lines=[line for line in lines if not line.optional],
        addons=[line for line in lines if line.optional and line.option_group is None],
        tiers=[(tier, [line for line in lines if line.option_group == tier]) for tier in tiers],
        totals=totals if not tiers or chosen_tier else None,
        choice=choice or Choice(),
        customer=customer,
        card_first=card_first,
        error=error,
    )


async def _schedule_view(request, session, opened: Opened, error: str, status: int = 200) -> HTMLResponse:
    quote, company = opened.quote, opened.company
    counted = [line for line in await _lines(session, quote) if is_counted(line, quote.chosen_option_group)]
    needs = await requirements_of(session, counted)
    now = utcnow()
    start, end = calendar_window(company.timezone, now, CALENDAR_DAYS)
    availability = await load_availability(
        session, company, start - timedelta(days=1), end + timedelta(days=1)
    )
    slots = free_slots(availability, required_skills=needs.skills, duration=needs.duration, now=now)
    zone = ZoneInfo(company.timezone)
    days = [
        (day, list(day_slots))
        for day, day_slots in groupby(slots, key=lambda slot: slot.start.astimezone(zone).date())
    ]
    return _page(
        request,
        "schedule",
        opened,
        status,
        days=days,
        duration=needs.duration,
        customer=opened.customer,
        error=error,
    )


def _apply_choice(rows: list[QuoteLineItem], addon_ids: set[str]) -> None:
    """Select the plain add-ons the customer ticked (on rows no longer tracked by the session)."""
    for row in rows:
        if row.optional and row.option_group is None:
            row.selected = str(row.id) in addon_ids


async def _lines(session, quote: Quote) -> list[QuoteLineItem]:
    rows = await session.exec(
        select(QuoteLineItem).where(QuoteLineItem.quote_id == quote.id).order_by(QuoteLineItem.position)
    )
    return list(rows.all())


class PriceRequest(BaseModel):
    chosen_option_group: OptionGroup | None = None
    selected_line_ids: list[uuid.UUID] = []


@router.post("/{token}/price")
async def price(token: str, body: PriceRequest, session: SessionDep, settings: SettingsDep) -> dict:
    """The totals for a choice of add-ons, priced by the same function the server accepts with."""
    try:
        opened = await _open(session, settings, token)
    except PortalRefusal as refusal:
        raise HTTPException(refusal.status, refusal.message) from None
    rows = await _lines(session, opened.quote)
    session.expunge_all()  # the choice below is a preview: nothing of it is saved
    _apply_choice(rows, {str(i) for i in body.selected_line_ids})
    totals = compute_totals(rows, opened.quote.tax_rate_bps, body.chosen_option_group)
    currency = opened.company.currency
    return {
        "subtotal_cents": totals.subtotal_cents,
        "tax_cents": totals.tax_cents,
        "total_cents": totals.total_cents,
        "subtotal": format_money(totals.subtotal_cents, currency),
        "tax": format_money(totals.tax_cents, currency),
        "total": format_money(totals.total_cents, currency),
    }


async def _decide(request, session, settings, client, token: str, update, argument, choice=None):
    """Send one customer decision to the workflow; back to the quote's page, or the refusal shown there."""
    try:
        opened = await _open(session, settings, token)
    except PortalRefusal as refusal:
        return _refusal_page(request, refusal)
    quote_id, company_id = opened.quote.id, opened.quote.company_id
    await session.rollback()  # the workflow's activities lock the quote: hold nothing meanwhile
    try:
        result = await _update(client, quote_id, company_id, update, argument)
    except HTTPException as refused:
        session.expunge_all()  # read the quote afresh: the workflow may have moved it on
        opened = await _open(session, settings, token)
        return await _current_page(request, session, opened, refused.detail, refused.status_code, choice)
    return result


@router.post("/{token}/accept", response_class=HTMLResponse)
async def accept(
    token: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
    signed_name: Annotated[str, Form()] = "",
    tier: Annotated[str, Form()] = "",
    addon: Annotated[list[str] | None, Form()] = None,
):
    answer = AcceptQuote(
        signed_name=signed_name, chosen_option_group=tier or None, selected_line_ids=addon or []
    )
    try:
        tier_chosen = OptionGroup(tier) if tier else None
    except ValueError:
        tier_chosen = None
    kept = Choice(tier_chosen, set(addon or []), signed_name)
    result = await _decide(request, session, settings, client, token, QuoteWorkflow.accept, answer, kept)
    return result if isinstance(result, HTMLResponse) else RedirectResponse(f"/q/{token}", 303)


@router.post("/{token}/decline", response_class=HTMLResponse)
async def decline(
    token: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
    reason: Annotated[str, Form()] = "",
):
    answer = DeclineQuote(reason=reason or None)
    result = await _decide(request, session, settings, client, token, QuoteWorkflow.decline, answer)
    return result if isinstance(result, HTMLResponse) else RedirectResponse(f"/q/{token}", 303)


@router.post("/{token}/card", response_class=HTMLResponse)
async def save_card(
    token: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
    auto_charge: Annotated[bool, Form()] = False,
):
    """Off to Stripe's page to save a card; it sends the customer back to /card/done."""
    here = f"{settings.public_url.rstrip('/')}/q/{token}"
    setup = CardSetup(
        auto_charge=auto_charge,
        success_url=f"{here}/card/done?session_id={{CHECKOUT_SESSION_ID}}",
        cancel_url=here,
    )
    result = await _decide(request, session, settings, client, token, QuoteWorkflow.start_card_setup, setup)
    return result if isinstance(result, HTMLResponse) else RedirectResponse(result, 303)


@router.get("/{token}/card/done", response_class=HTMLResponse)
async def card_done(
    token: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
    session_id: str = "",
):
    """Back from Stripe: record the card that was saved."""
    try:
        opened = await _open(session, settings, token)
    except PortalRefusal as refusal:
        return _refusal_page(request, refusal)
    if opened.quote.card_step_done_at is not None or not session_id:
        return RedirectResponse(f"/q/{token}", 303)  # a reload of this page: the card is already recorded
    returned = CardReturn(checkout_session_id=session_id)
    result = await _decide(request, session, settings, client, token, QuoteWorkflow.card_saved, returned)
    return result if isinstance(result, HTMLResponse) else RedirectResponse(f"/q/{token}", 303)


@router.post("/{token}/card/skip", response_class=HTMLResponse)
async def skip_card(
    token: str, request: Request, session: SessionDep, settings: SettingsDep, client: TemporalDep
):
    result = await _decide(request, session, settings, client, token, QuoteWorkflow.skip_card, SkipCard())
    return result if isinstance(result, HTMLResponse) else RedirectResponse(f"/q/{token}", 303)


@router.post("/{token}/time", response_class=HTMLResponse)
async def pick_time(
    token: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
    start: Annotated[str, Form()] = "",
):
    """Book the start the customer picked; if someone else just took it, the fresh calendar and why."""
    if not start:
        opened = await _open(session, settings, token)
        return await _current_page(request, session, opened, "Please pick a time.", 422)
    result = await _decide(
        request, session, settings, client, token, QuoteWorkflow.pick_time, PickTime(start)
    )
    return result if isinstance(result, HTMLResponse) else RedirectResponse(f"/q/{token}", 303)
