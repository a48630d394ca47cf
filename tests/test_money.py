from dataclasses import dataclass
from decimal import Decimal

from models.enums import OptionGroup
from models.money import compute_totals


@dataclass
class Line:
    quantity: Decimal
    unit_price_cents: int
    taxable: bool = True
    optional: bool = False
    option_group: OptionGroup | None = None
    selected: bool = True


def test_totals_add_lines_and_tax_on_taxable_only():
    lines = [Line(Decimal(2), 12_500), Line(Decimal(1), 9_900, taxable=False)]
    totals = compute_totals(lines, tax_rate_bps=825)
    assert totals.line_amounts_cents == [25_000, 9_900]
    assert totals.subtotal_cents == 34_900
    assert totals.tax_cents == 2_063  # 25_000 × 8.25 % = 2_062.5, rounded half up
    assert totals.total_cents == 36_963


def test_fractional_quantities_round_half_up_per_line():
    totals = compute_totals([Line(Decimal("1.5"), 333), Line(Decimal("0.25"), 2)], tax_rate_bps=0)
    assert totals.line_amounts_cents == [500, 1]  # 499.5 → 500, 0.5 → 1
    assert totals.total_cents == 501


def test_tax_is_rounded_once_on_the_sum_not_per_line():
    lines = [Line(Decimal(1), 10) for _ in range(10)]  # 0.825 ¢ tax each
    assert compute_totals(lines, tax_rate_bps=825).tax_cents == 8  # not 10 × 1


def test_unselected_add_ons_do_not_count_but_keep_their_amount():
    lines = [Line(Decimal(1), 10_000), Line(Decimal(1), 2_500, optional=True, selected=False)]
    totals = compute_totals(lines, tax_rate_bps=0)
    assert totals.line_amounts_cents == [10_000, 2_500]
    assert totals.counted == [True, False]
    assert totals.total_cents == 10_000


def test_only_the_chosen_tier_counts():
    tiers = [
        Line(Decimal(1), 100_000, optional=True, option_group=OptionGroup.good),
        Line(Decimal(1), 150_000, optional=True, option_group=OptionGroup.better),
        Line(Decimal(1), 220_000, optional=True, option_group=OptionGroup.best),
    ]
    lines = [Line(Decimal(1), 5_000), *tiers]
    assert compute_totals(lines, 0).total_cents == 5_000  # nothing chosen yet
    assert compute_totals(lines, 0, OptionGroup.better).total_cents == 155_000
    assert compute_totals(lines, 1_000, OptionGroup.best).total_cents == 225_000 + 22_500


def test_empty_document_totals_zero():
    totals = compute_totals([], tax_rate_bps=825)
    assert (totals.subtotal_cents, totals.tax_cents, totals.total_cents) == (0, 0, 0)
