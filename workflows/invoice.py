"""InvoiceWorkflow: one invoice's life, from Send to Paid or Void (spec "Invoices" and Workflow 3).

Workflow id `invoice-{invoice id}`. The office's API, the customer's invoice page, Stripe's webhook and the
job workflow reach it by update-with-start, so the first of them starts it and later ones join the running
flow. It is the one writer of the invoice's status.

1. Send: the invoice email (PDF attached) with the customer's private link `/i/{token}`, and a text-to-pay
   SMS with the link (`send_text_to_pay_sms`, SMS consent); Sent.
2. Collect, when the job is completed: the saved card is charged off-session when the company offers card
   on file, `auto_charge_card_on_file` is on and the customer agreed to automatic charges; Paid. A declined
   card, or one that needs the customer present, is never charged again: the office is notified and the
   invoice goes out with its link instead. Without a card to charge, a draft is simply sent.
3. The customer opens the link: Viewed (from Sent only). Paying online goes through Stripe Checkout and
   comes back as Stripe's webhook (`record_provider_payment`).
4. At the end of the due date (company time) the invoice becomes Overdue; follow-ups go 3, 7 and 14 days
   after the due date (9:30 company time, on a weekday), each at most once, friendlier first and firmer
   later (words by the AI gateway, a template when it cannot answer): the email always (the spec's built-in
   follow-ups have no switch of their own), the text with `send_text_to_pay_sms` and consent.
   Paid or Void stops them at once.
5. Paid, whoever recorded it (the card, Stripe's webhook, the office by hand): a receipt SMS
   (`send_receipt_sms`, consent), at most once per invoice.
6. Every status change (sent, paid, void) queues the invoice's push on the company's QuickBooks workflow
   when the company is connected (runs begun before this step, with no `quickbooks-push` marker, do not).

Updates (each answers the persisted `InvoiceSnapshot` unless said; a refusal fails with `InvalidTransition`,
answered 409, or `InvalidRequest`, 422):
- `send(SendInvoice)`: email and text-to-pay; a draft becomes Sent, an open invoice is sent again.
- `mark_sent(StatusChangeInput)`: the invoice went out by hand: no messages.
- `mark_paid(MarkPaidInput)`: cash, check or other payment received; records the payment.
- `void(StatusChangeInput)`: cancel the invoice but keep it on record.
- `record_provider_payment(ProviderPaymentInput)`: Stripe (or QuickBooks, for a payment recorded there)
  reports a payment; settles the invoice even from Draft (the money has moved), or records a partial
  payment and leaves it open.
- `collect(CollectInvoice) -> CollectResult`: the job is done: charge the saved card, or send the invoice.
- `mark_viewed(MarkViewed)`: the customer opened the invoice page; never refused.
- `checkout(InvoiceCheckout) -> str`: the Stripe page where the customer pays the balance.
Queries:
- `status()`: the last status this workflow wrote, or None before its first change.

The run ends once the invoice is Paid or Void, and continues as new if its history grows long. Runs that
began before steps 4 and 5 existed (no `invoice-life` marker in their history) keep waiting as they did.
"""

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.record_status import RecordStatus, step_key
from workflows.steps import gate, message_target, send, send_text

with workflow.unsafe.imports_passed_through():
    from activities.ai import AiRequest
    from activities.automations import GateDecision
    from activities.invoicing import (
        DeclineAlert,
        InvoiceMessages,
        InvoiceMessagesRequest,
        InvoiceRef,
        InvoiceState,
        InvoicingActivities,
        MoveInvoice,
        PaymentRequest,
        PlannedFollowUp,
        company_date,
    )
    from activities.messaging import (
        EmailAttachment,
        EmailRequest,
        MessageTarget,
        SendResult,
    )
    from activities.payments import PAYMENT_ERRORS, ChargeInput, CheckoutInput, PaymentsActivities
    from activities.quickbooks import QuickBooksActivities, RecordRef
    from activities.quotes import INVALID_REQUEST
    from activities.records import (
        INVALID_TRANSITION,
        NOT_FOUND,
        ChangeInvoiceStatus,
        InvoiceSnapshot,
        PaymentDetails,
        RecordsActivities,
    )
    from models.enums import InvoiceStatus, PaymentMethod
    from workflows.ai import generate_text

