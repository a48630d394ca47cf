"""QuickBooks Online two-way sync (Workflow 8): connecting through the consent page, pushes through the
company's workflow, pulls of customers and payments, a timeout and an outage that lose nothing, rotating
refresh tokens, conflicts on a stale SyncToken. Real PostgreSQL, the real worker and Temporal, the real
intuit-oauth and python-quickbooks against the sandbox's QuickBooks stand-in."""

import asyncio
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import pytest
import requests
from intuitlib.exceptions import AuthClientError
from sqlmodel import select
from temporalio.testing import ActivityEnvironment

from activities.quickbooks import PushInput, QuickBooksActivities
from activities.quickbooks_client import refreshed, reveal, token_cipher
from activities.quickbooks_link import Tokens
from models.base import utcnow
from models.invoices import Payment
from models.logs import ActionLog, AuditLog
from models.quickbooks import QuickBooksConnection
from settings import TASK_QUEUE
from workflows.quickbooks import QuickBooksScheduleWorkflow, QuickBooksSyncWorkflow


@pytest.fixture
async def office(tenant, healthy_sandbox):
    """The owner, signed in, with the company connected to a new sandbox QuickBooks company."""
    owner = await tenant.client("owner")
    back = await _connect(owner)
    assert back.status_code == 303 and back.headers["location"] == "/settings/quickbooks?connected=1"
    return owner


async def _connect(owner: httpx.AsyncClient) -> httpx.Response:
    """Through QuickBooks' consent page as a person would: our link, Connect, back to our callback."""
    link = await owner.get("/v1/quickbooks/connect")
    assert link.status_code == 200, link.text
    url = link.json()["authorization_url"]
    async with httpx.AsyncClient() as browser:
        consent = await browser.get(url)
        assert consent.status_code == 200 and "wants to connect" in consent.text
        answer = await browser.post(url, data={"decision": "connect", "company": "new"})
    assert answer.status_code == 303
    callback = urlsplit(answer.headers["location"])
    assert callback.path == "/quickbooks/callback"
    # The same browser, signed in, comes back to us.
    return await owner.get(f"{callback.path}?{callback.query}")


async def _switch_on(owner) -> None:
    assert (await owner.put("/v1/automations/quickbooks_sync", json={"enabled": True})).status_code == 200


async def _switch_off(owner) -> None:
    assert (await owner.put("/v1/automations/quickbooks_sync", json={"enabled": False})).status_code == 200


async def _settled(temporal_env, tenant) -> None:
    """Wait until the company's QuickBooks workflow has nothing left to do."""
    handle = temporal_env.client.get_workflow_handle(f"quickbooks-{tenant.company_id}")
    for _ in range(600):
        backlog = await handle.query(QuickBooksSyncWorkflow.backlog)
        if not (backlog.pushes or backlog.syncs or backlog.busy):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"QuickBooks workflow still busy: {backlog}")


async def _realm(owner) -> str:
    return (await owner.get("/v1/quickbooks")).json()["realm_id"]


async def _books(sandbox, owner, entity: str) -> list[dict]:
    """What the QuickBooks company holds, as its bookkeeper sees it."""
    async with httpx.AsyncClient() as http:
        answer = await http.get(f"{sandbox.public_url}/quickbooks/_companies/{await _realm(owner)}/{entity}")
    return answer.json()


async def _bookkeeper(sandbox, owner, path: str, body: dict) -> dict:
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"{sandbox.public_url}/quickbooks/_companies/{await _realm(owner)}/{path}", json=body
        )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def _ledger(owner, **filters) -> list[dict]:
    return (await owner.get("/v1/quickbooks/ledger", params=filters)).json()["data"]


async def _customer(owner, name: str, **fields) -> str:
    created = await owner.post("/v1/customers", json={"name": name, **fields})
    assert created.status_code == 201, created.text
    return created.json()["id"]


async def _invoice(owner, customer_id: str, *prices: int) -> dict:
    lines = [{"description": f"Repair {i}", "unit_price_cents": price} for i, price in enumerate(prices)]
    created = await owner.post("/v1/invoices", json={"customer_id": customer_id, "line_items": lines})
    assert created.status_code == 201, created.text
    return created.json()


