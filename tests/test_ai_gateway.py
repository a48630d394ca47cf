"""The AI gateway against the sandboxed Gemini and Claude (real SDKs, real PostgreSQL): failover, circuit
breakers, structured output, budget, concurrency cap, rate-limit backoff, fallbacks, status and costs."""

import asyncio
import uuid
from datetime import timedelta

import httpx
import pytest
from sqlmodel import delete, select, update
from temporalio.converter import DataConverter
from temporalio.testing import ActivityEnvironment

from activities.ai import (
    AiActivities,
    AiGateway,
    AiRequest,
    AiResult,
    lexicon_sentiment,
    rule_lead_score,
)
from models.base import utcnow
from models.company import Company
from models.logs import ActionLog, AiCallLog
from models.providers import AiProviderState

FALLBACK = "Thanks for your message, we will get back to you shortly."
SCHEMA = {
    "type": "object",
    "properties": {
        "summary": {"type": "string"},
        "score": {"type": "integer", "minimum": 0, "maximum": 100},
    },
    "required": ["summary", "score"],
}


async def _reset_ai(sessions, settings) -> None:
    # The breakers are global per provider and the tests share one database.
    async with sessions() as session:
        await session.exec(delete(AiProviderState))
        await session.commit()
    async with httpx.AsyncClient() as client:
        (await client.post(f"{settings.sandbox_url}/_ai/reset")).raise_for_status()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
async def gateway(sessions, settings, healthy_sandbox, sleeps):
    """A gateway on the healthy sandbox with closed breakers and no scripted answers, before and after;
    its backoff sleeps are recorded in `sleeps` instead of waited for."""

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    await _reset_ai(sessions, settings)
    yield AiGateway(sessions, settings, sleep=sleep)
    await _reset_ai(sessions, settings)


@pytest.fixture
async def company(sessions) -> Company:
    company = Company(name=f"AI Co {uuid.uuid4().hex[:8]}", timezone="America/Chicago")
    async with sessions() as session:
        session.add(company)
        await session.commit()
    return company


def ask(company_id, **extra) -> AiRequest:
    fields = {"feature": "review_response_draft", "prompt": "Draft a reply to: the tech was early and kind"}
    return AiRequest(company_id=str(company_id), fallback=FALLBACK, **(fields | extra))


async def script(settings, provider: str, text: str | None = None, times: int | None = 1, delay_ms: int = 0):
    body = {"provider": provider, "text": text, "times": times, "delay_ms": delay_ms}
    async with httpx.AsyncClient() as client:
        (await client.post(f"{settings.sandbox_url}/_ai/script", json=body)).raise_for_status()


async def call_rows(sessions, company_id) -> list[AiCallLog]:
    async with sessions() as session:
        stmt = select(AiCallLog).where(AiCallLog.company_id == company_id).order_by(AiCallLog.created_at)
        return list((await session.exec(stmt)).all())


def outcomes(rows) -> list[tuple[str, str]]:
    return [(row.provider, row.outcome) for row in rows]


async def breaker(sessions, provider: str) -> AiProviderState | None:
    async with sessions() as session:
        return await session.get(AiProviderState, provider)


async def test_gemini_answers_when_healthy_and_the_call_is_costed(gateway, sessions, company):
    result = await gateway.generate(ask(company.id))
    assert result.provider == "gemini" and not result.degraded
    assert result.text.startswith("Sandbox Gemini: Draft a reply")
    [row] = await call_rows(sessions, company.id)
    assert (row.provider, row.outcome, row.model) == ("gemini", "ok", result.model)
    assert row.feature == "review_response_draft"
    assert row.input_tokens > 0 and row.output_tokens > 0 and row.cost_cents > 0
    assert await gateway.status() == "healthy"


async def test_structured_output_arrives_parsed(gateway, company):
    result = await gateway.generate(ask(company.id, json_schema=SCHEMA))
    assert result.provider == "gemini"
    assert isinstance(result.data["summary"], str) and 0 <= result.data["score"] <= 100


async def test_invalid_json_from_gemini_falls_to_claude(gateway, sessions, settings, company):
    await script(settings, "gemini", "Sure! Here is your JSON: {summary: nope", times=1)
    result = await gateway.generate(ask(company.id, json_schema=SCHEMA))
    assert result.provider == "claude" and result.degraded
    assert set(result.data) == {"summary", "score"}
    assert outcomes(await call_rows(sessions, company.id)) == [("gemini", "invalid_output"), ("claude", "ok")]
    assert (await breaker(sessions, "gemini")).consecutive_failures == 1


