"""What the entity workflows share when they act: asking the automation gate, and sending a text or an
email, each message keyed by (workflow, purpose) so it goes at most once."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.automations import AutomationActivities, GateDecision, GateRequest
    from activities.messaging import (
        MESSAGING_ERRORS,
        EmailRequest,
        MessageTarget,
        MessagingActivities,
        SendResult,
        SmsRequest,
    )

SEND_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=1), non_retryable_error_types=MESSAGING_ERRORS)
GATE_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=10))


async def gate(
    company_id: str,
    key: str,
    action: str,
    entity_type: str,
    entity_id: str,
    step: str,
    customer_id: str | None = None,
) -> GateDecision:
    """May the automation `key` act now? With a customer, their SMS consent counts too. A no is logged."""
    return await workflow.execute_activity_method(
        AutomationActivities.check_automation,
        GateRequest(
            company_id=company_id,
            automation_key=key,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            workflow_id=workflow.info().workflow_id,
            step=step,
            customer_id=customer_id,
            needs_sms_consent=customer_id is not None,
        ),
        start_to_close_timeout=timedelta(seconds=15),
        retry_policy=GATE_RETRY,
    )


def message_target(
    company_id: str, entity_type: str, entity_id: str, purpose: str, customer_id: str | None = None
) -> MessageTarget:
    """A message of this workflow about one record; `customer_id` makes the customer's consent apply."""
    return MessageTarget(
        company_id=company_id,
        entity_type=entity_type,
        entity_id=entity_id,
        workflow_id=workflow.info().workflow_id,
        purpose=purpose,
        customer_id=customer_id,
    )


async def send(request: SmsRequest | EmailRequest) -> SendResult:
    """Send a text or an email, retrying for up to an hour while the provider is unreachable."""
    method = (
        MessagingActivities.send_sms if isinstance(request, SmsRequest) else MessagingActivities.send_email
    )
    return await workflow.execute_activity_method(
        method,
        request,
        start_to_close_timeout=timedelta(seconds=30),
        schedule_to_close_timeout=timedelta(hours=1),
        retry_policy=SEND_RETRY,
    )


async def send_text(target: MessageTarget, to: str, body: str, fatal: bool = True) -> SendResult:
    """A text; unless it is `fatal`, a failure is logged and answered as skipped, so the flow goes on."""
    try:
        return await send(SmsRequest(target, to, body))
    except ActivityError:
        if fatal:
            raise
        workflow.logger.warning("%s: the %s text was not sent", target.workflow_id, target.purpose)
        return SendResult("skipped", reason="the text could not be sent")
