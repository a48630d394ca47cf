"""A company's connection to QuickBooks Online for the length of one activity: its realm, its API with a live
access token, its sync cursors.

Refresh tokens rotate (each refresh answers a new one and spends the one used), so a refresh happens under
a lock on the company's connection row, and the new tokens are committed before the new access token is
used; a second worker waiting on the lock finds them and does not refresh again. An access token QuickBooks
refuses early is refreshed once and the call made again. A refresh QuickBooks refuses marks the connection
with the problem (the office reconnects) and fails for good.
"""

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from intuitlib.exceptions import AuthClientError
from quickbooks.exceptions import AuthorizationException
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.exceptions import ApplicationError

from activities.errors import is_final
from activities.quickbooks_client import QuickBooksApi, refreshed, reveal, store_tokens, token_cipher
from models.base import utcnow
from models.quickbooks import QuickBooksConnection
from settings import Settings

NOT_CONNECTED = "QuickBooksNotConnected"
REFRESH_MARGIN = timedelta(minutes=5)  # an access token this close to its end is refreshed first
CDC_WINDOW = timedelta(days=29)  # QuickBooks keeps 30 days of changes: an older cursor reads everything
CDC_OVERLAP = timedelta(minutes=5)  # clocks differ; what is read twice is taken once


def not_connected() -> ApplicationError:
    return ApplicationError(
        "the company is not connected to QuickBooks", type=NOT_CONNECTED, non_retryable=True
    )


async def connection_of(session: AsyncSession, company_id: uuid.UUID) -> QuickBooksConnection:
    connection = await session.get(QuickBooksConnection, company_id)
    if connection is None:
        raise not_connected()
    return connection


class Tokens:
    """The company's access token, refreshed when needed."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings):
        self._sessions = sessions
        self._settings = settings
        self._cipher = token_cipher(settings.secret_key)

    async def access_token(self, company_id: uuid.UUID, refused: str | None = None) -> tuple[str, str]:
        """(realm id, a live access token); refreshed when near its end or when QuickBooks `refused` it."""
        async with self._sessions() as session:
            connection = await connection_of(session, company_id)
            if self._still_good(connection, refused):
                return connection.realm_id, reveal(self._cipher, connection.access_token)
        return await self._refresh(company_id, refused)

    async def _refresh(self, company_id: uuid.UUID, refused: str | None) -> tuple[str, str]:
        problem = None
        # The row lock is the company's lock: one refresh at a time spends the rotating refresh token.
        async with self._sessions() as session, session.begin():
            connection = await session.get(QuickBooksConnection, company_id, with_for_update=True)
            if connection is None:
                raise not_connected()
            if self._still_good(connection, refused):  # another worker refreshed meanwhile
                return connection.realm_id, reveal(self._cipher, connection.access_token)
            spent = reveal(self._cipher, connection.refresh_token)
            try:
                auth = await asyncio.to_thread(refreshed, self._settings, spent)
            except AuthClientError as error:
                if not is_final(error.status_code):
                    raise
                problem = (
                    f"QuickBooks refused the saved authorization ({error.status_code}): reconnect QuickBooks"
                )
                connection.problem = problem
            else:
                store_tokens(connection, auth, self._cipher)
            realm_id = connection.realm_id
        # Committed: the new refresh token is saved before the new access token is used.
        if problem:
            raise ApplicationError(problem, type=NOT_CONNECTED, non_retryable=True)
        return realm_id, auth.access_token

    def _still_good(self, connection: QuickBooksConnection, refused: str | None) -> bool:
        fresh = connection.access_expires_at > utcnow() + REFRESH_MARGIN
        return fresh and (refused is None or reveal(self._cipher, connection.access_token) != refused)


@dataclass
class Link:
    company_id: uuid.UUID
    realm_id: str
    api: QuickBooksApi
    tokens: Tokens
    connected_at: datetime
    services_item_id: str | None
    customers_pulled_at: datetime | None
    payments_pulled_at: datetime | None

    async def call(self, method, *args):
        """One API call, on a thread (the SDK blocks). A refused access token is refreshed once."""
        try:
            return await asyncio.to_thread(method, *args)
        except AuthorizationException:
            if self.api.http.last_status != 401:
                raise
        _, self.api.http.access_token = await self.tokens.access_token(
            self.company_id, self.api.http.access_token
        )
        return await asyncio.to_thread(method, *args)

    async def changed(self, entity: str, since: datetime | None) -> list[dict]:
        """QuickBooks' records changed since the last pull (change data capture); all of them the first
        time, or when the last pull is older than QuickBooks keeps changes."""
        if since is not None and since > utcnow() - CDC_WINDOW:
            return await self.call(self.api.changed_since, entity, since - CDC_OVERLAP)
        return await self.call(self.api.everything, entity)


async def open_link(
    sessions: async_sessionmaker[AsyncSession],
    tokens: Tokens,
    settings: Settings,
    company_id: str,
    http_timeout: float,
) -> Link:
    realm_id, token = await tokens.access_token(uuid.UUID(company_id))
    async with sessions() as session:
        connection = await connection_of(session, uuid.UUID(company_id))
    return Link(
        company_id=connection.company_id,
        realm_id=realm_id,
        api=QuickBooksApi(settings, realm_id, token, http_timeout),
        tokens=tokens,
        connected_at=connection.connected_at,
        services_item_id=connection.services_item_id,
        customers_pulled_at=connection.customers_pulled_at,
        payments_pulled_at=connection.payments_pulled_at,
    )
