"""Stripe's wire format: bracketed form params, ids, amounts, errors, and the route class using them."""

import re
import secrets
import string
import time
from dataclasses import dataclass

from fastapi import HTTPException
from fastapi.responses import JSONResponse

from sandbox.provider_route import provider_route

# Events carry the account's API version; this is the one stripe-python 16.1 pins.
API_VERSION = "2026-10-28.endive"
ALPHANUMERIC = string.ascii_letters + string.digits
ZERO_DECIMAL = set("bif clp djf gnf jpy kmf krw mga pyg rwf vnd vuv xaf xof".split())


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


# Every failure of a Stripe route leaves in Stripe's error format.
StripeRoute = provider_route(StripeError, _outage, invalid)


@dataclass
class Call:
    params: dict
    account: str | None  # Stripe-Account: a connected account's objects are its own


@dataclass
class Saved:
    fingerprint: str
    status: int
    body: str