async def test_connecting_through_the_consent_page_keeps_the_tokens_encrypted(
    tenant, office, sessions, settings
):
    status = (await office.get("/v1/quickbooks")).json()
    assert status["connected"] and status["realm_id"].startswith("9341")
    assert status["failed"] == status["conflicts"] == 0 and not status["automation_enabled"]
    async with sessions() as session:
        connection = await session.get(QuickBooksConnection, tenant.company_id)
    cipher = token_cipher(settings.secret_key)
    access, refresh = reveal(cipher, connection.access_token), reveal(cipher, connection.refresh_token)
    assert access not in connection.access_token and refresh not in connection.refresh_token
    assert connection.connected_by_id == tenant.users["owner"].id

    # Only the owner or admin who started it finishes it; the link is signed.
    assert (await (await tenant.client("manager")).get("/v1/quickbooks/connect")).status_code == 403
    forged = await office.get("/quickbooks/callback?state=forged&code=x&realmId=1")
    assert forged.status_code == 303 and "problem=" in forged.headers["location"]

    assert (await office.delete("/v1/quickbooks")).status_code == 204
    assert not (await office.get("/v1/quickbooks")).json()["connected"]
    with pytest.raises(AuthClientError):  # revoked at QuickBooks too
        await asyncio.to_thread(refreshed, settings, refresh)


async def test_customer_invoice_and_payment_are_pushed_once_each(
    tenant, office, sandbox, temporal_env, sessions
):
    await _switch_on(office)
    customer_id = await _customer(
        office,
        "Ada Lovelace",
        email="ada@example.com",
        phone="512-555-0101",
        address="12 Oak St",
        city="Austin",
    )
    invoice = await _invoice(office, customer_id, 18_900, 5_000)
    assert (await office.post(f"/v1/invoices/{invoice['id']}/mark-sent")).status_code == 200
    paid = await office.post(
        f"/v1/invoices/{invoice['id']}/mark-paid", json={"method": "check", "reference": "1042"}
    )
    assert paid.status_code == 200 and paid.json()["status"] == "paid"
    await _settled(temporal_env, tenant)

    [customer] = await _books(sandbox, office, "customer")
    assert customer["DisplayName"] == "Ada Lovelace"
    assert customer["PrimaryEmailAddr"]["Address"] == "ada@example.com"
    assert customer["BillAddr"] == {"Line1": "12 Oak St", "City": "Austin"}
    [booked] = await _books(sandbox, office, "invoice")
    assert booked["DocNumber"] == str(invoice["number"]) and booked["CustomerRef"]["value"] == customer["Id"]
    assert round(booked["TotalAmt"] * 100) == invoice["total_cents"] and booked["Balance"] == 0
    [payment] = await _books(sandbox, office, "payment")
    assert round(payment["TotalAmt"] * 100) == invoice["total_cents"] and payment["PaymentRefNum"] == "1042"

    rows = await _ledger(office, direction="push")
    assert sorted((r["entity_type"], r["action"], r["status"]) for r in rows) == [
        ("customer", "create", "ok"),
        ("invoice", "create", "ok"),
        ("payment", "create", "ok"),
    ]
    async with sessions() as session:
        sent = await session.exec(
            select(ActionLog.action).where(
                ActionLog.company_id == tenant.company_id, ActionLog.outcome == "sent"
            )
        )
    assert {"push_customer_to_quickbooks", "push_invoice_to_quickbooks", "push_payment_to_quickbooks"} <= set(
        sent.all()
    )

    # A change here goes over as a sparse update of what changed.
    assert (
        await office.patch(f"/v1/customers/{customer_id}", json={"phone": "512-555-0199"})
    ).status_code == 200
    await _settled(temporal_env, tenant)
    [customer] = await _books(sandbox, office, "customer")
    assert customer["PrimaryPhone"]["FreeFormNumber"] == "+15125550199" and customer["SyncToken"] == "1"
    assert (await _ledger(office, entity_id=customer_id))[0]["action"] == "update"


