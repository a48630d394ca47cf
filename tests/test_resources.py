"""CRUD behaviour users rely on: search, pricing from the catalogue, validation, refusing to lose history."""

import asyncio

import pytest


async def test_customer_search_by_name_email_phone_and_city(tenant):
    office = await tenant.client("manager")
    await office.post(
        "/v1/customers",
        json={
            "name": "Maria Garcia",
            "email": "maria@example.com",
            "phone": "(512) 555-0142",
            "city": "Round Rock",
        },
    )
    await office.post("/v1/customers", json={"name": "Tom Baker", "city": "Kyle"})
    for q in ("garcia", "MARIA@", "555-0142"[-4:], "round"):
        names = [c["name"] for c in (await office.get("/v1/customers", params={"q": q})).json()["data"]]
        assert names == ["Maria Garcia"], q
    page = (await office.get("/v1/customers", params={"limit": 1})).json()
    assert page["count"] == 2 and len(page["data"]) == 1


async def test_phone_numbers_are_stored_in_e164(tenant):
    office = await tenant.client("manager")
    created = (await office.post("/v1/customers", json={"name": "P", "phone": "512.555.0100"})).json()
    assert created["phone"] == "+15125550100"


async def test_consent_records_when_and_how_it_was_given(tenant):
    office = await tenant.client("manager")
    created = (await office.post("/v1/customers", json={"name": "C", "sms_consent": True})).json()
    assert created["sms_consent_at"] and created["sms_consent_source"] == "office"


@pytest.mark.parametrize(
    "path,body,field",
    [
        ("/v1/customers", {"name": "X", "email": "not-an-email"}, "email"),
        ("/v1/customers", {"name": "X", "phone": "12"}, "phone"),
        ("/v1/customers", {"name": ""}, "name"),
        ("/v1/services", {"name": "X", "price_cents": -1}, "price_cents"),
        ("/v1/inventory", {"name": "X"}, "sku"),
        ("/v1/leads", {"name": "X", "score": 101}, "score"),
    ],
)
async def test_bad_input_is_422_naming_the_field(tenant, path, body, field):
    office = await tenant.client("manager")
    response = await office.post(path, json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == field


async def test_company_settings_are_validated(tenant):
    owner = await tenant.client("owner")
    for body, field in (
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"brand_colour": "blue"}, "brand_colour"),
        ({"business_hours": {"mon": {"open": "17:00", "close": "08:00"}}}, "business_hours"),
    ):
        response = await owner.patch("/v1/company", json=body)
        assert response.status_code == 422 and response.json()["detail"][0]["loc"][-1] == field
    ok = await owner.patch("/v1/company", json={"timezone": "America/Denver", "tax_rate_bps": 700})
    assert ok.json()["timezone"] == "America/Denver" and ok.json()["tax_rate_bps"] == 700


async def test_job_window_must_end_after_it_starts_and_carry_an_offset(tenant):
    office = await tenant.client("manager")
    customer = (await office.post("/v1/customers", json={"name": "J"})).json()["id"]
    backwards = {
        "customer_id": customer,
        "title": "t",
        "scheduled_start": "2026-12-01T10:00:00-06:00",
        "scheduled_end": "2026-12-01T09:00:00-06:00",
    }
    assert (await office.post("/v1/jobs", json=backwards)).status_code == 422
    naive = {"customer_id": customer, "title": "t", "scheduled_start": "2026-12-01T10:00:00"}
    assert (await office.post("/v1/jobs", json=naive)).status_code == 422
    job = (
        await office.post(
            "/v1/jobs",
            json={"customer_id": customer, "title": "t", "scheduled_start": "2026-12-01T10:00:00-06:00"},
        )
    ).json()
    assert job["status"] == "scheduled" and job["scheduled_end"] == "2026-12-01T17:00:00Z"
    bad_move = await office.patch(f"/v1/jobs/{job['id']}", json={"scheduled_end": "2026-12-01T15:00:00Z"})
    assert bad_move.status_code == 422 and bad_move.json()["detail"][0]["loc"] == ["body", "scheduled_end"]


