"""QuoteWorkflow: one quote's journey, from Send to a scheduled job (spec Workflow 1 and 10).

Workflow id `quote-{quote id}`. The office's Send starts it (update-with-start); the customer's page
reaches it with the updates below. It reads the quote from the database when it starts, so a run begun
for a quote that is already sent or accepted picks up where the quote stands.

1. Send: the quote email (PDF attached) and, with consent, a text, both carrying the private link; Sent.
2. Follow-ups (`quote_followup`): a reminder 2 days and a nudge 5 days after sending, weekdays 9:30
   company time, each at most once; accepting or declining stops them.
3. Expiry: at the end of the expiry date the quote becomes Expired and the run ends.
4. Accept (signed), with the add-on choice frozen; or Decline, which ends the run.
5. Card on file, when the company offers it (before acceptance when it requires one).
6. The customer picks a start time; the job is created, Scheduled.
7. Assign (`agentic_scheduling`): the best free qualified technician, or admins are told to assign.
8. Confirm: SMS (`send_job_scheduled_sms`) and email to the customer; SMS to the technician
   (`send_job_assigned_sms`). The job's own workflow (`job-{id}`) then takes over its day.

Updates (a refusal fails with `InvalidTransition`, answered 409; unusable input with `InvalidRequest`, 422):
- `send(SendQuote) -> QuoteStage`
- `accept(AcceptQuote) -> QuoteStage`, `decline(DeclineQuote) -> QuoteStage`
- `start_card_setup(CardSetup) -> str` (the Stripe page to send the customer to),
  `card_saved(CardReturn) -> QuoteStage`, `skip_card(SkipCard) -> QuoteStage`
- `pick_time(PickTime) -> Booked` (`SlotTaken` when someone else got there first, answered 409)
Queries:
- `stage() -> QuoteStage`: where the journey stands, in words the office UI can show.
"""

import asyncio
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.steps import gate, message_target, send, send_text

with workflow.unsafe.imports_passed_through():
    from activities.maps import MAPS_ERRORS, MapsActivities, MatrixRequest, Point
    from activities.messaging import (
        EmailAttachment,
        EmailRequest,
        MessageTarget,
        SendResult,
    )
    from activities.payments import (
        PAYMENT_ERRORS,
        CardCheckoutInput,
        PaymentsActivities,
        SavedCardInput,
        StripeCustomerInput,
    )
    from activities.quotes import (
        INVALID_REQUEST,
        AcceptRequest,
        QuoteActivities,
        QuoteChange,
        QuoteMessagesRequest,
        QuoteRef,
        QuoteState,
        SaveCard,
    )
    from activities.records import INVALID_TRANSITION, NOT_FOUND
    from activities.scheduling import (
        SLOT_TAKEN,
        AdminAlert,
        AssignRequest,
        Booked,
        BookSlot,
        JobRef,
        SchedulingActivities,
    )
    from activities.workflow_calls import JobStart, WorkflowCalls
    from models.assignment import Candidate, choose_technician
    from models.time import follow_up_at, quote_expires_at

# Where a journey can stand, and how the office UI says it.
DRAFT, SENDING, WAITING_FOR_CUSTOMER = "draft", "sending", "waiting_for_customer"
WAITING_FOR_CARD, WAITING_FOR_TIME = "waiting_for_card", "waiting_for_time"
ASSIGNING, CONFIRMING, SCHEDULED = "assigning", "confirming", "scheduled"
DECLINED, EXPIRED = "declined", "expired"
DESCRIPTIONS = {
    DRAFT: "not sent yet",
    SENDING: "sending the quote to the customer",
    WAITING_FOR_CUSTOMER: "sent; waiting for the customer to accept or decline",
    WAITING_FOR_CARD: "accepted; waiting for the customer to save a card",
    WAITING_FOR_TIME: "waiting for the customer to pick a time",
    ASSIGNING: "booked; choosing a technician",
    CONFIRMING: "booked; sending the confirmations",
    SCHEDULED: "scheduled: the job is booked and confirmed",
    DECLINED: "declined by the customer",
    EXPIRED: "expired before the customer answered",
}
NOT_SENT = {DRAFT, DECLINED, EXPIRED}  # only a send moves these on
FOLLOW_UPS = (("reminder", 2), ("nudge", 5))  # kind, days after sending
ASSIGN_ATTEMPTS = 3  # a chosen technician may be booked by someone else meanwhile: choose again