async def test_the_first_full_sync_brings_quickbooks_up_to_date_with_what_was_here_before(
    tenant, healthy_sandbox, temporal_env
):
    owner = await tenant.client("owner")
    customer_id = await _customer(owner, "Grace Hopper", email="grace@example.com")
    invoice = await _invoice(owner, customer_id, 42_000)
    assert (await _connect(owner)).status_code == 303
    await _switch_on(owner)
    assert (await owner.post("/v1/quickbooks/sync")).status_code == 202
    await _settled(temporal_env, tenant)

    [customer] = await _books(healthy_sandbox, owner, "customer")
    assert customer["DisplayName"] == "Grace Hopper"
    [booked] = await _books(healthy_sandbox, owner, "invoice")
    assert booked["DocNumber"] == str(invoice["number"]) and booked["CustomerRef"]["value"] == customer["Id"]
    assert (await owner.post("/v1/quickbooks/sync")).status_code == 202  # a second sync has nothing to add
    await _settled(temporal_env, tenant)
    assert len(await _books(healthy_sandbox, owner, "customer")) == 1
    assert len(await _books(healthy_sandbox, owner, "invoice")) == 1


async def test_same_named_customers_stay_two_both_ways(tenant, office, sandbox, temporal_env):
    await _switch_on(office)
    await _customer(office, "Sam Rivera")
    second = await _customer(office, "Sam Rivera")
    await _settled(temporal_env, tenant)
    names = [c["DisplayName"] for c in await _books(sandbox, office, "customer")]
    assert names == ["Sam Rivera", f"Sam Rivera ({uuid.UUID(second).hex[:6]})"]  # pushed in order

    # The bookkeeper adds a customer whose name NexJob already has: it comes in as a customer of its own.
    await _bookkeeper(
        sandbox,
        office,
        "customer",
        {"DisplayName": "Lee Park", "PrimaryPhone": {"FreeFormNumber": "(512) 555-0142"}},
    )
    ours = await _customer(office, "Lee Park")
    await _settled(temporal_env, tenant)
    assert (await office.post("/v1/quickbooks/pull-customers")).status_code == 202
    await _settled(temporal_env, tenant)
    lees = (await office.get("/v1/customers", params={"q": "Lee Park"})).json()["data"]
    assert len(lees) == 2
    imported = next(c for c in lees if c["id"] != ours)
    assert imported["phone"] == "+15125550142"
    sams = (await office.get("/v1/customers", params={"q": "Sam Rivera"})).json()["data"]
    assert len(sams) == 2  # ours, pushed and mapped: not imported back
    assert len(await _books(sandbox, office, "customer")) == 4  # two Sams and two Lees there as well

    # Mapped customers edited in QuickBooks refresh email, phone and address here; pulling again adds nobody.
    sam = next(c for c in await _books(sandbox, office, "customer") if c["DisplayName"] == "Sam Rivera")
    await _bookkeeper(
        sandbox,
        office,
        f"customer/{sam['Id']}",
        {
            "PrimaryEmailAddr": {"Address": "sam@example.com"},
            "BillAddr": {"Line1": "9 Elm St", "City": "Round Rock"},
        },
    )
    assert (await office.post("/v1/quickbooks/pull-customers")).status_code == 202
    await _settled(temporal_env, tenant)
    sams = (await office.get("/v1/customers", params={"q": "Sam Rivera"})).json()["data"]
    refreshed_sam = next(c for c in sams if c["email"])
    assert (refreshed_sam["email"], refreshed_sam["address"], refreshed_sam["city"]) == (
        "sam@example.com",
        "9 Elm St",
        "Round Rock",
    )
    assert len((await office.get("/v1/customers")).json()["data"]) == 4
    pulled = await _ledger(office, direction="pull")
    assert sorted(r["action"] for r in pulled) == ["import", "refresh"]


