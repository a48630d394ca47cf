"""Company-local time: 'today' and business hours are where the company is, not where the server is."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from models.base import utcnow


def company_now(company) -> datetime:
    return utcnow().astimezone(ZoneInfo(company.timezone))


def company_today(company) -> date:
    return company_now(company).date()
