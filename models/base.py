"""Column helpers shared by every table: UUID keys, aware UTC timestamps, enums stored as text."""

import uuid
from datetime import UTC, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field


def utcnow() -> datetime:
    return datetime.now(UTC)


def id_field() -> uuid.UUID:
    return Field(default_factory=uuid.uuid4, primary_key=True)


def company_field() -> uuid.UUID:
    """The tenant key every tenant-owned table carries."""
    return Field(foreign_key="company.id", index=True, ondelete="CASCADE")


def timestamp(*, nullable: bool = True, default_now: bool = False, index: bool = False):
    extra = {"default_factory": utcnow} if default_now else {"default": None}
    return Field(sa_type=sa.DateTime(timezone=True), nullable=nullable, index=index, **extra)


def enum_type(enum_cls: type[StrEnum]) -> sa.Enum:
    # Text column holding the enum's value: adding a status later needs no ALTER TYPE.
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
    )
