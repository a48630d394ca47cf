"""The one gate every automated action passes: is the automation on for this company right now, is the
company's plan high enough, does the customer consent to texts. A "no" leaves an action-log row saying why.

Read at the moment of acting, through this activity, so switching an automation off stops flows already
in flight at their next step.
"""

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from activities.action_log import ActionRecord, record_action
from models.automations import BY_KEY
from models.company import Company
from models.customers import Customer
from models.enums import ActionOutcome
from models.logs import AutomationSetting


@dataclass
class GateRequest:
    company_id: str
    automation_key: str
    action: str  # what would be done: send_omw_sms, charge_card, …
    entity_type: str
    entity_id: str
    workflow_id: str
    step: str  # unique within the workflow, so a retry logs once
    customer_id: str | None = None
    needs_sms_consent: bool = False


@dataclass
class GateDecision:
    allowed: bool
    reason: str | None = None


class AutomationActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]):
        self._sessions = sessions

    @activity.defn
    async def check_automation(self, request: GateRequest) -> GateDecision:
        async with self._sessions() as session:
            decision = await gate(session, request)
            await session.commit()
            return decision


async def gate(session: AsyncSession, request: GateRequest) -> GateDecision:
    """The decision, with its action-log row when it is a no (written in the caller's transaction)."""
    reason = await _refusal(session, request)
    if reason:
        await record_action(
            session,
            ActionRecord(
                company_id=request.company_id,
                action=request.action,
                outcome=ActionOutcome.skipped,
                entity_type=request.entity_type,
                entity_id=request.entity_id,
                workflow_id=request.workflow_id,
                automation_key=request.automation_key,
                reason=reason,
                idempotency_key=f"{request.workflow_id}/{request.step}/gate",
            ),
        )
    return GateDecision(allowed=reason is None, reason=reason)


async def _refusal(session: AsyncSession, request: GateRequest) -> str | None:
    company_id = uuid.UUID(request.company_id)
    automation = BY_KEY[request.automation_key]
    setting = await session.get(AutomationSetting, (company_id, request.automation_key))
    if setting is None or not setting.enabled:
        return f"{automation.name} is switched off"
    company = await session.get(Company, company_id)
    if company.plan.rank < automation.plan.rank:
        return f"{automation.name} needs the {automation.plan.value.title()} plan"
    if request.needs_sms_consent and request.customer_id:
        customer = await session.get(Customer, uuid.UUID(request.customer_id))
        if customer is None or not customer.sms_consent:
            return "no SMS consent"
    return None
