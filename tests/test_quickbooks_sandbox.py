"""The QuickBooks Online stand-in, driven by intuit-oauth and python-quickbooks exactly as NexJob builds them
(`activities.clients.quickbooks_endpoints`): the consent flow, token rotation and expiry, the v3 API's
records, Faults, requestid replays, change data capture, the bookkeeper's side and outages.

The SDKs block and the sandbox serves from this event loop, so every SDK call runs in a thread.
"""

import asyncio
import json
import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from intuitlib.client import AuthClient
from intuitlib.enums import Scopes
from intuitlib.exceptions import AuthClientError
from quickbooks import QuickBooks
from quickbooks.cdc import change_data_capture
from quickbooks.exceptions import (
    AuthorizationException,
    ObjectNotFoundException,
    QuickbooksException,
    SevereException,
    ValidationException,
)
from quickbooks.objects.company_info import CompanyInfo
from quickbooks.objects.customer import Customer
from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.item import Item
from quickbooks.objects.payment import Payment, PaymentLine

from activities.clients import QuickBooksEndpoints, quickbooks_endpoints
from sandbox.quickbooks.wire import now
from settings import Settings

REDIRECT_URI = "http://127.0.0.1:9/v1/quickbooks/callback"  # never called: the test reads the redirect
ACCOUNTING = [Scopes.ACCOUNTING]

run = asyncio.to_thread


@pytest.fixture(autouse=True)
def plain_http_for_oauthlib(monkeypatch):
    # requests-oauthlib refuses http:// unless told; the sandbox is served over plain http.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


@pytest.fixture
def endpoints(healthy_sandbox) -> QuickBooksEndpoints:
    return quickbooks_endpoints(Settings(sandbox_url=healthy_sandbox.public_url, quickbooks_client_id=""))


