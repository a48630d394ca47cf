"""Purchasing (Workflow 9): reorder when stock falls to its reorder point (one PO per supplier, emailed
once with its PDF, what is on order counted) and the hourly backstop for what that missed, auto parts
ordering for booked jobs (and for services added to them), receiving, the office's purchase orders, their
rules and their sending (answered in time, reopened with a log and a notice when the email fails)."""

import asyncio
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import select
from temporalio import activity
from temporalio.client import WithStartWorkflowOperation, WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.testing import ActivityEnvironment
from temporalio.worker import Worker

from activities.documents import DocumentLine, PurchaseOrderDocument, purchase_order_pdf
from activities.messaging import EmailRequest, SendResult
from activities.purchasing import (
    IssueRequest,
    LowStock,
    PurchaseOrderEmail,
    PurchaseOrderInput,
    PurchasingActivities,
    ReorderBatch,
)
from activities.records import INVALID_TRANSITION
from api.flows import UPDATE_WAIT_SECONDS
from models.enums import PurchaseOrderStatus
from models.inventory import PurchaseOrder, Supplier
from models.logs import ActionLog
from models.notifications import Notification
from models.purchasing import (
    PURCHASE_ORDER_TRANSITIONS,
    check_purchase_order_transition,
    reorder_quantity,
    shortfall_quantity,
)
from models.states import TransitionError
from settings import TASK_QUEUE
from tests.test_documents import pdf_text
from tests.test_parts import log, make_item, make_job, stock, until
from workflows.purchasing import PurchaseOrderWorkflow, ReorderBackstopWorkflow, SendPurchaseOrder

# --- the rules ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("on_hand", "on_order", "point", "pack", "par", "expected"),
    [
        (3, 0, 4, 0, 10, 7),  # back up to par
        (3, 0, 4, 12, 10, 12),  # at least the reorder quantity
        (2, 1, 4, 0, 10, 7),  # what is on order counts
        (3, 5, 4, 0, 10, 0),  # on order lifts it above the reorder point: nothing more
        (-2, 0, 0, 0, 5, 7),  # negative stock is made good too
        (2, 0, 2, 6, None, 6),  # no par level: one reorder quantity above the reorder point
        (0, 0, 0, 0, None, 0),  # no par level, no reorder quantity: nothing to go by
        (5, 0, 4, 6, 10, 0),  # above the reorder point
    ],
)
def test_reorder_quantity(on_hand, on_order, point, pack, par, expected):
    assert reorder_quantity(on_hand, on_order, point, pack, par) == expected


def test_shortfall_counts_stock_and_what_is_on_order():
    assert shortfall_quantity(need=4, on_hand=1, on_order=1, reorder_qty=0) == 2
    assert shortfall_quantity(need=4, on_hand=1, on_order=1, reorder_qty=5) == 5
    assert shortfall_quantity(need=4, on_hand=3, on_order=1, reorder_qty=5) == 0


def test_purchase_order_transitions():
    allowed = {(a, b) for a, targets in PURCHASE_ORDER_TRANSITIONS.items() for b in targets}
    for current in PurchaseOrderStatus:
        for target in PurchaseOrderStatus:
            if (current, target) in allowed:
                check_purchase_order_transition(current, target)
            else:
                with pytest.raises(TransitionError):
                    check_purchase_order_transition(current, target)
    assert (PurchaseOrderStatus.draft, PurchaseOrderStatus.received) not in allowed


def test_purchase_order_pdf_shows_supplier_account_lines_and_total():
    doc = PurchaseOrderDocument(
        company_name="Lone Star Plumbing",
        brand_colour="#1f6feb",
        company_phone="+15125550100",
        currency="usd",
        number=1004,
        supplier_name="Hill Country Supply",
        account_number="HCPS-22817",
        issued_on=date(2026, 11, 21),
        lines=[DocumentLine("3/4in ball valve (SKU BV-34)", Decimal(7), 1_200, 8_400)],
        total_cents=8_400,
        notes="Deliver to the yard gate",
    )
    text = pdf_text(purchase_order_pdf(doc))
    for expected in (
        "Purchase Order #1004",
        "Hill Country Supply",
        "HCPS-22817",
        "November 21, 2026",
        "3/4in ball valve (SKU BV-34)",
        "$84.00",
        "Deliver to the yard gate",
    ):
        assert expected in text, expected