async def test_a_payment_recorded_in_quickbooks_marks_the_invoice_paid_and_is_not_sent_back(
    tenant, office, sandbox, temporal_env, sessions
):
    await _switch_on(office)
    invoice = await _invoice(office, await _customer(office, "Pat Doe"), 20_000)
    await office.post(f"/v1/invoices/{invoice['id']}/mark-sent")
    await _settled(temporal_env, tenant)
    [booked] = await _books(sandbox, office, "invoice")
    await _bookkeeper(sandbox, office, f"invoice/{booked['Id']}/payment", {})

    assert (await office.post("/v1/quickbooks/sync")).status_code == 202
    await _settled(temporal_env, tenant)
    paid = (await office.get(f"/v1/invoices/{invoice['id']}")).json()
    assert paid["status"] == "paid" and paid["balance_due_cents"] == 0
    [payment] = (await office.get(f"/v1/invoices/{invoice['id']}/payments")).json()
    assert payment["amount_cents"] == invoice["total_cents"] and payment["reference"].startswith(
        "QuickBooks payment"
    )
    async with sessions() as session:
        audit = await session.exec(
            select(AuditLog.actor).where(
                AuditLog.entity_id == uuid.UUID(invoice["id"]), AuditLog.action == "record_payment"
            )
        )
    assert audit.all() == ["quickbooks"]

    # The invoice's own push after it was paid, and another full sync, send nothing back.
    assert (await office.post("/v1/quickbooks/sync")).status_code == 202
    await _settled(temporal_env, tenant)
    assert len(await _books(sandbox, office, "payment")) == 1
    assert [r for r in await _ledger(office, direction="push") if r["entity_type"] == "payment"] == []
    assert len((await office.get(f"/v1/invoices/{invoice['id']}/payments")).json()) == 1
    assert (await office.get("/v1/quickbooks")).json()["last_sync_at"] is not None


async def test_a_push_retried_after_a_timeout_creates_one_quickbooks_record(
    tenant, office, sandbox, sessions, settings
):
    # Off: the API's own push is skipped, and this test drives the activity itself.
    customer_id = await _customer(office, "Timeout Tess")
    push = PushInput(
        str(tenant.company_id), "customer", customer_id, step="test/push-1", key=f"test/{uuid.uuid4()}"
    )
    sandbox.controls.set("quickbooks", "timeout", times=1, seconds=1.5)
    impatient = QuickBooksActivities(sessions, settings, timeout=0.5)
    with pytest.raises(requests.Timeout):  # the answer was lost; QuickBooks still does the work
        await ActivityEnvironment().run(impatient.push_record, push)
    [row] = await _ledger(office, entity_id=customer_id)
    assert row["status"] == "retrying"
    retried = await ActivityEnvironment().run(QuickBooksActivities(sessions, settings).push_record, push)
    await asyncio.sleep(1.5)  # the held first request finishes on the sandbox
    assert retried.outcome == "create"
    tesses = [c for c in await _books(sandbox, office, "customer") if c["DisplayName"] == "Timeout Tess"]
    assert [c["Id"] for c in tesses] == [retried.qbo_id]
    [row] = await _ledger(office, entity_id=customer_id)
    assert (row["status"], row["attempts"]) == ("ok", 2)


async def test_refresh_tokens_rotate_and_the_new_one_is_saved_before_use(
    tenant, office, sandbox, sessions, settings
):
    cipher = token_cipher(settings.secret_key)

    async def stored() -> QuickBooksConnection:
        async with sessions() as session:
            return await session.get(QuickBooksConnection, tenant.company_id)

    first = reveal(cipher, (await stored()).refresh_token)
    # QuickBooks ended the access token early: the call is refused, refreshed once, made again.
    async with httpx.AsyncClient() as http:
        await http.post(
            f"{sandbox.public_url}/quickbooks/_tokens/expire", json={"realm_id": await _realm(office)}
        )
    customer_id = await _customer(office, "Rotating Rae")
    push = PushInput(
        str(tenant.company_id), "customer", customer_id, step="test/push-1", key=f"test/{uuid.uuid4()}"
    )
    assert (
        await ActivityEnvironment().run(QuickBooksActivities(sessions, settings).push_record, push)
    ).outcome == "create"
    second = reveal(cipher, (await stored()).refresh_token)
    assert second != first
    with pytest.raises(AuthClientError):  # the spent one no longer works
        await asyncio.to_thread(refreshed, settings, first)

    # Two workers finding the access token at its end refresh once between them: the second waits for
    # the first's new tokens instead of spending the rotated refresh token again.
    async with sessions() as session, session.begin():
        connection = await session.get(QuickBooksConnection, tenant.company_id)
        connection.access_expires_at = utcnow() - timedelta(minutes=1)
    both = await asyncio.gather(
        Tokens(sessions, settings).access_token(tenant.company_id),
        Tokens(sessions, settings).access_token(tenant.company_id),
    )
    assert both[0] == both[1]
    connection = await stored()
    assert connection.problem is None and reveal(cipher, connection.refresh_token) != second
    assert connection.access_expires_at > utcnow() + timedelta(minutes=50)


