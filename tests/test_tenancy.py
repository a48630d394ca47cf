"""Another company's ids answer 404 on every route, and its rows never show up in lists."""

import re

from models.enums import ApiKeyScope
from models.notifications import Notification
from models.quickbooks import QuickBooksLedgerEntry, SyncDirection, SyncStatus

# Which record a path parameter names; the walk fills it with one of the first company's ids.
# Bodies for routes whose body has required fields (the rest get `{}`), so validation passes and the
# tenancy check is what answers.
SAMPLE_BODIES = {
    "/v1/jobs/{job_id}/status": {"status": "scheduled"},
    "/v1/jobs/{job_id}/position": {"lat": 30.27, "lng": -97.74},
    "/v1/jobs/{job_id}/parts": {"inventory_item_id": "00000000-0000-4000-8000-000000000000", "quantity": 1},
    "/v1/services/{service_id}/parts": {"parts": []},
}
PATH_PARAMS = {
    "customer_id",
    "service_id",
    "quote_id",
    "job_id",
    "invoice_id",
    "lead_id",
    "item_id",
    "supplier_id",
    "user_id",
    "key_id",
    "notification_id",
    "purchase_order_id",
    "usage_id",
    "entry_id",
}


async def _records_of(tenant, sessions) -> dict[str, str]:
    office = await tenant.client("owner")

    async def post(path, body):
        response = await office.post(path, json=body)
        assert response.status_code == 201, (path, response.text)
        return response.json()["id"]

    customer_id = await post("/v1/customers", {"name": "Grace Hopper"})
    service_id = await post("/v1/services", {"name": "Drain clean", "price_cents": 15_000})
    supplier_id = await post("/v1/suppliers", {"name": "Ferguson"})
    note = Notification(company_id=tenant.company_id, user_id=tenant.users["owner"].id, kind="t", title="Hi")
    synced = QuickBooksLedgerEntry(
        company_id=tenant.company_id,
        key=f"test/{note.id}",
        entity_type="customer",
        entity_id=customer_id,
        direction=SyncDirection.push,
        action="update",
        status=SyncStatus.conflict,
    )
    async with sessions() as session:
        session.add_all([note, synced])
        await session.commit()
    job_id = await post("/v1/jobs", {"customer_id": customer_id, "title": "Leak"})
    item_id = await post("/v1/inventory", {"name": "PEX 1/2in", "sku": "PEX-12"})
    return {
        "customer_id": customer_id,
        "service_id": service_id,
        "supplier_id": supplier_id,
        "quote_id": await post(
            "/v1/quotes",
            {"customer_id": customer_id, "title": "Repipe", "line_items": [{"service_id": service_id}]},
        ),
        "job_id": job_id,
        "invoice_id": await post("/v1/invoices", {"customer_id": customer_id}),
        "lead_id": await post("/v1/leads", {"name": "Alan Turing"}),
        "item_id": item_id,
        "user_id": str(tenant.users["tech"].id),
        "key_id": (await office.post("/v1/api-keys", json={"name": "zapier"})).json()["id"],
        "notification_id": str(note.id),
        "entry_id": str(synced.id),
        "purchase_order_id": await post("/v1/purchase-orders", {"supplier_id": supplier_id}),
        "usage_id": await post(f"/v1/jobs/{job_id}/parts", {"inventory_item_id": item_id, "quantity": 1}),
    }


async def test_every_route_answers_404_for_another_companys_ids(app, tenant, other_tenant, sessions):
    theirs = await _records_of(tenant, sessions)
    intruder = await other_tenant.client("owner")

    walked = []
    for template, operations in app.openapi()["paths"].items():
        params = set(re.findall(r"{(\w+)}", template))
        if not params:
            continue
        assert params <= PATH_PARAMS | {"key"}, f"{template}: add its parameter to PATH_PARAMS"
        if params == {"key"}:  # automations are addressed by catalogue key, not by a record id
            continue
        path = template.format(**theirs)
        for method in operations:
            method = method.upper()
            body = SAMPLE_BODIES.get(template, {}) if method in {"POST", "PATCH", "PUT"} else None
            response = await intruder.request(method, path, json=body)
            assert response.status_code == 404, (
                f"{method} {template} answered {response.status_code}: {response.text}"
            )
            walked.append(f"{method} {template}")
    assert len(walked) >= 25, walked  # the walk really covered the API


async def test_lists_show_only_the_callers_company(tenant, other_tenant, sessions):
    await _records_of(tenant, sessions)
    owner = await tenant.client("owner")
    intruder = await other_tenant.client("owner")
    paths = (
        "/v1/customers",
        "/v1/services",
        "/v1/quotes",
        "/v1/jobs",
        "/v1/invoices",
        "/v1/leads",
        "/v1/inventory",
        "/v1/suppliers",
        "/v1/purchase-orders",
        "/v1/api-keys",
        "/v1/audit-log",
        "/v1/quickbooks/ledger",
    )

    def rows(body):
        return body if isinstance(body, list) else body["data"]

    for path in paths:
        assert rows((await owner.get(path)).json()), f"{path}: the owning company sees nothing"
        assert rows((await intruder.get(path)).json()) == [], f"{path} leaked to another company"
    team = (await intruder.get("/v1/team")).json()["data"]
    assert {m["email"] for m in team} == {u.email for u in other_tenant.users.values()}


async def test_pointing_at_another_companys_record_is_a_422_on_that_field(tenant, other_tenant, sessions):
    theirs = await _records_of(tenant, sessions)
    intruder = await other_tenant.client("owner")
    response = await intruder.post("/v1/jobs", json={"customer_id": theirs["customer_id"], "title": "Sneaky"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "customer_id"]

    own_customer = (await intruder.post("/v1/customers", json={"name": "Own"})).json()["id"]
    response = await intruder.post(
        "/v1/quotes",
        json={
            "customer_id": own_customer,
            "title": "x",
            "line_items": [{"service_id": theirs["service_id"]}],
        },
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "line_items", 0, "service_id"]


async def test_api_key_of_one_company_cannot_reach_another(http, tenant, other_tenant, sessions):
    theirs = await _records_of(tenant, sessions)
    owner = await other_tenant.client("owner")
    key = (await owner.post("/v1/api-keys", json={"name": "ci", "scope": ApiKeyScope.read_write})).json()[
        "key"
    ]
    auth = {"Authorization": f"Bearer {key}"}
    assert (await http.get(f"/v1/customers/{theirs['customer_id']}", headers=auth)).status_code == 404
    assert (
        await http.patch(f"/v1/customers/{theirs['customer_id']}", json={"name": "x"}, headers=auth)
    ).status_code == 404
    own = (await http.post("/v1/customers", json={"name": "Mine"}, headers=auth)).json()["id"]
    assert (await http.get(f"/v1/customers/{own}", headers=auth)).status_code == 200
