"""The Stripe sandbox's state: stored objects, lookups, and serving a request (auth, idempotency, expand)."""

import asyncio
import base64
import copy
import json
from collections.abc import Callable
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.responses import Response

from sandbox.context import SandboxContext
from sandbox.stripe.checkout import CheckoutMixin
from sandbox.stripe.customers import CustomersMixin
from sandbox.stripe.events import EventsMixin
from sandbox.stripe.intents import IntentsMixin
from sandbox.stripe.wire import API_VERSION, Call, Saved, StripeError, as_int, new_id, unflatten


class StripeSandbox(CustomersMixin, IntentsMixin, CheckoutMixin, EventsMixin):
    """Every object and event of the sandbox; the operations on each resource come from the mixins."""

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
