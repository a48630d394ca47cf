"""Twilio stand-in: Programmable Messaging's Message resource (API 2010-04-01), and the customer's side of it.

Served under /twilio/2010-04-01/Accounts/{AccountSid} (the SDK's https://api.twilio.com is rewritten to
{sandbox}/twilio), with HTTP basic auth by the sandbox's account SID and auth token:
- `POST /Messages.json` (To, From or MessagingServiceSid, Body, MediaUrl, StatusCallback) → 201, queued
- `GET /Messages.json` (To, From, DateSent, DateSent<, DateSent>, PageSize, Page), newest first; as on Twilio,
  the DateSent filters match the sent date, so a text not yet sent is never among their results
- `GET /Messages/{Sid}.json`
Twilio's magic test numbers refuse as Twilio does: To +15005550001 → 21211 (not a valid number), …0002 →
21612 (unreachable), …0003 → 21408 (region not enabled), …0004 → 21610 (unsubscribed), …0009 → 21614 (not a
mobile); From +15005550001 → 21212. Accepted texts go sent → delivered ~50 ms apart (To +15005550010 ends
undelivered with error 30003), each step a status callback signed with X-Twilio-Signature.

The customer's side (not Twilio's API): `POST /inbound-sms` with {"from", "to", "body"} (JSON or a form)
texts the business: a signed inbound-message webhook to {api_url}/webhooks/twilio/inbound. <Message>s in
the TwiML answer are texted back to the customer.
"""

import asyncio
import base64
import hashlib
import hmac
import logging
import math
import re
import secrets
import uuid
import xml.etree.ElementTree as ElementTree
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse

from sandbox import credentials
from sandbox.context import OutboxEntry, SandboxContext
from sandbox.provider_route import provider_route

log = logging.getLogger(__name__)

API_VERSION = "2010-04-01"
STEP_SECONDS = 0.05  # between queued → sent → delivered
CALLBACK_TIMEOUT_SECONDS = 15  # what Twilio waits for a webhook answer
E164 = re.compile(r"^\+[1-9]\d{7,14}$")
ALPHANUMERIC_SENDER = re.compile(
    r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}"
)  # "LoneStar": 11 at most, a letter in it
POOL_NUMBER = "+15005550006"  # Twilio's always-valid test sender: what a Messaging Service sends from here
REFUSED_TO = {
    "+15005550001": (21211, "The 'To' number {to} is not a valid phone number."),
    "+15005550002": (
        21612,
        "The 'To' phone number: {to}, is not currently reachable using the 'From' number.",
    ),
    "+15005550003": (21408, "Permission to send an SMS has not been enabled for the region of {to}."),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (21614, "'To' number {to} is not a valid mobile number"),
}
UNDELIVERABLE = {"+15005550010": (30003, "Unreachable destination handset")}
REFUSED_FROM = {"+15005550001"}


class TwilioFailure(Exception):
    """An answer in Twilio's error format; the SDK raises TwilioRestException with its code."""

    def __init__(self, status: int, code: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}

    def response(self) -> JSONResponse:
        body = {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }
        return JSONResponse(body, self.status, headers=self.headers)


def _outage(outage: HTTPException) -> TwilioFailure:
    return TwilioFailure(outage.status_code, 20000 + outage.status_code, str(outage.detail), outage.headers)


# Every failure of a Twilio route leaves in Twilio's error format (the controls' included).
_TwilioRoute = provider_route(TwilioFailure, _outage, lambda message: TwilioFailure(400, 20001, message))


def signature(token: str, url: str, params: dict[str, str]) -> str:
    """X-Twilio-Signature: base64 HMAC-SHA1 of the full URL followed by each POST parameter's name and value,
    sorted by name."""
    signed = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()).decode()


def segments(body: str) -> int:
    # GSM-7 fits 160 characters (153 per part when split); anything else is UCS-2, 70 (67 per part).
    single, part = (160, 153) if all(ord(c) < 128 for c in body) else (70, 67)
    return 1 if len(body) <= single else math.ceil(len(body) / part)


def rfc2822(moment: datetime | None) -> str | None:
    return format_datetime(moment) if moment else None


