"""Invoices pages: the list by status, and one invoice with its lines, payments, the customer's payment
link and the buttons its status allows (send, mark paid by cash or check, void)."""

import uuid

from fastapi import APIRouter, Request
from sqlalchemy import func
from sqlmodel import select

from api.crud import PageParams
from api.deps import SessionDep
from api.office.nav import OFFICE
from api.office.pages import PageUser, allow, names_by_id, render
from api.routes.invoices import get_invoice, list_invoices, list_payments
from models.company import Company, User
from models.customers import Customer
from models.enums import InvoiceStatus, PaymentMethod
from models.invoices import Invoice
from models.jobs import Job
from models.links import invoice_url
from models.time import company_today

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
OPEN = (InvoiceStatus.sent, InvoiceStatus.viewed, InvoiceStatus.overdue)
BY_HAND = (PaymentMethod.cash, PaymentMethod.check, PaymentMethod.other)  # card and ACH come through Stripe


@router.get("/invoices")
async def invoices_page(
    request: Request,
    principal: PageUser,
    session: SessionDep,
    status: InvoiceStatus | None = None,
    offset: int = 0,
):
    """Invoices, newest number first, in tabs by status with how many each holds."""
    allow(principal, *OFFICE)
    offset = max(offset, 0)
    page = await list_invoices(principal, session, PageParams(limit=PAGE_SIZE, offset=offset), status=status)
    counted = await session.exec(
        select(Invoice.status, func.count())
        .where(Invoice.company_id == principal.company_id)
        .group_by(Invoice.status)
    )
    counts = dict(counted.all())
    return await render(
        request,
        session,
        principal,
        "office/invoices.html",
        invoices=page.data,
        count=page.count,
        offset=offset,
        page_size=PAGE_SIZE,
        status=status,
        statuses=list(InvoiceStatus),
        counts=counts,
        total=sum(counts.values()),
        customers=await names_by_id(session, principal, Customer, (i.customer_id for i in page.data)),
    )


@router.get("/invoices/{invoice_id}")
async def invoice_page(request: Request, invoice_id: uuid.UUID, principal: PageUser, session: SessionDep):
    """One invoice: lines and totals, payments, the customer's link, and what can be done next."""
    allow(principal, *OFFICE)
    settings = request.app.state.settings
    invoice = await get_invoice(invoice_id, principal, session, settings)
    company = await session.get(Company, principal.company_id)
    payments = await list_payments(invoice_id, principal, session)
    recorders = await names_by_id(session, principal, User, (p.recorded_by_id for p in payments))
    return await render(
        request,
        session,
        principal,
        "office/invoice.html",
        invoice=invoice,
        customer=await session.get(Customer, invoice.customer_id),
        job=await session.get(Job, invoice.job_id) if invoice.job_id else None,
        payments=payments,
        recorders=recorders,
        # A draft's link opens nothing for the customer yet: it is shown once the invoice is sent.
        pay_url=None
        if invoice.status == InvoiceStatus.draft
        else invoice_url(settings, invoice.id, principal.company_id),
        is_open=invoice.status in OPEN,
        methods=BY_HAND,
        today=company_today(company),
        timezone=company.timezone,
    )