async def test_an_edit_in_quickbooks_is_a_conflict_the_office_resolves_by_retry_even_with_the_automation_off(
    tenant, office, sandbox, temporal_env, sessions
):
    await _switch_on(office)
    customer_id = await _customer(office, "Conflict Cam", phone="512-555-0111")
    await _settled(temporal_env, tenant)
    [cam] = await _books(sandbox, office, "customer")
    await _bookkeeper(
        sandbox, office, f"customer/{cam['Id']}", {"PrimaryPhone": {"FreeFormNumber": "512-555-0999"}}
    )

    await office.patch(f"/v1/customers/{customer_id}", json={"email": "cam@example.com"})
    await _settled(temporal_env, tenant)
    [conflict] = await _ledger(office, status="conflict")
    assert conflict["entity_id"] == customer_id and "Stale Object" in conflict["error"]
    [cam] = await _books(sandbox, office, "customer")
    assert cam["PrimaryPhone"]["FreeFormNumber"] == "512-555-0999"  # theirs, not overwritten
    assert "PrimaryEmailAddr" not in cam
    assert (await office.get("/v1/quickbooks")).json()["conflicts"] == 1

    # The office decides: its retry goes with the automation switched off, logged as the owner's.
    await _switch_off(office)
    assert (await office.post(f"/v1/quickbooks/ledger/{conflict['id']}/retry")).status_code == 202
    await _settled(temporal_env, tenant)
    [cam] = await _books(sandbox, office, "customer")
    assert cam["PrimaryEmailAddr"]["Address"] == "cam@example.com"
    assert cam["PrimaryPhone"]["FreeFormNumber"] == "+15125550111"  # the office chose ours
    resolved = next(r for r in await _ledger(office) if r["id"] == conflict["id"])
    assert (resolved["status"], resolved["action"], resolved["error"]) == ("ok", "overwrite", None)
    assert (await office.get("/v1/quickbooks")).json()["conflicts"] == 0
    async with sessions() as session:
        logged = (
            await session.exec(
                select(ActionLog)
                .where(ActionLog.entity_id == uuid.UUID(customer_id))
                .order_by(ActionLog.created_at.desc())
            )
        ).first()
    assert (logged.action, logged.outcome, logged.automation_key) == (
        "push_customer_to_quickbooks",
        "sent",
        None,
    )
    assert logged.reason.endswith(f"asked for by user:{tenant.users['owner'].email}")
    refused = await office.post(f"/v1/quickbooks/ledger/{conflict['id']}/retry")
    assert refused.status_code == 409


