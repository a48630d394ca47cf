"""The customer's live tracking page, reached by the link texted when the job goes On the Way: no login.

`/t/{token}` shows who is coming, where they last were and how far that is from the job's address
(as the crow flies); the page asks `/t/{token}/position` again every ten seconds. Once the technician
has arrived, finished or the visit is cancelled it says so, and the technician's position is no longer
shown. Links expire after two hours (410); forged ones, or ones naming another company's job, are 404.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import SessionDep, SettingsDep
from api.rendering import local_time, templates
from models.base import utcnow
from models.company import Company, User
from models.enums import JobStatus
from models.jobs import Job, TechnicianPosition
from models.logs import AuditLog
from models.tracking import (
    TRACKING_VALID,
    TrackingLinkExpired,
    TrackingLinkInvalid,
    TrackingPosition,
    distance_km,
    read_tracking_token,
)

router = APIRouter(prefix="/t", include_in_schema=False)

NO_STORE = {"Cache-Control": "no-store"}
POLL_SECONDS = 10
ENDED = {
    JobStatus.in_progress: ("good", "✓", "Your technician has arrived", "{who} is with you now."),
    JobStatus.completed: ("good", "✓", "The job is done", "Thank you for choosing {company}."),
    JobStatus.cancelled: ("info", "!", "This visit was cancelled", "Contact {company} to book another time."),
}


class TrackingRefusal(Exception):
    def __init__(self, status: int, title: str, message: str, company: Company | None = None):
        self.status, self.title, self.message, self.company = status, title, message, company


@dataclass
class Tracked:
    job: Job
    company: Company
    technician: User | None


def _not_valid() -> TrackingRefusal:
    message = "This tracking link is not valid. Please check the link in the text you received."
    return TrackingRefusal(404, "Link not valid", message)


async def _open(session: AsyncSession, settings, token: str) -> Tracked:
    try:
        job_id, company_id = read_tracking_token(settings, token)
    except TrackingLinkInvalid:
        raise _not_valid() from None
    except TrackingLinkExpired as expired:
        # Still the company's page (its name and phone), when the old link names a job of that company.
        job = await session.get(Job, expired.job_id) if expired.job_id else None
        mine = job is not None and job.company_id == expired.company_id
        company = await session.get(Company, job.company_id) if mine else None
        message = (
            f"Tracking links last {TRACKING_VALID // timedelta(hours=1)} hours. "
            f"If you are still waiting, please contact {company.name if company else 'us'}."
        )
        raise TrackingRefusal(410, "This tracking link has expired", message, company) from None
    job = await session.get(Job, job_id)
    # A token whose company is not the job's opens nothing, and says no more than a forged one.
    if job is None or job.company_id != company_id:
        raise _not_valid()
    company = await session.get(Company, job.company_id)
    technician = await session.get(User, job.assigned_user_id) if job.assigned_user_id else None
    return Tracked(job, company, technician)


def first_name(technician: User | None) -> str | None:
    return technician.name.split()[0] if technician and technician.name.strip() else None


async def _position(session: AsyncSession, tracked: Tracked) -> TrackingPosition:
    """Where the technician is, only while they are on their way to this job and the report is recent."""
    job = tracked.job
    found = TrackingPosition(status=job.status)
    if job.status != JobStatus.on_the_way or job.assigned_user_id is None:
        return found
    position = await session.get(TechnicianPosition, job.assigned_user_id)
    now = utcnow()
    # An older report cannot belong to this trip: the link itself lives no longer. Nor can one made before
    # the job went On the Way (the previous customer's house, the technician's home).
    set_out = await _set_out_at(session, job)
    if position is None or now - position.recorded_at > TRACKING_VALID:
        return found
    if set_out is not None and position.recorded_at < set_out:
        return found
    found.lat, found.lng, found.recorded_at = position.lat, position.lng, position.recorded_at
    found.age_seconds = max(0, int((now - position.recorded_at).total_seconds()))
    if job.lat is not None and job.lng is not None:
        found.distance_km = round(distance_km(position.lat, position.lng, job.lat, job.lng), 2)
    return found


async def _set_out_at(session: AsyncSession, job: Job) -> datetime | None:
    """When the job last went On the Way, from its audit trail (None when it has no such row)."""
    went = await session.exec(
        select(func.max(AuditLog.created_at)).where(
            AuditLog.entity_id == job.id,
            AuditLog.action == "change_status",
            AuditLog.after["status"].astext == JobStatus.on_the_way.value,
        )
    )
    return went.first()


def _refusal_page(request: Request, refusal: TrackingRefusal) -> HTMLResponse:
    context = {"company": refusal.company, "title": refusal.title, "message": refusal.message}
    return templates.TemplateResponse(
        request, "tracking/message.html", context, status_code=refusal.status, headers=NO_STORE
    )


def _not_coming(job: Job, company: Company, who: str | None) -> dict:
    """What the page says when nobody is on the way (any more): arrived, done, cancelled or not yet."""
    if job.status in ENDED:
        tone, icon, title, message = ENDED[job.status]
        return {
            "tone": tone,
            "icon": icon,
            "title": title,
            "message": message.format(who=who or "Your technician", company=company.name),
        }
    # Moved back on the board after the text went out.
    when = (
        f"Your visit is booked for {local_time(job.scheduled_start, company.timezone)}. "
        if job.scheduled_start
        else ""
    )
    message = f"{when}We'll text you again when {who or 'your technician'} is on the way."
    return {"tone": "info", "icon": "i", "title": "Not on the way yet", "message": message}


def ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return ""
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 60:
        return "just now"
    minutes = seconds // 60
    return f"{minutes} min ago" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min ago"


@router.get("/{token}", response_class=HTMLResponse)
async def tracking_page(token: str, request: Request, session: SessionDep, settings: SettingsDep):
    """Who is coming and where they are; or that they arrived, finished or the visit was cancelled."""
    try:
        tracked = await _open(session, settings, token)
    except TrackingRefusal as refusal:
        return _refusal_page(request, refusal)
    job, company = tracked.job, tracked.company
    who = first_name(tracked.technician)
    if job.status != JobStatus.on_the_way:
        context = {"company": company, "job": job} | _not_coming(job, company, who)
        return templates.TemplateResponse(request, "tracking/message.html", context, headers=NO_STORE)
    position = await _position(session, tracked)
    context = {
        "company": company,
        "job": job,
        "who": who,
        "position": position,
        "ago": ago(position.recorded_at, utcnow()),
        "poll_ms": POLL_SECONDS * 1000,
        "token": token,
    }
    return templates.TemplateResponse(request, "tracking/track.html", context, headers=NO_STORE)


@router.get("/{token}/position", response_model=TrackingPosition)
async def tracking_position(token: str, response: Response, session: SessionDep, settings: SettingsDep):
    """The job's status and the technician's last position (while On the Way), for the page to poll."""
    response.headers.update(NO_STORE)
    try:
        tracked = await _open(session, settings, token)
    except TrackingRefusal as refusal:
        raise HTTPException(refusal.status, refusal.title, headers=NO_STORE) from None
    return await _position(session, tracked)
