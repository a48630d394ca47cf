"""Addresses get coordinates through the geocode workflow and the real googlemaps SDK (sandboxed)."""

import asyncio

from sandbox.maps_api import geocode_point


async def _wait_for_coordinates(client, path: str) -> dict:
    for _ in range(100):
        body = (await client.get(path)).json()
        if body["lat"] is not None:
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path} never got coordinates")


async def test_saving_a_customer_address_geocodes_it_and_jobs_inherit_it(tenant, healthy_sandbox):
    office = await tenant.client("manager")
    address = "1608 Ranch Trails Rd, Cedar Park, TX"
    customer = (await office.post("/v1/customers", json={"name": "Geo", "address": address})).json()
    assert customer["lat"] is None  # saved at once; coordinates follow

    geocoded = await _wait_for_coordinates(office, f"/v1/customers/{customer['id']}")
    assert (geocoded["lat"], geocoded["lng"]) == geocode_point(address)

    job = (await office.post("/v1/jobs", json={"customer_id": customer["id"], "title": "Leak"})).json()
    assert job["address"] == address and (job["lat"], job["lng"]) == geocode_point(address)


async def test_a_new_address_replaces_the_old_coordinates(tenant, healthy_sandbox):
    office = await tenant.client("manager")
    customer = (
        await office.post("/v1/customers", json={"name": "Mover", "address": "1 Main St, Kyle"})
    ).json()
    await _wait_for_coordinates(office, f"/v1/customers/{customer['id']}")
    moved = (
        await office.patch(f"/v1/customers/{customer['id']}", json={"address": "9 Oak Ln, Georgetown"})
    ).json()
    assert moved["lat"] is None
    geocoded = await _wait_for_coordinates(office, f"/v1/customers/{customer['id']}")
    assert (geocoded["lat"], geocoded["lng"]) == geocode_point("9 Oak Ln, Georgetown")


async def test_coordinates_given_by_the_caller_are_kept(tenant, healthy_sandbox, temporal_env):
    office = await tenant.client("manager")
    body = {"name": "Precise", "address": "5 Elm St, Buda", "lat": 30.1, "lng": -97.8}
    customer = (await office.post("/v1/customers", json=body)).json()
    assert (customer["lat"], customer["lng"]) == (30.1, -97.8)
    flows = [
        wf
        async for wf in temporal_env.client.list_workflows(
            f"WorkflowId = 'geocode-customer-{customer['id']}'"
        )
    ]
    assert flows == []
