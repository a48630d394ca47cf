"""The company's service catalogue: what it sells, at what price, with which skill and which parts."""

import uuid

from sqlmodel import Field, SQLModel, UniqueConstraint

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


class ServicePart(SQLModel, table=True):
    """A part a service usually consumes, and how many: auto parts ordering stocks up for booked jobs."""

    __tablename__ = "service_part"
    __table_args__ = (UniqueConstraint("service_id", "inventory_item_id"),)
    id: uuid.UUID = id_field()
    company_id: uuid.UUID = company_field()
    service_id: uuid.UUID = Field(foreign_key="service.id", index=True, ondelete="CASCADE")
    inventory_item_id: uuid.UUID = Field(foreign_key="inventory_item.id", index=True, ondelete="CASCADE")
    quantity: int = Field(gt=0)


class ServicePartIn(SQLModel):
    inventory_item_id: uuid.UUID
    quantity: int = Field(default=1, gt=0, le=1000)


class ServicePartsUpdate(SQLModel):
    parts: list[ServicePartIn]  # replaces the service's whole list; [] clears it


class ServicePartPublic(ServicePartIn):
    item_name: str
    sku: str