async def test_a_pull_keeps_unpushed_edits_here_and_shows_fields_edited_on_both_sides_as_a_conflict(
    tenant, office, sandbox, temporal_env
):
    await _switch_on(office)
    customer_id = await _customer(
        office, "Merge Mia", phone="512-555-0101", address="1 Main St", city="Austin"
    )
    await _settled(temporal_env, tenant)
    [mia] = await _books(sandbox, office, "customer")
    await _switch_off(office)  # the office's edits stay here, not pushed yet
    edits = {"email": "mia@example.com", "phone": "512-555-0202"}
    assert (await office.patch(f"/v1/customers/{customer_id}", json=edits)).status_code == 200
    # Meanwhile in QuickBooks: the phone too, a new city, the street cleared (the bookkeeper means it).
    await _bookkeeper(
        sandbox,
        office,
        f"customer/{mia['Id']}",
        {"PrimaryPhone": {"FreeFormNumber": "512-555-0303"}, "BillAddr": {"City": "Round Rock"}},
    )

    async def ours() -> tuple:
        found = (await office.get(f"/v1/customers/{customer_id}")).json()
        return found["email"], found["phone"], found["address"], found["city"]

    kept = ("mia@example.com", "+15125550202", None, "Round Rock")
    assert (await office.post("/v1/quickbooks/sync")).status_code == 202  # by hand, the automation off
    await _settled(temporal_env, tenant)
    assert await ours() == kept  # an empty email in QuickBooks blanks nothing: it never had one
    [conflict] = await _ledger(office, status="conflict")
    assert (conflict["entity_id"], conflict["direction"]) == (customer_id, "pull")
    assert conflict["error"].startswith("phone changed here and in QuickBooks")
    assert (await office.get("/v1/quickbooks")).json()["conflicts"] == 1
    assert f"/v1/quickbooks/ledger/{conflict['id']}/retry" in (await office.get("/settings/quickbooks")).text

    # The hourly sync (automation on) pushes nothing over theirs and takes nothing over ours.
    await _switch_on(office)
    await temporal_env.client.execute_workflow(
        QuickBooksScheduleWorkflow.run, id=f"quickbooks-sync-test-{uuid.uuid4()}", task_queue=TASK_QUEUE
    )
    await _settled(temporal_env, tenant)
    assert await ours() == kept
    [mia] = await _books(sandbox, office, "customer")
    assert mia["PrimaryPhone"]["FreeFormNumber"] == "512-555-0303" and "PrimaryEmailAddr" not in mia
    assert [r["id"] for r in await _ledger(office, status="conflict")] == [conflict["id"]]

    # The office chooses ours: QuickBooks gets our email and phone, and keeps the city it was given.
    assert (await office.post(f"/v1/quickbooks/ledger/{conflict['id']}/retry")).status_code == 202
    await _settled(temporal_env, tenant)
    [mia] = await _books(sandbox, office, "customer")
    assert mia["PrimaryEmailAddr"]["Address"] == "mia@example.com"
    assert mia["PrimaryPhone"]["FreeFormNumber"] == "+15125550202"
    assert mia["BillAddr"] == {"Line1": "", "City": "Round Rock"}
    assert (await office.get("/v1/quickbooks")).json()["conflicts"] == 0


async def test_an_old_conflict_is_not_retried_over_a_newer_sync_of_the_record(
    tenant, office, sandbox, temporal_env
):
    await _switch_on(office)
    customer_id = await _customer(office, "Stale Stu", phone="512-555-0111")
    await _settled(temporal_env, tenant)
    [stu] = await _books(sandbox, office, "customer")
    await _bookkeeper(
        sandbox, office, f"customer/{stu['Id']}", {"PrimaryPhone": {"FreeFormNumber": "512-555-0999"}}
    )
    await office.patch(f"/v1/customers/{customer_id}", json={"email": "stu@example.com"})
    await _settled(temporal_env, tenant)
    [conflict] = await _ledger(office, status="conflict")

    # A pull since took the bookkeeper's phone and kept our email: the conflict is history.
    assert (await office.post("/v1/quickbooks/pull-customers")).status_code == 202
    await _settled(temporal_env, tenant)
    stu_here = (await office.get(f"/v1/customers/{customer_id}")).json()
    assert (stu_here["phone"], stu_here["email"]) == ("+15125550999", "stu@example.com")
    assert (await office.get("/v1/quickbooks")).json()["conflicts"] == 0
    page = await office.get("/settings/quickbooks")
    assert page.status_code == 200 and f"/v1/quickbooks/ledger/{conflict['id']}/retry" not in page.text
    refused = await office.post(f"/v1/quickbooks/ledger/{conflict['id']}/retry")
    assert refused.status_code == 409 and refused.json()["detail"] == "a newer sync of this record exists"

    # Nothing waits for the office now: the next full sync sends our email onto QuickBooks' latest version.
    assert (await office.post("/v1/quickbooks/sync")).status_code == 202
    await _settled(temporal_env, tenant)
    [stu] = await _books(sandbox, office, "customer")
    assert stu["PrimaryEmailAddr"]["Address"] == "stu@example.com"
    assert stu["PrimaryPhone"]["FreeFormNumber"] == "512-555-0999"


