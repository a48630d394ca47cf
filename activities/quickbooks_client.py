"""QuickBooks Online's SDKs set up as our activities and API need them.

intuit-oauth connects and refreshes; the tokens are kept encrypted (Fernet, its key derived from SECRET_KEY,
which production must set to its own). python-quickbooks calls the v3 API with a timeout on every call,
and the HTTP status of each answer is kept: its exceptions lose it, and it tells a refusal (4xx) from an
outage. Calls are blocking: run them on a thread.
"""

import base64
import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import requests
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from intuitlib.client import AuthClient
from intuitlib.enums import Scopes
from quickbooks import QuickBooks
from quickbooks.exceptions import QuickbooksException

from activities.clients import TIMEOUT_SECONDS, quickbooks_endpoints
from models.base import utcnow
from models.quickbooks import QuickBooksConnection
from settings import Settings

MINOR_VERSION = 75
PAGE = 1000  # QuickBooks' largest query page
STALE_OBJECT = 5010  # the SyncToken sent is not the latest: the record was edited meanwhile
DUPLICATE_NAME = 6240


# Connecting


def token_cipher(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"nexjob/quickbooks-tokens")
    return Fernet(base64.urlsafe_b64encode(key.derive(secret_key.encode())))


def reveal(cipher: Fernet, token: str) -> str:
    return cipher.decrypt(token.encode()).decode()


def redirect_uri(settings: Settings) -> str:
    return f"{settings.public_url.rstrip('/')}/quickbooks/callback"


class _AuthClient(AuthClient):
    """intuit-oauth's client with a timeout on every call (it sets none)."""

    def request(self, method, url, *args, **kwargs):
        kwargs.setdefault("timeout", TIMEOUT_SECONDS)
        return super().request(method, url, *args, **kwargs)


def auth_client(settings: Settings) -> AuthClient:
    """intuit-oauth reads the discovery document first."""
    endpoints = quickbooks_endpoints(settings)
    return _AuthClient(
        endpoints.client_id, endpoints.client_secret, redirect_uri(settings), endpoints.discovery_url
    )


def authorization_url(settings: Settings, state: str) -> str:
    """QuickBooks' consent page; it comes back to our callback with `state`."""
    return auth_client(settings).get_authorization_url([Scopes.ACCOUNTING], state_token=state)


def exchange_code(settings: Settings, code: str, realm_id: str) -> AuthClient:
    """The tokens an authorization code stands for, on the returned client."""
    auth = auth_client(settings)
    auth.get_bearer_token(code, realm_id=realm_id)
    return auth


def refreshed(settings: Settings, refresh_token: str) -> AuthClient:
    """New tokens; `refresh_token` is spent (QuickBooks rotates it)."""
    auth = auth_client(settings)
    auth.refresh(refresh_token=refresh_token)
    return auth


def revoke(settings: Settings, refresh_token: str) -> None:
    """Disconnect the app from the QuickBooks company."""
    auth_client(settings).revoke(token=refresh_token)


def store_tokens(connection: QuickBooksConnection, auth: AuthClient, cipher: Fernet) -> None:
    now = utcnow()
    connection.access_token = cipher.encrypt(auth.access_token.encode()).decode()
    connection.refresh_token = cipher.encrypt(auth.refresh_token.encode()).decode()
    connection.access_expires_at = now + timedelta(seconds=int(auth.expires_in))
    lasts = auth.x_refresh_token_expires_in
    connection.refresh_expires_at = now + timedelta(seconds=int(lasts)) if lasts else None
    connection.problem = None


# The v3 API


class _BearerSession(requests.Session):
    """What python-quickbooks sends its calls through: our access token, a timeout, the last status."""

    def __init__(self, access_token: str, timeout: float):
        super().__init__()
        self.access_token = access_token
        self.timeout = timeout
        self.last_status: int | None = None

    def request(self, method, url, *args, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        self.last_status = None
        response = super().request(method, url, *args, **kwargs)
        self.last_status = response.status_code
        return response


class QuickBooksApi:
    """One QuickBooks company's v3 API, records as QuickBooks' JSON."""

    def __init__(self, settings: Settings, realm_id: str, access_token: str, timeout: float):
        self.http = _BearerSession(access_token, timeout)
        self._qb = QuickBooks(company_id=realm_id, minorversion=MINOR_VERSION)
        self._qb.api_url_v3 = quickbooks_endpoints(settings).api_url_v3
        self._qb.session = self.http

    def read(self, entity: str, qbo_id: str) -> dict:
        return self._qb.get_single_object(entity, qbo_id)[entity]

    def create(self, entity: str, body: dict, request_id: str) -> dict:
        return self._qb.create_object(entity, json.dumps(body), request_id=request_id)[entity]

    def update(self, entity: str, qbo_id: str, sync_token: str, body: dict, request_id: str) -> dict:
        """A sparse update: only the fields in `body` change."""
        sparse = {"Id": qbo_id, "SyncToken": sync_token, "sparse": True} | body
        return self._qb.update_object(entity, json.dumps(sparse), request_id=request_id)[entity]

    def void_invoice(self, qbo_id: str, sync_token: str, request_id: str) -> dict:
        """QuickBooks' void: the invoice stays, its amounts zeroed and "Voided" in its PrivateNote. The
        request python-quickbooks' `Invoice.void` sends (`?operation=void`, Id and SyncToken), with the
        requestid that `void` does not take."""
        url = f"{self._qb.api_url}/company/{self._qb.company_id}/invoice"
        body = json.dumps({"Id": qbo_id, "SyncToken": sync_token})
        return self._qb.post(url, body, params={"operation": "void"}, request_id=request_id)["Invoice"]

    def query(self, statement: str) -> list[dict]:
        answer = self._qb.query(statement)["QueryResponse"]
        return next((rows for rows in answer.values() if isinstance(rows, list)), [])

    def everything(self, entity: str) -> list[dict]:
        return list(self._pages(entity))

    def _pages(self, entity: str) -> Iterator[dict]:
        start = 1
        while True:
            page = self.query(f"SELECT * FROM {entity} STARTPOSITION {start} MAXRESULTS {PAGE}")
            yield from page
            if len(page) < PAGE:
                return
            start += PAGE

    def changed_since(self, entity: str, since: datetime) -> list[dict]:
        """Change data capture: records of `entity` changed since then (deleted ones as stubs)."""
        answer = self._qb.change_data_capture(entity, since.isoformat(timespec="seconds"))
        return [
            record
            for response in answer["CDCResponse"]
            for part in response["QueryResponse"]
            for record in part.get(entity, [])
        ]


def request_id(kind: str, record_id: uuid.UUID, *version) -> str:
    """QuickBooks' `requestid` (at most 50 characters): the record and the version of it being written.
    The same request sent again is answered with the first one's result instead of being done twice."""
    step = hashlib.sha256(json.dumps(version, sort_keys=True, default=str).encode()).hexdigest()[:12]
    return f"nj-{kind}-{record_id.hex}-{step}"


def error_code(error: QuickbooksException) -> int | None:
    try:
        return int(error.error_code)
    except (TypeError, ValueError):
        return None


def describe(error: QuickbooksException) -> str:
    detail = str(error.detail or "").strip()
    return f"QuickBooks: {error.message}" + (f" ({detail[:300]})" if detail else "")
