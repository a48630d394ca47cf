"""The automation catalogue: everything starts off; owners switch each one, within their plan."""

from models.automations import CATALOGUE


async def test_catalogue_lists_every_automation_off_by_default(tenant):
    listed = (await (await tenant.client("manager")).get("/v1/automations")).json()
    assert [a["key"] for a in listed] == [a.key for a in CATALOGUE]
    assert not any(a["enabled"] for a in listed)
    omw = next(a for a in listed if a["key"] == "send_omw_texts")
    assert omw["plan"] == "solo" and omw["risk"] == "high" and omw["available_on_plan"]


async def test_owner_switches_an_automation_and_the_change_is_audited(tenant):
    owner = await tenant.client("owner")
    on = await owner.put("/v1/automations/send_appointment_reminders", json={"enabled": True})
    assert on.status_code == 200 and on.json()["enabled"] is True
    listed = (await owner.get("/v1/automations")).json()
    assert {a["key"] for a in listed if a["enabled"]} == {"send_appointment_reminders"}
    off = await owner.put("/v1/automations/send_appointment_reminders", json={"enabled": False})
    assert off.json()["enabled"] is False
    trail = (await owner.get("/v1/audit-log", params={"entity_id": str(tenant.company_id)})).json()["data"]
    assert [row["after"] for row in trail if row["action"] == "automation:send_appointment_reminders"] == [
        {"enabled": False},
        {"enabled": True},
    ]


async def test_automation_above_the_plan_cannot_be_switched_on(tenant):
    owner = await tenant.client("owner")  # the test company is on the Ops plan
    refused = await owner.put("/v1/automations/ghost_dispatch", json={"enabled": True})
    assert refused.status_code == 403 and "Scale plan" in refused.json()["detail"]
    assert (await owner.put("/v1/automations/no_such_thing", json={"enabled": True})).status_code == 404
