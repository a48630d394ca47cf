"""Company-local time: 'today' and business hours are where the company is, not where the server is."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from models.base import utcnow


def company_now(company) -> datetime:
    return utcnow().astimezone(ZoneInfo(company.timezone))


def company_today(company) -> date:
    return company_now(company).date()


FOLLOW_UP_TIME = time(9, 30)


def follow_up_at(sent_at: datetime, days: int, timezone: str) -> datetime:
    """When a quote follow-up goes out: `days` after the day it was sent, at 9:30 company time, moved
    to Monday when that day is a weekend. In UTC."""
    zone = ZoneInfo(timezone)
    day = sent_at.astimezone(zone).date() + timedelta(days=days)
    while day.weekday() >= 5:  # Saturday, Sunday
        day += timedelta(days=1)
    return datetime.combine(day, FOLLOW_UP_TIME, tzinfo=zone).astimezone(UTC)


def quote_expires_at(expires_on: date, timezone: str) -> datetime:
    """A quote can be accepted through its expiry date: it expires at the following midnight, company time."""
    midnight = datetime.combine(expires_on + timedelta(days=1), time(0), tzinfo=ZoneInfo(timezone))
    return midnight.astimezone(UTC)
