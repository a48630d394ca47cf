"""One sandbox QuickBooks company (a realm): its records, their versions, and the answers to `requestid`s.

Records are kept as QuickBooks shows them. Every write gets a new `SyncToken` and `MetaData.LastUpdatedTime`;
an update must carry the current SyncToken (else the Stale Object Error); `sparse: true` changes only the
fields sent, a full update replaces the writable fields with what was sent. Rules per entity (names,
totals, payments against invoices) are in `rules.py`.
"""

import copy
from dataclasses import dataclass
from datetime import datetime

from sandbox.quickbooks import rules
from sandbox.quickbooks.wire import Fault, blank, now, required, stamp

ENTITIES = ("Customer", "Item", "Invoice", "Payment")
SYSTEM_FIELDS = ("Id", "SyncToken", "MetaData", "domain", "sparse")
BOOKKEEPER_NAME = "Sandy Bookkeeper"  # who "else" was editing, in the Stale Object Error


def not_found(entity: str) -> Fault:
    gone = (
        "Another user has deleted this transaction."
        if entity in ("Invoice", "Payment")
        else "Something you're trying to use has been made inactive. Check the fields with accounts, "
        "customers, items, vendors or employees."
    )
    return Fault("610", "Object Not Found", f"Object Not Found : {gone}")


@dataclass
class Reply:
    """The answer a write got, replayed to any later request with the same `requestid`."""

    status: int
    body: dict


class Company:
    def __init__(self, realm_id: str, name: str):
        self.realm_id, self.name, self.created = realm_id, name, stamp(now())
        self.records: dict[str, dict[str, dict]] = {entity: {} for entity in ENTITIES}
        self.last_id = dict.fromkeys(ENTITIES, 0)
        # When each record last changed, exactly: MetaData shows it to the second only, and a client
        # asking for changes since a moment within that second must still get a change made after it.
        self.updated_at: dict[str, dict[str, datetime]] = {entity: {} for entity in ENTITIES}
        self.replies: dict[str, Reply] = {}
        self.last_doc_number = 1000

    def find(self, entity: str, record_id) -> dict | None:
        return self.records[entity].get(str(record_id))

    def get(self, entity: str, record_id) -> dict:
        record = self.find(entity, record_id)
        if record is None:
            raise not_found(entity)
        return record

    def info(self) -> dict:
        """The CompanyInfo entity, as far as an app connecting to the company needs it."""
        return {
            "CompanyName": self.name,
            "LegalName": self.name,
            "Country": "US",
            "CompanyStartDate": self.created[:10],
            "Id": "1",
            "SyncToken": "0",
            "domain": "QBO",
            "sparse": False,
            "MetaData": {"CreateTime": self.created, "LastUpdatedTime": self.created},
        }

    def create(self, entity: str, body: dict) -> dict:
        record = {k: v for k, v in copy.deepcopy(body).items() if k not in SYSTEM_FIELDS}
        rules.prepare(self, entity, record, None)
        self.last_id[entity] += 1
        moment = now()
        created = stamp(moment)
        record |= {
            "Id": str(self.last_id[entity]),
            "SyncToken": "0",
            "domain": "QBO",
            "sparse": False,
            "MetaData": {"CreateTime": created, "LastUpdatedTime": created},
        }
        self.records[entity][record["Id"]] = record
        self.updated_at[entity][record["Id"]] = moment
        rules.after_write(self, entity, record, None)
        return record

    def update(self, entity: str, body: dict) -> dict:
        current = self.latest(entity, body)
        sent = {k: v for k, v in copy.deepcopy(body).items() if k not in SYSTEM_FIELDS}
        if body.get("sparse") in (True, "true"):
            record = copy.deepcopy(current) | sent
        else:
            record = {k: copy.deepcopy(current[k]) for k in SYSTEM_FIELDS} | sent
        rules.prepare(self, entity, record, current)
        self.records[entity][record["Id"]] = record
        self.touch(entity, record)
        rules.after_write(self, entity, record, current)
        return record

    def latest(self, entity: str, body: dict) -> dict:
        """The record `body` names, when it carries its current SyncToken; else the Stale Object Error."""
        current = self.get(entity, body.get("Id"))
        if blank(body.get("SyncToken")):
            raise required("SyncToken")
        if str(body["SyncToken"]) != current["SyncToken"]:
            raise Fault(
                "5010",
                "Stale Object Error",
                f"Stale Object Error : You and {BOOKKEEPER_NAME} were working on this at the same time. "
                f"{BOOKKEEPER_NAME} finished before you did, so your work was not saved.",
            )
        return current

    def void_invoice(self, body: dict) -> dict:
        """`?operation=void` (Id and SyncToken): the invoice stays, zeroed (see `rules.void_invoice`)."""
        invoice = self.latest("Invoice", body)
        rules.void_invoice(self, invoice)
        self.touch("Invoice", invoice)
        return invoice

    def edit_as_bookkeeper(self, entity: str, record_id: str, changes: dict) -> dict:
        """What a person editing in QuickBooks does: change some fields of the latest version."""
        current = self.get(entity, record_id)
        return self.update(
            entity, changes | {"Id": current["Id"], "SyncToken": current["SyncToken"], "sparse": True}
        )

    def touch(self, entity: str, record: dict) -> None:
        """A new version of a stored record."""
        moment = now()
        record["SyncToken"] = str(int(record["SyncToken"]) + 1)
        record["MetaData"] = record["MetaData"] | {"LastUpdatedTime": stamp(moment)}
        self.updated_at[entity][record["Id"]] = moment

    def next_doc_number(self) -> str:
        self.last_doc_number += 1
        return str(self.last_doc_number)

    def shown(self, entity: str, record: dict) -> dict:
        """A record as the API answers it (a copy, with the figures QuickBooks computes on reading)."""
        shown = copy.deepcopy(record)
        if entity == "Customer":
            shown["Balance"] = shown["BalanceWithJobs"] = rules.customer_balance(self, record["Id"])
        return shown
