"""Maps activities through the real googlemaps SDK, and the automation gate with its action-log rows."""

import uuid

import pytest
from googlemaps import exceptions as maps_errors
from sqlmodel import select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.automations import AutomationActivities, GateRequest
from activities.clients import maps_client
from activities.maps import MapsActivities, MatrixRequest, Point
from models.company import Company
from models.enums import PlanTier
from models.logs import ActionLog
from tests.servers import run_sync_activity


async def test_distance_matrix_gives_drive_times_that_grow_with_distance(settings, healthy_sandbox):
    maps = MapsActivities(maps_client(settings))
    downtown, round_rock, kyle = Point(30.2672, -97.7431), Point(30.5083, -97.6789), Point(29.9891, -97.8772)
    request = MatrixRequest(origins=[downtown], destinations=[downtown, round_rock, kyle])
    matrix = await run_sync_activity(maps.distance_matrix, request)
    assert matrix.seconds[0][0] == 0
    assert 0 < matrix.seconds[0][1] and 0 < matrix.metres[0][2]
    assert matrix.metres[0][1] > 20_000  # ~27 km as the crow flies, more by road


async def test_maps_outage_is_retryable_and_an_empty_address_is_not(settings, healthy_sandbox):
    maps = MapsActivities(maps_client(settings))
    healthy_sandbox.controls.set("maps", "down", times=1)
    # The 503 surfaces as the SDK's transport error (no retry inside the SDK): Temporal retries it.
    with pytest.raises(maps_errors.TransportError):
        await run_sync_activity(maps.geocode_address, "1 Congress Ave, Austin")
    with pytest.raises(ApplicationError) as not_found:
        await run_sync_activity(maps.geocode_address, "   ")
    assert not_found.value.type == "AddressNotFound" and not_found.value.non_retryable


def _gate_request(tenant, key: str, customer_id: str | None = None, consent: bool = False) -> GateRequest:
    entity = str(uuid.uuid4())
    return GateRequest(
        company_id=str(tenant.company_id),
        automation_key=key,
        action="send_test_sms",
        entity_type="job",
        entity_id=entity,
        workflow_id=f"job-{entity}",
        step="omw",
        customer_id=customer_id,
        needs_sms_consent=consent,
    )


async def _skips(sessions, request: GateRequest) -> list[str]:
    async with sessions() as session:
        rows = await session.exec(
            select(ActionLog).where(ActionLog.entity_id == uuid.UUID(request.entity_id))
        )
        return [row.reason for row in rows if row.outcome == "skipped"]


async def test_gate_refuses_while_the_automation_is_off_and_logs_why_once(tenant, sessions):
    gate = AutomationActivities(sessions)
    request = _gate_request(tenant, "send_omw_texts")
    first = await ActivityEnvironment().run(gate.check_automation, request)
    again = await ActivityEnvironment().run(gate.check_automation, request)  # a retried activity
    assert not first.allowed and first.reason == "On-My-Way SMS is switched off" and again == first
    assert await _skips(sessions, request) == ["On-My-Way SMS is switched off"]


async def test_gate_checks_consent_and_lets_consenting_customers_through(tenant, sessions):
    owner = await tenant.client("owner")
    await owner.put("/v1/automations/send_omw_texts", json={"enabled": True})
    no_consent = (await owner.post("/v1/customers", json={"name": "Quiet"})).json()["id"]
    consent = (await owner.post("/v1/customers", json={"name": "Chatty", "sms_consent": True})).json()["id"]
    gate = AutomationActivities(sessions)
    refused = _gate_request(tenant, "send_omw_texts", no_consent, consent=True)
    assert (await ActivityEnvironment().run(gate.check_automation, refused)).reason == "no SMS consent"
    allowed = _gate_request(tenant, "send_omw_texts", consent, consent=True)
    assert (await ActivityEnvironment().run(gate.check_automation, allowed)).allowed
    assert await _skips(sessions, allowed) == []


async def test_switching_an_automation_off_stops_the_next_action(tenant, sessions):
    owner = await tenant.client("owner")
    gate = AutomationActivities(sessions)
    await owner.put("/v1/automations/send_appointment_reminders", json={"enabled": True})
    assert (
        await ActivityEnvironment().run(
            gate.check_automation, _gate_request(tenant, "send_appointment_reminders")
        )
    ).allowed
    await owner.put("/v1/automations/send_appointment_reminders", json={"enabled": False})
    later = await ActivityEnvironment().run(
        gate.check_automation, _gate_request(tenant, "send_appointment_reminders")
    )
    assert not later.allowed


async def test_gate_refuses_an_automation_above_the_companys_plan(tenant, sessions):
    # Switched on while the company was on a higher plan, then the company moved down to Solo.
    owner = await tenant.client("owner")
    assert (await owner.put("/v1/automations/agentic_scheduling", json={"enabled": True})).status_code == 200
    async with sessions() as session:
        company = await session.get(Company, tenant.company_id)
        company.plan = PlanTier.solo
        session.add(company)
        await session.commit()
    gate = AutomationActivities(sessions)
    decision = await ActivityEnvironment().run(
        gate.check_automation, _gate_request(tenant, "agentic_scheduling")
    )
    assert not decision.allowed and decision.reason == "Agentic Scheduling needs the Ops plan"
