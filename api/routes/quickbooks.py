"""QuickBooks Online (Settings → QuickBooks): connect, see how the sync stands, pull or sync by hand, read the
sync ledger and retry what failed. Pushes happen by themselves (customers and invoices saved, invoices sent,
paid or voided) while `quickbooks_sync` is on; the company's `quickbooks-{id}` workflow does all the work.
"""

import asyncio
import logging
import uuid
from typing import Annotated
from urllib.parse import quote

import requests
from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import RedirectResponse
from intuitlib.exceptions import AuthClientError
from itsdangerous import BadSignature, URLSafeTimedSerializer
from temporalio.service import RPCError

from activities.clients import quickbooks_available
from activities.quickbooks import FULL_SYNC, PushRequest, SyncRequest, signal_quickbooks
from activities.quickbooks_client import (
    authorization_url,
    exchange_code,
    reveal,
    revoke,
    store_tokens,
    token_cipher,
)
from activities.quickbooks_ledger import AUTOMATION, retryable, unresolved, workflow_id
from api.crud import Page, PageDep, fetch_page
from api.deps import OfficeStaff, OwnerOrAdmin, SessionDep, SettingsDep, TemporalDep
from api.office.pages import PageUser
from api.principal import Principal
from api.tenancy import get_owned, owned
from api.workflow_links import workflow_url
from models.base import utcnow
from models.enums import Role
from models.invoices import Payment
from models.logs import AutomationSetting
from models.quickbooks import (
    QuickBooksAuthorization,
    QuickBooksConnection,
    QuickBooksLedgerEntry,
    QuickBooksLedgerPublic,
    QuickBooksQueued,
    QuickBooksStatus,
    SyncDirection,
    SyncStatus,
)
from settings import TASK_QUEUE

router = APIRouter(prefix="/quickbooks", tags=["quickbooks"])
# QuickBooks sends the browser back here (the app's redirect URI), outside /v1.
callback_router = APIRouter(prefix="/quickbooks", include_in_schema=False)
log = logging.getLogger(__name__)

STATE_SALT = "quickbooks-connect"
STATE_SECONDS = 15 * 60  # time to go through QuickBooks' consent page
SETTINGS_PAGE = "/settings/quickbooks"
UNREACHABLE = (AuthClientError, requests.RequestException)
CONNECTION_SHOWN = {
    "realm_id",
    "connected_at",
    "last_sync_at",
    "customers_pulled_at",
    "payments_pulled_at",
    "problem",
}
REALM_STATE = ("services_item_id", "customers_pulled_at", "payments_pulled_at", "last_sync_at")


def _state_signer(settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=STATE_SALT)


@router.get("", response_model=QuickBooksStatus)
async def quickbooks_status(principal: OfficeStaff, session: SessionDep, settings: SettingsDep):
    """The connection (which QuickBooks company, since when), the last sync and pulls, and how many
    records wait for the office's retry: a failed push, a conflict. A pull refused here (a payment against
    an invoice voided here) shows in the ledger but waits for nothing: no retry would change it."""
    connection = await session.get(QuickBooksConnection, principal.company_id)
    automation = await session.get(AutomationSetting, (principal.company_id, AUTOMATION))
    waiting = [entry.status for entry in await unresolved(session, principal.company_id)]
    flow = workflow_id(principal.company_id)
    return QuickBooksStatus(
        connected=connection is not None,
        **(connection.model_dump(include=CONNECTION_SHOWN) if connection else {}),
        automation_enabled=bool(automation and automation.enabled),
        failed=waiting.count(SyncStatus.failed),
        conflicts=waiting.count(SyncStatus.conflict),
        workflow_id=flow,
        workflow_url=workflow_url(settings, flow),
    )


