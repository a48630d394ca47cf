"""QuickBooksSyncWorkflow: one company's two-way sync with QuickBooks Online (spec Workflow 8).
QuickBooksScheduleWorkflow: the hourly full sync of every connected company (a Schedule worker.py creates).

Workflow id `quickbooks-{company id}`, one per company: pushes and pulls never race each other, and one
writer holds each record's SyncToken. The API (customers and invoices saved), the invoice workflow (sent,
paid, voided) and the schedule reach it by signal-with-start. It works through what it was given one item
at a time, pushes first; QuickBooks being out of reach holds the queue (the activity is retried until it
answers) and loses nothing. It ends after a quiet spell (the next signal starts it again) and continues as
new when its history grows, carrying its queue.

Signals:
- `push(PushRequest)`: make QuickBooks' copy of a customer, or of an invoice and its payments, match ours
  (an invoice voided here is voided there). `quickbooks_sync` is read at the moment of an automatic push;
  a push it stops is logged as skipped. A push the office asked for (`requested_by`, a ledger retry) is
  not gated: the office decided; the action log names who asked.
- `sync(SyncRequest)`: its steps in order: "push" queues every pending record (gated like any push),
  "customers" and "payments" pull from QuickBooks. The schedule's syncs read the automation before each
  step; the office's own pulls do not.
Queries:
- `backlog()`: pushes and syncs waiting, and whether one is in hand.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.steps import gate

with workflow.unsafe.imports_passed_through():
    from activities.quickbooks import (
        QUICKBOOKS_ERRORS,
        PendingRequest,
        PullInput,
        PushInput,
        PushRequest,
        QuickBooksActivities,
        SyncRequest,
    )
    from activities.quickbooks_ledger import AUTOMATION
    from activities.records import NOT_FOUND

IDLE = timedelta(minutes=10)  # quiet this long, the run ends
PUSH_BATCH = 200  # pending records one full sync queues; the rest wait for the next
FINAL = [*QUICKBOOKS_ERRORS, NOT_FOUND]
# QuickBooks down: tried again and again, never given up on (nothing may be lost).
QUICKBOOKS_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=2), non_retryable_error_types=FINAL)
DB_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=10))
PULLS = {"customers": QuickBooksActivities.pull_customers, "payments": QuickBooksActivities.pull_payments}


@dataclass
class QuickBooksInput:
    company_id: str
    pushes: list[PushRequest] = field(default_factory=list)  # carried over when continuing as new
    syncs: list[SyncRequest] = field(default_factory=list)


@dataclass
class Backlog:
    pushes: int
    syncs: int
    busy: bool


@workflow.defn
class QuickBooksSyncWorkflow:
    @workflow.init
    def __init__(self, input: QuickBooksInput) -> None:
        self._company_id = input.company_id
        self._pushes = list(input.pushes)
        self._syncs = list(input.syncs)
        self._busy = False

    @workflow.run
    async def run(self, input: QuickBooksInput) -> str:
        while True:
            try:
                await workflow.wait_condition(self._has_work, timeout=IDLE)
            except TimeoutError:
                pass  # a signal may have come with the timer: look again before ending
            if not self._has_work():
                return "idle"
            self._busy = True
            if self._pushes:
                await self._push(self._pushes.pop(0))
            else:
                await self._sync_step()
            self._busy = False
            if workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(QuickBooksInput(self._company_id, self._pushes, self._syncs))

    @workflow.signal
    def push(self, request: PushRequest) -> None:
        for queued in self._pushes:  # one push sends the record as it is then: a second would repeat it
            if (queued.entity_type, queued.entity_id, queued.ledger_key) == (
                request.entity_type,
                request.entity_id,
                request.ledger_key,
            ):
                queued.overwrite = queued.overwrite or request.overwrite
                queued.requested_by = queued.requested_by or request.requested_by
                return
        self._pushes.append(request)

    @workflow.signal
    def sync(self, request: SyncRequest) -> None:
        if request not in self._syncs:
            self._syncs.append(request)

    @workflow.query
    def backlog(self) -> Backlog:
        return Backlog(len(self._pushes), len(self._syncs), self._busy)

    def _has_work(self) -> bool:
        return bool(self._pushes or self._syncs)

    async def _push(self, request: PushRequest) -> None:
        step = f"push-{workflow.uuid4()}"
        action = f"push_{request.entity_type}_to_quickbooks"
        # The office asked for this one (a retry): it decided, so the switch is not read; the push's
        # action-log row names who asked. Requests from before the field existed carry None: gated as then.
        if request.requested_by is None:
            decision = await gate(
                self._company_id, AUTOMATION, action, request.entity_type, request.entity_id, step
            )
            if not decision.allowed:
                return
        step_id = f"{workflow.info().workflow_id}/{step}"
        push = PushInput(
            company_id=self._company_id,
            entity_type=request.entity_type,
            entity_id=request.entity_id,
            step=step_id,
            key=request.ledger_key or step_id,
            overwrite=request.overwrite,
            requested_by=request.requested_by,
        )
        await self._quickbooks(QuickBooksActivities.push_record, push, timedelta(minutes=2))

    async def _sync_step(self) -> None:
        sync = self._syncs[0]
        step = sync.steps.pop(0)
        if not sync.steps:
            self._syncs.pop(0)
        key = f"sync-{workflow.uuid4()}"
        if step == "push":
            if (await self._gate_company("push_pending_to_quickbooks", key)).allowed:
                pending = await workflow.execute_activity_method(
                    QuickBooksActivities.pending_pushes,
                    PendingRequest(self._company_id, PUSH_BATCH),
                    start_to_close_timeout=timedelta(minutes=1),
                    retry_policy=DB_RETRY,
                )
                for request in pending:  # pushed before the sync's next step: pushes go first
                    self.push(request)
        else:
            if not sync.automatic or (await self._gate_company(f"pull_{step}_from_quickbooks", key)).allowed:
                pulled = PullInput(self._company_id, f"{workflow.info().workflow_id}/{key}")
                await self._quickbooks(
                    PULLS[step], pulled, timedelta(minutes=30), heartbeat=timedelta(minutes=5)
                )
        if not sync.steps:
            await workflow.execute_activity_method(
                QuickBooksActivities.finish_sync,
                self._company_id,
                start_to_close_timeout=timedelta(seconds=15),
                retry_policy=DB_RETRY,
            )

    async def _gate_company(self, action: str, step: str):
        return await gate(self._company_id, AUTOMATION, action, "company", self._company_id, step)

    async def _quickbooks(
        self, activity_method, request, within: timedelta, heartbeat: timedelta | None = None
    ):
        """Run a QuickBooks activity until it succeeds or QuickBooks refuses (its ledger row says why)."""
        try:
            await workflow.execute_activity_method(
                activity_method,
                request,
                start_to_close_timeout=within,
                heartbeat_timeout=heartbeat,
                retry_policy=QUICKBOOKS_RETRY,
            )
        except ActivityError as failed:
            if not (isinstance(failed.cause, ApplicationError) and failed.cause.type in FINAL):
                raise
            workflow.logger.info("QuickBooks step refused for %s: %s", self._company_id, failed.cause.message)


@workflow.defn
class QuickBooksScheduleWorkflow:
    """Asks every company connected with `quickbooks_sync` on for a full sync; how many were asked."""

    @workflow.run
    async def run(self) -> int:
        return await workflow.execute_activity_method(
            QuickBooksActivities.queue_scheduled_syncs,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=DB_RETRY,
        )
