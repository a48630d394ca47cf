"""The company's service catalogue: what it sells, at what price and with which skill."""

import uuid

from sqlmodel import Field, SQLModel

from models.base import company_field, id_field


class ServiceBase(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = None
    price_cents: int = Field(ge=0)
    taxable: bool = True
    default_duration_minutes: int = Field(default=60, ge=5, le=24 * 60)
    required_skill: str | None = None
    active: bool = True


class Service(ServiceBase, table=True):
    id: uuid.UUID = id_field()
    company_id: uuid.UUID = company_field()


class ServiceCreate(ServiceBase):
    pass


class ServiceUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = None
    price_cents: int | None = Field(default=None, ge=0)
    taxable: bool | None = None
    default_duration_minutes: int | None = Field(default=None, ge=5, le=24 * 60)
    required_skill: str | None = None
    active: bool | None = None


class ServicePublic(ServiceBase):
    id: uuid.UUID
