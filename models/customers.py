"""Customers, their properties and the equipment installed there."""

import uuid
from datetime import date, datetime

from pydantic import EmailStr
from sqlmodel import Field, SQLModel

from models.base import company_field, id_field, timestamp
from models.validation import Phone


class CustomerBase(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr | None = Field(default=None, max_length=254)
    phone: Phone | None = None
    address: str | None = None
    city: str | None = Field(default=None, max_length=120)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lng: float | None = Field(default=None, ge=-180, le=180)
    notes: str | None = None
    location_id: uuid.UUID | None = Field(default=None, foreign_key="location.id")


class Customer(CustomerBase, table=True):
    id: uuid.UUID = id_field()
    company_id: uuid.UUID = company_field()
    email: str | None = Field(default=None, max_length=254)
    # Consent is recorded with when and how it was given (web form, STOP/START reply, office).
    sms_consent: bool = False
    sms_consent_at: datetime | None = timestamp()
    sms_consent_source: str | None = None
    # Card on file: only the provider's ids and what is safe to show.
    stripe_customer_id: str | None = None
    card_payment_method_id: str | None = None
    card_brand: str | None = None
    card_last4: str | None = None
    auto_charge_consent: bool = False
    active: bool = True
    created_at: datetime = timestamp(nullable=False, default_now=True, index=True)


class CustomerCreate(CustomerBase):
    sms_consent: bool = False
    sms_consent_source: str | None = None


class CustomerUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: EmailStr | None = Field(default=None, max_length=254)
    phone: Phone | None = None
    address: str | None = None
    city: str | None = Field(default=None, max_length=120)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lng: float | None = Field(default=None, ge=-180, le=180)
    notes: str | None = None
    location_id: uuid.UUID | None = None
    sms_consent: bool | None = None
    sms_consent_source: str | None = None
    active: bool | None = None


class CustomerPublic(CustomerBase):
    id: uuid.UUID
    sms_consent: bool
    sms_consent_at: datetime | None
    sms_consent_source: str | None
    card_brand: str | None
    card_last4: str | None
    auto_charge_consent: bool
    active: bool
    created_at: datetime


class PropertyBase(SQLModel):
    customer_id: uuid.UUID = Field(foreign_key="customer.id", index=True, ondelete="CASCADE")
    name: str = Field(min_length=1, max_length=200)
    address: str | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lng: float | None = Field(default=None, ge=-180, le=180)
    building_type: str | None = None
    square_feet: int | None = Field(default=None, ge=0)


class Property(PropertyBase, table=True):
    id: uuid.UUID = id_field()
    company_id: uuid.UUID = company_field()


class Equipment(SQLModel, table=True):
    id: uuid.UUID = id_field()
    company_id: uuid.UUID = company_field()
    customer_id: uuid.UUID = Field(foreign_key="customer.id", index=True, ondelete="CASCADE")
    property_id: uuid.UUID | None = Field(default=None, foreign_key="property.id")
    name: str
    kind: str | None = None  # water heater, HVAC unit, sump pump …
    serial_number: str | None = None
    installed_on: date | None = None
    warranty_until: date | None = None
    maintenance_interval_months: int | None = Field(default=None, ge=1)
