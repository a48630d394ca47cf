"""QuoteWorkflow's clock: a reminder 2 days and a nudge 5 days after sending, at 9:30 company time on
weekdays, each at most once per quote; accepting stops them; the quote expires at the end of its expiry
day, and sending it again revives it without repeating its follow-ups."""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlmodel import select
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.testing import WorkflowEnvironment

import activities.quotes
import models.time
from models.logs import ActionLog, MessageLog
from models.quotes import Quote
from models.time import follow_up_at, quote_expires_at
from sandbox.context import SandboxContext
from temporal.dev_server import temporal_test_server
from tests.quote_journey import AUTOMATIONS, Journey, link_in, path_of, prepare, rows, tiered_quote
from worker import Deps, build_worker
from workflows.quote import AcceptQuote, QuoteInput, QuoteStage, QuoteWorkflow, SendQuote

CHICAGO = "America/Chicago"  # every test company's timezone (tests/factories.py)
CENTRAL = ZoneInfo(CHICAGO)
FOLLOW_UP_PURPOSES = {"followup-reminder", "followup-reminder-sms", "followup-nudge", "followup-nudge-sms"}


def central(*args) -> datetime:
    return datetime(*args, tzinfo=CENTRAL)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# follow_up_at and quote_expires_at on their own


@pytest.mark.parametrize(
    ("sent_at", "days", "expected"),
    [
        pytest.param(central(2026, 2, 2, 14, 5), 2, utc(2026, 2, 4, 15, 30), id="monday-to-wednesday"),
        pytest.param(central(2026, 2, 5, 8, 0), 2, utc(2026, 2, 9, 15, 30), id="thursday-saturday-to-monday"),
        pytest.param(
            central(2026, 2, 4, 16, 45), 5, utc(2026, 2, 9, 15, 30), id="wednesday-plus-5-is-monday"
        ),
        # Tuesday 03:00 UTC is still Monday 21:00 in Chicago: the days count from Monday.
        pytest.param(
            utc(2026, 2, 3, 3, 0), 2, utc(2026, 2, 4, 15, 30), id="utc-evening-is-previous-local-day"
        ),
        # Sent Friday in CST; Sunday, March 8 starts daylight time, so Monday 9:30 is CDT (UTC-5).
        pytest.param(central(2026, 3, 6, 10, 0), 2, utc(2026, 3, 9, 14, 30), id="dst-starts-on-the-weekend"),
        # Sent Thursday in CDT; daylight time ends Sunday, November 1, so Tuesday 9:30 is CST (UTC-6).
        pytest.param(
            central(2026, 10, 29, 10, 0), 5, utc(2026, 11, 3, 15, 30), id="dst-ends-within-the-wait"
        ),
    ],
)
def test_follow_up_goes_at_half_past_nine_company_time_on_a_weekday(sent_at, days, expected):
    at = follow_up_at(sent_at, days, CHICAGO)
    assert at == expected
    assert at.utcoffset() == timedelta(0)
    assert at.astimezone(CENTRAL).weekday() < 5
    assert at.astimezone(CENTRAL).time().isoformat() == "09:30:00"


def test_follow_up_time_comes_back_in_utc():
    assert follow_up_at(central(2026, 2, 2, 14, 5), 2, CHICAGO).tzinfo is UTC


@pytest.mark.parametrize(
    ("expires_on", "expected"),
    [
        pytest.param(date(2026, 2, 10), utc(2026, 2, 11, 6, 0), id="winter-cst"),
        pytest.param(date(2026, 7, 10), utc(2026, 7, 11, 5, 0), id="summer-cdt"),
        pytest.param(date(2026, 3, 7), utc(2026, 3, 8, 6, 0), id="day-before-dst-starts"),
        pytest.param(date(2026, 10, 31), utc(2026, 11, 1, 5, 0), id="day-before-dst-ends"),
    ],
)
def test_quote_expires_at_the_midnight_after_its_expiry_day_company_time(expires_on, expected):
    at = quote_expires_at(expires_on, CHICAGO)
    assert at == expected and at.tzinfo is UTC
    assert at.astimezone(CENTRAL) == central(*(expires_on + timedelta(days=1)).timetuple()[:3])


# the workflow on the time-skipping server


class ServerClock:
    """The activities' clock (sent_at, 'today' at the company) kept on the time-skipping server's, as the
    two are one clock in production. Synced after each skip, so it is stale during one: nothing the
    follow-ups or the expiry write depends on the date."""

    def __init__(self, env: WorkflowEnvironment):
        self.env = env
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    async def sleep_until(self, moment: datetime) -> None:
        await self.env.sleep(moment - await self.env.get_current_time())
        self.offset = await self.env.get_current_time() - datetime.now(UTC)

    async def next(self, weekday: int, hour: int) -> datetime:
        """Skips to the next `weekday` (Monday 0) at `hour` company time, so a test runs the same any day."""
        day = self.now().astimezone(CENTRAL).date() + timedelta(days=1)
        while day.weekday() != weekday:
            day += timedelta(days=1)
        moment = central(day.year, day.month, day.day, hour)
        await self.sleep_until(moment)
        return moment


