"""Stripe sandbox refunds, events, and their signed webhook delivery."""

import asyncio
import copy
import hashlib
import hmac
import json
import logging

import httpx

from sandbox import credentials
from sandbox.stripe.wire import API_VERSION, Call, StripeError, as_int, invalid, money, new_id, now

log = logging.getLogger(__name__)

WEBHOOK_TIMEOUT_SECONDS = 10


class EventsMixin:
    """Webhooks, refunds and events: mixed into StripeSandbox, whose state it uses."""

    # webhooks

    def emit(self, event_type: str, obj: dict, account: str | None) -> dict:
        event = {
            "id": new_id("evt_"),
            "object": "event",
            "api_version": API_VERSION,
            "created": now(),
            "data": {"object": copy.deepcopy(obj)},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
        if account:
            event["account"] = account
        self.events[event["id"]] = event
        task = asyncio.get_running_loop().create_task(self.deliver(event))
        self.tasks.add(task)  # a task nobody references may be collected before it runs
        task.add_done_callback(self.tasks.discard)
        return event

    async def deliver(self, event: dict) -> int | None:
        """POST the event, signed as Stripe signs (HMAC-SHA256 of "{t}.{payload}"); failures are logged."""
        url = f"{self.context.api_url}/webhooks/stripe"
        payload = json.dumps(event, indent=2)
        timestamp = now()
        signature = hmac.new(
            credentials.STRIPE_WEBHOOK_SECRET.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256
        ).hexdigest()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": f"t={timestamp},v1={signature}",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        }
        async with self.delivery_lock:
            try:
                async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT_SECONDS) as client:
                    answer = await client.post(url, content=payload.encode(), headers=headers)
                status = answer.status_code
            except httpx.HTTPError as error:
                log.warning(
                    "stripe sandbox: %s %s to %s not delivered: %r", event["type"], event["id"], url, error
                )
                status = None
        self.deliveries.append({"event": event["id"], "type": event["type"], "url": url, "status": status})
        return status

    # refunds

    def create_refund(self, call: Call) -> dict:
        p = call.params
        if p.get("payment_intent"):
            intent = self.get(call, p["payment_intent"], "payment_intent")
            charge = self.objects.get(intent["latest_charge"] or "")
            if intent["status"] != "succeeded" or charge is None:
                raise invalid(
                    f"This PaymentIntent ({intent['id']}) does not have a successful charge to refund.",
                    "payment_intent",
                )
        elif p.get("charge"):
            charge = self.get(call, p["charge"], "charge")
        else:
            raise invalid(
                "One of the following params should be provided for this request: payment_intent or charge."
            )
        remaining = charge["amount_captured"] - charge["amount_refunded"]
        if remaining <= 0:
            raise invalid(f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded")
        amount = as_int(p, "amount")
        amount = remaining if amount is None else amount
        if amount <= 0:
            raise invalid("Invalid positive integer", "amount")
        if amount > remaining:
            raise invalid(
                f"Refund amount ({money(amount, charge['currency'])}) is greater than unrefunded amount on "
                f"charge ({money(remaining, charge['currency'])})",
                "amount",
                "amount_too_large",
            )
        refund = {
            "id": new_id("re_"),
            "object": "refund",
            "amount": amount,
            "balance_transaction": new_id("txn_"),
            "charge": charge["id"],
            "created": now(),
            "currency": charge["currency"],
            "metadata": p.get("metadata") or {},
            "payment_intent": charge["payment_intent"],
            "reason": p.get("reason"),
            "receipt_number": None,
            "status": "succeeded",
        }
        self.save(refund, call.account)
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount_captured"]
        self.emit("charge.refunded", charge, call.account)
        return refund

    # events

    def retrieve_event(self, call: Call, event_id: str) -> dict:
        event = self.events.get(event_id)
        if event is None or event.get("account") != call.account:
            raise StripeError(
                404,
                {
                    "type": "invalid_request_error",
                    "code": "resource_missing",
                    "message": f"No such event: '{event_id}'",
                },
            )
        return event