@router.get("/connect", response_model=QuickBooksAuthorization)
async def connect_quickbooks(principal: OwnerOrAdmin, settings: SettingsDep):
    """Where to send the browser to connect QuickBooks: QuickBooks' consent page, which comes back to
    `/quickbooks/callback` (valid for 15 minutes, for the signed-in owner or admin who asked)."""
    if not quickbooks_available(settings):
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            "QuickBooks is not set up on this server (QUICKBOOKS_CLIENT_ID and QUICKBOOKS_CLIENT_SECRET)",
        )
    state = _state_signer(settings).dumps([str(principal.company_id), str(principal.user_id)])
    try:
        url = await asyncio.to_thread(authorization_url, settings, state)
    except UNREACHABLE as unreachable:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"QuickBooks cannot be reached: {unreachable}"
        ) from None
    return QuickBooksAuthorization(authorization_url=url)


@callback_router.get("/callback")
async def quickbooks_callback(
    principal: PageUser,
    session: SessionDep,
    settings: SettingsDep,
    state: str = "",
    code: str | None = None,
    realm_id: Annotated[str | None, Query(alias="realmId")] = None,
    error: str | None = None,
):
    """QuickBooks' answer to the consent page: the tokens are fetched and stored encrypted, and the browser
    goes back to Settings → QuickBooks."""
    try:
        company_id, user_id = _state_signer(settings).loads(state, max_age=STATE_SECONDS)
    except BadSignature:
        return _back("this link to connect QuickBooks is invalid or has expired; start again")
    # The state proves we sent the browser; the session proves it is the same person coming back.
    started_by = [str(principal.company_id), str(principal.user_id)]
    if [company_id, user_id] != started_by or principal.role not in (Role.owner, Role.admin):
        return _back("connect QuickBooks signed in as the owner or admin who started it")
    if error or not code or not realm_id:
        return _back(f"QuickBooks did not connect ({error or 'no authorization code'})")
    try:
        auth = await asyncio.to_thread(exchange_code, settings, code, realm_id)
    except UNREACHABLE as refused:
        return _back(f"QuickBooks did not confirm the connection: {refused}")
    connection = await session.get(QuickBooksConnection, principal.company_id, with_for_update=True)
    if connection is None:
        connection = QuickBooksConnection(company_id=principal.company_id, realm_id=realm_id)
    elif connection.realm_id != realm_id:
        # Another QuickBooks company: the old one's cursors and item mean nothing there.
        connection.sqlmodel_update(dict.fromkeys(REALM_STATE) | {"realm_id": realm_id})
    connection.connected_by_id, connection.connected_at = principal.user_id, utcnow()
    store_tokens(connection, auth, token_cipher(settings.secret_key))
    session.add(connection)
    await session.commit()
    return RedirectResponse(f"{SETTINGS_PAGE}?connected=1", status.HTTP_303_SEE_OTHER)


def _back(problem: str) -> RedirectResponse:
    return RedirectResponse(f"{SETTINGS_PAGE}?problem={quote(problem)}", status.HTTP_303_SEE_OTHER)


@router.delete("", status_code=status.HTTP_204_NO_CONTENT)
async def disconnect_quickbooks(principal: OwnerOrAdmin, session: SessionDep, settings: SettingsDep):
    """Disconnect: the app's access is revoked at QuickBooks and the tokens forgotten here. Which record is
    which stays known, so reconnecting the same QuickBooks company creates no duplicates."""
    connection = await _connection(session, principal)
    refresh_token = reveal(token_cipher(settings.secret_key), connection.refresh_token)
    try:
        await asyncio.to_thread(revoke, settings, refresh_token)
    except UNREACHABLE as unreachable:
        # Forgotten here all the same; QuickBooks drops the app when the token runs out.
        log.warning("QuickBooks did not confirm revoking company %s: %s", principal.company_id, unreachable)
    await session.delete(connection)
    await session.commit()


@router.post("/sync", response_model=QuickBooksQueued, status_code=status.HTTP_202_ACCEPTED)
async def full_sync(principal: OfficeStaff, session: SessionDep, settings: SettingsDep, client: TemporalDep):
    """Full two-way sync: push whatever is pending (while `quickbooks_sync` is on), then pull customers and
    payments. It runs in the company's QuickBooks workflow; the ledger shows what moved."""
    return await _queue(session, settings, client, principal, "full", SyncRequest(FULL_SYNC))


