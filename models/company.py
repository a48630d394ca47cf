"""The tenant and the people in it: companies, locations, team members, sessions and API keys."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from pydantic import EmailStr, field_validator
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from models.base import company_field, enum_type, id_field, timestamp
from models.enums import ApiKeyScope, PlanTier, Role
from models.validation import (
    Phone,
    check_business_hours,
    check_colour,
    check_currency,
    check_timezone,
)

DEFAULT_BUSINESS_HOURS = {
    day: {"open": "08:00", "close": "17:00"} for day in ("mon", "tue", "wed", "thu", "fri")
} | {"sat": None, "sun": None}


class CompanyBase(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    timezone: str = "America/Chicago"
    # {"mon": {"open": "08:00", "close": "17:00"}, ..., "sun": null}; null means closed.
    business_hours: dict = Field(default_factory=lambda: dict(DEFAULT_BUSINESS_HOURS), sa_type=JSONB)
    brand_colour: str = "#1f6feb"
    plan: PlanTier = Field(default=PlanTier.solo, sa_type=enum_type(PlanTier))
    phone: Phone | None = None
    sms_number: Phone | None = None  # the company's Twilio number
    invoice_due_days: int = Field(default=30, ge=0, le=365)
    tax_rate_bps: int = Field(default=0, ge=0, le=10_000)  # 825 = 8.25 %
    currency: str = "usd"
    card_on_file_enabled: bool = False
    require_card_for_acceptance: bool = False
    ai_daily_budget_cents: int | None = Field(default=None, ge=0)
    owner_ai_outage_sms: bool = True
    stripe_account_id: str | None = None
    review_url: str | None = Field(default=None, max_length=500)  # where happy customers leave a review

    _tz = field_validator("timezone")(check_timezone)
    _colour = field_validator("brand_colour")(check_colour)
    _hours = field_validator("business_hours")(check_business_hours)
    _currency = field_validator("currency")(check_currency)


class Company(CompanyBase, table=True):
    id: uuid.UUID = id_field()
    # Inbound texts find their company by the number they were sent to: one company per number.
    sms_number: str | None = Field(default=None, unique=True)
    next_invoice_number: int = 1001
    created_at: datetime = timestamp(nullable=False, default_now=True)


class CompanyUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    timezone: str | None = None
    business_hours: dict | None = None
    brand_colour: str | None = None
    phone: Phone | None = None
    sms_number: Phone | None = None
    invoice_due_days: int | None = Field(default=None, ge=0, le=365)
    tax_rate_bps: int | None = Field(default=None, ge=0, le=10_000)
    currency: str | None = None
    card_on_file_enabled: bool | None = None
    require_card_for_acceptance: bool | None = None
    owner_ai_outage_sms: bool | None = None
    review_url: str | None = Field(default=None, max_length=500)

    _tz = field_validator("timezone")(check_timezone)
    _colour = field_validator("brand_colour")(check_colour)
    _hours = field_validator("business_hours")(check_business_hours)
    _currency = field_validator("currency")(check_currency)


class CompanyPublic(CompanyBase):
    id: uuid.UUID


class Location(SQLModel, table=True):
    id: uuid.UUID = id_field()
    company_id: uuid.UUID = company_field()
    name: str
    address: str | None = None


class UserBase(SQLModel):
    email: EmailStr = Field(max_length=254)
    name: str = Field(min_length=1, max_length=200)
    phone: Phone | None = None
    role: Role = Field(default=Role.technician, sa_type=enum_type(Role))
    hourly_rate_cents: int = Field(default=0, ge=0)
    skills: list[str] = Field(default_factory=list, sa_type=JSONB)
    home_address: str | None = None
    home_lat: float | None = Field(default=None, ge=-90, le=90)
    home_lng: float | None = Field(default=None, ge=-180, le=180)
    sms_number: Phone | None = None  # a Twilio number assigned to this technician
    location_id: uuid.UUID | None = Field(default=None, foreign_key="location.id")


class User(UserBase, table=True):
    """A team member. Deactivated members keep their history; they just cannot sign in."""

    id: uuid.UUID = id_field()
    company_id: uuid.UUID = company_field()
    email: str = Field(sa_column=sa.Column(sa.String(254), unique=True, nullable=False))
    password_hash: str | None = None
    active: bool = True
    created_at: datetime = timestamp(nullable=False, default_now=True)


class UserCreate(UserBase):
    password: str = Field(min_length=10, max_length=200)


class UserUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    phone: Phone | None = None
    role: Role | None = None
    hourly_rate_cents: int | None = Field(default=None, ge=0)
    skills: list[str] | None = None
    home_address: str | None = None
    home_lat: float | None = Field(default=None, ge=-90, le=90)
    home_lng: float | None = Field(default=None, ge=-180, le=180)
    sms_number: Phone | None = None
    location_id: uuid.UUID | None = None
    active: bool | None = None


class UserPublic(UserBase):
    id: uuid.UUID
    active: bool


class UserSession(SQLModel, table=True):
    """A signed-in browser. Only the token's SHA-256 digest is stored."""

    __tablename__ = "user_session"

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    token_digest: str = Field(unique=True)
    csrf_token: str
    expires_at: datetime = timestamp(nullable=False)
    created_at: datetime = timestamp(nullable=False, default_now=True)


class LoginThrottle(SQLModel, table=True):
    """Failed sign-ins per email (known or not) and per client address ("ip:…"), so guessing passwords
    gets slow, whether at one account or one password across many."""

    __tablename__ = "login_throttle"

    email: str = Field(primary_key=True)  # the email, or "ip:<address>"
    failures: int = 0
    locked_until: datetime | None = timestamp()
    last_failure_at: datetime | None = timestamp()


class ApiKey(SQLModel, table=True):
    """An integrator's key: `nxj_live_…`, shown once; the SHA-256 digest is what we keep."""

    __tablename__ = "api_key"

    id: uuid.UUID = id_field()
    company_id: uuid.UUID = company_field()
    name: str
    prefix: str  # first characters, so people can tell keys apart
    digest: str = Field(unique=True)
    scope: ApiKeyScope = Field(default=ApiKeyScope.read, sa_type=enum_type(ApiKeyScope))
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = timestamp(nullable=False, default_now=True)
    last_used_at: datetime | None = timestamp()
    revoked_at: datetime | None = timestamp()


class ApiKeyCreate(SQLModel):
    name: str = Field(min_length=1, max_length=100)
    scope: ApiKeyScope = ApiKeyScope.read


class ApiKeyPublic(SQLModel):
    id: uuid.UUID
    name: str
    prefix: str
    scope: ApiKeyScope
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str  # the only time the full key is shown
