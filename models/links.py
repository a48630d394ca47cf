"""The customers' private links: a quote page reached without logging in.

The token is signed with the platform's secret key and names the quote and its company, so it cannot be
guessed, forged or pointed at another company's quote. Whether the quote is still open is the quote's
business (an expired quote's link still opens, and says so).
"""

import uuid

from itsdangerous import BadSignature, URLSafeSerializer

from settings import Settings

_QUOTE_SALT = "quote-link"


def quote_token(settings: Settings, quote_id, company_id) -> str:
    return URLSafeSerializer(settings.secret_key, salt=_QUOTE_SALT).dumps([str(quote_id), str(company_id)])


def quote_url(settings: Settings, quote_id, company_id) -> str:
    return f"{settings.public_url.rstrip('/')}/q/{quote_token(settings, quote_id, company_id)}"


def read_quote_token(settings: Settings, token: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    """(quote id, company id) from a genuine token; None for anything forged or mangled."""
    try:
        quote_id, company_id = URLSafeSerializer(settings.secret_key, salt=_QUOTE_SALT).loads(token)
        return uuid.UUID(quote_id), uuid.UUID(company_id)
    except (BadSignature, ValueError, TypeError):
        return None


# The customer's invoice page, `/i/{token}`: the same kind of signed token, with a salt of its own so a
# quote's token never opens an invoice (or the other way round).
_INVOICE_SALT = "invoice-link"


def invoice_token(settings: Settings, invoice_id, company_id) -> str:
    serializer = URLSafeSerializer(settings.secret_key, salt=_INVOICE_SALT)
    return serializer.dumps([str(invoice_id), str(company_id)])


def invoice_url(settings: Settings, invoice_id, company_id) -> str:
    return f"{settings.public_url.rstrip('/')}/i/{invoice_token(settings, invoice_id, company_id)}"


def read_invoice_token(settings: Settings, token: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    """(invoice id, company id) from a genuine token; None for anything forged or mangled."""
    try:
        invoice_id, company_id = URLSafeSerializer(settings.secret_key, salt=_INVOICE_SALT).loads(token)
        return uuid.UUID(invoice_id), uuid.UUID(company_id)
    except (BadSignature, ValueError, TypeError):
        return None
