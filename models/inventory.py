"""Parts: stock on hand, suppliers, purchase orders and what each job used."""

import uuid
from datetime import datetime

from pydantic import EmailStr
from sqlmodel import Field, SQLModel, UniqueConstraint

from models.base import company_field, enum_type, id_field, timestamp
from models.enums import PurchaseOrderStatus
from models.validation import Phone


class SupplierBase(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr | None = Field(default=None, max_length=254)
    phone: Phone | None = None
    account_number: str | None = Field(default=None, max_length=100)
    preferred: bool = False
    notes: str | None = None


class Supplier(SupplierBase, table=True):
    id: uuid.UUID = id_field()
    company_id: uuid.UUID = company_field()
    email: str | None = Field(default=None, max_length=254)


class SupplierCreate(SupplierBase):
    pass


class SupplierUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: EmailStr | None = Field(default=None, max_length=254)
    phone: Phone | None = None
    account_number: str | None = Field(default=None, max_length=100)
    preferred: bool | None = None
    notes: str | None = None


class SupplierPublic(SupplierBase):
    id: uuid.UUID


class InventoryItemBase(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(default=0, ge=0)
    reorder_point: int = Field(default=0, ge=0)
    reorder_quantity: int = Field(default=0, ge=0)
    unit_cost_cents: int = Field(default=0, ge=0)
    supplier_id: uuid.UUID | None = Field(default=None, foreign_key="supplier.id")


class InventoryItem(InventoryItemBase, table=True):
    __tablename__ = "inventory_item"
    __table_args__ = (UniqueConstraint("company_id", "sku"),)
    id: uuid.UUID = id_field()
    company_id: uuid.UUID = company_field()

    @property
    def low_stock(self) -> bool:
        return self.quantity < self.reorder_point


class InventoryItemCreate(InventoryItemBase):
    pass


class InventoryItemUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    sku: str | None = Field(default=None, min_length=1, max_length=64)
    quantity: int | None = Field(default=None, ge=0)
    reorder_point: int | None = Field(default=None, ge=0)
    reorder_quantity: int | None = Field(default=None, ge=0)
    unit_cost_cents: int | None = Field(default=None, ge=0)
    supplier_id: uuid.UUID | None = None


class InventoryItemPublic(InventoryItemBase):
    id: uuid.UUID
    low_stock: bool


class PurchaseOrder(SQLModel, table=True):
    __tablename__ = "purchase_order"
    __table_args__ = (UniqueConstraint("company_id", "number"),)
    id: uuid.UUID = id_field()
    company_id: uuid.UUID = company_field()
    supplier_id: uuid.UUID = Field(foreign_key="supplier.id", index=True)
    number: int
    status: PurchaseOrderStatus = Field(
        default=PurchaseOrderStatus.draft, sa_type=enum_type(PurchaseOrderStatus)
    )
    notes: str | None = None
    sent_at: datetime | None = timestamp()
    received_at: datetime | None = timestamp()
    created_at: datetime = timestamp(nullable=False, default_now=True)


class PurchaseOrderLine(SQLModel, table=True):
    __tablename__ = "purchase_order_line"
    id: uuid.UUID = id_field()
    company_id: uuid.UUID = company_field()
    purchase_order_id: uuid.UUID = Field(foreign_key="purchase_order.id", index=True, ondelete="CASCADE")
    inventory_item_id: uuid.UUID = Field(foreign_key="inventory_item.id")
    quantity: int = Field(gt=0)
    unit_cost_cents: int = Field(ge=0)


class PartUsage(SQLModel, table=True):
    __tablename__ = "part_usage"
    id: uuid.UUID = id_field()
    company_id: uuid.UUID = company_field()
    job_id: uuid.UUID = Field(foreign_key="job.id", index=True)
    inventory_item_id: uuid.UUID = Field(foreign_key="inventory_item.id", index=True)
    quantity: int = Field(gt=0)
    unit_cost_cents: int = Field(ge=0)  # cost when used, for job costing
    notes: str | None = None
    used_by_id: uuid.UUID | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = timestamp(nullable=False, default_now=True)
