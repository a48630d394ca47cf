"""The team: technicians, office staff and owners. Owners and admins manage it."""

import uuid

from fastapi import APIRouter, HTTPException, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import func, select

from api.crud import Page, PageDep, create_owned, fetch_page, update_owned
from api.deps import CurrentPrincipal, OwnerOrAdmin, SessionDep
from api.principal import Principal
from api.security import hash_password
from api.tenancy import get_owned, owned
from models.company import User, UserCreate, UserPublic, UserUpdate
from models.enums import Role

router = APIRouter(prefix="/team", tags=["team"])


def _check_may_grant(principal: Principal, role: Role | None) -> None:
    if role == Role.owner and principal.role != Role.owner:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only an owner can make someone an owner")


@router.get("", response_model=Page[UserPublic])
async def list_team(
    principal: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    role: Role | None = None,
    active: bool | None = True,
):
    """Team members by name."""
    stmt = owned(User, principal)
    if role is not None:
        stmt = stmt.where(User.role == role)
    if active is not None:
        stmt = stmt.where(User.active == active)
    rows, count = await fetch_page(session, stmt, page, User.name, User.id)
    return Page(data=rows, count=count)


@router.post("", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
async def add_member(body: UserCreate, principal: OwnerOrAdmin, session: SessionDep):
    """Add a team member with a first password they can sign in with."""
    _check_may_grant(principal, body.role)
    email = body.email.lower()
    taken = RequestValidationError(
        [{"loc": ["body", "email"], "msg": "this email cannot be used", "type": "unique"}]
    )
    if (await session.exec(select(User.id).where(func.lower(User.email) == email))).first():
        raise taken
    values = body.model_dump(exclude={"password"}) | {
        "email": email,
        "password_hash": await run_in_threadpool(hash_password, body.password),
    }
    try:
        user = await create_owned(session, principal, User, values)
        await session.commit()
    except IntegrityError:  # the same email added at the same moment
        raise taken from None
    return user


@router.get("/{user_id}", response_model=UserPublic)
async def get_member(user_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep):
    """One team member."""
    return await get_owned(session, User, user_id, principal)


@router.patch("/{user_id}", response_model=UserPublic)
async def update_member(user_id: uuid.UUID, body: UserUpdate, principal: OwnerOrAdmin, session: SessionDep):
    """Change a member's role, rate, skills or home base; `active=false` deactivates (history is kept)."""
    user = await get_owned(session, User, user_id, principal)
    _check_may_grant(principal, body.role)
    if user.role == Role.owner and principal.role != Role.owner:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only an owner can change an owner")
    if user.id == principal.user_id and (body.active is False or body.role not in (None, user.role)):
        raise HTTPException(
            status.HTTP_409_CONFLICT, "you cannot deactivate yourself or change your own role"
        )
    await update_owned(session, principal, user, body.model_dump(exclude_unset=True))
    await session.commit()
    return user