async def test_quote_lines_take_catalogue_prices_and_add_ons_are_priced_by_the_shared_function(tenant):
    office = await tenant.client("manager")
    customer = (await office.post("/v1/customers", json={"name": "Q"})).json()["id"]
    service = (
        await office.post("/v1/services", json={"name": "Tankless install", "price_cents": 250_000})
    ).json()
    labour = (
        await office.post("/v1/services", json={"name": "Haul away", "price_cents": 7_500, "taxable": False})
    ).json()
    quote = await office.post(
        "/v1/quotes",
        json={
            "customer_id": customer,
            "title": "Water heater",
            "line_items": [
                {"service_id": service["id"]},
                {"service_id": labour["id"], "optional": True, "selected": False},
                {"description": "Expansion tank", "unit_price_cents": 18_000, "optional": True},
            ],
        },
    )
    assert quote.status_code == 201, quote.text
    body = quote.json()
    assert [line["description"] for line in body["line_items"]] == [
        "Tankless install",
        "Haul away",
        "Expansion tank",
    ]
    assert body["subtotal_cents"] == 268_000  # the unselected add-on is left out
    assert body["tax_cents"] == 22_110  # 8.25 % of 268_000
    assert body["status"] == "draft" and body["expires_on"]

    missing = await office.post(
        "/v1/quotes",
        json={"customer_id": customer, "title": "x", "line_items": [{"description": "no price"}]},
    )
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["body", "line_items", 0, "unit_price_cents"]


async def test_tiers_must_be_optional_and_invoices_have_no_optional_lines(tenant):
    office = await tenant.client("manager")
    customer = (await office.post("/v1/customers", json={"name": "T"})).json()["id"]
    tier = {"description": "Good", "unit_price_cents": 1, "option_group": "good"}
    assert (
        await office.post("/v1/quotes", json={"customer_id": customer, "title": "x", "line_items": [tier]})
    ).status_code == 422
    optional = {"description": "Maybe", "unit_price_cents": 1, "optional": True}
    response = await office.post("/v1/invoices", json={"customer_id": customer, "line_items": [optional]})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"][-1] == "optional"


async def test_deleting_a_customer_with_history_is_refused_with_a_reason(tenant):
    office = await tenant.client("manager")
    customer = (await office.post("/v1/customers", json={"name": "Has history"})).json()["id"]
    await office.post("/v1/jobs", json={"customer_id": customer, "title": "Old job"})
    refused = await office.delete(f"/v1/customers/{customer}")
    assert refused.status_code == 409 and "deactivate" in refused.json()["detail"]
    assert (await office.get(f"/v1/customers/{customer}")).status_code == 200

    assert (await office.patch(f"/v1/customers/{customer}", json={"active": False})).status_code == 200
    fresh = (await office.post("/v1/customers", json={"name": "No history"})).json()["id"]
    assert (await office.delete(f"/v1/customers/{fresh}")).status_code == 204
    assert (await office.get(f"/v1/customers/{fresh}")).status_code == 404


async def test_edits_leave_an_audit_trail_with_before_and_after(tenant):
    office = await tenant.client("manager")
    customer = (await office.post("/v1/customers", json={"name": "Before"})).json()["id"]
    await office.patch(f"/v1/customers/{customer}", json={"name": "After"})
    trail = (await office.get("/v1/audit-log", params={"entity_id": customer})).json()["data"]
    update = next(row for row in trail if row["action"] == "update")
    assert update["before"] == {"name": "Before"} and update["after"] == {"name": "After"}
    assert update["actor"] == f"user:{tenant.users['manager'].email}"


async def test_duplicate_sku_is_422_on_sku(tenant):
    office = await tenant.client("manager")
    assert (await office.post("/v1/inventory", json={"name": "A", "sku": "SKU-1"})).status_code == 201
    again = await office.post("/v1/inventory", json={"name": "B", "sku": "SKU-1"})
    assert again.status_code == 422 and again.json()["detail"][0]["loc"] == ["body", "sku"]


