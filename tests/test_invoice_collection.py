"""An invoice's own life through its workflow: Send (email with the PDF, text-to-pay), collection when the
job is done (card on file charged once, a declined card never charged again), receipts, and the clock:
Overdue after the due date, follow-ups 3, 7 and 14 days later in a firmer tone each, stopped by payment."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlmodel import select
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from activities.clients import stripe_client
from activities.invoicing import overdue_at, planned_follow_ups
from models.customers import Customer
from models.invoices import Invoice, Payment
from models.logs import ActionLog, AutomationSetting, MessageLog
from models.notifications import Notification
from sandbox.gemini_api import ScriptedReply
from settings import ROOT, TASK_QUEUE
from temporal.dev_server import temporal_test_server
from temporal.search_attributes import for_entity
from tests.quote_journey import Journey, prepare, rows
from worker import WORKFLOWS, Deps, build_worker
from workflows.invoice import (
    CollectInvoice,
    CollectResult,
    InvoiceInput,
    InvoiceWorkflow,
    MarkPaidInput,
    SendInvoice,
    StatusChangeInput,
)

CENTRAL = ZoneInfo("America/Chicago")  # every test company's timezone (tests/factories.py)
INVOICE_AUTOMATIONS = ("send_text_to_pay_sms", "send_receipt_sms", "auto_charge_card_on_file")
VISA = "4242424242424242"
DECLINES_ON_CHARGE = "4000000000000341"  # saves fine, declined when charged
NEEDS_AUTHENTICATION = "4000002760003184"
# A recorded run of the whole timeline (send, overdue, follow-ups, paid), ready to join tests/histories/.
HISTORY_COPY = ROOT / "test-artifacts" / "histories" / "invoice_sent_overdue_followed_up_paid.json"


# helpers shared with tests/test_invoice_pages.py


@dataclass
class Billing:
    """A company set up to bill: its office client, a customer who consented to texts, the sandbox."""

    journey: Journey
    tenant: object
    sessions: object
    sandbox: object
    settings: object

    @property
    def office(self) -> httpx.AsyncClient:
        return self.journey.office

    async def invoice(self, *, due_on: date | None = None, customer_id: str | None = None) -> dict:
        body = {
            "customer_id": customer_id or self.journey.customer_id,
            "line_items": [
                {"description": "Water heater flush", "unit_price_cents": 18_900},
                {"description": "Labour", "quantity": "1.5", "unit_price_cents": 9_500, "taxable": False},
            ],
        }
        if due_on is not None:
            body["due_on"] = due_on.isoformat()
        response = await self.office.post("/v1/invoices", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    async def customer(self, **fields) -> str:
        body = {"name": "Grace Hopper"} | fields
        response = await self.office.post("/v1/customers", json=body)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def emails(self, to: str | None = None) -> list:
        to = to or self.journey.customer_email
        return [e for e in self.sandbox.outbox if e.channel == "email" and e.to == to]

    def texts(self, to: str | None = None) -> list:
        to = to or self.journey.customer_phone
        return [e for e in self.sandbox.outbox if e.channel == "sms" and e.to == to]

    async def switch(self, key: str, enabled: bool) -> None:
        async with self.sessions() as session:
            setting = await session.get(AutomationSetting, (self.tenant.company_id, key))
            if setting is None:
                setting = AutomationSetting(company_id=self.tenant.company_id, key=key)
            setting.enabled = enabled
            session.add(setting)
            await session.commit()

    async def save_card(self, number: str, customer_id: str | None = None, auto_charge: bool = True) -> None:
        """A card saved on the customer the way the quote's card step saves one: a Stripe customer, the
        card attached to it, and the brand, last 4 and auto-charge choice on our row."""
        customer_id = customer_id or self.journey.customer_id
        client = stripe_client(self.settings)
        # The sandbox answers from this event loop: the blocking SDK calls run on a thread.
        stripe_customer = await asyncio.to_thread(
            client.v1.customers.create,
            {"name": "Card holder", "metadata": {"nexjob_customer_id": customer_id}},
        )
        method = await asyncio.to_thread(
            client.v1.payment_methods.create,
            {"type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2034}},
        )
        await asyncio.to_thread(client.v1.payment_methods.attach, method.id, {"customer": stripe_customer.id})
        async with self.sessions() as session:
            customer = await session.get(Customer, uuid.UUID(customer_id))
            customer.stripe_customer_id = stripe_customer.id
            customer.card_payment_method_id = method.id
            customer.card_brand, customer.card_last4 = method.card.brand, method.card.last4
            customer.auto_charge_consent = auto_charge
            session.add(customer)
            await session.commit()

    async def charges(self, invoice_id: str) -> list[dict]:
        async with httpx.AsyncClient() as client:
            every = (await client.get(f"{self.settings.sandbox_url}/stripe/_charges")).json()
        return [c for c in every if (c.get("metadata") or {}).get("invoice_id") == invoice_id]

    async def actions(self, invoice_id: str) -> list[ActionLog]:
        return await rows(
            self.sessions, select(ActionLog).where(ActionLog.entity_id == uuid.UUID(invoice_id))
        )

    async def row(self, invoice_id: str) -> Invoice:
        async with self.sessions() as session:
            return await session.get(Invoice, uuid.UUID(invoice_id))


async def billing(tenant, sessions, sandbox, settings, automations=INVOICE_AUTOMATIONS) -> Billing:
    journey = await prepare(tenant, sessions, card=True, automations=automations)
    return Billing(journey, tenant, sessions, sandbox, settings)


@pytest.fixture
async def bill(tenant, sessions, healthy_sandbox, settings) -> Billing:
    return await billing(tenant, sessions, healthy_sandbox, settings)


async def collect(client: Client, invoice: dict, company_id, update_id: str, queue: str = TASK_QUEUE):
    """What the job workflow does when the job is completed: update-with-start, one update id per job."""
    start = WithStartWorkflowOperation(
        InvoiceWorkflow.run,
        InvoiceInput(invoice["id"], str(company_id)),
        id=f"invoice-{invoice['id']}",
        task_queue=queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        search_attributes=for_entity(str(company_id), "invoice", invoice["id"]),
    )
    return await client.execute_update_with_start_workflow(
        InvoiceWorkflow.collect,
        CollectInvoice(actor="job:test"),
        start_workflow_operation=start,
        id=update_id,
    )


async def finished(client: Client, invoice: dict) -> str:
    return await asyncio.wait_for(client.get_workflow_handle(f"invoice-{invoice['id']}").result(), 30)


# Send


async def test_send_emails_the_pdf_and_texts_the_link_then_marks_the_invoice_sent(bill: Billing):
    invoice = await bill.invoice()
    sent = await bill.office.post(f"/v1/invoices/{invoice['id']}/send")
    assert sent.status_code == 200, sent.text
    body = sent.json()
    assert body["status"] == "sent" and body["sent_at"] is not None
    pay_url = body["pay_url"]
    assert pay_url.startswith(f"{bill.settings.public_url}/i/")

    (email,) = bill.emails()
    assert email.attachments == [f"Invoice-{invoice['number']}.pdf"]
    assert email.subject == f"Invoice #{invoice['number']} from {bill.tenant.company.name}"
    assert pay_url in email.body
    (text,) = bill.texts()
    assert text.body.endswith(pay_url) and "$347.09" in text.body  # 189 + 8.25 % tax + 142.50 labour
    assert text.sender == bill.journey.company_sms
    purposes = await rows(
        bill.sessions,
        select(MessageLog.purpose).where(MessageLog.workflow_id == f"invoice-{invoice['id']}"),
    )
    assert len(purposes) == 2 and all(p.startswith("invoice-") for p in purposes)
    actions = sorted(a.action for a in await bill.actions(invoice["id"]))
    assert actions == ["mark_invoice_sent", "send_email", "send_sms"]

    # Sending again (an open invoice): the same two messages once more, the status as it was.
    again = await bill.office.post(f"/v1/invoices/{invoice['id']}/send")
    assert again.status_code == 200 and again.json()["status"] == "sent"
    assert len(bill.emails()) == 2 and len(bill.texts()) == 2


async def test_marking_sent_by_hand_sends_nothing(bill: Billing):
    invoice = await bill.invoice()
    marked = await bill.office.post(f"/v1/invoices/{invoice['id']}/mark-sent")
    assert marked.status_code == 200 and marked.json()["status"] == "sent"
    assert bill.emails() == [] and bill.texts() == []


async def test_text_to_pay_is_skipped_and_logged_when_switched_off_or_without_consent(bill: Billing):
    await bill.switch("send_text_to_pay_sms", False)
    invoice = await bill.invoice()
    assert (await bill.office.post(f"/v1/invoices/{invoice['id']}/send")).status_code == 200
    assert len(bill.emails()) == 1 and bill.texts() == []
    (skipped,) = [a for a in await bill.actions(invoice["id"]) if a.outcome == "skipped"]
    assert (skipped.action, skipped.automation_key) == ("send_text_to_pay_sms", "send_text_to_pay_sms")
    assert skipped.reason == "Text-to-Pay SMS is switched off"

    await bill.switch("send_text_to_pay_sms", True)
    phone = "+15125550111"
    no_consent = await bill.customer(email=f"nc-{uuid.uuid4().hex[:6]}@example.com", phone=phone)
    second = await bill.invoice(customer_id=no_consent)
    assert (await bill.office.post(f"/v1/invoices/{second['id']}/send")).status_code == 200
    assert bill.texts(phone) == []
    (skipped,) = [a for a in await bill.actions(second["id"]) if a.outcome == "skipped"]
    assert skipped.reason == "no SMS consent"


async def test_send_is_refused_when_the_customer_cannot_be_reached_or_the_invoice_is_closed(bill: Billing):
    unreachable = await bill.customer(phone="+15125550112")  # no email, and no consent to texts
    invoice = await bill.invoice(customer_id=unreachable)
    refused = await bill.office.post(f"/v1/invoices/{invoice['id']}/send")
    assert refused.status_code == 422
    assert "no email address" in refused.json()["detail"]
    assert (await bill.row(invoice["id"])).status == "draft"

    # Texts only: a customer with no email who consented gets the text, and the invoice is sent.
    texts_only = await bill.customer(phone="+15125550113", sms_consent=True, sms_consent_source="form")
    second = await bill.invoice(customer_id=texts_only)
    assert (await bill.office.post(f"/v1/invoices/{second['id']}/send")).json()["status"] == "sent"
    assert len(bill.texts("+15125550113")) == 1

    await bill.office.post(f"/v1/invoices/{second['id']}/mark-paid", json={"method": "cash"})
    closed = await bill.office.post(f"/v1/invoices/{second['id']}/send")
    assert closed.status_code == 409 and "paid" in closed.json()["detail"]


async def test_forbidden_transitions_are_still_refused(bill: Billing):
    invoice = await bill.invoice()
    draft_paid = await bill.office.post(f"/v1/invoices/{invoice['id']}/mark-paid", json={})
    assert draft_paid.status_code == 409 and "must be sent" in draft_paid.json()["detail"]
    await bill.office.post(f"/v1/invoices/{invoice['id']}/send")
    assert (await bill.office.post(f"/v1/invoices/{invoice['id']}/mark-paid", json={})).status_code == 200
    voided = await bill.office.post(f"/v1/invoices/{invoice['id']}/void")
    assert voided.status_code == 409 and "paid invoice cannot be voided" in voided.json()["detail"]

    other = await bill.invoice()
    assert (await bill.office.post(f"/v1/invoices/{other['id']}/void")).json()["status"] == "void"
    paid_void = await bill.office.post(f"/v1/invoices/{other['id']}/mark-paid", json={})
    assert (
        paid_void.status_code == 409 and "void invoice cannot be marked as paid" in paid_void.json()["detail"]
    )
    assert (await bill.office.post(f"/v1/invoices/{other['id']}/send")).status_code == 409


# Collect (Workflow 3: the job is completed)


async def test_collect_charges_the_saved_card_records_the_payment_and_texts_a_receipt(
    bill: Billing, temporal_env
):
    await bill.save_card(VISA)
    invoice = await bill.invoice()
    result = await collect(temporal_env.client, invoice, bill.tenant.company_id, f"collect-{invoice['id']}")
    assert result == CollectResult("paid", True, None, result.pay_url)
    assert "/i/" in result.pay_url
    assert await finished(temporal_env.client, invoice) == "paid"

    (charge,) = await bill.charges(invoice["id"])
    assert charge["status"] == "succeeded" and charge["amount"] == invoice["total_cents"]
    payments = await rows(
        bill.sessions, select(Payment).where(Payment.invoice_id == uuid.UUID(invoice["id"]))
    )
    assert [(p.method, p.amount_cents, p.reference) for p in payments] == [
        ("card", invoice["total_cents"], charge["payment_intent"])
    ]
    (receipt,) = bill.texts()
    assert (
        "thank you" in receipt.body and "$347.09" in receipt.body and f"#{invoice['number']}" in receipt.body
    )
    assert bill.emails() == []  # charged: no invoice email, no payment link needed


async def test_the_same_completion_delivered_twice_charges_once(bill: Billing, temporal_env):
    await bill.save_card(VISA)
    invoice = await bill.invoice()
    update_id = f"collect-{invoice['id']}"
    first, second = await asyncio.gather(
        collect(temporal_env.client, invoice, bill.tenant.company_id, update_id),
        collect(temporal_env.client, invoice, bill.tenant.company_id, update_id),
    )
    assert first == second and first.charged
    assert await finished(temporal_env.client, invoice) == "paid"
    # Delivered once more after the invoice's run ended: Temporal answers the same update id the same.
    late = await collect(temporal_env.client, invoice, bill.tenant.company_id, update_id)
    assert late == first
    # A completion under another id starts a new run, which finds the invoice paid and charges nothing.
    other = await collect(temporal_env.client, invoice, bill.tenant.company_id, f"other-{invoice['id']}")
    assert (other.status, other.charged, other.reason) == ("paid", False, "the invoice is already paid")
    assert len(await bill.charges(invoice["id"])) == 1
    assert len(bill.texts()) == 1  # one receipt


@pytest.mark.parametrize(
    ("card", "said"),
    [
        pytest.param(DECLINES_ON_CHARGE, "Your card was declined.", id="declined"),
        pytest.param(NEEDS_AUTHENTICATION, "requires authentication", id="authentication-required"),
    ],
)
async def test_a_card_that_fails_is_charged_once_the_office_is_told_and_the_invoice_sent_with_its_link(
    bill: Billing, temporal_env, card, said
):
    await bill.save_card(card)
    invoice = await bill.invoice()
    result = await collect(temporal_env.client, invoice, bill.tenant.company_id, f"collect-{invoice['id']}")
    assert (result.status, result.charged) == ("sent", False)
    assert said in result.reason

    (attempt,) = await bill.charges(invoice["id"])
    assert attempt["status"] == "failed"
    (email,) = bill.emails()
    assert "your card could not be charged" in email.subject and result.pay_url in email.body
    assert email.attachments == [f"Invoice-{invoice['number']}.pdf"]
    (text,) = bill.texts()
    assert "could not charge your card" in text.body and text.body.endswith(result.pay_url)

    notified = await rows(
        bill.sessions, select(Notification).where(Notification.entity_id == uuid.UUID(invoice["id"]))
    )
    office = {bill.tenant.users[who].id for who in ("owner", "admin", "manager")}
    assert {n.user_id for n in notified} == office and len(notified) == 3
    assert {n.title for n in notified} == {
        f"Auto-charge declined for invoice #{invoice['number']}: {result.reason}"
    }
    failed = [a for a in await bill.actions(invoice["id"]) if a.outcome == "failed"]
    assert [(a.action, a.reason) for a in failed] == [("charge_card_on_file", result.reason)]

    # Completed again (another delivery): the declined card is not charged a second time.
    again = await collect(temporal_env.client, invoice, bill.tenant.company_id, f"again-{invoice['id']}")
    assert not again.charged and "already declined" in again.reason
    assert len(await bill.charges(invoice["id"])) == 1
    assert (await bill.row(invoice["id"])).status == "sent"


async def test_collect_without_a_card_to_charge_just_sends_the_invoice(bill: Billing, temporal_env):
    invoice = await bill.invoice()  # the customer saved no card
    result = await collect(temporal_env.client, invoice, bill.tenant.company_id, f"collect-{invoice['id']}")
    assert (result.status, result.charged, result.reason) == (
        "sent",
        False,
        "the customer has no card on file",
    )
    assert len(bill.emails()) == 1 and len(bill.texts()) == 1
    assert await bill.charges(invoice["id"]) == []
    skipped = [a for a in await bill.actions(invoice["id"]) if a.action == "charge_card_on_file"]
    assert [(a.outcome, a.reason) for a in skipped] == [("skipped", "the customer has no card on file")]


async def test_collect_reports_a_customer_it_cannot_reach_instead_of_failing(bill: Billing, temporal_env):
    unreachable = await bill.customer(phone="+15125550114")  # no email, no consent to texts
    invoice = await bill.invoice(customer_id=unreachable)
    result = await collect(temporal_env.client, invoice, bill.tenant.company_id, f"collect-{invoice['id']}")
    assert (result.status, result.charged) == ("draft", False)
    assert result.reason.startswith("the customer has no card on file; the invoice could not be sent:")
    assert "no email address" in result.reason


async def test_collect_with_auto_charge_switched_off_sends_and_logs_the_gate(bill: Billing, temporal_env):
    await bill.save_card(VISA)
    await bill.switch("auto_charge_card_on_file", False)
    invoice = await bill.invoice()
    result = await collect(temporal_env.client, invoice, bill.tenant.company_id, f"collect-{invoice['id']}")
    assert (result.status, result.charged) == ("sent", False)
    assert result.reason == "Auto-Charge Card on File is switched off"
    assert await bill.charges(invoice["id"]) == []
    gate = [a for a in await bill.actions(invoice["id"]) if a.automation_key == "auto_charge_card_on_file"]
    assert [(a.outcome, a.reason) for a in gate] == [("skipped", "Auto-Charge Card on File is switched off")]


async def test_collect_on_an_open_invoice_without_consent_sends_nothing_new(bill: Billing, temporal_env):
    await bill.save_card(VISA, auto_charge=False)
    invoice = await bill.invoice()
    await bill.office.post(f"/v1/invoices/{invoice['id']}/send")
    result = await collect(temporal_env.client, invoice, bill.tenant.company_id, f"collect-{invoice['id']}")
    assert (result.status, result.charged) == ("sent", False)
    assert result.reason == "the customer did not agree to automatic charges"
    assert len(bill.emails()) == 1  # the invoice already went out; the job's own text carries the link


# Receipts


async def test_paid_by_hand_texts_one_receipt_and_a_switched_off_receipt_is_logged(
    bill: Billing, temporal_env
):
    invoice = await bill.invoice()
    await bill.office.post(f"/v1/invoices/{invoice['id']}/send")
    paid = await bill.office.post(f"/v1/invoices/{invoice['id']}/mark-paid", json={"method": "check"})
    assert paid.status_code == 200
    assert await finished(temporal_env.client, invoice) == "paid"
    receipts = [t for t in bill.texts() if "thank you" in t.body]
    assert len(receipts) == 1

    await bill.switch("send_receipt_sms", False)
    second = await bill.invoice()
    await bill.office.post(f"/v1/invoices/{second['id']}/send")
    await bill.office.post(f"/v1/invoices/{second['id']}/mark-paid", json={"method": "cash"})
    assert await finished(temporal_env.client, second) == "paid"
    assert len([t for t in bill.texts() if "thank you" in t.body]) == 1
    skipped = [a for a in await bill.actions(second["id"]) if a.automation_key == "send_receipt_sms"]
    assert [(a.outcome, a.reason) for a in skipped] == [("skipped", "Receipt SMS is switched off")]


# The clock: overdue and follow-ups, on a time-skipping server of the test's own


class ServerClock:
    def __init__(self, env: WorkflowEnvironment):
        self.env = env

    async def now(self) -> datetime:
        return await self.env.get_current_time()

    async def sleep_until(self, moment: datetime) -> None:
        wait = moment - await self.env.get_current_time()
        if wait > timedelta(0):
            await self.env.sleep(wait)


@pytest.fixture
async def clock() -> AsyncIterator[ServerClock]:
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=temporal_test_server())
    async with env:
        yield ServerClock(env)


@dataclass
class Timeline:
    bill: Billing
    client: Client
    queue: str
    invoice: dict
    overdue_at: datetime
    follow_ups: list

    @property
    def handle(self):
        return self.client.get_workflow_handle(f"invoice-{self.invoice['id']}")

    def reminders(self) -> list:
        return [e for e in self.bill.emails() if not e.attachments]


@pytest.fixture
async def timeline(clock, bill: Billing, sessions, settings) -> AsyncIterator[Timeline]:
    today = (await clock.now()).astimezone(CENTRAL).date()
    invoice = await bill.invoice(due_on=today + timedelta(days=1))
    due_on = date.fromisoformat(invoice["due_on"])
    queue = f"test-{uuid.uuid4()}"
    client = clock.env.client
    async with build_worker(client, Deps(sessions=sessions, settings=settings), task_queue=queue):
        start = WithStartWorkflowOperation(
            InvoiceWorkflow.run,
            InvoiceInput(invoice["id"], str(bill.tenant.company_id)),
            id=f"invoice-{invoice['id']}",
            task_queue=queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        sent = await client.execute_update_with_start_workflow(
            InvoiceWorkflow.send, SendInvoice(actor="user:test"), start_workflow_operation=start
        )
        assert sent.status == "sent"
        yield Timeline(
            bill,
            client,
            queue,
            invoice,
            overdue_at(due_on, "America/Chicago"),
            planned_follow_ups(due_on, "America/Chicago"),
        )


def _at(follow_up) -> datetime:
    return datetime.fromisoformat(follow_up.at)


async def test_overdue_after_the_due_date_then_firmer_follow_ups_each_once_until_paid(
    timeline: Timeline, clock: ServerClock, healthy_sandbox
):
    bill, invoice = timeline.bill, timeline.invoice
    assert timeline.overdue_at.astimezone(CENTRAL).time().isoformat() == "00:00:00"
    assert [(f.tone, f.days) for f in timeline.follow_ups] == [("friendly", 3), ("firm", 7), ("final", 14)]
    for follow_up in timeline.follow_ups:
        local = _at(follow_up).astimezone(CENTRAL)
        assert local.weekday() < 5 and local.time().isoformat() == "09:30:00"
    # The model's words for the first one; an answer with a made-up link is replaced by the template.
    healthy_sandbox.ai_scripts["gemini"].append(
        ScriptedReply("We hope the new water heater is working well! A quick reminder about this one.", 1)
    )

    await clock.sleep_until(timeline.overdue_at - timedelta(minutes=1))
    assert (await bill.row(invoice["id"])).status == "sent"
    await clock.sleep_until(timeline.overdue_at + timedelta(minutes=1))
    assert (await bill.row(invoice["id"])).status == "overdue"
    assert await timeline.handle.query(InvoiceWorkflow.status) == "overdue"
    assert timeline.reminders() == []

    friendly, firm, final = timeline.follow_ups
    await clock.sleep_until(_at(friendly) - timedelta(minutes=1))
    assert timeline.reminders() == []
    await clock.sleep_until(_at(friendly) + timedelta(minutes=1))
    (first,) = timeline.reminders()
    assert first.subject.startswith("A friendly reminder") and "We hope the new water heater" in first.body
    assert "View and pay online" in first.body and "/i/" in first.body
    assert len(bill.texts()) == 2 and "friendly reminder" in bill.texts()[1].body

    healthy_sandbox.ai_scripts["gemini"].append(
        ScriptedReply("Please pay now at http://pay-here.example.com to avoid trouble.", 1)
    )
    await clock.sleep_until(_at(firm) + timedelta(minutes=1))
    first, second = timeline.reminders()
    assert second.subject == f"Invoice #{invoice['number']} from {bill.tenant.company.name} is past due"
    assert "7 days past due" in second.body and "pay-here.example.com" not in second.body
    assert "7 days past due" in bill.texts()[2].body

    # Paid before the final notice: nothing more goes out, and the run ends with a receipt.
    paid = await timeline.handle.execute_update(
        InvoiceWorkflow.mark_paid, MarkPaidInput(actor="user:test", method="check", received_on="2027-01-01")
    )
    assert paid.status == "paid"
    assert await timeline.handle.result() == "paid"
    await clock.sleep_until(_at(final) + timedelta(days=1))
    assert len(timeline.reminders()) == 2
    texts = bill.texts()
    assert len(texts) == 4 and "thank you" in texts[3].body  # sent, two follow-ups, the receipt
    purposes = await rows(
        bill.sessions,
        select(MessageLog.purpose).where(MessageLog.workflow_id == f"invoice-{invoice['id']}"),
    )
    assert sorted(p for p in purposes if p.startswith("reminder")) == [
        "reminder-3",
        "reminder-3-sms",
        "reminder-7",
        "reminder-7-sms",
    ]

    # The new flow replays without nondeterminism; its history is kept for tests/histories/.
    history = await timeline.handle.fetch_history()
    await Replayer(workflows=WORKFLOWS).replay_workflow(history)
    HISTORY_COPY.parent.mkdir(parents=True, exist_ok=True)
    HISTORY_COPY.write_text(history.to_json())


async def test_void_stops_everything_and_follow_up_texts_follow_the_text_to_pay_switch(
    timeline: Timeline, clock: ServerClock
):
    bill, invoice = timeline.bill, timeline.invoice
    await bill.switch("send_text_to_pay_sms", False)
    friendly, firm, _ = timeline.follow_ups
    await clock.sleep_until(_at(friendly) + timedelta(minutes=1))
    assert (await bill.row(invoice["id"])).status == "overdue"
    assert len(timeline.reminders()) == 1 and len(bill.texts()) == 1  # the email; no follow-up text
    skipped = [a for a in await bill.actions(invoice["id"]) if a.outcome == "skipped"]
    assert [a.reason for a in skipped] == ["Text-to-Pay SMS is switched off"]

    voided = await timeline.handle.execute_update(InvoiceWorkflow.void, StatusChangeInput(actor="user:test"))
    assert voided.status == "void"
    assert await timeline.handle.result() == "void"
    await clock.sleep_until(_at(firm) + timedelta(days=10))
    assert len(timeline.reminders()) == 1
    assert not [t for t in bill.texts() if "thank you" in t.body]


def test_follow_ups_fall_on_weekdays_at_half_past_nine_and_overdue_starts_after_the_due_date():
    # Due Thursday, February 5, 2026: overdue from midnight; +3 is Sunday (so Monday), +7 and +14 Thursdays.
    planned = planned_follow_ups(date(2026, 2, 5), "America/Chicago")
    assert [datetime.fromisoformat(p.at) for p in planned] == [
        datetime(2026, 2, 9, 15, 30, tzinfo=UTC),
        datetime(2026, 2, 12, 15, 30, tzinfo=UTC),
        datetime(2026, 2, 19, 15, 30, tzinfo=UTC),
    ]
    assert overdue_at(date(2026, 2, 5), "America/Chicago") == datetime(2026, 2, 6, 6, 0, tzinfo=UTC)
