"""Stripe stand-in: the v1 API subset NexJob uses, form-encoded in and Stripe's JSON out.

Served under /stripe/v1 (the SDK's base address is {sandbox}/stripe):
- customers: create, retrieve, update, list (filter by email); their payment methods
- payment_methods: create a card, retrieve, attach, detach, list for a customer; Stripe's test methods
  (pm_card_visa, pm_card_chargeDeclined, pm_card_authenticationRequired, …) are cloned on use as Stripe does
- setup_intents: create, retrieve, confirm; payment_intents: create, retrieve, confirm, cancel
- products, prices, payment_links; checkout sessions (payment and setup mode): create, retrieve, expire
- refunds: create, retrieve; charges and events: retrieve, list
Test cards behave as Stripe's: 4242… succeeds, 4000 0000 0000 0002 is declined, 4000 0000 0000 9995 has
insufficient funds, 4000 0000 0000 0341 saves but fails when charged, 4000 0027 6000 3184 always asks for
authentication (an off-session charge fails with `authentication_required`). `Idempotency-Key` replays the
stored answer of the first request; `Stripe-Account` keeps each connected account's objects apart.

Outside the API: the hosted pay page `/stripe/pay/{cs_…|plink_…}`, the 3-D Secure page
`/stripe/authenticate/{seti_…|pi_…}`, signed webhooks to `{api_url}/webhooks/stripe`, and test helpers
`GET /stripe/_charges`, `GET /stripe/_events`, `POST /stripe/_resend_event/{evt_id}`.
"""

import asyncio
import base64
import copy
import hashlib
import hmac
import html
import json
import logging
import re
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

import httpx
from fastapi import APIRouter, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute

from sandbox import credentials
from sandbox.context import SandboxContext

log = logging.getLogger(__name__)

# Events carry the account's API version; this is the one stripe-python 16.1 pins.
API_VERSION = "2026-10-28.endive"
WEBHOOK_TIMEOUT_SECONDS = 10
ALPHANUMERIC = string.ascii_letters + string.digits
ZERO_DECIMAL = set("bif clp djf gnf jpy kmf krw mga pyg rwf vnd vuv xaf xof".split())
MINIMUM_CHARGE = {"usd": 50, "eur": 50, "cad": 50, "aud": 50, "gbp": 30}

# Stripe's test payment methods, by the card each stands for.
TEST_PAYMENT_METHODS = {
    "pm_card_visa": "4242424242424242",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_amex": "378282246310005",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_chargeCustomerFail": "4000000000000341",
    "pm_card_authenticationRequired": "4000002760003184",
}
# What a test card does when it is saved (attach, SetupIntent) and when it is charged; others succeed.
TEST_CARDS = {
    "4000000000000002": ("declined", "declined"),
    "4000000000009995": ("ok", "insufficient_funds"),
    "4000000000000341": ("ok", "declined"),
    "4000002760003184": ("authenticate", "authenticate"),
}
DECLINES = {  # outcome: (code, decline_code, message)
    "declined": ("card_declined", "generic_decline", "Your card was declined."),
    "insufficient_funds": ("card_declined", "insufficient_funds", "Your card has insufficient funds."),
    "authenticate": (
        "authentication_required",
        "authentication_required",
        "Your card was declined. This transaction requires authentication.",
    ),
}


# --- wire format -------------------------------------------------------------------------------------


def unflatten(pairs) -> dict:
    """Stripe's bracketed form keys (`metadata[a]=1`, `line_items[0][price]=…`, `types[]=card`) as nesting."""
    root: dict = {}
    for key, value in pairs:
        path = [key.split("[", 1)[0], *re.findall(r"\[([^\]]*)\]", key)]
        node = root
        for part in path[:-1]:
            child = node.setdefault(part or str(len(node)), {})
            if not isinstance(child, dict):  # a key sent both as a value and as a parent: last one wins
                child = node[part] = {}
            node = child
        node[path[-1] or str(len(node))] = value
    return _listify(root)


def _listify(node, key: str = ""):
    if not isinstance(node, dict):
        return node
    items = {k: _listify(v, k) for k, v in node.items()}
    # Numbered keys are array items, except inside metadata where any string is a key.
    if key != "metadata" and items and all(k.isdigit() for k in items):
        return [items[k] for k in sorted(items, key=int)]
    return items


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(ALPHANUMERIC) for _ in range(length))


def now() -> int:
    return int(time.time())


def money(amount: int, currency: str) -> str:
    currency = currency.lower()
    value = f"{amount:,}" if currency in ZERO_DECIMAL else f"{amount / 100:,.2f}"
    symbol = {"usd": "$", "cad": "CA$", "aud": "A$", "eur": "€", "gbp": "£"}.get(currency)
    return f"{symbol}{value}" if symbol else f"{value} {currency.upper()}"


class StripeError(Exception):
    """An answer in Stripe's error format; the SDK picks its exception class from the status and type."""

    def __init__(self, status: int, error: dict, headers: dict | None = None):
        super().__init__(error.get("message"))
        self.status, self.error, self.headers = status, error, headers or {}

    def response(self) -> JSONResponse:
        return JSONResponse({"error": self.error}, self.status, headers=self.headers)


def invalid(message: str, param: str | None = None, code: str | None = None) -> StripeError:
    error = {"type": "invalid_request_error", "message": message}
    if param:
        error["param"] = param
    if code:
        error |= {"code": code, "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"}
    return StripeError(400, error)


def missing_param(name: str) -> StripeError:
    return invalid(f"Missing required param: {name}.", name, "parameter_missing")


