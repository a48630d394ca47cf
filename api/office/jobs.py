"""Jobs pages: the list (status, date and technician filters, sorting; technicians see their own) and one
job's detail with the moves its state machine allows, reschedule, reassign, lines, parts, workflow and
messages. Reads go through the jobs API's own functions, so the pages and the API share one rule set."""

import uuid
from datetime import date, datetime, timedelta

from fastapi import APIRouter, HTTPException, Request
from sqlmodel import col

from api.crud import PageParams
from api.deps import SessionDep
from api.office.nav import EVERYONE, OFFICE
from api.office.pages import PageUser, allow, names_by_id, render
from api.principal import Principal
from api.routes.jobs import FIELD_MOVES, Sort, get_job, job_stage, list_jobs
from api.routes.parts import list_parts
from api.tenancy import get_owned, owned
from api.workflow_links import workflow_id
from models.company import Company, User
from models.customers import Customer
from models.enums import InvoiceStatus, JobStatus, Role
from models.inventory import InventoryItem
from models.invoices import Invoice
from models.logs import MessageLog
from models.states import JOB_TRANSITIONS
from models.time import day_start

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
NEW_JOB_CUSTOMERS = 1000  # the new-job form's customer list; a customer's own page links with it chosen
# The buttons a job's detail offers, in the order a day goes; only those its state machine allows show.
MOVES = {
    JobStatus.on_the_way: "On the way",
    JobStatus.in_progress: "Start work",
    JobStatus.completed: "Mark completed",
    JobStatus.scheduled: "Back to scheduled",
    JobStatus.unscheduled: "Unschedule",
    JobStatus.cancelled: "Cancel job",
}
CONFIRM = {
    JobStatus.cancelled: "Cancel this job? Its reminders stop.",
    JobStatus.unscheduled: "Take this job off the calendar? Its time is cleared.",
}
SORT_LABELS = {
    "scheduled_start": "Soonest first",
    "-scheduled_start": "Latest first",
    "title": "Title",
    "status": "Status",
    "-created_at": "Newest created",
}


async def technicians(session, principal: Principal) -> list[User]:
    """Active technicians by name: the people jobs are assigned to."""
    stmt = owned(User, principal).where(User.role == Role.technician, User.active).order_by(User.name)
    return list((await session.exec(stmt)).all())


async def every_job(session, principal: Principal, **filters) -> list:
    """Every job the caller may see that matches the jobs API's filters, earliest first, however many
    pages that takes."""
    found, offset = [], 0
    while True:
        page = await list_jobs(
            principal, session, PageParams(limit=200, offset=offset), sort="scheduled_start", **filters
        )
        found += page.data
        offset += len(page.data)
        if not page.data or offset >= page.count:
            return found


@router.get("/jobs")
async def jobs_page(
    request: Request,
    principal: PageUser,
    session: SessionDep,
    status: JobStatus | None = None,
    technician: uuid.UUID | None = None,
    on_or_after: date | None = None,
    on_or_before: date | None = None,
    sort: Sort = "scheduled_start",
    offset: int = 0,
):
    """Jobs with filters and sorting; a technician's list holds only the jobs assigned to them."""
    allow(principal, *EVERYONE)
    company = await session.get(Company, principal.company_id)
    tz = company.timezone
    offset = max(offset, 0)
    page = await list_jobs(
        principal,
        session,
        PageParams(limit=PAGE_SIZE, offset=offset),
        status=[status] if status else None,
        assigned_user_id=technician,
        scheduled_from=day_start(on_or_after, tz) if on_or_after else None,
        scheduled_to=day_start(on_or_before + timedelta(days=1), tz) if on_or_before else None,
        sort=sort,
    )
    filters = {
        "status": status.value if status else "",
        "technician": str(technician) if technician else "",
        "on_or_after": on_or_after.isoformat() if on_or_after else "",
        "on_or_before": on_or_before.isoformat() if on_or_before else "",
        "sort": sort,
    }
    return await render(
        request,
        session,
        principal,
        "office/jobs.html",
        jobs=page.data,
        count=page.count,
        offset=offset,
        page_size=PAGE_SIZE,
        filters=filters,
        filtered=any(v for k, v in filters.items() if k != "sort"),
        statuses=list(JobStatus),
        sorts=SORT_LABELS,
        team=await technicians(session, principal) if principal.role in OFFICE else [],
        customers=await names_by_id(session, principal, Customer, (j.customer_id for j in page.data)),
        people=await names_by_id(session, principal, User, (j.assigned_user_id for j in page.data)),
        is_office=principal.role in OFFICE,
    )


