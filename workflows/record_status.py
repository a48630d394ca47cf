"""What the workflows that own a record's status share (invoice, job): changes persisted one at a time
through a records activity, a refused change teaching the flow the current status, and running until
the status is final."""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.records import INVALID_TRANSITION, NOT_FOUND

RECORDS_RETRY = RetryPolicy(
    maximum_interval=timedelta(seconds=10), non_retryable_error_types=[INVALID_TRANSITION, NOT_FOUND]
)


def step_key() -> str:
    """Unique per update, so a retried activity of that update changes nothing twice."""
    return f"{workflow.info().workflow_id}/{workflow.current_update_info().id}"


class RecordStatus:
    """The status the workflow last wrote (None before its first change)."""

    def __init__(self) -> None:
        self.value: str | None = None
        self._lock = asyncio.Lock()  # one status change at a time, in arrival order

    async def change(self, activity_method, request):
        """Persist a change through `activity_method`; answers its snapshot, or re-raises its refusal."""
        async with self._lock:
            try:
                snapshot = await workflow.execute_activity_method(
                    activity_method,
                    request,
                    start_to_close_timeout=timedelta(seconds=15),
                    # A person waits on this answer: give up (and tell them) rather than hang.
                    schedule_to_close_timeout=timedelta(minutes=1),
                    retry_policy=RECORDS_RETRY,
                )
            except ActivityError as failed:
                refusal = failed.cause
                # A refusal carries the current status (those recorded before it did carry none): a run
                # on a record that is already final learns so and ends.
                if (
                    isinstance(refusal, ApplicationError)
                    and refusal.type == INVALID_TRANSITION
                    and refusal.details
                ):
                    self.value = refusal.details[0]
                raise
            self.value = snapshot.status
            return snapshot

    async def run_until_final(self, final: set[str], input) -> str | None:
        """The body of `run`: wait for a final status, finish open handlers, continue as new if long."""
        await workflow.wait_condition(
            lambda: self.value in final or workflow.info().is_continue_as_new_suggested()
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self.value not in final:
            workflow.continue_as_new(input)
        return self.value