async def test_gemini_down_claude_covers_and_the_breaker_opens_then_closes(
    gateway, sessions, healthy_sandbox, company
):
    healthy_sandbox.controls.set("gemini", "down")
    for _ in range(3):
        result = await gateway.generate(ask(company.id))
        assert result.provider == "claude" and result.text.startswith("Sandbox Claude:")
    assert await gateway.status() == "degraded"
    state = await breaker(sessions, "gemini")
    assert state.consecutive_failures == 3 and state.open_until > utcnow() + timedelta(seconds=50)

    await gateway.generate(ask(company.id))  # the open breaker skips Gemini altogether
    assert outcomes(await call_rows(sessions, company.id)) == [("gemini", "error"), ("claude", "ok")] * 3 + [
        ("claude", "ok")
    ]

    # A minute later Gemini is back: the next call tries it, and its success closes the breaker.
    healthy_sandbox.controls.reset()
    async with sessions() as session:
        await session.exec(update(AiProviderState).values(open_until=utcnow() - timedelta(seconds=1)))
        await session.commit()
    assert (await gateway.generate(ask(company.id))).provider == "gemini"
    assert (await breaker(sessions, "gemini")).consecutive_failures == 0
    assert await gateway.status() == "healthy"


async def test_both_down_gives_the_fallback_and_one_owner_alert_a_day(
    gateway, sessions, healthy_sandbox, company
):
    healthy_sandbox.controls.set("gemini", "down")
    healthy_sandbox.controls.set("anthropic", "fail")
    assert not await gateway.outage_alert_due(company.id)  # not down yet
    for _ in range(3):
        result = await gateway.generate(ask(company.id, fallback_data={"score": 50}))
        assert (result.text, result.data, result.provider) == (FALLBACK, {"score": 50}, "fallback")
    assert await gateway.status() == "down"
    rows = outcomes(await call_rows(sessions, company.id))
    assert rows == [("gemini", "error"), ("claude", "error"), ("fallback", "fallback")] * 3

    await gateway.generate(ask(company.id))  # both breakers open: no provider is called
    assert outcomes(await call_rows(sessions, company.id))[9:] == [("fallback", "fallback")]

    assert await gateway.outage_alert_due(company.id)
    assert not await gateway.outage_alert_due(company.id)  # once a day
    async with sessions() as session:
        stmt = select(ActionLog).where(ActionLog.company_id == company.id)
        [alert] = (await session.exec(stmt)).all()
    assert (alert.action, alert.outcome) == ("ai_outage_alert", "done")


async def test_outage_alert_respects_the_owner_toggle(gateway, sessions, company):
    async with sessions() as session:
        for provider in ("gemini", "claude"):
            until = utcnow() + timedelta(seconds=60)
            session.add(AiProviderState(provider=provider, consecutive_failures=3, open_until=until))
        (await session.get(Company, company.id)).owner_ai_outage_sms = False
        await session.commit()
    assert not await gateway.outage_alert_due(company.id)
    assert not await gateway.outage_alert_due(company.id)
    async with sessions() as session:
        rows = (await session.exec(select(ActionLog).where(ActionLog.company_id == company.id))).all()
    assert [(row.outcome, row.reason) for row in rows] == [("skipped", "owner outage SMS is off")]


async def test_over_budget_calls_no_provider(gateway, sessions, company):
    async with sessions() as session:
        (await session.get(Company, company.id)).ai_daily_budget_cents = 1
        await session.commit()
    assert (await gateway.generate(ask(company.id))).provider == "gemini"  # spends the one cent
    result = await gateway.generate(ask(company.id))
    assert (result.provider, result.text, result.degraded) == ("none", FALLBACK, True)
    assert outcomes(await call_rows(sessions, company.id)) == [("gemini", "ok"), ("none", "budget_exceeded")]


