"""Invoices and the payments against them."""

import uuid
from datetime import date, datetime

from sqlmodel import Field, SQLModel, UniqueConstraint

from models.base import company_field, enum_type, id_field, timestamp
from models.enums import InvoiceStatus, PaymentMethod
from models.line_items import LineItemIn, LineItemPublic


class InvoiceBase(SQLModel):
    customer_id: uuid.UUID = Field(foreign_key="customer.id", index=True)
    job_id: uuid.UUID | None = Field(default=None, foreign_key="job.id", index=True)
    quote_id: uuid.UUID | None = Field(default=None, foreign_key="quote.id")
    due_on: date | None = None  # defaults to the company's invoice due days after issue
    notes: str | None = None


class Invoice(InvoiceBase, table=True):
    __table_args__ = (UniqueConstraint("company_id", "number"),)
    id: uuid.UUID = id_field()
    company_id: uuid.UUID = company_field()
    due_on: date  # set when the invoice is made
    number: int  # per company, from Company.next_invoice_number
    status: InvoiceStatus = Field(default=InvoiceStatus.draft, sa_type=enum_type(InvoiceStatus), index=True)
    currency: str = "usd"
    tax_rate_bps: int = 0
    subtotal_cents: int = 0
    tax_cents: int = 0
    total_cents: int = 0
    amount_paid_cents: int = 0
    issued_on: date
    sent_at: datetime | None = timestamp()
    viewed_at: datetime | None = timestamp()
    paid_at: datetime | None = timestamp()
    voided_at: datetime | None = timestamp()
    created_at: datetime = timestamp(nullable=False, default_now=True, index=True)

    @property
    def balance_due_cents(self) -> int:
        return self.total_cents - self.amount_paid_cents


class InvoiceCreate(InvoiceBase):
    line_items: list[LineItemIn] = Field(default_factory=list)


class InvoiceUpdate(SQLModel):
    due_on: date | None = None
    notes: str | None = None
    line_items: list[LineItemIn] | None = None  # only while Draft


class InvoiceSummary(InvoiceBase):
    """An invoice as lists show it."""

    id: uuid.UUID
    number: int
    status: InvoiceStatus
    currency: str
    due_on: date
    tax_rate_bps: int
    subtotal_cents: int
    tax_cents: int
    total_cents: int
    amount_paid_cents: int
    balance_due_cents: int
    issued_on: date
    sent_at: datetime | None
    paid_at: datetime | None
    voided_at: datetime | None
    created_at: datetime


class InvoicePublic(InvoiceSummary):
    """One invoice in full: its lines and its workflow in the Temporal UI."""

    line_items: list[LineItemPublic] = []
    workflow_id: str
    workflow_url: str


class Payment(SQLModel, table=True):
    id: uuid.UUID = id_field()
    company_id: uuid.UUID = company_field()
    invoice_id: uuid.UUID = Field(foreign_key="invoice.id", index=True)
    amount_cents: int = Field(gt=0)
    method: PaymentMethod = Field(sa_type=enum_type(PaymentMethod))
    reference: str | None = None  # check number, provider payment id …
    received_on: date
    recorded_by_id: uuid.UUID | None = Field(default=None, foreign_key="user.id")
    # Derived from the workflow step, so an activity retried after it committed records nothing twice.
    idempotency_key: str = Field(unique=True)
    created_at: datetime = timestamp(nullable=False, default_now=True)


class PaymentPublic(SQLModel):
    id: uuid.UUID
    invoice_id: uuid.UUID
    amount_cents: int
    method: PaymentMethod
    reference: str | None
    received_on: date
    created_at: datetime


class MarkPaidRequest(SQLModel):
    method: PaymentMethod = PaymentMethod.cash
    reference: str | None = Field(default=None, max_length=200)
    received_on: date | None = None  # today in the company's time zone when left out
