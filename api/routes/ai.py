"""AI status (the outage banner) and AI costs (the operator's cost dashboard)."""

from datetime import timedelta

from fastapi import APIRouter
from sqlalchemy import func
from sqlmodel import select

from activities.ai import PROVIDERS, breaker_states, daily_budget_cents, overall_status
from api.deps import CurrentPrincipal, OfficeStaff, SessionDep, SettingsDep
from api.tenancy import owned
from models.company import Company
from models.logs import AiCallLog
from models.time import company_today, day_start

router = APIRouter(prefix="/ai", tags=["ai"])

ROLLUP_DAYS = 7
DENIALS = ("budget_exceeded", "concurrency_cap_exceeded")  # outcomes of calls refused before any provider


@router.get("/status")
async def ai_status(principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep):
    """The AI banner: "healthy" (no banner), "degraded" (one provider covering) or "down" (fallbacks),
    with each provider's circuit breaker and whether it is configured (called at all)."""
    providers = await breaker_states(session, settings)
    return {"status": overall_status(providers), "providers": providers}


@router.get("/costs")
async def ai_costs(principal: OfficeStaff, session: SessionDep, settings: SettingsDep):
    """Today's AI spend against the daily limit, provider calls and their failures today, calls denied
    (budget, concurrency cap) and answered by fallback today, the last 7 days by feature and by provider
    and model, and the breakers. Days are the company's local days."""
    company = await session.get(Company, principal.company_id)
    today = company_today(company)
    today_start = day_start(today, company.timezone)
    week_start = day_start(today - timedelta(days=ROLLUP_DAYS - 1), company.timezone)
    mine = owned(AiCallLog, principal).whereclause  # the one tenancy scope, for aggregate queries
    provider_call = AiCallLog.provider.in_(PROVIDERS)
    calls = func.count().filter(provider_call)
    failed = func.count().filter(provider_call, AiCallLog.outcome != "ok")
    denied = func.count().filter(AiCallLog.outcome.in_(DENIALS))
    fallbacks = func.count().filter(AiCallLog.outcome == "fallback")
    spent = func.coalesce(func.sum(AiCallLog.cost_cents), 0)

    today = select(spent, calls, failed, denied, fallbacks).where(mine, AiCallLog.created_at >= today_start)
    spend, calls_today, failures_today, denied_today, fallbacks_today = (await session.exec(today)).one()

    def rollup(*columns):
        return (
            select(
                *columns,
                calls.label("calls"),
                failed.label("failures"),
                denied.label("denied"),
                fallbacks.label("fallbacks"),
                spent.label("cost_cents"),
                func.coalesce(func.sum(AiCallLog.input_tokens), 0).label("input_tokens"),
                func.coalesce(func.sum(AiCallLog.output_tokens), 0).label("output_tokens"),
            )
            .where(mine, AiCallLog.created_at >= week_start)
            .group_by(*columns)
            .order_by(spent.desc(), *columns)
        )

    by_feature = (await session.exec(rollup(AiCallLog.feature))).all()
    by_model = (await session.exec(rollup(AiCallLog.provider, AiCallLog.model))).all()
    providers = await breaker_states(session, settings)
    return {
        "date": today_start.date(),
        "spend_today_cents": spend,
        "daily_limit_cents": daily_budget_cents(company, settings),
        "calls_today": calls_today,
        "failures_today": failures_today,
        "denied_today": denied_today,
        "fallbacks_today": fallbacks_today,
        "since": week_start,
        "by_feature": [row._asdict() for row in by_feature],
        "by_model": [row._asdict() for row in by_model],
        "status": overall_status(providers),
        "providers": providers,
    }
