"""Stripe: customers, saving a card off-session, charging it, checkout for an invoice, refunds.

Every call that moves money carries an idempotency key built from the business record and the step, so a
retried activity returns Stripe's first answer instead of charging twice. Business refusals (a declined
card, a card that needs the customer present) are non-retryable `ApplicationError`s with a type; network
trouble and 5xx answers raise and Temporal retries.
"""

from dataclasses import dataclass

import stripe
from temporalio import activity
from temporalio.exceptions import ApplicationError

CARD_DECLINED = "CardDeclined"
AUTHENTICATION_REQUIRED = "AuthenticationRequired"
PAYMENT_REJECTED = "PaymentRejected"  # any other 4xx: a request Stripe will never accept as it is
PAYMENT_ERRORS = [CARD_DECLINED, AUTHENTICATION_REQUIRED, PAYMENT_REJECTED]


@dataclass
class StripeCustomerInput:
    customer_id: str  # ours
    name: str
    email: str | None = None
    phone: str | None = None
    stripe_customer_id: str | None = None  # already known: nothing to create
    stripe_account: str | None = None  # the company's connected account, when it has one


@dataclass
class SetupIntentInput:
    stripe_customer_id: str
    idempotency_key: str
    stripe_account: str | None = None


@dataclass
class SetupIntentResult:
    setup_intent_id: str
    client_secret: str


@dataclass
class ChargeInput:
    invoice_id: str
    attempt: int
    amount_cents: int
    currency: str
    stripe_customer_id: str
    payment_method_id: str
    description: str
    stripe_account: str | None = None


@dataclass
class ChargeResult:
    payment_intent_id: str
    status: str
    amount_cents: int


@dataclass
class CheckoutInput:
    invoice_id: str
    invoice_number: int
    amount_cents: int
    currency: str
    success_url: str
    cancel_url: str
    stripe_customer_id: str | None = None
    stripe_account: str | None = None


@dataclass
class CheckoutResult:
    session_id: str
    url: str


@dataclass
class CardCheckoutInput:
    """A Stripe-hosted page where the customer saves a card for later (Checkout in setup mode)."""

    stripe_customer_id: str
    currency: str
    success_url: str  # Stripe fills in {CHECKOUT_SESSION_ID}
    cancel_url: str
    idempotency_key: str
    metadata: dict[str, str]
    stripe_account: str | None = None


@dataclass
class SavedCardInput:
    checkout_session_id: str
    stripe_account: str | None = None


@dataclass
class SavedCard:
    """The card a finished setup saved; `complete` is False while the customer has not finished."""

    complete: bool
    metadata: dict[str, str]
    stripe_customer_id: str | None = None
    payment_method_id: str | None = None
    brand: str | None = None
    last4: str | None = None


@dataclass
class RefundInput:
    payment_intent_id: str
    idempotency_key: str
    amount_cents: int | None = None  # None: the whole charge
    stripe_account: str | None = None


@dataclass
class RefundResult:
    refund_id: str
    status: str
    amount_cents: int


def _options(idempotency_key: str | None, stripe_account: str | None) -> dict:
    options = {}
    if idempotency_key:
        options["idempotency_key"] = idempotency_key
    if stripe_account:
        options["stripe_account"] = stripe_account
    return options


def _business_error(error: stripe.StripeError) -> ApplicationError:
    """Stripe's 4xx answers as typed, non-retryable failures."""
    code = getattr(error, "code", None)
    if isinstance(error, stripe.CardError) and code == "authentication_required":
        kind = AUTHENTICATION_REQUIRED
    elif isinstance(error, stripe.CardError):
        kind = CARD_DECLINED
    else:
        kind = PAYMENT_REJECTED
    message = getattr(error, "user_message", None) or str(error)
    return ApplicationError(message, code or "", type=kind, non_retryable=True)


