"""Quotes: estimates a customer accepts (and signs) before work is scheduled."""

import uuid
from datetime import date, datetime

from sqlmodel import Field, SQLModel

from models.base import company_field, enum_type, id_field, timestamp
from models.enums import OptionGroup, QuoteStatus
from models.line_items import LineItemIn, LineItemPublic

QUOTE_VALID_DAYS = 30


class QuoteBase(SQLModel):
    customer_id: uuid.UUID = Field(foreign_key="customer.id", index=True)
    title: str = Field(min_length=1, max_length=200)
    notes: str | None = None
    expires_on: date | None = None  # defaults to 30 days after creation


class Quote(QuoteBase, table=True):
    id: uuid.UUID = id_field()
    expires_on: date  # set when the quote is made
    company_id: uuid.UUID = company_field()
    status: QuoteStatus = Field(default=QuoteStatus.draft, sa_type=enum_type(QuoteStatus), index=True)
    tax_rate_bps: int = 0  # the company's rate when the quote was made
    chosen_option_group: OptionGroup | None = Field(default=None, sa_type=enum_type(OptionGroup))
    subtotal_cents: int = 0
    tax_cents: int = 0
    total_cents: int = 0
    signed_name: str | None = None
    sent_at: datetime | None = timestamp()
    viewed_at: datetime | None = timestamp()  # first opened by the customer
    accepted_at: datetime | None = timestamp()
    declined_at: datetime | None = timestamp()
    decline_reason: str | None = None
    # The customer saved a card or chose not to: the portal moves on to picking a time.
    card_step_done_at: datetime | None = timestamp()
    created_at: datetime = timestamp(nullable=False, default_now=True, index=True)


class QuoteCreate(QuoteBase):
    line_items: list[LineItemIn] = Field(default_factory=list)


class QuoteUpdate(SQLModel):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    notes: str | None = None
    expires_on: date | None = None
    line_items: list[LineItemIn] | None = None  # replaces every line when given


class QuoteSummary(QuoteBase):
    """A quote as lists show it."""

    id: uuid.UUID
    status: QuoteStatus
    expires_on: date
    tax_rate_bps: int
    chosen_option_group: OptionGroup | None
    subtotal_cents: int
    tax_cents: int
    total_cents: int
    signed_name: str | None
    sent_at: datetime | None
    viewed_at: datetime | None
    accepted_at: datetime | None
    declined_at: datetime | None
    decline_reason: str | None
    created_at: datetime


class QuotePublic(QuoteSummary):
    """One quote in full: its priced lines, the customer's link and its workflow in the Temporal UI."""

    line_items: list[LineItemPublic] = []
    portal_url: str | None = None  # once sent
    job_id: uuid.UUID | None = None  # the job the customer booked
    invoice_id: uuid.UUID | None = None
    workflow_id: str
    workflow_url: str
