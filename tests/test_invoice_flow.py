"""The first end-to-end flow: API → Temporal update-with-start → worker → activity → PostgreSQL."""

import asyncio
import uuid

from sqlmodel import select
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import ActivityEnvironment

from activities.records import ChangeInvoiceStatus, PaymentDetails, RecordsActivities
from models.invoices import Payment
from models.logs import ActionLog, AuditLog
from temporal.search_attributes import COMPANY_ID, ENTITY_ID, ENTITY_TYPE


async def _customer(client) -> str:
    response = await client.post("/v1/customers", json={"name": "Ada Lovelace", "phone": "512-555-0199"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def _invoice(client, customer_id: str) -> dict:
    body = {
        "customer_id": customer_id,
        "line_items": [
            {"description": "Water heater flush", "unit_price_cents": 18_900},
            {"description": "Labour", "quantity": "1.5", "unit_price_cents": 9_500, "taxable": False},
        ],
    }
    response = await client.post("/v1/invoices", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def test_marking_an_invoice_paid_by_hand_records_payment_audit_and_action_through_its_workflow(
    tenant, sessions, temporal_env
):
    office = await tenant.client("manager")
    invoice = await _invoice(office, await _customer(office))
    assert invoice["status"] == "draft"
    assert invoice["total_cents"] == 18_900 + 1_559 + 14_250  # 8.25 % tax on the taxable line only

    refused = await office.post(f"/v1/invoices/{invoice['id']}/mark-paid", json={"method": "cash"})
    assert refused.status_code == 409
    assert "must be sent" in refused.json()["detail"]

    sent = await office.post(f"/v1/invoices/{invoice['id']}/mark-sent")
    assert sent.status_code == 200, sent.text
    assert sent.json()["status"] == "sent"

    paid = await office.post(
        f"/v1/invoices/{invoice['id']}/mark-paid", json={"method": "check", "reference": "Check #1042"}
    )
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid"
    assert paid.json()["balance_due_cents"] == 0

    invoice_id = uuid.UUID(invoice["id"])
    async with sessions() as session:
        payments = (await session.exec(select(Payment).where(Payment.invoice_id == invoice_id))).all()
        audits = (await session.exec(select(AuditLog).where(AuditLog.entity_id == invoice_id))).all()
        actions = (await session.exec(select(ActionLog).where(ActionLog.entity_id == invoice_id))).all()
    assert [(p.amount_cents, p.method, p.reference) for p in payments] == [(34_709, "check", "Check #1042")]
    assert payments[0].recorded_by_id == tenant.users["manager"].id
    paid_audit = next(a for a in audits if a.action == "record_payment")
    assert paid_audit.before["status"] == "sent" and paid_audit.after["status"] == "paid"
    assert paid_audit.actor == f"user:{tenant.users['manager'].email}"
    assert sorted(a.action for a in actions) == ["mark_invoice_sent", "record_payment"]
    assert {a.workflow_id for a in actions} == {f"invoice-{invoice_id}"}

    # The flow finished once the invoice was paid, and is findable by tenant in the Temporal UI.
    handle = temporal_env.client.get_workflow_handle(f"invoice-{invoice_id}")
    assert await handle.result() == "paid"
    described = await handle.describe()
    assert described.status == WorkflowExecutionStatus.COMPLETED
    attributes = described.typed_search_attributes
    assert attributes.get(COMPANY_ID) == str(tenant.company_id)
    assert attributes.get(ENTITY_TYPE) == "invoice"
    assert attributes.get(ENTITY_ID) == str(invoice_id)


async def test_paid_invoice_cannot_be_voided_or_paid_again(tenant, temporal_env):
    office = await tenant.client("owner")
    invoice = await _invoice(office, await _customer(office))
    await office.post(f"/v1/invoices/{invoice['id']}/mark-sent")
    assert (await office.post(f"/v1/invoices/{invoice['id']}/mark-paid", json={})).status_code == 200

    # The first flow has ended; each request starts a new run, which the rules refuse.
    void = await office.post(f"/v1/invoices/{invoice['id']}/void")
    assert void.status_code == 409 and "paid invoice cannot be voided" in void.json()["detail"]
    again = await office.post(f"/v1/invoices/{invoice['id']}/mark-paid", json={})
    assert again.status_code == 409 and "already paid" in again.json()["detail"]
    payments = (await office.get(f"/v1/invoices/{invoice['id']}/payments")).json()
    assert len(payments) == 1
    # Each refused request's run learned the invoice is paid and ended, instead of waiting forever.
    query = f"WorkflowId = 'invoice-{invoice['id']}' AND ExecutionStatus = 'Running'"
    for _ in range(40):
        open_runs = [run async for run in temporal_env.client.list_workflows(query)]
        if not open_runs:
            break
        await asyncio.sleep(0.05)
    assert open_runs == []


async def test_void_invoice_cannot_be_paid(tenant):
    office = await tenant.client("owner")
    invoice = await _invoice(office, await _customer(office))
    assert (await office.post(f"/v1/invoices/{invoice['id']}/void")).json()["status"] == "void"
    refused = await office.post(f"/v1/invoices/{invoice['id']}/mark-paid", json={"method": "cash"})
    assert refused.status_code == 409 and "void invoice cannot be marked as paid" in refused.json()["detail"]


async def test_retried_payment_activity_records_the_payment_once(tenant, sessions):
    office = await tenant.client("owner")
    invoice = await _invoice(office, await _customer(office))
    await office.post(f"/v1/invoices/{invoice['id']}/mark-sent")
    change = ChangeInvoiceStatus(
        invoice_id=invoice["id"],
        company_id=str(tenant.company_id),
        target="paid",
        actor="user:test",
        workflow_id=f"invoice-{invoice['id']}",
        step_key=f"invoice-{invoice['id']}/retried-step",
        payment=PaymentDetails(method="cash", received_on="2026-11-20"),
    )
    activities = RecordsActivities(sessions)
    env = ActivityEnvironment()
    first = await env.run(activities.change_invoice_status, change)
    second = await env.run(activities.change_invoice_status, change)  # as after a lost completion
    assert first.status == second.status == "paid"
    async with sessions() as session:
        payments = (
            await session.exec(select(Payment).where(Payment.invoice_id == uuid.UUID(invoice["id"])))
        ).all()
    assert len(payments) == 1


async def test_invoice_numbers_follow_the_company_sequence(tenant):
    office = await tenant.client("owner")
    customer_id = await _customer(office)
    numbers = [(await _invoice(office, customer_id))["number"] for _ in range(3)]
    assert numbers == [numbers[0], numbers[0] + 1, numbers[0] + 2]


async def test_sent_invoice_can_no_longer_be_edited(tenant):
    office = await tenant.client("owner")
    invoice = await _invoice(office, await _customer(office))
    await office.post(f"/v1/invoices/{invoice['id']}/mark-sent")
    response = await office.patch(f"/v1/invoices/{invoice['id']}", json={"notes": "changed"})
    assert response.status_code == 409
