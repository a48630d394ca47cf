"""InvoiceWorkflow: the one writer of an invoice's status.

Workflow id `invoice-{invoice id}`; the API reaches it by update-with-start, so the first status change
starts it and later ones join the running flow.

Updates (each answers with the persisted `InvoiceSnapshot`, or fails with `InvalidTransition`):
- `mark_sent(StatusChangeInput)`: the invoice went out by hand.
- `mark_paid(MarkPaidInput)`: cash, check or other payment received; records the payment.
- `void(StatusChangeInput)`: cancel the invoice but keep it on record.
- `record_provider_payment(ProviderPaymentInput)`: Stripe reports a payment online; settles the invoice
  even from Draft (the money has moved), or records a partial payment and leaves it open.
Queries:
- `status()`: the last status this workflow wrote, or None before its first change.

The run ends once the invoice is Paid or Void, and continues as new if its history grows long.
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
        ChangeInvoiceStatus,
        InvoiceSnapshot,
        PaymentDetails,
        RecordsActivities,
    )
    from models.enums import InvoiceStatus, PaymentMethod

RECORDS_RETRY = RetryPolicy(
    maximum_interval=timedelta(seconds=10), non_retryable_error_types=[INVALID_TRANSITION, NOT_FOUND]
)
FINAL = {InvoiceStatus.paid.value, InvoiceStatus.void.value}
PAYMENT_METHODS = {m.value for m in PaymentMethod}


@dataclass
class InvoiceInput:
    invoice_id: str
    company_id: str


@dataclass
class StatusChangeInput:
    actor: str
    actor_user_id: str | None = None


@dataclass
class MarkPaidInput:
    actor: str
    method: str
    received_on: str  # ISO date, in the company's calendar
    reference: str | None = None
    actor_user_id: str | None = None


@dataclass
class ProviderPaymentInput:
    payment_reference: str  # Stripe's payment intent id
    received_on: str  # ISO date
    method: str = "card"
    amount_cents: int | None = None  # what was paid; a partial payment leaves the invoice open


@workflow.defn
class InvoiceWorkflow:
    # @workflow.init: an update delivered with the start may run before `run`, and needs the input.
    @workflow.init
    def __init__(self, input: InvoiceInput) -> None:
        self._input = input
        self._status: str | None = None
        self._lock = asyncio.Lock()  # one status change at a time, in arrival order

    @workflow.run
    async def run(self, input: InvoiceInput) -> str | None:
        await workflow.wait_condition(
            lambda: self._status in FINAL or workflow.info().is_continue_as_new_suggested()
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self._status not in FINAL:
            workflow.continue_as_new(input)
        return self._status

    @workflow.query
    def status(self) -> str | None:
        return self._status

    @workflow.update
    async def mark_sent(self, change: StatusChangeInput) -> InvoiceSnapshot:
        return await self._change(InvoiceStatus.sent, change.actor, change.actor_user_id)

    @workflow.update
    async def mark_paid(self, paid: MarkPaidInput) -> InvoiceSnapshot:
        payment = PaymentDetails(paid.method, paid.received_on, paid.reference)
        return await self._change(InvoiceStatus.paid, paid.actor, paid.actor_user_id, payment)

    @mark_paid.validator
    def _validate_mark_paid(self, paid: MarkPaidInput) -> None:
        if paid.method not in PAYMENT_METHODS:
            raise ValueError(f"unknown payment method {paid.method!r}")

    @workflow.update
    async def void(self, change: StatusChangeInput) -> InvoiceSnapshot:
        return await self._change(InvoiceStatus.void, change.actor, change.actor_user_id)

    @workflow.update
    async def record_provider_payment(self, paid: ProviderPaymentInput) -> InvoiceSnapshot:
        payment = PaymentDetails(paid.method, paid.received_on, paid.payment_reference, paid.amount_cents)
        return await self._change(InvoiceStatus.paid, "stripe", None, payment, by_provider=True)

    async def _change(
        self,
        target: InvoiceStatus,
        actor: str,
        actor_user_id: str | None,
        payment: PaymentDetails | None = None,
        by_provider: bool = False,
    ) -> InvoiceSnapshot:
        info = workflow.info()
        change = ChangeInvoiceStatus(
            invoice_id=self._input.invoice_id,
            company_id=self._input.company_id,
            target=target.value,
            actor=actor,
            actor_user_id=actor_user_id,
            workflow_id=info.workflow_id,
            step_key=f"{info.workflow_id}/{workflow.current_update_info().id}",
            payment=payment,
            by_provider=by_provider,
        )
        async with self._lock:
            try:
                snapshot = await workflow.execute_activity_method(
                    RecordsActivities.change_invoice_status,
                    change,
                    start_to_close_timeout=timedelta(seconds=15),
                    # A person waits on this answer: give up (and tell them) rather than hang.
                    schedule_to_close_timeout=timedelta(minutes=1),
                    retry_policy=RECORDS_RETRY,
                )
            except ActivityError as failed:
                refusal = failed.cause
                if isinstance(refusal, ApplicationError) and refusal.type == INVALID_TRANSITION:
                    # Refused: learn the current status, so a run on a paid or void invoice ends.
                    # (Refusals recorded before the status rode along carry no details.)
                    self._status = refusal.details[0] if refusal.details else self._status
                raise
            self._status = snapshot.status
            return snapshot
