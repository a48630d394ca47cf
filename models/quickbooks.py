"""QuickBooks Online: a company's connection, which of our records is which QuickBooks record, and the
sync ledger the office reads (spec Workflow 8, "QuickBooks" under Integrations).

Identity is decided by `QuickBooksMapping` alone, never by names: two customers called the same stay two.
"""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel, UniqueConstraint

from models.base import company_field, enum_type, id_field, timestamp


class SyncDirection(StrEnum):
    push = "push"  # NexJob → QuickBooks
    pull = "pull"  # QuickBooks → NexJob


class SyncStatus(StrEnum):
    ok = "ok"
    retrying = "retrying"  # QuickBooks unreachable for now; Temporal keeps trying
    failed = "failed"  # refused, with why; the office may retry
    conflict = "conflict"  # edited in QuickBooks since our last sync; the office decides


class QuickBooksConnection(SQLModel, table=True):
    """A company's link to one QuickBooks Online company (realm). No row: not connected."""

    __tablename__ = "quickbooks_connection"
    company_id: uuid.UUID = Field(foreign_key="company.id", primary_key=True, ondelete="CASCADE")
    realm_id: str
    # Fernet-encrypted. The refresh token rotates: each refresh answers a new one, saved before use.
    access_token: str
    refresh_token: str
    access_expires_at: datetime = timestamp(nullable=False)
    refresh_expires_at: datetime | None = timestamp()
    connected_by_id: uuid.UUID | None = Field(default=None, foreign_key="user.id")
    connected_at: datetime = timestamp(nullable=False, default_now=True)
    services_item_id: str | None = None  # the QuickBooks Item every invoice line is booked to
    # Change-data-capture cursors: the next pull asks QuickBooks for what changed since.
    customers_pulled_at: datetime | None = timestamp()
    payments_pulled_at: datetime | None = timestamp()
    last_sync_at: datetime | None = timestamp()
    problem: str | None = None  # why the connection stopped working (QuickBooks refused our tokens)


class QuickBooksMapping(SQLModel, table=True):
    """One of our records ↔ one QuickBooks record, unique both ways within the company and realm.

    A payment recorded in QuickBooks against several of our invoices becomes one payment here per
    invoice; each maps as "{payment id}:{invoice id}"."""

    __tablename__ = "quickbooks_mapping"
    __table_args__ = (
        UniqueConstraint("company_id", "realm_id", "entity_type", "entity_id"),
        UniqueConstraint("company_id", "realm_id", "entity_type", "qbo_id"),
    )
    id: uuid.UUID = id_field()
    company_id: uuid.UUID = company_field()
    realm_id: str
    entity_type: str  # customer | invoice | payment
    entity_id: uuid.UUID
    qbo_id: str
    sync_token: str | None = None  # QuickBooks' version as we last wrote or took it (not one that clashed)
    # Our fields as QuickBooks last had them (after our write or our read): what changed on our side,
    # and whether a QuickBooks edit touched them, are told apart against this. An invoice voided there
    # by us holds "voided": true.
    synced: dict | None = Field(default=None, sa_type=JSONB)
    pushed_at: datetime | None = timestamp()
    pulled_at: datetime | None = timestamp()
    created_at: datetime = timestamp(nullable=False, default_now=True)


class QuickBooksLedgerEntry(SQLModel, table=True):
    """What moved between NexJob and QuickBooks, which way, and what failed with why."""

    __tablename__ = "quickbooks_ledger"
    id: uuid.UUID = id_field()
    company_id: uuid.UUID = company_field()
    # The workflow step that wrote the row: a retried activity updates its row instead of adding one.
    key: str = Field(unique=True)
    entity_type: str  # customer | invoice | payment
    entity_id: uuid.UUID = Field(index=True)  # ours
    direction: SyncDirection = Field(sa_type=enum_type(SyncDirection))
    action: str  # create, update, overwrite, void, unchanged, import, refresh, record_payment
    status: SyncStatus = Field(sa_type=enum_type(SyncStatus))
    error: str | None = None
    qbo_id: str | None = None
    attempts: int = 1
    created_at: datetime = timestamp(nullable=False, default_now=True)
    updated_at: datetime = timestamp(nullable=False, default_now=True, index=True)


class QuickBooksLedgerPublic(SQLModel):
    id: uuid.UUID
    entity_type: str
    entity_id: uuid.UUID
    direction: SyncDirection
    action: str
    status: SyncStatus
    error: str | None
    qbo_id: str | None
    attempts: int
    created_at: datetime
    updated_at: datetime


class QuickBooksStatus(SQLModel):
    """Settings → QuickBooks: the connection and how the sync is going."""

    connected: bool
    realm_id: str | None = None
    connected_at: datetime | None = None
    last_sync_at: datetime | None = None
    customers_pulled_at: datetime | None = None
    payments_pulled_at: datetime | None = None
    problem: str | None = None
    automation_enabled: bool  # `quickbooks_sync`: pushes happen only while it is on
    # Records whose latest ledger row waits for the office's retry. A refused pull is not counted: no retry
    # changes QuickBooks' record (the ledger still shows it).
    failed: int  # refused pushes
    conflicts: int  # edited on both sides
    workflow_id: str
    workflow_url: str


class QuickBooksAuthorization(SQLModel):
    authorization_url: str  # QuickBooks' consent page; it comes back to /quickbooks/callback


class QuickBooksQueued(SQLModel):
    """A sync handed to the company's QuickBooks workflow; the ledger shows what it moved."""

    queued: str  # full | customers | payments | push
    workflow_id: str
    workflow_url: str