def _call(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except (stripe.CardError, stripe.InvalidRequestError, stripe.IdempotencyError) as refused:
        raise _business_error(refused) from None
    # RateLimitError, APIError (5xx) and APIConnectionError propagate: Temporal retries them.


class PaymentsActivities:
    def __init__(self, client: stripe.StripeClient):
        self._stripe = client

    @activity.defn
    def ensure_stripe_customer(self, data: StripeCustomerInput) -> str:
        """The customer's Stripe id, creating the Stripe customer the first time."""
        if data.stripe_customer_id:
            return data.stripe_customer_id
        customer = _call(
            self._stripe.v1.customers.create,
            params={
                "name": data.name,
                **({"email": data.email} if data.email else {}),
                **({"phone": data.phone} if data.phone else {}),
                "metadata": {"nexjob_customer_id": data.customer_id},
            },
            options=_options(f"customer-{data.customer_id}-create", data.stripe_account),
        )
        return customer.id

    @activity.defn
    def create_setup_intent(self, data: SetupIntentInput) -> SetupIntentResult:
        """A SetupIntent that saves a card for charging later, without the customer present."""
        intent = _call(
            self._stripe.v1.setup_intents.create,
            params={
                "customer": data.stripe_customer_id,
                "usage": "off_session",
                "payment_method_types": ["card"],
            },
            options=_options(data.idempotency_key, data.stripe_account),
        )
        return SetupIntentResult(intent.id, intent.client_secret)

    @activity.defn
    def create_card_checkout(self, data: CardCheckoutInput) -> CheckoutResult:
        """Stripe's own page for saving a card: its SetupIntent keeps the card usable off-session."""
        session = _call(
            self._stripe.v1.checkout.sessions.create,
            params={
                "mode": "setup",
                "currency": data.currency,
                "customer": data.stripe_customer_id,
                "payment_method_types": ["card"],
                "setup_intent_data": {"metadata": data.metadata},
                "success_url": data.success_url,
                "cancel_url": data.cancel_url,
                "metadata": data.metadata,
            },
            options=_options(data.idempotency_key, data.stripe_account),
        )
        return CheckoutResult(session.id, session.url)

    @activity.defn
    def saved_card(self, data: SavedCardInput) -> SavedCard:
        """What a card-saving Checkout session saved: the payment method, its brand and last 4."""
        session = _call(
            self._stripe.v1.checkout.sessions.retrieve,
            data.checkout_session_id,
            params={"expand": ["setup_intent.payment_method"]},
            options=_options(None, data.stripe_account),
        )
        metadata = session.metadata.to_dict() if session.metadata else {}
        intent = session.setup_intent
        if session.status != "complete" or intent is None or intent.status != "succeeded":
            return SavedCard(False, metadata)
        method = intent.payment_method
        return SavedCard(True, metadata, session.customer, method.id, method.card.brand, method.card.last4)

    @activity.defn
    def charge_card_on_file(self, data: ChargeInput) -> ChargeResult:
        """Charge the saved card, off-session. The same invoice and attempt never charge twice."""
        intent = _call(
            self._stripe.v1.payment_intents.create,
            params={
                "amount": data.amount_cents,
                "currency": data.currency,
                "customer": data.stripe_customer_id,
                "payment_method": data.payment_method_id,
                "off_session": True,
                "confirm": True,
                "description": data.description,
                "metadata": {"invoice_id": data.invoice_id, "attempt": str(data.attempt)},
            },
            options=_options(f"invoice-{data.invoice_id}-charge-{data.attempt}", data.stripe_account),
        )
        return ChargeResult(intent.id, intent.status, intent.amount)

    @activity.defn
    def create_invoice_checkout(self, data: CheckoutInput) -> CheckoutResult:
        """A Stripe Checkout page where the customer pays the invoice online."""
        session = _call(
            self._stripe.v1.checkout.sessions.create,
            params={
                "mode": "payment",
                # Card only: slower methods settle days later and need their own events handled.
                "payment_method_types": ["card"],
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {
                            "currency": data.currency,
                            "unit_amount": data.amount_cents,
                            "product_data": {"name": f"Invoice #{data.invoice_number}"},
                        },
                    }
                ],
                "success_url": data.success_url,
                "cancel_url": data.cancel_url,
                "metadata": {"invoice_id": data.invoice_id},
                "payment_intent_data": {"metadata": {"invoice_id": data.invoice_id}},
                **({"customer": data.stripe_customer_id} if data.stripe_customer_id else {}),
            },
            options=_options(f"invoice-{data.invoice_id}-checkout-{data.amount_cents}", data.stripe_account),
        )
        return CheckoutResult(session.id, session.url)

    @activity.defn
    def refund_payment(self, data: RefundInput) -> RefundResult:
        """Refund a charge, whole or in part."""
        params = {"payment_intent": data.payment_intent_id}
        if data.amount_cents is not None:
            params["amount"] = data.amount_cents
        refund = _call(
            self._stripe.v1.refunds.create,
            params=params,
            options=_options(data.idempotency_key, data.stripe_account),
        )
        return RefundResult(refund.id, refund.status, refund.amount)
