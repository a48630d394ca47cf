"""The one way the API reaches tenant-owned rows: always inside the caller's company.

Another company's id looks exactly like a missing one (404), so ids cannot be probed.
"""

import uuid
from typing import TypeVar

from fastapi import HTTPException, status
from fastapi.exceptions import RequestValidationError
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from api.principal import Principal
from models.catalog import Service
from models.company import Location, User
from models.customers import Customer, Property
from models.inventory import InventoryItem, Supplier
from models.invoices import Invoice
from models.jobs import Job
from models.quotes import Quote

T = TypeVar("T", bound=SQLModel)

# Body fields that point at another tenant-owned row, and the table they point into.
REFERENCES: dict[str, type[SQLModel]] = {
    "customer_id": Customer,
    "property_id": Property,
    "location_id": Location,
    "assigned_user_id": User,
    "service_id": Service,
    "supplier_id": Supplier,
    "inventory_item_id": InventoryItem,
    "job_id": Job,
    "quote_id": Quote,
    "invoice_id": Invoice,
}


def label(model: type[SQLModel]) -> str:
    return model.__tablename__.replace("_", " ")


def owned(model: type[T], principal: Principal) -> SelectOfScalar[T]:
    return select(model).where(model.company_id == principal.company_id)


async def get_owned(session: AsyncSession, model: type[T], id: uuid.UUID, principal: Principal) -> T:
    row = await session.get(model, id)
    if row is None or row.company_id != principal.company_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{label(model)} not found")
    return row


async def check_references(
    session: AsyncSession, principal: Principal, values: dict, loc: tuple = ("body",)
) -> None:
    """422 naming the field when a body points at a row that is not the caller's."""
    errors = []
    for field, value in values.items():
        model = REFERENCES.get(field)
        if model is None or value is None:
            continue
        row = await session.get(model, value)
        if row is None or row.company_id != principal.company_id:
            errors.append(
                {"loc": [*loc, field], "msg": f"no {label(model)} with this id", "type": "not_found"}
            )
    if errors:
        raise RequestValidationError(errors)
