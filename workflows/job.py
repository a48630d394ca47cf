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

from dataclasses import dataclass

from temporalio import workflow

from workflows.record_status import RecordStatus, step_key

with workflow.unsafe.imports_passed_through():
    from activities.records import (
        ChangeJobStatus,
        JobSnapshot,
        RecordsActivities,
    )
    from models.enums import JobStatus

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
        self._status = RecordStatus()

    @workflow.run
    async def run(self, input: JobInput) -> str | None:
        return await self._status.run_until_final(ENDED, input)

    @workflow.query
    def status(self) -> str | None:
        return self._status.value

    @workflow.update
    async def change_status(self, change: JobStatusChange) -> JobSnapshot:
        request = ChangeJobStatus(
            job_id=self._input.job_id,
            company_id=self._input.company_id,
            target=change.target,
            actor=change.actor,
            actor_user_id=change.actor_user_id,
            workflow_id=workflow.info().workflow_id,
            step_key=step_key(),
        )
        return await self._status.change(RecordsActivities.change_job_status, request)

    @change_status.validator
    def _validate_change(self, change: JobStatusChange) -> None:
        if change.target not in STATUSES:
            raise ValueError(f"unknown job status {change.target!r}; one of {', '.join(sorted(STATUSES))}")
