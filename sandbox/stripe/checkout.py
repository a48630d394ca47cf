"""Stripe sandbox operations on products, prices, payment links and checkout sessions, and paying them."""

import copy
import re

from sandbox.stripe.cards import DECLINES, luhn_valid, outcome_for
from sandbox.stripe.wire import Call, as_int, invalid, missing_param, new_id, now


class CheckoutMixin:
    """Products, prices, payment links, checkout: mixed into StripeSandbox, whose state it uses."""

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

    # the hosted pages

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
