"""Signing in, and `/` sending each person to the first page their role uses."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from api.office.nav import home_for
from api.office.pages import PageUser
from api.rendering import templates

router = APIRouter(include_in_schema=False)


@router.get("/")
async def home(principal: PageUser):
    return RedirectResponse(home_for(principal.role), status_code=303)


@router.get("/login", response_class=HTMLResponse)
async def login(request: Request, next: str = "/"):
    # Only paths on this site: a crafted link must not send a fresh sign-in elsewhere.
    next_path = next if next.startswith("/") and not next.startswith("//") else "/"
    return templates.TemplateResponse(
        request, "office/login.html", {"next_path": next_path, "settings": request.app.state.settings}
    )
