"""Company-local time: 'today' and business hours are where the company is, not where the server is."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from models.base import utcnow


def company_now(company) -> datetime:
    return utcnow().astimezone(ZoneInfo(company.timezone))


def company_today(company) -> date:
    return company_now(company).date()


def day_start(day: date, timezone: str) -> datetime:
    """Midnight at the start of `day` on the company's clock, as an aware moment."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone))


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


REVIEW_DELAY = timedelta(hours=2)
LATE_EVENING = time(20, 0)
REVIEW_MORNING = time(9, 0)


def review_due(completed_at: datetime, timezone: str) -> datetime:
    """When to ask for a review: about 2 hours after the job, but a job finished after 8 PM company time
    is asked about at 9:00 the next morning (and one before dawn at 9:00 that day). In UTC."""
    zone = ZoneInfo(timezone)
    local = completed_at.astimezone(zone)
    if local.time() >= LATE_EVENING:
        return datetime.combine(local.date() + timedelta(days=1), REVIEW_MORNING, tzinfo=zone).astimezone(UTC)
    due = (completed_at + REVIEW_DELAY).astimezone(zone)
    if due.time() < time(8, 0):
        return datetime.combine(due.date(), REVIEW_MORNING, tzinfo=zone).astimezone(UTC)
    return due.astimezone(UTC)


def local_window(start: datetime, end: datetime, timezone: str) -> str:
    """An appointment as the company's clock shows it: "Tuesday, December 1, 9:00 AM – 11:00 AM"."""
    zone = ZoneInfo(timezone)
    start, end = start.astimezone(zone), end.astimezone(zone)
    return f"{start:%A, %B} {start.day}, {_clock(start)} – {_clock(end)}"


def _clock(moment: datetime) -> str:
    return f"{moment.hour % 12 or 12}:{moment:%M %p}"
