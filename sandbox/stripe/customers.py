"""Stripe sandbox operations on customers and payment methods."""

import hashlib
import re
import time

from sandbox.stripe.cards import DECLINES, TEST_PAYMENT_METHODS, brand_of, luhn_valid, outcome_for
from sandbox.stripe.wire import Call, as_int, card_error, invalid, missing_param, new_id, now


class CustomersMixin:
    """Customers and payment methods: mixed into StripeSandbox, whose state it uses."""

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
