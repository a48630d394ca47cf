"""FastAPI dependencies: the database session, the Temporal client, settings and the caller."""

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from api.principal import Principal
from api.security import API_KEY_PREFIX, digest
from models.company import ApiKey, User, UserSession
from models.enums import ApiKeyScope, Role
from settings import Settings

SESSION_COOKIE = "nexjob_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as session:
        yield session
        # End a request that went well with COMMIT, even a read: psycopg drops its prepared statements
        # on every ROLLBACK, and the hot queries are only fast once prepared.
        await session.commit()


# The small dependencies are `async` so FastAPI runs them inline, not on its thread pool.
async def get_temporal(request: Request) -> Client:
    return request.app.state.temporal


async def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


SessionDep = Annotated[AsyncSession, Depends(get_session)]
TemporalDep = Annotated[Client, Depends(get_temporal)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]

_UNAUTHENTICATED = HTTPException(
    status.HTTP_401_UNAUTHORIZED, "sign in, or send an API key as `Authorization: Bearer nxj_live_…`"
)


async def _from_api_key(session: AsyncSession, key: str) -> Principal:
    api_key = (await session.exec(select(ApiKey).where(ApiKey.digest == digest(key)))).first()
    if api_key is None or api_key.revoked_at is not None:
        raise _UNAUTHENTICATED
    # Integrators act at manager level: they run the business data, not the team or automations.
    return Principal(
        company_id=api_key.company_id,
        role=Role.manager,
        actor=f"api_key:{api_key.prefix}",
        can_write=api_key.scope == ApiKeyScope.read_write,
    )


async def principal_from_cookie(session: AsyncSession, token: str) -> Principal:
    """The signed-in team member behind a session cookie (401 when it is unknown, expired or disabled)."""
    row = (
        await session.exec(
            select(UserSession, User)
            .join(User, User.id == UserSession.user_id)
            .where(UserSession.token_digest == digest(token))
        )
    ).first()
    if row is None:
        raise _UNAUTHENTICATED
    user_session, user = row
    if user_session.expires_at <= datetime.now(UTC) or not user.active:
        raise _UNAUTHENTICATED
    return Principal(
        company_id=user.company_id,
        role=user.role,
        actor=f"user:{user.email}",
        user=user,
        csrf_token=user_session.csrf_token,
    )


# Declared as security schemes so /docs has an Authorize button for both ways in.
_bearer = HTTPBearer(auto_error=False, description="An API key: nxj_live_…")
_csrf = APIKeyHeader(
    name=CSRF_HEADER, auto_error=False, description="With the session cookie: the csrf_token from login"
)


async def get_principal(
    request: Request,
    session: SessionDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    csrf_token: Annotated[str | None, Depends(_csrf)],
) -> Principal:
    if bearer is not None:
        if not bearer.credentials.startswith(API_KEY_PREFIX):
            raise _UNAUTHENTICATED
        principal = await _from_api_key(session, bearer.credentials)
        if request.method not in SAFE_METHODS and not principal.can_write:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "this API key is read-only")
        return principal

    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise _UNAUTHENTICATED
    principal = await principal_from_cookie(session, token)
    # A cookie rides along with any cross-site form post; a header another site cannot read or set
    # proves the request came from our own pages.
    if request.method not in SAFE_METHODS:
        sent = csrf_token or ""
        if not secrets.compare_digest(sent.encode(), (principal.csrf_token or "").encode()):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"missing or wrong {CSRF_HEADER} header")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: Role):
    """A dependency that lets only the given roles through (403 for the rest)."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"only {allowed} may do this")
        return principal

    return check


OFFICE_ROLES = (Role.manager, Role.admin, Role.owner)
OfficeStaff = Annotated[Principal, Depends(require_roles(*OFFICE_ROLES))]
OwnerOrAdmin = Annotated[Principal, Depends(require_roles(Role.admin, Role.owner))]
