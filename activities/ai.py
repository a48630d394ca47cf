"""The AI gateway: every AI feature asks for text through `AiGateway.generate`; none calls a model itself.

One call goes: the company's daily budget → one of its N concurrency slots → Gemini → Claude → the caller's
deterministic fallback. A slot is a lease row in `ai_slot_lease`, taken and released in short transactions
(no connection is held during the call; a crashed caller's lease runs out). Each provider sits behind a
circuit breaker kept in `ai_provider_state`, so every API and worker process sees the same one; it counts
only the provider's own trouble (5xx, timeouts, connection errors, rate limits after 1 s, 2 s and 4 s of
backoff, invalid structured output), not a request the provider refused (400/404/413/422, a safety block or
an empty answer), which is logged and handed to the next provider. In production a provider without an API
key is never called; elsewhere the sandbox stands in for it. Every call leaves `ai_call_log` rows: one per
provider tried, or one denial or fallback row. Each row's `cost_cents` is rounded up for the dashboard; the
budget check prices the rows' tokens exactly, so cheap calls do not each count as a whole cent.

The callers' deterministic fallbacks live in `activities/ai_fallbacks.py`; the Temporal activities are here.
"""

import asyncio
import json
import logging
import math
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

import anthropic
from google.genai import errors as genai_errors
from google.genai import types as genai_types
from jsonschema import Draft202012Validator
from sqlalchemy import case, delete, func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.action_log import ActionRecord, record_action
from activities.clients import anthropic_client, gemini_client
from models.base import utcnow
from models.company import Company
from models.enums import ActionOutcome
from models.logs import AiCallLog
from models.providers import AiProviderState, AiSlotLease
from models.time import company_today, day_start
from settings import Settings

log = logging.getLogger(__name__)

GEMINI_MODEL = "gemini-2.5-flash"
CLAUDE_MODEL = "claude-haiku-4-5"
MODELS = {"gemini": GEMINI_MODEL, "claude": CLAUDE_MODEL}
PROVIDERS = ("gemini", "claude")  # in the order they are tried
# US cents per million tokens (input, output), from the providers' price lists.
PRICES = {GEMINI_MODEL: (30, 250), CLAUDE_MODEL: (100, 500)}
MAX_OUTPUT_TOKENS = 1024
BREAKER_THRESHOLD = 3  # consecutive failures that open a provider's breaker
BREAKER_OPEN_FOR = timedelta(seconds=60)
RATE_LIMIT_BACKOFF = (1, 2, 4)  # seconds before each retry of a rate-limited call
# Worst case for one generate_text activity: each provider 4 attempts at the SDK's 30 s timeout plus backoff.
GENERATE_TEXT_TIMEOUT = timedelta(minutes=5)
# A concurrency slot's lease covers the longest a call can take; a caller that died frees it when it ends.
SLOT_LEASE = GENERATE_TEXT_TIMEOUT
# HTTP codes that mean "this request is wrong", not "the provider is in trouble": no breaker count.
REQUEST_ERROR_CODES = frozenset({400, 404, 413, 422})


@dataclass(kw_only=True)
class AiRequest:
    company_id: str
    feature: str  # the cost dashboard's label: "quote_advisor", "review_response_draft", …
    prompt: str
    fallback: str  # the deterministic answer when no model may or can answer
    system: str | None = None
    # A JSON Schema (object at the top) the answer must match; the answer then arrives parsed in `data`.
    json_schema: dict | None = None
    fallback_data: dict | None = None  # `data` to go with `fallback` when a schema was asked for


@dataclass
class AiResult:
    text: str
    data: dict | None
    provider: str  # "gemini" | "claude" | "fallback" (both failed or skipped) | "none" (denied)
    model: str | None
    degraded: bool  # anything but the primary model answered


@dataclass
class _Reply:
    text: str
    input_tokens: int
    output_tokens: int


class _Refused(Exception):
    """A provider answered this request with nothing usable: a safety block or an empty answer."""


class _InvalidOutput(Exception):
    """A provider answered, but not with what the schema asks for."""

    def __init__(self, problem: str, reply: _Reply):
        super().__init__(problem)
        self.reply = reply


# ---- structured output ----------------------------------------------------------------------------


