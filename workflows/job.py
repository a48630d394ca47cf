"""JobWorkflow: one job's day, from creation to Completed or Cancelled (spec Workflows 3–6).

Workflow id `job-{job id}`. Started when a job is created with a time or booked from a quote, or by the
first change the API sends (update-with-start); it reads the job when it starts.

- Reminders (`send_appointment_reminders`): texts 24 h and 1 h before the start. A reschedule moves them
  and re-sends the confirmation with the new time; a reschedule into the window sends the one still
  due, once; cancelling cancels them; a job without a time gets none.
- On the way (`send_omw_texts`): the customer gets a text with a 2-hour live tracking link.
- Reassignment: the new technician gets a text (`send_job_assigned_sms`); both hear of it in the app.
- Parts (`autonomous_parts_ordering`): once the job is scheduled, when its services list parts, the
  company's reorder workflow checks stock against every booked job's needs and orders the shortfall.
- Completed: the job's invoice (its own, its quote's, or a new one from its lines) is collected by the
  invoice's workflow (card on file charged, or sent with its payment link); the customer gets the
  job-completed text (`send_job_completed_sms`) with the link while the invoice is open; the review
  request (`review-{job id}`) is started.

Updates (each answers with the persisted `JobSnapshot`; a refusal fails with `InvalidTransition`, 409):
- `change_status(JobStatusChange)`: move the job along its state machine (models/states.py).
- `reschedule(JobReschedule)`: a new start (and end); the technician must be free then.
- `reassign(JobReassign)`: another technician, or nobody.
Queries:
- `status()`: the job's status as this workflow last knew it.
- `stage() -> JobStage`: where the day stands in words (the next reminder, billing, done), for the office.

The run ends when the job is Completed (after its completion steps) or Cancelled, and continues as new
if its history grows long.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from workflows.record_status import RECORDS_RETRY, RecordStatus, step_key
from workflows.steps import gate, message_target, send

with workflow.unsafe.imports_passed_through():
    from activities.jobs import JobActivities, JobState, JobTextRequest, Reassign, Reschedule
    from activities.messaging import (
        EmailRequest,
        MessageTarget,
        SmsRequest,
    )
    from activities.purchasing import PurchasingCalls
    from activities.records import ChangeJobStatus, JobSnapshot, RecordsActivities
    from activities.scheduling import JobRef, SchedulingActivities
    from activities.workflow_calls import CollectRequest, ReviewStart, WorkflowCalls
    from models.enums import JobStatus

ENDED = {JobStatus.completed.value, JobStatus.cancelled.value}
STAGES = {  # what the day waits for in each status (scheduled and a completion of this run say more)
    JobStatus.unscheduled.value: "waiting for a time: no reminders until the job has one",
    JobStatus.on_the_way.value: "the technician is on the way; the customer has the tracking link",
    JobStatus.in_progress.value: "work in progress; completing it bills the job",
    JobStatus.completed.value: "completed",
    JobStatus.cancelled.value: "cancelled: reminders dropped",
}
OPEN_INVOICE = {"sent", "viewed", "overdue"}
STATUSES = {s.value for s in JobStatus}
REMINDERS = (("reminder_24h", timedelta(hours=24)), ("reminder_1h", timedelta(hours=1)))  # earliest first
DB = {"start_to_close_timeout": timedelta(seconds=15), "retry_policy": RECORDS_RETRY}


@dataclass
class JobInput:
    job_id: str
    company_id: str
    tell_technician: bool = False  # a job created with a technician: text them once the run starts


@dataclass
class JobStatusChange:
    target: str
    actor: str
    actor_user_id: str | None = None


@dataclass
class JobReschedule:
    scheduled_start: str  # ISO with offset
    actor: str
    scheduled_end: str | None = None
    actor_user_id: str | None = None


@dataclass
class JobReassign:
    user_id: str | None
    actor: str
    actor_user_id: str | None = None


@dataclass
class JobStage:
    status: str  # the job's status as this run knows it
    description: str  # where the day stands, in words the office can show
    next_reminder_at: str | None = None  # ISO moment of the next reminder, while one is due


@workflow.defn
class JobWorkflow:
    @workflow.init
    def __init__(self, input: JobInput) -> None:
        self._input = input
        self._status = RecordStatus()
        self._state: JobState | None = None
        self._pending: list[str] = []  # what the day must react to: "on_the_way", "rescheduled", "assigned"
        self._reminded: set[str] = set()  # reminder keys already handled (kind@start)
        self._changes = 0  # counts every change the updates made, so the day re-plans its reminders
        self._completed_here = False  # this run moved the job to Completed: its completion steps are ours
        self._finished = False  # the run did everything it will do

    @workflow.run
    async def run(self, input: JobInput) -> str | None:
        if not workflow.patched("job-day"):
            # A run begun before the job's day existed keeps doing what it did then: status changes only.
            return await self._status.run_until_final(ENDED, input)
        loaded = await workflow.execute_activity_method(JobActivities.job_state, self._ref(), **DB)
        if self._status.value is not None:  # a status change raced the load: its answer is the newer
            loaded.status = self._status.value
        self._know(loaded)
        if input.tell_technician and self._state.assigned_user_id:
            self._pending.append(f"assigned:{self._state.assigned_user_id}")
        # Reminders whose moment passed before this run began are not sent late (the booking's own
        # confirmation just went out); a reschedule into the window is another matter (see _due_reminder).
        self._skip_past_reminders()
        if self._state.status == JobStatus.scheduled.value:
            await self._order_parts()
        while self._status.value not in ENDED:
            await self._react()
            if self._status.value in ENDED:
                break
            if workflow.info().is_continue_as_new_suggested() and not self._pending:
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(input)
            reminder = self._due_reminder()
            timeout = max(reminder[1] - workflow.now(), timedelta(0)) if reminder else None
            seen = self._changes
            try:
                await workflow.wait_condition(
                    lambda seen=seen: (
                        bool(self._pending) or self._changes != seen or self._status.value in ENDED
                    ),
                    timeout=timeout,
                )
            except TimeoutError:
                await self._remind(*reminder)
        # The update that ended the day may still be finishing (its answer and what it noted): let it.
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._react()
        if self._completed_here:
            await self._complete()
        self._finished = True
        return self._status.value

    @workflow.query
    def status(self) -> str | None:
        return self._status.value

    @workflow.query
    def stage(self) -> JobStage:
        """Where the job's day stands: the next reminder, the technician's progress, the billing."""
        status = self._status.value or (self._state.status if self._state else None)
        if self._state is None or status is None:
            return JobStage("loading", "starting: reading the job")
        if status == JobStatus.scheduled.value:
            due = self._due_reminder()
            if due is None:
                return JobStage(status, "scheduled: reminders done, waiting for the technician")
            kinds, at = due
            what = "1-hour" if kinds[-1] == "reminder_1h" else "24-hour"
            return JobStage(status, f"scheduled: next, the {what} reminder", at.isoformat())
        if status == JobStatus.completed.value and self._completed_here:
            if self._finished:
                return JobStage(status, "done: invoiced; the done text and the review request as switched on")
            return JobStage(status, "completing: billing the job, texting the customer, queuing the review")
        return JobStage(status, STAGES.get(status, status))

    # updates

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
        snapshot = await self._status.change(RecordsActivities.change_job_status, request)
        if self._state is not None:
            self._state.status = snapshot.status
            if snapshot.status == JobStatus.unscheduled.value:
                self._state.scheduled_start = self._state.scheduled_end = None
        self._changes += 1
        self._completed_here |= snapshot.status == JobStatus.completed.value
        if snapshot.status == JobStatus.on_the_way.value:
            self._pending.append("on_the_way")
        return snapshot

    @change_status.validator
    def _validate_change(self, change: JobStatusChange) -> None:
        if change.target not in STATUSES:
            raise ValueError(f"unknown job status {change.target!r}; one of {', '.join(sorted(STATUSES))}")

    @workflow.update
    async def reschedule(self, request: JobReschedule) -> JobSnapshot:
        await workflow.wait_condition(lambda: self._state is not None)
        moved = Reschedule(
            job_id=self._input.job_id,
            company_id=self._input.company_id,
            scheduled_start=request.scheduled_start,
            scheduled_end=request.scheduled_end,
            actor=request.actor,
            actor_user_id=request.actor_user_id,
            workflow_id=workflow.info().workflow_id,
            step_key=step_key(),
        )
        was = self._state.status
        self._know(await self._status.change(JobActivities.reschedule_job, moved))
        self._changes += 1
        self._pending.append("rescheduled")
        if was == JobStatus.unscheduled.value and self._state.status == JobStatus.scheduled.value:
            self._pending.append("booked")
        return JobSnapshot(self._state.status)

    @reschedule.validator
    def _validate_reschedule(self, request: JobReschedule) -> None:
        for name in ("scheduled_start", "scheduled_end"):
            value = getattr(request, name)
            if value is not None and datetime.fromisoformat(value).tzinfo is None:
                raise ValueError(f"{name} needs its UTC offset")

    @workflow.update
    async def reassign(self, request: JobReassign) -> JobSnapshot:
        await workflow.wait_condition(lambda: self._state is not None)
        change = Reassign(
            job_id=self._input.job_id,
            company_id=self._input.company_id,
            user_id=request.user_id,
            actor=request.actor,
            actor_user_id=request.actor_user_id,
            workflow_id=workflow.info().workflow_id,
            step_key=step_key(),
        )
        reassigned = await self._status.change(JobActivities.assign_job, change)
        self._know(reassigned.state)
        self._changes += 1
        if request.user_id and request.user_id != reassigned.previous_user_id:
            self._pending.append(f"assigned:{request.user_id}")
        return JobSnapshot(self._state.status)

    # the day's reactions

    async def _react(self) -> None:
        """Act on what the updates changed, in the order they happened."""
        while self._pending:
            what = self._pending.pop(0)
            try:
                if what == "on_the_way":
                    await self._text("on_the_way", f"omw-{workflow.now().isoformat()}")
                elif what == "rescheduled":
                    await self._confirm_new_time()
                elif what.startswith("assigned:"):
                    await self._tell_technician(what.removeprefix("assigned:"))
                elif what == "booked":
                    await self._order_parts()
            except ActivityError as error:
                workflow.logger.warning(
                    "job %s: %s could not be handled: %s", self._input.job_id, what, error
                )

    def _due_reminder(self) -> tuple[list[str], datetime] | None:
        """The reminder to send next and when, with every reminder it stands for (a reschedule into the
        24-hour window sends only the 1-hour one when both are past). None when none is due any more."""
        if (
            self._state is None
            or self._state.status != JobStatus.scheduled.value
            or not self._state.scheduled_start
        ):
            return None
        start = datetime.fromisoformat(self._state.scheduled_start)
        now = workflow.now()
        waiting = [
            (kind, start - ahead)
            for kind, ahead in REMINDERS
            if f"{kind}@{start.isoformat()}" not in self._reminded
        ]
        if not waiting or now >= start:
            return None
        late = [kind for kind, at in waiting if at <= now]
        if late:
            return late, now  # still due: send the latest-applicable one now, once
        kind, at = waiting[0]
        return [kind], at

    def _skip_past_reminders(self) -> None:
        due = self._due_reminder()
        if due and due[1] <= workflow.now():
            start = datetime.fromisoformat(self._state.scheduled_start).isoformat()
            self._reminded.update(f"{kind}@{start}" for kind in due[0])

    async def _remind(self, kinds: list[str], _at: datetime) -> None:
        start = self._state.scheduled_start
        for kind in kinds:
            self._reminded.add(f"{kind}@{datetime.fromisoformat(start).isoformat()}")
        try:
            await self._text(kinds[-1], f"{kinds[-1]}-{start}")
        except ActivityError as error:
            workflow.logger.warning("job %s: reminder not sent: %s", self._input.job_id, error)

    async def _text(self, kind: str, purpose: str, pay_url: str | None = None) -> None:
        text = await workflow.execute_activity_method(
            JobActivities.job_text,
            JobTextRequest(
                self._input.job_id,
                self._input.company_id,
                kind,
                workflow.info().workflow_id,
                purpose,
                pay_url,
            ),
            **DB,
        )
        if text.allowed and text.to:
            await send(SmsRequest(self._target(purpose, text.customer_id), text.to, text.body))

    async def _confirm_new_time(self) -> None:
        """The customer's confirmation again, with the new time (`send_job_scheduled_sms` for the text)."""
        start = self._state.scheduled_start
        confirmation = await workflow.execute_activity_method(
            SchedulingActivities.confirmation, self._ref(), **DB
        )
        if confirmation.customer_email:
            email = EmailRequest(
                self._target(f"rescheduled-{start}-email"),
                confirmation.customer_email,
                confirmation.email_subject,
                confirmation.email_html,
                confirmation.email_text,
            )
            await send(email)
        if confirmation.customer_phone and await self._allowed(
            "send_job_scheduled_sms", f"rescheduled-{start}", confirmation.customer_id
        ):
            target = self._target(f"rescheduled-{start}-sms", confirmation.customer_id)
            await send(SmsRequest(target, confirmation.customer_phone, confirmation.customer_sms))

    async def _tell_technician(self, user_id: str) -> None:
        confirmation = await workflow.execute_activity_method(
            SchedulingActivities.confirmation, self._ref(), **DB
        )
        if confirmation.technician_id != user_id or not confirmation.technician_phone:
            return  # reassigned again since, or no phone to text
        if await self._allowed("send_job_assigned_sms", f"assigned-{user_id}-{self._state.scheduled_start}"):
            target = self._target(f"assigned-{user_id}-{self._state.scheduled_start}")
            await send(SmsRequest(target, confirmation.technician_phone, confirmation.technician_sms))

    async def _order_parts(self) -> None:
        """Have the parts this job's services list in stock before the technician arrives."""
        if not workflow.patched("parts-ordering"):
            return  # a run begun before parts ordering existed keeps the commands it recorded
        try:
            await workflow.execute_activity_method(PurchasingCalls.order_parts_for_job, self._ref(), **DB)
        except ActivityError as error:
            workflow.logger.warning("job %s: parts ordering not requested: %s", self._input.job_id, error)

    async def _complete(self) -> None:
        """Bill the job, tell the customer, and start the review request: each step once."""
        pay_url = None
        try:
            invoice = await workflow.execute_activity_method(JobActivities.invoice_for_job, self._ref(), **DB)
            if invoice.invoice_id is not None:  # None: a job without line items, nothing to bill
                collected = await workflow.execute_activity_method(
                    WorkflowCalls.collect_invoice,
                    CollectRequest(invoice.invoice_id, self._input.company_id, "job_completion"),
                    start_to_close_timeout=timedelta(minutes=2),
                    retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=1), maximum_attempts=10),
                )
                # The link only while the customer can pay through it (a draft's link opens nothing).
                pay_url = collected.pay_url if collected.status in OPEN_INVOICE else None
        except ActivityError as error:
            workflow.logger.warning(
                "job %s: the invoice could not be collected: %s", self._input.job_id, error
            )
        try:
            await self._text("completed", "completed", pay_url)
        except ActivityError as error:
            workflow.logger.warning("job %s: the completed text was not sent: %s", self._input.job_id, error)
        await workflow.execute_activity_method(
            WorkflowCalls.start_review, ReviewStart(self._input.job_id, self._input.company_id), **DB
        )

    # helpers

    def _know(self, state: JobState) -> None:
        self._state = state
        self._status.value = state.status

    def _ref(self) -> JobRef:
        return JobRef(self._input.job_id, self._input.company_id)

    def _target(self, purpose: str, customer_id: str | None = None) -> MessageTarget:
        return message_target(self._input.company_id, "job", self._input.job_id, purpose, customer_id)

    async def _allowed(self, key: str, step: str, customer_id: str | None = None) -> bool:
        company, job = self._input.company_id, self._input.job_id
        return (await gate(company, key, key, "job", job, step, customer_id)).allowed

    async def _send(self, request: SmsRequest | EmailRequest) -> None:
        await send(request)
