"""Purchasing flows (spec Workflow 9): the company's reorder workflow and each purchase order's workflow.

ReorderWorkflow, `reorder-{company id}`: the one place a company's automated ordering happens, so it
happens one pass at a time. Signalled (signal-with-start) when a logged part or a count leaves an item at
or below its reorder point, and when a job whose services list parts is booked.
Requests that arrive together (two technicians logging parts at the same moment, several items dropping
in one job) are gathered for a couple of seconds and planned in one pass (`plan_reorder`): low items go
on their supplier's draft (`supplier_reorder`), and the booked jobs' shortfall too
(`autonomous_parts_ordering`), each under its switch read at that moment; one draft per supplier collects
every item, and quantities count what is already on order, so no item is ordered twice. Each draft the
pass filled is then handed to its purchase order workflow to send. After a quiet spell the run ends; the
next request starts another. Signals: `request(ReorderRequest)`.

PurchaseOrderWorkflow, `po-{purchase order id}`: sends one purchase order to its supplier, once. It marks
the draft sent first (its lines are frozen: a reorder arriving meanwhile starts a new draft), then emails
the PDF (message row keyed by this workflow and step, Resend's idempotency key). An automation's email is
retried for up to an hour; a person's for less than the API waits, so they get the outcome in the answer.
When the email cannot go out it puts the order back to draft, logs it and tells the person who asked (or
the office); a supplier without an email address leaves it a draft. A person gets the refusal (422); when
an automation asked, the office is told why and the action log says so.
Updates: `send(SendPurchaseOrder) -> PurchaseOrderSnapshot` (the office's Send; refused while a send is
under way). Signals: `send_automatically(AutoSend)` (from the reorder workflow; the automation's
switch is read again).

ReorderBackstopWorkflow, `reorder-backstop`: run hourly by a Temporal Schedule (worker.py), it asks the
reorder workflow of each company with `supplier_reorder` on about every item a pass would order now, for
what the real-time path missed (Temporal unreachable when a part was logged, the switch turned on after
items went low, a cancelled order). A pass counts what is on order, so nothing is ordered twice.
"""

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.record_status import step_key
from workflows.steps import SEND_RETRY, gate, message_target, send

with workflow.unsafe.imports_passed_through():
    from activities.errors import root_cause
    from activities.messaging import EmailAttachment, EmailRequest, MessagingActivities
    from activities.purchasing import (
        INVALID_REQUEST,
        NOT_EMAILED,
        AutoSend,
        AutoSendRequest,
        IssueRequest,
        LowStock,
        NotSent,
        PurchaseOrderInput,
        PurchaseOrderSnapshot,
        PurchasingActivities,
        PurchasingCalls,
        ReorderBatch,
        ReorderInput,
        ReorderRequest,
    )
    from activities.records import INVALID_TRANSITION, NOT_FOUND

SETTLE = timedelta(seconds=2)  # how long a pass waits for requests arriving with the first
QUIET = timedelta(minutes=5)  # a run with nothing to do for this long ends
# A person's Send waits for its answer, and the API for 30 s: their email is retried for less than that.
# An attempt is longer than the SDK's 15 s HTTP timeout, so only a retry is ever cut short.
PERSON_EMAIL_ATTEMPT = timedelta(seconds=18)
PERSON_EMAIL_BUDGET = timedelta(seconds=20)
DB = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(
        maximum_interval=timedelta(seconds=10),
        non_retryable_error_types=[INVALID_TRANSITION, NOT_FOUND, INVALID_REQUEST],
    ),
}


@workflow.defn
class ReorderWorkflow:
    @workflow.init
    def __init__(self, input: ReorderInput) -> None:
        self._items: list[str] = []
        self._jobs: list[str] = []
        if input.pending is not None:
            self._add(input.pending)

    @workflow.signal
    def request(self, request: ReorderRequest) -> None:
        self._add(request)

    @workflow.run
    async def run(self, input: ReorderInput) -> int:
        """Plan passes while requests come; answers how many purchase orders its passes filled."""
        filled = 0
        while True:
            try:
                await workflow.wait_condition(self._waiting, timeout=QUIET)
            except TimeoutError:
                pass
            if not self._waiting():  # a request that raced the timeout is still handled
                return filled
            await workflow.sleep(SETTLE)
            batch = ReorderBatch(
                company_id=input.company_id,
                workflow_id=workflow.info().workflow_id,
                step=f"pass-{workflow.uuid4()}",
                item_ids=self._items,
                job_ids=self._jobs,
            )
            self._items, self._jobs = [], []
            plan = await workflow.execute_activity_method(PurchasingActivities.plan_reorder, batch, **DB)
            for order in plan.orders:
                request = AutoSendRequest(order.purchase_order_id, input.company_id, order.automation_key)
                await workflow.execute_activity_method(PurchasingCalls.send_automatically, request, **DB)
            filled += len(plan.orders)
            if workflow.info().is_continue_as_new_suggested():
                pending = ReorderRequest(self._items, self._jobs)
                workflow.continue_as_new(ReorderInput(input.company_id, pending))

    def _waiting(self) -> bool:
        return bool(self._items or self._jobs)

    def _add(self, request: ReorderRequest) -> None:
        self._items.extend(i for i in request.item_ids if i not in self._items)
        self._jobs.extend(j for j in request.job_ids if j not in self._jobs)


@dataclass
class SendPurchaseOrder:
    actor: str
    actor_user_id: str | None = None