def parse_structured(text: str, schema: dict) -> dict:
    """The answer as a JSON object matching `schema`, or ValueError saying why not."""
    # Models like to wrap JSON in a Markdown fence even when told not to.
    fenced = re.fullmatch(r"\s*```(?:json)?\s*(.*?)\s*```\s*", text, re.DOTALL)
    data = json.loads(fenced.group(1) if fenced else text)
    if not isinstance(data, dict):
        raise ValueError("the answer is not a JSON object")
    problems = sorted(Draft202012Validator(schema).iter_errors(data), key=lambda e: list(e.absolute_path))
    if problems:
        raise ValueError("; ".join(f"{e.json_path}: {e.message}" for e in problems[:5]))
    return data


# ---- shared state: configuration, spend, breakers -------------------------------------------------


def configured(provider: str, settings: Settings) -> bool:
    """Whether `provider` may be called: in production only with its API key; elsewhere the sandbox
    stands in for a provider without one."""
    if settings.nexjob_env != "production":
        return True
    return bool(settings.gemini_api_key if provider == "gemini" else settings.anthropic_api_key)


def exact_cost_cents(model: str | None, input_tokens: int, output_tokens: int) -> float:
    """What a call cost in (fractional) US cents; 0 for rows no model answered."""
    if model not in PRICES:
        return 0.0
    per_input, per_output = PRICES[model]
    return (input_tokens * per_input + output_tokens * per_output) / 1_000_000


def cost_cents(model: str | None, input_tokens: int, output_tokens: int) -> int:
    """What a call cost, rounded up to the whole cents the column holds (the dashboard's per-row cost)."""
    return math.ceil(exact_cost_cents(model, input_tokens, output_tokens))


def daily_budget_cents(company: Company, settings: Settings) -> int:
    """The company's own limit if it has one, else the platform default."""
    if company.ai_daily_budget_cents is not None:
        return company.ai_daily_budget_cents
    return settings.ai_daily_budget_cents


async def spent_since(session: AsyncSession, company_id: uuid.UUID, since: datetime) -> float:
    """The company's AI spend since `since` in fractional cents, priced from the rows' token counts."""
    stmt = (
        select(AiCallLog.model, func.sum(AiCallLog.input_tokens), func.sum(AiCallLog.output_tokens))
        .where(AiCallLog.company_id == company_id, AiCallLog.created_at >= since)
        .where(AiCallLog.model.is_not(None))
        .group_by(AiCallLog.model)
    )
    return sum(exact_cost_cents(*row) for row in (await session.exec(stmt)).all())


async def breaker_states(session: AsyncSession, settings: Settings) -> dict[str, dict]:
    """Each provider's breaker: {"state": "closed" | "open", "open_until", "consecutive_failures",
    "configured"} ("configured": whether the provider is called at all, see `configured`)."""
    rows = {row.provider: row for row in (await session.exec(select(AiProviderState))).all()}
    now = utcnow()
    states = {}
    for provider in PROVIDERS:
        row = rows.get(provider)
        is_open = row is not None and row.open_until is not None and row.open_until > now
        states[provider] = {
            "state": "open" if is_open else "closed",
            "open_until": row.open_until if is_open else None,
            "consecutive_failures": row.consecutive_failures if row else 0,
            "configured": configured(provider, settings),
        }
    return states


def overall_status(states: dict[str, dict]) -> str:
    """The UI banner's state, over the configured providers only: "healthy" (no breaker open), "degraded"
    (some open, one still answers) or "down" (every one open). None configured is not an outage."""
    live = [s for s in states.values() if s["configured"]]
    opened = sum(s["state"] == "open" for s in live)
    if opened == 0:
        return "healthy"
    return "down" if opened == len(live) else "degraded"


def _status_code(exc: Exception) -> int | None:
    if isinstance(exc, anthropic.APIStatusError):
        return exc.status_code
    if isinstance(exc, genai_errors.APIError):
        return exc.code
    return None


def _is_rate_limit(exc: Exception) -> bool:
    return _status_code(exc) == 429


def _is_about_the_request(exc: Exception) -> bool:
    """The provider refused this request (it would fail anywhere): not the provider's trouble."""
    return isinstance(exc, _Refused) or _status_code(exc) in REQUEST_ERROR_CODES