REFUSALS = [INVALID_TRANSITION, NOT_FOUND, INVALID_REQUEST, SLOT_TAKEN]
DB_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=10), non_retryable_error_types=REFUSALS)
STRIPE_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=10), non_retryable_error_types=PAYMENT_ERRORS)


@dataclass
class QuoteInput:
    quote_id: str
    company_id: str


@dataclass
class QuoteStage:
    stage: str
    description: str
    job_id: str | None = None


@dataclass
class SendQuote:
    actor: str
    actor_user_id: str | None = None


@dataclass
class AcceptQuote:
    signed_name: str
    chosen_option_group: str | None = None
    selected_line_ids: list[str] | None = None


@dataclass
class DeclineQuote:
    reason: str | None = None


@dataclass
class CardSetup:
    auto_charge: bool
    success_url: str  # where Stripe sends the customer back; it fills in {CHECKOUT_SESSION_ID}
    cancel_url: str


@dataclass
class CardReturn:
    checkout_session_id: str


@dataclass
class SkipCard:
    pass


@dataclass
class PickTime:
    start: str  # ISO datetime with its offset


def _refuse(message: str, kind: str = INVALID_TRANSITION) -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


@workflow.defn
class QuoteWorkflow:
    @workflow.init
    def __init__(self, input: QuoteInput) -> None:
        self._input = input
        self._state: QuoteState | None = None
        self._stage = "loading"
        self._auto_charge = False
        self._booking: Booked | None = None
        self._one_at_a_time = asyncio.Lock()  # customer and office actions apply in arrival order

    @workflow.run
    async def run(self, input: QuoteInput) -> str:
        self._apply(await self._db(QuoteActivities.quote_state, QuoteRef(input.quote_id, input.company_id)))
        # A run on a quote not (or no longer) out with the customer waits for the Send that started it; a
        # customer's late click on a closed quote starts one too, is refused, and the run ends.
        await workflow.wait_condition(
            lambda: self._stage not in NOT_SENT | {SENDING} or workflow.all_handlers_finished()
        )
        if self._stage in NOT_SENT:
            return self._stage
        if self._stage == WAITING_FOR_CUSTOMER:
            await self._follow_up_until_answered()
        await workflow.wait_condition(
            lambda: self._booking is not None or self._stage in (DECLINED, EXPIRED, SCHEDULED)
        )
        if self._booking is not None:
            await self._assign_and_confirm(self._booking)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._stage

    @workflow.query
    def stage(self) -> QuoteStage:
        return QuoteStage(self._stage, DESCRIPTIONS.get(self._stage, self._stage), self._job_id())

    # updates

    @workflow.update
    async def send(self, request: SendQuote) -> QuoteStage:
        async with self._ready():
            if self._stage not in (DRAFT, EXPIRED):
                raise _refuse(
                    f"this quote is {self._state.status}; only a draft or expired quote can be sent"
                )
            self._stage = SENDING
            try:
                await self._send_quote()
                self._apply(
                    await self._db(
                        QuoteActivities.mark_quote_sent, self._change(request.actor, request.actor_user_id)
                    )
                )
            except BaseException:
                self._apply(self._state)  # nothing went out: back to where it was
                raise
            return self.stage()

    @workflow.update
    async def accept(self, request: AcceptQuote) -> QuoteStage:
        async with self._ready():
            self._expect(WAITING_FOR_CUSTOMER, "accepted")
            if self._state.card_required and not self._state.card_saved:
                raise _refuse("Save a card before accepting this quote.")
            accepted = AcceptRequest(
                quote_id=self._input.quote_id,
                company_id=self._input.company_id,
                signed_name=request.signed_name,
                workflow_id=workflow.info().workflow_id,
                step_key=self._step_key(),
                chosen_option_group=request.chosen_option_group,
                selected_line_ids=list(request.selected_line_ids or []),
            )
            self._apply(await self._db(QuoteActivities.accept_quote, accepted))
            return self.stage()

    @accept.validator
    def _validate_accept(self, request: AcceptQuote) -> None:
        if not request.signed_name or not request.signed_name.strip():
            raise ValueError("Sign with your name to accept.")
        if len(request.signed_name) > 200:
            raise ValueError("the name is too long (200 characters at most)")

    @workflow.update
    async def decline(self, request: DeclineQuote) -> QuoteStage:
        async with self._ready():
            self._expect(WAITING_FOR_CUSTOMER, "declined")
            change = self._change("customer", reason=(request.reason or "")[:1000])
            self._apply(await self._db(QuoteActivities.decline_quote, change))
            return self.stage()

    @workflow.update
    async def start_card_setup(self, request: CardSetup) -> str:
        async with self._ready():
            self._expect_card_step()
            ref = QuoteRef(self._input.quote_id, self._input.company_id)
            customer = await self._db(QuoteActivities.card_customer, ref)
            stripe_customer_id = await self._stripe(
                PaymentsActivities.ensure_stripe_customer,
                StripeCustomerInput(
                    customer.customer_id,
                    customer.name,
                    customer.email,
                    customer.phone,
                    customer.stripe_customer_id,
                    customer.stripe_account,
                ),
            )
            if customer.stripe_customer_id is None:
                customer.stripe_customer_id = stripe_customer_id
                await self._db(QuoteActivities.store_stripe_customer, customer)
            self._auto_charge = request.auto_charge
            checkout = await self._stripe(
                PaymentsActivities.create_card_checkout,
                CardCheckoutInput(
                    stripe_customer_id=stripe_customer_id,
                    currency=customer.currency,
                    success_url=request.success_url,
                    cancel_url=request.cancel_url,
                    idempotency_key=f"quote-{self._input.quote_id}-card-{workflow.current_update_info().id}",
                    metadata={"quote_id": self._input.quote_id},
                    stripe_account=customer.stripe_account,
                ),
            )
            return checkout.url

    @workflow.update
    async def card_saved(self, request: CardReturn) -> QuoteStage:
        async with self._ready():
            self._expect_card_step()
            ref = QuoteRef(self._input.quote_id, self._input.company_id)
            customer = await self._db(QuoteActivities.card_customer, ref)
            saved = await self._stripe(
                PaymentsActivities.saved_card,
                SavedCardInput(request.checkout_session_id, customer.stripe_account),
            )
            if saved.metadata.get("quote_id") != self._input.quote_id:
                raise _refuse("this card setup belongs to another quote", INVALID_REQUEST)
            if not saved.complete:
                raise _refuse("the card was not saved; please try again")
            card = SaveCard(
                quote_id=self._input.quote_id,
                company_id=self._input.company_id,
                stripe_customer_id=saved.stripe_customer_id,
                payment_method_id=saved.payment_method_id,
                brand=saved.brand,
                last4=saved.last4,
                auto_charge=self._auto_charge,
                workflow_id=workflow.info().workflow_id,
                step_key=self._step_key(),
            )
            self._apply(await self._db(QuoteActivities.save_card, card))
            return self.stage()

    @workflow.update
    async def skip_card(self, _: SkipCard) -> QuoteStage:
        async with self._ready():
            self._expect(WAITING_FOR_CARD, "given a card")
            self._apply(await self._db(QuoteActivities.skip_card, self._change("customer")))
            return self.stage()

    @workflow.update
    async def pick_time(self, request: PickTime) -> Booked:
        async with self._ready():
            self._expect(WAITING_FOR_TIME, "booked")
            booking = BookSlot(
                quote_id=self._input.quote_id,
                company_id=self._input.company_id,
                start=request.start,
                workflow_id=workflow.info().workflow_id,
                step_key=self._step_key(),
            )
            self._booking = await self._db(SchedulingActivities.book_slot, booking)
            self._stage = ASSIGNING
            return self._booking

    @pick_time.validator
    def _validate_pick_time(self, request: PickTime) -> None:
        try:
            start = datetime.fromisoformat(request.start)
        except ValueError:
            raise ValueError(f"{request.start!r} is not a time; pick one of the times offered") from None
        if start.tzinfo is None:
            raise ValueError("give the start time with its UTC offset")

    # the journey's own steps

    async def _send_quote(self) -> None:
        messages = await self._db(
            QuoteActivities.quote_messages,
            QuoteMessagesRequest(self._input.quote_id, self._input.company_id, "sent"),
        )
        key = workflow.current_update_info().id  # each Send is its own message, once
        attachments = (
            [EmailAttachment(messages.pdf_filename, messages.pdf_base64)] if messages.pdf_base64 else []
        )
        emailed = messages.email_to is not None
        if emailed:
            await self._email(
                f"quote-{key}", messages.email_to, messages.subject, messages.html, messages.text, attachments
            )
        if messages.sms_to:
            texted = await self._text(
                f"quote-{key}-sms",
                messages.sms_to,
                messages.sms_body,
                messages.customer_id,
                fatal=not emailed,
            )
            if not emailed and texted.outcome != "sent":
                raise _refuse(
                    f"the customer has no email address and cannot be texted ({texted.reason})",
                    INVALID_REQUEST,
                )

    async def _follow_up_until_answered(self) -> None:
        sent_at = datetime.fromisoformat(self._state.sent_at)
        expires_at = quote_expires_at(date.fromisoformat(self._state.expires_on), self._state.timezone)
        for kind, days in FOLLOW_UPS:
            at = follow_up_at(sent_at, days, self._state.timezone)
            if at >= expires_at or at <= workflow.now():
                continue
            if await self._answered_before(at):
                return
            await self._follow_up(kind)
        if await self._answered_before(expires_at):
            return
        async with self._one_at_a_time:
            if self._stage == WAITING_FOR_CUSTOMER:
                try:
                    self._apply(
                        await self._db(QuoteActivities.expire_quote, self._change("system", step="expire"))
                    )
                except ActivityError:
                    # Refused: the customer answered at the very last moment. The database knows best.
                    self._apply(
                        await self._db(
                            QuoteActivities.quote_state,
                            QuoteRef(self._input.quote_id, self._input.company_id),
                        )
                    )

    async def _answered_before(self, moment: datetime) -> bool:
        try:
            await workflow.wait_condition(
                lambda: self._stage != WAITING_FOR_CUSTOMER,
                timeout=max(moment - workflow.now(), timedelta(0)),
            )
            return True
        except TimeoutError:
            return False

    async def _follow_up(self, kind: str) -> None:
        if not await self._allowed(
            "quote_followup", f"send_quote_{kind}", "quote", self._input.quote_id, f"followup-{kind}"
        ):
            return
        messages = await self._db(
            QuoteActivities.quote_messages,
            QuoteMessagesRequest(self._input.quote_id, self._input.company_id, kind),
        )
        if self._stage != WAITING_FOR_CUSTOMER:
            return  # the customer answered while the follow-up was being prepared: no nudge after a yes
        try:
            if messages.email_to:
                await self._email(
                    f"followup-{kind}", messages.email_to, messages.subject, messages.html, messages.text
                )
            if messages.sms_to:
                await self._text(
                    f"followup-{kind}-sms", messages.sms_to, messages.sms_body, messages.customer_id
                )
        except ActivityError:
            workflow.logger.warning("quote %s: a %s follow-up could not be sent", self._input.quote_id, kind)

    async def _assign_and_confirm(self, booked: Booked) -> None:
        job = JobRef(booked.job_id, self._input.company_id)
        if await self._allowed("agentic_scheduling", "assign_technician", "job", booked.job_id, "assign"):
            chosen = await self._assign(job)
            if chosen is None:
                await self._ask_admins_to_assign(job)
        self._stage = CONFIRMING
        await self._confirm(job)
        # The job's own workflow takes the day from here: reminders, on the way, completion.
        await self._db(WorkflowCalls.start_job, JobStart(booked.job_id, self._input.company_id))
        self._stage = SCHEDULED

    async def _assign(self, job: JobRef) -> str | None:
        """The best free qualified technician, written on the job with the reason; None if nobody fits."""
        for attempt in range(ASSIGN_ATTEMPTS):
            options = await self._db(SchedulingActivities.assignment_options, job)
            distances = await self._distances(options.job_point, [c.origin for c in options.candidates])
            choice = choose_technician(
                [
                    Candidate(c.technician_id, c.name, distance, c.origin_label, c.jobs_that_day)
                    for c, distance in zip(options.candidates, distances, strict=True)
                ]
            )
            if choice.technician_id is None:
                return None
            assigned = await self._db(
                SchedulingActivities.assign_technician,
                AssignRequest(
                    job_id=job.job_id,
                    company_id=job.company_id,
                    technician_id=choice.technician_id,
                    reason=choice.reason,
                    workflow_id=workflow.info().workflow_id,
                    step_key=f"{workflow.info().workflow_id}/assign-{attempt}",
                ),
            )
            if assigned:
                return choice.technician_id
        return None

    async def _distances(self, destination: Point | None, origins: list[Point | None]) -> list[int | None]:
        """Driving metres from each origin to the job; None where a point or the Maps service is missing."""
        known = [o for o in origins if o is not None]
        if destination is None or not known:
            return [None] * len(origins)
        try:
            matrix = await workflow.execute_activity_method(
                MapsActivities.distance_matrix,
                MatrixRequest(known, [destination]),
                start_to_close_timeout=timedelta(seconds=20),
                schedule_to_close_timeout=timedelta(minutes=2),
                retry_policy=RetryPolicy(
                    maximum_interval=timedelta(seconds=10), non_retryable_error_types=MAPS_ERRORS
                ),
            )
        except ActivityError:
            workflow.logger.warning("maps unavailable: choosing technicians without distances")
            return [None] * len(origins)
        metres = iter(row[0] for row in matrix.metres)
        return [next(metres) if o is not None else None for o in origins]

    async def _ask_admins_to_assign(self, job: JobRef) -> None:
        alert = AdminAlert(
            job.job_id,
            job.company_id,
            workflow.info().workflow_id,
            f"{workflow.info().workflow_id}/assign-alert",
        )
        texts = await self._db(SchedulingActivities.ask_admins_to_assign, alert)
        for text in texts:
            try:
                await self._text(text.purpose, text.to, text.body, None)
            except ActivityError:
                workflow.logger.warning("could not text %s about an unassigned job", text.to)

    async def _confirm(self, job: JobRef) -> None:
        confirmation = await self._db(SchedulingActivities.confirmation, job)
        try:
            if confirmation.customer_email:
                await self._email(
                    "job-scheduled-email",
                    confirmation.customer_email,
                    confirmation.email_subject,
                    confirmation.email_html,
                    confirmation.email_text,
                )
        except ActivityError:
            workflow.logger.warning("job %s: the confirmation email could not be sent", job.job_id)
        if confirmation.customer_phone and await self._allowed(
            "send_job_scheduled_sms",
            "send_job_scheduled_sms",
            "job",
            job.job_id,
            "scheduled-sms",
            confirmation.customer_id,
        ):
            await self._text_quietly(
                "job-scheduled-sms",
                confirmation.customer_phone,
                confirmation.customer_sms,
                confirmation.customer_id,
            )
        if confirmation.technician_phone and await self._allowed(
            "send_job_assigned_sms", "send_job_assigned_sms", "job", job.job_id, "assigned-sms"
        ):
            await self._text_quietly(
                f"job-assigned-{confirmation.technician_id}",
                confirmation.technician_phone,
                confirmation.technician_sms,
                None,
            )

    # helpers

    def _apply(self, state: QuoteState) -> None:
        self._state = state
        if state.status == "draft":
            self._stage = DRAFT
        elif state.status == "sent":
            self._stage = WAITING_FOR_CUSTOMER
        elif state.status == "declined":
            self._stage = DECLINED
        elif state.status == "expired":
            self._stage = EXPIRED
        elif state.job_id:
            self._stage = SCHEDULED
        elif state.card_enabled and not state.card_saved and not state.card_step_done:
            self._stage = WAITING_FOR_CARD
        else:
            self._stage = WAITING_FOR_TIME

    def _job_id(self) -> str | None:
        if self._booking is not None:
            return self._booking.job_id
        return self._state.job_id if self._state else None

    @asynccontextmanager
    async def _ready(self):
        """Wait until the quote is loaded, then hold the one-at-a-time lock for the handler's body."""
        await workflow.wait_condition(lambda: self._state is not None)
        async with self._one_at_a_time:
            yield

    def _expect(self, stage: str, verb: str) -> None:
        if self._stage != stage:
            raise _refuse(
                f"this quote cannot be {verb} now: it is {DESCRIPTIONS.get(self._stage, self._stage)}"
            )

    def _expect_card_step(self) -> None:
        before_acceptance = self._stage == WAITING_FOR_CUSTOMER and self._state.card_enabled
        if not (before_acceptance or self._stage == WAITING_FOR_CARD):
            raise _refuse(
                f"no card is asked for now: the quote is {DESCRIPTIONS.get(self._stage, self._stage)}"
            )

    def _step_key(self) -> str:
        return f"{workflow.info().workflow_id}/{workflow.current_update_info().id}"

    def _change(
        self, actor: str, actor_user_id: str | None = None, reason: str | None = None, step: str | None = None
    ) -> QuoteChange:
        return QuoteChange(
            quote_id=self._input.quote_id,
            company_id=self._input.company_id,
            actor=actor,
            workflow_id=workflow.info().workflow_id,
            step_key=f"{workflow.info().workflow_id}/{step}" if step else self._step_key(),
            actor_user_id=actor_user_id,
            reason=reason,
        )

    async def _allowed(
        self,
        key: str,
        action: str,
        entity_type: str,
        entity_id: str,
        step: str,
        customer_id: str | None = None,
    ) -> bool:
        company = self._input.company_id
        return (await gate(company, key, action, entity_type, entity_id, step, customer_id)).allowed

    def _target(self, purpose: str, customer_id: str | None) -> MessageTarget:
        return message_target(self._input.company_id, "quote", self._input.quote_id, purpose, customer_id)

    async def _email(self, purpose, to, subject, html, text, attachments=()) -> SendResult:
        return await send(
            EmailRequest(self._target(purpose, None), to, subject, html, text, list(attachments))
        )

    async def _text(
        self, purpose: str, to: str, body: str, customer_id: str | None, fatal: bool = True
    ) -> SendResult:
        return await send_text(self._target(purpose, customer_id), to, body, fatal)

    async def _text_quietly(self, purpose: str, to: str, body: str, customer_id: str | None) -> None:
        await self._text(purpose, to, body, customer_id, fatal=False)

    async def _db(self, activity_method, request):
        return await workflow.execute_activity_method(
            activity_method,
            request,
            start_to_close_timeout=timedelta(seconds=15),
            retry_policy=DB_RETRY,
        )

    async def _stripe(self, activity_method, request):
        return await workflow.execute_activity_method(
            activity_method,
            request,
            start_to_close_timeout=timedelta(seconds=20),
            # The customer is on the page waiting: give up (and say so) rather than hang.
            schedule_to_close_timeout=timedelta(minutes=1),
            retry_policy=STRIPE_RETRY,
        )
