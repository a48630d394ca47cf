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

from dataclasses import dataclass

from temporalio import workflow

from workflows.record_status import RecordStatus, step_key

with workflow.unsafe.imports_passed_through():
    from activities.records import (
        ChangeInvoiceStatus,
        InvoiceSnapshot,
        PaymentDetails,
        RecordsActivities,
    )
    from models.enums import InvoiceStatus, PaymentMethod

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
        self._status = RecordStatus()

    @workflow.run
    async def run(self, input: InvoiceInput) -> str | None:
        return await self._status.run_until_final(FINAL, input)

    @workflow.query
    def status(self) -> str | None:
        return self._status.value

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
        change = ChangeInvoiceStatus(
            invoice_id=self._input.invoice_id,
            company_id=self._input.company_id,
            target=target.value,
            actor=actor,
            actor_user_id=actor_user_id,
            workflow_id=workflow.info().workflow_id,
            step_key=step_key(),
            payment=payment,
            by_provider=by_provider,
        )
        return await self._status.change(RecordsActivities.change_invoice_status, change)
