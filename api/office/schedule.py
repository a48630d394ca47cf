"""The schedule: a day or a week of jobs per technician on the company's clock, coloured by status.
Technicians see only their own row."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request

from api.deps import SessionDep
from api.office.jobs import every_job, technicians
from api.office.nav import EVERYONE
from api.office.pages import PageUser, allow, names_by_id, render
from models.company import Company, User
from models.customers import Customer
from models.enums import JobStatus, Role
from models.time import company_today, day_start

router = APIRouter(include_in_schema=False)

ON_CALENDAR = [JobStatus.scheduled, JobStatus.on_the_way, JobStatus.in_progress, JobStatus.completed]
DAY_HOURS = (7, 19)  # the day view's usual span; it widens to take in earlier or later jobs
UNASSIGNED = "Unassigned"


@dataclass
class Block:
    """A job placed in a technician's column of the day: where it starts and how tall it is, in percent of
    the hours shown, and its lane when it overlaps another."""

    job: object
    top: float
    height: float
    lane: int = 0


@dataclass
class Row:
    name: str
    jobs: list = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    lanes: int = 1
    by_day: dict[date, list] = field(default_factory=dict)


def hours_shown(jobs: list, day_from: datetime) -> tuple[int, int]:
    """The hours the day view spans: the usual working day, widened to every job's start and end."""
    first, last = DAY_HOURS
    for job in jobs:
        start = (job.scheduled_start - day_from) / timedelta(hours=1)
        end = (_end(job) - day_from) / timedelta(hours=1)
        first, last = min(first, max(int(start), 0)), max(last, min(-int(-end), 24))
    return first, last


def _end(job) -> datetime:
    return job.scheduled_end or job.scheduled_start + timedelta(hours=1)


def lay_out(jobs: list, day_from: datetime, hours: tuple[int, int]) -> tuple[list[Block], int]:
    """A technician's jobs as blocks on the day's timeline (overlapping ones in side-by-side lanes), and
    how many lanes that took."""
    span_from = day_from + timedelta(hours=hours[0])
    span = timedelta(hours=hours[1] - hours[0])
    lane_ends: list[datetime] = []
    blocks = []
    for job in sorted(jobs, key=lambda j: j.scheduled_start):
        start, end = max(job.scheduled_start, span_from), min(_end(job), span_from + span)
        lane = next((i for i, until in enumerate(lane_ends) if until <= job.scheduled_start), len(lane_ends))
        lane_ends[lane : lane + 1] = [_end(job)]  # a new lane, or the freed one taken
        top = (start - span_from) / span * 100
        blocks.append(Block(job, round(top, 3), round(max((end - start) / span * 100, 2.5), 3), lane))
    return blocks, max(len(lane_ends), 1)


@router.get("/schedule")
async def schedule_page(
    request: Request,
    principal: PageUser,
    session: SessionDep,
    view: Literal["day", "week"] = "day",
    day: date | None = None,
):
    """A day (timeline) or week (Monday to Sunday) of jobs per technician, in the company's time zone."""
    allow(principal, *EVERYONE)
    company = await session.get(Company, principal.company_id)
    tz = company.timezone
    day = day or company_today(company)
    first = day if view == "day" else day - timedelta(days=day.weekday())
    days = [first + timedelta(days=i) for i in range(1 if view == "day" else 7)]
    starts, ends = day_start(days[0], tz), day_start(days[-1] + timedelta(days=1), tz)
    jobs = await every_job(session, principal, status=ON_CALENDAR, scheduled_from=starts, scheduled_to=ends)

    if principal.role == Role.technician:
        rows = {principal.user_id: Row(principal.user.name)}
    else:
        rows = {person.id: Row(person.name) for person in await technicians(session, principal)}
    # Jobs of someone not listed (a manager, a deactivated technician) get a row of their own.
    others = await names_by_id(session, principal, User, {j.assigned_user_id for j in jobs} - rows.keys())
    for job in jobs:
        name = others.get(job.assigned_user_id, UNASSIGNED)
        rows.setdefault(job.assigned_user_id, Row(name)).jobs.append(job)
    hours = hours_shown(jobs, starts) if view == "day" else DAY_HOURS
    zone = ZoneInfo(tz)
    for row in rows.values():
        if view == "day":
            row.blocks, row.lanes = lay_out(row.jobs, starts, hours)
        for job in row.jobs:
            row.by_day.setdefault(job.scheduled_start.astimezone(zone).date(), []).append(job)
    ordered = sorted(rows.values(), key=lambda row: (row.name == UNASSIGNED, row.name.lower()))
    step = timedelta(days=1 if view == "day" else 7)
    return await render(
        request,
        session,
        principal,
        "office/schedule.html",
        view=view,
        day=day,
        days=days,
        today=company_today(company),
        previous_day=day - step,
        next_day=day + step,
        rows=ordered,
        hours=range(*hours),
        day_from=starts,
        timezone=tz,
        job_count=len(jobs),
        statuses=ON_CALENDAR,
        customers=await names_by_id(session, principal, Customer, (j.customer_id for j in jobs)),
        is_technician=principal.role == Role.technician,
    )
