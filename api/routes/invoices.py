"""Invoices: drafts are edited here; every status change goes through the invoice's workflow."""

import uuid
from datetime import timedelta

from fastapi import APIRouter, HTTPException, status
from sqlmodel import select

from activities.quickbooks import request_push
from api.crud import Page, PageDep, create_owned, fetch_page, update_owned
from api.deps import OfficeStaff, SessionDep, SettingsDep, TemporalDep
from api.flows import update_with_start
from api.line_items import public_lines, replace_lines
from api.principal import Principal
from api.tenancy import get_owned, owned
from api.workflow_links import workflow_id, workflow_url
from models.company import Company
from models.enums import InvoiceStatus
from models.invoices import (
    Invoice,
    InvoiceCreate,
    InvoicePublic,
    InvoiceSummary,
    InvoiceUpdate,
    MarkPaidRequest,
    Payment,
    PaymentPublic,
)
from models.links import invoice_url
from models.time import company_today
from settings import TASK_QUEUE
from workflows.invoice import InvoiceInput, InvoiceWorkflow, MarkPaidInput, SendInvoice, StatusChangeInput

router = APIRouter(prefix="/invoices", tags=["invoices"])


class InvoiceSent(InvoicePublic):
    """The invoice as sent, with the customer's private page to view and pay it."""

    pay_url: str


async def public_invoice(session, settings, invoice: Invoice) -> InvoicePublic:
    wf_id = workflow_id("invoice", invoice.id)
    update = {
        "workflow_id": wf_id,
        "workflow_url": workflow_url(settings, wf_id),
        "line_items": await public_lines(session, invoice),
    }
    return InvoicePublic.model_validate(invoice, update=update)


@router.get("", response_model=Page[InvoiceSummary])
async def list_invoices(
    principal: OfficeStaff,
    session: SessionDep,
    page: PageDep,
    status: InvoiceStatus | None = None,
    customer_id: uuid.UUID | None = None,
):
    """Invoices, newest number first, by status or customer (open one invoice for its lines)."""
    stmt = owned(Invoice, principal)
    if status is not None:
        stmt = stmt.where(Invoice.status == status)
    if customer_id is not None:
        stmt = stmt.where(Invoice.customer_id == customer_id)
    rows, count = await fetch_page(session, stmt, page, Invoice.number.desc())
    return Page(data=rows, count=count)


@router.post("", response_model=InvoicePublic, status_code=status.HTTP_201_CREATED)
async def create_invoice(
    body: InvoiceCreate,
    principal: OfficeStaff,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
):
    """Draft an invoice with the company's next number, tax rate and payment terms."""
    invoice = await draft_invoice(session, principal, body)
    await session.commit()
    await request_push(session, client, principal.company_id, "invoice", invoice.id, TASK_QUEUE)
    return await public_invoice(session, settings, invoice)


async def draft_invoice(
    session, principal: Principal, body: InvoiceCreate, tax_rate_bps: int | None = None
) -> Invoice:
    """A new draft invoice and its lines, not yet committed. `tax_rate_bps` keeps a quote's rate, so
    the invoice comes to what the customer accepted."""
    # Locking the company row hands out invoice numbers one at a time, without gaps or repeats.
    company = await session.get(Company, principal.company_id, with_for_update=True)
    issued_on = company_today(company)
    values = body.model_dump(exclude={"line_items"}) | {
        "number": company.next_invoice_number,
        "currency": company.currency,
        "tax_rate_bps": company.tax_rate_bps if tax_rate_bps is None else tax_rate_bps,
        "issued_on": issued_on,
        "due_on": body.due_on or issued_on + timedelta(days=company.invoice_due_days),
    }
    invoice = await create_owned(session, principal, Invoice, values)
    company.next_invoice_number += 1
    await replace_lines(session, principal, invoice, body.line_items)
    return invoice


@router.get("/{invoice_id}", response_model=InvoicePublic)
async def get_invoice(
    invoice_id: uuid.UUID, principal: OfficeStaff, session: SessionDep, settings: SettingsDep
):
    """One invoice with its lines, balance and a link to its workflow in the Temporal UI."""
    return await public_invoice(session, settings, await get_owned(session, Invoice, invoice_id, principal))


