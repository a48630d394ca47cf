"""What QuickBooks checks and computes per entity on every write.

- Customer: a display name (made from the name parts when not sent), unique among customers ignoring case
  (Duplicate Name Exists Error 6240), even against inactive ones.
- Item: a unique name; Service or NonInventory (tracking stock needs accounts the sandbox does not keep).
- Invoice: an active customer and at least one line; TotalAmt (lines, less discounts, plus TxnTaxDetail's
  TotalTax) and Balance are QuickBooks' to compute, a SubTotalLine is appended, DocNumber is numbered
  from 1001 when not sent, DueDate is Net 30.
- Invoice void: the invoice stays, its amounts, quantities and tax zeroed, "Voided" put before its
  PrivateNote; payments applied to it are unlinked, their money left unapplied.
- Payment: a customer and TotalAmt; each line applies its Amount to the one invoice in its LinkedTxn (of
  the same customer, at most its balance). The invoice's Balance drops, it lists the payment in its
  LinkedTxn and gets a new SyncToken, as in QuickBooks.
"""

from decimal import Decimal
from typing import TYPE_CHECKING

from sandbox.quickbooks.wire import (
    Fault,
    amount,
    blank,
    business_rule,
    in_days,
    invalid_reference,
    money,
    required,
    today,
    unsupported,
)

if TYPE_CHECKING:
    from sandbox.quickbooks.store import Company

NAME_PARTS = ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")
ITEM_TYPES = ("Service", "NonInventory")
USD = {"value": "USD", "name": "United States Dollar"}
VOIDED = "Voided"  # what QuickBooks puts before a voided invoice's PrivateNote


def prepare(company: "Company", entity: str, record: dict, current: dict | None) -> None:
    """Check a record about to be written and fill in what QuickBooks computes; raises a Fault."""
    {"Customer": _customer, "Item": _item, "Invoice": _invoice, "Payment": _payment}[entity](
        company, record, current
    )


def after_write(company: "Company", entity: str, record: dict, previous: dict | None) -> None:
    if entity == "Payment":
        for invoice_id in _invoices_paid_by(previous) | _invoices_paid_by(record):
            _settle(company, invoice_id)


def void_invoice(company: "Company", invoice: dict) -> None:
    for payment in company.records["Payment"].values():
        lines = payment.get("Line") or []
        kept = [line for line in lines if line["LinkedTxn"][0]["TxnId"] != invoice["Id"]]
        if len(kept) != len(lines):
            applied = sum((amount(line["Amount"]) for line in kept), Decimal(0))
            payment |= {"Line": kept, "UnappliedAmt": money(amount(payment["TotalAmt"]) - applied)}
            company.touch("Payment", payment)
    for line in invoice["Line"]:
        line["Amount"] = 0.0
        if "SalesItemLineDetail" in line:
            line["SalesItemLineDetail"] |= {"Qty": 0, "UnitPrice": 0.0}
    note = str(invoice.get("PrivateNote") or "").strip()
    if not voided(invoice):
        note = f"{VOIDED} {note}".strip()
    invoice |= {
        "TotalAmt": 0.0,
        "Balance": 0.0,
        "TxnTaxDetail": {"TotalTax": 0.0},
        "LinkedTxn": [],
        "PrivateNote": note,
    }


def voided(invoice: dict) -> bool:
    return str(invoice.get("PrivateNote") or "").startswith(VOIDED)


def customer_balance(company: "Company", customer_id: str) -> float:
    return money(
        sum(
            (
                amount(invoice["Balance"])
                for invoice in company.records["Invoice"].values()
                if invoice["CustomerRef"]["value"] == customer_id
            ),
            Decimal(0),
        )
    )


