"""The dispatch board: one day's jobs in columns by status. Moving a card changes the job's status through
its workflow (the same `POST /v1/jobs/{id}/status` the job page uses); `static/dispatch.js` keeps the board
live from `GET /v1/events` by fetching the changed job's card from `/dispatch/cards/{id}`."""

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from fastapi import APIRouter, Request, Response

from api.deps import SessionDep
from api.office.jobs import every_job, technicians
from api.office.nav import OFFICE
from api.office.pages import PageUser, allow, names_by_id, render
from api.principal import Principal
from api.rendering import templates
from api.routes.jobs import get_job
from models.company import Company, User
from models.customers import Customer
from models.enums import JobStatus
from models.time import company_today, day_start

router = APIRouter(include_in_schema=False)

COLUMNS = {
    JobStatus.unscheduled: "Unscheduled",
    JobStatus.scheduled: "Scheduled",
    JobStatus.on_the_way: "On the Way",
    JobStatus.in_progress: "In Progress",
    JobStatus.completed: "Completed",
}
# Work under way shows whatever day it was booked for; the calendar columns show the board's day.
ALWAYS_SHOWN = (JobStatus.unscheduled, JobStatus.on_the_way, JobStatus.in_progress)
DAY_SHOWN = (JobStatus.scheduled, JobStatus.completed)


@dataclass(frozen=True)
class Board:
    """Which jobs one open board shows: a day on the company's clock, and perhaps one technician."""

    day: date
    starts: datetime
    ends: datetime
    technician: uuid.UUID | None

    @classmethod
    def of(cls, day: date, timezone: str, technician: uuid.UUID | None) -> "Board":
        return cls(day, day_start(day, timezone), day_start(day + timedelta(days=1), timezone), technician)

    @property
    def previous_day(self) -> date:
        return self.day - timedelta(days=1)

    @property
    def next_day(self) -> date:
        return self.day + timedelta(days=1)

    def shows(self, job) -> bool:
        if self.technician is not None and job.assigned_user_id != self.technician:
            return False
        if job.status in ALWAYS_SHOWN:
            return True
        start = job.scheduled_start
        return job.status in DAY_SHOWN and start is not None and self.starts <= start < self.ends


def sort_key(job) -> str:
    # Cards sort by this string in the page and in dispatch.js: by time, the unscheduled pile by title.
    return job.scheduled_start.isoformat() if job.scheduled_start else f"~{job.title.lower()}"


async def _board(session, principal: Principal, day: date | None, technician: uuid.UUID | None):
    company = await session.get(Company, principal.company_id)
    board = Board.of(day or company_today(company), company.timezone, technician)
    return company, board


async def _card_context(session, principal: Principal, jobs: list) -> dict:
    return {
        "customers": await names_by_id(session, principal, Customer, (j.customer_id for j in jobs)),
        "people": await names_by_id(session, principal, User, (j.assigned_user_id for j in jobs)),
        "columns": COLUMNS,
        "sort_key": sort_key,
    }


@router.get("/dispatch")
async def dispatch_page(
    request: Request,
    principal: PageUser,
    session: SessionDep,
    day: date | None = None,
    technician: uuid.UUID | None = None,
):
    """The dispatch board for a day (today on the company's clock unless given), all or one technician."""
    allow(principal, *OFFICE)
    company, board = await _board(session, principal, day, technician)
    jobs = await every_job(session, principal, status=list(ALWAYS_SHOWN), assigned_user_id=technician)
    jobs += await every_job(
        session,
        principal,
        status=list(DAY_SHOWN),
        assigned_user_id=technician,
        scheduled_from=board.starts,
        scheduled_to=board.ends,
    )
    by_column = {status: [] for status in COLUMNS}
    for job in sorted(jobs, key=sort_key):
        by_column[job.status].append(job)
    return await render(
        request,
        session,
        principal,
        "office/dispatch.html",
        board=board,
        by_column=by_column,
        team=await technicians(session, principal),
        timezone=company.timezone,
        **await _card_context(session, principal, jobs),
    )


@router.get("/dispatch/cards/{job_id}")
async def dispatch_card(
    request: Request,
    job_id: uuid.UUID,
    principal: PageUser,
    session: SessionDep,
    day: date | None = None,
    technician: uuid.UUID | None = None,
):
    """One job's card as the board shows it now; 204 when the job no longer belongs on this board."""
    allow(principal, *OFFICE)
    company, board = await _board(session, principal, day, technician)
    job = await get_job(job_id, principal, session, request.app.state.settings)
    if not board.shows(job):
        return Response(status_code=204)
    return templates.TemplateResponse(
        request,
        "office/dispatch_card.html",
        {
            "job": job,
            "board": board,
            "timezone": company.timezone,
            **await _card_context(session, principal, [job]),
        },
    )
