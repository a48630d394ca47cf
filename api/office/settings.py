"""Settings (owners and admins): the company, business hours, invoicing and card on file, notifications,
and the automations, each switched on or off through the API."""

import calendar
from zoneinfo import available_timezones

from fastapi import APIRouter, Request

from api.deps import SessionDep
from api.office.nav import OWNER_ADMIN
from api.office.pages import PageUser, allow, render
from api.routes.company import list_automations
from models.validation import WEEKDAYS

router = APIRouter(include_in_schema=False)

DAY_NAMES = dict(zip(WEEKDAYS, calendar.day_name, strict=True))  # mon → Monday
TIMEZONES = sorted(zone for zone in available_timezones() if "/" in zone and not zone.startswith("Etc/"))


@router.get("/settings")
async def settings_page(request: Request, principal: PageUser, session: SessionDep):
    allow(principal, *OWNER_ADMIN)
    return await render(
        request,
        session,
        principal,
        "office/settings.html",
        automations=await list_automations(principal, session),
        days=DAY_NAMES,
        timezones=TIMEZONES,
    )