def card_error(code: str, message: str, param: str | None = None, **extra) -> StripeError:
    error = {"type": "card_error", "code": code, "message": message, **extra}
    error["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
    if param:
        error["param"] = param
    return StripeError(402, error)


def as_int(params: dict, name: str, *, required: bool = False) -> int | None:
    value = params.get(name)
    if value in (None, ""):
        if required:
            raise missing_param(name)
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid(f"Invalid integer: {value}", name) from None


def as_bool(value) -> bool:
    # off_session also takes "one_off" / "recurring", which mean true.
    return str(value).lower() in ("true", "1", "one_off", "recurring")


def _outage(error: HTTPException) -> StripeError:
    """The controls' misbehaviour, dressed as Stripe dresses it: 429 rate_limit, else api_error."""
    if error.status_code == 429:
        body = {"type": "invalid_request_error", "code": "rate_limit", "message": error.detail}
    else:
        body = {"type": "api_error", "message": error.detail}
    return StripeError(error.status_code, body, dict(error.headers or {}))


class _StripeRoute(APIRoute):
    """Every failure of an API route leaves in Stripe's error format."""

    def get_route_handler(self):
        handle = super().get_route_handler()

        async def stripe_errors(request: Request) -> Response:
            try:
                return await handle(request)
            except StripeError as failure:
                return failure.response()
            except HTTPException as outage:  # raised by the controls' gate
                return _outage(outage).response()
            except RequestValidationError as bad:
                return invalid(f"Invalid request: {bad.errors()}").response()

        return stripe_errors


# --- cards ---------------------------------------------------------------------------------------------


def luhn_valid(number: str) -> bool:
    digits = [int(d) for d in reversed(number)]
    total = sum(digits[0::2]) + sum(sum(divmod(2 * d, 10)) for d in digits[1::2])
    return 12 <= len(number) <= 19 and total % 10 == 0


def brand_of(number: str) -> str:
    if number.startswith("4"):
        return "visa"
    if number[:2] in ("34", "37"):
        return "amex"
    if number[:2] in ("51", "52", "53", "54", "55") or "2221" <= number[:4] <= "2720":
        return "mastercard"
    if number.startswith(("6011", "65")):
        return "discover"
    return "unknown"


def outcome_for(number: str, stage: str) -> str:
    """What the card does at a stage ("save" or "charge"): ok, authenticate, or a key of DECLINES."""
    save, charge = TEST_CARDS.get(number, ("ok", "ok"))
    return save if stage == "save" else charge


@dataclass
class Call:
    params: dict
    account: str | None  # Stripe-Account: a connected account's objects are its own


@dataclass
class Saved:
    fingerprint: str
    status: int
    body: str


# --- the service ---------------------------------------------------------------------------------------


class StripeSandbox:
    def __init__(self, context: SandboxContext):
        self.context = context
        self.objects: dict[str, dict] = {}
        self.owner: dict[str, str | None] = {}  # object id -> connected account (None: the platform)
        self.card_numbers: dict[str, str] = {}  # pm id -> full number; never part of the JSON
        self.checkout_items: dict[str, list[dict]] = {}  # cs / plink id -> line items
        self.hidden: dict[str, dict] = {}  # per-object settings Stripe does not echo back
        self.charges: list[dict] = []
        self.events: dict[str, dict] = {}
        self.deliveries: list[dict] = []
        self.idempotent: dict[tuple[str | None, str], Saved] = {}
        self.tasks: set[asyncio.Task] = set()
        self.delivery_lock = asyncio.Lock()  # webhooks leave in the order they happened

    # storage

    def save(self, obj: dict, account: str | None) -> dict:
        self.objects[obj["id"]] = obj
        self.owner[obj["id"]] = account
        return obj

    def get(self, call: Call, object_id: str, kind: str) -> dict:
        obj = self.objects.get(object_id or "")
        if obj is None or obj["object"] != kind or self.owner[obj["id"]] != call.account:
            raise StripeError(
                404,
                {
                    "type": "invalid_request_error",
                    "code": "resource_missing",
                    "param": "id",
                    "message": f"No such {kind}: '{object_id}'",
                },
            )
        return obj

    def listing(self, url: str, items: list[dict], params: dict) -> dict:
        limit = min(max(as_int(params, "limit") or 10, 1), 100)
        items = sorted(items, key=lambda o: o["created"], reverse=True)
        after = params.get("starting_after")
        if after:
            ids = [o["id"] for o in items]
            items = items[ids.index(after) + 1 :] if after in ids else []
        return {"object": "list", "data": items[:limit], "has_more": len(items) > limit, "url": url}

    def expand(self, value, path: list[str]) -> None:
        """`expand[]=latest_charge` / `data.payment_method`: swap an id for its object."""
        if not path or not isinstance(value, dict):
            return
        head, rest = path[0], path[1:]
        if head == "data" and isinstance(value.get("data"), list):
            for item in value["data"]:
                self.expand(item, rest)
            return
        target = value.get(head)
        if isinstance(target, str) and target in self.objects:
            value[head] = target = copy.deepcopy(self.objects[target])
        self.expand(target, rest)

    # requests

    def account_of(self, request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        if scheme.lower() == "basic":  # curl -u sk_test_…:
            key = base64.b64decode(key).decode(errors="replace").split(":", 1)[0]
        elif scheme.lower() != "bearer":
            key = ""
        if not key:
            raise StripeError(
                401,
                {
                    "type": "invalid_request_error",
                    "message": "You did not provide an API key. You need to provide your API key in the "
                    "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
                },
            )
        if not key.startswith(("sk_", "rk_")):
            raise StripeError(
                401, {"type": "invalid_request_error", "message": f"Invalid API Key provided: {key[:12]}…"}
            )
        return request.headers.get("stripe-account") or None

    async def serve(self, request: Request, operation: Callable[[Call], dict], *path_args) -> Response:
        """Authenticate, parse, replay or run, and store the answer under the request's Idempotency-Key."""
        account = self.account_of(request)
        if request.method == "GET":
            pairs = request.query_params.multi_items()
        else:
            pairs = parse_qsl((await request.body()).decode(), keep_blank_values=True)
        params = unflatten(pairs)
        key = request.headers.get("idempotency-key") if request.method == "POST" else None
        headers = {"Request-Id": new_id("req_", 14), "Stripe-Version": API_VERSION}
        fingerprint = json.dumps([request.url.path, params], sort_keys=True)
        if key:
            headers["Idempotency-Key"] = key
            saved = self.idempotent.get((account, key))
            if saved and saved.fingerprint != fingerprint:
                raise StripeError(
                    400,
                    {
                        "type": "idempotency_error",
                        "message": "Keys for idempotent requests can only be used with the same parameters "
                        f"they were first used with. Try using a key other than '{key}' if you meant to "
                        "execute a different request.",
                    },
                )
            if saved:
                return Response(
                    saved.body,
                    saved.status,
                    headers | {"Idempotent-Replayed": "true"},
                    media_type="application/json",
                )
        # No await from here on: the check above and the save below see the same state.
        try:
            status, body = 200, copy.deepcopy(operation(Call(params, account), *path_args))
            for path in params.get("expand") or []:
                self.expand(body, path.split("."))
        except StripeError as failure:
            # Stripe saves a result once the endpoint ran (a decline included), not a rejected request.
            if failure.status != 402:
                raise
            status, body = failure.status, {"error": failure.error}
        encoded = json.dumps(body)
        if key:
            self.idempotent[(account, key)] = Saved(fingerprint, status, encoded)
        return Response(encoded, status, headers, media_type="application/json")

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

    # customers

    def create_customer(self, call: Call) -> dict:
        p = call.params
        customer = {
            "id": new_id("cus_", 14),
            "object": "customer",
            "address": None,
            "balance": 0,
            "created": now(),
            "currency": None,
            "default_source": None,
            "delinquent": False,
            "description": p.get("description"),
            "email": p.get("email"),
            "invoice_prefix": new_id("", 8).upper(),
            "invoice_settings": {
                "custom_fields": None,
                "default_payment_method": None,
                "footer": None,
                "rendering_options": None,
            },
            "livemode": False,
            "metadata": p.get("metadata") or {},
            "name": p.get("name"),
            "phone": p.get("phone"),
            "preferred_locales": [],
            "shipping": None,
            "tax_exempt": "none",
            "test_clock": None,
        }
        self.save(customer, call.account)
        if p.get("payment_method"):
            self.attach(call, self.payment_method(call, p["payment_method"]), customer["id"])
        self._update_customer(call, customer)
        return customer

    def update_customer(self, call: Call, customer_id: str) -> dict:
        customer = self.get(call, customer_id, "customer")
        for field in ("email", "name", "phone", "description"):
            if field in call.params:
                customer[field] = call.params[field] or None
        customer["metadata"] |= call.params.get("metadata") or {}
        self._update_customer(call, customer)
        return customer

    def _update_customer(self, call: Call, customer: dict) -> None:
        default = (call.params.get("invoice_settings") or {}).get("default_payment_method")
        if default:
            method = self.get(call, default, "payment_method")
            if method["customer"] != customer["id"]:
                raise invalid(
                    f"No such PaymentMethod: '{default}'; it is not attached to this customer.",
                    "invoice_settings[default_payment_method]",
                    "resource_missing",
                )
            customer["invoice_settings"]["default_payment_method"] = default

    def list_customers(self, call: Call) -> dict:
        email = call.params.get("email")
        mine = [
            o
            for o in self.objects.values()
            if o["object"] == "customer" and self.owner[o["id"]] == call.account
        ]
        return self.listing(
            "/v1/customers", [c for c in mine if email is None or c["email"] == email], call.params
        )

    # payment methods

    def card_method(self, number: str, exp_month: int, exp_year: int, method_id: str | None = None) -> dict:
        brand = brand_of(number)
        return {
            "id": method_id or new_id("pm_"),
            "object": "payment_method",
            "allow_redisplay": "unspecified",
            "billing_details": {
                "address": dict.fromkeys(("city", "country", "line1", "line2", "postal_code", "state")),
                "email": None,
                "name": None,
                "phone": None,
            },
            "card": {
                "brand": brand,
                "checks": {
                    "address_line1_check": None,
                    "address_postal_code_check": None,
                    "cvc_check": "pass",
                },
                "country": "US",
                "display_brand": brand,
                "exp_month": exp_month,
                "exp_year": exp_year,
                "fingerprint": hashlib.sha256(number.encode()).hexdigest()[:16],
                "funding": "credit",
                "generated_from": None,
                "last4": number[-4:],
                "networks": {"available": [brand], "preferred": None},
                "three_d_secure_usage": {"supported": True},
                "wallet": None,
            },
            "created": now(),
            "customer": None,
            "livemode": False,
            "metadata": {},
            "type": "card",
        }

    def new_card(
        self, account: str | None, number: str, exp_month: int = 12, exp_year: int | None = None
    ) -> dict:
        method = self.card_method(number, exp_month, exp_year or time.gmtime().tm_year + 3)
        self.card_numbers[method["id"]] = number
        return self.save(method, account)

    def payment_method(self, call: Call, method_id: str) -> dict:
        """A stored method, or a fresh clone of one of Stripe's test methods (each use gets a new id)."""
        if method_id in TEST_PAYMENT_METHODS:
            return self.new_card(call.account, TEST_PAYMENT_METHODS[method_id])
        return self.get(call, method_id, "payment_method")

    def create_payment_method(self, call: Call) -> dict:
        p = call.params
        if p.get("type") != "card":
            raise invalid("The sandbox creates card payment methods only: pass type=card.", "type")
        card = p.get("card") or {}
        number = re.sub(r"[\s-]", "", str(card.get("number") or ""))
        if not number:
            raise missing_param("card[number]")
        if not number.isdigit() or not luhn_valid(number):
            raise card_error("incorrect_number", "Your card number is incorrect.", "card[number]")
        exp_month = as_int(card, "exp_month", required=True)
        exp_year = as_int(card, "exp_year", required=True)
        exp_year += 2000 if exp_year < 100 else 0
        if not 1 <= exp_month <= 12:
            raise card_error(
                "invalid_expiry_month", "Your card's expiration month is invalid.", "card[exp_month]"
            )
        today = time.gmtime()
        if (exp_year, exp_month) < (today.tm_year, today.tm_mon):
            raise card_error(
                "invalid_expiry_year", "Your card's expiration year is invalid.", "card[exp_year]"
            )
        method = self.new_card(call.account, number, exp_month, exp_year)
        details = p.get("billing_details") or {}
        for field in ("email", "name", "phone"):
            method["billing_details"][field] = details.get(field) or None
        method["billing_details"]["address"] |= details.get("address") or {}
        method["metadata"] = p.get("metadata") or {}
        return method

    def retrieve_payment_method(self, call: Call, method_id: str) -> dict:
        if method_id in TEST_PAYMENT_METHODS:
            return self.card_method(TEST_PAYMENT_METHODS[method_id], 12, time.gmtime().tm_year + 3, method_id)
        return self.get(call, method_id, "payment_method")

    def attach(self, call: Call, method: dict, customer_id: str) -> dict:
        self.get(call, customer_id, "customer")
        if method["customer"] and method["customer"] != customer_id:
            raise invalid(
                "The payment method you provided has already been attached to a customer.", "payment_method"
            )
        outcome = outcome_for(self.card_numbers.get(method["id"], ""), "save")
        if outcome in ("declined", "insufficient_funds"):
            code, decline_code, message = DECLINES[outcome]
            raise card_error(code, message, decline_code=decline_code)
        method["customer"] = customer_id
        return method

    def attach_payment_method(self, call: Call, method_id: str) -> dict:
        customer_id = call.params.get("customer") or ""
        if not customer_id:
            raise missing_param("customer")
        return self.attach(call, self.payment_method(call, method_id), customer_id)

    def detach_payment_method(self, call: Call, method_id: str) -> dict:
        method = self.get(call, method_id, "payment_method")
        if not method["customer"]:
            raise invalid(
                "The payment method you provided is not attached to a customer so detachment is impossible."
            )
        method["customer"] = None
        return method

    def list_payment_methods(self, call: Call, customer_id: str | None = None) -> dict:
        customer_id = customer_id or call.params.get("customer")
        if not customer_id:
            raise missing_param("customer")
        self.get(call, customer_id, "customer")
        kind = call.params.get("type")
        methods = [
            o
            for o in self.objects.values()
            if o["object"] == "payment_method" and o["customer"] == customer_id and kind in (None, o["type"])
        ]
        return self.listing(f"/v1/customers/{customer_id}/payment_methods", methods, call.params)

    # setup intents

    def redirect_action(self, intent: dict) -> dict:
        """The next step of a card that needs 3-D Secure: our page plays the bank's challenge."""
        return_url = self.hidden.get(intent["id"], {}).get("return_url")
        url = f"{self.context.public_url}/stripe/authenticate/{intent['id']}"
        return {"type": "redirect_to_url", "redirect_to_url": {"url": url, "return_url": return_url}}

    def create_setup_intent(self, call: Call) -> dict:
        p = call.params
        customer = p.get("customer")
        if customer:
            self.get(call, customer, "customer")
        intent_id = new_id("seti_")
        intent = {
            "id": intent_id,
            "object": "setup_intent",
            "application": None,
            "automatic_payment_methods": None,
            "cancellation_reason": None,
            "client_secret": f"{intent_id}_secret_{new_id('', 32)}",
            "created": now(),
            "customer": customer,
            "description": p.get("description"),
            "flow_directions": None,
            "last_setup_error": None,
            "latest_attempt": None,
            "livemode": False,
            "mandate": None,
            "metadata": p.get("metadata") or {},
            "next_action": None,
            "on_behalf_of": None,
            "payment_method": None,
            "payment_method_options": {
                "card": {"mandate_options": None, "network": None, "request_three_d_secure": "automatic"}
            },
            "payment_method_types": p.get("payment_method_types") or ["card"],
            "single_use_mandate": None,
            "status": "requires_payment_method",
            "usage": p.get("usage") or "off_session",
        }
        self.save(intent, call.account)
        self.hidden[intent_id] = {"return_url": p.get("return_url")}
        if p.get("payment_method"):
            intent["payment_method"] = self.payment_method(call, p["payment_method"])["id"]
            intent["status"] = "requires_confirmation"
        if as_bool(p.get("confirm")):
            return self.confirm_setup_intent(call, intent_id)
        return intent

    def confirm_setup_intent(self, call: Call, intent_id: str) -> dict:
        intent = self.get(call, intent_id, "setup_intent")
        if intent["status"] not in ("requires_payment_method", "requires_confirmation", "requires_action"):
            raise invalid(
                f"You cannot confirm this SetupIntent because it has a status of {intent['status']}.",
                code="setup_intent_unexpected_state",
            )
        if call.params.get("return_url"):
            self.hidden[intent_id]["return_url"] = call.params["return_url"]
        method_id = call.params.get("payment_method") or intent["payment_method"]
        if not method_id:
            raise invalid(
                "You cannot confirm this SetupIntent because it's missing a payment method.",
                code="setup_intent_unexpected_state",
            )
        method = self.payment_method(call, method_id)
        outcome = outcome_for(self.card_numbers.get(method["id"], ""), "save")
        if outcome in ("declined", "insufficient_funds"):
            code, decline_code, message = DECLINES[outcome]
            error = {
                "type": "card_error",
                "code": code,
                "decline_code": decline_code,
                "message": message,
                "payment_method": copy.deepcopy(method),
            }
            intent.update(status="requires_payment_method", payment_method=None, last_setup_error=error)
            self.emit("setup_intent.setup_failed", intent, call.account)
            raise card_error(code, message, decline_code=decline_code, setup_intent=copy.deepcopy(intent))
        intent["payment_method"] = method["id"]
        if outcome == "authenticate":
            intent.update(status="requires_action", next_action=self.redirect_action(intent))
            return intent
        return self.setup_succeeded(call.account, intent, method)

    def setup_succeeded(self, account: str | None, intent: dict, method: dict) -> dict:
        if intent["customer"]:
            method["customer"] = intent["customer"]
        intent.update(
            status="succeeded",
            payment_method=method["id"],
            next_action=None,
            last_setup_error=None,
            latest_attempt=new_id("setatt_"),
        )
        self.emit("setup_intent.succeeded", intent, account)
        return intent

    # payment intents

    def new_payment_intent(self, call: Call, amount: int, currency: str, **fields) -> dict:
        if amount < MINIMUM_CHARGE.get(currency, 1):
            raise invalid(
                f"Amount must be at least {money(MINIMUM_CHARGE[currency], currency)} {currency}",
                "amount",
                "amount_too_small",
            )
        intent_id = new_id("pi_")
        intent = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_received": 0,
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": "automatic_async",
            "client_secret": f"{intent_id}_secret_{new_id('', 25)}",
            "confirmation_method": "automatic",
            "created": now(),
            "currency": currency,
            "customer": None,
            "description": None,
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": {},
            "next_action": None,
            "payment_method": None,
            "payment_method_types": ["card"],
            "receipt_email": None,
            "setup_future_usage": None,
            "statement_descriptor": None,
            "status": "requires_payment_method",
        }
        intent.update({k: v for k, v in fields.items() if v is not None})
        self.hidden[intent_id] = {"return_url": None}
        return self.save(intent, call.account)

    def create_payment_intent(self, call: Call) -> dict:
        p = call.params
        amount = as_int(p, "amount", required=True)
        currency = str(p.get("currency") or "").lower()
        if not currency:
            raise missing_param("currency")
        if amount <= 0:
            raise invalid("This value must be greater than or equal to 1.", "amount")
        if p.get("customer"):
            self.get(call, p["customer"], "customer")
        if "off_session" in p and not as_bool(p.get("confirm")):
            raise invalid(
                "You may only specify `off_session` when confirming a PaymentIntent.", "off_session"
            )
        intent = self.new_payment_intent(
            call,
            amount,
            currency,
            customer=p.get("customer"),
            description=p.get("description"),
            metadata=p.get("metadata") or {},
            receipt_email=p.get("receipt_email"),
            setup_future_usage=p.get("setup_future_usage"),
            statement_descriptor=p.get("statement_descriptor"),
            payment_method_types=p.get("payment_method_types"),
        )
        if p.get("payment_method"):
            intent["payment_method"] = self.payment_method(call, p["payment_method"])["id"]
            intent["status"] = "requires_confirmation"
        if as_bool(p.get("confirm")):
            return self.confirm_payment_intent(call, intent["id"])
        return intent

    def confirm_payment_intent(self, call: Call, intent_id: str) -> dict:
        intent = self.get(call, intent_id, "payment_intent")
        if intent["status"] not in ("requires_payment_method", "requires_confirmation", "requires_action"):
            raise invalid(
                f"This PaymentIntent's status is {intent['status']}, so it cannot be confirmed.",
                code="payment_intent_unexpected_state",
            )
        if call.params.get("return_url"):
            self.hidden[intent_id]["return_url"] = call.params["return_url"]
        method_id = call.params.get("payment_method") or intent["payment_method"]
        if not method_id:
            raise invalid(
                "You cannot confirm this PaymentIntent because it's missing a payment method. Update the "
                "PaymentIntent with a payment method and then confirm it again.",
                code="payment_intent_unexpected_state",
            )
        method = self.payment_method(call, method_id)
        if method["customer"] and method["customer"] != intent["customer"]:
            raise invalid(
                "The provided PaymentMethod was previously attached to a Customer. To use it, also pass "
                "that customer's id in `customer`.",
                "payment_method",
            )
        return self.attempt_payment(
            call.account, intent, method, off_session=as_bool(call.params.get("off_session"))
        )

    def attempt_payment(
        self,
        account: str | None,
        intent: dict,
        method: dict,
        *,
        off_session: bool,
        authenticated: bool = False,
    ) -> dict:
        """Charge the card as its test number says: succeed, ask for 3-D Secure, or decline (402)."""
        intent.update(payment_method=method["id"], next_action=None)
        outcome = outcome_for(self.card_numbers.get(method["id"], ""), "charge")
        if outcome == "authenticate" and authenticated:
            outcome = "ok"
        if outcome == "authenticate" and not off_session:
            intent.update(status="requires_action", next_action=self.redirect_action(intent))
            return intent
        if outcome == "ok":
            charge = self.charge(account, intent, method, None)
            intent.update(
                status="succeeded",
                amount_received=intent["amount"],
                latest_charge=charge["id"],
                last_payment_error=None,
            )
            if intent["setup_future_usage"] and intent["customer"]:
                method["customer"] = intent["customer"]
            self.emit("payment_intent.succeeded", intent, account)
            return intent
        code, decline_code, message = DECLINES[outcome]
        charge = self.charge(account, intent, method, DECLINES[outcome])
        error = {
            "type": "card_error",
            "code": code,
            "decline_code": decline_code,
            "message": message,
            "charge": charge["id"],
            "payment_method": copy.deepcopy(method),
        }
        intent.update(
            status="requires_payment_method",
            payment_method=None,
            latest_charge=charge["id"],
            last_payment_error=error,
        )
        self.emit("payment_intent.payment_failed", intent, account)
        raise card_error(
            code,
            message,
            decline_code=decline_code,
            charge=charge["id"],
            payment_method=copy.deepcopy(method),
            payment_intent=copy.deepcopy(intent),
        )

    def charge(self, account: str | None, intent: dict, method: dict, decline: tuple | None) -> dict:
        paid = decline is None
        card = method["card"]
        charge = {
            "id": new_id("ch_"),
            "object": "charge",
            "amount": intent["amount"],
            "amount_captured": intent["amount"] if paid else 0,
            "amount_refunded": 0,
            "balance_transaction": new_id("txn_") if paid else None,
            "billing_details": copy.deepcopy(method["billing_details"]),
            "captured": paid,
            "created": now(),
            "currency": intent["currency"],
            "customer": intent["customer"],
            "description": intent["description"],
            "disputed": False,
            "failure_code": None if paid else decline[0],
            "failure_message": None if paid else decline[2],
            "livemode": False,
            "metadata": copy.deepcopy(intent["metadata"]),
            "outcome": {
                "network_status": "approved_by_network" if paid else "declined_by_network",
                "reason": None if paid else decline[1],
                "risk_level": "normal",
                "seller_message": "Payment complete." if paid else "The bank declined the payment.",
                "type": "authorized" if paid else "issuer_declined",
            },
            "paid": paid,
            "payment_intent": intent["id"],
            "payment_method": method["id"],
            "payment_method_details": {
                "card": {
                    k: card[k] for k in ("brand", "country", "exp_month", "exp_year", "funding", "last4")
                },
                "type": "card",
            },
            "receipt_email": intent["receipt_email"],
            "receipt_url": None,
            "refunded": False,
            "status": "succeeded" if paid else "failed",
        }
        self.charges.append(charge)
        return self.save(charge, account)

    def cancel_payment_intent(self, call: Call, intent_id: str) -> dict:
        intent = self.get(call, intent_id, "payment_intent")
        if intent["status"] in ("succeeded", "canceled"):
            raise invalid(
                f"You cannot cancel this PaymentIntent because it has a status of {intent['status']}.",
                code="payment_intent_unexpected_state",
            )
        intent.update(
            status="canceled",
            canceled_at=now(),
            cancellation_reason=call.params.get("cancellation_reason") or "requested_by_customer",
            next_action=None,
        )
        self.emit("payment_intent.canceled", intent, call.account)
        return intent

    # products, prices, payment links, checkout

    def create_product(self, call: Call, fields: dict | None = None) -> dict:
        p = fields if fields is not None else call.params
        if not p.get("name"):
            raise missing_param("name")
        product = {
            "id": new_id("prod_", 14),
            "object": "product",
            "active": True,
            "created": now(),
            "description": p.get("description"),
            "livemode": False,
            "metadata": p.get("metadata") or {},
            "name": p["name"],
        }
        return self.save(product, call.account)

    def create_price(self, call: Call, fields: dict | None = None, param: str = "") -> dict:
        p = fields if fields is not None else call.params
        currency = str(p.get("currency") or "").lower()
        if not currency:
            raise missing_param(f"{param}[currency]" if param else "currency")
        unit_amount = as_int(p, "unit_amount", required=True)
        if p.get("product"):
            product = self.get(call, p["product"], "product")
        elif p.get("product_data"):
            product = self.create_product(call, p["product_data"])
        else:
            raise missing_param(f"{param}[product]" if param else "product")
        price = {
            "id": new_id("price_"),
            "object": "price",
            "active": True,
            "billing_scheme": "per_unit",
            "created": now(),
            "currency": currency,
            "livemode": False,
            "metadata": p.get("metadata") or {},
            "nickname": None,
            "product": product["id"],
            "recurring": None,
            "type": "one_time",
            "unit_amount": unit_amount,
        }
        return self.save(price, call.account)

    def line_items(self, call: Call, *, price_data_allowed: bool) -> list[dict]:
        """Line items as the pay page shows them: name, unit amount, currency, quantity."""
        items = []
        for index, item in enumerate(call.params.get("line_items") or []):
            where = f"line_items[{index}]"
            if not isinstance(item, dict):
                raise invalid(f"Invalid object: {where}", where)
            if item.get("price"):
                price = self.get(call, item["price"], "price")
            elif item.get("price_data") and price_data_allowed:
                price = self.create_price(call, item["price_data"], f"{where}[price_data]")
            elif item.get("price_data"):
                raise invalid(f"Received unknown parameter: {where}[price_data]", f"{where}[price_data]")
            else:
                raise missing_param(f"{where}[price]")
            product = self.objects[price["product"]]
            quantity = as_int(item, "quantity") or 1
            items.append(
                {
                    "name": product["name"],
                    "unit_amount": price["unit_amount"],
                    "currency": price["currency"],
                    "quantity": quantity,
                }
            )
        if len({i["currency"] for i in items}) > 1:
            raise invalid("All line items must use the same currency.", "line_items")
        return items

    def create_payment_link(self, call: Call) -> dict:
        items = self.line_items(call, price_data_allowed=False)
        if not items:
            raise missing_param("line_items")
        link_id = new_id("plink_")
        link = {
            "id": link_id,
            "object": "payment_link",
            "active": True,
            "after_completion": call.params.get("after_completion")
            or {"type": "hosted_confirmation", "hosted_confirmation": {"custom_message": None}},
            "created": now(),
            "currency": items[0]["currency"],
            "livemode": False,
            "metadata": call.params.get("metadata") or {},
            "url": f"{self.context.public_url}/stripe/pay/{link_id}",
        }
        self.checkout_items[link_id] = items
        self.hidden[link_id] = {"payment_intent_data": call.params.get("payment_intent_data") or {}}
        return self.save(link, call.account)

    def create_checkout_session(self, call: Call, payment_link: dict | None = None) -> dict:
        p = call.params
        mode = p.get("mode")
        if not mode:
            raise missing_param("mode")
        if mode not in ("payment", "setup"):
            raise invalid(f"Invalid mode: the sandbox serves `payment` and `setup`, not {mode!r}.", "mode")
        items = self.line_items(call, price_data_allowed=True)
        if mode == "payment" and not items:
            raise invalid("You must provide at least one line item in `payment` mode.", "line_items")
        if p.get("customer"):
            self.get(call, p["customer"], "customer")
        return self.new_session(call, mode, items)

    def new_session(self, call: Call, mode: str, items: list[dict]) -> dict:
        p = call.params
        total = sum(i["unit_amount"] * i["quantity"] for i in items)
        session_id = new_id("cs_test_", 58)
        created = now()
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": total if mode == "payment" else None,
            "amount_total": total if mode == "payment" else None,
            "cancel_url": p.get("cancel_url"),
            "client_reference_id": p.get("client_reference_id"),
            "created": created,
            "currency": items[0]["currency"] if items else (p.get("currency") or None),
            "customer": p.get("customer"),
            "customer_details": None,
            "customer_email": p.get("customer_email"),
            "expires_at": created + 24 * 3600,
            "livemode": False,
            "metadata": p.get("metadata") or {},
            "mode": mode,
            "payment_intent": None,
            "payment_link": None,
            "payment_method_types": p.get("payment_method_types") or ["card"],
            "payment_status": "unpaid" if mode == "payment" else "no_payment_required",
            "setup_intent": None,
            "status": "open",
            "success_url": p.get("success_url"),
            "url": f"{self.context.public_url}/stripe/pay/{session_id}",
        }
        self.checkout_items[session_id] = items
        self.hidden[session_id] = {"payment_intent_data": p.get("payment_intent_data") or {}}
        return self.save(session, call.account)

    def expire_checkout_session(self, call: Call, session_id: str) -> dict:
        session = self.get(call, session_id, "checkout.session")
        if session["status"] != "open":
            raise invalid('Only Checkout Sessions with a status in ["open"] can be expired.')
        session.update(status="expired", url=None)
        self.emit("checkout.session.expired", session, call.account)
        return session

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

    # the hosted pages

    def authenticated(self, intent: dict, completed: bool) -> str | None:
        """The customer passed (or failed) the 3-D Secure test page: finish the intent; where to go next."""
        account, kind = self.owner[intent["id"]], intent["object"]
        method = self.objects[intent["payment_method"]]
        if completed and kind == "setup_intent":
            self.setup_succeeded(account, intent, method)
        elif completed:
            self.attempt_payment(account, intent, method, off_session=False, authenticated=True)
        else:
            error = {
                "type": "invalid_request_error",
                "code": f"{kind}_authentication_failure",
                "message": "We are unable to authenticate your payment method. Please choose a different "
                "payment method and try again.",
                "payment_method": copy.deepcopy(method),
            }
            last = "last_setup_error" if kind == "setup_intent" else "last_payment_error"
            intent.update({"status": "requires_payment_method", "payment_method": None, last: error})
            intent["next_action"] = None
            failed = (
                "setup_intent.setup_failed" if kind == "setup_intent" else "payment_intent.payment_failed"
            )
            self.emit(failed, intent, account)
        return_url = self.hidden.get(intent["id"], {}).get("return_url")
        if not return_url:
            return None
        # Stripe sends the customer back with the intent named in the query string.
        query = urlencode(
            {
                kind: intent["id"],
                f"{kind}_client_secret": intent["client_secret"],
                "redirect_status": "succeeded" if intent["status"] == "succeeded" else "failed",
            }
        )
        return f"{return_url}{'&' if '?' in return_url else '?'}{query}"

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

    def checkout_target(self, target_id: str) -> dict | None:
        obj = self.objects.get(target_id)
        if obj and obj["object"] in ("checkout.session", "payment_link"):
            return obj
        return None

    def pay(self, target: dict, number: str) -> tuple[dict | None, str | None]:
        """Pay a session or link with a card number: (the completed session, None) or (None, why not)."""
        number = re.sub(r"\D", "", number)
        if not luhn_valid(number):
            return None, "Your card number is incorrect."
        account = self.owner[target["id"]]
        mode = target.get("mode", "payment")
        outcome = outcome_for(number, "save" if mode == "setup" else "charge")
        if outcome in ("declined", "insufficient_funds"):
            return None, DECLINES[outcome][2]
        call = Call({}, account)
        if target["object"] == "payment_link":
            session = self.session_for_link(call, target)
        else:
            session = target
        method = self.new_card(account, number)
        if session["customer"]:
            customer = self.objects[session["customer"]]
            method["billing_details"]["email"] = customer["email"]
            method["billing_details"]["name"] = customer["name"]
        email = session["customer_email"] or method["billing_details"]["email"]
        session["customer_details"] = {
            "email": email,
            "name": method["billing_details"]["name"],
            "phone": None,
        }
        if mode == "setup":
            intent = self.create_setup_intent(Call({"customer": session["customer"]}, account))
            # The page stands in for the bank's 3-D Secure challenge too: the customer is present.
            self.setup_succeeded(account, intent, method)
            session.update(setup_intent=intent["id"])
        else:
            intent_data = self.hidden[session["id"]]["payment_intent_data"]
            intent = self.new_payment_intent(
                call,
                session["amount_total"],
                session["currency"],
                customer=session["customer"],
                description=intent_data.get("description") or self.describe(session["id"]),
                metadata=copy.deepcopy(intent_data.get("metadata") or {}),
                receipt_email=email,
            )
            self.attempt_payment(account, intent, method, off_session=False, authenticated=True)
            session.update(payment_intent=intent["id"], payment_status="paid")
        session.update(status="complete", url=None)
        self.emit("checkout.session.completed", session, account)
        return session, None

    def session_for_link(self, call: Call, link: dict) -> dict:
        """Each purchase through a payment link is a Checkout Session of its own, with the link's metadata."""
        redirect = (link["after_completion"] or {}).get("redirect") or {}
        params = {"metadata": copy.deepcopy(link["metadata"]), "success_url": redirect.get("url")}
        session = self.new_session(Call(params, call.account), "payment", self.checkout_items[link["id"]])
        session["payment_link"] = link["id"]
        self.hidden[session["id"]] = copy.deepcopy(self.hidden[link["id"]])
        return session

    def total(self, target_id: str) -> int:
        return sum(i["unit_amount"] * i["quantity"] for i in self.checkout_items.get(target_id, []))

    def describe(self, target_id: str) -> str:
        items = self.checkout_items.get(target_id, [])
        return ", ".join(i["name"] + (f" × {i['quantity']}" if i["quantity"] > 1 else "") for i in items)


