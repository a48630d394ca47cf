"""Reaching an entity's workflow from a request: update-with-start, and its failures as HTTP answers."""

import asyncio
import logging

from fastapi import HTTPException, status
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.errors import root_cause
from activities.messaging import MESSAGING_ERRORS
from activities.payments import PAYMENT_ERRORS
from activities.purchasing import NOT_EMAILED
from activities.quotes import INVALID_REQUEST
from activities.records import INVALID_TRANSITION, NOT_FOUND
from activities.scheduling import SLOT_TAKEN
from activities.workflow_calls import start_job_workflow
from api.workflow_links import workflow_id
from settings import TASK_QUEUE
from temporal.search_attributes import for_entity
from workflows.geocode import GeocodeInput, GeocodeWorkflow

log = logging.getLogger(__name__)
UPDATE_WAIT_SECONDS = 30
# Typed refusals from a workflow or its activities, as HTTP answers (their message is for the person).
CONFLICTS = {INVALID_TRANSITION, SLOT_TAKEN}  # the record's state forbids it: 409
UNPROCESSABLE = {INVALID_REQUEST, *MESSAGING_ERRORS, *PAYMENT_ERRORS}  # the input cannot be used: 422
UNDELIVERED = {NOT_EMAILED}  # a provider did not take what the change had to send: 502, nothing changed


async def update_with_start(
    client: Client,
    entity_type: str,
    entity_id,
    company_id,
    run,
    run_input,
    update,
    update_input,
    update_id: str | None = None,
):
    """Run `update` on the entity's workflow, starting the workflow first if it is not running.

    Answers 409 when the workflow refuses the change (with its reason), 422 when its validator or a
    provider rejects the input, and 503 when Temporal cannot be reached; in each case nothing was
    changed. `update_id` makes a repeated request (a redelivered webhook) the same update, answered once.
    """
    start = WithStartWorkflowOperation(
        run,
        run_input,
        id=workflow_id(entity_type, entity_id),
        task_queue=TASK_QUEUE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        search_attributes=for_entity(str(company_id), entity_type, str(entity_id)),
    )
    try:
        return await asyncio.wait_for(
            client.execute_update_with_start_workflow(
                update, update_input, start_workflow_operation=start, id=update_id
            ),
            UPDATE_WAIT_SECONDS,
        )
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        # Our deadline passed (the SDK reports our cancelling its wait as the second kind).
        raise HTTPException(
            status.HTTP_504_GATEWAY_TIMEOUT,
            "the change was handed to its workflow but not confirmed in time (is the worker running?); "
            "it may still happen, so check again before repeating it",
        ) from None
    except WorkflowUpdateFailedError as failed:
        cause = root_cause(failed)
        if isinstance(cause, ApplicationError) and cause.type in CONFLICTS:
            raise HTTPException(status.HTTP_409_CONFLICT, cause.message) from None
        if isinstance(cause, ApplicationError) and cause.type in UNPROCESSABLE:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, cause.message) from None
        if isinstance(cause, ApplicationError) and cause.type in UNDELIVERED:
            raise HTTPException(status.HTTP_502_BAD_GATEWAY, cause.message) from None
        if isinstance(cause, ApplicationError) and cause.type == NOT_FOUND:
            raise HTTPException(status.HTTP_404_NOT_FOUND, cause.message) from None
        if isinstance(cause, ApplicationError) and failed.cause is cause:  # the update's validator said no
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, cause.message) from None
        raise
    except RPCError as unreachable:
        if unreachable.status not in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
            raise  # a real fault (say, a Temporal server without our search attributes): a 500 and a log
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"the workflow service is unavailable ({unreachable}); nothing was changed",
        ) from None


async def geocode_later(client: Client, entity_type: str, row) -> None:
    """Ask the geocode workflow for coordinates of `row.address`; a newer save replaces an older run.

    The record is already saved: if Temporal cannot be reached the address just stays without
    coordinates for now, and the save still succeeds.
    """
    try:
        await client.start_workflow(
            GeocodeWorkflow.run,
            GeocodeInput(str(row.company_id), entity_type, str(row.id), row.address),
            id=f"geocode-{entity_type}-{row.id}",
            task_queue=TASK_QUEUE,
            id_conflict_policy=WorkflowIDConflictPolicy.TERMINATE_EXISTING,
            search_attributes=for_entity(str(row.company_id), entity_type, str(row.id)),
        )
    except RPCError as unreachable:
        log.warning("could not start geocoding %s %s: %s", entity_type, row.id, unreachable)


def needs_geocoding(row, changes: dict) -> bool:
    """An address was given or changed, and the caller did not send its coordinates."""
    return bool(row.address) and "address" in changes and changes.get("lat") is None


async def start_job_flow(client: Client, job) -> None:
    """Start the job's workflow (its reminders and day; a technician given at creation gets the
    assignment text); the job is saved either way."""
    try:
        await start_job_workflow(
            client, job.id, job.company_id, TASK_QUEUE, tell_technician=job.assigned_user_id is not None
        )
    except RPCError as unreachable:
        log.warning("could not start the workflow of job %s: %s", job.id, unreachable)
