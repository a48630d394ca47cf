"""InvoiceWorkflow on its own: it waits as long as an invoice stays open, and old histories still replay."""

import json
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio.client import WithStartWorkflowOperation, WorkflowHistory
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import Replayer

from tests.factories import make_tenant
from worker import WORKFLOWS, Deps, build_worker
from workflows.invoice import InvoiceInput, InvoiceWorkflow, MarkPaidInput, StatusChangeInput

HISTORIES = Path(__file__).parent / "histories"


async def _draft_invoice(tenant) -> str:
    office = await tenant.client("owner")
    customer = (await office.post("/v1/customers", json={"name": "Long Wait"})).json()["id"]
    body = {"customer_id": customer, "line_items": [{"description": "Repair", "unit_price_cents": 12_000}]}
    return (await office.post("/v1/invoices", json=body)).json()["id"]


async def test_invoice_left_open_for_months_can_still_be_paid(time_skipping_env, app, sessions, settings):
    async with make_tenant(app, sessions, f"Slow Payer {uuid.uuid4().hex[:6]}") as tenant:
        invoice_id = await _draft_invoice(tenant)
    client = time_skipping_env.client
    queue = f"test-{uuid.uuid4()}"
    async with build_worker(client, Deps(sessions=sessions, settings=settings), task_queue=queue):
        flow_input = InvoiceInput(invoice_id=invoice_id, company_id=str(tenant.company_id))
        start = WithStartWorkflowOperation(
            InvoiceWorkflow.run,
            flow_input,
            id=f"invoice-{invoice_id}",
            task_queue=queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        sent = await client.execute_update_with_start_workflow(
            InvoiceWorkflow.mark_sent, StatusChangeInput(actor="user:test"), start_workflow_operation=start
        )
        assert sent.status == "sent"
        handle = client.get_workflow_handle(f"invoice-{invoice_id}")
        await time_skipping_env.sleep(timedelta(days=120))
        assert await handle.query(InvoiceWorkflow.status) == "overdue"
        paid = await handle.execute_update(
            InvoiceWorkflow.mark_paid,
            MarkPaidInput(actor="user:test", method="cash", received_on="2027-03-01"),
        )
        assert paid.status == "paid" and paid.amount_paid_cents == paid.total_cents
        assert await handle.result() == "paid"


async def test_saved_histories_replay_without_nondeterminism():
    """Every history under tests/histories/ was recorded from a real run; code changes must replay them."""
    files = sorted(HISTORIES.glob("*.json"))
    assert files, "no saved histories to replay"
    replayer = Replayer(workflows=WORKFLOWS)
    for path in files:
        history = WorkflowHistory.from_json(path.stem, json.loads(path.read_text()))
        result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
        assert result.replay_failure is None, path.name