# --- HTML ----------------------------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,sans-serif;background:#f6f8fa;margin:0;color:#1a1f36}
main{max-width:26rem;margin:3rem auto;background:#fff;border-radius:8px;padding:2rem;
box-shadow:0 2px 8px #0002}
h1{font-size:1.1rem;margin:0 0 .25rem}.amount{font-size:2rem;font-weight:600;margin:.5rem 0 1.5rem}
label{display:block;font-size:.85rem;margin:.75rem 0 .25rem}input{width:100%;box-sizing:border-box;
padding:.6rem;border:1px solid #ccd;border-radius:6px;font-size:1rem}.row{display:flex;gap:.5rem}
button{width:100%;margin-top:1.25rem;padding:.75rem;border:0;border-radius:6px;background:#635bff;color:#fff;
font-size:1rem;cursor:pointer}.error{background:#fde8e8;color:#9b1c1c;padding:.6rem;border-radius:6px}
.ok{background:#e3f9e5;color:#1b5e20;padding:.6rem;border-radius:6px}small{color:#687385}
.badge{display:inline-block;font-size:.7rem;background:#ffe8b3;color:#7a4b00;padding:.1rem .4rem;
border-radius:4px}
"""


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    document = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_STYLE}</style></head>'
        f'<body><main><span class="badge">Stripe sandbox · test mode</span>{body}</main></body></html>'
    )
    return HTMLResponse(document, status)


def pay_form(stripe: StripeSandbox, target: dict, error: str | None = None, number: str = "") -> HTMLResponse:
    setup = target.get("mode") == "setup"
    amount = "" if setup else money(stripe.total(target["id"]), target["currency"])
    heading = (
        "Save a card for later payments" if setup else html.escape(stripe.describe(target["id"]) or "Payment")
    )
    cancel = target.get("cancel_url")
    body = f"""
<h1>{heading}</h1><div class="amount">{amount}</div>
{f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""}
<form method="post">
<label for="card_number">Card number</label>
<input id="card_number" name="card_number" inputmode="numeric" autocomplete="cc-number"
 value="{html.escape(number or "4242 4242 4242 4242")}">
<div class="row"><div><label for="exp">Expiry</label><input id="exp" name="exp" value="12 / 34"></div>
<div><label for="cvc">CVC</label><input id="cvc" name="cvc" value="123"></div></div>
<button type="submit">{"Save card" if setup else f"Pay {amount}"}</button>
</form>
<p><small>Test cards: 4242 4242 4242 4242 succeeds · 4000 0000 0000 0002 is declined ·
4000 0000 0000 9995 has insufficient funds.</small></p>
{f'<p><a href="{html.escape(cancel)}">Cancel and go back</a></p>' if cancel else ""}
"""
    return page(heading, body, 402 if error else 200)


# --- routes --------------------------------------------------------------------------------------------


def router(context: SandboxContext) -> APIRouter:
    stripe = StripeSandbox(context)
    outer = APIRouter(tags=["stripe"])
    api = APIRouter(prefix="/stripe/v1", route_class=_StripeRoute)
    gate = context.controls.gate

    def endpoint(method: str, path: str, operation: Callable[..., dict]) -> None:
        async def handle(request: Request) -> Response:
            # Read the request before any held-up answer: a client that gives up waiting has still sent it,
            # and Stripe still carries it out (the "timeout, then retry with the same key" case).
            await request.body()
            await gate("stripe")
            return await stripe.serve(request, operation, *request.path_params.values())

        api.add_api_route(path, handle, methods=[method], name=f"{method} {path}")

    endpoint("POST", "/customers", stripe.create_customer)
    endpoint("GET", "/customers", stripe.list_customers)
    endpoint("GET", "/customers/{customer_id}", lambda call, cid: stripe.get(call, cid, "customer"))
    endpoint("POST", "/customers/{customer_id}", stripe.update_customer)
    endpoint("GET", "/customers/{customer_id}/payment_methods", stripe.list_payment_methods)
    endpoint("POST", "/payment_methods", stripe.create_payment_method)
    endpoint("GET", "/payment_methods", stripe.list_payment_methods)
    endpoint("GET", "/payment_methods/{method_id}", stripe.retrieve_payment_method)
    endpoint("POST", "/payment_methods/{method_id}/attach", stripe.attach_payment_method)
    endpoint("POST", "/payment_methods/{method_id}/detach", stripe.detach_payment_method)
    endpoint("POST", "/setup_intents", stripe.create_setup_intent)
    endpoint("GET", "/setup_intents/{intent_id}", lambda call, iid: stripe.get(call, iid, "setup_intent"))
    endpoint("POST", "/setup_intents/{intent_id}/confirm", stripe.confirm_setup_intent)
    endpoint("POST", "/payment_intents", stripe.create_payment_intent)
    endpoint("GET", "/payment_intents/{intent_id}", lambda call, iid: stripe.get(call, iid, "payment_intent"))
    endpoint("POST", "/payment_intents/{intent_id}/confirm", stripe.confirm_payment_intent)
    endpoint("POST", "/payment_intents/{intent_id}/cancel", stripe.cancel_payment_intent)
    endpoint("GET", "/charges/{charge_id}", lambda call, cid: stripe.get(call, cid, "charge"))
    endpoint("POST", "/products", stripe.create_product)
    endpoint("GET", "/products/{product_id}", lambda call, pid: stripe.get(call, pid, "product"))
    endpoint("POST", "/prices", stripe.create_price)
    endpoint("GET", "/prices/{price_id}", lambda call, pid: stripe.get(call, pid, "price"))
    endpoint("POST", "/payment_links", stripe.create_payment_link)
    endpoint("GET", "/payment_links/{link_id}", lambda call, lid: stripe.get(call, lid, "payment_link"))
    endpoint("POST", "/checkout/sessions", stripe.create_checkout_session)
    endpoint(
        "GET", "/checkout/sessions/{session_id}", lambda call, sid: stripe.get(call, sid, "checkout.session")
    )
    endpoint("POST", "/checkout/sessions/{session_id}/expire", stripe.expire_checkout_session)
    endpoint("POST", "/refunds", stripe.create_refund)
    endpoint("GET", "/refunds/{refund_id}", lambda call, rid: stripe.get(call, rid, "refund"))
    endpoint("GET", "/events/{event_id}", stripe.retrieve_event)

    @outer.get("/stripe/pay/{target_id}", response_class=HTMLResponse)
    async def pay_page(target_id: str):
        await gate("stripe")
        target = stripe.checkout_target(target_id)
        if target is None:
            return page("Not found", "<h1>This payment page does not exist.</h1>", 404)
        if target.get("status", "open") == "complete":
            return page("Paid", '<h1>Already paid</h1><p class="ok">This payment is complete. Thank you!</p>')
        if target.get("status") == "expired" or (target.get("expires_at") or now() + 1) < now():
            return page("Expired", "<h1>This payment page has expired.</h1>", 410)
        if target.get("active") is False:
            return page("Inactive", "<h1>This payment link is no longer active.</h1>", 410)
        return pay_form(stripe, target)

    @outer.post("/stripe/pay/{target_id}", response_class=HTMLResponse)
    async def pay_submit(target_id: str, request: Request):
        await request.body()  # as for the API: a held-up payment still goes through
        await gate("stripe")
        target = stripe.checkout_target(target_id)
        if target is None or target.get("status", "open") != "open":
            return await pay_page(target_id)
        number = str((await request.form()).get("card_number") or "")
        session, error = stripe.pay(target, number)
        if error:
            return pay_form(stripe, target, error, number)
        if session["success_url"]:
            return RedirectResponse(
                session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"]), 303
            )
        done = (
            "Card saved"
            if session["mode"] == "setup"
            else f"Paid {money(session['amount_total'], session['currency'])}"
        )
        return page(done, f'<h1>{done}</h1><p class="ok">Thank you! You can close this page.</p>')

    @outer.get("/stripe/authenticate/{intent_id}", response_class=HTMLResponse)
    async def authenticate_page(intent_id: str):
        await gate("stripe")
        intent = stripe.objects.get(intent_id)
        if intent is None or intent["object"] not in ("setup_intent", "payment_intent"):
            return page("Not found", "<h1>Nothing to authenticate here.</h1>", 404)
        if intent["status"] != "requires_action":
            return page(
                "Done", f"<h1>Nothing to do</h1><p>This payment is {html.escape(intent['status'])}.</p>"
            )
        body = """<h1>3D Secure 2 test page</h1><p>Your bank asks you to confirm this payment.</p>
<form method="post"><button name="outcome" value="complete">Complete authentication</button>
<button name="outcome" value="fail" style="background:#687385">Fail authentication</button></form>"""
        return page("Authenticate", body)

    @outer.post("/stripe/authenticate/{intent_id}", response_class=HTMLResponse)
    async def authenticate_submit(intent_id: str, request: Request):
        await request.body()
        await gate("stripe")
        intent = stripe.objects.get(intent_id)
        if intent is None or intent.get("status") != "requires_action":
            return await authenticate_page(intent_id)
        completed = (await request.form()).get("outcome") == "complete"
        redirect = stripe.authenticated(intent, completed)
        if redirect:
            return RedirectResponse(redirect, 303)
        return page(
            "Done", f"<h1>Authentication finished</h1><p>Status: {html.escape(intent['status'])}.</p>"
        )

    # Test helpers: not Stripe's, so not gated and not under /v1.

    @outer.get("/stripe/_charges")
    async def charges(payment_intent: str | None = None) -> list[dict]:
        """Every charge attempt, newest first (failed ones too: see `status`)."""
        return [c for c in stripe.charges[::-1] if payment_intent in (None, c["payment_intent"])]

    @outer.get("/stripe/_events")
    async def events(type: str | None = None) -> list[dict]:
        """Every event, newest first."""
        return [e for e in list(stripe.events.values())[::-1] if type in (None, e["type"])]

    @outer.get("/stripe/_deliveries")
    async def deliveries() -> list[dict]:
        """Every webhook delivery attempt, newest first, with what our API answered (None: no answer)."""
        return stripe.deliveries[::-1]

    @outer.post("/stripe/_resend_event/{event_id}")
    async def resend_event(event_id: str):
        event = stripe.events.get(event_id)
        if event is None:
            return JSONResponse({"error": {"message": f"No such event: '{event_id}'"}}, 404)
        return {"id": event_id, "status": await stripe.deliver(event)}

    outer.include_router(api)
    return outer
