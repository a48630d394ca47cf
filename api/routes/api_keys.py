"""API keys for integrators. The key is shown once, at creation; we keep only its digest."""

import uuid

from fastapi import APIRouter, status

from api.crud import record_audit
from api.deps import OwnerOrAdmin, SessionDep
from api.security import API_KEY_PREFIX, digest, new_api_key
from api.tenancy import get_owned, owned
from models.base import utcnow
from models.company import ApiKey, ApiKeyCreate, ApiKeyCreated, ApiKeyPublic

router = APIRouter(prefix="/api-keys", tags=["api keys"])


@router.get("", response_model=list[ApiKeyPublic])
async def list_api_keys(principal: OwnerOrAdmin, session: SessionDep):
    """Your company's keys, newest first (never the keys themselves)."""
    return (await session.exec(owned(ApiKey, principal).order_by(ApiKey.created_at.desc()))).all()


@router.post("", response_model=ApiKeyCreated, status_code=status.HTTP_201_CREATED)
async def create_api_key(body: ApiKeyCreate, principal: OwnerOrAdmin, session: SessionDep):
    """Make a key; copy it from this response, it is not shown again."""
    key = new_api_key()
    api_key = ApiKey(
        company_id=principal.company_id,
        name=body.name,
        scope=body.scope,
        prefix=key[: len(API_KEY_PREFIX) + 6],
        digest=digest(key),
        created_by_id=principal.user_id,
    )
    session.add(api_key)
    await session.flush()
    record_audit(session, principal, api_key, "create", None, {"name": body.name, "scope": body.scope})
    await session.commit()
    return ApiKeyCreated(**ApiKeyPublic.model_validate(api_key).model_dump(), key=key)


@router.delete("/{key_id}", response_model=ApiKeyPublic)
async def revoke_api_key(key_id: uuid.UUID, principal: OwnerOrAdmin, session: SessionDep):
    """Revoke a key; calls made with it fail from now on."""
    api_key = await get_owned(session, ApiKey, key_id, principal)
    if api_key.revoked_at is None:
        api_key.revoked_at = utcnow()
        record_audit(session, principal, api_key, "revoke", None, None)
        await session.commit()
    return api_key