def message_resource(
    to: str, sender: str, body: str, status: str, direction: str, service: str | None = None, media: int = 0
) -> dict:
    """A Message resource as Twilio's API shows it."""
    sid, now, account = "SM" + secrets.token_hex(16), datetime.now(UTC), credentials.TWILIO_ACCOUNT_SID
    return {
        "account_sid": account,
        "api_version": API_VERSION,
        "body": body,
        "date_created": rfc2822(now),
        "date_sent": None,
        "date_updated": rfc2822(now),
        "direction": direction,
        "error_code": None,
        "error_message": None,
        "from": sender,
        "messaging_service_sid": service,
        "num_media": str(media),
        "num_segments": str(segments(body)),
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": status,
        "subresource_uris": {"media": f"/{API_VERSION}/Accounts/{account}/Messages/{sid}/Media.json"},
        "to": to,
        "uri": f"/{API_VERSION}/Accounts/{account}/Messages/{sid}.json",
    }


def _when(value: str) -> tuple[datetime, bool]:
    """A DateSent filter value: (the moment, whether only its date counts)."""
    moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)), len(value.strip()) == 10


class TwilioSandbox:
    def __init__(self, context: SandboxContext):
        self.context = context
        self.messages: dict[str, dict] = {}  # sid -> Message resource JSON
        self.created: dict[str, datetime] = {}
        self.sent: dict[str, datetime] = {}
        self.tasks: set[asyncio.Task] = set()

    def stamp(self, message: dict) -> datetime:
        """Note when a message was made, exactly (the resource shows it to the second only)."""
        self.created[message["sid"]] = datetime.now(UTC)
        return self.created[message["sid"]]

    def check_auth(self, request: Request, account_sid: str) -> None:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            user = password = ""
        if scheme.lower() != "basic" or not (
            hmac.compare_digest(user.encode(), credentials.TWILIO_ACCOUNT_SID.encode())
            and hmac.compare_digest(password.encode(), credentials.TWILIO_AUTH_TOKEN.encode())
        ):
            raise TwilioFailure(401, 20003, "Authenticate")
        if account_sid != user:
            raise TwilioFailure(404, 20404, f"The requested resource {request.url.path} was not found")

    def validate(self, to: str, sender: str | None, service: str | None, body: str, media: list[str]) -> None:
        """Refuse a text as Twilio would."""
        if not to:
            raise TwilioFailure(400, 21604, "A 'To' phone number is required.")
        if not (sender or service):
            raise TwilioFailure(400, 21603, "A 'From' phone number is required.")
        if not (body or media):
            raise TwilioFailure(400, 21602, "Message body is required.")
        if not E164.match(to) or to in REFUSED_TO:
            code, message = REFUSED_TO.get(to, REFUSED_TO["+15005550001"])
            raise TwilioFailure(400, code, message.format(to=to))
        if sender and (
            sender in REFUSED_FROM or not (E164.match(sender) or ALPHANUMERIC_SENDER.fullmatch(sender))
        ):
            raise TwilioFailure(
                400,
                21212,
                f"The 'From' number {sender} is not a valid phone number, shortcode, or alphanumeric "
                "sender ID.",
            )
        if sender == to:
            raise TwilioFailure(400, 21266, "'To' and 'From' number cannot be the same")
        if len(body) > 1600:
            raise TwilioFailure(400, 21617, "The concatenated message body exceeds the 1600 character limit.")

    def accept(
        self,
        to: str,
        sender: str | None,
        body: str,
        *,
        service: str | None = None,
        callback: str | None = None,
        media: int = 0,
        direction: str = "outbound-api",
    ) -> dict:
        """Take a text to send: the Message resource, an outbox entry, and its delivery under way."""
        # A Messaging Service first "accepts" a text, then picks a sender and queues it.
        message = message_resource(
            to, sender or POOL_NUMBER, body, "queued" if sender else "accepted", direction, service, media
        )
        sid, now = message["sid"], self.stamp(message)
        self.messages[sid] = message
        entry = OutboxEntry(
            channel="sms",
            to=to,
            sender=sender or service or POOL_NUMBER,
            body=body,
            provider_id=sid,
            status=message["status"],
            at=now,
        )
        self.context.outbox.append(entry)
        self.spawn(self.deliver(sid, entry, callback))
        return message

    def spawn(self, work) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)  # a task nobody references may be collected before it runs
        task.add_done_callback(self.tasks.discard)

    async def deliver(self, sid: str, entry: OutboxEntry, callback: str | None) -> None:
        """The carrier's part: sent, then delivered (or undelivered), each reported to the status callback."""
        message = self.messages[sid]
        error = UNDELIVERABLE.get(message["to"])
        for status in ("sent", "undelivered" if error else "delivered"):
            await asyncio.sleep(STEP_SECONDS)
            now = datetime.now(UTC)
            failed = status == "undelivered"
            message.update(
                status=status,
                date_updated=rfc2822(now),
                error_code=error[0] if failed else None,
                error_message=error[1] if failed else None,
            )
            if status == "sent":
                self.sent[sid] = now
                message["date_sent"] = rfc2822(now)
            entry.status = status
            if callback:
                await self.post_signed(callback, self.status_params(message))

    def status_params(self, message: dict) -> dict[str, str]:
        params = {
            "AccountSid": message["account_sid"],
            "ApiVersion": API_VERSION,
            "From": message["from"],
            "MessageSid": message["sid"],
            "MessageStatus": message["status"],
            "SmsSid": message["sid"],
            "SmsStatus": message["status"],
            "To": message["to"],
        }
        if message["messaging_service_sid"]:
            params["MessagingServiceSid"] = message["messaging_service_sid"]
        if message["error_code"]:
            params["ErrorCode"] = str(message["error_code"])
        if message["status"] == "delivered":
            params["RawDlrDoneDate"] = datetime.now(UTC).strftime("%y%m%d%H%M")
        return params

    async def post_signed(self, url: str, params: dict[str, str]) -> httpx.Response | None:
        """POST a webhook signed with the auth token over this exact URL; failures are logged, not raised."""
        headers = {
            "X-Twilio-Signature": signature(credentials.TWILIO_AUTH_TOKEN, url, params),
            "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
            "User-Agent": "TwilioProxy/1.1",
        }
        try:
            async with httpx.AsyncClient(timeout=CALLBACK_TIMEOUT_SECONDS) as client:
                return await client.post(url, data=params, headers=headers)
        except httpx.HTTPError as error:
            log.warning("twilio sandbox: webhook to %s not delivered: %r", url, error)
            return None

    def listing(self, request: Request, account_sid: str) -> dict:
        query = request.query_params
        filters = {k: query[k] for k in ("To", "From", "DateSent", "DateSent<", "DateSent>") if query.get(k)}
        dated = [op for op in ("", "<", ">") if f"DateSent{op}" in filters]
        found = []
        for sid, message in sorted(
            self.messages.items(), key=lambda item: self.created[item[0]], reverse=True
        ):
            if filters.get("To", message["to"]) != message["to"]:
                continue
            if filters.get("From", message["from"]) != message["from"]:
                continue
            # As Twilio does, the DateSent filters look at the sent date, which a text still queued (or
            # accepted) does not have: any DateSent filter leaves it out.
            when = self.sent.get(sid)
            if dated and when is None:
                continue
            if all(self._date_matches(when, op, filters[f"DateSent{op}"]) for op in dated):
                found.append(message)
        size = min(max(int(query.get("PageSize") or 50), 1), 1000)
        page = max(int(query.get("Page") or 0), 0)
        uri = f"/{API_VERSION}/Accounts/{account_sid}/Messages.json"

        def page_uri(number: int) -> str:
            return f"{uri}?{urlencode({**filters, 'PageSize': size, 'Page': number})}"

        more = len(found) > (page + 1) * size
        return {
            "messages": found[page * size : (page + 1) * size],
            "end": min(len(found), (page + 1) * size) - 1,
            "first_page_uri": page_uri(0),
            "next_page_uri": page_uri(page + 1) if more else None,
            "page": page,
            "page_size": size,
            "previous_page_uri": page_uri(page - 1) if page else None,
            "start": page * size,
            "uri": page_uri(page),
        }

    @staticmethod
    def _date_matches(when: datetime, op: str, value: str) -> bool:
        """DateSent (that day), DateSent< (on or before), DateSent> (on or after), by date or by moment."""
        try:
            moment, date_only = _when(value)
        except ValueError:
            raise TwilioFailure(400, 20001, f"Invalid DateSent{op}: {value}") from None
        left, right = (when.date(), moment.date()) if date_only or op == "" else (when, moment)
        return {"": left == right, "<": left <= right, ">": left >= right}[op]

    async def inbound(self, sender: str, to: str, body: str) -> dict:
        """The customer texts the business: record it, tell our API, text back any TwiML <Message> reply."""
        message = message_resource(to, sender, body, "received", "inbound")
        sid, now = message["sid"], self.stamp(message)
        message["date_sent"] = message["date_created"]
        self.messages[sid] = message
        self.context.inbound.append(
            OutboxEntry(
                channel="sms", to=to, sender=sender, body=body, provider_id=sid, status="received", at=now
            )
        )
        self.sent[sid] = now
        params = {
            "AccountSid": message["account_sid"],
            "ApiVersion": API_VERSION,
            "Body": body,
            "From": sender,
            "MessageSid": sid,
            "NumMedia": "0",
            "NumSegments": str(segments(body)),
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "SmsStatus": "received",
            "To": to,
        }
        answer = await self.post_signed(f"{self.context.api_url}/webhooks/twilio/inbound", params)
        replies = [
            self.accept(sender, to, text, direction="outbound-reply")["sid"]
            for text in _twiml_messages(answer)
        ]
        return {
            "sid": sid,
            "webhook_status": answer.status_code if answer is not None else None,
            "replies": replies,
        }