async def test_low_stock_filter(tenant):
    office = await tenant.client("manager")
    await office.post("/v1/inventory", json={"name": "Low", "sku": "L", "quantity": 1, "reorder_point": 5})
    await office.post("/v1/inventory", json={"name": "Fine", "sku": "F", "quantity": 9, "reorder_point": 5})
    low = (await office.get("/v1/inventory", params={"low_stock": True})).json()["data"]
    assert [(i["name"], i["low_stock"]) for i in low] == [("Low", True)]


@pytest.mark.parametrize(
    "path,field",
    [
        ("/v1/customers", "name"),
        ("/v1/services", "price_cents"),
        ("/v1/leads", "status"),
        ("/v1/inventory", "sku"),
    ],
)
async def test_clearing_a_required_field_is_422_not_a_crash(tenant, path, field):
    office = await tenant.client("manager")
    bodies = {
        "/v1/customers": {"name": "Keep"},
        "/v1/services": {"name": "Keep", "price_cents": 100},
        "/v1/leads": {"name": "Keep"},
        "/v1/inventory": {"name": "Keep", "sku": f"K-{field}"},
    }
    created = (await office.post(path, json=bodies[path])).json()
    response = await office.patch(f"{path}/{created['id']}", json={field: None})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", field]
    assert (await office.get(f"{path}/{created['id']}")).json()[field] is not None


async def test_a_number_past_the_database_range_is_422(tenant):
    office = await tenant.client("manager")
    response = await office.post("/v1/services", json={"name": "Huge", "price_cents": 10**12})
    assert response.status_code == 422 and "out of range" in response.json()["detail"]


async def test_clearing_company_settings_or_document_dates_is_422(tenant):
    owner = await tenant.client("owner")
    for field in ("timezone", "brand_colour", "currency", "name"):
        response = await owner.patch("/v1/company", json={field: None})
        assert response.status_code == 422, (field, response.text)
    customer = (await owner.post("/v1/customers", json={"name": "Dates"})).json()["id"]
    quote = (await owner.post("/v1/quotes", json={"customer_id": customer, "title": "Q"})).json()
    invoice = (await owner.post("/v1/invoices", json={"customer_id": customer})).json()
    assert (await owner.patch(f"/v1/quotes/{quote['id']}", json={"expires_on": None})).status_code == 422
    assert (await owner.patch(f"/v1/invoices/{invoice['id']}", json={"due_on": None})).status_code == 422
    assert (await owner.get("/v1/quotes")).status_code == 200 and (
        await owner.get("/v1/invoices")
    ).status_code == 200


async def test_a_customer_with_a_lead_is_not_deleted(tenant):
    office = await tenant.client("manager")
    customer = (await office.post("/v1/customers", json={"name": "From a lead"})).json()["id"]
    await office.post("/v1/leads", json={"name": "From a lead", "customer_id": customer})
    assert (await office.delete(f"/v1/customers/{customer}")).status_code == 409


async def test_jobs_are_assigned_and_reassigned_by_patch(tenant):
    office = await tenant.client("manager")
    customer = (await office.post("/v1/customers", json={"name": "Assign"})).json()["id"]
    job = (await office.post("/v1/jobs", json={"customer_id": customer, "title": "Fix"})).json()
    tech = str(tenant.users["tech"].id)
    assigned = await office.patch(f"/v1/jobs/{job['id']}", json={"assigned_user_id": tech})
    assert assigned.json()["assigned_user_id"] == tech


async def test_invoices_created_at_the_same_moment_get_distinct_consecutive_numbers(tenant):
    office = await tenant.client("owner")
    customer = (await office.post("/v1/customers", json={"name": "Busy"})).json()["id"]
    created = await asyncio.gather(
        *(office.post("/v1/invoices", json={"customer_id": customer}) for _ in range(5))
    )
    numbers = sorted(r.json()["number"] for r in created)
    assert numbers == list(range(numbers[0], numbers[0] + 5))
