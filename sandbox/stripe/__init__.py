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

from sandbox.stripe.routes import router

__all__ = ["router"]