FINAL = {InvoiceStatus.paid.value, InvoiceStatus.void.value}
OPEN = {InvoiceStatus.sent.value, InvoiceStatus.viewed.value, InvoiceStatus.overdue.value}
NOT_YET_OVERDUE = [InvoiceStatus.sent.value, InvoiceStatus.viewed.value]
PAYMENT_METHODS = {m.value for m in PaymentMethod}
# Marks the runs that follow the invoice after Send (overdue, follow-ups, receipt); older runs only wait.
LIFE_PATCH = "invoice-life"
# Marks the runs that queue a QuickBooks push after each status change.
QUICKBOOKS_PATCH = "quickbooks-push"
# A status the clock causes is tried again this long after the database could not take it.
SYSTEM_CHANGE_RETRY = timedelta(minutes=10)

REFUSALS = [INVALID_TRANSITION, NOT_FOUND, INVALID_REQUEST]
DB_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=10), non_retryable_error_types=REFUSALS)
STRIPE_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=10), non_retryable_error_types=PAYMENT_ERRORS)


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
    provider: str = "stripe"  # who reports it: "stripe", or "quickbooks" for a payment recorded there


@dataclass
class SendInvoice:
    actor: str  # "user:<email>", "api_key:<prefix>"
    actor_user_id: str | None = None


@dataclass
class CollectInvoice:
    actor: str  # who completed the job: "user:<email>", "job:<id>"


@dataclass
class CollectResult:
    status: str  # the invoice's status afterwards
    charged: bool  # this call charged the saved card
    reason: str | None  # why the card was not charged (declined, not eligible, already paid); None if it was
    pay_url: str  # the customer's invoice page, to pay online


@dataclass
class MarkViewed:
    pass


@dataclass
class InvoiceCheckout:
    success_url: str  # where Stripe sends the customer after paying
    cancel_url: str


def _refuse(message: str, kind: str = INVALID_TRANSITION) -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


def _refused(error: ActivityError) -> bool:
    return isinstance(error.cause, ApplicationError) and error.cause.type in REFUSALS


