"""Jobs: the office creates and schedules them; technicians see the ones assigned to them."""

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from activities.events import publish
from api.crud import Page, PageDep, create_owned, fetch_page, update_owned
from api.deps import CurrentPrincipal, OfficeStaff, SessionDep, SettingsDep, TemporalDep
from api.flows import geocode_later, needs_geocoding, start_job_flow, update_with_start
from api.line_items import public_lines, replace_lines
from api.principal import Principal
from api.routes.inventory import order_parts_later
from api.tenancy import check_references, get_owned, owned
from api.workflow_links import workflow_id, workflow_url
from models.customers import Customer
from models.enums import JobStatus, Role
from models.jobs import Job, JobCreate, JobPublic, JobSummary, JobUpdate, window_error
from workflows.job import JobInput, JobReassign, JobReschedule, JobStage, JobStatusChange, JobWorkflow

router = APIRouter(prefix="/jobs", tags=["jobs"])

DEFAULT_DURATION = timedelta(hours=1)
QUERY_WAIT_SECONDS = 5
# The moves of a technician's day (back to scheduled undoes an On the Way tapped too soon); the rest
# (cancel, unschedule, reschedule) belong to the office.
FIELD_MOVES = {JobStatus.scheduled, JobStatus.on_the_way, JobStatus.in_progress, JobStatus.completed}
NO_WORKFLOW_YET = "no workflow yet: it starts when the job gets a time or a change"
Sort = Literal["scheduled_start", "-scheduled_start", "title", "status", "created_at", "-created_at"]
SORTS = {
    "scheduled_start": (Job.scheduled_start.asc().nulls_last(),),
    "-scheduled_start": (Job.scheduled_start.desc().nulls_last(),),
    "title": (Job.title,),
    "status": (Job.status,),
    "created_at": (Job.created_at,),
    "-created_at": (Job.created_at.desc(),),
}


def _visible(principal: Principal):
    stmt = owned(Job, principal)
    if principal.role == Role.technician:
        stmt = stmt.where(Job.assigned_user_id == principal.user_id)
    return stmt


async def _get_visible(session, job_id: uuid.UUID, principal: Principal) -> Job:
    job = await get_owned(session, Job, job_id, principal)
    if principal.role == Role.technician and job.assigned_user_id != principal.user_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "job not found")
    return job


async def _public(session, settings, job: Job) -> JobPublic:
    wf_id = workflow_id("job", job.id)
    update = {
        "workflow_id": wf_id,
        "workflow_url": workflow_url(settings, wf_id),
        "line_items": await public_lines(session, job),
    }
    return JobPublic.model_validate(job, update=update)


@router.get("", response_model=Page[JobSummary])
async def list_jobs(
    principal: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    status: Annotated[list[JobStatus] | None, Query(description="one or more statuses")] = None,
    assigned_user_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
    scheduled_from: datetime | None = None,
    scheduled_to: datetime | None = None,
    sort: Sort = "scheduled_start",
):
    """Jobs filtered by status, technician, customer and schedule window (open one job for its lines)."""
    stmt = _visible(principal)
    if status:
        stmt = stmt.where(Job.status.in_(status))
    if assigned_user_id is not None:
        stmt = stmt.where(Job.assigned_user_id == assigned_user_id)
    if customer_id is not None:
        stmt = stmt.where(Job.customer_id == customer_id)
    if scheduled_from is not None:
        stmt = stmt.where(Job.scheduled_start >= scheduled_from)
    if scheduled_to is not None:
        stmt = stmt.where(Job.scheduled_start < scheduled_to)
    rows, count = await fetch_page(session, stmt, page, *SORTS[sort], Job.id)
    return Page(data=rows, count=count)


@router.post("", response_model=JobPublic, status_code=status.HTTP_201_CREATED)
async def create_job(
    body: JobCreate, principal: OfficeStaff, session: SessionDep, settings: SettingsDep, client: TemporalDep
):
    """Create a job at the customer's address unless another is given; with a scheduled start it is
    Scheduled (an hour long unless an end is given)."""
    values = body.model_dump(exclude={"line_items"})
    if body.scheduled_start is not None:
        values["status"] = JobStatus.scheduled
        values["scheduled_end"] = body.scheduled_end or body.scheduled_start + DEFAULT_DURATION
    if not body.address:
        await check_references(session, principal, {"customer_id": body.customer_id})
        customer = await session.get(Customer, body.customer_id)
        values |= {
            "address": customer.address,
            "city": customer.city,
            "lat": customer.lat,
            "lng": customer.lng,
        }
    job = await create_owned(session, principal, Job, values)
    await replace_lines(session, principal, job, body.line_items)
    new = {"job_id": job.id, "status": job.status, "assigned_user_id": job.assigned_user_id}
    await publish(session, principal.company_id, "job.created", new)  # heard once the commit lands
    await session.commit()
    if job.address and job.lat is None:
        await geocode_later(client, "job", job)
    if job.scheduled_start is not None:
        await start_job_flow(client, job)  # its reminders
    return await _public(session, settings, job)


@router.get("/{job_id}", response_model=JobPublic)
async def get_job(job_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep):
    """One job with its lines and a link to its workflow in the Temporal UI."""
    return await _public(session, settings, await _get_visible(session, job_id, principal))


