"""Signing in, and `/` sending each person to the first page their role uses."""

from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from api.office.nav import home_for
from api.office.pages import PageUser
from api.rendering import templates

router = APIRouter(include_in_schema=False)


@router.get("/")
async def home(principal: PageUser):
    return RedirectResponse(home_for(principal.role), status_code=303)


def _on_this_site(path: str) -> bool:
    """Only a path on this site: a crafted link must not send a fresh sign-in elsewhere (browsers read
    `/\\evil.example`, `//evil.example` and `/<tab>/evil.example` as another host)."""
    if not path.startswith("/") or "\\" in path or any(char < " " for char in path):
        return False
    parts = urlsplit(path)
    return not parts.scheme and not parts.netloc


@router.get("/login", response_class=HTMLResponse)
async def login(request: Request, next: str = "/"):
    next_path = next if _on_this_site(next) else "/"
    return templates.TemplateResponse(
        request, "office/login.html", {"next_path": next_path, "settings": request.app.state.settings}
    )
