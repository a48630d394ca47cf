"""Resend stand-in: sending an email (`POST /emails`) and reading it back (`GET /emails/{id}`).

Served under /resend (the SDK's `resend.api_url`) with `Authorization: Bearer re_…`. A send is checked as
Resend checks it (from, to, subject, and html or text; addresses as `a@b.c` or `Name <a@b.c>`; attachments
with a file name and base64 or byte-list content), answered `{"id": …}`, and put in the inbox once per
recipient (to, cc, bcc). `Idempotency-Key` holds for 24 hours: the same key and payload answer the first
id again and send nothing; the same key with another payload is a 409 `invalid_idempotent_request`.
Resend's test address bounced@resend.dev shows as bounced; every other address as delivered.
"""

import base64
import binascii
import html
import json
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

from sandbox.context import OutboxEntry, SandboxContext
from sandbox.provider_route import provider_route

IDEMPOTENCY_SECONDS = 24 * 3600
MAX_RECIPIENTS = 50
ADDRESS = re.compile(r"^\s*(?:[^<>]*<\s*)?([^\s<>@]+@[^\s<>@]+\.[^\s<>@]+)\s*>?\s*$")
BOUNCES = {"bounced@resend.dev"}


class ResendFailure(Exception):
    """An answer in Resend's error format; the SDK picks its exception from statusCode and name."""

    def __init__(self, status: int, name: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.name, self.message, self.headers = status, name, message, headers or {}

    def response(self) -> JSONResponse:
        body = {"statusCode": self.status, "name": self.name, "message": self.message}
        return JSONResponse(body, self.status, headers=self.headers)


def invalid(message: str) -> ResendFailure:
    return ResendFailure(422, "validation_error", message)


def _outage(error: HTTPException) -> ResendFailure:
    """The controls' misbehaviour as Resend reports it."""
    name = "rate_limit_exceeded" if error.status_code == 429 else "application_error"
    return ResendFailure(error.status_code, name, str(error.detail), dict(error.headers or {}))


# Every failure of a Resend route leaves in Resend's error format (the controls' included).
_ResendRoute = provider_route(ResendFailure, _outage, invalid)


def addresses(value, field: str, *, required: bool = False) -> list[str]:
    """A string or a list of addresses, each checked; the list as given."""
    if value in (None, "", []):
        if required:
            raise ResendFailure(422, "missing_required_field", f"Missing `{field}` field.")
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise invalid(f"The `{field}` field must be a string or a list of strings.")
    for item in items:
        if not ADDRESS.match(item):
            raise invalid(
                f"Invalid `{field}` field. The email address needs to follow the `email@example.com` or "
                "`Name <email@example.com>` format."
            )
    return items


def bare(address: str) -> str:
    return ADDRESS.match(address)[1].lower()


def attachment_names(attachments) -> list[str]:
    """Check attachments as Resend does and return their file names."""
    if attachments in (None, []):
        return []
    if not isinstance(attachments, list):
        raise invalid("The `attachments` field must be a list.")
    names = []
    for index, item in enumerate(attachments):
        content = item.get("content") if isinstance(item, dict) else None
        if not isinstance(item, dict) or (content is None and not item.get("path")):
            raise invalid(f"Attachment {index} needs `content` or `path`.")
        name = item.get("filename") or str(item.get("path", "")).rsplit("/", 1)[-1]
        if not name:
            raise invalid(f"Attachment {index} needs a `filename`.")
        if isinstance(content, str):
            try:
                base64.b64decode(content, validate=True)
            except binascii.Error:
                raise invalid(f"Attachment {name!r}: `content` is not valid base64.") from None
        elif content is not None and not (
            isinstance(content, list) and all(isinstance(b, int) and 0 <= b < 256 for b in content)
        ):
            raise invalid(f"Attachment {name!r}: `content` must be base64 or a list of bytes.")
        names.append(name)
    return names


def html_to_text(markup: str) -> str:
    """What a text-only mail reader would show: links kept as "text (url)", tags gone, blank runs closed."""
    markup = re.sub(r"(?is)<(script|style|head)\b.*?</\1>", "", markup)

    def link(match: re.Match) -> str:
        url, label = match[1], re.sub(r"<[^>]+>", "", match[2]).strip()
        return label if url in label or not label else f"{label} ({url})"

    markup = re.sub(r"""(?is)<a\b[^>]*?href\s*=\s*["']([^"']+)["'][^>]*>(.*?)</a>""", link, markup)
    markup = re.sub(r"(?i)<br\s*/?>|</(p|div|h[1-6]|li|tr|table)>", "\n", markup)
    text = html.unescape(re.sub(r"<[^>]+>", "", markup))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


@dataclass
class Saved:
    fingerprint: str
    email_id: str
    at: float


class ResendSandbox:
    def __init__(self, context: SandboxContext):
        self.context = context
        self.emails: dict[str, dict] = {}
        self.idempotent: dict[str, Saved] = {}

    @staticmethod
    def check_auth(request: Request) -> None:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise ResendFailure(401, "missing_api_key", "Missing API key in the authorization header.")
        if not key.strip().startswith("re_"):
            raise ResendFailure(403, "invalid_api_key", "API key is invalid")

    def send(self, params: dict, key: str | None) -> dict:
        fingerprint = json.dumps(params, sort_keys=True)
        if key is not None:
            if not 1 <= len(key) <= 256:
                raise ResendFailure(400, "invalid_idempotency_key", "The key must be between 1-256 chars.")
            saved = self.idempotent.get(key)
            if saved and time.time() - saved.at < IDEMPOTENCY_SECONDS:
                if saved.fingerprint != fingerprint:
                    raise ResendFailure(
                        409,
                        "invalid_idempotent_request",
                        "Same idempotency key used with a different request payload. Change your idempotency "
                        "key or payload.",
                    )
                return {"id": saved.email_id}
        sender = addresses(params.get("from"), "from", required=True)
        to = addresses(params.get("to"), "to", required=True)
        cc, bcc = addresses(params.get("cc"), "cc"), addresses(params.get("bcc"), "bcc")
        reply_to = addresses(params.get("reply_to"), "reply_to")
        if len(to) + len(cc) + len(bcc) > MAX_RECIPIENTS:
            raise invalid(f"Too many recipients: at most {MAX_RECIPIENTS} per email.")
        subject = params.get("subject")
        if not subject:
            raise ResendFailure(422, "missing_required_field", "Missing `subject` field.")
        html_body, text_body = params.get("html"), params.get("text")
        if not (html_body or text_body):
            raise invalid("Missing `html` or `text` field.")
        files = attachment_names(params.get("attachments"))

        email_id = str(uuid.uuid4())
        now = datetime.now(UTC)
        body = text_body or html_to_text(html_body)
        last_event = "delivered"
        for recipient in to + cc + bcc:
            status = "bounced" if bare(recipient) in BOUNCES else "delivered"
            last_event = status if status == "bounced" else last_event
            self.context.outbox.append(
                OutboxEntry(
                    channel="email",
                    to=bare(recipient),
                    sender=sender[0],
                    body=body,
                    provider_id=email_id,
                    subject=subject,
                    status=status,
                    at=now,
                    attachments=files,
                )
            )
        self.emails[email_id] = {
            "object": "email",
            "id": email_id,
            "to": to,
            "from": sender[0],
            "created_at": now.isoformat(sep=" ").replace("+00:00", "+00"),
            "subject": subject,
            "html": html_body,
            "text": text_body,
            "bcc": bcc or None,
            "cc": cc or None,
            "reply_to": reply_to or None,
            "last_event": last_event,
            "scheduled_at": None,  # a scheduled send goes out at once here
            "tags": params.get("tags") or [],
        }
        if key is not None:
            self.idempotent[key] = Saved(fingerprint, email_id, time.time())
        return {"id": email_id}


def router(context: SandboxContext) -> APIRouter:
    resend = ResendSandbox(context)
    gate = context.controls.gate
    api = APIRouter(prefix="/resend", tags=["resend"], route_class=_ResendRoute)

    @api.post("/emails")
    async def send_email(request: Request):
        # Read the request before any held-up answer: a client that gives up waiting has still sent it.
        body = await request.body()
        await gate("resend")
        resend.check_auth(request)
        try:
            params = json.loads(body)
        except ValueError:
            raise invalid("The request body is not valid JSON.") from None
        if not isinstance(params, dict):
            raise invalid("The request body must be a JSON object.")
        return resend.send(params, request.headers.get("idempotency-key"))

    @api.get("/emails/{email_id}")
    async def get_email(email_id: str, request: Request):
        await gate("resend")
        resend.check_auth(request)
        if email_id not in resend.emails:
            raise ResendFailure(404, "not_found", "Email not found")
        return resend.emails[email_id]

    return api
