"""Database engine and sessions. One async engine per process, made on first use."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession


def make_engine(url: str, **kwargs) -> AsyncEngine:
    # No pre-ping: it costs a round trip per request; a connection dropped by a database restart
    # fails one request and the pool replaces it.
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_recycle=1800, **kwargs)


@lru_cache
def session_factory(url: str) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(make_engine(url), class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def session_scope(url: str) -> AsyncIterator[AsyncSession]:
    """A session that commits when the block ends cleanly and rolls back when it raises."""
    async with session_factory(url)() as session, session.begin():
        yield session
