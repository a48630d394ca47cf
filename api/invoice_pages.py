"""The customer's invoice page, reached by the private link in the invoice email and text: no login.

`/i/{token}` shows the invoice (lines, totals, what is paid, the balance, the due date) and where it stands;
opening it marks a Sent invoice Viewed. "Pay now" asks the invoice's workflow for a Stripe Checkout page and
sends the customer there; Stripe's webhook then marks the invoice Paid and the page says so. Every change
goes through the invoice's workflow; a refusal is shown on the page in plain words.
"""

import asyncio
import logging
import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from activities.documents import format_date, invoice_pdf
from activities.invoicing import invoice_document
from api.deps import SessionDep, SettingsDep, TemporalDep
from api.flows import update_with_start
from api.rendering import templates
from models.company import Company
from models.enums import InvoiceStatus
from models.invoices import Invoice
from models.links import read_invoice_token
from workflows.invoice import InvoiceCheckout, InvoiceInput, InvoiceWorkflow, MarkViewed

router = APIRouter(prefix="/i", include_in_schema=False)
log = logging.getLogger(__name__)

STATUS_WORDS = {
    InvoiceStatus.sent: "Waiting for payment",
    InvoiceStatus.viewed: "Waiting for payment",
    InvoiceStatus.overdue: "Past due",
    InvoiceStatus.paid: "Paid",
    InvoiceStatus.void: "Voided",
}
PAYABLE = {InvoiceStatus.sent, InvoiceStatus.viewed, InvoiceStatus.overdue}
CONFIRM_RELOADS = 10  # back from Stripe before its webhook: look again every 2 s, this many times


@dataclass
class Opened:
    token: str
    invoice: Invoice
    company: Company


async def _open(session, settings, token: str) -> Opened | None:
    found = read_invoice_token(settings, token)
    invoice = await session.get(Invoice, found[0]) if found else None
    # A forged token, one whose company is not the invoice's, or a draft nobody sent: nothing to show.
    if invoice is None or invoice.company_id != found[1] or invoice.status == InvoiceStatus.draft:
        return None
    return Opened(token, invoice, await session.get(Company, invoice.company_id))


def _not_valid(request: Request) -> HTMLResponse:
    context = {
        "title": "Link not valid",
        "message": "This invoice link is not valid. Please check the link you received.",
    }
    return templates.TemplateResponse(request, "invoice/message.html", context, status_code=404)


async def _update(client, invoice_id: uuid.UUID, company_id: uuid.UUID, update, argument):
    return await update_with_start(
        client,
        "invoice",
        invoice_id,
        company_id,
        InvoiceWorkflow.run,
        InvoiceInput(str(invoice_id), str(company_id)),
        update,
        argument,
    )


async def _view(
    request, session, settings, opened: Opened, error: str = "", status: int = 200, returning: int = 0
) -> HTMLResponse:
    invoice, company = opened.invoice, opened.company
    doc = await invoice_document(session, settings, invoice)
    paid_on = None
    if invoice.paid_at is not None:
        paid_on = format_date(invoice.paid_at.astimezone(ZoneInfo(company.timezone)).date())
    payable = invoice.status in PAYABLE and doc.balance_cents > 0
    context = {
        "company": company,
        "invoice": invoice,
        "doc": doc,
        "token": opened.token,
        "error": error,
        "payable": payable,
        "returning": returning if payable else 0,
        "reloads": CONFIRM_RELOADS,
        "issued_on": format_date(invoice.issued_on),
        "due_on": format_date(invoice.due_on),
        "paid_on": paid_on,
        "status_words": STATUS_WORDS[invoice.status],
    }
    return templates.TemplateResponse(request, "invoice/invoice.html", context, status_code=status)


@router.get("/{token}", response_class=HTMLResponse)
async def invoice_page(
    token: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
    paid: int = 0,
):
    """The invoice, its balance and a way to pay it; opening it marks a sent invoice viewed."""
    opened = await _open(session, settings, token)
    if opened is None:
        return _not_valid(request)
    if opened.invoice.status == InvoiceStatus.sent:
        invoice_id, company_id = opened.invoice.id, opened.invoice.company_id
        await session.rollback()  # the workflow's activity locks the invoice: hold nothing meanwhile
        try:
            await _update(client, invoice_id, company_id, InvoiceWorkflow.mark_viewed, MarkViewed())
        except HTTPException as trouble:
            # Being seen is not worth an error page: the customer still gets their invoice.
            log.warning("invoice %s not marked viewed: %s", invoice_id, trouble.detail)
        session.expunge_all()
        opened = await _open(session, settings, token)
    return await _view(request, session, settings, opened, returning=max(0, min(paid, CONFIRM_RELOADS)))


@router.post("/{token}/pay", response_class=HTMLResponse)
async def pay(token: str, request: Request, session: SessionDep, settings: SettingsDep, client: TemporalDep):
    """Off to Stripe's page to pay the balance; back to this page afterwards."""
    opened = await _open(session, settings, token)
    if opened is None:
        return _not_valid(request)
    invoice_id, company_id = opened.invoice.id, opened.invoice.company_id
    here = f"{settings.public_url.rstrip('/')}/i/{token}"
    await session.rollback()
    try:
        url = await _update(
            client,
            invoice_id,
            company_id,
            InvoiceWorkflow.checkout,
            InvoiceCheckout(success_url=f"{here}?paid=1", cancel_url=here),
        )
    except HTTPException as refused:
        session.expunge_all()  # read the invoice afresh: it may have been paid meanwhile
        opened = await _open(session, settings, token)
        return await _view(request, session, settings, opened, refused.detail, refused.status_code)
    return RedirectResponse(url, 303)


@router.get("/{token}/pdf")
async def invoice_pdf_download(token: str, request: Request, session: SessionDep, settings: SettingsDep):
    """The invoice as a PDF, as it stands now."""
    opened = await _open(session, settings, token)
    if opened is None:
        return _not_valid(request)
    doc = await invoice_document(session, settings, opened.invoice)
    pdf = await asyncio.to_thread(invoice_pdf, doc)  # a few ms of CPU: off the event loop
    filename = f"Invoice-{opened.invoice.number}.pdf"
    return Response(
        pdf, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{filename}"'}
    )