async def test_an_invoice_voided_here_is_voided_in_quickbooks_once_even_when_the_push_is_retried(
    tenant, office, sandbox, temporal_env, sessions, settings
):
    await _switch_on(office)
    invoice = await _invoice(office, await _customer(office, "Void Vic"), 12_500)
    await _settled(temporal_env, tenant)
    await _switch_off(office)  # the void's own push is skipped: this test drives it
    assert (await office.post(f"/v1/invoices/{invoice['id']}/void")).status_code == 200
    await _settled(temporal_env, tenant)

    push = PushInput(
        str(tenant.company_id), "invoice", invoice["id"], step="test/void-1", key=f"test/{uuid.uuid4()}"
    )
    sandbox.controls.set("quickbooks", "timeout", times=1, seconds=1.5)
    with pytest.raises(requests.Timeout):  # the answer was lost; QuickBooks still voids it
        await ActivityEnvironment().run(
            QuickBooksActivities(sessions, settings, timeout=0.5).push_record, push
        )
    retried = await ActivityEnvironment().run(QuickBooksActivities(sessions, settings).push_record, push)
    await asyncio.sleep(1.5)  # the held first request finishes on the sandbox
    assert retried.outcome == "void"
    [booked] = await _books(sandbox, office, "invoice")
    assert (booked["TotalAmt"], booked["Balance"], booked["PrivateNote"]) == (0, 0, "Voided")
    assert booked["SyncToken"] == "1"  # voided once
    [row] = [r for r in await _ledger(office, entity_id=invoice["id"]) if r["action"] == "void"]
    assert (row["status"], row["attempts"], row["qbo_id"]) == ("ok", 2, booked["Id"])

    again = PushInput(str(tenant.company_id), "invoice", invoice["id"], step="test/void-2", key="test/void-2")
    assert (
        await ActivityEnvironment().run(QuickBooksActivities(sessions, settings).push_record, again)
    ).outcome == ("unchanged")
    assert (await _books(sandbox, office, "invoice"))[0]["SyncToken"] == "1"


async def test_a_payment_refused_here_waits_for_nobody_and_the_void_reaches_quickbooks_later(
    tenant, office, sandbox, temporal_env
):
    await _switch_on(office)
    invoice = await _invoice(office, await _customer(office, "Refused Rory"), 8_000)
    await office.post(f"/v1/invoices/{invoice['id']}/mark-sent")
    await _settled(temporal_env, tenant)
    await _switch_off(office)
    assert (await office.post(f"/v1/invoices/{invoice['id']}/void")).status_code == 200
    await _settled(temporal_env, tenant)
    [booked] = await _books(sandbox, office, "invoice")
    await _bookkeeper(sandbox, office, f"invoice/{booked['Id']}/payment", {})  # before the void got there

    assert (await office.post("/v1/quickbooks/pull-payments")).status_code == 202
    await _settled(temporal_env, tenant)
    [refused] = await _ledger(office, status="failed")
    assert refused["direction"] == "pull" and "void" in refused["error"]
    assert (await office.get("/v1/quickbooks")).json()["failed"] == 0  # nothing the office can retry
    assert (await office.post(f"/v1/quickbooks/ledger/{refused['id']}/retry")).status_code == 409
    assert (await office.get(f"/v1/invoices/{invoice['id']}")).json()["status"] == "void"

    # Switched on, the next full sync voids QuickBooks' copy too, which unlinks the payment there.
    await _switch_on(office)
    assert (await office.post("/v1/quickbooks/sync")).status_code == 202
    await _settled(temporal_env, tenant)
    [booked] = await _books(sandbox, office, "invoice")
    assert (booked["TotalAmt"], booked["PrivateNote"], booked["LinkedTxn"]) == (0, "Voided", [])
    [payment] = await _books(sandbox, office, "payment")
    assert payment["Line"] == [] and payment["UnappliedAmt"] == payment["TotalAmt"]
    assert (await office.get(f"/v1/invoices/{invoice['id']}/payments")).json() == []


async def test_an_invoice_whose_token_moved_only_with_a_payment_is_updated_without_conflict(
    tenant, office, sandbox, temporal_env
):
    await _switch_on(office)
    invoice = await _invoice(office, await _customer(office, "Partial Pia"), 10_000)
    await _settled(temporal_env, tenant)
    [booked] = await _books(sandbox, office, "invoice")
    await _bookkeeper(sandbox, office, f"invoice/{booked['Id']}/payment", {"amount": 10})
    line = {"description": "Repair 0", "unit_price_cents": 12_000}
    assert (
        await office.patch(f"/v1/invoices/{invoice['id']}", json={"line_items": [line]})
    ).status_code == 200
    await _settled(temporal_env, tenant)
    [booked] = await _books(sandbox, office, "invoice")
    assert booked["Line"][0]["Amount"] == 120.0 and booked["Balance"] == round(booked["TotalAmt"] - 10, 2)
    assert await _ledger(office, status="conflict") == []


