"""Purchasing rules, pure: which status a purchase order may take next, and how many of an item to order.

Stock on hand may be negative (a technician logged more than the shelf held); what is on order is the
outstanding quantity (ordered minus received) on the company's draft and sent purchase orders.
"""

import math
from decimal import Decimal

from models.enums import PurchaseOrderStatus
from models.states import TransitionError

_P = PurchaseOrderStatus
PURCHASE_ORDER_TRANSITIONS: dict[PurchaseOrderStatus, set[PurchaseOrderStatus]] = {
    _P.draft: {_P.sent, _P.cancelled},
    # Back to draft only when the supplier's mail server refused the email: the order never went out.
    _P.sent: {_P.received, _P.cancelled, _P.draft},
    _P.received: set(),
    _P.cancelled: set(),
}
OPEN = (_P.draft, _P.sent)  # what they hold is on order


def check_purchase_order_transition(current: PurchaseOrderStatus, target: PurchaseOrderStatus) -> None:
    if current == target:
        raise TransitionError(f"purchase order is already {current.value}")
    if target not in PURCHASE_ORDER_TRANSITIONS[current]:
        raise TransitionError(f"a purchase order cannot go from {current.value} to {target.value}")


def par_error(reorder_point: int, par_level: int | None) -> str | None:
    """Why a par level cannot work with the reorder point, or None."""
    if par_level is not None and par_level <= reorder_point:
        return "the par level (stock a reorder brings back) must be above the reorder point"
    return None


def target_stock(reorder_point: int, reorder_quantity: int, par_level: int | None) -> int:
    """The stock a reorder brings the item back to: its par level, or else one reorder quantity above
    the reorder point (the classic min/max rule)."""
    return par_level if par_level is not None else reorder_point + reorder_quantity


def reorder_quantity(
    on_hand: int, on_order: int, reorder_point: int, reorder_qty: int, par_level: int | None
) -> int:
    """How many to order for an item at or below its reorder point: back up to its target stock,
    counting what is already on order, and at least the reorder quantity (the supplier's pack or
    minimum). 0 when what is on order already lifts it above the reorder point."""
    available = on_hand + on_order
    if available > reorder_point:
        return 0
    gap = target_stock(reorder_point, reorder_qty, par_level) - available
    return max(gap, reorder_qty) if gap > 0 else 0


def shortfall_quantity(need: int, on_hand: int, on_order: int, reorder_qty: int) -> int:
    """How many to order so upcoming jobs' `need` is covered by stock and what is on order (at least the
    reorder quantity once anything is short); 0 when it is covered."""
    short = need - (on_hand + on_order)
    return max(short, reorder_qty) if short > 0 else 0


def parts_needed(per_service: int, line_quantity: Decimal) -> int:
    """Units of a part a job line uses: the service's usual count times the line's quantity, rounded up
    (half an hour of a service that uses one filter still takes the filter)."""
    return math.ceil(per_service * Decimal(line_quantity))
