"""AI status (the outage banner) and AI costs (the operator's cost dashboard)."""

from datetime import timedelta

from fastapi import APIRouter
from sqlalchemy import func
from sqlmodel import select

from activities.ai import breaker_states, daily_budget_cents, day_start, overall_status
from api.deps import CurrentPrincipal, OfficeStaff, SessionDep, SettingsDep
from api.tenancy import owned
from models.company import Company
from models.logs import AiCallLog

router = APIRouter(prefix="/ai", tags=["ai"])

ROLLUP_DAYS = 7


@router.get("/status")
async def ai_status(principal: CurrentPrincipal, session: SessionDep):
    """The AI banner: "healthy" (no banner), "degraded" (one provider covering) or "down" (fallbacks),
    with each provider's circuit breaker."""
    providers = await breaker_states(session)
    return {"status": overall_status(providers), "providers": providers}


@router.get("/costs")
async def ai_costs(principal: OfficeStaff, session: SessionDep, settings: SettingsDep):
    """Today's AI spend against the daily limit, calls and failures today, the last 7 days by feature
    and by provider and model, and the breakers. Days are the company's local days."""
    company = await session.get(Company, principal.company_id)
    today_start = day_start(company)
    week_start = day_start(company, today_start.date() - timedelta(days=ROLLUP_DAYS - 1))
    mine = owned(AiCallLog, principal).whereclause  # the one tenancy scope, for aggregate queries
    failed = func.count().filter(AiCallLog.outcome != "ok")
    spent = func.coalesce(func.sum(AiCallLog.cost_cents), 0)

    today = select(spent, func.count(), failed).where(mine, AiCallLog.created_at >= today_start)
    spend, calls, failures = (await session.exec(today)).one()

    def rollup(*columns):
        return (
            select(
                *columns,
                func.count().label("calls"),
                failed.label("failures"),
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
    providers = await breaker_states(session)
    return {
        "date": today_start.date(),
        "spend_today_cents": spend,
        "daily_limit_cents": daily_budget_cents(company, settings),
        "calls_today": calls,
        "failures_today": failures,
        "since": week_start,
        "by_feature": [row._asdict() for row in by_feature],
        "by_model": [row._asdict() for row in by_model],
        "status": overall_status(providers),
        "providers": providers,
    }
