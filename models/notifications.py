"""In-app notifications: what a team member should look at ("no technician free for this job")."""

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from models.base import company_field, id_field, timestamp


class Notification(SQLModel, table=True):
    id: uuid.UUID = id_field()
    company_id: uuid.UUID = company_field()
    user_id: uuid.UUID = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    kind: str  # assign_manually, job_assigned, …
    title: str
    body: str | None = None
    entity_type: str | None = None
    entity_id: uuid.UUID | None = None
    # One per workflow step and person: a retried activity notifies once.
    idempotency_key: str | None = Field(default=None, unique=True)
    read_at: datetime | None = timestamp()
    created_at: datetime = timestamp(nullable=False, default_now=True, index=True)


class NotificationPublic(SQLModel):
    id: uuid.UUID
    kind: str
    title: str
    body: str | None
    entity_type: str | None
    entity_id: uuid.UUID | None
    read_at: datetime | None
    created_at: datetime
