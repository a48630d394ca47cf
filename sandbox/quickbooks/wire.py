"""QuickBooks Online's wire format: its clock, its amounts, and its two error envelopes.

Data errors come as a `Fault` (capitalised keys, HTTP 400), which python-quickbooks turns into an exception
by code. The gateway in front of the API answers authentication and throttling failures itself, in a
lower-case envelope and with the HTTP status python-quickbooks looks at first.
"""

import re
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from fastapi import HTTPException
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from sandbox.provider_route import provider_route

# Sandbox companies keep US Pacific time, as Intuit's do: timestamps carry its offset, and a time sent
# without an offset is read as Pacific.
COMPANY_TZ = ZoneInfo("America/Los_Angeles")
CENT = Decimal("0.01")


def now() -> datetime:
    return datetime.now(COMPANY_TZ)


def stamp(moment: datetime) -> str:
    """As MetaData shows a moment: to the second (2026-11-21T10:15:30-08:00)."""
    return moment.replace(microsecond=0).isoformat()


def response_time() -> str:
    return datetime.now(COMPANY_TZ).isoformat(timespec="milliseconds")


def today() -> str:
    return now().date().isoformat()


def in_days(day: str, days: int) -> str:
    return (date.fromisoformat(day) + timedelta(days=days)).isoformat()


def parse_time(text: str) -> datetime:
    """A QBO date or date-time; raises ValueError."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=COMPANY_TZ)


def amount(value) -> Decimal:
    """A money value as sent (number, numeric string, or python-quickbooks' empty-string default)."""
    if value in (None, ""):
        return Decimal(0)
    try:
        return Decimal(str(value)).quantize(CENT)
    except InvalidOperation:
        raise Fault(
            "2010", "Request has invalid or unsupported property", f"Invalid amount: {value}"
        ) from None


def money(value: Decimal) -> float:
    return float(value.quantize(CENT))


def blank(value) -> bool:
    """python-quickbooks sends every unset text field as "": QuickBooks treats that as not given."""
    return value is None or (isinstance(value, str) and not value.strip())


class QuickBooksError(Exception):
    """Any answer the stand-in refuses with; `response()` is what goes on the wire."""

    def response(self) -> Response:
        raise NotImplementedError


class Fault(QuickBooksError):
    def __init__(self, code: str, message: str, detail: str, *, status: int = 400, kind="ValidationFault"):
        super().__init__(f"{code} {message}: {detail}")
        self.code, self.message, self.detail, self.status, self.kind = code, message, detail, status, kind

    def body(self) -> dict:
        error = {"Message": self.message, "Detail": self.detail, "code": self.code, "element": ""}
        return {"Fault": {"Error": [error], "type": self.kind}, "time": response_time()}

    def response(self) -> Response:
        return JSONResponse(self.body(), self.status)


class GatewayRefusal(QuickBooksError):
    """Intuit's gateway speaking: 401 for a bad token, 403 for another company's, 429 when throttled."""

    def __init__(
        self, status: int, error: str, code: str, detail: str, kind: str, headers: dict | None = None
    ):
        super().__init__(detail)
        self.status, self.error, self.code, self.detail, self.kind = status, error, code, detail, kind
        self.headers = headers or {}

    def response(self) -> Response:
        message = f"message={self.error}; errorCode={int(self.code):06d}; statusCode={self.status}"
        body = {
            "warnings": None,
            "intuitObject": None,
            "fault": {
                "error": [{"message": message, "detail": self.detail, "code": self.code, "element": None}],
                "type": self.kind,
            },
            "report": None,
            "queryResponse": None,
            "batchItemResponse": [],
            "attachableResponse": [],
            "syncErrorResponse": None,
            "requestId": None,
            "time": int(datetime.now().timestamp() * 1000),
            "status": None,
            "cdcresponse": [],
        }
        return JSONResponse(body, self.status, headers=self.headers)


def unauthorized(detail: str) -> GatewayRefusal:
    headers = {"WWW-Authenticate": 'Bearer realm="Intuit", error="invalid_token"'}
    return GatewayRefusal(401, "AuthenticationFailed", "3200", detail, "AUTHENTICATION", headers)


def forbidden(detail: str) -> GatewayRefusal:
    return GatewayRefusal(403, "ApplicationAuthorizationFailed", "3100", detail, "AUTHORIZATION")


class Unavailable(QuickBooksError):
    """What a caller sees while the service is down: the load balancer's page, not JSON."""

    def response(self) -> Response:
        return PlainTextResponse("Service Unavailable", 503)


def required(name: str) -> Fault:
    return Fault("2020", "Required Param Missing", f"Required parameter {name} is missing in the request")


def invalid_reference(entity: str, value) -> Fault:
    return Fault(
        "2500",
        "Invalid Reference Id",
        f"Invalid Reference Id : Something you're trying to use has been made inactive. Check the fields "
        f"with accounts, customers, items, vendors or employees. {entity}Ref={value}",
    )


def business_rule(detail: str) -> Fault:
    return Fault(
        "6000",
        "A business validation error has occurred while processing your request",
        f"Business Validation Error: {detail}",
    )


def unsupported(detail: str) -> Fault:
    """Something QuickBooks does that this stand-in does not (python-quickbooks: UnsupportedException)."""
    return Fault("500", "Unsupported Operation", f"Operation {detail} is not supported by the sandbox.")


def _outage(error: HTTPException) -> QuickBooksError:
    if error.status_code == 429:
        return GatewayRefusal(429, "ThrottleExceeded", "3001", "The request limit was reached.", "SERVICE")
    if error.status_code == 503:
        return Unavailable()
    return Fault(
        "10000",
        "An application error has occurred while processing your request",
        f"System Failure Error: {error.detail}",
        status=500,
        kind="SystemFault",
    )


def _invalid(message: str) -> Fault:
    return Fault("2010", "Request has invalid or unsupported property", re.sub(r"\s+", " ", message))


# Every failure of a v3 API route leaves in QuickBooks' own format (the controls' outages included).
QuickBooksRoute = provider_route(QuickBooksError, _outage, _invalid)