@workflow.defn
class PurchaseOrderWorkflow:
    @workflow.init
    def __init__(self, input: PurchaseOrderInput) -> None:
        self._input = input
        self._automation: str | None = None  # the automation that asked for a send
        self._status: str | None = None
        self._one_at_a_time = asyncio.Lock()

    @workflow.run
    async def run(self, input: PurchaseOrderInput) -> str | None:
        await workflow.wait_condition(
            lambda: self._automation is not None or workflow.all_handlers_finished()
        )
        if self._automation is not None:
            await self._send_automatically(self._automation)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._status

    @workflow.signal
    def send_automatically(self, request: AutoSend) -> None:
        self._automation = self._automation or request.automation_key

    @workflow.update
    async def send(self, request: SendPurchaseOrder) -> PurchaseOrderSnapshot:
        issue = self._issue(step_key(), request.actor, request.actor_user_id)
        return await self._send(issue, automation_key=None)

    @send.validator
    def _check_send(self, request: SendPurchaseOrder) -> None:
        # A second Send while this run is sending (a double click, or the automation's send under way)
        # is refused before it enters history. A run ends with its send, so whether the order was sent
        # before is the database's to say, when the send is issued.
        if self._one_at_a_time.locked():
            raise ApplicationError(
                "purchase order is being sent: wait for that answer", type=INVALID_TRANSITION
            )

    async def _send_automatically(self, key: str) -> None:
        step = f"{workflow.info().run_id}/auto"
        company, order = self._input.company_id, self._input.purchase_order_id
        if not (await gate(company, key, "send_purchase_order", "purchase_order", order, step)).allowed:
            return
        issue = self._issue(f"{workflow.info().workflow_id}/{step}", f"automation:{key}")
        try:
            await self._send(issue, automation_key=key)
        except ActivityError as error:  # sent by hand meanwhile, or not sendable: the office was told
            workflow.logger.info("purchase order %s not sent automatically: %s", order, error.cause)

    async def _send(self, issue: IssueRequest, automation_key: str | None) -> PurchaseOrderSnapshot:
        async with self._one_at_a_time:
            try:
                email = await self._db(PurchasingActivities.issue_purchase_order, issue)
            except ActivityError as error:
                # Nothing to send, or nowhere to send it: a person hears it in the answer, the office here.
                if automation_key is not None and _refusal_type(error) == INVALID_REQUEST:
                    await self._not_sent(issue, _message(error), automation_key, reopen=False)
                raise
            # One email per send step: a retry finds its message row, and Resend its idempotency key.
            purpose = "purchase_order " + issue.step_key.removeprefix(f"{issue.workflow_id}/")
            target = message_target(
                self._input.company_id, "purchase_order", issue.purchase_order_id, purpose
            )
            target.automation_key = automation_key
            attachment = EmailAttachment(email.pdf_filename, email.pdf_base64)
            request = EmailRequest(target, email.to, email.subject, email.html, email.text, [attachment])
            try:
                await self._email(request, automation_key)
            except ActivityError as error:
                reason = f"the email to {email.to} could not be sent ({_message(error)})"
                await self._not_sent(issue, reason, automation_key, reopen=True, purpose=purpose)
                if self._status == "sent":  # it went after all
                    return PurchaseOrderSnapshot(self._status)
                if automation_key is None:  # the person's answer: why, as a refusal of their request
                    raise ApplicationError(
                        f"{reason}; it stays a draft", type=NOT_EMAILED, non_retryable=True
                    ) from None
                raise
            self._status = "sent"
            return PurchaseOrderSnapshot(self._status)

    async def _email(self, request: EmailRequest, automation_key: str | None) -> None:
        if automation_key is not None:
            await send(request)  # nobody waits: retried for up to an hour
            return
        await workflow.execute_activity_method(
            MessagingActivities.send_email,
            request,
            start_to_close_timeout=PERSON_EMAIL_ATTEMPT,
            schedule_to_close_timeout=PERSON_EMAIL_BUDGET,
            retry_policy=SEND_RETRY,
        )

    async def _not_sent(
        self,
        issue: IssueRequest,
        reason: str,
        automation_key: str | None,
        reopen: bool,
        purpose: str | None = None,
    ):
        request = NotSent(
            purchase_order_id=issue.purchase_order_id,
            company_id=issue.company_id,
            reason=reason,
            workflow_id=issue.workflow_id,
            step_key=issue.step_key,
            reopen=reopen,
            automation_key=automation_key,
            actor_user_id=issue.actor_user_id,
            purpose=purpose,
        )
        self._status = (await self._db(PurchasingActivities.purchase_order_not_sent, request)).status

    def _issue(self, step: str, actor: str, actor_user_id: str | None = None) -> IssueRequest:
        return IssueRequest(
            purchase_order_id=self._input.purchase_order_id,
            company_id=self._input.company_id,
            actor=actor,
            workflow_id=workflow.info().workflow_id,
            step_key=step,
            actor_user_id=actor_user_id,
        )

    async def _db(self, activity_method, request):
        return await workflow.execute_activity_method(activity_method, request, **DB)


@workflow.defn
class ReorderBackstopWorkflow:
    """One sweep: each company's items a reorder pass would order now, to its reorder workflow."""

    @workflow.run
    async def run(self) -> int:
        """One sweep; answers how many companies' reorder workflows it asked."""
        due: list[LowStock] = await workflow.execute_activity_method(
            PurchasingActivities.items_to_reorder, **DB
        )
        for low in due:
            await workflow.execute_activity_method(PurchasingCalls.signal_reorder, low, **DB)
        return len(due)


def _refusal_type(error: ActivityError) -> str | None:
    cause = root_cause(error)
    return cause.type if isinstance(cause, ApplicationError) else None


def _message(error: ActivityError) -> str:
    return str(getattr(root_cause(error), "message", None) or root_cause(error))
