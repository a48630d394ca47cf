"""Our customers, invoices and payments as QuickBooks Online's JSON, and QuickBooks' records as the fields
we sync. Pure functions: no I/O.

"Fields" are the comparable form both sides are reduced to. A mapping keeps QuickBooks' fields as of our
last sync (`synced`): ours differing from them is a change to push; QuickBooks' differing from them is an
edit made in QuickBooks.

Invoice lines are all booked to one QuickBooks Item ("Services"), with our description, quantity and
price; the invoice's tax goes in as its TotalTax.
"""

import uuid
from dataclasses import dataclass
from decimal import Decimal

from pydantic import EmailStr, TypeAdapter, ValidationError

from models.customers import Customer
from models.enums import PaymentMethod
from models.invoices import Invoice, Payment
from models.line_items import InvoiceLineItem
from models.money import line_amount_cents
from models.validation import Phone

CUSTOMER_FIELDS = ("name", "email", "phone", "address", "city", "active")
# What QuickBooks shows of ours: a conflict is an edit to one of these.
CUSTOMER_SHOWN = ("display_name", "email", "phone", "address", "city", "active")
PULLED = ("email", "phone", "address", "city")  # what a pull refreshes on a customer we have
SERVICES_ITEM = "Services"

_phone = TypeAdapter(Phone)
_email = TypeAdapter(EmailStr)
_CHECKED = {"phone": _phone, "email": _email}  # pulled values that must be valid here to be taken


def _cents(value) -> int:
    return int((Decimal(str(value or 0)) * 100).quantize(Decimal(1)))


def _dollars(cents: int) -> float:
    return cents / 100


def _quantity(value) -> str:
    return format(Decimal(str(1 if value in (None, "") else value)).normalize(), "f")


def _text(value) -> str | None:
    return (str(value).strip() or None) if value is not None else None


def _usable(adapter: TypeAdapter, value: str | None) -> str | None:
    """`value` in our form (a phone as E.164), or None when it cannot be used here."""
    if value is None:
        return None
    try:
        return str(adapter.validate_python(value))
    except ValidationError:
        return None


# customers


def customer_fields(customer: Customer) -> dict:
    return {name: getattr(customer, name) for name in CUSTOMER_FIELDS}


def remote_customer(record: dict) -> dict:
    address = record.get("BillAddr") or {}
    phone = _text((record.get("PrimaryPhone") or {}).get("FreeFormNumber"))
    return {
        "display_name": record.get("DisplayName"),
        "email": _text((record.get("PrimaryEmailAddr") or {}).get("Address")),
        "phone": _usable(_phone, phone) or phone,
        "address": _text(address.get("Line1")),
        "city": _text(address.get("City")),
        "active": record.get("Active", True),
    }


def display_names(name: str, customer_id: uuid.UUID) -> list[str]:
    """The name QuickBooks is to show, then (when another customer there has it) the same with a short
    suffix from our id: names never merge two customers."""
    return [name, f"{name} ({customer_id.hex[:6]})"]


def customer_body(ours: dict, changed: set[str], display_name: str | None) -> dict:
    """The QuickBooks fields for what `changed` names (all of them for a new customer)."""
    body = {}
    if display_name is not None:
        body["DisplayName"] = display_name
    if "email" in changed:
        body["PrimaryEmailAddr"] = {"Address": ours["email"] or ""}
    if "phone" in changed:
        body["PrimaryPhone"] = {"FreeFormNumber": ours["phone"] or ""}
    if changed & {"address", "city"}:
        body["BillAddr"] = {"Line1": ours["address"] or "", "City": ours["city"] or ""}
    if "active" in changed:
        body["Active"] = ours["active"]
    return body


@dataclass
class Pulled:
    """What a pull makes of a QuickBooks customer's email, phone and address."""

    taken: dict  # QuickBooks' values to set on ours: both sides hold them now
    clashes: list[str]  # changed here and in QuickBooks, to different values: ours kept, the office decides


