"""Field checks shared by the API models: phones, time zones, colours, business hours."""

import re
from datetime import UTC
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, AwareDatetime

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _normalise_phone(value: str) -> str:
    # E.164 is what Twilio accepts; a bare 10-digit number is taken as North American.
    digits = re.sub(r"[^\d+]", "", value)
    if re.fullmatch(r"\d{10}", digits):
        digits = "+1" + digits
    elif re.fullmatch(r"1\d{10}", digits):
        digits = "+" + digits
    if not re.fullmatch(r"\+[1-9]\d{7,14}", digits):
        raise ValueError("must be a phone number such as +15125550100")
    return digits


Phone = Annotated[str, AfterValidator(_normalise_phone)]

# A moment in time: must carry an offset (a bare "10:00" is ambiguous), kept in UTC.
UtcDateTime = Annotated[AwareDatetime, AfterValidator(lambda moment: moment.astimezone(UTC))]


def check_timezone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}; use an IANA name like America/Chicago") from None
    return value


def check_colour(value: str | None) -> str | None:
    if value is None:
        return None
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        raise ValueError("must be a colour like #1f6feb")
    return value.lower()


def check_currency(value: str | None) -> str | None:
    if value is None:
        return None
    if not re.fullmatch(r"[a-zA-Z]{3}", value):
        raise ValueError("must be a three-letter ISO currency code like usd")
    return value.lower()


def check_business_hours(value: dict | None) -> dict | None:
    if value is None:
        return None
    unknown = set(value) - set(WEEKDAYS)
    if unknown:
        raise ValueError(f"unknown weekday(s) {sorted(unknown)}; use {', '.join(WEEKDAYS)}")
    for day, hours in value.items():
        if hours is None:
            continue
        if not isinstance(hours, dict) or set(hours) != {"open", "close"}:
            raise ValueError(f"{day}: give {{'open': 'HH:MM', 'close': 'HH:MM'}} or null for closed")
        if not all(isinstance(v, str) and _HHMM.match(v) for v in hours.values()):
            raise ValueError(f"{day}: times must be HH:MM in 24-hour form")
        if hours["open"] >= hours["close"]:
            raise ValueError(f"{day}: opening time must be before closing time")
    return {day: value.get(day) for day in WEEKDAYS}
