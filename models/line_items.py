"""Line items shared by quotes, jobs and invoices: the same shape, so one totals function prices them all."""

import uuid
from decimal import Decimal

from pydantic import model_validator
from sqlmodel import Field, SQLModel

from models.base import company_field, enum_type, id_field
from models.enums import OptionGroup


class LineItemBase(SQLModel):
    service_id: uuid.UUID | None = Field(default=None, foreign_key="service.id", ondelete="SET NULL")
    description: str = Field(min_length=1, max_length=500)
    quantity: Decimal = Field(default=Decimal(1), gt=0, max_digits=10, decimal_places=2)
    unit_price_cents: int = Field(ge=0)
    taxable: bool = True
    # Quotes only: optional add-ons the customer toggles, and Good/Better/Best tiers.
    optional: bool = False
    option_group: OptionGroup | None = Field(default=None, sa_type=enum_type(OptionGroup))
    selected: bool = True

    @model_validator(mode="after")
    def _tiers_are_optional(self):
        if self.option_group is not None and not self.optional:
            raise ValueError("an item in an option group (good/better/best) must be optional")
        return self


class LineItemIn(LineItemBase):
    """A line as the API accepts it; a `service_id` alone fills description and price from the catalogue."""

    description: str | None = Field(default=None, min_length=1, max_length=500)
    unit_price_cents: int | None = Field(default=None, ge=0)
    taxable: bool | None = None


class LineItemPublic(LineItemBase):
    id: uuid.UUID
    position: int
    amount_cents: int


class QuoteLineItem(LineItemBase, table=True):
    __tablename__ = "quote_line_item"
    id: uuid.UUID = id_field()
    company_id: uuid.UUID = company_field()
    quote_id: uuid.UUID = Field(foreign_key="quote.id", index=True, ondelete="CASCADE")
    position: int = 0


class JobLineItem(LineItemBase, table=True):
    __tablename__ = "job_line_item"
    id: uuid.UUID = id_field()
    company_id: uuid.UUID = company_field()
    job_id: uuid.UUID = Field(foreign_key="job.id", index=True, ondelete="CASCADE")
    position: int = 0


class InvoiceLineItem(LineItemBase, table=True):
    __tablename__ = "invoice_line_item"
    id: uuid.UUID = id_field()
    company_id: uuid.UUID = company_field()
    invoice_id: uuid.UUID = Field(foreign_key="invoice.id", index=True, ondelete="CASCADE")
    position: int = 0


def carried_over(lines, table: type[SQLModel], **parent) -> list[SQLModel]:
    """The lines of one document carried onto the next (a quote's accepted lines onto its job, a job's
    onto its invoice): what was sold, in order, now plain required lines."""
    return [
        table(
            position=position,
            service_id=line.service_id,
            description=line.description,
            quantity=line.quantity,
            unit_price_cents=line.unit_price_cents,
            taxable=line.taxable,
            **parent,
        )
        for position, line in enumerate(sorted(lines, key=lambda row: row.position))
    ]
