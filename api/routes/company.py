"""The caller's own company: its settings, and the automation switches."""

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel
from sqlmodel import select

from api.crud import record_audit, update_owned
from api.deps import CurrentPrincipal, OwnerOrAdmin, SessionDep
from models.automations import BY_KEY, CATALOGUE
from models.base import utcnow
from models.company import Company, CompanyPublic, CompanyUpdate
from models.enums import PlanTier, RiskLevel
from models.logs import AutomationSetting

router = APIRouter(tags=["company"])


@router.get("/company", response_model=CompanyPublic)
async def get_company(principal: CurrentPrincipal, session: SessionDep):
    """Your company's settings."""
    return await session.get(Company, principal.company_id)


@router.patch("/company", response_model=CompanyPublic)
async def update_company(body: CompanyUpdate, principal: OwnerOrAdmin, session: SessionDep):
    """Change name, time zone, business hours, brand colour, invoicing and card-on-file options."""
    company = await session.get(Company, principal.company_id)
    await update_owned(session, principal, company, body.model_dump(exclude_unset=True))
    await session.commit()
    return company


class AutomationPublic(BaseModel):
    key: str
    name: str
    description: str
    plan: PlanTier
    risk: RiskLevel
    enabled: bool
    available_on_plan: bool  # false: the company's plan is below what this automation needs


class AutomationToggle(BaseModel):
    enabled: bool


async def _automation_list(session, company: Company) -> list[AutomationPublic]:
    rows = await session.exec(select(AutomationSetting).where(AutomationSetting.company_id == company.id))
    enabled = {row.key for row in rows if row.enabled}
    return [
        AutomationPublic(
            **vars(a), enabled=a.key in enabled, available_on_plan=company.plan.rank >= a.plan.rank
        )
        for a in CATALOGUE
    ]


@router.get("/automations", response_model=list[AutomationPublic])
async def list_automations(principal: CurrentPrincipal, session: SessionDep):
    """Every automation with its plan, risk level and whether it is on for your company."""
    company = await session.get(Company, principal.company_id)
    return await _automation_list(session, company)


@router.put("/automations/{key}", response_model=AutomationPublic)
async def set_automation(key: str, body: AutomationToggle, principal: OwnerOrAdmin, session: SessionDep):
    """Switch one automation on or off. Running workflows see the change at their next action."""
    automation = BY_KEY.get(key)
    if automation is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no automation called {key!r}")
    company = await session.get(Company, principal.company_id)
    if body.enabled and company.plan.rank < automation.plan.rank:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"{automation.name} needs the {automation.plan.value.title()} plan or higher; "
            f"this company is on {company.plan.value.title()}",
        )
    setting = await session.get(AutomationSetting, (company.id, key), with_for_update=True)
    before = {"enabled": bool(setting and setting.enabled)}
    if setting is None:
        setting = AutomationSetting(company_id=company.id, key=key)
    setting.enabled = body.enabled
    setting.updated_by_id = principal.user_id
    setting.updated_at = utcnow()
    session.add(setting)
    record_audit(session, principal, company, f"automation:{key}", before, {"enabled": body.enabled})
    await session.commit()
    return next(a for a in await _automation_list(session, company) if a.key == key)
