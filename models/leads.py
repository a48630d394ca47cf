"""Leads: people who asked about work but are not customers yet."""

import uuid
from datetime import datetime

from pydantic import EmailStr
from sqlmodel import Field, SQLModel

from models.base import company_field, enum_type, id_field, timestamp
from models.enums import LeadStatus
from models.validation import Phone


class LeadBase(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr | None = Field(default=None, max_length=254)
    phone: Phone | None = None
    address: str | None = None
    source: str | None = Field(default=None, max_length=100)  # website, sms, phone, referral …
    notes: str | None = None
    status: LeadStatus = Field(default=LeadStatus.new, sa_type=enum_type(LeadStatus))
    score: int | None = Field(default=None, ge=0, le=100)
    customer_id: uuid.UUID | None = Field(default=None, foreign_key="customer.id")


class Lead(LeadBase, table=True):
    id: uuid.UUID = id_field()
    company_id: uuid.UUID = company_field()
    email: str | None = Field(default=None, max_length=254)
    created_at: datetime = timestamp(nullable=False, default_now=True)


class LeadCreate(LeadBase):
    pass


class LeadUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: EmailStr | None = Field(default=None, max_length=254)
    phone: Phone | None = None
    address: str | None = None
    source: str | None = Field(default=None, max_length=100)
    notes: str | None = None
    status: LeadStatus | None = None
    score: int | None = Field(default=None, ge=0, le=100)
    customer_id: uuid.UUID | None = None


class LeadPublic(LeadBase):
    id: uuid.UUID
    created_at: datetime
