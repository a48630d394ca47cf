"""What every office page needs: the signed-in team member, their company and one way to render."""

import uuid
from collections.abc import Iterable
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlmodel import col, select

from activities.ai import breaker_states, overall_status
from api.deps import SESSION_COOKIE, SessionDep, principal_from_cookie
from api.office.nav import nav_for
from api.principal import Principal
from api.rendering import templates
from models.company import Company
from models.enums import Role


class SignInFirst(Exception):
    """A page was asked for without a valid session: the browser goes to the sign-in page."""

    def __init__(self, next_path: str):
        self.next_path = next_path


async def sign_in_redirect(request: Request, error: SignInFirst) -> RedirectResponse:
    return RedirectResponse(f"/login?next={quote(error.next_path)}", status_code=303)


async def page_principal(request: Request, session: SessionDep) -> Principal:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise SignInFirst(request.url.path)
    try:
        return await principal_from_cookie(session, token)
    except HTTPException:
        raise SignInFirst(request.url.path) from None


PageUser = Annotated[Principal, Depends(page_principal)]


def allow(principal: Principal, *roles: Role) -> None:
    """A page another role may not see answers 404, as the API does for what isn't yours."""
    if principal.role not in roles:
        raise HTTPException(404, "Not found")


async def names_by_id(session, principal: Principal, model, ids: Iterable) -> dict[uuid.UUID, str]:
    """Names of the company's customers or team members, for the rows a page shows."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await session.exec(
        select(model.id, model.name).where(
            model.company_id == principal.company_id, col(model.id).in_(wanted)
        )
    )
    return dict(rows.all())


async def render(request: Request, session, principal: Principal, template: str, **context):
    """Render an office page inside the shared layout: header, role-limited nav and the AI banner."""
    company = await session.get(Company, principal.company_id)
    ai_status = overall_status(await breaker_states(session, request.app.state.settings))
    return templates.TemplateResponse(
        request,
        template,
        {
            "principal": principal,
            "user": principal.user,
            "company": company,
            "nav": nav_for(principal.role),
            "ai_status": ai_status,
            "settings": request.app.state.settings,
            **context,
        },
    )