@router.get("/jobs/new")
async def new_job_page(
    request: Request, principal: PageUser, session: SessionDep, customer: uuid.UUID | None = None
):
    """A form for a new job: customer, title, notes, time on the company's clock and technician."""
    allow(principal, *OFFICE)
    stmt = owned(Customer, principal).where(Customer.active).order_by(Customer.name).limit(NEW_JOB_CUSTOMERS)
    customers = list((await session.exec(stmt)).all())
    if customer is not None and customer not in {c.id for c in customers}:
        customers.insert(0, await get_owned(session, Customer, customer, principal))
    company = await session.get(Company, principal.company_id)
    return await render(
        request,
        session,
        principal,
        "office/job_form.html",
        customers=customers,
        chosen=customer,
        team=await technicians(session, principal),
        timezone=company.timezone,
    )


async def day_stage(request: Request, job_id: uuid.UUID, principal, session) -> tuple[str, datetime | None]:
    """Where the job's day stands, from its workflow ("scheduled: next, the 1-hour reminder"), and when
    its next reminder goes."""
    try:
        stage = await job_stage(job_id, principal, session, request.app.state.temporal)
    except HTTPException as unanswered:  # the page still shows the job, with why its day is unknown
        return unanswered.detail, None
    next_at = stage.next_reminder_at
    return stage.description, datetime.fromisoformat(next_at) if next_at else None


def next_moves(status: JobStatus, role: Role) -> list[tuple[JobStatus, str]]:
    """The status buttons for a job in `status`, with their labels: what its state machine allows next,
    and for a technician only the moves of their day (the API refuses them the rest)."""
    allowed = JOB_TRANSITIONS[status] & (FIELD_MOVES if role == Role.technician else set(JobStatus))
    moves = [(target, label) for target, label in MOVES.items() if target in allowed]
    if status == JobStatus.unscheduled:
        # Scheduling needs a time: the schedule form does it, with the time.
        moves = [(t, label) for t, label in moves if t != JobStatus.scheduled]
    if status == JobStatus.cancelled:
        moves = [(t, "Reopen") if t == JobStatus.unscheduled else (t, label) for t, label in moves]
    return moves


@router.get("/jobs/{job_id}")
async def job_page(request: Request, job_id: uuid.UUID, principal: PageUser, session: SessionDep):
    """One job: status buttons the state machine allows, schedule and technician (office), lines, parts,
    its workflow in Temporal and the messages it sent."""
    allow(principal, *EVERYONE)
    settings = request.app.state.settings
    job = await get_job(job_id, principal, session, settings)  # technicians: 404 unless theirs
    company = await session.get(Company, principal.company_id)
    customer = await session.get(Customer, job.customer_id)
    technician = await session.get(User, job.assigned_user_id) if job.assigned_user_id else None
    is_office = principal.role in OFFICE
    messages, invoice = [], None
    if is_office:
        sent_by = (job.workflow_id, workflow_id("review", job.id))  # the job's day, its review request
        stmt = (
            owned(MessageLog, principal)
            .where(col(MessageLog.workflow_id).in_(sent_by))
            .order_by(MessageLog.created_at)
        )
        messages = (await session.exec(stmt)).all()
        billed = owned(Invoice, principal).where(
            Invoice.job_id == job.id, Invoice.status != InvoiceStatus.void
        )
        invoice = (await session.exec(billed.order_by(Invoice.created_at.desc()))).first()
    is_open = job.status not in (JobStatus.completed, JobStatus.cancelled)
    editable = is_office and is_open
    # Every item: the log-a-part select, and today's stock beside each part used (negative shows as such).
    items = (await session.exec(owned(InventoryItem, principal).order_by(InventoryItem.name))).all()
    return await render(
        request,
        session,
        principal,
        "office/job.html",
        job=job,
        timezone=company.timezone,
        customer=customer,
        technician=technician,
        moves=next_moves(job.status, principal.role),
        confirm=CONFIRM,
        editable=editable,
        team=await technicians(session, principal) if editable else [],
        lines_total=sum(line.amount_cents for line in job.line_items),
        parts=await list_parts(job_id, principal, session),
        items=items,
        stock={item.id: item for item in items},
        is_open=is_open,
        stage=await day_stage(request, job_id, principal, session),
        messages=messages,
        invoice=invoice,
        is_office=is_office,
    )
