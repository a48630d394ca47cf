"""Using AI from a workflow: every feature asks through `generate_text`, which also texts the company's
owners and admins (once a day at most) when both AI providers are down and messages go out as fallbacks.
That alert is best effort: its trouble is logged and never keeps the customer's message from going out.

Not a workflow of its own: helpers for workflow code, so each flow's history shows its own AI steps.
"""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.ai import GENERATE_TEXT_TIMEOUT, AiActivities, AiRequest, AiResult
    from activities.messaging import MESSAGING_ERRORS, MessageTarget, MessagingActivities, SmsRequest
    from activities.records import RecordsActivities

OUTAGE_TEXT = (
    "NexJob: both AI providers are down. Customer messages are going out from plain templates; "
    "review any high-stakes ones by hand until the banner clears."
)
QUICK = timedelta(seconds=15)
# The alert's own lookups give up after a few tries rather than hold the customer's message back.
QUICK_RETRIES = RetryPolicy(maximum_attempts=3)


async def generate_text(request: AiRequest) -> AiResult:
    result = await workflow.execute_activity_method(
        AiActivities.generate_text, request, start_to_close_timeout=GENERATE_TEXT_TIMEOUT
    )
    if result.provider == "fallback":
        try:
            await alert_owners_if_due(request.company_id)
        except ActivityError as error:
            workflow.logger.warning(
                "AI outage alert for company %s failed: %s", request.company_id, error.cause or error
            )
    return result


async def alert_owners_if_due(company_id: str) -> None:
    """Text the owners and admins if today's alert is due; a failed text is logged, the others still go."""
    due = await workflow.execute_activity_method(
        AiActivities.ai_outage_alert_due, company_id, start_to_close_timeout=QUICK, retry_policy=QUICK_RETRIES
    )
    if not due:
        return
    phones = await workflow.execute_activity_method(
        RecordsActivities.owner_and_admin_phones,
        company_id,
        start_to_close_timeout=QUICK,
        retry_policy=QUICK_RETRIES,
    )
    day = workflow.now().date().isoformat()
    for phone in phones:
        target = MessageTarget(
            company_id=company_id,
            entity_type="company",
            entity_id=company_id,
            workflow_id=workflow.info().workflow_id,
            purpose=f"ai-outage-{day}-{phone}",
        )
        try:
            await workflow.execute_activity_method(
                MessagingActivities.send_sms,
                SmsRequest(target, phone, OUTAGE_TEXT),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=5, non_retryable_error_types=MESSAGING_ERRORS),
            )
        except ActivityError as error:
            workflow.logger.warning(
                "AI outage SMS to %s for company %s failed: %s", phone, company_id, error.cause or error
            )