async def test_a_quickbooks_outage_is_retried_until_it_comes_back_with_nothing_lost(
    tenant, office, sandbox, temporal_env
):
    await _switch_on(office)
    sandbox.controls.set("quickbooks", "down")
    customer_id = await _customer(office, "Outage Olu")
    invoice = await _invoice(office, customer_id, 7_500)
    for _ in range(100):
        if any(r["status"] == "retrying" for r in await _ledger(office)):
            break
        await asyncio.sleep(0.1)
    retrying = await _ledger(office, status="retrying")
    assert retrying and "Service Unavailable" in retrying[0]["error"]
    assert (await office.get("/v1/quickbooks")).json()["failed"] == 0  # nothing for the office: it retries

    sandbox.controls.reset()
    await _settled(temporal_env, tenant)
    assert [c["DisplayName"] for c in await _books(sandbox, office, "customer")] == ["Outage Olu"]
    [booked] = await _books(sandbox, office, "invoice")
    assert booked["DocNumber"] == str(invoice["number"])
    rows = await _ledger(office, direction="push")
    assert {r["status"] for r in rows} == {"ok"} and max(r["attempts"] for r in rows) > 1


async def test_with_the_automation_off_pushes_are_skipped_and_logged(
    tenant, office, sandbox, temporal_env, sessions
):
    customer_id = await _customer(office, "Quiet Quinn")
    await _settled(temporal_env, tenant)
    assert await _books(sandbox, office, "customer") == []
    async with sessions() as session:
        skipped = (
            await session.exec(select(ActionLog).where(ActionLog.entity_id == uuid.UUID(customer_id)))
        ).all()
    assert [(a.action, a.outcome, a.reason) for a in skipped] == [
        ("push_customer_to_quickbooks", "skipped", "QuickBooks Sync is switched off")
    ]

    # Switched on later, the hourly full sync finds the customer pending and pushes it.
    await _switch_on(office)
    asked = await temporal_env.client.execute_workflow(
        QuickBooksScheduleWorkflow.run, id=f"quickbooks-sync-test-{uuid.uuid4()}", task_queue=TASK_QUEUE
    )
    assert asked >= 1
    await _settled(temporal_env, tenant)
    assert [c["DisplayName"] for c in await _books(sandbox, office, "customer")] == ["Quiet Quinn"]


async def test_payments_pulled_never_record_twice_when_the_pull_repeats(
    tenant, office, sandbox, temporal_env, sessions
):
    await _switch_on(office)
    invoice = await _invoice(office, await _customer(office, "Twice Tam"), 30_000)
    await office.post(f"/v1/invoices/{invoice['id']}/mark-sent")
    await _settled(temporal_env, tenant)
    [booked] = await _books(sandbox, office, "invoice")
    await _bookkeeper(sandbox, office, f"invoice/{booked['Id']}/payment", {"amount": 100})
    for _ in range(2):
        assert (await office.post("/v1/quickbooks/pull-payments")).status_code == 202
        await _settled(temporal_env, tenant)
    # The cursor moved on; a pull that reads everything again (as the first does) takes it once as well.
    async with sessions() as session, session.begin():
        connection = await session.get(QuickBooksConnection, tenant.company_id)
        connection.payments_pulled_at = None
    assert (await office.post("/v1/quickbooks/pull-payments")).status_code == 202
    await _settled(temporal_env, tenant)
    async with sessions() as session:
        payments = (
            await session.exec(select(Payment).where(Payment.invoice_id == uuid.UUID(invoice["id"])))
        ).all()
    assert [p.amount_cents for p in payments] == [10_000]
    assert len(await _books(sandbox, office, "payment")) == 1  # not sent back
    assert (await office.get(f"/v1/invoices/{invoice['id']}")).json()[
        "status"
    ] == "sent"  # part paid: still open