def pulled(remote: dict, ours: dict, synced: dict) -> Pulled:
    """Each side's change to email, phone and address is told from `synced` (both sides' value at the last
    sync). A field only QuickBooks changed is taken; one only we changed is kept, for the next push; one
    changed on both sides to different values is a clash. So an empty field in QuickBooks blanks ours only
    when it held a value at the last sync (the bookkeeper cleared it). A value unusable here (a phone that
    is not a phone) leaves ours and `synced` as they are: QuickBooks' differing shows as its edit."""
    result = Pulled({}, [])
    for name in PULLED:
        was, theirs, mine = synced.get(name), remote[name], ours.get(name)
        adapter = _CHECKED.get(name)
        value = _usable(adapter, theirs) if adapter else theirs  # in our form (an email's domain lowercased)
        usable = theirs is None or value is not None
        if theirs == was or (usable and value == was):
            continue  # not changed in QuickBooks: ours stands, changed here or not
        if mine != was and (mine != value or not usable):
            result.clashes.append(name)
        elif usable:
            result.taken[name] = value
    return result


# invoices


def invoice_fields(invoice: Invoice, lines: list[InvoiceLineItem], customer_qbo_id: str | None) -> dict:
    return {
        "customer": customer_qbo_id,
        "number": str(invoice.number),
        "issued_on": invoice.issued_on.isoformat(),
        "due_on": invoice.due_on.isoformat(),
        "lines": [
            [line.description, _quantity(line.quantity), line.unit_price_cents, line_amount_cents(line)]
            for line in lines
        ],
        "tax_cents": invoice.tax_cents,
    }


def remote_invoice(record: dict) -> dict:
    lines = [
        [
            line.get("Description"),
            _quantity(line["SalesItemLineDetail"].get("Qty")),
            _cents(line["SalesItemLineDetail"].get("UnitPrice")),
            _cents(line.get("Amount")),
        ]
        for line in record.get("Line") or []
        if line.get("DetailType") == "SalesItemLineDetail"
    ]
    return {
        "customer": (record.get("CustomerRef") or {}).get("value"),
        "number": record.get("DocNumber"),
        "issued_on": record.get("TxnDate"),
        "due_on": record.get("DueDate"),
        "lines": lines,
        "tax_cents": _cents((record.get("TxnTaxDetail") or {}).get("TotalTax")),
    }


def invoice_body(fields: dict, item_id: str) -> dict:
    return {
        "CustomerRef": {"value": fields["customer"]},
        "DocNumber": fields["number"],
        "TxnDate": fields["issued_on"],
        "DueDate": fields["due_on"],
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": _dollars(amount),
                "Description": description,
                "SalesItemLineDetail": {
                    "ItemRef": {"value": item_id},
                    "Qty": float(quantity),
                    "UnitPrice": _dollars(unit_price),
                },
            }
            for description, quantity, unit_price, amount in fields["lines"]
        ],
        "TxnTaxDetail": {"TotalTax": _dollars(fields["tax_cents"])},
    }


# payments


def payment_body(payment: Payment, customer_qbo_id: str, invoice_qbo_id: str) -> dict:
    body = {
        "CustomerRef": {"value": customer_qbo_id},
        "TotalAmt": _dollars(payment.amount_cents),
        "TxnDate": payment.received_on.isoformat(),
        "PrivateNote": f"Recorded in NexJob ({payment.method.value})",
        "Line": [
            {
                "Amount": _dollars(payment.amount_cents),
                "LinkedTxn": [{"TxnId": invoice_qbo_id, "TxnType": "Invoice"}],
            }
        ],
    }
    if payment.reference:
        body["PaymentRefNum"] = payment.reference[:21]  # QuickBooks' limit
    return body


def applications(record: dict) -> list[tuple[str, int]]:
    """(QuickBooks invoice id, cents) for each invoice a QuickBooks payment applies money to."""
    return [
        (linked["TxnId"], _cents(line.get("Amount")))
        for line in record.get("Line") or []
        for linked in line.get("LinkedTxn") or []
        if linked.get("TxnType") == "Invoice" and _cents(line.get("Amount")) > 0
    ]


def payment_method(record: dict) -> str:
    """Our payment method for a QuickBooks payment, from the name of its payment method."""
    name = ((record.get("PaymentMethodRef") or {}).get("name") or "").lower()
    for method, words in (
        (PaymentMethod.cash, ("cash",)),
        (PaymentMethod.check, ("check", "cheque")),
        (PaymentMethod.card, ("card", "visa", "mastercard", "amex", "american express", "discover")),
        (PaymentMethod.ach, ("ach", "bank", "transfer")),
    ):
        if any(word in name for word in words):
            return method.value
    return PaymentMethod.other.value