@pytest.fixture
async def clock(monkeypatch) -> AsyncIterator[ServerClock]:
    """A time-skipping server of this test's own, starting at the real now: time is global per server."""
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=temporal_test_server())
    async with env:
        server_clock = ServerClock(env)
        monkeypatch.setattr(models.time, "utcnow", server_clock.now)  # company_today
        monkeypatch.setattr(activities.quotes, "utcnow", server_clock.now)  # sent_at
        yield server_clock


@dataclass
class Flow:
    """One quote, its customer, and a worker on the time-skipping server."""

    client: Client
    queue: str
    journey: Journey
    quote_id: str
    company_id: str
    sandbox: SandboxContext
    sessions: object

    @property
    def workflow_id(self) -> str:
        return f"quote-{self.quote_id}"

    async def send(self) -> QuoteStage:
        start = WithStartWorkflowOperation(
            QuoteWorkflow.run,
            QuoteInput(self.quote_id, self.company_id),
            id=self.workflow_id,
            task_queue=self.queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        return await self.client.execute_update_with_start_workflow(
            QuoteWorkflow.send, SendQuote(actor="user:test"), start_workflow_operation=start
        )

    async def quote(self) -> Quote:
        async with self.sessions() as session:
            return await session.get(Quote, uuid.UUID(self.quote_id))

    def emails(self) -> list:
        return [
            e for e in self.sandbox.outbox if e.channel == "email" and e.to == self.journey.customer_email
        ]

    def texts(self) -> list:
        return [e for e in self.sandbox.outbox if e.channel == "sms" and e.to == self.journey.customer_phone]

    async def follow_up_rows(self) -> list[MessageLog]:
        return await rows(
            self.sessions,
            select(MessageLog).where(
                MessageLog.workflow_id == self.workflow_id, MessageLog.purpose.in_(FOLLOW_UP_PURPOSES)
            ),
        )


async def _flow(clock, tenant, sessions, settings, sandbox, automations=AUTOMATIONS) -> AsyncIterator[Flow]:
    journey = await prepare(tenant, sessions, card=False, automations=automations)
    quote = await tiered_quote(journey)
    queue = f"test-{uuid.uuid4()}"
    client = clock.env.client
    async with build_worker(client, Deps(sessions=sessions, settings=settings), task_queue=queue):
        yield Flow(client, queue, journey, quote["id"], str(tenant.company_id), sandbox, sessions)


@pytest.fixture
async def flow(clock, tenant, sessions, settings, healthy_sandbox) -> AsyncIterator[Flow]:
    async for made in _flow(clock, tenant, sessions, settings, healthy_sandbox):
        yield made


@pytest.fixture
async def flow_without_follow_ups(clock, tenant, sessions, settings, healthy_sandbox) -> AsyncIterator[Flow]:
    others = tuple(key for key in AUTOMATIONS if key != "quote_followup")
    async for made in _flow(clock, tenant, sessions, settings, healthy_sandbox, automations=others):
        yield made


async def test_reminder_and_nudge_each_go_out_once_at_their_time(flow: Flow, clock: ServerClock):
    thursday = await clock.next(3, 16)
    sent = await flow.send()
    assert sent.stage == "waiting_for_customer"
    sent_at = (await flow.quote()).sent_at
    assert sent_at - thursday < timedelta(minutes=1)
    # Thursday + 2 is a Saturday: the reminder waits for Monday; Thursday + 5 is Tuesday.
    reminder_at = central(*(thursday + timedelta(days=4)).timetuple()[:3], 9, 30)
    nudge_at = central(*(thursday + timedelta(days=5)).timetuple()[:3], 9, 30)
    assert (reminder_at, nudge_at) == (follow_up_at(sent_at, 2, CHICAGO), follow_up_at(sent_at, 5, CHICAGO))
    assert len(flow.emails()) == 1 and len(flow.texts()) == 1  # the quote itself

    await clock.sleep_until(reminder_at - timedelta(minutes=1))
    assert len(flow.emails()) == 1 and len(flow.texts()) == 1
    assert await flow.follow_up_rows() == []

    await clock.sleep_until(reminder_at + timedelta(minutes=1))
    assert len(flow.emails()) == 2 and len(flow.texts()) == 2
    reminder, reminder_text = flow.emails()[1], flow.texts()[1]
    assert reminder.subject.startswith("Reminder:") and "reminder" in reminder_text.body

    await clock.sleep_until(nudge_at - timedelta(minutes=1))
    assert len(flow.emails()) == 2 and len(flow.texts()) == 2

    await clock.sleep_until(nudge_at + timedelta(minutes=1))
    emails, texts = flow.emails(), flow.texts()
    assert len(emails) == 3 and len(texts) == 3
    nudge = emails[2]
    assert "expires" in nudge.subject and nudge.subject != reminder.subject
    assert texts[2].body != reminder_text.body
    assert link_in(nudge.body) == link_in(reminder.body) == link_in(emails[0].body)

    await clock.sleep_until(nudge_at + timedelta(days=7))  # nothing more until the quote expires
    assert len(flow.emails()) == 3 and len(flow.texts()) == 3
    follow_ups = await flow.follow_up_rows()
    assert sorted(row.purpose for row in follow_ups) == sorted(FOLLOW_UP_PURPOSES)
    assert all(row.provider_id for row in follow_ups)


async def test_accepting_before_the_reminder_stops_every_follow_up(flow: Flow, clock: ServerClock):
    await flow.send()
    sent_at = (await flow.quote()).sent_at
    await clock.sleep_until(follow_up_at(sent_at, 2, CHICAGO) - timedelta(hours=1))
    handle = flow.client.get_workflow_handle(flow.workflow_id)
    accepted = await handle.execute_update(
        QuoteWorkflow.accept, AcceptQuote(signed_name="Ada Lovelace", chosen_option_group="good")
    )
    assert accepted.stage == "waiting_for_time"

    await clock.sleep_until(follow_up_at(sent_at, 5, CHICAGO) + timedelta(days=1))
    assert len(flow.emails()) == 1 and len(flow.texts()) == 1  # only the quote itself
    assert await flow.follow_up_rows() == []
    assert (await flow.quote()).status == "accepted"
    assert (await handle.query(QuoteWorkflow.stage)).stage == "waiting_for_time"


async def test_switched_off_follow_ups_send_nothing_and_log_why(
    flow_without_follow_ups: Flow, clock: ServerClock
):
    flow = flow_without_follow_ups
    await flow.send()
    sent_at = (await flow.quote()).sent_at
    await clock.sleep_until(follow_up_at(sent_at, 5, CHICAGO) + timedelta(hours=1))

    assert len(flow.emails()) == 1 and len(flow.texts()) == 1
    assert await flow.follow_up_rows() == []
    logged = await rows(
        flow.sessions,
        select(ActionLog).where(
            ActionLog.entity_id == uuid.UUID(flow.quote_id), ActionLog.automation_key == "quote_followup"
        ),
    )
    assert sorted(row.action for row in logged) == ["send_quote_nudge", "send_quote_reminder"]
    assert {row.outcome for row in logged} == {"skipped"}
    assert {row.reason for row in logged} == {"Quote Follow-Up Sequence is switched off"}
    assert (await flow.quote()).status == "sent"  # still open to the customer, only not chased


async def test_quote_expires_after_its_last_day_and_a_new_send_does_not_repeat_follow_ups(
    flow: Flow, clock: ServerClock, http: httpx.AsyncClient
):
    await flow.send()
    first = await flow.quote()
    link = link_in(flow.emails()[0].body)
    expires_at = quote_expires_at(first.expires_on, CHICAGO)
    handle = flow.client.get_workflow_handle(flow.workflow_id)

    await clock.sleep_until(expires_at - timedelta(minutes=1))
    assert (await flow.quote()).status == "sent"
    assert (await http.get(path_of(link))).status_code == 200
    assert len(await flow.follow_up_rows()) == 4  # reminder and nudge, email and text

    await clock.sleep_until(expires_at + timedelta(minutes=1))
    assert (await flow.quote()).status == "expired"
    assert await handle.result() == "expired"
    page = await http.get(path_of(link))
    assert page.status_code == 410
    assert f"This quote expired on {first.expires_on:%B %-d, %Y}" in page.text

    revived = await flow.send()
    assert revived.stage == "waiting_for_customer"
    second = await flow.quote()
    assert second.status == "sent" and second.sent_at > first.sent_at
    today = clock.now().astimezone(CENTRAL).date()
    assert second.expires_on > today > first.expires_on  # a fresh validity period
    assert (await http.get(path_of(link))).status_code == 200
    assert len(flow.emails()) == 4 and len(flow.texts()) == 4  # the quote twice, each follow-up once

    await clock.sleep_until(follow_up_at(second.sent_at, 5, CHICAGO) + timedelta(hours=1))
    assert len(flow.emails()) == 4 and len(flow.texts()) == 4
    assert [e.subject.split(":")[0] for e in flow.emails()].count("Reminder") == 1
    assert len(await flow.follow_up_rows()) == 4
