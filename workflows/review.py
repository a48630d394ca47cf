"""ReviewWorkflow: ask a customer for a review after a completed job, unless they seem unhappy
(spec Workflow 6). ReviewBackstopWorkflow: the hourly sweep for completed jobs the real-time path missed.

`review-{job id}` is started once per job (a second start is refused), by the job's workflow when the job
is completed, or by the backstop. It waits until about 2 hours after completion (9:00 the next morning
when the job finished after 8 PM company time), reads the customer's recent texts (AI gateway, word-list
fallback), and then either sends the request (SMS `send_sms_review_requests`, email
`send_review_requests`) or, when the customer reads as unhappy, gives the owners a service-recovery task
(in the app and by text) and logs why. Either way it leaves the `review_request` row the backstop
looks for. No signals, queries or updates.

`review-backstop` runs from a Temporal Schedule every hour (worker.py creates it).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from workflows.steps import gate, message_target, send

with workflow.unsafe.imports_passed_through():
    from activities.ai import AiRequest
    from activities.messaging import (
        EmailRequest,
        MessageTarget,
        SmsRequest,
    )
    from activities.reviews import Recovery, ReviewActivities, ReviewHandled
    from activities.scheduling import JobRef
    from activities.workflow_calls import ReviewStart, WorkflowCalls
    from models.time import review_due
    from workflows.ai import generate_text

UNHAPPY_BELOW = -0.2  # the word-list reading under which a customer counts as unhappy
BACKSTOP_BATCH = 200
DB = {
    "start_to_close_timeout": timedelta(seconds=15),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=10)),
}
SENTIMENT_SCHEMA = {
    "type": "object",
    "properties": {
        "unhappy": {"type": "boolean", "description": "the customer seems unhappy with the business"},
        "reason": {"type": "string", "description": "why, in a few words"},
    },
    "required": ["unhappy", "reason"],
}


@dataclass
class ReviewInput:
    job_id: str
    company_id: str


@workflow.defn
class ReviewWorkflow:
    @workflow.run
    async def run(self, input: ReviewInput) -> str:
        job = JobRef(input.job_id, input.company_id)
        context = await workflow.execute_activity_method(ReviewActivities.review_context, job, **DB)
        if context.status != "completed" or context.completed_at is None:
            return await self._handled(input, "skipped", "the job is not completed")
        due = review_due(datetime.fromisoformat(context.completed_at), context.timezone)
        await workflow.sleep(max(due - workflow.now(), timedelta(0)))

        context = await workflow.execute_activity_method(ReviewActivities.review_context, job, **DB)
        unhappy, why = await self._reads_unhappy(input, context)
        if unhappy:
            recovery = Recovery(input.job_id, input.company_id, workflow.info().workflow_id, why)
            texts = await workflow.execute_activity_method(ReviewActivities.service_recovery, recovery, **DB)
            for text in texts:
                await self._send(SmsRequest(self._target(input, text.purpose), text.to, text.body))
            return await self._handled(input, "skipped", f"customer seems unhappy: {why}")

        messages = await workflow.execute_activity_method(ReviewActivities.review_messages, job, **DB)
        if messages is None:
            return await self._handled(input, "skipped", "no review link set in the company's settings")
        sent = False
        if messages.phone and await self._allowed(input, "send_sms_review_requests", messages.customer_id):
            target = self._target(input, "review-sms", messages.customer_id)
            sent |= await self._send(SmsRequest(target, messages.phone, messages.sms))
        if messages.email and await self._allowed(input, "send_review_requests", None):
            target = self._target(input, "review-email")
            email = EmailRequest(target, messages.email, messages.subject, messages.html, messages.text)
            sent |= await self._send(email)
        if sent:
            return await self._handled(input, "sent", None)
        return await self._handled(
            input, "skipped", "review requests are switched off or cannot reach the customer"
        )

    async def _reads_unhappy(self, input: ReviewInput, context) -> tuple[bool, str]:
        if not context.recent_texts:
            return False, "no recent texts"
        quoted = "\n".join(f"- {text}" for text in context.recent_texts[-20:])
        fallback_unhappy = context.lexicon_score < UNHAPPY_BELOW
        answer = await generate_text(
            AiRequest(
                company_id=input.company_id,
                feature="review_sentiment",
                system="You judge customer sentiment for a home-services business. Answer in JSON.",
                prompt=(
                    f"Recent text messages from {context.customer_name} to the business:\n{quoted}\n\n"
                    "Does the customer seem unhappy with the business or the job?"
                ),
                fallback="word-list reading",
                json_schema=SENTIMENT_SCHEMA,
                fallback_data={
                    "unhappy": fallback_unhappy,
                    "reason": f"their recent texts read negative ({context.lexicon_score:+.2f})"
                    if fallback_unhappy
                    else "their recent texts do not read negative",
                },
            )
        )
        data = answer.data or {}
        return bool(data.get("unhappy")), str(data.get("reason") or "their recent texts")

    async def _allowed(self, input: ReviewInput, key: str, customer_id: str | None) -> bool:
        return (await gate(input.company_id, key, key, "job", input.job_id, key, customer_id)).allowed

    def _target(self, input: ReviewInput, purpose: str, customer_id: str | None = None) -> MessageTarget:
        return message_target(input.company_id, "job", input.job_id, purpose, customer_id)

    async def _send(self, request: SmsRequest | EmailRequest) -> bool:
        try:
            result = await send(request)
        except ActivityError:
            workflow.logger.warning("review: a message to %s could not be sent", request.to)
            return False
        return result.outcome == "sent"

    async def _handled(self, input: ReviewInput, outcome: str, reason: str | None) -> str:
        handled = ReviewHandled(input.job_id, input.company_id, workflow.info().workflow_id, outcome, reason)
        await workflow.execute_activity_method(ReviewActivities.review_handled, handled, **DB)
        return outcome


@workflow.defn
class ReviewBackstopWorkflow:
    """One sweep: start the review run of every completed job that has none (each job at most once)."""

    @workflow.run
    async def run(self) -> int:
        jobs = await workflow.execute_activity_method(
            ReviewActivities.jobs_missing_review, BACKSTOP_BATCH, **DB
        )
        started = 0
        for job in jobs:
            started += await workflow.execute_activity_method(
                WorkflowCalls.start_review, ReviewStart(job.job_id, job.company_id), **DB
            )
        return started
