"""Stripe's test cards: what each does when saved or charged, and the card checks (Luhn, brand)."""

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
