"""Server-rendered pages: the one Jinja2 environment, with filters for money and company-local times."""

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.templating import Jinja2Templates

from activities.documents import format_money

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def local_time(moment: datetime, timezone: str, pattern: str = "%A, %B %-d, %-I:%M %p") -> str:
    """A moment as the company's clock shows it ("Tuesday, December 1, 9:30 AM")."""
    return moment.astimezone(ZoneInfo(timezone)).strftime(pattern)


templates.env.filters["money"] = format_money
templates.env.filters["local"] = local_time
