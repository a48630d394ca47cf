"""The sandbox's Intuit OAuth 2.0 authority: authorization codes, access and refresh tokens, id tokens.

As Intuit's: a code works once, within minutes; an access token lasts an hour; a refresh token ROTATES, so
each refresh answers a new one and the one used stops working; revoking any token of a connection
disconnects the app from that company. `expire_access_tokens` ends access tokens early for tests.
"""

import base64
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from fastapi.responses import JSONResponse

from sandbox import credentials

ACCESS_TOKEN_SECONDS = 3600
REFRESH_TOKEN_SECONDS = 101 * 24 * 3600
CODE_SECONDS = 300
SCOPES = {
    "com.intuit.quickbooks.accounting",
    "com.intuit.quickbooks.payment",
    "openid",
    "profile",
    "email",
    "phone",
    "address",
}
APPS = {credentials.QUICKBOOKS_CLIENT_ID: "NexJob"}  # client id -> the app name the consent page shows
BOOKKEEPER = {"givenName": "Sandy", "familyName": "Bookkeeper", "email": "bookkeeper@sandbox.nexjob.dev"}


class OAuthError(Exception):
    """An OAuth error answer: `{"error": ...}` with its HTTP status."""

    def __init__(self, status: int, error: str, description: str = ""):
        super().__init__(f"{error}: {description}")
        self.status, self.error, self.description = status, error, description

    def response(self) -> JSONResponse:
        body = {"error": self.error} | ({"error_description": self.description} if self.description else {})
        return JSONResponse(body, self.status)


@dataclass
class Connection:
    """One app connected to one company: every token issued for it belongs to it."""

    client_id: str
    realm_id: str
    scopes: list[str]
    subject: str = field(default_factory=lambda: str(uuid.uuid4()))
    revoked: bool = False


@dataclass
class Issued:
    connection: Connection
    expires_at: float
    redirect_uri: str = ""  # codes only: the token request must name the same one


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class IdTokenSigner:
    """RS256 id tokens for the `openid` scope, checked by intuit-oauth against the published key set."""

    KEY_ID = "nexjob-sandbox-1"

    def __init__(self) -> None:
        self._key: rsa.RSAPrivateKey | None = None

    @property
    def key(self) -> rsa.RSAPrivateKey:
        if self._key is None:  # made on first use: most runs never ask for an id token
            self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return self._key

    def jwks(self) -> dict:
        numbers = self.key.public_key().public_numbers()

        def encoded(number: int) -> str:
            return _b64url(number.to_bytes((number.bit_length() + 7) // 8, "big"))

        key = {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": self.KEY_ID}
        return {"keys": [key | {"n": encoded(numbers.n), "e": encoded(numbers.e)}]}

    def sign(self, claims: dict) -> str:
        header = {"alg": "RS256", "kid": self.KEY_ID, "typ": "JWT"}
        signed = ".".join(_b64url(json.dumps(part).encode()) for part in (header, claims))
        signature = self.key.sign(signed.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signed}.{_b64url(signature)}"


class Authority:
    def __init__(self, issuer: str):
        self.issuer = issuer
        self.signer = IdTokenSigner()
        self.codes: dict[str, Issued] = {}
        self.access_tokens: dict[str, Issued] = {}
        self.refresh_tokens: dict[str, Issued] = {}

    def authenticate_client(self, authorization: str) -> str:
        """The client id from HTTP basic auth, as intuit-oauth sends it; refuses unknown clients."""
        scheme, _, encoded = authorization.partition(" ")
        try:
            client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            client_id = secret = ""
        known = client_id in APPS and secrets.compare_digest(secret, credentials.QUICKBOOKS_CLIENT_SECRET)
        if scheme.lower() != "basic" or not known:
            raise OAuthError(401, "invalid_client")
        return client_id

    def issue_code(self, client_id: str, realm_id: str, scopes: list[str], redirect_uri: str) -> str:
        code = "AB11" + secrets.token_urlsafe(32)
        connection = Connection(client_id, realm_id, scopes)
        self.codes[code] = Issued(connection, time.time() + CODE_SECONDS, redirect_uri)
        return code

    def exchange_code(self, client_id: str, code: str, redirect_uri: str) -> dict:
        issued = self.codes.pop(code, None)  # a code works once, whatever the outcome
        if (
            issued is None
            or issued.expires_at < time.time()
            or issued.connection.client_id != client_id
            or issued.redirect_uri != redirect_uri
        ):
            raise OAuthError(400, "invalid_grant")
        return self._tokens(issued.connection, with_id_token=True)

    def refresh(self, client_id: str, refresh_token: str) -> dict:
        issued = self.refresh_tokens.get(refresh_token)
        if not self._live(issued) or issued.connection.client_id != client_id:
            raise OAuthError(400, "invalid_grant")
        del self.refresh_tokens[refresh_token]  # rotation: the one just used is spent
        return self._tokens(issued.connection, with_id_token=False)

    def revoke(self, token: str) -> None:
        issued = self.refresh_tokens.get(token) or self.access_tokens.get(token)
        if issued is not None:
            issued.connection.revoked = True

    def bearer(self, token: str) -> Connection | None:
        """The connection a live access token speaks for, else None."""
        issued = self.access_tokens.get(token)
        return issued.connection if self._live(issued) else None

    def expire_access_tokens(self, realm_id: str | None = None) -> int:
        """End every live access token (of one company, or all) now; answers how many ended."""
        ended = 0
        for issued in self.access_tokens.values():
            if self._live(issued) and realm_id in (None, issued.connection.realm_id):
                issued.expires_at = time.time() - 1
                ended += 1
        return ended

    def user_info(self, token: str) -> dict | None:
        connection = self.bearer(token)
        if connection is None or "openid" not in connection.scopes:
            return None
        info = {"sub": connection.subject}
        if "profile" in connection.scopes:
            info |= {"givenName": BOOKKEEPER["givenName"], "familyName": BOOKKEEPER["familyName"]}
        if "email" in connection.scopes:
            info |= {"email": BOOKKEEPER["email"], "emailVerified": True}
        return info

    @staticmethod
    def _live(issued: Issued | None) -> bool:
        return issued is not None and not issued.connection.revoked and issued.expires_at > time.time()

    def _tokens(self, connection: Connection, *, with_id_token: bool) -> dict:
        access, refresh, moment = secrets.token_urlsafe(48), "AB11" + secrets.token_urlsafe(36), time.time()
        self.access_tokens[access] = Issued(connection, moment + ACCESS_TOKEN_SECONDS)
        self.refresh_tokens[refresh] = Issued(connection, moment + REFRESH_TOKEN_SECONDS)
        answer = {
            "token_type": "bearer",
            "access_token": access,
            "expires_in": ACCESS_TOKEN_SECONDS,
            "refresh_token": refresh,
            "x_refresh_token_expires_in": REFRESH_TOKEN_SECONDS,
        }
        if with_id_token and "openid" in connection.scopes:
            answer["id_token"] = self.signer.sign(
                {
                    "iss": self.issuer,
                    "aud": [connection.client_id],
                    "sub": connection.subject,
                    "realmid": connection.realm_id,
                    "iat": int(moment),
                    "exp": int(moment) + ACCESS_TOKEN_SECONDS,
                }
            )
        return answer