@router.post("/pull-customers", response_model=QuickBooksQueued, status_code=status.HTTP_202_ACCEPTED)
async def pull_customers(
    principal: OfficeStaff, session: SessionDep, settings: SettingsDep, client: TemporalDep
):
    """Import the QuickBooks customers NexJob does not have; refresh email, phone and address of the rest."""
    return await _queue(session, settings, client, principal, "customers", SyncRequest(["customers"]))


@router.post("/pull-payments", response_model=QuickBooksQueued, status_code=status.HTTP_202_ACCEPTED)
async def pull_payments(
    principal: OfficeStaff, session: SessionDep, settings: SettingsDep, client: TemporalDep
):
    """Record payments entered in QuickBooks against invoices NexJob tracks: they are marked paid here and
    not sent back."""
    return await _queue(session, settings, client, principal, "payments", SyncRequest(["payments"]))


@router.get("/ledger", response_model=Page[QuickBooksLedgerPublic])
async def ledger(
    principal: OfficeStaff,
    session: SessionDep,
    page: PageDep,
    status: SyncStatus | None = None,
    direction: SyncDirection | None = None,
    entity_id: uuid.UUID | None = None,
):
    """What moved between NexJob and QuickBooks, newest first: which record, which way, the outcome (ok,
    retrying, failed, conflict), why it failed, and how many attempts it took."""
    stmt = owned(QuickBooksLedgerEntry, principal)
    if status is not None:
        stmt = stmt.where(QuickBooksLedgerEntry.status == status)
    if direction is not None:
        stmt = stmt.where(QuickBooksLedgerEntry.direction == direction)
    if entity_id is not None:
        stmt = stmt.where(QuickBooksLedgerEntry.entity_id == entity_id)
    order = (QuickBooksLedgerEntry.updated_at.desc(), QuickBooksLedgerEntry.id)
    rows, count = await fetch_page(session, stmt, page, *order)
    return Page(data=rows, count=count)


@router.post(
    "/ledger/{entry_id}/retry", response_model=QuickBooksQueued, status_code=status.HTTP_202_ACCEPTED
)
async def retry_entry(
    entry_id: uuid.UUID,
    principal: OfficeStaff,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
):
    """Push a record whose latest sync failed to push or conflicted, whether `quickbooks_sync` is on or not
    (the office decides; the action log names who asked). For a conflict this writes ours over QuickBooks'
    copy, edited there since our last sync. 409 for a row with nothing to retry, or one a later sync of the
    record superseded (retrying it could overwrite QuickBooks' edits taken since)."""
    entry = await get_owned(session, QuickBooksLedgerEntry, entry_id, principal)
    if not retryable(entry):
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"only a failed push or a conflict can be retried; this is a {entry.status} {entry.direction}",
        )
    if entry.id not in {waiting.id for waiting in await unresolved(session, principal.company_id)}:
        raise HTTPException(status.HTTP_409_CONFLICT, "a newer sync of this record exists")
    asked = principal.actor
    if entry.entity_type == "payment":
        # A payment goes with its invoice: pushing the invoice sends the payments QuickBooks lacks.
        payment = await session.get(Payment, entry.entity_id)
        push = PushRequest("invoice", str(payment.invoice_id), requested_by=asked)
    else:
        push = PushRequest(
            entry.entity_type,
            str(entry.entity_id),
            overwrite=entry.status == SyncStatus.conflict,
            ledger_key=entry.key,
            requested_by=asked,
        )
    return await _queue(session, settings, client, principal, "push", push, signal="push")


async def _connection(session, principal: Principal) -> QuickBooksConnection:
    connection = await session.get(QuickBooksConnection, principal.company_id)
    if connection is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "QuickBooks is not connected (Settings → QuickBooks)")
    return connection


async def _queue(session, settings, client, principal: Principal, what: str, request, signal: str = "sync"):
    await _connection(session, principal)
    await session.rollback()  # nothing to keep open while Temporal is asked
    try:
        await signal_quickbooks(client, principal.company_id, signal, request, TASK_QUEUE)
    except RPCError as unreachable:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"the workflow service is unavailable ({unreachable})"
        ) from None
    flow = workflow_id(principal.company_id)
    return QuickBooksQueued(queued=what, workflow_id=flow, workflow_url=workflow_url(settings, flow))
