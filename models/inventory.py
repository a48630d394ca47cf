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
    reorder_point: int = Field(default=0, ge=0)  # at or below this, the item is low and gets reordered
    reorder_quantity: int = Field(default=0, ge=0)  # the least a reorder asks for (a pack, a minimum)
    # The stock a reorder brings the item back to; unset: one reorder quantity above the reorder point.
    par_level: int | None = Field(default=None, ge=0)
    unit_cost_cents: int = Field(default=0, ge=0)  # what the company pays: job costing and purchase orders
    price_cents: int = Field(default=0, ge=0)  # what the customer pays when it is used on a job
    supplier_id: uuid.UUID | None = Field(default=None, foreign_key="supplier.id")


class InventoryItem(InventoryItemBase, table=True):
    __tablename__ = "inventory_item"
    __table_args__ = (UniqueConstraint("company_id", "sku"),)
    id: uuid.UUID = id_field()
    company_id: uuid.UUID = company_field()
    # Negative when technicians logged more than the shelf held: shown as it is, never clamped.
    quantity: int = 0

    @property
    def low_stock(self) -> bool:
        return self.quantity <= self.reorder_point


class InventoryItemCreate(InventoryItemBase):
    quantity: int = Field(default=0, ge=0)


class InventoryItemUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    sku: str | None = Field(default=None, min_length=1, max_length=64)
    quantity: int | None = Field(default=None, ge=0)  # a count of the shelf
    reorder_point: int | None = Field(default=None, ge=0)
    reorder_quantity: int | None = Field(default=None, ge=0)
    par_level: int | None = Field(default=None, ge=0)
    unit_cost_cents: int | None = Field(default=None, ge=0)
    price_cents: int | None = Field(default=None, ge=0)
    supplier_id: uuid.UUID | None = None


class InventoryItemPublic(InventoryItemBase):
    id: uuid.UUID
    quantity: int
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
    cancelled_at: datetime | None = timestamp()
    created_at: datetime = timestamp(nullable=False, default_now=True)


class PurchaseOrderLine(SQLModel, table=True):
    __tablename__ = "purchase_order_line"
    # One line per item: a second need for the same item raises that line's quantity.
    __table_args__ = (UniqueConstraint("purchase_order_id", "inventory_item_id"),)
    id: uuid.UUID = id_field()
    company_id: uuid.UUID = company_field()
    purchase_order_id: uuid.UUID = Field(foreign_key="purchase_order.id", index=True, ondelete="CASCADE")
    inventory_item_id: uuid.UUID = Field(foreign_key="inventory_item.id")
    quantity: int = Field(gt=0)
    quantity_received: int = Field(default=0, ge=0)
    unit_cost_cents: int = Field(ge=0)


class PurchaseOrderLineIn(SQLModel):
    inventory_item_id: uuid.UUID
    quantity: int = Field(gt=0, le=100_000)
    unit_cost_cents: int | None = Field(default=None, ge=0)  # unset: the item's unit cost


class PurchaseOrderCreate(SQLModel):
    supplier_id: uuid.UUID
    notes: str | None = Field(default=None, max_length=2000)
    lines: list[PurchaseOrderLineIn] = Field(default_factory=list)


class PurchaseOrderUpdate(SQLModel):
    notes: str | None = Field(default=None, max_length=2000)
    lines: list[PurchaseOrderLineIn] | None = None  # given: replaces every line


class PurchaseOrderLinePublic(SQLModel):
    id: uuid.UUID
    inventory_item_id: uuid.UUID
    item_name: str
    sku: str
    quantity: int
    quantity_received: int
    unit_cost_cents: int
    amount_cents: int


class PurchaseOrderSummary(SQLModel):
    """A purchase order as lists show it."""

    id: uuid.UUID
    number: int
    supplier_id: uuid.UUID
    status: PurchaseOrderStatus
    notes: str | None
    sent_at: datetime | None
    received_at: datetime | None
    cancelled_at: datetime | None
    created_at: datetime


class PurchaseOrderPublic(PurchaseOrderSummary):
    """One purchase order in full: its supplier, lines, total and its workflow in the Temporal UI."""

    supplier_name: str
    supplier_email: str | None
    lines: list[PurchaseOrderLinePublic]
    total_cents: int
    workflow_id: str
    workflow_url: str


class ReceiveLine(SQLModel):
    line_id: uuid.UUID
    quantity: int = Field(gt=0)


class ReceiveRequest(SQLModel):
    lines: list[ReceiveLine] | None = None  # unset or empty: everything still outstanding


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
    # The line it put on the job (and so on its invoice); undoing the usage removes that line.
    job_line_item_id: uuid.UUID | None = Field(
        default=None, foreign_key="job_line_item.id", ondelete="SET NULL"
    )
    created_at: datetime = timestamp(nullable=False, default_now=True)


class PartUsageCreate(SQLModel):
    inventory_item_id: uuid.UUID
    quantity: int = Field(gt=0, le=10_000)
    notes: str | None = Field(default=None, max_length=1000)


class PartUsagePublic(SQLModel):
    id: uuid.UUID
    job_id: uuid.UUID
    inventory_item_id: uuid.UUID
    item_name: str
    sku: str
    quantity: int
    unit_cost_cents: int
    cost_cents: int  # quantity × unit cost when used
    unit_price_cents: int | None  # the line's price on the job; None when the line was edited away
    notes: str | None
    used_by_id: uuid.UUID | None
    job_line_item_id: uuid.UUID | None
    created_at: datetime


class PartLogged(PartUsagePublic):
    """A usage just logged, with the stock it left."""

    stock_after: int
    # Units logged beyond what the shelf held (stock went negative): the office should count the shelf.
    short_by: int


class JobPartsPublic(SQLModel):
    data: list[PartUsagePublic]
    count: int
    parts_cost_cents: int  # job costing: what the parts cost the company
    parts_price_cents: int  # what the parts' lines charge the customer (before tax)