@router.get("/{job_id}/stage", response_model=JobStage)
async def job_stage(job_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep, client: TemporalDep):
    """Where the job's day stands ("scheduled: next, the 1-hour reminder"), from its workflow; a job never
    scheduled has none yet. Technicians: their own jobs."""
    job = await _get_visible(session, job_id, principal)
    handle = client.get_workflow_handle(workflow_id("job", job.id))
    try:
        return await asyncio.wait_for(handle.query(JobWorkflow.stage), QUERY_WAIT_SECONDS)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return JobStage(job.status.value, NO_WORKFLOW_YET)
        why = str(error)
    except WorkflowQueryFailedError as error:
        why = str(error)
    except TimeoutError:
        why = "is the worker running?"
    raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"the job's workflow did not answer ({why})")


@router.patch("/{job_id}", response_model=JobPublic)
async def update_job(
    job_id: uuid.UUID,
    body: JobUpdate,
    principal: OfficeStaff,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
):
    """Edit a job's details; `line_items`, when given, replaces every line. A new time or technician goes
    through the job's workflow: reminders move, the customer gets the new time, the technician a text;
    a technician already booked then answers 409."""
    job = await get_owned(session, Job, job_id, principal)
    if job.status in (JobStatus.completed, JobStatus.cancelled):
        raise HTTPException(status.HTTP_409_CONFLICT, f"a {job.status} job cannot be edited")
    changes = body.model_dump(exclude_unset=True, exclude={"line_items"})
    start = changes.get("scheduled_start", job.scheduled_start)
    end = changes.get("scheduled_end", job.scheduled_end)
    keeps_length = "scheduled_end" not in changes and job.scheduled_start and job.scheduled_end
    if "scheduled_start" in changes and keeps_length and start is not None:
        end = start + (job.scheduled_end - job.scheduled_start)  # a new start alone moves the whole visit
    if error := window_error(start, end):
        raise RequestValidationError(
            [{"loc": ["body", "scheduled_end"], "msg": error, "type": "value_error"}]
        )
    moved = "scheduled_start" in changes or "scheduled_end" in changes
    if moved and start is None:
        raise RequestValidationError(
            [
                {
                    "loc": ["body", "scheduled_start"],
                    "msg": "to take a job off the calendar, move it to unscheduled (POST …/status)",
                    "type": "value_error",
                }
            ]
        )
    reassigned = "assigned_user_id" in changes
    if reassigned:
        await check_references(session, principal, {"assigned_user_id": changes["assigned_user_id"]})
    new_user = changes.pop("assigned_user_id", None)
    changes.pop("scheduled_start", None), changes.pop("scheduled_end", None)  # the workflow writes these
    if "address" in changes and "lat" not in changes:
        changes |= {"lat": None, "lng": None}  # the old address's point is wrong for the new one
    # The workflow first: when it refuses (a technician already booked), nothing of the edit is saved.
    actor = {"actor": principal.actor, "actor_user_id": str(principal.user_id) if principal.user_id else None}
    if moved:
        ends = end.isoformat() if end else None  # none: the job keeps its length
        request = JobReschedule(scheduled_start=start.isoformat(), scheduled_end=ends, **actor)
        await _through_workflow(session, client, job_id, principal, JobWorkflow.reschedule, request)
    if reassigned:
        request = JobReassign(user_id=str(new_user) if new_user else None, **actor)
        await _through_workflow(session, client, job_id, principal, JobWorkflow.reassign, request)
    if moved or reassigned:  # read afresh what the workflow wrote, and the caller the rollback expired
        job = await session.get(Job, job_id, populate_existing=True)
        if principal.user is not None:
            await session.refresh(principal.user)
    await update_owned(session, principal, job, changes)
    if body.line_items is not None:
        await replace_lines(session, principal, job, body.line_items)
    await session.commit()
    if needs_geocoding(job, changes):
        await geocode_later(client, "job", job)
    if body.line_items is not None:  # new services may need parts before the visit
        await order_parts_later(session, client, job)
    return await _public(session, settings, job)


async def _through_workflow(
    session, client, job_id: uuid.UUID, principal: Principal, update, request
) -> None:
    company_id = principal.company_id
    await session.rollback()  # the workflow's activity locks the row: hold nothing meanwhile
    await update_with_start(
        client,
        "job",
        job_id,
        company_id,
        JobWorkflow.run,
        JobInput(job_id=str(job_id), company_id=str(company_id)),
        update,
        request,
    )


class StatusChangeRequest(BaseModel):
    status: JobStatus


@router.post("/{job_id}/status", response_model=JobPublic)
async def change_status(
    job_id: uuid.UUID,
    body: StatusChangeRequest,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
):
    """Move a job along (scheduled → on the way → in progress → completed, …) through its workflow;
    a move the rules forbid answers 409 with what is possible. Technicians move their own jobs through
    the day (on the way, in progress, completed, back to scheduled); cancelling or unscheduling is the
    office's (403)."""
    await _get_visible(session, job_id, principal)
    if principal.role == Role.technician and body.status not in FIELD_MOVES:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "technicians move jobs through their day; cancelling or unscheduling is for the office",
        )
    change = JobStatusChange(
        target=body.status.value,
        actor=principal.actor,
        actor_user_id=str(principal.user_id) if principal.user_id else None,
    )
    # End this transaction before the workflow's activity locks the row (this expires loaded rows).
    await session.rollback()
    await update_with_start(
        client,
        "job",
        job_id,
        principal.company_id,
        JobWorkflow.run,
        JobInput(job_id=str(job_id), company_id=str(principal.company_id)),
        JobWorkflow.change_status,
        change,
    )
    return await _public(session, settings, await get_owned(session, Job, job_id, principal))