def _twiml_messages(answer: httpx.Response | None) -> list[str]:
    """The texts of <Message> verbs in a TwiML answer."""
    if answer is None or answer.status_code >= 300 or "xml" not in answer.headers.get("content-type", ""):
        return []
    try:
        root = ElementTree.fromstring(answer.text)
    except ElementTree.ParseError:
        log.warning("twilio sandbox: the inbound webhook answered with TwiML that does not parse")
        return []
    texts = []
    for verb in root.iter("Message"):
        body = verb.find("Body")
        text = (body.text if body is not None else verb.text) or ""
        if text.strip():
            texts.append(text.strip())
    return texts


def router(context: SandboxContext) -> APIRouter:
    twilio = TwilioSandbox(context)
    gate = context.controls.gate
    outer = APIRouter(tags=["twilio"])
    api = APIRouter(prefix=f"/twilio/{API_VERSION}/Accounts/{{account_sid}}", route_class=_TwilioRoute)

    @api.post("/Messages.json", status_code=201)
    async def create_message(account_sid: str, request: Request):
        # Read the request before any held-up answer: a client that gives up waiting has still sent the
        # text, and Twilio still sends it (why NexJob looks for it before sending again).
        await request.body()
        await gate("twilio")
        twilio.check_auth(request, account_sid)
        form = await request.form()
        to, sender, service = (
            str(form.get(k) or "").strip() or None for k in ("To", "From", "MessagingServiceSid")
        )
        body, media = str(form.get("Body") or ""), [str(m) for m in form.getlist("MediaUrl")]
        twilio.validate(to or "", sender, service, body, media)
        message = twilio.accept(
            to,
            sender,
            body,
            service=service,
            callback=str(form.get("StatusCallback") or "") or None,
            media=len(media),
        )
        return JSONResponse(message, 201)

    @api.get("/Messages.json")
    async def list_messages(account_sid: str, request: Request):
        await gate("twilio")
        twilio.check_auth(request, account_sid)
        return twilio.listing(request, account_sid)

    @api.get("/Messages/{sid}.json")
    async def fetch_message(account_sid: str, sid: str, request: Request):
        await gate("twilio")
        twilio.check_auth(request, account_sid)
        if sid not in twilio.messages:
            raise TwilioFailure(404, 20404, f"The requested resource {request.url.path} was not found")
        return twilio.messages[sid]

    @outer.post("/inbound-sms")
    async def inbound_sms(request: Request):
        """A customer texts the business (the inbox page's form, or JSON from a test or demo)."""
        await request.body()
        await gate("twilio")
        from_form = request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        )
        data = dict(await request.form()) if from_form else await request.json()
        sender, to, body = (str(data.get(k) or "").strip() for k in ("from", "to", "body"))
        if not (E164.match(sender) and E164.match(to)):
            return JSONResponse({"detail": "`from` and `to` must be E.164 numbers, like +15125550100"}, 422)
        result = await twilio.inbound(sender, to, body)
        if from_form:
            return RedirectResponse("/inbox", 303)
        return result

    outer.include_router(api)
    return outer