# --- through the API, the workflows and the sandbox ----------------------------------------------------


async def switch_on(tenant, *keys: str) -> None:
    owner = await tenant.client("owner")
    for key in keys:
        assert (await owner.put(f"/v1/automations/{key}", json={"enabled": True})).status_code == 200


async def make_supplier(office, email: bool = True) -> dict:
    body = {"name": "Hill Country Supply", "account_number": "HCPS-22817"}
    if email:
        body["email"] = f"orders-{uuid.uuid4().hex[:8]}@supply.example"
    response = await office.post("/v1/suppliers", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def emails_to(sandbox, supplier: dict) -> list:
    return [e for e in sandbox.outbox if e.channel == "email" and e.to == supplier["email"]]


async def orders_of(office, supplier: dict) -> list[dict]:
    listed = (await office.get("/v1/purchase-orders", params={"supplier_id": supplier["id"]})).json()["data"]
    return [(await office.get(f"/v1/purchase-orders/{po['id']}")).json() for po in reversed(listed)]


def lines_of(order: dict) -> list[tuple[str, int]]:
    return [(line["item_name"], line["quantity"]) for line in order["lines"]]


async def actions(sessions, **where) -> list[ActionLog]:
    async with sessions() as session:
        stmt = select(ActionLog).where(*(getattr(ActionLog, k) == v for k, v in where.items()))
        return list((await session.exec(stmt.order_by(ActionLog.created_at))).all())


async def test_two_jobs_logging_parts_at_once_make_one_purchase_order_emailed_once(
    tenant, sessions, healthy_sandbox
):
    await switch_on(tenant, "supplier_reorder")
    office = await tenant.client("manager")
    supplier = await make_supplier(office)
    valve = await make_item(
        office,
        name="Ball valve",
        quantity=5,
        reorder_point=4,
        par_level=10,
        unit_cost_cents=1_200,
        supplier_id=supplier["id"],
    )
    trap = await make_item(
        office,
        name="P-trap",
        quantity=3,
        reorder_point=2,
        reorder_quantity=6,
        unit_cost_cents=450,
        supplier_id=supplier["id"],
    )
    first, second = await make_job(office, tenant, who="tech"), await make_job(office, tenant, who="tech2")
    techs = await tenant.client("tech"), await tenant.client("tech2")

    answers = await asyncio.gather(log(techs[0], first, valve, 2), log(techs[1], second, trap, 1))
    assert [a.status_code for a in answers] == [201, 201]

    await until(lambda: emails_to(healthy_sandbox, supplier))
    await asyncio.sleep(3)  # longer than a reorder pass gathers requests: nothing else is coming
    (order,) = await orders_of(office, supplier)
    emails = emails_to(healthy_sandbox, supplier)
    assert len(emails) == 1 and emails[0].attachments == [f"PO-{order['number']}.pdf"]
    assert emails[0].subject == f"Purchase Order #{order['number']} from {tenant.company.name}"
    # Back to par (10 − 3), and at least the reorder quantity (6) for the one without a par level.
    assert order["status"] == "sent" and lines_of(order) == [("Ball valve", 7), ("P-trap", 6)]
    assert order["total_cents"] == 7 * 1_200 + 6 * 450
    ordered = await actions(sessions, entity_id=uuid.UUID(order["id"]), action="reorder_part")
    assert [(a.outcome, a.automation_key) for a in ordered] == [("done", "supplier_reorder")] * 2
    (sent,) = await actions(sessions, entity_id=uuid.UUID(order["id"]), action="send_email")
    assert (sent.outcome, sent.automation_key, sent.workflow_id) == (
        "sent",
        "supplier_reorder",
        f"po-{order['id']}",
    )


async def test_the_suppliers_other_items_that_need_reordering_join_the_same_order(
    tenant, sessions, healthy_sandbox
):
    office = await tenant.client("manager")
    supplier = await make_supplier(office)
    other = await make_supplier(office)
    # Already low before the automation was on: nothing ordered them then.
    await make_item(
        office, name="Water heater", quantity=1, reorder_point=2, par_level=4, supplier_id=supplier["id"]
    )
    await make_item(office, name="Filter", quantity=0, reorder_point=5, par_level=20, supplier_id=other["id"])
    valve = await make_item(
        office, name="Ball valve", quantity=5, reorder_point=4, par_level=10, supplier_id=supplier["id"]
    )
    await switch_on(tenant, "supplier_reorder")

    await log(office, await make_job(office, tenant), valve, 2)
    await until(lambda: emails_to(healthy_sandbox, supplier))
    (order,) = await orders_of(office, supplier)
    assert lines_of(order) == [("Ball valve", 7), ("Water heater", 3)]
    # Another supplier's low item waits for its own trigger (or the hourly backstop), not this order.
    assert await orders_of(office, other) == []


async def test_an_item_already_on_order_is_not_ordered_again(tenant, sessions, healthy_sandbox):
    await switch_on(tenant, "supplier_reorder")
    office = await tenant.client("manager")
    supplier = await make_supplier(office)
    valve = await make_item(office, quantity=5, reorder_point=4, par_level=10, supplier_id=supplier["id"])
    job = await make_job(office, tenant)

    await log(office, job, valve, 2)
    await until(lambda: emails_to(healthy_sandbox, supplier))
    await log(office, job, valve, 1)  # 2 left, 7 on order: covered

    skipped = await until(lambda: actions(sessions, entity_id=uuid.UUID(valve["id"]), outcome="skipped"))
    assert [(a.action, a.reason) for a in skipped] == [("reorder_part", "7 already on order")]
    (order,) = await orders_of(office, supplier)
    assert lines_of(order) == [(valve["name"], 7)] and len(emails_to(healthy_sandbox, supplier)) == 1


async def test_supplier_without_email_keeps_one_draft_collecting_and_the_office_is_told(tenant, sessions):
    await switch_on(tenant, "supplier_reorder")
    office = await tenant.client("manager")
    supplier = await make_supplier(office, email=False)
    valve = await make_item(
        office, name="Ball valve", quantity=1, reorder_point=1, par_level=4, supplier_id=supplier["id"]
    )
    trap = await make_item(
        office, name="P-trap", quantity=2, reorder_point=1, par_level=3, supplier_id=supplier["id"]
    )
    job = await make_job(office, tenant)

    await log(office, job, valve, 1)

    async def told():
        async with sessions() as session:
            stmt = select(Notification).where(
                Notification.company_id == tenant.company_id, Notification.kind == "purchase_order_not_sent"
            )
            return list((await session.exec(stmt)).all())

    notices = await until(told)
    (order,) = await orders_of(office, supplier)
    assert order["status"] == "draft" and lines_of(order) == [("Ball valve", 4)]
    office_ids = {tenant.users[who].id for who in ("owner", "admin", "manager")}
    assert {n.user_id for n in notices} == office_ids and "no email address" in notices[0].body
    (why,) = await actions(sessions, entity_id=uuid.UUID(order["id"]), action="send_purchase_order")
    assert why.outcome == "skipped" and "Hill Country Supply has no email address" in why.reason

    await log(office, job, trap, 1)  # the same supplier's draft collects it

    async def both_lines():
        orders = await orders_of(office, supplier)
        return orders if len(orders[0]["lines"]) == 2 else None

    (order,) = await until(both_lines)
    assert lines_of(order) == [("Ball valve", 4), ("P-trap", 2)] and order["status"] == "draft"


async def test_reorder_switched_off_creates_nothing_and_says_so(tenant, sessions):
    office = await tenant.client("manager")
    supplier = await make_supplier(office)
    valve = await make_item(office, quantity=2, reorder_point=2, par_level=6, supplier_id=supplier["id"])
    await log(office, await make_job(office, tenant), valve, 1)

    (skipped,) = await until(lambda: actions(sessions, entity_id=uuid.UUID(valve["id"])))
    assert (skipped.outcome, skipped.automation_key, skipped.reason) == (
        "skipped",
        "supplier_reorder",
        "Supplier Reorder is switched off",
    )
    assert await orders_of(office, supplier) == []


async def test_booked_jobs_shortfall_is_ordered_before_the_technician_arrives(
    tenant, sessions, healthy_sandbox
):
    await switch_on(tenant, "autonomous_parts_ordering")
    office = await tenant.client("manager")
    supplier = await make_supplier(office)
    filters = await make_item(office, name="Filter", quantity=1, supplier_id=supplier["id"])
    service = (
        await office.post("/v1/services", json={"name": "Furnace service", "price_cents": 12_000})
    ).json()
    body = {"parts": [{"inventory_item_id": filters["id"], "quantity": 2}]}
    assert (await office.put(f"/v1/services/{service['id']}/parts", json=body)).status_code == 200
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)

    async def book(hours: int) -> dict:
        start = (tomorrow + timedelta(hours=hours)).isoformat()
        lines = [{"service_id": service["id"]}]
        return await make_job(office, tenant, scheduled_start=start, line_items=lines)

    await book(0)  # needs 2, 1 in stock: 1 short
    await until(lambda: emails_to(healthy_sandbox, supplier))
    await book(3)  # 4 needed in all, 1 in stock and 1 on order: 2 more
    await until(lambda: len(emails_to(healthy_sandbox, supplier)) == 2)

    first, second = await orders_of(office, supplier)
    assert (lines_of(first), lines_of(second)) == ([("Filter", 1)], [("Filter", 2)])
    assert first["status"] == second["status"] == "sent"
    ordered = await actions(sessions, entity_id=uuid.UUID(second["id"]), action="order_part_for_jobs")
    assert [a.reason for a in ordered] == [
        f"2 × Filter on #{second['number']}: 4 needed by booked jobs, 1 in stock, 1 on order"
    ]


