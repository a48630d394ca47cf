"""The Stripe sandbox's FastAPI router: the /v1 API, the hosted pay and 3-D Secure pages, test helpers."""

import html
from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from sandbox.context import SandboxContext
from sandbox.stripe.pages import page, pay_form
from sandbox.stripe.service import StripeSandbox
from sandbox.stripe.wire import StripeRoute, money, now


def router(context: SandboxContext) -> APIRouter:
    stripe = StripeSandbox(context)
    outer = APIRouter(tags=["stripe"])
    api = APIRouter(prefix="/stripe/v1", route_class=StripeRoute)
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
