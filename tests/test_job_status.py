"""Job status changes go through the job's workflow and its state machine."""

import asyncio
import uuid

from playwright.async_api import expect
from sqlmodel import select

import api.routes.jobs
from models.logs import ActionLog, AuditLog
from tests.browser import signed_in_page
from workflows.job import JobInput, JobWorkflow


async def _job(office, tenant, **extra) -> dict:
    customer = (await office.post("/v1/customers", json={"name": "Status"})).json()["id"]
    body = {
        "customer_id": customer,
        "title": "Water heater",
        "assigned_user_id": str(tenant.users["tech"].id),
    }
    return (await office.post("/v1/jobs", json=body | extra)).json()


async def test_a_technician_moves_their_job_through_the_day(tenant, sessions, temporal_env):
    office = await tenant.client("manager")
    job = await _job(office, tenant, scheduled_start="2026-12-01T09:00:00-06:00")
    tech = await tenant.client("tech")
    for status in ("on_the_way", "in_progress", "completed"):
        moved = await tech.post(f"/v1/jobs/{job['id']}/status", json={"status": status})
        assert moved.status_code == 200, moved.text
        assert moved.json()["status"] == status
    done = (await tech.get(f"/v1/jobs/{job['id']}")).json()
    assert done["completed_at"] is not None

    async with sessions() as session:
        audits = (
            await session.exec(
                select(AuditLog)
                .where(AuditLog.entity_id == uuid.UUID(job["id"]))
                .order_by(AuditLog.created_at)
            )
        ).all()
        actions = (
            await session.exec(select(ActionLog).where(ActionLog.entity_id == uuid.UUID(job["id"])))
        ).all()
    moves = [(a.before["status"], a.after["status"]) for a in audits if a.action == "change_status"]
    assert moves == [("scheduled", "on_the_way"), ("on_the_way", "in_progress"), ("in_progress", "completed")]
    assert all(a.actor == f"user:{tenant.users['tech'].email}" for a in audits if a.action == "change_status")
    assert {a.workflow_id for a in actions} == {f"job-{job['id']}"}
    assert await temporal_env.client.get_workflow_handle(f"job-{job['id']}").result() == "completed"


async def test_a_move_the_rules_forbid_is_409_with_what_is_possible(tenant):
    office = await tenant.client("manager")
    job = await _job(office, tenant)  # unscheduled
    refused = await office.post(f"/v1/jobs/{job['id']}/status", json={"status": "completed"})
    assert refused.status_code == 409
    assert "next it can be cancelled, scheduled" in refused.json()["detail"]
    no_time = await office.post(f"/v1/jobs/{job['id']}/status", json={"status": "scheduled"})
    assert no_time.status_code == 409 and "scheduled start" in no_time.json()["detail"]
    assert (await office.get(f"/v1/jobs/{job['id']}")).json()["status"] == "unscheduled"
    unknown = await office.post(f"/v1/jobs/{job['id']}/status", json={"status": "teleported"})
    assert unknown.status_code == 422


async def test_technicians_cannot_move_other_peoples_jobs(tenant):
    office = await tenant.client("manager")
    job = await _job(office, tenant, scheduled_start="2026-12-01T09:00:00-06:00")
    other_tech = await tenant.client("tech2")
    response = await other_tech.post(f"/v1/jobs/{job['id']}/status", json={"status": "on_the_way"})
    assert response.status_code == 404


async def test_unscheduling_a_job_clears_its_time(tenant):
    office = await tenant.client("manager")
    job = await _job(office, tenant, scheduled_start="2026-12-01T09:00:00-06:00")
    moved = (await office.post(f"/v1/jobs/{job['id']}/status", json={"status": "unscheduled"})).json()
    assert moved["status"] == "unscheduled" and moved["scheduled_start"] is None


async def _stage_once_loaded(client, job_id: str) -> dict:
    """The day's stage once its run has read the job (it starts a moment after the API answers)."""
    for _ in range(50):
        response = await client.get(f"/v1/jobs/{job_id}/stage")
        assert response.status_code == 200, response.text
        if response.json()["status"] != "loading":
            return response.json()
        await asyncio.sleep(0.1)
    raise AssertionError(f"the job's workflow never loaded: {response.json()}")


async def test_the_job_page_hears_where_the_day_stands_from_its_workflow(tenant):
    office = await tenant.client("manager")
    never_scheduled = await _job(office, tenant)
    assert (await _stage_once_loaded(office, never_scheduled["id"]))["description"].startswith(
        "no workflow yet"
    )

    job = await _job(office, tenant, scheduled_start="2026-12-01T09:00:00-06:00")
    assert await _stage_once_loaded(office, job["id"]) == {
        "status": "scheduled",
        "description": "scheduled: next, the 24-hour reminder",
        "next_reminder_at": "2026-11-30T15:00:00+00:00",
    }
    tech = await tenant.client("tech")
    await tech.post(f"/v1/jobs/{job['id']}/status", json={"status": "on_the_way"})
    on_the_way = await _stage_once_loaded(tech, job["id"])
    assert on_the_way["description"].startswith("the technician is on the way")

    other_tech = await tenant.client("tech2")
    assert (await other_tech.get(f"/v1/jobs/{job['id']}/stage")).status_code == 404


async def test_cancelling_and_unscheduling_are_the_offices_not_the_technicians(tenant):
    office = await tenant.client("manager")
    job = await _job(office, tenant, scheduled_start="2026-12-02T09:00:00-06:00")
    tech = await tenant.client("tech")
    for status in ("cancelled", "unscheduled"):
        refused = await tech.post(f"/v1/jobs/{job['id']}/status", json={"status": status})
        assert refused.status_code == 403 and "is for the office" in refused.text
    assert (await tech.get(f"/v1/jobs/{job['id']}")).json()["status"] == "scheduled"
    cancelled = await office.post(f"/v1/jobs/{job['id']}/status", json={"status": "cancelled"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"


async def test_a_stage_no_worker_answers_is_503_and_the_job_page_still_opens(
    browser, api_url, tenant, temporal_env, monkeypatch
):
    office = await tenant.client("manager")
    job = await _job(office, tenant)  # no time: no workflow yet; start one where no worker listens
    flow = JobInput(job_id=job["id"], company_id=str(tenant.company_id))
    await temporal_env.client.start_workflow(
        JobWorkflow.run, flow, id=f"job-{job['id']}", task_queue=f"nobody-{uuid.uuid4()}"
    )
    monkeypatch.setattr(api.routes.jobs, "QUERY_WAIT_SECONDS", 1)
    answer = await office.get(f"/v1/jobs/{job['id']}/stage")
    assert answer.status_code == 503 and "did not answer" in answer.json()["detail"]

    page = await signed_in_page(browser, api_url, tenant.users["manager"].email)
    await page.goto(f"{api_url}/jobs/{job['id']}")
    await expect(page.locator("[data-stage]")).to_contain_text("did not answer")
    await page.context.close()
