"""Live events for office pages: a PostgreSQL NOTIFY sent inside the writer's own transaction.

PostgreSQL delivers a notification only when its transaction commits, so a page never hears of a change
that rolled back, and every API process hears every change whichever process (API or worker) made it.
`api/events.py` listens and streams them to browsers.

On the channel, one JSON object per event:
`{"kind": "job.status", "company_id": "…", "at": "2026-12-01T15:00:00.123456+00:00", "payload": {…}}`.
Technicians' streams carry only `job.*` events whose payload names them as `assigned_user_id` (or
`previous_assigned_user_id`), so job events carry the assignee.
"""

import json
import logging
import uuid
from datetime import date, datetime
from enum import Enum

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from models.base import utcnow

CHANNEL = "nexjob_events"
MAX_BYTES = 7_900  # PostgreSQL refuses a NOTIFY payload of 8000 bytes or more

log = logging.getLogger(__name__)


def _plain(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} does not go into an event")


def encode(company_id, kind: str, payload: dict) -> str:
    event = {"kind": kind, "company_id": str(company_id), "at": utcnow().isoformat(), "payload": payload}
    return json.dumps(event, default=_plain, separators=(",", ":"))


async def publish(session: AsyncSession, company_id, kind: str, payload: dict) -> None:
    """Announce `kind` (e.g. "job.status") to the company's live pages once the caller's transaction
    commits. Keep `payload` to ids and a few short fields: pages fetch the record itself."""
    body = encode(company_id, kind, payload)
    if len(body.encode()) > MAX_BYTES:
        # A live hint is not worth failing the change it describes over.
        log.warning("event %s for company %s is %d bytes; not sent", kind, company_id, len(body.encode()))
        return
    await session.exec(text("SELECT pg_notify(:channel, :body)").bindparams(channel=CHANNEL, body=body))
