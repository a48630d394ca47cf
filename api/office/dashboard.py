"""The dashboard: money in and owed, today's jobs, open quotes, and what the automations did this week."""

from dataclasses import dataclass
from datetime import date, timedelta

from fastapi import APIRouter, Request
from sqlalchemy import func
from sqlmodel import select

from api.crud import PageParams
from api.deps import SessionDep
from api.office.nav import OFFICE
from api.office.pages import PageUser, allow, names_by_id, render
from api.principal import Principal
from api.routes.logs import list_actions
from api.routes.quotes import list_quotes
from api.tenancy import owned
from models.automations import BY_KEY
from models.company import Company
from models.customers import Customer
from models.enums import ActionOutcome, InvoiceStatus, JobStatus, QuoteStatus
from models.invoices import Invoice, Payment
from models.jobs import Job
from models.logs import ActionLog
from models.notifications import Notification
from models.quotes import Quote
from models.time import company_today, day_start

router = APIRouter(include_in_schema=False)

FEED_ROWS = 15
OPEN_QUOTES_SHOWN = 5
UNPAID = (InvoiceStatus.sent, InvoiceStatus.viewed, InvoiceStatus.overdue)
DONE = (ActionOutcome.sent, ActionOutcome.done)
ACRONYMS = {"sms": "SMS", "ai": "AI", "omw": "OMW"}


@dataclass
class Revenue:
    week: int
    month: int
    year: int


@dataclass
class Receivables:
    outstanding: int
    overdue: int
    overdue_count: int


@dataclass
class Impact:
    emails: int
    texts: int
    quotes: int
    skipped: int
    waiting: list[Notification]
    waiting_count: int


def week_start(today: date) -> date:
    return today - timedelta(days=today.weekday())  # Monday


async def revenue(session, principal: Principal, today: date) -> Revenue:
    """Payments received this week, month and year, by the company's calendar."""
    starts = (week_start(today), today.replace(day=1), today.replace(month=1, day=1))
    sums = [
        func.coalesce(func.sum(Payment.amount_cents).filter(Payment.received_on >= day), 0) for day in starts
    ]
    found = await session.exec(
        select(*sums).where(
            owned(Payment, principal).whereclause,
            Payment.received_on >= min(starts),
            Payment.received_on <= today,
        )
    )
    return Revenue(*found.one())


async def receivables(session, principal: Principal, today: date) -> Receivables:
    balance = Invoice.total_cents - Invoice.amount_paid_cents
    late = Invoice.due_on < today
    found = await session.exec(
        select(
            func.coalesce(func.sum(balance), 0),
            func.coalesce(func.sum(balance).filter(late), 0),
            func.count().filter(late),
        ).where(owned(Invoice, principal).whereclause, Invoice.status.in_(UNPAID))
    )
    return Receivables(*found.one())


async def todays_jobs(session, principal: Principal, company: Company, today: date) -> list:
    found = await session.exec(
        select(Job, Customer.name)
        .join(Customer, Customer.id == Job.customer_id)
        .where(
            owned(Job, principal).whereclause,
            Job.scheduled_start >= day_start(today, company.timezone),
            Job.scheduled_start < day_start(today + timedelta(days=1), company.timezone),
            Job.status != JobStatus.cancelled,
        )
        .order_by(Job.scheduled_start, Job.id)
    )
    return found.all()


async def impact(session, principal: Principal, company: Company, today: date) -> Impact:
    """What was done on the company's behalf since Monday, and what waits for this person."""
    this_week = (
        owned(ActionLog, principal).whereclause,
        ActionLog.created_at >= day_start(week_start(today), company.timezone),
    )
    sent = ActionLog.outcome.in_(DONE)
    counts = await session.exec(
        select(
            func.count().filter(sent, ActionLog.action == "send_email"),
            func.count().filter(sent, ActionLog.action == "send_sms"),
            func.count(ActionLog.entity_id.distinct()).filter(sent, ActionLog.entity_type == "quote"),
            func.count().filter(ActionLog.outcome == ActionOutcome.skipped),
        ).where(*this_week)
    )
    emails, texts, quotes, skipped = counts.one()
    unread = owned(Notification, principal).where(
        Notification.user_id == principal.user_id, Notification.read_at.is_(None)
    )
    waiting = await session.exec(unread.order_by(Notification.created_at.desc()).limit(3))
    waiting_count = await session.exec(select(func.count()).select_from(unread.subquery()))
    return Impact(emails, texts, quotes, skipped, waiting.all(), waiting_count.one())


@router.get("/dashboard")
async def dashboard(request: Request, principal: PageUser, session: SessionDep):
    allow(principal, *OFFICE)
    company = await session.get(Company, principal.company_id)
    today = company_today(company)
    open_quotes = await list_quotes(
        principal, session, PageParams(limit=OPEN_QUOTES_SHOWN), status=QuoteStatus.sent
    )
    open_total = await session.exec(
        select(func.coalesce(func.sum(Quote.total_cents), 0)).where(
            owned(Quote, principal).whereclause, Quote.status == QuoteStatus.sent
        )
    )
    return await render(
        request,
        session,
        principal,
        "office/dashboard.html",
        today=today,
        revenue=await revenue(session, principal, today),
        receivables=await receivables(session, principal, today),
        jobs=await todays_jobs(session, principal, company, today),
        open_quotes=open_quotes,
        open_quotes_total=open_total.one(),
        quote_names=await names_by_id(
            session, principal, Customer, (q.customer_id for q in open_quotes.data)
        ),
        impact=await impact(session, principal, company, today),
        **await feed_context(session, principal),
    )


def action_label(action: str) -> str:
    """`send_omw_sms` → "Send OMW SMS": the action log's names, readable."""
    text = " ".join(ACRONYMS.get(word, word) for word in action.split("_"))
    return text[:1].upper() + text[1:]


async def feed_context(session, principal: Principal) -> dict:
    actions = await list_actions(principal, session, PageParams(limit=FEED_ROWS))
    return {"actions": actions.data, "automations": BY_KEY, "action_label": action_label}


@router.get("/dashboard/feed")
async def dashboard_feed(request: Request, principal: PageUser, session: SessionDep):
    """The agent action feed alone: the dashboard polls it to stay live."""
    allow(principal, *OFFICE)
    return await render(
        request, session, principal, "office/action_feed.html", **await feed_context(session, principal)
    )
