"""Live events: a change committed anywhere reaches the company's open `GET /v1/events` streams, and
nobody else's, through PostgreSQL LISTEN/NOTIFY. Streams are read over a real port (ASGITransport
buffers whole responses); every wait has a timeout so a missing event fails instead of hanging."""

import asyncio
import json
import time
import uuid
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy import text
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

import api.events
from activities.events import publish
from activities.records import INVALID_TRANSITION, ChangeJobStatus, RecordsActivities
from tests.factories import PASSWORD

QUIET = 1.0  # how long a stream must stay silent to count as "got nothing"


class Stream:
    """One open event stream, parsed in the background: ("comment", text) or (kind, data) items."""

    def __init__(self, response: httpx.Response):
        self.response = response
        self.items: asyncio.Queue = asyncio.Queue()
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        kind, data = None, None
        async for line in self.response.aiter_lines():
            if line.startswith(":"):
                await self.items.put(("comment", line[1:].strip()))
            elif line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data = json.loads(line.removeprefix("data: "))
            elif line == "" and kind is not None:
                await self.items.put((kind, data))
                kind, data = None, None

    async def comment(self, within: float = 5) -> str:
        kind, body = await asyncio.wait_for(self.items.get(), within)
        assert kind == "comment", (kind, body)
        return body

    async def event(self, within: float = 3) -> tuple[str, dict]:
        """The next event, skipping heartbeats."""

        async def next_event():
            while True:
                kind, data = await self.items.get()
                if kind != "comment":
                    return kind, data

        return await asyncio.wait_for(next_event(), within)

    async def assert_quiet(self, seconds: float = QUIET) -> None:
        try:
            kind, data = await self.event(within=seconds)
        except TimeoutError:
            return
        raise AssertionError(f"expected no event, got {kind}: {data}")


@asynccontextmanager
async def signed_in(api_url: str, tenant=None, who: str = "owner", api_key: str | None = None):
    """A client on the real port: signed in with the session cookie (and its CSRF header), or an API key."""
    async with httpx.AsyncClient(base_url=api_url, timeout=httpx.Timeout(10, read=None)) as client:
        if api_key:
            client.headers["Authorization"] = f"Bearer {api_key}"
        else:
            email = tenant.users[who].email
            response = await client.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
            response.raise_for_status()
            client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
        yield client


