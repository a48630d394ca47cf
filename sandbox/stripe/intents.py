"""Stripe sandbox operations on setup intents, payment intents and their charges."""

import copy
from urllib.parse import urlencode

from sandbox.stripe.cards import DECLINES, outcome_for
from sandbox.stripe.wire import Call, as_bool, as_int, card_error, invalid, missing_param, money, new_id, now

MINIMUM_CHARGE = {"usd": 50, "eur": 50, "cad": 50, "aud": 50, "gbp": 30}


class IntentsMixin:
    """Setup and payment intents, charges: mixed into StripeSandbox, whose state it uses."""

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