@workflow.defn
class InvoiceWorkflow:
    # @workflow.init: an update delivered with the start may run before `run`, and needs the input.
    @workflow.init
    def __init__(self, input: InvoiceInput) -> None:
        self._input = input
        self._status = RecordStatus()
        self._current: str | None = None  # the invoice's status as last learnt, read or written
        self._changes = 0  # status changes finished, so a read that overlapped one is not believed
        self._paid_here = False  # a change of this run paid the invoice: the receipt is due
        self._one_at_a_time = asyncio.Lock()  # sends, charges and follow-ups never overlap

    @workflow.run
    async def run(self, input: InvoiceInput) -> str | None:
        if not workflow.patched(LIFE_PATCH):
            return await self._status.run_until_final(FINAL, input)
        await self._follow_until_closed()
        if self._paid_here:
            await self._send_receipt()
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self._current not in FINAL:
            workflow.continue_as_new(input)
        return self._current

    @workflow.query
    def status(self) -> str | None:
        return self._status.value

    # the office's and Stripe's status changes

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
        return await self._change(InvoiceStatus.paid, paid.provider, None, payment, by_provider=True)

    # sending, collecting, the customer's page

    @workflow.update
    async def send(self, request: SendInvoice) -> InvoiceSnapshot:
        async with self._one_at_a_time:
            return await self._send("sent", request.actor, request.actor_user_id)

    @workflow.update
    async def collect(self, request: CollectInvoice) -> CollectResult:
        async with self._one_at_a_time:
            key = workflow.current_update_info().id
            ref = self._ref()
            payment = await self._db(
                InvoicingActivities.invoice_payment,
                PaymentRequest(ref.invoice_id, ref.company_id, workflow.info().workflow_id, f"charge-{key}"),
            )
            if payment.status in FINAL:
                return CollectResult(
                    payment.status, False, f"the invoice is already {payment.status}", payment.pay_url
                )
            reason = payment.auto_charge_refusal
            if reason is None:
                gate = await self._gate("auto_charge_card_on_file", "charge_card_on_file", f"charge-{key}")
                reason = gate.reason if not gate.allowed else None
            if reason is not None:
                status = payment.status
                if status == InvoiceStatus.draft.value:
                    status, problem = await self._send_quietly("sent", request.actor, status)
                    reason = f"{reason}; {problem}" if problem else reason
                return CollectResult(status, False, reason, payment.pay_url)

            charge = ChargeInput(
                invoice_id=ref.invoice_id,
                attempt=1,  # the only attempt: a declined card is not charged again for this invoice
                amount_cents=payment.balance_cents,
                currency=payment.currency,
                stripe_customer_id=payment.stripe_customer_id,
                payment_method_id=payment.payment_method_id,
                description=f"Invoice #{payment.number}",
                stripe_account=payment.stripe_account,
            )
            try:
                # Retried until Stripe answers (same idempotency key each time): whether the money moved
                # must be known before anything else is done about this invoice.
                charged = await workflow.execute_activity_method(
                    PaymentsActivities.charge_card_on_file,
                    charge,
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=STRIPE_RETRY,
                )
                declined = None if charged.status == "succeeded" else f"the charge is {charged.status}"
            except ActivityError as failed:
                cause = failed.cause
                if not (isinstance(cause, ApplicationError) and cause.type in PAYMENT_ERRORS):
                    raise
                declined = cause.message
            if declined is not None:
                await self._db(
                    InvoicingActivities.notify_office_of_decline,
                    DeclineAlert(
                        ref.invoice_id, ref.company_id, declined, workflow.info().workflow_id, step_key()
                    ),
                )
                status, problem = await self._send_quietly("card_declined", request.actor, payment.status)
                return CollectResult(
                    status, False, f"{declined}; {problem}" if problem else declined, payment.pay_url
                )

            paid = PaymentDetails(
                PaymentMethod.card.value,
                company_date(workflow.now(), payment.timezone),
                charged.payment_intent_id,
                charged.amount_cents,
            )
            snapshot = await self._record_charge(request.actor, paid)
            return CollectResult(snapshot.status, True, None, payment.pay_url)

    @workflow.update
    async def mark_viewed(self, _: MarkViewed) -> InvoiceSnapshot:
        async with self._one_at_a_time:
            move = self._move(InvoiceStatus.viewed, [InvoiceStatus.sent.value], "customer", step_key())
            try:
                return await self._record(InvoicingActivities.move_invoice, move)
            except ActivityError:
                # The customer only opened a page: whatever went wrong is not theirs to see.
                state = await self._load()
                return InvoiceSnapshot(state.status, state.amount_paid_cents, state.total_cents)

    @workflow.update
    async def checkout(self, request: InvoiceCheckout) -> str:
        async with self._one_at_a_time:
            ref = self._ref()
            payment = await self._db(
                InvoicingActivities.invoice_payment, PaymentRequest(ref.invoice_id, ref.company_id)
            )
            if payment.status == InvoiceStatus.draft.value:
                raise _refuse("this invoice has not been sent yet")
            if payment.status == InvoiceStatus.paid.value:
                raise _refuse("this invoice is already paid")
            if payment.status == InvoiceStatus.void.value:
                raise _refuse("this invoice was voided: nothing is due")
            if payment.balance_cents <= 0:
                raise _refuse("nothing is due on this invoice")
            checkout = await workflow.execute_activity_method(
                PaymentsActivities.create_invoice_checkout,
                CheckoutInput(
                    invoice_id=ref.invoice_id,
                    invoice_number=payment.number,
                    amount_cents=payment.balance_cents,
                    currency=payment.currency,
                    success_url=request.success_url,
                    cancel_url=request.cancel_url,
                    stripe_customer_id=payment.stripe_customer_id,
                    stripe_account=payment.stripe_account,
                ),
                start_to_close_timeout=timedelta(seconds=20),
                # The customer is on the page waiting: give up (and say so) rather than hang.
                schedule_to_close_timeout=timedelta(minutes=1),
                retry_policy=STRIPE_RETRY,
            )
            return checkout.url

    @checkout.validator
    def _validate_checkout(self, request: InvoiceCheckout) -> None:
        for url in (request.success_url, request.cancel_url):
            if not url.startswith(("https://", "http://")):
                raise ValueError(f"{url!r} is not a web address")

    # the invoice's own steps

    async def _send(self, kind: str, actor: str, actor_user_id: str | None = None) -> InvoiceSnapshot:
        """Email (PDF attached) and text-to-pay, each with the link, once per update; a draft becomes Sent."""
        messages = await self._db(InvoicingActivities.invoice_messages, self._messages_request(kind))
        key = workflow.current_update_info().id
        attachments = (
            [EmailAttachment(messages.pdf_filename, messages.pdf_base64)] if messages.pdf_base64 else []
        )
        emailed = messages.email_to is not None
        if emailed:
            await self._email(
                f"invoice-{key}",
                messages.email_to,
                messages.subject,
                messages.html,
                messages.text,
                attachments,
            )
        if messages.sms_to:
            texted = await self._text_to_pay(messages, f"invoice-{key}-sms", fatal=not emailed)
            if not emailed and texted.outcome != "sent":
                raise _refuse(
                    f"the customer has no email address and cannot be texted ({texted.reason})",
                    INVALID_REQUEST,
                )
        if messages.status == InvoiceStatus.draft.value:
            return await self._change(InvoiceStatus.sent, actor, actor_user_id)
        return InvoiceSnapshot(messages.status, messages.amount_paid_cents, messages.total_cents)

    async def _send_quietly(self, kind: str, actor: str, status: str) -> tuple[str, str | None]:
        """`_send` for collect, which has settled the money by then and reports trouble instead of failing:
        (the invoice's status afterwards, what went wrong)."""
        try:
            return (await self._send(kind, actor)).status, None
        except ActivityError as failed:
            why = failed.cause.message if isinstance(failed.cause, ApplicationError) else str(failed)
        except ApplicationError as refused:
            why = refused.message
        workflow.logger.warning("invoice %s could not be sent: %s", self._input.invoice_id, why)
        return status, f"the invoice could not be sent: {why}"

    async def _text_to_pay(self, messages: InvoiceMessages, purpose: str, fatal: bool) -> SendResult:
        gate = await self._gate("send_text_to_pay_sms", "send_text_to_pay_sms", purpose, messages.customer_id)
        if not gate.allowed:
            return SendResult("skipped", reason=gate.reason)
        return await self._text(purpose, messages.sms_to, messages.sms_body, messages.customer_id, fatal)

    async def _record_charge(self, actor: str, paid: PaymentDetails) -> InvoiceSnapshot:
        """The card was charged: record it, however long the database takes (the money has moved)."""
        while True:
            try:
                return await self._change(InvoiceStatus.paid, actor, None, paid, by_provider=True)
            except ActivityError as failed:
                if _refused(failed):
                    raise
                workflow.logger.warning("invoice %s: charged, recording it again", self._input.invoice_id)
                await workflow.sleep(timedelta(seconds=30))

    async def _follow_until_closed(self) -> None:
        """Overdue at the end of the due date, then the follow-ups, until the invoice is paid or void."""
        state = await self._load()
        await workflow.wait_condition(lambda: self._current in OPEN or self._closed())
        if self._closed():
            return
        if state.status not in OPEN:
            state = await self._load()  # sent since it was read: its due date as sent
        if self._current in NOT_YET_OVERDUE:
            if await self._closed_before(datetime.fromisoformat(state.overdue_at)):
                return
            await self._turn_overdue()
        for i, follow_up in enumerate(state.follow_ups):
            if await self._closed_before(datetime.fromisoformat(follow_up.at)):
                return
            later = state.follow_ups[i + 1 :]
            if later and datetime.fromisoformat(later[0].at) <= workflow.now():
                continue  # a run catching up late sends only the latest follow-up due, not every one
            if follow_up.purpose not in state.follow_ups_sent:
                await self._follow_up(follow_up)
        await workflow.wait_condition(self._closed)

    def _closed(self) -> bool:
        return self._current in FINAL or workflow.info().is_continue_as_new_suggested()

    async def _closed_before(self, moment: datetime) -> bool:
        wait = moment - workflow.now()
        if wait <= timedelta(0):
            return self._closed()
        try:
            await workflow.wait_condition(self._closed, timeout=wait)
            return True
        except TimeoutError:
            return False

    async def _turn_overdue(self) -> None:
        while True:
            async with self._one_at_a_time:
                if self._current not in NOT_YET_OVERDUE:
                    return
                move = self._move(InvoiceStatus.overdue, NOT_YET_OVERDUE, "system", self._step("overdue"))
                try:
                    await self._record(InvoicingActivities.move_invoice, move)
                    return
                except ActivityError as failed:
                    if _refused(failed):
                        return
                    workflow.logger.warning("invoice %s: Overdue not recorded yet", self._input.invoice_id)
            if await self._closed_before(workflow.now() + SYSTEM_CHANGE_RETRY):
                return

    async def _follow_up(self, follow_up: PlannedFollowUp) -> None:
        request = self._messages_request(follow_up.tone, days_overdue=follow_up.days)
        prompt = await self._db(InvoicingActivities.reminder_prompt, request)
        if not prompt.reachable:
            return  # no address and no phone: nothing to write, nothing to pay the AI for
        # Outside the lock: the AI may take minutes, and the customer paying meanwhile must not wait.
        written = await generate_text(
            AiRequest(
                company_id=self._input.company_id,
                feature="invoice_followup",
                prompt=prompt.prompt,
                system=prompt.system,
                fallback=prompt.fallback,
            )
        )
        request.note = written.text
        async with self._one_at_a_time:
            if self._current not in OPEN:
                return  # paid or voided while the words were being written: no reminder after that
            messages = await self._db(InvoicingActivities.invoice_messages, request)
            try:
                if messages.email_to:
                    await self._email(
                        follow_up.purpose, messages.email_to, messages.subject, messages.html, messages.text
                    )
                if messages.sms_to:
                    await self._text_to_pay(messages, f"{follow_up.purpose}-sms", fatal=False)
            except ActivityError:
                workflow.logger.warning(
                    "invoice %s: the %s follow-up could not be sent", self._input.invoice_id, follow_up.tone
                )

    async def _send_receipt(self) -> None:
        messages = await self._db(InvoicingActivities.invoice_messages, self._messages_request("receipt"))
        if not messages.sms_to:
            return
        gate = await self._gate("send_receipt_sms", "send_receipt_sms", "receipt", messages.customer_id)
        if gate.allowed:
            # One purpose per invoice: however many runs see it paid, one receipt.
            await self._text("receipt", messages.sms_to, messages.sms_body, messages.customer_id, fatal=False)

    # helpers

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
        snapshot = await self._record(RecordsActivities.change_invoice_status, change)
        if target == InvoiceStatus.paid and snapshot.status == InvoiceStatus.paid.value:
            self._paid_here = True
        if workflow.patched(QUICKBOOKS_PATCH):
            await self._queue_quickbooks_push()
        return snapshot

    async def _queue_quickbooks_push(self) -> None:
        """QuickBooks gets the invoice as it is now, with its payments (when the company is connected).
        A local activity: the answer to the office does not wait on another round trip. Failing here
        fails nothing: the next full sync finds the invoice pending."""
        record = RecordRef(self._input.company_id, "invoice", self._input.invoice_id)
        try:
            await workflow.execute_local_activity_method(
                QuickBooksActivities.request_quickbooks_push,
                record,
                start_to_close_timeout=timedelta(seconds=10),
                schedule_to_close_timeout=timedelta(seconds=30),
            )
        except ActivityError:
            workflow.logger.warning("invoice %s: QuickBooks push not queued", self._input.invoice_id)

    async def _record(self, activity_method, request) -> InvoiceSnapshot:
        """A status change through RecordStatus (one at a time), remembered as the invoice's status."""
        try:
            return await self._status.change(activity_method, request)
        finally:
            self._changes += 1
            if self._status.value is not None:
                self._current = self._status.value

    async def _load(self) -> InvoiceState:
        changes_before = self._changes
        state = await self._db(InvoicingActivities.invoice_state, self._ref())
        if self._changes == changes_before:  # a change that finished meanwhile knows better
            self._current = state.status
        return state

    def _move(self, target: InvoiceStatus, only_from: list[str], actor: str, key: str) -> MoveInvoice:
        return MoveInvoice(
            invoice_id=self._input.invoice_id,
            company_id=self._input.company_id,
            target=target.value,
            only_from=only_from,
            actor=actor,
            workflow_id=workflow.info().workflow_id,
            step_key=key,
        )

    def _ref(self) -> InvoiceRef:
        return InvoiceRef(self._input.invoice_id, self._input.company_id)

    def _step(self, name: str) -> str:
        return f"{workflow.info().workflow_id}/{name}"

    def _messages_request(self, kind: str, days_overdue: int = 0) -> InvoiceMessagesRequest:
        return InvoiceMessagesRequest(
            self._input.invoice_id, self._input.company_id, kind, days_overdue=days_overdue
        )

    async def _gate(self, key: str, action: str, step: str, customer_id: str | None = None) -> GateDecision:
        company, invoice = self._input.company_id, self._input.invoice_id
        return await gate(company, key, action, "invoice", invoice, step, customer_id)

    def _target(self, purpose: str, customer_id: str | None) -> MessageTarget:
        return message_target(self._input.company_id, "invoice", self._input.invoice_id, purpose, customer_id)

    async def _email(self, purpose, to, subject, html, text, attachments=()) -> SendResult:
        return await send(
            EmailRequest(self._target(purpose, None), to, subject, html, text, list(attachments))
        )

    async def _text(
        self, purpose: str, to: str, body: str, customer_id: str | None, fatal: bool = True
    ) -> SendResult:
        return await send_text(self._target(purpose, customer_id), to, body, fatal)

    async def _db(self, activity_method, request):
        return await workflow.execute_activity_method(
            activity_method,
            request,
            start_to_close_timeout=timedelta(seconds=15),
            retry_policy=DB_RETRY,
        )
