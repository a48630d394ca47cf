"""What happened and why: automation toggles, the action log, messages, the audit trail, AI calls."""

import uuid
from datetime import datetime

from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel, UniqueConstraint

from models.base import company_field, enum_type, id_field, timestamp
from models.enums import ActionOutcome, Channel, MessageStatus


class AutomationSetting(SQLModel, table=True):
    """An owner's on/off for one automation. No row means off: every automation starts off."""

    __tablename__ = "automation_setting"
    company_id: uuid.UUID = Field(foreign_key="company.id", primary_key=True, ondelete="CASCADE")
    key: str = Field(primary_key=True)
    enabled: bool = False
    updated_by_id: uuid.UUID | None = Field(default=None, foreign_key="user.id")
    updated_at: datetime = timestamp(nullable=False, default_now=True)


class ActionLog(SQLModel, table=True):
    """Every automated action: done or sent, skipped (and why), or failed (and why)."""

    __tablename__ = "action_log"
    id: uuid.UUID = id_field()
    company_id: uuid.UUID = company_field()
    automation_key: str | None = None
    action: str  # record_payment, send_omw_sms, …
    outcome: ActionOutcome = Field(sa_type=enum_type(ActionOutcome))
    reason: str | None = None
    entity_type: str
    entity_id: uuid.UUID
    workflow_id: str | None = None
    # One per workflow step: a retried activity finds its row and knows the step is already done.
    idempotency_key: str | None = Field(default=None, unique=True)
    created_at: datetime = timestamp(nullable=False, default_now=True, index=True)


class ActionLogPublic(SQLModel):
    id: uuid.UUID
    automation_key: str | None
    action: str
    outcome: ActionOutcome
    reason: str | None
    entity_type: str
    entity_id: uuid.UUID
    workflow_id: str | None
    created_at: datetime


class MessageLog(SQLModel, table=True):
    """Every SMS and email. Written before the provider call and keyed by (workflow, purpose),
    so a retried send finds its row and does not send twice."""

    __tablename__ = "message_log"
    __table_args__ = (UniqueConstraint("workflow_id", "purpose"),)
    id: uuid.UUID = id_field()
    company_id: uuid.UUID = company_field()
    customer_id: uuid.UUID | None = Field(default=None, foreign_key="customer.id", index=True)
    channel: Channel = Field(sa_type=enum_type(Channel))
    to_address: str
    from_address: str | None = None
    subject: str | None = None
    body: str
    purpose: str
    workflow_id: str
    provider_id: str | None = Field(default=None, index=True)
    status: MessageStatus = Field(default=MessageStatus.pending, sa_type=enum_type(MessageStatus))
    error: str | None = None
    created_at: datetime = timestamp(nullable=False, default_now=True, index=True)
    updated_at: datetime = timestamp(nullable=False, default_now=True)


class AuditLog(SQLModel, table=True):
    """Who changed what: a person (user id) or a workflow, with the values before and after."""

    __tablename__ = "audit_log"
    id: uuid.UUID = id_field()
    company_id: uuid.UUID = company_field()
    actor_user_id: uuid.UUID | None = Field(default=None, foreign_key="user.id")
    actor: str  # "user:<email>", "workflow:<id>", "api_key:<prefix>"
    entity_type: str
    entity_id: uuid.UUID = Field(index=True)
    action: str
    before: dict | None = Field(default=None, sa_type=JSONB)
    after: dict | None = Field(default=None, sa_type=JSONB)
    created_at: datetime = timestamp(nullable=False, default_now=True)


class AuditLogPublic(SQLModel):
    id: uuid.UUID
    actor: str
    entity_type: str
    entity_id: uuid.UUID
    action: str
    before: dict | None
    after: dict | None
    created_at: datetime


class AiCallLog(SQLModel, table=True):
    __tablename__ = "ai_call_log"
    id: uuid.UUID = id_field()
    company_id: uuid.UUID = company_field()
    feature: str
    provider: str  # gemini, claude, fallback, or none for a denial
    model: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_cents: int = 0
    latency_ms: int = 0
    outcome: str  # ok, error, invalid_output, budget_exceeded, concurrency_cap_exceeded
    created_at: datetime = timestamp(nullable=False, default_now=True, index=True)


class InboundMessage(SQLModel, table=True):
    """A text a customer sent the business (to the company's or a technician's number)."""

    __tablename__ = "inbound_message"
    id: uuid.UUID = id_field()
    company_id: uuid.UUID = company_field()
    customer_id: uuid.UUID | None = Field(default=None, foreign_key="customer.id", index=True)
    from_address: str
    to_address: str
    body: str
    provider_id: str = Field(unique=True)  # Twilio's MessageSid: a redelivered webhook is stored once
    received_at: datetime = timestamp(nullable=False, default_now=True, index=True)
