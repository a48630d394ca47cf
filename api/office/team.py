"""The team: add members, change roles, rates and skills, deactivate (owners and admins)."""

from fastapi import APIRouter, Request

from api.crud import PageParams
from api.deps import SessionDep
from api.office.nav import OWNER_ADMIN
from api.office.pages import PageUser, allow, render
from api.routes.team import list_team
from models.enums import Role

router = APIRouter(include_in_schema=False)

TEAM_PAGE = 200  # a field-service team fits on one page


@router.get("/team")
async def team_page(request: Request, principal: PageUser, session: SessionDep):
    allow(principal, *OWNER_ADMIN)
    team = await list_team(principal, session, PageParams(limit=TEAM_PAGE), active=None)
    # Only an owner may make or change an owner (the API says the same).
    grantable = [role for role in Role if role != Role.owner or principal.role == Role.owner]
    return await render(
        request,
        session,
        principal,
        "office/team.html",
        members=sorted(team.data, key=lambda m: (not m.active, m.name.lower())),
        roles=list(Role),
        grantable=grantable,
    )
