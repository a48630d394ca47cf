"""JobWorkflow: the one writer of a job's status, from creation to Completed.

Workflow id `job-{job id}`; the API reaches it by update-with-start, so the first status change starts it
and later ones join the running flow.

Updates:
- `change_status(JobStatusChange)`: move the job along its state machine (models/states.py); answers
  with the persisted `JobSnapshot`, or fails with `InvalidTransition` and the reason.
Queries:
- `status()`: the last status this workflow wrote, or None before its first change.

The run ends when the job is Completed or Cancelled (reopening a cancelled job starts a new run) and
continues as new if its history grows long. The day's automations (reminders, on-my-way texts,
completion → invoice) hang off these changes in later work.
"""

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.records import (
        INVALID_TRANSITION,
        NOT_FOUND,
        ChangeJobStatus,
        JobSnapshot,
        RecordsActivities,
    )
    from models.enums import JobStatus

RECORDS_RETRY = RetryPolicy(
    maximum_interval=timedelta(seconds=10), non_retryable_error_types=[INVALID_TRANSITION, NOT_FOUND]
)
ENDED = {JobStatus.completed.value, JobStatus.cancelled.value}
STATUSES = {s.value for s in JobStatus}


@dataclass
class JobInput:
    job_id: str
    company_id: str


@dataclass
class JobStatusChange:
    target: str
    actor: str
    actor_user_id: str | None = None


@workflow.defn
class JobWorkflow:
    @workflow.init
    def __init__(self, input: JobInput) -> None:
        self._input = input
        self._status: str | None = None
        self._lock = asyncio.Lock()  # one status change at a time, in arrival order

    @workflow.run
    async def run(self, input: JobInput) -> str | None:
        await workflow.wait_condition(
            lambda: self._status in ENDED or workflow.info().is_continue_as_new_suggested()
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self._status not in ENDED:
            workflow.continue_as_new(input)
        return self._status

    @workflow.query
    def status(self) -> str | None:
        return self._status

    @workflow.update
    async def change_status(self, change: JobStatusChange) -> JobSnapshot:
        info = workflow.info()
        request = ChangeJobStatus(
            job_id=self._input.job_id,
            company_id=self._input.company_id,
            target=change.target,
            actor=change.actor,
            actor_user_id=change.actor_user_id,
            workflow_id=info.workflow_id,
            step_key=f"{info.workflow_id}/{workflow.current_update_info().id}",
        )
        async with self._lock:
            try:
                snapshot = await workflow.execute_activity_method(
                    RecordsActivities.change_job_status,
                    request,
                    start_to_close_timeout=timedelta(seconds=15),
                    schedule_to_close_timeout=timedelta(minutes=1),
                    retry_policy=RECORDS_RETRY,
                )
            except ActivityError as failed:
                refusal = failed.cause
                if isinstance(refusal, ApplicationError) and refusal.type == INVALID_TRANSITION:
                    self._status = refusal.details[0] if refusal.details else self._status
                raise
            self._status = snapshot.status
            return snapshot

    @change_status.validator
    def _validate_change(self, change: JobStatusChange) -> None:
        if change.target not in STATUSES:
            raise ValueError(f"unknown job status {change.target!r}; one of {', '.join(sorted(STATUSES))}")