@asynccontextmanager
async def listening(client: httpx.AsyncClient):
    """An open stream of `client`'s events, once the server says it is connected."""
    async with client.stream("GET", "/v1/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = Stream(response)
        try:
            assert await stream.comment() == "connected"
            yield stream
        finally:
            stream.task.cancel()


async def _job(office, tenant, who: str = "tech", start: str = "2026-12-01T09:00:00-06:00") -> dict:
    customer = (await office.post("/v1/customers", json={"name": "Live"})).json()["id"]
    body = {
        "customer_id": customer,
        "title": "Boiler",
        "assigned_user_id": str(tenant.users[who].id),
        "scheduled_start": start,
    }
    response = await office.post("/v1/jobs", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def _move(office, job: dict, status: str) -> None:
    moved = await office.post(f"/v1/jobs/{job['id']}/status", json={"status": status})
    assert moved.status_code == 200, moved.text


async def test_a_job_status_change_reaches_every_stream_of_the_company_and_no_other(
    app, api_url, tenant, other_tenant
):
    office = await tenant.client("manager")
    job = await _job(office, tenant)
    owner = await tenant.client("owner")
    api_key = (await owner.post("/v1/api-keys", json={"name": "wallboard"})).json()["key"]

    async with (
        signed_in(api_url, tenant, "owner") as browser,
        signed_in(api_url, api_key=api_key) as integrator,
        signed_in(api_url, other_tenant, "owner") as outsider,
        listening(browser) as board,
        listening(integrator) as wallboard,
        listening(outsider) as elsewhere,
    ):
        started = time.monotonic()
        await _move(office, job, "on_the_way")
        for stream in (board, wallboard):
            kind, event = await stream.event(within=2)
            assert kind == "job.status"
            assert event["kind"] == "job.status" and event["company_id"] == str(tenant.company_id)
            assert event["payload"] == {
                "job_id": job["id"],
                "status": "on_the_way",
                "previous_status": "scheduled",
                "assigned_user_id": str(tenant.users["tech"].id),
                "scheduled_start": "2026-12-01T15:00:00+00:00",
            }
            assert event["at"].endswith("+00:00")
        assert time.monotonic() - started < 2
        await elsewhere.assert_quiet()


async def test_a_new_job_is_announced_to_the_office_and_its_technician_only(api_url, tenant):
    office = await tenant.client("manager")
    async with (
        signed_in(api_url, tenant, "owner") as owner,
        signed_in(api_url, tenant, "tech") as tech,
        signed_in(api_url, tenant, "tech2") as tech2,
        listening(owner) as board,
        listening(tech) as mine,
        listening(tech2) as not_mine,
    ):
        job = await _job(office, tenant)
        for stream in (board, mine):
            kind, event = await stream.event()
            assert kind == "job.created"
            assert event["payload"] == {
                "job_id": job["id"],
                "status": "scheduled",
                "assigned_user_id": str(tenant.users["tech"].id),
            }
        await not_mine.assert_quiet()


async def test_technicians_hear_only_of_their_own_jobs_and_never_of_invoices(api_url, tenant):
    office = await tenant.client("manager")
    theirs = await _job(office, tenant, who="tech2")
    mine = await _job(office, tenant, who="tech")
    customer = (await office.post("/v1/customers", json={"name": "Billing"})).json()["id"]
    invoice = (await office.post("/v1/invoices", json={"customer_id": customer})).json()

    async with (
        signed_in(api_url, tenant, "tech") as tech,
        signed_in(api_url, tenant, "manager") as manager,
        listening(tech) as techs_phone,
        listening(manager) as board,
    ):
        await _move(office, theirs, "on_the_way")
        sent = await office.post(f"/v1/invoices/{invoice['id']}/mark-sent")
        assert sent.status_code == 200, sent.text
        await _move(office, mine, "on_the_way")

        # Events arrive in commit order: the technician's first one is their own job's.
        kind, event = await techs_phone.event()
        assert (kind, event["payload"]["job_id"]) == ("job.status", mine["id"])
        await techs_phone.assert_quiet()

        seen = [await board.event() for _ in range(3)]
        assert [kind for kind, _ in seen] == ["job.status", "invoice.status", "job.status"]
        assert seen[1][1]["payload"] == {
            "invoice_id": invoice["id"],
            "status": "sent",
            "number": invoice["number"],
        }


async def test_an_idle_stream_heartbeats_and_still_delivers(api_url, tenant, monkeypatch):
    monkeypatch.setattr(api.events, "HEARTBEAT_SECONDS", 0.2)
    office = await tenant.client("manager")
    job = await _job(office, tenant)
    async with signed_in(api_url, tenant, "manager") as client, listening(client) as stream:
        for _ in range(3):
            assert await stream.comment(within=2) == "heartbeat"
        await _move(office, job, "cancelled")
        kind, event = await stream.event()
        assert (kind, event["payload"]["status"]) == ("job.status", "cancelled")


async def test_an_open_stream_holds_no_pooled_connection_and_closing_it_unsubscribes_it(app, api_url, tenant):
    hub, pool = app.state.events, app.state.sessions.kw["bind"].pool
    before = hub.stream_count
    async with signed_in(api_url, tenant, "manager") as client:
        in_use = pool.checkedout()
        async with listening(client):
            assert hub.stream_count == before + 1
            assert pool.checkedout() == in_use  # or a few dozen open pages would drain the pool
    for _ in range(100):
        if hub.stream_count == before:
            break
        await asyncio.sleep(0.02)
    assert hub.stream_count == before


async def test_streams_resync_and_keep_delivering_after_the_listen_connection_drops(
    app, api_url, tenant, sessions
):
    office = await tenant.client("manager")
    job = await _job(office, tenant)
    async with signed_in(api_url, tenant, "manager") as client, listening(client) as stream:
        dropped = app.state.events.backend_pid
        async with sessions() as session:
            await session.exec(text("SELECT pg_terminate_backend(:pid)").bindparams(pid=dropped))
        kind, _ = await stream.event(within=10)
        assert kind == "resync"  # events may have been missed: pages reload
        assert app.state.events.backend_pid != dropped
        await _move(office, job, "on_the_way")
        kind, event = await stream.event()
        assert (kind, event["payload"]["job_id"]) == ("job.status", job["id"])


async def test_a_retried_or_refused_step_and_an_oversized_event_announce_nothing(api_url, tenant, sessions):
    office = await tenant.client("manager")
    job = await _job(office, tenant)
    change = ChangeJobStatus(
        job_id=job["id"],
        company_id=str(tenant.company_id),
        target="on_the_way",
        actor="user:test",
        workflow_id=f"job-{job['id']}",
        step_key=f"job-{job['id']}/retried-step",
    )
    activities = RecordsActivities(sessions)
    env = ActivityEnvironment()
    async with signed_in(api_url, tenant, "manager") as client, listening(client) as stream:
        await env.run(activities.change_job_status, change)
        kind, event = await stream.event()
        assert (kind, event["payload"]["status"]) == ("job.status", "on_the_way")

        await env.run(activities.change_job_status, change)  # as after a lost completion
        refused = ChangeJobStatus(**(vars(change) | {"target": "completed", "step_key": "refused"}))
        with pytest.raises(ApplicationError) as raised:  # on the way → completed skips the work
            await env.run(activities.change_job_status, refused)
        assert raised.value.type == INVALID_TRANSITION
        async with sessions() as session, session.begin():
            await publish(session, tenant.company_id, "job.note", {"text": "x" * 9_000})
        await stream.assert_quiet()


async def test_stray_notifications_on_the_channel_are_ignored(app, api_url, tenant, sessions):
    office = await tenant.client("manager")
    job = await _job(office, tenant)
    async with signed_in(api_url, tenant, "manager") as client, listening(client) as stream:
        pid = app.state.events.backend_pid
        async with sessions() as session, session.begin():
            for junk in ("not json", "[1]", '{"company_id": "x"}'):
                await session.exec(text("SELECT pg_notify('nexjob_events', :junk)").bindparams(junk=junk))
        await _move(office, job, "on_the_way")
        kind, event = await stream.event()  # no resync first: the LISTEN connection stayed up
        assert (kind, event["payload"]["job_id"]) == ("job.status", job["id"])
        assert app.state.events.backend_pid == pid


async def test_the_stream_needs_a_signed_in_caller(http):
    assert (await http.get("/v1/events")).status_code == 401
    bogus = {"Authorization": f"Bearer nxj_live_{uuid.uuid4().hex}"}
    assert (await http.get("/v1/events", headers=bogus)).status_code == 401


async def test_a_reassignment_reaches_the_board_and_both_technicians(api_url, tenant):
    office = await tenant.client("manager")
    job = await _job(office, tenant)  # the first technician's
    async with (
        signed_in(api_url, tenant, "owner") as browser,
        signed_in(api_url, tenant, "tech") as old_tech,
        signed_in(api_url, tenant, "tech2") as new_tech,
        listening(browser) as board,
        listening(old_tech) as was_mine,
        listening(new_tech) as now_mine,
    ):
        moved = await office.patch(
            f"/v1/jobs/{job['id']}", json={"assigned_user_id": str(tenant.users["tech2"].id)}
        )
        assert moved.status_code == 200
        for stream in (board, was_mine, now_mine):
            kind, event = await stream.event(within=2)
            assert kind == "job.assigned"
            assert event["payload"] == {
                "job_id": job["id"],
                "assigned_user_id": str(tenant.users["tech2"].id),
                "previous_assigned_user_id": str(tenant.users["tech"].id),
            }
