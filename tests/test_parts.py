"""Parts used on jobs: stock moves in the same transaction, the part becomes a job line and so an invoice
line (also on an invoice drafted before the part was used; an invoice already sent is left alone and the
office told), over-use is allowed but flagged, undo restores, technicians log only on their own jobs; the
services' usual parts."""

import asyncio
import inspect
import uuid
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from models.invoices import Invoice
from models.line_items import InvoiceLineItem
from models.notifications import Notification


async def until(check, within: float = 30.0):
    """`check()`'s answer (awaited if need be) once it is truthy; a TimeoutError after `within` seconds."""
    async with asyncio.timeout(within):
        while True:
            answer = check()
            if answer := (await answer if inspect.isawaitable(answer) else answer):
                return answer
            await asyncio.sleep(0.2)


async def make_item(office, **values) -> dict:
    body = {"name": "Copper elbow", "sku": f"SKU-{uuid.uuid4().hex[:8]}", "quantity": 10} | values
    response = await office.post("/v1/inventory", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def make_job(office, tenant, who: str = "tech", **values) -> dict:
    customer = await office.post("/v1/customers", json={"name": "Ada Lovelace", "email": "ada@example.com"})
    assert customer.status_code == 201, customer.text
    body = {
        "customer_id": customer.json()["id"],
        "title": "Fix the leak",
        "assigned_user_id": str(tenant.users[who].id),
    } | values
    response = await office.post("/v1/jobs", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def log(client, job: dict, item: dict, quantity: int, notes: str | None = None):
    body = {"inventory_item_id": item["id"], "quantity": quantity, "notes": notes}
    return await client.post(f"/v1/jobs/{job['id']}/parts", json=body)


async def stock(office, item: dict) -> int:
    return (await office.get(f"/v1/inventory/{item['id']}")).json()["quantity"]


async def test_logged_part_takes_stock_adds_a_job_line_and_is_invoiced_on_completion(
    tenant, sessions, healthy_sandbox
):
    office, tech = await tenant.client("manager"), await tenant.client("tech")
    item = await make_item(office, name="3/4in ball valve", unit_cost_cents=1_200, price_cents=2_500)
    start = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    job = await make_job(
        office,
        tenant,
        scheduled_start=start.isoformat(),
        line_items=[{"description": "Labour", "unit_price_cents": 9_000, "taxable": False}],
    )

    logged = await log(tech, job, item, 2, "replaced the main shut-off")
    assert logged.status_code == 201, logged.text
    assert logged.json() | {"id": None, "job_line_item_id": None, "created_at": None} == {
        "id": None,
        "job_id": job["id"],
        "inventory_item_id": item["id"],
        "item_name": "3/4in ball valve",
        "sku": item["sku"],
        "quantity": 2,
        "unit_cost_cents": 1_200,
        "cost_cents": 2_400,
        "unit_price_cents": 2_500,
        "notes": "replaced the main shut-off",
        "used_by_id": str(tenant.users["tech"].id),
        "job_line_item_id": None,
        "created_at": None,
        "stock_after": 8,
        "short_by": 0,
    }
    assert await stock(office, item) == 8
    parts = (await tech.get(f"/v1/jobs/{job['id']}/parts")).json()
    assert (parts["count"], parts["parts_cost_cents"], parts["parts_price_cents"]) == (1, 2_400, 5_000)
    lines = (await office.get(f"/v1/jobs/{job['id']}")).json()["line_items"]
    assert [(x["description"], x["quantity"], x["unit_price_cents"]) for x in lines] == [
        ("Labour", "1.00", 9_000),
        ("3/4in ball valve", "2.00", 2_500),
    ]

    for target in ("in_progress", "completed"):
        moved = await tech.post(f"/v1/jobs/{job['id']}/status", json={"status": target})
        assert moved.status_code == 200, moved.text

    async def invoice_lines():
        async with sessions() as session:
            invoice = (
                await session.exec(select(Invoice).where(Invoice.job_id == uuid.UUID(job["id"])))
            ).first()
            if invoice is None:
                return None
            found = await session.exec(
                select(InvoiceLineItem).where(InvoiceLineItem.invoice_id == invoice.id)
            )
            return sorted((x.description, x.quantity, x.unit_price_cents) for x in found.all())

    assert await until(invoice_lines) == [("3/4in ball valve", 2, 2_500), ("Labour", 1, 9_000)]
    refused = await log(tech, job, item, 1)
    assert refused.status_code == 409 and "completed" in refused.json()["detail"]
    undo = await tech.delete(f"/v1/jobs/{job['id']}/parts/{logged.json()['id']}")
    assert undo.status_code == 409


async def test_logging_more_than_is_in_stock_is_allowed_flagged_and_shows_negative(tenant):
    office = await tenant.client("manager")
    item = await make_item(office, quantity=1, reorder_point=0)
    job = await make_job(office, tenant)

    logged = await log(office, job, item, 3)
    assert logged.status_code == 201, logged.text
    assert (logged.json()["stock_after"], logged.json()["short_by"]) == (-2, 2)
    shown = (await office.get(f"/v1/inventory/{item['id']}")).json()
    assert (shown["quantity"], shown["low_stock"]) == (-2, True)
    low = (await office.get("/v1/inventory", params={"low_stock": True})).json()["data"]
    assert [i["id"] for i in low] == [item["id"]]
    # Once short, every further unit is short too.
    assert (await log(office, job, item, 1)).json()["short_by"] == 1


async def test_undo_restores_the_stock_and_removes_the_line(tenant):
    office, tech = await tenant.client("manager"), await tenant.client("tech")
    item = await make_item(office, quantity=5, price_cents=1_000)
    job = await make_job(office, tenant)
    kept = (await log(tech, job, item, 1)).json()
    undone = (await log(tech, job, item, 3)).json()
    assert await stock(office, item) == 1

    assert (await tech.delete(f"/v1/jobs/{job['id']}/parts/{undone['id']}")).status_code == 204
    assert await stock(office, item) == 4
    parts = (await tech.get(f"/v1/jobs/{job['id']}/parts")).json()
    assert [p["id"] for p in parts["data"]] == [kept["id"]] and parts["parts_price_cents"] == 1_000
    lines = (await office.get(f"/v1/jobs/{job['id']}")).json()["line_items"]
    assert [line["id"] for line in lines] == [kept["job_line_item_id"]]
    again = await tech.delete(f"/v1/jobs/{job['id']}/parts/{undone['id']}")
    assert again.status_code == 404 and await stock(office, item) == 4


async def test_technician_cannot_log_parts_on_another_technicians_job(tenant):
    office, other_tech = await tenant.client("manager"), await tenant.client("tech2")
    item = await make_item(office)
    job = await make_job(office, tenant, who="tech")
    logged = (await log(office, job, item, 1)).json()

    assert (await log(other_tech, job, item, 1)).status_code == 404
    assert (await other_tech.get(f"/v1/jobs/{job['id']}/parts")).status_code == 404
    assert (await other_tech.delete(f"/v1/jobs/{job['id']}/parts/{logged['id']}")).status_code == 404
    assert await stock(office, item) == 9


async def test_two_technicians_logging_the_same_part_at_once_both_count(tenant):
    office = await tenant.client("manager")
    item = await make_item(office, quantity=10)
    first, second = await make_job(office, tenant, who="tech"), await make_job(office, tenant, who="tech2")
    techs = await tenant.client("tech"), await tenant.client("tech2")

    answers = await asyncio.gather(*(log(t, j, item, 3) for t, j in zip(techs, (first, second), strict=True)))
    assert sorted(a.json()["stock_after"] for a in answers) == [4, 7]
    assert await stock(office, item) == 4


async def test_bad_part_input_names_the_field(tenant, other_tenant):
    office = await tenant.client("manager")
    job = await make_job(office, tenant)
    theirs = await make_item(await other_tenant.client("manager"))
    refused = await log(office, job, theirs, 1)
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "inventory_item_id"]
    item = await make_item(office)
    assert (await log(office, job, item, 0)).json()["detail"][0]["loc"] == ["body", "quantity"]
    par = await office.post(
        "/v1/inventory", json={"name": "x", "sku": "P-1", "reorder_point": 5, "par_level": 5}
    )
    assert par.status_code == 422 and par.json()["detail"][0]["loc"] == ["body", "par_level"]
    patched = await office.patch(f"/v1/inventory/{item['id']}", json={"reorder_point": 20, "par_level": 12})
    assert patched.status_code == 422 and "above the reorder point" in patched.json()["detail"][0]["msg"]


async def test_services_list_the_parts_they_usually_use(tenant, other_tenant):
    office, tech = await tenant.client("manager"), await tenant.client("tech")
    service = (await office.post("/v1/services", json={"name": "Faucet swap", "price_cents": 28_500})).json()
    faucet, supply_lines = await make_item(office, name="Faucet"), await make_item(office, name="Supply line")
    path = f"/v1/services/{service['id']}/parts"

    body = {
        "parts": [
            {"inventory_item_id": supply_lines["id"], "quantity": 2},
            {"inventory_item_id": faucet["id"]},
        ]
    }
    saved = await office.put(path, json=body)
    assert saved.status_code == 200, saved.text
    expected = [("Faucet", 1), ("Supply line", 2)]
    assert [(p["item_name"], p["quantity"]) for p in saved.json()] == expected
    assert [(p["item_name"], p["quantity"]) for p in (await tech.get(path)).json()] == expected
    assert (await tech.put(path, json={"parts": []})).status_code == 403

    twice = {"parts": [{"inventory_item_id": faucet["id"]}, {"inventory_item_id": faucet["id"]}]}
    assert (await office.put(path, json=twice)).json()["detail"][0]["loc"] == [
        "body",
        "parts",
        1,
        "inventory_item_id",
    ]
    theirs = await make_item(await other_tenant.client("manager"))
    foreign = await office.put(path, json={"parts": [{"inventory_item_id": theirs["id"]}]})
    assert foreign.status_code == 422 and foreign.json()["detail"][0]["loc"] == [
        "body",
        "parts",
        0,
        "inventory_item_id",
    ]
    assert (await office.put(path, json={"parts": []})).json() == []


async def complete(tech, job: dict) -> None:
    for target in ("in_progress", "completed"):
        moved = await tech.post(f"/v1/jobs/{job['id']}/status", json={"status": target})
        assert moved.status_code == 200, moved.text


async def job_with_invoice(office, tenant, lines: list[dict]) -> tuple[dict, dict]:
    """A booked job and an invoice drafted for it up front (as from its quote), with the same lines."""
    start = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    job = await make_job(office, tenant, scheduled_start=start.isoformat(), line_items=lines)
    body = {"customer_id": job["customer_id"], "job_id": job["id"], "line_items": lines}
    invoice = await office.post("/v1/invoices", json=body)
    assert invoice.status_code == 201, invoice.text
    return job, invoice.json()


async def test_parts_logged_after_the_invoice_was_drafted_are_billed_on_it_at_completion(
    tenant, sessions, healthy_sandbox
):
    office, tech = await tenant.client("manager"), await tenant.client("tech")
    item = await make_item(office, name="Ball valve", price_cents=2_500)
    sold = [
        {"description": "Labour", "unit_price_cents": 9_000, "taxable": False},
        {"description": "Ball valve", "unit_price_cents": 2_500},
    ]
    job, invoice = await job_with_invoice(office, tenant, sold)

    assert (await log(tech, job, item, 1)).status_code == 201  # one more valve than was sold
    await complete(tech, job)

    async def billed():
        found = (await office.get(f"/v1/invoices/{invoice['id']}")).json()
        return found if len(found["line_items"]) == 3 else None

    found = await until(billed)
    assert [(x["description"], x["quantity"], x["unit_price_cents"]) for x in found["line_items"]] == [
        ("Labour", "1.00", 9_000),
        ("Ball valve", "1.00", 2_500),
        ("Ball valve", "1.00", 2_500),
    ]
    # Priced again as one: 8.25 % on the two valves only.
    assert (found["subtotal_cents"], found["tax_cents"], found["total_cents"]) == (14_000, 413, 14_413)
    async with sessions() as session:
        lines = await session.exec(
            select(InvoiceLineItem).where(InvoiceLineItem.invoice_id == uuid.UUID(invoice["id"]))
        )
        assert len(lines.all()) == 3  # nothing billed twice


async def test_parts_missing_from_an_invoice_already_sent_leave_it_alone_and_the_office_is_told(
    tenant, sessions, healthy_sandbox
):
    office, tech = await tenant.client("manager"), await tenant.client("tech")
    item = await make_item(office, name="Ball valve", price_cents=2_500)
    job, invoice = await job_with_invoice(
        office, tenant, [{"description": "Labour", "unit_price_cents": 9_000}]
    )
    sent = await office.post(f"/v1/invoices/{invoice['id']}/mark-sent")
    assert sent.status_code == 200, sent.text

    assert (await log(tech, job, item, 2)).status_code == 201
    await complete(tech, job)

    async def told():
        async with sessions() as session:
            found = await session.exec(
                select(Notification).where(
                    Notification.company_id == tenant.company_id,
                    Notification.kind == "job_parts_not_invoiced",
                )
            )
            return list(found.all())

    notices = await until(told)
    assert {n.user_id for n in notices} == {tenant.users[who].id for who in ("owner", "admin", "manager")}
    assert "2 × Ball valve ($50.00)" in notices[0].body and f"#{invoice['number']}" in notices[0].title
    async with sessions() as session:
        row = await session.get(Invoice, uuid.UUID(invoice["id"]))
        lines = await session.exec(select(InvoiceLineItem).where(InvoiceLineItem.invoice_id == row.id))
        assert (len(lines.all()), row.total_cents) == (1, invoice["total_cents"])