@router.patch("/{invoice_id}", response_model=InvoicePublic)
async def update_invoice(
    invoice_id: uuid.UUID,
    body: InvoiceUpdate,
    principal: OfficeStaff,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
):
    """Edit a draft invoice; `line_items`, when given, replaces every line."""
    invoice = await get_owned(session, Invoice, invoice_id, principal)
    if invoice.status != InvoiceStatus.draft:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"only draft invoices can be edited; this one is {invoice.status}"
        )
    await update_owned(
        session, principal, invoice, body.model_dump(exclude_unset=True, exclude={"line_items"})
    )
    if body.line_items is not None:
        await replace_lines(session, principal, invoice, body.line_items)
    await session.commit()
    await request_push(session, client, principal.company_id, "invoice", invoice.id, TASK_QUEUE)
    return await public_invoice(session, settings, invoice)


@router.get("/{invoice_id}/payments", response_model=list[PaymentPublic])
async def list_payments(invoice_id: uuid.UUID, principal: OfficeStaff, session: SessionDep):
    """Payments recorded against an invoice, oldest first."""
    invoice = await get_owned(session, Invoice, invoice_id, principal)
    stmt = select(Payment).where(Payment.invoice_id == invoice.id).order_by(Payment.created_at)
    return (await session.exec(stmt)).all()


async def _change(session, settings, client, principal: Principal, invoice_id, update, update_input):
    await get_owned(session, Invoice, invoice_id, principal)
    # End this transaction before the workflow's activity locks the row for the change.
    await session.rollback()
    flow_input = InvoiceInput(invoice_id=str(invoice_id), company_id=str(principal.company_id))
    await update_with_start(
        client,
        "invoice",
        invoice_id,
        principal.company_id,
        InvoiceWorkflow.run,
        flow_input,
        update,
        update_input,
    )
    return await public_invoice(session, settings, await get_owned(session, Invoice, invoice_id, principal))


def _actor(principal: Principal) -> dict:
    return {"actor": principal.actor, "actor_user_id": str(principal.user_id) if principal.user_id else None}


@router.post("/{invoice_id}/mark-sent", response_model=InvoicePublic)
async def mark_sent(
    invoice_id: uuid.UUID,
    principal: OfficeStaff,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
):
    """Mark a draft invoice as sent (delivered outside NexJob): no email or text goes out."""
    return await _change(
        session,
        settings,
        client,
        principal,
        invoice_id,
        InvoiceWorkflow.mark_sent,
        StatusChangeInput(**_actor(principal)),
    )


@router.post("/{invoice_id}/send", response_model=InvoiceSent)
async def send_invoice(
    invoice_id: uuid.UUID,
    principal: OfficeStaff,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
):
    """Email the invoice (PDF attached) and text it to pay when the customer consented, each with the
    customer's private link `pay_url`; a draft becomes Sent, an open invoice is sent again. The invoice's
    workflow then marks it overdue after its due date and follows up. 409 once paid or void; 422 when the
    customer has no email address and cannot be texted."""
    public = await _change(
        session,
        settings,
        client,
        principal,
        invoice_id,
        InvoiceWorkflow.send,
        SendInvoice(**_actor(principal)),
    )
    pay_url = invoice_url(settings, invoice_id, principal.company_id)
    return InvoiceSent.model_validate(public.model_dump() | {"pay_url": pay_url})


@router.post("/{invoice_id}/mark-paid", response_model=InvoicePublic)
async def mark_paid(
    invoice_id: uuid.UUID,
    body: MarkPaidRequest,
    principal: OfficeStaff,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
):
    """Record a payment of the balance (cash, check …); drafts must be sent first, void ones cannot."""
    company = await session.get(Company, principal.company_id)
    received_on = body.received_on or company_today(company)
    paid = MarkPaidInput(
        method=body.method.value,
        received_on=received_on.isoformat(),
        reference=body.reference,
        **_actor(principal),
    )
    return await _change(session, settings, client, principal, invoice_id, InvoiceWorkflow.mark_paid, paid)


@router.post("/{invoice_id}/void", response_model=InvoicePublic)
async def void_invoice(
    invoice_id: uuid.UUID,
    principal: OfficeStaff,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
):
    """Void an invoice (kept on record); a paid invoice cannot be voided."""
    return await _change(
        session,
        settings,
        client,
        principal,
        invoice_id,
        InvoiceWorkflow.void,
        StatusChangeInput(**_actor(principal)),
    )