async def test_partial_then_full_receipt_restocks_and_closes_the_order(tenant, healthy_sandbox):
    office = await tenant.client("manager")
    supplier = await make_supplier(office)
    valve = await make_item(office, name="Ball valve", quantity=0, unit_cost_cents=1_200)
    trap = await make_item(office, name="P-trap", quantity=1)
    body = {
        "supplier_id": supplier["id"],
        "notes": "Deliver to the yard",
        "lines": [
            {"inventory_item_id": valve["id"], "quantity": 5},
            {"inventory_item_id": trap["id"], "quantity": 2, "unit_cost_cents": 400},
        ],
    }
    created = await office.post("/v1/purchase-orders", json=body)
    assert created.status_code == 201, created.text
    order = created.json()
    assert order["status"] == "draft" and order["total_cents"] == 5 * 1_200 + 2 * 400
    refused = await office.post(f"/v1/purchase-orders/{order['id']}/receive", json={})
    assert refused.status_code == 409 and "only a sent purchase order" in refused.json()["detail"]

    sent = await office.post(f"/v1/purchase-orders/{order['id']}/send")
    assert sent.status_code == 200, sent.text
    assert sent.json()["status"] == "sent" and sent.json()["sent_at"]
    (email,) = emails_to(healthy_sandbox, supplier)
    assert email.attachments == [f"PO-{order['number']}.pdf"] and "Deliver to the yard" in email.body
    again = await office.post(f"/v1/purchase-orders/{order['id']}/send")
    assert again.status_code == 409 and len(emails_to(healthy_sandbox, supplier)) == 1

    valve_line = next(line for line in order["lines"] if line["inventory_item_id"] == valve["id"])
    path = f"/v1/purchase-orders/{order['id']}/receive"
    partial = await office.post(path, json={"lines": [{"line_id": valve_line["id"], "quantity": 2}]})
    assert partial.status_code == 200, partial.text
    assert partial.json()["status"] == "sent"
    assert {line["item_name"]: line["quantity_received"] for line in partial.json()["lines"]} == {
        "Ball valve": 2,
        "P-trap": 0,
    }
    assert await stock(office, valve) == 2

    over = await office.post(path, json={"lines": [{"line_id": valve_line["id"], "quantity": 4}]})
    assert over.status_code == 422 and over.json()["detail"][0]["loc"] == ["body", "lines", 0, "quantity"]
    assert "only 3" in over.json()["detail"][0]["msg"] and await stock(office, valve) == 2

    rest = await office.post(path)  # everything still outstanding
    assert rest.status_code == 200, rest.text
    assert rest.json()["status"] == "received" and rest.json()["received_at"]
    assert (await stock(office, valve), await stock(office, trap)) == (5, 3)
    assert (await office.post(path, json={})).status_code == 409