async def authorize(endpoints: QuickBooksEndpoints, scopes=ACCOUNTING, decision="connect", company="new"):
    """intuit-oauth's client and the query of the redirect after answering the consent page."""
    auth = await run(
        AuthClient, endpoints.client_id, endpoints.client_secret, REDIRECT_URI, endpoints.discovery_url
    )
    url = auth.get_authorization_url(scopes)
    async with httpx.AsyncClient() as http:
        page = await http.get(url)
        assert page.status_code == 200 and "NexJob wants to connect" in page.text
        answer = await http.post(url, data={"decision": decision, "company": company})
    assert answer.status_code == 303
    location = answer.headers["location"]
    assert location.startswith(REDIRECT_URI)
    return auth, {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def connect(endpoints: QuickBooksEndpoints, scopes=ACCOUNTING, company="new") -> AuthClient:
    auth, redirect = await authorize(endpoints, scopes, company=company)
    await run(auth.get_bearer_token, redirect["code"], redirect["realmId"])
    return auth


def books(auth: AuthClient, endpoints: QuickBooksEndpoints) -> QuickBooks:
    client = QuickBooks(
        auth_client=auth, refresh_token=auth.refresh_token, company_id=auth.realm_id, minorversion=75
    )
    client.api_url_v3 = endpoints.api_url_v3
    return client


async def bookkeeper(sandbox_url: str, method: str, path: str, **kwargs) -> httpx.Response:
    async with httpx.AsyncClient(base_url=f"{sandbox_url}/quickbooks") as http:
        return await http.request(method, path, **kwargs)


def new_customer(name: str, email: str | None = None) -> Customer:
    customer = Customer()
    customer.DisplayName = name
    if email:
        customer.PrimaryEmailAddr = {"Address": email}
    return customer


def unique(name: str) -> str:
    return f"{name} {uuid.uuid4().hex[:6]}"


async def invoice_for(qb: QuickBooks, customer: Customer, *amounts: float) -> Invoice:
    item = Item()
    item.Name, item.Type, item.UnitPrice = unique("Service call"), "Service", amounts[0]
    item = await run(item.save, qb=qb)
    invoice = Invoice()
    invoice.CustomerRef = customer.to_ref()
    for value in amounts:
        line = SalesItemLine()
        line.Amount = value
        line.SalesItemLineDetail = SalesItemLineDetail()
        line.SalesItemLineDetail.ItemRef = item.to_ref()
        line.SalesItemLineDetail.Qty, line.SalesItemLineDetail.UnitPrice = 1, value
        invoice.Line.append(line)
    return await run(invoice.save, qb=qb)


def payment_for(invoice: Invoice, value: float) -> Payment:
    payment = Payment()
    payment.CustomerRef = invoice.CustomerRef
    payment.TotalAmt = value
    line = PaymentLine()
    line.Amount = value
    line.LinkedTxn.append(invoice.to_linked_txn())
    payment.Line.append(line)
    return payment


# --- OAuth ------------------------------------------------------------------------------------------------


async def test_the_consent_page_connects_a_new_company_and_the_code_buys_tokens(endpoints, healthy_sandbox):
    auth, redirect = await authorize(endpoints, [Scopes.ACCOUNTING, Scopes.OPENID, Scopes.EMAIL])
    assert redirect["state"] == auth.state_token
    companies = (await bookkeeper(healthy_sandbox.public_url, "GET", "/_companies")).json()
    assert redirect["realmId"] in [c["realm_id"] for c in companies]

    await run(auth.get_bearer_token, redirect["code"], redirect["realmId"])
    assert auth.access_token and auth.refresh_token and auth.expires_in == 3600
    assert auth.id_token  # kept only once intuit-oauth checked its signature against the sandbox's keys
    info = (await run(auth.get_user_info)).json()
    assert info["email"] == "bookkeeper@sandbox.nexjob.dev"
    company = await run(CompanyInfo.get, auth.realm_id, qb=books(auth, endpoints))
    assert company.CompanyName == next(c["name"] for c in companies if c["realm_id"] == auth.realm_id)

    # A code works once.
    with pytest.raises(AuthClientError) as reused:
        await run(auth.get_bearer_token, redirect["code"], redirect["realmId"])
    assert reused.value.status_code == 400 and b"invalid_grant" in reused.value.content


async def test_cancel_on_the_consent_page_redirects_with_access_denied(endpoints, healthy_sandbox):
    auth, redirect = await authorize(endpoints, decision="cancel")
    assert redirect == {"error": "access_denied", "state": auth.state_token}


async def test_choosing_an_existing_company_reconnects_to_its_books(endpoints, healthy_sandbox):
    first = await connect(endpoints)
    again = await connect(endpoints, company=first.realm_id)
    assert again.realm_id == first.realm_id


async def test_a_refresh_rotates_the_refresh_token_and_the_used_one_is_refused(endpoints, healthy_sandbox):
    auth = await connect(endpoints)
    first_refresh, first_access = auth.refresh_token, auth.access_token
    await run(auth.refresh)
    assert auth.refresh_token != first_refresh and auth.access_token != first_access

    with pytest.raises(AuthClientError) as refused:
        await run(auth.refresh, first_refresh)
    assert refused.value.status_code == 400 and b"invalid_grant" in refused.value.content
    await run(auth.refresh)  # the rotated one still works, once


async def test_an_expired_access_token_is_refused_until_refreshed(endpoints, healthy_sandbox):
    auth = await connect(endpoints)
    qb = books(auth, endpoints)
    await run(Customer.all, qb=qb)

    expired = await bookkeeper(
        healthy_sandbox.public_url, "POST", "/_tokens/expire", json={"realm_id": auth.realm_id}
    )
    assert expired.json() == {"expired": 1}
    with pytest.raises(AuthorizationException) as refused:
        await run(Customer.all, qb=qb)
    assert refused.value.error_code == 401 and "AuthenticationFailed" in refused.value.detail

    await run(auth.refresh)
    assert await run(Customer.all, qb=books(auth, endpoints)) == []


async def test_revoking_a_token_disconnects_the_app(endpoints, healthy_sandbox):
    auth = await connect(endpoints)
    await run(auth.revoke)
    with pytest.raises(AuthorizationException):
        await run(Customer.all, qb=books(auth, endpoints))
    with pytest.raises(AuthClientError):
        await run(auth.refresh)


async def test_a_token_for_one_company_cannot_read_another(endpoints, healthy_sandbox):
    mine, theirs = await connect(endpoints), await connect(endpoints)
    qb = books(mine, endpoints)
    qb.company_id = theirs.realm_id
    with pytest.raises(QuickbooksException) as refused:
        await run(Customer.all, qb=qb)
    assert "403" in refused.value.message


# --- the v3 API -------------------------------------------------------------------------------------------


async def test_customers_are_created_read_updated_and_queried(endpoints, healthy_sandbox):
    qb = books(await connect(endpoints), endpoints)
    started = now()
    ada = await run(new_customer("Ada Lovelace", "ada@example.com").save, qb=qb)
    assert (ada.Id, ada.SyncToken, ada.DisplayName) == ("1", "0", "Ada Lovelace")
    assert ada.MetaData["CreateTime"] == ada.MetaData["LastUpdatedTime"]

    read = await run(Customer.get, ada.Id, qb=qb)
    assert read.PrimaryEmailAddr.Address == "ada@example.com" and read.Balance == 0

    read.PrimaryEmailAddr.Address = "countess@example.com"
    updated = await run(read.save, qb=qb)  # python-quickbooks sends a full update
    assert (updated.SyncToken, updated.PrimaryEmailAddr.Address) == ("1", "countess@example.com")

    sparse = {"Id": updated.Id, "SyncToken": updated.SyncToken, "sparse": True, "Notes": "Prefers mornings"}
    changed = (await run(qb.update_object, "Customer", json.dumps(sparse)))["Customer"]
    assert changed["SyncToken"] == "2" and changed["Notes"] == "Prefers mornings"
    assert changed["PrimaryEmailAddr"]["Address"] == "countess@example.com"  # a sparse update keeps the rest

    for name in ("Grace Hopper", "Alan Turing", "Edsger Dijkstra"):
        await run(new_customer(name).save, qb=qb)
    assert [c.DisplayName for c in await run(Customer.filter, DisplayName="grace hopper", qb=qb)] == [
        "Grace Hopper"
    ]
    page = await run(Customer.all, order_by="DisplayName", start_position=2, max_results=2, qb=qb)
    assert [c.DisplayName for c in page] == ["Alan Turing", "Edsger Dijkstra"]
    assert [c.Id for c in await run(Customer.where, "Id > '2'", qb=qb)] == ["3", "4"]
    recent = await run(Customer.where, f"MetaData.LastUpdatedTime >= '{started.isoformat()}'", qb=qb)
    assert len(recent) == 4
    assert await run(Customer.count, "DisplayName LIKE 'A%'", qb=qb) == 2
    assert [c.Id for c in await run(Customer.choose, ["1", "4"], qb=qb)] == ["1", "4"]


async def test_reading_a_missing_record_or_a_bad_query_raises_quickbooks_faults(endpoints, healthy_sandbox):
    qb = books(await connect(endpoints), endpoints)
    with pytest.raises(ObjectNotFoundException) as missing:
        await run(Customer.get, 999, qb=qb)
    assert missing.value.error_code == 610
    with pytest.raises(ValidationException) as bad:
        await run(Customer.query, "SELECT * FROM Customer WHERE DisplayName = 'x' OR Id = '1'", qb=qb)
    assert bad.value.error_code == 4000


async def test_a_write_replayed_with_its_requestid_creates_one_record(endpoints, healthy_sandbox):
    qb = books(await connect(endpoints), endpoints)
    first = await run(new_customer("Retry Rita").save, qb=qb, request_id="customer-42-create")
    again = await run(new_customer("Retry Rita").save, qb=qb, request_id="customer-42-create")
    assert again.Id == first.Id and again.MetaData == first.MetaData
    assert len(await run(Customer.all, qb=qb)) == 1

    other = await run(new_customer("Retry Rita 2").save, qb=qb, request_id="customer-43-create")
    assert other.Id != first.Id


async def test_an_update_with_a_stale_sync_token_is_refused_with_5010(endpoints, healthy_sandbox):
    auth = await connect(endpoints)
    qb = books(auth, endpoints)
    ours = await run(new_customer("Stale Sam").save, qb=qb)
    edited = await bookkeeper(
        healthy_sandbox.public_url,
        "POST",
        f"/_companies/{auth.realm_id}/customer/{ours.Id}",
        json={"PrimaryPhone": {"FreeFormNumber": "(512) 555-0199"}},
    )
    assert edited.json()["SyncToken"] == "1"

    ours.Notes = "changed here too"
    with pytest.raises(QuickbooksException) as stale:
        await run(ours.save, qb=qb)
    assert (stale.value.error_code, stale.value.message) == (5010, "Stale Object Error")
    kept = await run(Customer.get, ours.Id, qb=qb)
    assert kept.PrimaryPhone.FreeFormNumber == "(512) 555-0199" and not kept.Notes


async def test_a_second_customer_with_the_same_name_is_refused_with_6240(endpoints, healthy_sandbox):
    qb = books(await connect(endpoints), endpoints)
    await run(new_customer("Sam Smith").save, qb=qb)
    with pytest.raises(QuickbooksException) as duplicate:
        await run(new_customer("sam  smith").save, qb=qb)
    assert (duplicate.value.error_code, duplicate.value.message) == (6240, "Duplicate Name Exists Error")
    assert (await run(new_customer("Sam Smith (2)").save, qb=qb)).Id == "2"


async def test_a_payment_against_an_invoice_lowers_its_balance_and_shows_in_cdc(endpoints, healthy_sandbox):
    auth = await connect(endpoints)
    qb = books(auth, endpoints)
    since = now()
    customer = await run(new_customer("Paying Pat").save, qb=qb)
    invoice = await invoice_for(qb, customer, 100.0, 50.0)
    assert (invoice.TotalAmt, invoice.Balance, invoice.DocNumber) == (150.0, 150.0, "1001")
    assert invoice.Line[-1].DetailType == "SubTotalLineDetail"

    payment = await run(payment_for(invoice, 60.0).save, qb=qb)
    after = await run(Invoice.get, invoice.Id, qb=qb)
    assert (after.Balance, after.SyncToken) == (90.0, "1")
    assert [(t.TxnId, t.TxnType) for t in after.LinkedTxn] == [(payment.Id, "Payment")]
    assert (await run(Customer.get, customer.Id, qb=qb)).Balance == 90.0

    # The bookkeeper takes the rest in QuickBooks; the app finds both payments through CDC.
    rest = await bookkeeper(
        healthy_sandbox.public_url,
        "POST",
        f"/_companies/{auth.realm_id}/invoice/{invoice.Id}/payment",
        json={},
    )
    assert rest.json()["TotalAmt"] == 90.0
    changed = await run(change_data_capture, [Payment, Invoice], since.isoformat(), qb=qb)
    assert sorted(p.Id for p in changed.Payment) == sorted([payment.Id, rest.json()["Id"]])
    assert [(i.Id, i.Balance) for i in changed.Invoice] == [(invoice.Id, 0.0)]

    too_much = await bookkeeper(
        healthy_sandbox.public_url,
        "POST",
        f"/_companies/{auth.realm_id}/invoice/{invoice.Id}/payment",
        json={"amount": 5},
    )
    assert too_much.status_code == 400 and too_much.json()["Fault"]["Error"][0]["code"] == "6000"


async def test_python_quickbooks_voids_an_invoice_zeroed_with_its_payment_unlinked(
    endpoints, healthy_sandbox
):
    qb = books(await connect(endpoints), endpoints)
    invoice = await invoice_for(qb, await run(new_customer("Void Val").save, qb=qb), 100.0, 20.0)
    payment = await run(payment_for(invoice, 40.0).save, qb=qb)
    invoice = await run(Invoice.get, invoice.Id, qb=qb)  # the payment moved its SyncToken on

    voided = (await run(invoice.void, qb=qb))["Invoice"]  # POST …/invoice?operation=void {Id, SyncToken}
    assert (voided["Id"], voided["SyncToken"], voided["PrivateNote"]) == (invoice.Id, "2", "Voided")
    assert (voided["TotalAmt"], voided["Balance"], voided["LinkedTxn"]) == (0, 0, [])
    assert [line["Amount"] for line in voided["Line"]] == [0, 0, 0]
    kept = await run(Invoice.get, invoice.Id, qb=qb)
    assert (kept.DocNumber, kept.TotalAmt) == (invoice.DocNumber, 0)  # still there, worth nothing
    unlinked = await run(Payment.get, payment.Id, qb=qb)
    assert (unlinked.Line, unlinked.UnappliedAmt) == ([], 40.0)

    with pytest.raises(QuickbooksException) as stale:  # the SyncToken it was read with is spent
        await run(invoice.void, qb=qb)
    assert stale.value.error_code == 5010


async def test_the_books_page_lists_records_and_records_a_payment_from_its_form(endpoints, healthy_sandbox):
    auth = await connect(endpoints)
    qb = books(auth, endpoints)
    invoice = await invoice_for(qb, await run(new_customer(unique("Page Pete")).save, qb=qb), 80.0)
    async with httpx.AsyncClient(base_url=healthy_sandbox.public_url) as http:
        inbox = await http.get("/inbox")
        assert 'href="/quickbooks/app"' in inbox.text
        page = await http.get("/quickbooks/app")
        assert "Page Pete" in page.text and "Record payment" in page.text
        paid = await http.post(
            f"/quickbooks/_companies/{auth.realm_id}/invoice/{invoice.Id}/payment", data={"amount": "30.00"}
        )
        assert paid.status_code == 303 and paid.headers["location"] == "/quickbooks/app"
    assert (await run(Invoice.get, invoice.Id, qb=qb)).Balance == 50.0


async def test_customers_the_bookkeeper_adds_or_edits_are_what_the_app_pulls(endpoints, healthy_sandbox):
    auth = await connect(endpoints)
    qb = books(auth, endpoints)
    since = now()
    added = await bookkeeper(
        healthy_sandbox.public_url,
        "POST",
        f"/_companies/{auth.realm_id}/customer",
        json={"DisplayName": "Walk-in Wendy", "PrimaryEmailAddr": {"Address": "wendy@example.com"}},
    )
    assert added.status_code == 200
    duplicate = await bookkeeper(
        healthy_sandbox.public_url,
        "POST",
        f"/_companies/{auth.realm_id}/customer",
        json={"DisplayName": "Walk-in Wendy"},
    )
    assert duplicate.status_code == 400 and duplicate.json()["Fault"]["Error"][0]["code"] == "6240"

    changed = await run(change_data_capture, [Customer], since.isoformat(), qb=qb)
    assert [c.PrimaryEmailAddr.Address for c in changed.Customer] == ["wendy@example.com"]
    listed = await bookkeeper(healthy_sandbox.public_url, "GET", f"/_companies/{auth.realm_id}/customer")
    assert [c["DisplayName"] for c in listed.json()] == ["Walk-in Wendy"]


async def test_an_outage_fails_python_quickbooks_calls_until_it_recovers(endpoints, healthy_sandbox):
    auth = await connect(endpoints)
    qb = books(auth, endpoints)
    healthy_sandbox.controls.set("quickbooks", "down", times=1)
    with pytest.raises(QuickbooksException) as down:
        await run(new_customer("Outage Olga").save, qb=qb, request_id="olga-1")
    assert down.value.error_code == 10000 and "Service Unavailable" in down.value.message

    healthy_sandbox.controls.set("quickbooks", "fail", times=1)
    with pytest.raises(SevereException):
        await run(Customer.all, qb=qb)

    healthy_sandbox.controls.set("quickbooks", "rate_limit", times=1)
    with pytest.raises(QuickbooksException) as throttled:
        await run(Customer.all, qb=qb)
    assert "429" in throttled.value.message

    healthy_sandbox.controls.set("quickbooks", "down", times=1)
    with pytest.raises(AuthClientError) as token_down:
        await run(auth.refresh)
    assert token_down.value.status_code == 503

    saved = await run(new_customer("Outage Olga").save, qb=qb, request_id="olga-1")
    assert [c.Id for c in await run(Customer.all, qb=qb)] == [saved.Id]
