"""Line items of quotes, jobs and invoices: from a request into rows, and rows into priced public lines.

A document's stored totals are written only here, by `replace_lines`, through the one pricing function.
"""

from collections.abc import Sequence

from fastapi.exceptions import RequestValidationError
from sqlmodel import SQLModel, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.principal import Principal
from models.catalog import Service
from models.enums import OptionGroup
from models.invoices import Invoice
from models.jobs import Job
from models.line_items import InvoiceLineItem, JobLineItem, LineItemIn, LineItemPublic, QuoteLineItem
from models.money import Totals, compute_totals
from models.quotes import Quote

# Each document's line table and the column pointing back at the document.
LINE_TABLES: dict[type, tuple[type[SQLModel], str]] = {
    Quote: (QuoteLineItem, "quote_id"),
    Job: (JobLineItem, "job_id"),
    Invoice: (InvoiceLineItem, "invoice_id"),
}


def _pricing(document) -> tuple[int, OptionGroup | None]:
    # Jobs carry no tax rate or tiers: their lines are priced untaxed, everything counted.
    return getattr(document, "tax_rate_bps", 0), getattr(document, "chosen_option_group", None)


async def public_lines(session: AsyncSession, document) -> list[LineItemPublic]:
    table, key = LINE_TABLES[type(document)]
    rows = (await session.exec(select(table).where(getattr(table, key) == document.id))).all()
    lines, _ = priced_lines(rows, *_pricing(document))
    return lines


async def replace_lines(
    session: AsyncSession, principal: Principal, document, items: Sequence[LineItemIn]
) -> None:
    """Replace every line of `document` and, for quotes and invoices, its stored totals."""
    table, key = LINE_TABLES[type(document)]
    await session.exec(delete(table).where(getattr(table, key) == document.id))
    rows = await build_lines(
        session, principal, items, table, allow_optional=isinstance(document, Quote), **{key: document.id}
    )
    session.add_all(rows)
    if hasattr(document, "total_cents"):
        _, totals = priced_lines(rows, *_pricing(document))
        document.subtotal_cents = totals.subtotal_cents
        document.tax_cents = totals.tax_cents
        document.total_cents = totals.total_cents


async def build_lines(
    session: AsyncSession,
    principal: Principal,
    items: Sequence[LineItemIn],
    row_model: type[SQLModel],
    *,
    allow_optional: bool,
    **parent,
) -> list[SQLModel]:
    """Rows for `items`, filling description, price and taxability from the catalogue when left out."""
    rows, errors = [], []
    for i, item in enumerate(items):
        loc = ["body", "line_items", i]
        values = item.model_dump()
        if item.service_id is not None:
            service = await session.get(Service, item.service_id)
            if service is None or service.company_id != principal.company_id:
                errors.append(
                    {"loc": [*loc, "service_id"], "msg": "no service with this id", "type": "not_found"}
                )
                continue
            defaults = {
                "description": service.name,
                "unit_price_cents": service.price_cents,
                "taxable": service.taxable,
            }
            values |= {k: v for k, v in defaults.items() if values[k] is None}
        for field in ("description", "unit_price_cents"):
            if values[field] is None:
                errors.append(
                    {"loc": [*loc, field], "msg": "required when no service_id is given", "type": "missing"}
                )
        if not allow_optional and (item.optional or item.option_group):
            errors.append(
                {"loc": [*loc, "optional"], "msg": "only quotes have optional items", "type": "value_error"}
            )
        values["taxable"] = True if values["taxable"] is None else values["taxable"]
        rows.append(row_model(**values, **parent, company_id=principal.company_id, position=i))
    if errors:
        raise RequestValidationError(errors)
    return rows


def priced_lines(rows: Sequence, tax_rate_bps: int, chosen_group: OptionGroup | None = None):
    """Public lines with their amounts, and the totals they add up to."""
    rows = sorted(rows, key=lambda r: r.position)
    totals: Totals = compute_totals(rows, tax_rate_bps, chosen_group)
    lines = [
        LineItemPublic.model_validate(row, update={"amount_cents": amount})
        for row, amount in zip(rows, totals.line_amounts_cents, strict=True)
    ]
    return lines, totals
