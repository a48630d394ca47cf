"""What the sandbox's provider modules share: where our API listens, the controls, the outbox."""

from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sandbox.controls import Controls


@dataclass
class OutboxEntry:
    """One text or email the sandbox accepted, as the inbox page shows it."""

    channel: str  # "sms" | "email"
    to: str
    sender: str
    body: str
    provider_id: str
    subject: str | None = None
    status: str = "queued"
    attachments: list[str] = field(default_factory=list)  # file names, for emails
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class SandboxContext:
    api_url: str  # our API: webhooks go to {api_url}/webhooks/…
    public_url: str  # the sandbox's own address, for links it hands out (payment pages)
    controls: Controls = field(default_factory=Controls)
    outbox: list[OutboxEntry] = field(default_factory=list)
    inbound: list[OutboxEntry] = field(default_factory=list)  # texts customers sent the business
    # Scripted answers per AI provider ("gemini", "anthropic"), queued by POST /_ai/script.
    ai_scripts: dict[str, deque] = field(default_factory=lambda: {"gemini": deque(), "anthropic": deque()})