async def test_an_email_the_provider_refuses_puts_the_order_back_to_draft(tenant, sessions, healthy_sandbox):
    office = await tenant.client("manager")
    supplier = await make_supplier(office)
    async with sessions() as session:  # an address the API would not take, as an import might leave
        row = await session.get(Supplier, uuid.UUID(supplier["id"]))
        row.email = "orders@supply"
        session.add(row)
        await session.commit()
    item = await make_item(office)
    body = {"supplier_id": supplier["id"], "lines": [{"inventory_item_id": item["id"], "quantity": 2}]}
    order = (await office.post("/v1/purchase-orders", json=body)).json()

    refused = await office.post(f"/v1/purchase-orders/{order['id']}/send")
    assert refused.status_code == 502 and "`to`" in refused.json()["detail"]
    after = (await office.get(f"/v1/purchase-orders/{order['id']}")).json()
    assert (after["status"], after["sent_at"]) == ("draft", None)
    (failed,) = await actions(sessions, entity_id=uuid.UUID(order["id"]), action="send_email")
    assert failed.outcome == "failed"


async def test_office_purchase_orders_number_in_sequence_and_follow_their_rules(tenant, other_tenant):
    office = await tenant.client("manager")
    supplier = await make_supplier(office)
    item = await make_item(office)
    path = "/v1/purchase-orders"

    made = await asyncio.gather(*(office.post(path, json={"supplier_id": supplier["id"]}) for _ in range(3)))
    numbers = sorted(m.json()["number"] for m in made)
    assert numbers == [numbers[0], numbers[0] + 1, numbers[0] + 2]
    order = made[0].json()

    empty = await office.post(f"{path}/{order['id']}/send")
    assert empty.status_code == 422 and "at least one line" in empty.json()["detail"]
    twice = {"lines": [{"inventory_item_id": item["id"], "quantity": 1}] * 2}
    refused = await office.patch(f"{path}/{order['id']}", json=twice)
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == [
        "body",
        "lines",
        1,
        "inventory_item_id",
    ]
    theirs = await make_item(await other_tenant.client("manager"))
    foreign = await office.patch(
        f"{path}/{order['id']}", json={"lines": [{"inventory_item_id": theirs["id"], "quantity": 1}]}
    )
    assert foreign.json()["detail"][0]["loc"] == ["body", "lines", 0, "inventory_item_id"]
    edited = await office.patch(
        f"{path}/{order['id']}",
        json={"notes": "Rush", "lines": [{"inventory_item_id": item["id"], "quantity": 4}]},
    )
    assert edited.status_code == 200 and lines_of(edited.json()) == [("Copper elbow", 4)]

    cancelled = await office.post(f"{path}/{order['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert (await office.post(f"{path}/{order['id']}/cancel")).status_code == 409
    assert (await office.post(f"{path}/{order['id']}/send")).status_code == 409
    assert (await office.patch(f"{path}/{order['id']}", json={"notes": "x"})).status_code == 409
    assert (await (await tenant.client("tech")).get(path)).status_code == 403


async def test_a_retried_reorder_pass_orders_nothing_twice_and_still_sends_its_draft(tenant, sessions):
    await switch_on(tenant, "supplier_reorder")
    office = await tenant.client("manager")
    supplier = await make_supplier(office)
    item = await make_item(office, quantity=1, reorder_point=2, par_level=8, supplier_id=supplier["id"])
    batch = ReorderBatch(
        str(tenant.company_id), f"reorder-{tenant.company_id}", "pass-test", [item["id"]], []
    )
    env, activities = ActivityEnvironment(), PurchasingActivities(sessions)

    first = await env.run(activities.plan_reorder, batch)
    second = await env.run(activities.plan_reorder, batch)  # as after a lost completion

    assert first == second and len(first.orders) == 1
    (order,) = await orders_of(office, supplier)
    assert order["id"] == first.orders[0].purchase_order_id and lines_of(order) == [(item["name"], 7)]


async def test_a_send_the_email_provider_cannot_take_is_answered_in_time_reopened_and_who_asked_is_told(
    tenant, sessions, healthy_sandbox
):
    office = await tenant.client("manager")
    supplier = await make_supplier(office)
    item = await make_item(office)
    body = {"supplier_id": supplier["id"], "lines": [{"inventory_item_id": item["id"], "quantity": 2}]}
    order = (await office.post("/v1/purchase-orders", json=body)).json()
    healthy_sandbox.controls.set("resend", "down")

    asked = time.monotonic()
    refused = await office.post(f"/v1/purchase-orders/{order['id']}/send")
    # Within the API's 30 s wait: the person hears the outcome, not "not confirmed in time".
    assert time.monotonic() - asked < UPDATE_WAIT_SECONDS
    assert refused.status_code == 502 and "could not be sent" in refused.json()["detail"]
    after = (await office.get(f"/v1/purchase-orders/{order['id']}")).json()
    assert (after["status"], after["sent_at"]) == ("draft", None)
    (why,) = await actions(
        sessions, entity_id=uuid.UUID(order["id"]), outcome="failed", action="send_purchase_order"
    )
    assert why.automation_key is None and "could not be sent" in why.reason
    async with sessions() as session:
        stmt = select(Notification).where(
            Notification.company_id == tenant.company_id, Notification.kind == "purchase_order_not_sent"
        )
        notices = (await session.exec(stmt)).all()
    assert [n.user_id for n in notices] == [tenant.users["manager"].id]

    healthy_sandbox.controls.reset()
    sent = await office.post(f"/v1/purchase-orders/{order['id']}/send")
    assert sent.status_code == 200 and sent.json()["status"] == "sent"
    assert len(emails_to(healthy_sandbox, supplier)) == 1


async def test_a_second_send_while_one_is_under_way_is_refused_by_the_validator(temporal_env):
    client, queue = temporal_env.client, f"test-{uuid.uuid4()}"
    order_id, company_id = str(uuid.uuid4()), str(uuid.uuid4())
    issued = asyncio.Event()
    release = asyncio.Event()

    @activity.defn(name="issue_purchase_order")
    async def issue(request: IssueRequest) -> PurchaseOrderEmail:
        issued.set()
        await release.wait()  # the first send is still under way while the second arrives
        return PurchaseOrderEmail(1001, "orders@supply.example", "PO", "<p>PO</p>", "PO", "PO-1001.pdf", "")

    @activity.defn(name="send_email")
    async def email(request: EmailRequest) -> SendResult:
        return SendResult("sent", str(uuid.uuid4()), "re_1")

    async with Worker(client, task_queue=queue, workflows=[PurchaseOrderWorkflow], activities=[issue, email]):
        start = WithStartWorkflowOperation(
            PurchaseOrderWorkflow.run,
            PurchaseOrderInput(order_id, company_id),
            id=f"po-{order_id}",
            task_queue=queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        first = await client.start_update_with_start_workflow(
            PurchaseOrderWorkflow.send,
            SendPurchaseOrder("user:first@example.com"),
            start_workflow_operation=start,
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )
        await issued.wait()
        handle = client.get_workflow_handle(f"po-{order_id}")
        second = await handle.start_update(
            PurchaseOrderWorkflow.send,
            SendPurchaseOrder("user:second@example.com"),
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )
        with pytest.raises(WorkflowUpdateFailedError) as refused:  # at once: not accepted to wait its turn
            await asyncio.wait_for(second.result(), 5)
        assert refused.value.cause.type == INVALID_TRANSITION and "being sent" in refused.value.cause.message
        release.set()
        assert (await first.result()).status == "sent"
        await handle.result()

        history = await handle.fetch_history()
        accepted = [
            e for e in history.events if e.HasField("workflow_execution_update_accepted_event_attributes")
        ]
        assert len(accepted) == 1  # the refused send never entered the history


async def test_the_backstop_reorders_what_the_real_time_path_missed_and_nothing_twice(
    tenant, sessions, healthy_sandbox, temporal_env
):
    office = await tenant.client("manager")
    supplier, no_email = await make_supplier(office), await make_supplier(office, email=False)
    valve = await make_item(
        office, name="Ball valve", quantity=5, reorder_point=4, par_level=10, supplier_id=supplier["id"]
    )
    trap = await make_item(
        office, name="P-trap", quantity=1, reorder_point=2, par_level=6, supplier_id=no_email["id"]
    )
    await make_item(office, name="Loose part", quantity=0, reorder_point=1, par_level=3)  # no supplier
    body = {"supplier_id": no_email["id"], "lines": [{"inventory_item_id": trap["id"], "quantity": 5}]}
    assert (await office.post("/v1/purchase-orders", json=body)).status_code == 201  # the trap is covered
    await log(office, await make_job(office, tenant), valve, 2)  # low while supplier_reorder is off
    await until(lambda: actions(sessions, entity_id=uuid.UUID(valve["id"]), outcome="skipped"))
    await switch_on(tenant, "supplier_reorder")

    env, activities = ActivityEnvironment(), PurchasingActivities(sessions)

    async def due() -> list[LowStock]:
        return [
            low
            for low in await env.run(activities.items_to_reorder)
            if low.company_id == str(tenant.company_id)
        ]

    assert await due() == [LowStock(str(tenant.company_id), [valve["id"]])]

    sweep = str(uuid.uuid4())
    await temporal_env.client.execute_workflow(
        ReorderBackstopWorkflow.run, id=f"reorder-backstop-{sweep}", task_queue=TASK_QUEUE
    )
    await until(lambda: emails_to(healthy_sandbox, supplier))
    (order,) = await orders_of(office, supplier)
    assert order["status"] == "sent" and lines_of(order) == [("Ball valve", 7)]

    assert await due() == []  # on order now: the next sweep asks nothing
    await temporal_env.client.execute_workflow(
        ReorderBackstopWorkflow.run, id=f"reorder-backstop-{sweep}-2", task_queue=TASK_QUEUE
    )
    await asyncio.sleep(3)  # longer than a reorder pass gathers requests
    assert len(await orders_of(office, supplier)) == 1 and len(emails_to(healthy_sandbox, supplier)) == 1


async def parts_checked_at_booking(client, job: dict) -> bool:
    """Whether the job's workflow has done the parts check it does when the job is booked."""
    events = (await client.get_workflow_handle(f"job-{job['id']}").fetch_history()).events
    checks = {
        e.event_id
        for e in events
        if e.HasField("activity_task_scheduled_event_attributes")
        and e.activity_task_scheduled_event_attributes.activity_type.name == "order_parts_for_job"
    }
    return any(
        e.activity_task_completed_event_attributes.scheduled_event_id in checks
        for e in events
        if e.HasField("activity_task_completed_event_attributes")
    )


async def test_services_added_to_a_booked_job_order_their_parts(tenant, healthy_sandbox, temporal_env):
    await switch_on(tenant, "autonomous_parts_ordering")
    office = await tenant.client("manager")
    supplier = await make_supplier(office)
    filters = await make_item(office, name="Filter", quantity=0, supplier_id=supplier["id"])
    service = (
        await office.post("/v1/services", json={"name": "Furnace service", "price_cents": 12_000})
    ).json()
    body = {"parts": [{"inventory_item_id": filters["id"], "quantity": 2}]}
    assert (await office.put(f"/v1/services/{service['id']}/parts", json=body)).status_code == 200
    start = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0).isoformat()
    diagnosis = [{"description": "Diagnosis", "unit_price_cents": 8_000}]
    job = await make_job(office, tenant, scheduled_start=start, line_items=diagnosis)
    await until(lambda: parts_checked_at_booking(temporal_env.client, job))  # found nothing to order

    patched = await office.patch(
        f"/v1/jobs/{job['id']}", json={"line_items": [{"service_id": service["id"]}]}
    )
    assert patched.status_code == 200, patched.text

    await until(lambda: emails_to(healthy_sandbox, supplier))
    (order,) = await orders_of(office, supplier)
    assert lines_of(order) == [("Filter", 2)]


async def test_purchase_order_list_dates_are_the_companys_days(tenant, sessions):
    office = await tenant.client("manager")
    supplier = await make_supplier(office)
    order = (await office.post("/v1/purchase-orders", json={"supplier_id": supplier["id"]})).json()
    async with sessions() as session:  # 3 AM UTC on January 2 is still New Year's Day in Chicago
        row = await session.get(PurchaseOrder, uuid.UUID(order["id"]))
        row.created_at = row.sent_at = datetime(2026, 1, 2, 3, 0, tzinfo=UTC)
        session.add(row)
        await session.commit()

    page = await office.get("/purchase-orders")
    assert page.status_code == 200
    assert page.text.count("Jan 1, 2026") == 2 and "Jan 2, 2026" not in page.text
