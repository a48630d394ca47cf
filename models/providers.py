"""State about the outside providers, shared by every API and worker process."""

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from models.base import timestamp


class AiProviderState(SQLModel, table=True):
    """One circuit breaker per AI provider: after repeated failures calls skip it until `open_until`."""

    __tablename__ = "ai_provider_state"
    provider: str = Field(primary_key=True)  # gemini | claude
    consecutive_failures: int = 0
    open_until: datetime | None = timestamp()
    last_error: str | None = None
    updated_at: datetime = timestamp(nullable=False, default_now=True)


class AiSlotLease(SQLModel, table=True):
    """One of a company's concurrent-AI-call slots, taken for the length of a call. A row that outlived
    `lease_until` (its worker died mid-call) is free to take again; nothing holds a connection meanwhile."""

    __tablename__ = "ai_slot_lease"
    company_id: uuid.UUID = Field(foreign_key="company.id", primary_key=True, ondelete="CASCADE")
    slot: int = Field(primary_key=True)
    holder: str  # a random id per call, so only the taker releases it
    lease_until: datetime = timestamp(nullable=False)


class WebhookEvent(SQLModel, table=True):
    """Inbound webhook events already handled, so a provider's retry or a replay changes nothing."""

    __tablename__ = "webhook_event"
    provider: str = Field(primary_key=True)  # stripe | twilio
    event_id: str = Field(primary_key=True)
    received_at: datetime = timestamp(nullable=False, default_now=True)
