"""The one pricing function: line amounts, selected add-ons, tax and the grand total.

Quotes, invoices and the customer portal all price through `compute_totals`, so the figure a customer
accepts is the figure they are invoiced. Amounts are integer cents; halves round away from zero.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from models.enums import OptionGroup


class PricedLine(Protocol):
    quantity: Decimal
    unit_price_cents: int
    taxable: bool
    optional: bool
    option_group: OptionGroup | None
    selected: bool


@dataclass(frozen=True)
class Totals:
    line_amounts_cents: list[int]  # every line's amount, in order, whether counted or not
    counted: list[bool]  # which lines are in the total
    subtotal_cents: int
    tax_cents: int
    total_cents: int


def round_cents(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def line_amount_cents(line: PricedLine) -> int:
    return round_cents(Decimal(line.quantity) * line.unit_price_cents)


def is_counted(line: PricedLine, chosen_group: OptionGroup | None) -> bool:
    """Required lines always count; a tiered line counts when its tier is chosen; an add-on when selected."""
    if not line.optional:
        return True
    if line.option_group is not None:
        return line.option_group == chosen_group
    return line.selected


def compute_totals(
    lines: Iterable[PricedLine], tax_rate_bps: int, chosen_group: OptionGroup | None = None
) -> Totals:
    lines = list(lines)
    amounts = [line_amount_cents(line) for line in lines]
    counted = [is_counted(line, chosen_group) for line in lines]
    subtotal = sum(a for a, c in zip(amounts, counted, strict=True) if c)
    taxable = sum(a for a, c, line in zip(amounts, counted, lines, strict=True) if c and line.taxable)
    # Tax once on the taxable sum, not per line, so a many-line invoice does not drift by cents.
    tax = round_cents(Decimal(taxable) * tax_rate_bps / 10_000)
    return Totals(amounts, counted, subtotal, tax, subtotal + tax)
