"""The AI gateway against the sandboxed Gemini and Claude (real SDKs, real PostgreSQL): failover, circuit
breakers, structured output, budget, concurrency cap, rate-limit backoff, unconfigured providers,
fallbacks, status and costs."""

import asyncio
import uuid
from datetime import timedelta

import httpx
import pytest
from google.genai import errors as genai_errors
from sqlmodel import delete, select, update
from temporalio.converter import DataConverter
from temporalio.testing import ActivityEnvironment

from activities.ai import AiActivities, AiGateway, AiRequest, AiResult
from activities.ai_fallbacks import lexicon_sentiment, rule_lead_score
from models.base import utcnow
from models.company import Company
from models.logs import ActionLog, AiCallLog
from models.providers import AiProviderState, AiSlotLease

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


async def leases(sessions, *company_ids) -> list[AiSlotLease]:
    async with sessions() as session:
        stmt = select(AiSlotLease).where(AiSlotLease.company_id.in_(company_ids))
        return list((await session.exec(stmt)).all())


async def open_breakers(sessions, *providers: str) -> None:
    async with sessions() as session:
        for provider in providers:
            until = utcnow() + timedelta(seconds=60)
            session.add(AiProviderState(provider=provider, consecutive_failures=3, open_until=until))
        await session.commit()


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
    await open_breakers(sessions, "gemini", "claude")
    async with sessions() as session:
        (await session.get(Company, company.id)).owner_ai_outage_sms = False
        await session.commit()
    assert not await gateway.outage_alert_due(company.id)
    assert not await gateway.outage_alert_due(company.id)
    async with sessions() as session:
        rows = (await session.exec(select(ActionLog).where(ActionLog.company_id == company.id))).all()
    assert [(row.outcome, row.reason) for row in rows] == [("skipped", "owner outage SMS is off")]


async def test_over_budget_calls_no_provider(gateway, sessions, settings, company):
    async with sessions() as session:
        (await session.get(Company, company.id)).ai_daily_budget_cents = 1
        await session.commit()
    # Each cheap call's row says 1 cent (rounded up), but the budget counts what the tokens cost.
    for _ in range(2):
        assert (await gateway.generate(ask(company.id))).provider == "gemini"
    await script(settings, "gemini", "word " * 4000, times=1)  # 4,000 output tokens: a whole cent
    assert (await gateway.generate(ask(company.id))).provider == "gemini"
    result = await gateway.generate(ask(company.id))
    assert (result.provider, result.text, result.degraded) == ("none", FALLBACK, True)
    rows = await call_rows(sessions, company.id)
    assert outcomes(rows) == [("gemini", "ok")] * 3 + [("none", "budget_exceeded")]
    assert [row.cost_cents for row in rows] == [1, 1, 2, 0]


async def test_a_burst_beyond_the_concurrency_cap_is_denied(gateway, sessions, settings, company):
    assert gateway.concurrency_cap == 5
    await script(settings, "gemini", times=None, delay_ms=1500)  # slow answers hold their slots
    results = await asyncio.gather(*(gateway.generate(ask(company.id)) for _ in range(6)))
    assert sorted(r.provider for r in results) == ["gemini"] * 5 + ["none"]
    rows = outcomes(await call_rows(sessions, company.id))
    assert sorted(rows) == [("gemini", "ok")] * 5 + [("none", "concurrency_cap_exceeded")]

    # The slots are free again afterwards.
    assert await leases(sessions, company.id) == []
    await script(settings, "gemini", times=None, delay_ms=0)
    assert (await gateway.generate(ask(company.id))).provider == "gemini"


async def test_calls_for_more_companies_than_pooled_connections_all_succeed(gateway, sessions, settings):
    # A slot holds no connection during the call: 21 slow calls at once fit the 20-connection pool.
    companies = [Company(name=f"AI Co {uuid.uuid4().hex[:8]}", timezone="America/Chicago") for _ in range(21)]
    async with sessions() as session:
        session.add_all(companies)
        await session.commit()
    await script(settings, "gemini", times=None, delay_ms=500)
    results = await asyncio.wait_for(
        asyncio.gather(*(gateway.generate(ask(company.id)) for company in companies)), timeout=20
    )
    assert [r.provider for r in results] == ["gemini"] * 21
    assert await leases(sessions, *(company.id for company in companies)) == []


async def test_a_cancelled_call_gives_its_slot_back(gateway, sessions, settings, company):
    await script(settings, "gemini", times=None, delay_ms=2000)
    call = asyncio.create_task(gateway.generate(ask(company.id)))
    for _ in range(100):  # until it holds its slot
        if await leases(sessions, company.id):
            break
        await asyncio.sleep(0.02)
    assert len(await leases(sessions, company.id)) == 1
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    for _ in range(100):  # the release runs on, shielded from the cancellation
        if not await leases(sessions, company.id):
            break
        await asyncio.sleep(0.02)
    assert await leases(sessions, company.id) == []


async def test_a_refused_request_fails_over_without_counting_toward_the_breaker(
    gateway, sessions, settings, company
):
    await script(settings, "gemini", "", times=3)  # no text, as after a safety block
    for _ in range(3):
        assert (await gateway.generate(ask(company.id))).provider == "claude"
    assert outcomes(await call_rows(sessions, company.id)) == [("gemini", "error"), ("claude", "ok")] * 3
    assert await breaker(sessions, "gemini") is None
    assert await gateway.status() == "healthy"
    assert (await gateway.generate(ask(company.id))).provider == "gemini"