def _same_name(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _duplicate_name(kind: str) -> Fault:
    return Fault(
        "6240",
        "Duplicate Name Exists Error",
        f"The name supplied already exists. : Another {kind} is already using this name. "
        "Please use a different name.",
    )


def _customer(company: "Company", record: dict, current: dict | None) -> None:
    for computed in ("Balance", "BalanceWithJobs", "FullyQualifiedName"):
        record.pop(computed, None)
    name = str(record.get("DisplayName") or "").strip()
    if not name:
        name = " ".join(str(record[p]).strip() for p in NAME_PARTS if not blank(record.get(p)))
    if not name:
        name = str(record.get("CompanyName") or "").strip()
    if not name:
        raise Fault(
            "2020",
            "Required Param Missing",
            "Required parameter : At least one of the name elements is required: DisplayName, Title, "
            "GivenName, MiddleName, FamilyName, Suffix or CompanyName",
        )
    for other in company.records["Customer"].values():
        if other["Id"] != (current or {}).get("Id") and _same_name(other["DisplayName"], name):
            raise _duplicate_name("customer, vendor or employee")
    record["DisplayName"] = record["FullyQualifiedName"] = name
    if blank(record.get("PrintOnCheckName")):
        record["PrintOnCheckName"] = name
    record.setdefault("Active", True)
    record["CurrencyRef"] = USD


def _item(company: "Company", record: dict, current: dict | None) -> None:
    name = str(record.get("Name") or "").strip()
    if not name:
        raise required("Name")
    for other in company.records["Item"].values():
        if other["Id"] != (current or {}).get("Id") and _same_name(other["Name"], name):
            raise _duplicate_name("product or service")
    kind = "Service" if blank(record.get("Type")) else record["Type"]
    if kind == "Inventory":
        raise unsupported("Item.Type=Inventory (quantity tracking)")
    if kind not in ITEM_TYPES:
        raise Fault("2170", "Invalid Enumeration", f"Invalid Enumeration : {kind}")
    record |= {"Name": name, "FullyQualifiedName": name, "Type": kind}
    record["UnitPrice"] = money(amount(record.get("UnitPrice")))
    record.setdefault("Active", True)


def _reference(company: "Company", entity: str, ref) -> dict:
    """The active record a `...Ref` points at, else the Fault QuickBooks gives."""
    value = ref.get("value") if isinstance(ref, dict) else None
    if blank(value):
        raise required(f"{entity}Ref")
    record = company.find(entity, value)
    if record is None or not record.get("Active", True):
        raise invalid_reference(entity, value)
    return record


def _invoice(company: "Company", record: dict, current: dict | None) -> None:
    customer = _reference(company, "Customer", record.get("CustomerRef"))
    record["CustomerRef"] = {"value": customer["Id"], "name": customer["DisplayName"]}
    # The SubTotalLine is QuickBooks' own: one sent back with a full update is recomputed, not kept.
    lines = [line for line in record.get("Line") or [] if line.get("DetailType") != "SubTotalLineDetail"]
    if not lines:
        raise required("Line")
    subtotal = discount = Decimal(0)
    for number, line in enumerate(lines, 1):
        value = amount(line.get("Amount"))
        line |= {"Id": str(number), "LineNum": number, "Amount": money(value)}
        detail = line.get("SalesItemLineDetail") or {}
        if detail.get("ItemRef"):
            item = _reference(company, "Item", detail["ItemRef"])
            detail["ItemRef"] = {"value": item["Id"], "name": item["Name"]}
        if line.get("DetailType") == "DiscountLineDetail":
            discount += value
        else:
            subtotal += value
    tax = amount((record.get("TxnTaxDetail") or {}).get("TotalTax"))
    total = subtotal - discount + tax
    paid = sum((paid for _, paid in _payments_on(company, (current or {}).get("Id"))), Decimal(0))
    if total < paid:
        raise business_rule("The invoice total cannot be less than the payments applied to it.")
    record["Line"] = [
        *lines,
        {"Amount": money(subtotal), "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}},
    ]
    record |= {"TotalAmt": money(total), "Balance": money(total - paid), "CurrencyRef": USD}
    for multicurrency_only in ("HomeTotalAmt", "HomeBalance"):
        record.pop(multicurrency_only, None)
    previous = current or {}
    record["DocNumber"] = _given(record, previous, "DocNumber") or company.next_doc_number()
    record["TxnDate"] = _given(record, previous, "TxnDate") or today()
    record["DueDate"] = _given(record, previous, "DueDate") or in_days(record["TxnDate"], 30)
    record["LinkedTxn"] = previous.get("LinkedTxn", [])


def _payment(company: "Company", record: dict, current: dict | None) -> None:
    customer = _reference(company, "Customer", record.get("CustomerRef"))
    record["CustomerRef"] = {"value": customer["Id"], "name": customer["DisplayName"]}
    if blank(record.get("TotalAmt")):
        raise business_rule("You must set a transaction amount.")
    total, applied = amount(record["TotalAmt"]), Decimal(0)
    # Beyond each invoice's balance, this payment may reapply what it held there before the change.
    room: dict[str, Decimal] = {}
    for invoice_id, held in _applied_by(current):
        room[invoice_id] = room.get(invoice_id, Decimal(0)) + held
    for line in record.get("Line") or []:
        linked = line.get("LinkedTxn") or []
        if len(linked) != 1 or linked[0].get("TxnType") != "Invoice":
            raise unsupported("a payment line not linked to exactly one invoice")
        invoice = company.find("Invoice", linked[0].get("TxnId"))
        if invoice is None:
            raise invalid_reference("Invoice", linked[0].get("TxnId"))
        if invoice["CustomerRef"]["value"] != customer["Id"]:
            raise business_rule(f"Invoice {invoice['DocNumber']} belongs to another customer.")
        value = amount(line.get("Amount"))
        room[invoice["Id"]] = room.get(invoice["Id"], Decimal(0)) - value
        if room[invoice["Id"]] + amount(invoice["Balance"]) < 0:
            raise business_rule(
                f"The amount applied to invoice {invoice['DocNumber']} is more than its balance."
            )
        line |= {"Amount": money(value), "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}
        applied += value
    if applied > total:
        raise business_rule("The amount applied to invoices is more than the payment amount.")
    record |= {"TotalAmt": money(total), "UnappliedAmt": money(total - applied), "CurrencyRef": USD}
    record["TxnDate"] = _given(record, current or {}, "TxnDate") or today()


def _given(record: dict, previous: dict, field: str) -> str | None:
    for source in (record, previous):
        if not blank(source.get(field)):
            return str(source[field])
    return None


def _applied_by(payment: dict | None) -> list[tuple[str, Decimal]]:
    """(invoice id, amount) for each line of a payment."""
    if payment is None:
        return []
    return [(line["LinkedTxn"][0]["TxnId"], amount(line["Amount"])) for line in payment.get("Line") or []]


def _invoices_paid_by(payment: dict | None) -> set[str]:
    return {invoice_id for invoice_id, _ in _applied_by(payment)}


def _payments_on(company: "Company", invoice_id: str | None) -> list[tuple[str, Decimal]]:
    """(payment id, amount) applied to an invoice."""
    return [
        (payment["Id"], paid)
        for payment in company.records["Payment"].values()
        for paid_invoice, paid in _applied_by(payment)
        if paid_invoice == invoice_id
    ]


def _settle(company: "Company", invoice_id: str) -> None:
    """Bring an invoice's Balance and LinkedTxn in line with the payments applied to it."""
    invoice = company.find("Invoice", invoice_id)
    payments = _payments_on(company, invoice_id)
    balance = money(amount(invoice["TotalAmt"]) - sum((paid for _, paid in payments), Decimal(0)))
    linked = [{"TxnId": payment_id, "TxnType": "Payment"} for payment_id, _ in payments]
    if (invoice["Balance"], invoice["LinkedTxn"]) != (balance, linked):
        invoice |= {"Balance": balance, "LinkedTxn": linked}
        company.touch("Invoice", invoice)
