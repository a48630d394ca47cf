"""Settings → QuickBooks (owners and admins): connect, pull or sync by hand, and the sync ledger with a
retry on each record whose latest sync failed to push or clashed. The work itself happens in the company's
`quickbooks-{id}` workflow."""

from fastapi import APIRouter, Request

from activities.clients import quickbooks_available
from activities.quickbooks_ledger import unresolved
from api.crud import PageParams
from api.deps import SessionDep
from api.office.nav import OWNER_ADMIN
from api.office.pages import PageUser, allow, render
from api.routes.quickbooks import ledger, quickbooks_status
from models.quickbooks import SyncStatus

router = APIRouter(include_in_schema=False)

LEDGER_ROWS = 100
# Where a ledger row's record opens in the office.
RECORD_PAGES = {"customer": "/customers/{}", "invoice": "/invoices/{}"}


@router.get("/settings/quickbooks")
async def quickbooks_page(
    request: Request,
    principal: PageUser,
    session: SessionDep,
    status: SyncStatus | None = None,
    connected: bool = False,
    problem: str | None = None,
):
    allow(principal, *OWNER_ADMIN)
    settings = request.app.state.settings
    entries = await ledger(principal, session, PageParams(limit=LEDGER_ROWS), status=status)
    # The retry goes on a record's latest row only: an older one was superseded by a sync since.
    retryable = {entry.id for entry in await unresolved(session, principal.company_id)}
    return await render(
        request,
        session,
        principal,
        "office/quickbooks.html",
        quickbooks=await quickbooks_status(principal, session, settings),
        available=quickbooks_available(settings),
        entries=entries.data,
        retryable=retryable,
        count=entries.count,
        shown_status=status,
        statuses=list(SyncStatus),
        record_pages=RECORD_PAGES,
        just_connected=connected,
        problem=problem,
    )