_background: set[asyncio.Task] = set()  # shielded tasks still running after their caller was cancelled


async def _run_to_end(work: Coroutine[Any, Any, None]) -> None:
    """Await `work`; a caller cancelled meanwhile gets its CancelledError at once, and `work` runs on."""
    task = asyncio.ensure_future(work)
    _background.add(task)
    task.add_done_callback(_background.discard)
    await asyncio.shield(task)


# ---- the gateway ----------------------------------------------------------------------------------


class AiGateway:
    """Budget, concurrency cap, Gemini then Claude behind circuit breakers, cost rows, fallback."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        self._sessions = sessions
        self._settings = settings
        self._sleep = sleep  # tests pass a recorder so backoff costs no time
        self.concurrency_cap: int = settings.ai_concurrency_cap

    # The SDK clients are made on first use: the API builds a gateway per request just to read status.
    @cached_property
    def _gemini(self):
        return gemini_client(self._settings)

    @cached_property
    def _claude(self):
        return anthropic_client(self._settings)

    async def generate(self, request: AiRequest) -> AiResult:
        """The best answer available now; never raises for provider trouble (that is what fallback is)."""
        company_id = uuid.UUID(str(request.company_id))
        async with self._sessions() as session:
            company = await session.get(Company, company_id)
            if company is None:
                raise ApplicationError(f"no company {company_id}", type="NotFound", non_retryable=True)
            spent = await spent_since(
                session, company_id, day_start(company_today(company), company.timezone)
            )
        providers = [p for p in PROVIDERS if configured(p, self._settings)]
        if not providers:  # no AI in this deployment: nothing to budget, cap or call
            await self._log(request, "fallback", None, "fallback")
            return self._fallback(request, "fallback")
        if spent >= daily_budget_cents(company, self._settings):
            await self._log(request, "none", None, "budget_exceeded")
            return self._fallback(request, "none")

        async with self._slot(company_id) as have_slot:
            if not have_slot:
                await self._log(request, "none", None, "concurrency_cap_exceeded")
                return self._fallback(request, "none")
            async with self._sessions() as session:
                states = await breaker_states(session, self._settings)
            for provider in providers:
                if states[provider]["state"] == "open":
                    continue
                result = await self._try(provider, request, primary=provider == providers[0])
                if result is not None:
                    return result
        await self._log(request, "fallback", None, "fallback")
        return self._fallback(request, "fallback")

    async def status(self) -> str:
        """The AI status over the configured providers: "healthy", "degraded" (a breaker open, another
        provider covering) or "down" (every configured provider's breaker open)."""
        async with self._sessions() as session:
            return overall_status(await breaker_states(session, self._settings))

    async def outage_alert_due(self, company_id: uuid.UUID | str) -> bool:
        """True at most once per company and local calendar day, while both providers are down and the
        company wants the owners' outage SMS. The caller sends it; the action-log row's unique key makes
        the decision once a day across every process."""
        if await self.status() != "down":
            return False
        company_id = uuid.UUID(str(company_id))
        async with self._sessions() as session, session.begin():
            company = await session.get(Company, company_id)
            if company is None:
                return False
            today = company_today(company)
            wanted = company.owner_ai_outage_sms
            # A day on which the toggle was off gets one skipped row, and turning it on still alerts.
            key = f"ai-outage/{company_id}/{today}" + ("" if wanted else "/off")
            inserted = await record_action(
                session,
                ActionRecord(
                    company_id=str(company_id),
                    action="ai_outage_alert",
                    outcome=ActionOutcome.done if wanted else ActionOutcome.skipped,
                    reason="both AI providers down: owner alert due" if wanted else "owner outage SMS is off",
                    entity_type="company",
                    entity_id=str(company_id),
                    idempotency_key=key,
                ),
            )
        return wanted and inserted

    # -- one provider ------------------------------------------------------------------------------

    async def _try(self, provider: str, request: AiRequest, *, primary: bool) -> AiResult | None:
        """One provider's answer (rate limits retried with backoff), or None after logging its failure
        (and counting it toward the breaker unless the provider refused this particular request)."""
        ask = self._ask_gemini if provider == "gemini" else self._ask_claude
        model = MODELS[provider]
        started = time.monotonic()
        for delay in (*RATE_LIMIT_BACKOFF, None):
            try:
                reply = await ask(request)
                data = None
                if request.json_schema is not None:
                    try:
                        data = parse_structured(reply.text, request.json_schema)
                    except ValueError as exc:  # JSONDecodeError included
                        raise _InvalidOutput(str(exc), reply) from exc
            except _InvalidOutput as exc:
                await self._log(request, provider, model, "invalid_output", started, exc.reply)
                await self._record_failure(provider, f"invalid output: {exc}")
                return None
            # Any trouble from the SDK or the network means: try the next provider.
            except Exception as exc:
                if _is_rate_limit(exc) and delay is not None:
                    await self._sleep(delay)
                    continue
                outcome = "rate_limited" if _is_rate_limit(exc) else "error"
                log.warning("AI provider %s failed for %s: %r", provider, request.feature, exc)
                await self._log(request, provider, model, outcome, started)
                # One company's bad prompt must not open the breaker for every company.
                if not _is_about_the_request(exc):
                    await self._record_failure(provider, f"{type(exc).__name__}: {exc}")
                return None
            await self._log(request, provider, model, "ok", started, reply)
            await self._record_success(provider)
            return AiResult(reply.text, data, provider, model, degraded=not primary)
        raise AssertionError("unreachable: the last attempt returns")

    async def _ask_gemini(self, request: AiRequest) -> _Reply:
        config = genai_types.GenerateContentConfig(system_instruction=request.system)
        if request.json_schema is not None:
            config.response_mime_type = "application/json"
            config.response_json_schema = request.json_schema
        response = await self._gemini.aio.models.generate_content(
            model=GEMINI_MODEL, contents=request.prompt, config=config
        )
        if not response.text:  # a safety block (of the prompt or the answer) or an empty answer
            raise _Refused(f"Gemini returned no text ({response.prompt_feedback}, {response.candidates})")
        usage = response.usage_metadata
        # Thinking tokens are billed as output.
        output = (usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0) if usage else 0
        return _Reply(response.text, (usage.prompt_token_count or 0) if usage else 0, output)

    async def _ask_claude(self, request: AiRequest) -> _Reply:
        system = request.system or ""
        if request.json_schema is not None:
            schema = json.dumps(request.json_schema)
            system = f"{system}\n\nAnswer in JSON only, one object matching this JSON schema: {schema}"
            system = system.strip()
        kwargs: dict[str, Any] = {"system": system} if system else {}
        # clients.py builds the synchronous SDK client: keep its blocking call off the event loop.
        message = await asyncio.to_thread(
            self._claude.messages.create,
            model=CLAUDE_MODEL,
            max_tokens=MAX_OUTPUT_TOKENS,
            messages=[{"role": "user", "content": request.prompt}],
            **kwargs,
        )
        text = "".join(block.text for block in message.content if block.type == "text")
        if not text:  # a refusal or an empty answer
            raise _Refused(f"Claude returned no text (stop reason: {message.stop_reason})")
        return _Reply(text, message.usage.input_tokens, message.usage.output_tokens)

    # -- bookkeeping -------------------------------------------------------------------------------

    @staticmethod
    def _fallback(request: AiRequest, provider: str) -> AiResult:
        return AiResult(request.fallback, request.fallback_data, provider, None, degraded=True)

    async def _log(
        self,
        request: AiRequest,
        provider: str,
        model: str | None,
        outcome: str,
        started: float | None = None,
        reply: _Reply | None = None,
    ) -> None:
        tokens_in, tokens_out = (reply.input_tokens, reply.output_tokens) if reply else (0, 0)
        row = AiCallLog(
            company_id=uuid.UUID(str(request.company_id)),
            feature=request.feature,
            provider=provider,
            model=model,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            cost_cents=cost_cents(model, tokens_in, tokens_out),
            latency_ms=round((time.monotonic() - started) * 1000) if started is not None else 0,
            outcome=outcome,
        )
        async with self._sessions() as session, session.begin():
            session.add(row)

    async def _record_failure(self, provider: str, error: str) -> None:
        """Count a failure; the one that reaches the threshold opens the breaker (a failure while half
        open, after `open_until` passed, reopens it at once since the count is still past it)."""
        now = utcnow()
        failures = AiProviderState.consecutive_failures + 1
        stmt = pg_insert(AiProviderState).values(
            provider=provider,
            consecutive_failures=1,
            open_until=now + BREAKER_OPEN_FOR if BREAKER_THRESHOLD <= 1 else None,
            last_error=error[:500],
            updated_at=now,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["provider"],
            set_={
                "consecutive_failures": failures,
                "open_until": case(
                    (failures >= BREAKER_THRESHOLD, now + BREAKER_OPEN_FOR), else_=AiProviderState.open_until
                ),
                "last_error": error[:500],
                "updated_at": now,
            },
        )
        async with self._sessions() as session, session.begin():
            await session.exec(stmt)

    async def _record_success(self, provider: str) -> None:
        """Close the breaker. Writes only when it is not closed already: the row is shared by every call."""
        stmt = (
            update(AiProviderState)
            .where(AiProviderState.provider == provider)
            .where((AiProviderState.consecutive_failures > 0) | AiProviderState.open_until.is_not(None))
            .values(consecutive_failures=0, open_until=None, updated_at=utcnow())
        )
        async with self._sessions() as session, session.begin():
            await session.exec(stmt)

    @asynccontextmanager
    async def _slot(self, company_id: uuid.UUID) -> AsyncIterator[bool]:
        """Lease one of the company's concurrency slots for the block; False when all are taken.

        A slot is a row in `ai_slot_lease`, so it counts across every process; no connection is held
        meanwhile. The lease is released when the block ends, even when it is cancelled, and runs out by
        itself after SLOT_LEASE if this process dies first."""
        holder = uuid.uuid4().hex  # this call's own lease: only it releases it
        taken: bool | None = None  # None: the take was interrupted and may have committed
        try:
            taken = await self._take_slot(company_id, holder)
            yield taken
        finally:
            if taken is not False:
                await _run_to_end(self._release_slot(company_id, holder))

    async def _take_slot(self, company_id: uuid.UUID, holder: str) -> bool:
        """Take the first free (or expired) slot, one short transaction per slot tried."""
        async with self._sessions() as session:
            for slot in range(self.concurrency_cap):
                stmt = pg_insert(AiSlotLease).values(
                    company_id=company_id, slot=slot, holder=holder, lease_until=func.now() + SLOT_LEASE
                )
                stmt = stmt.on_conflict_do_update(
                    index_elements=["company_id", "slot"],
                    set_={"holder": stmt.excluded.holder, "lease_until": stmt.excluded.lease_until},
                    where=AiSlotLease.lease_until < func.now(),
                ).returning(AiSlotLease.slot)
                won = (await session.exec(stmt)).first() is not None
                await session.commit()  # also frees the row lock a lost attempt takes
                if won:
                    return True
        return False

    async def _release_slot(self, company_id: uuid.UUID, holder: str) -> None:
        """Give the lease back (a holder holds at most one slot). Never raises: the lease runs out anyway."""
        stmt = delete(AiSlotLease).where(AiSlotLease.company_id == company_id, AiSlotLease.holder == holder)
        try:
            async with self._sessions() as session, session.begin():
                await session.exec(stmt)
        except Exception:
            log.warning(
                "could not release an AI slot of %s; its lease runs out by itself", company_id, exc_info=True
            )


# ---- Temporal activities --------------------------------------------------------------------------


class AiActivities:
    """Start `generate_text` with `start_to_close_timeout=GENERATE_TEXT_TIMEOUT`."""

    def __init__(self, gateway: AiGateway):
        self._gateway = gateway

    @activity.defn
    async def generate_text(self, request: AiRequest) -> AiResult:
        """The gateway's answer: a model's, or the request's fallback when none may or can answer."""
        return await self._gateway.generate(request)

    @activity.defn
    async def ai_outage_alert_due(self, company_id: str) -> bool:
        """Whether to text the company's owners about an AI outage now (once a day at most)."""
        return await self._gateway.outage_alert_due(company_id)
