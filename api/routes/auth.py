"""Signing in and out with email and password; the session lives in an HttpOnly cookie."""

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, EmailStr
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import delete, func, select

from api.deps import SESSION_COOKIE, CurrentPrincipal, SessionDep, SettingsDep
from api.security import digest, new_token, verify_password
from models.company import Company, CompanyPublic, LoginThrottle, User, UserPublic, UserSession

router = APIRouter(prefix="/auth", tags=["auth"])

MAX_LOCKOUT = timedelta(minutes=15)
FAILURE_WINDOW = timedelta(hours=1)


class LoginRequest(BaseModel):
    email: EmailStr
    password: str


class Me(BaseModel):
    user: UserPublic | None
    company: CompanyPublic
    role: str
    csrf_token: str | None  # send back as X-CSRF-Token on every write made with the cookie


async def _throttles(session, keys: list[str]) -> list[LoginThrottle]:
    """The throttle rows for `keys`, in the order given, locked for this transaction."""
    # Insert-or-keep, then lock (in one order, so two requests cannot deadlock): concurrent guesses at
    # one key count one after another.
    await session.exec(
        insert(LoginThrottle).values([{"email": key, "failures": 0} for key in keys]).on_conflict_do_nothing()
    )
    rows = {key: await session.get(LoginThrottle, key, with_for_update=True) for key in sorted(keys)}
    return [rows[key] for key in keys]


def _count_failure(throttle: LoginThrottle, free_attempts: int, base_seconds: int, now: datetime) -> None:
    if throttle.last_failure_at and now - throttle.last_failure_at > FAILURE_WINDOW:
        throttle.failures = 0  # an old typo does not count against today
    throttle.failures += 1
    throttle.last_failure_at = now
    over = throttle.failures - free_attempts
    if over >= 0:
        # Each further failure doubles the wait, up to a cap.
        lockout = timedelta(seconds=base_seconds * 2 ** min(over, 10))
        throttle.locked_until = now + min(lockout, MAX_LOCKOUT)


@router.post("/login", response_model=Me)
async def login(
    body: LoginRequest, request: Request, response: Response, session: SessionDep, settings: SettingsDep
):
    """Sign in; sets the session cookie and returns who you are and your CSRF token."""
    email = body.email.lower()
    now = datetime.now(UTC)
    by_email, by_address = await _throttles(
        session, [email, f"ip:{request.client.host if request.client else '?'}"]
    )
    locked = [t.locked_until for t in (by_email, by_address) if t.locked_until and t.locked_until > now]
    if locked:
        wait = int((max(locked) - now).total_seconds()) + 1
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many failed sign-ins; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    user = (await session.exec(select(User).where(func.lower(User.email) == email))).first()
    # Always verify (against a dummy hash for unknown emails) so timing does not tell which emails
    # exist; argon2 is slow on purpose, so it runs off the event loop.
    known_hash = user.password_hash if user and user.active else None
    password_ok = await run_in_threadpool(verify_password, body.password, known_hash)
    if not password_ok:
        _count_failure(by_email, settings.login_free_attempts, settings.login_lockout_seconds, now)
        _count_failure(
            by_address, settings.login_free_attempts_per_address, settings.login_lockout_seconds, now
        )
        await session.commit()
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong email or password")

    await session.delete(by_email)  # the address keeps its count: one good login must not reset a spray
    token = new_token()
    user_session = UserSession(
        user_id=user.id,
        token_digest=digest(token),
        csrf_token=new_token(),
        expires_at=now + timedelta(days=settings.session_days),
    )
    session.add(user_session)
    company = await session.get(Company, user.company_id)
    await session.commit()
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_days * 86400,
        httponly=True,
        samesite="lax",
        secure=settings.public_url.startswith("https://"),
    )
    return Me(
        user=UserPublic.model_validate(user),
        company=CompanyPublic.model_validate(company),
        role=user.role,
        csrf_token=user_session.csrf_token,
    )


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(request: Request, response: Response, principal: CurrentPrincipal, session: SessionDep):
    """Sign out this browser."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await session.exec(delete(UserSession).where(UserSession.token_digest == digest(token)))
        await session.commit()
    response.delete_cookie(SESSION_COOKIE)


@router.get("/me", response_model=Me)
async def me(principal: CurrentPrincipal, session: SessionDep):
    """Who is calling, in which company, with which role."""
    company = await session.get(Company, principal.company_id)
    return Me(
        user=UserPublic.model_validate(principal.user) if principal.user else None,
        company=CompanyPublic.model_validate(company),
        role=principal.role,
        csrf_token=principal.csrf_token,
    )
