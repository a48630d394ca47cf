"""State about the outside providers, shared by every API and worker process."""

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


class WebhookEvent(SQLModel, table=True):
    """Inbound webhook events already handled, so a provider's retry or a replay changes nothing."""

    __tablename__ = "webhook_event"
    provider: str = Field(primary_key=True)  # stripe | twilio
    event_id: str = Field(primary_key=True)
    received_at: datetime = timestamp(nullable=False, default_now=True)