async def test_a_400_does_not_count_toward_the_breaker_but_a_500_does(
    gateway, sessions, company, monkeypatch
):
    answer = {"code": 400, "message": "Request contains an invalid argument.", "status": "INVALID_ARGUMENT"}

    async def bad_request(request):
        raise genai_errors.ClientError(answer["code"], {"error": answer})

    monkeypatch.setattr(gateway, "_ask_gemini", bad_request)
    for _ in range(3):
        assert (await gateway.generate(ask(company.id))).provider == "claude"
    assert outcomes(await call_rows(sessions, company.id)) == [("gemini", "error"), ("claude", "ok")] * 3
    assert await breaker(sessions, "gemini") is None

    answer.update(code=500, message="Internal error", status="INTERNAL")
    assert (await gateway.generate(ask(company.id))).provider == "claude"
    assert (await breaker(sessions, "gemini")).consecutive_failures == 1


async def test_unconfigured_providers_are_not_called_in_production(gateway, sessions, settings, company):
    bare = settings.model_copy(
        update={"nexjob_env": "production", "gemini_api_key": "", "anthropic_api_key": ""}
    )
    unconfigured = AiGateway(sessions, bare)
    result = await unconfigured.generate(ask(company.id, fallback_data={"score": 50}))
    assert (result.provider, result.text, result.data, result.degraded) == (
        "fallback",
        FALLBACK,
        {"score": 50},
        True,
    )
    assert outcomes(await call_rows(sessions, company.id)) == [("fallback", "fallback")]
    assert await breaker(sessions, "gemini") is None and await breaker(sessions, "claude") is None

    # Open breakers of providers this deployment does not use are no outage: no "down", no owner SMS.
    await open_breakers(sessions, "gemini", "claude")
    assert await unconfigured.status() == "healthy"
    assert not await unconfigured.outage_alert_due(company.id)
    async with sessions() as session:
        assert (await session.exec(select(ActionLog).where(ActionLog.company_id == company.id))).all() == []

    # Claude alone configured (its breaker open, so nothing is called): Gemini is skipped, Claude's outage is
    # the deployment's outage.
    claude_only = AiGateway(sessions, bare.model_copy(update={"anthropic_api_key": "sk-ant-not-used"}))
    assert await claude_only.status() == "down"
    assert (await claude_only.generate(ask(company.id))).provider == "fallback"
    assert outcomes(await call_rows(sessions, company.id)) == [("fallback", "fallback")] * 2
    assert await claude_only.outage_alert_due(company.id)


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


async def set_budget(sessions, company_id, cents: int | None) -> None:
    async with sessions() as session:
        (await session.get(Company, company_id)).ai_daily_budget_cents = cents
        await session.commit()


async def test_status_and_costs_endpoints(gateway, sessions, healthy_sandbox, tenant):
    draft = "review_response_draft"
    await gateway.generate(ask(tenant.company_id, feature="quote_advisor"))  # gemini ok
    healthy_sandbox.controls.set("gemini", "fail", times=1)
    await gateway.generate(ask(tenant.company_id, feature=draft))  # gemini error, claude ok
    await set_budget(sessions, tenant.company_id, 0)
    await gateway.generate(ask(tenant.company_id, feature=draft))  # denied: no provider call
    await set_budget(sessions, tenant.company_id, None)
    healthy_sandbox.controls.set("gemini", "fail", times=1)
    healthy_sandbox.controls.set("anthropic", "fail", times=1)
    await gateway.generate(ask(tenant.company_id, feature=draft))  # both error, then the fallback

    owner = await tenant.client("owner")
    status = (await owner.get("/v1/ai/status")).json()
    assert status["status"] == "healthy"
    assert status["providers"]["gemini"] == {
        "state": "closed",
        "open_until": None,
        "consecutive_failures": 2,
        "configured": True,
    }
    assert status["providers"]["claude"]["state"] == "closed" and status["providers"]["claude"]["configured"]

    response = await owner.get("/v1/ai/costs")
    assert response.status_code == 200
    costs = response.json()
    assert (costs["calls_today"], costs["failures_today"]) == (5, 3)  # provider calls only
    assert (costs["denied_today"], costs["fallbacks_today"]) == (1, 1)
    assert costs["spend_today_cents"] > 0 and costs["daily_limit_cents"] == 500
    assert {row["feature"]: row["calls"] for row in costs["by_feature"]} == {"quote_advisor": 1, draft: 4}
    by_model = {(row["provider"], row["model"]): row for row in costs["by_model"]}
    assert by_model[("gemini", "gemini-2.5-flash")]["failures"] == 2
    assert (
        by_model[("claude", "claude-haiku-4-5")]["calls"],
        by_model[("claude", "claude-haiku-4-5")]["failures"],
    ) == (2, 1)
    assert (by_model[("none", None)]["calls"], by_model[("none", None)]["denied"]) == (0, 1)
    assert by_model[("fallback", None)]["fallbacks"] == 1
    assert costs["status"] == "healthy" and set(costs["providers"]) == {"gemini", "claude"}

    tech = await tenant.client("tech")
    assert (await tech.get("/v1/ai/costs")).status_code == 403
    assert (await tech.get("/v1/ai/status")).status_code == 200