async def test_a_burst_beyond_the_concurrency_cap_is_denied(gateway, sessions, settings, company):
    assert gateway.concurrency_cap == 5
    await script(settings, "gemini", times=None, delay_ms=1500)  # slow answers hold their slots
    results = await asyncio.gather(*(gateway.generate(ask(company.id)) for _ in range(6)))
    assert sorted(r.provider for r in results) == ["gemini"] * 5 + ["none"]
    rows = outcomes(await call_rows(sessions, company.id))
    assert sorted(rows) == [("gemini", "ok")] * 5 + [("none", "concurrency_cap_exceeded")]

    # The slots are free again afterwards.
    await script(settings, "gemini", times=None, delay_ms=0)
    assert (await gateway.generate(ask(company.id))).provider == "gemini"


async def test_rate_limits_back_off_1_2_4_seconds_then_fail_over(
    gateway, sessions, healthy_sandbox, sleeps, company
):
    healthy_sandbox.controls.set("gemini", "rate_limit")
    result = await gateway.generate(ask(company.id))
    assert result.provider == "claude"
    assert sleeps == [1, 2, 4]
    assert outcomes(await call_rows(sessions, company.id)) == [("gemini", "rate_limited"), ("claude", "ok")]
    assert (await breaker(sessions, "gemini")).consecutive_failures == 1


async def test_a_passing_rate_limit_is_ridden_out(gateway, healthy_sandbox, sleeps, company):
    healthy_sandbox.controls.set("gemini", "rate_limit", times=2)
    assert (await gateway.generate(ask(company.id))).provider == "gemini"
    assert sleeps == [1, 2]


async def test_generate_text_activity_round_trips_through_temporal_payloads(gateway, company):
    converter = DataConverter.default
    request = ask(company.id, json_schema=SCHEMA)
    [request] = await converter.decode(await converter.encode([request]), [AiRequest])
    result = await ActivityEnvironment().run(AiActivities(gateway).generate_text, request)
    [back] = await converter.decode(await converter.encode([result]), [AiResult])
    assert back == result and back.provider == "gemini" and "score" in back.data


def test_lexicon_sentiment():
    assert lexicon_sentiment("not happy, the tech was late") < 0 < lexicon_sentiment("great job, thanks!")
    assert lexicon_sentiment("The tech was not rude at all") > 0
    assert lexicon_sentiment("They never showed up") < 0
    assert lexicon_sentiment("Tuesday at 3") == 0
    assert -1 <= lexicon_sentiment("terrible awful late broken") <= 1


def test_rule_lead_score():
    cold = rule_lead_score({"name": "A"})
    warm = rule_lead_score({"name": "B", "email": "b@example.com", "source": "website"})
    hot = rule_lead_score(
        {"name": "C", "phone": "+15125550100", "source": "referral", "notes": "Emergency: pipe leak, no heat"}
    )
    assert 0 <= cold < warm < hot <= 100


async def test_status_and_costs_endpoints(gateway, healthy_sandbox, tenant):
    await gateway.generate(ask(tenant.company_id, feature="quote_advisor"))
    healthy_sandbox.controls.set("gemini", "fail", times=1)
    await gateway.generate(ask(tenant.company_id, feature="review_response_draft"))

    owner = await tenant.client("owner")
    status = (await owner.get("/v1/ai/status")).json()
    assert status["status"] == "healthy"
    assert status["providers"]["gemini"] == {"state": "closed", "open_until": None, "consecutive_failures": 1}
    assert status["providers"]["claude"]["state"] == "closed"

    response = await owner.get("/v1/ai/costs")
    assert response.status_code == 200
    costs = response.json()
    assert costs["calls_today"] == 3 and costs["failures_today"] == 1
    assert costs["spend_today_cents"] > 0 and costs["daily_limit_cents"] == 500
    assert {row["feature"]: row["calls"] for row in costs["by_feature"]} == {
        "quote_advisor": 1,
        "review_response_draft": 2,
    }
    by_model = {(row["provider"], row["model"]): row for row in costs["by_model"]}
    assert by_model[("gemini", "gemini-2.5-flash")]["failures"] == 1
    assert by_model[("claude", "claude-haiku-4-5")]["calls"] == 1
    assert costs["status"] == "healthy" and set(costs["providers"]) == {"gemini", "claude"}

    tech = await tenant.client("tech")
    assert (await tech.get("/v1/ai/costs")).status_code == 403
    assert (await tech.get("/v1/ai/status")).status_code == 200
