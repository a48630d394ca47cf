"""The QuickBooks stand-in's state: the OAuth authority and the sandbox companies (realms), in memory."""

import secrets
import string

from fastapi import Request

from sandbox.context import SandboxContext
from sandbox.quickbooks.oauth import Authority
from sandbox.quickbooks.store import Company
from sandbox.quickbooks.wire import forbidden, unauthorized


class QuickBooksSandbox:
    def __init__(self, context: SandboxContext):
        self.context = context
        self.authority = Authority(issuer=f"{context.public_url}/quickbooks/op/v1")
        self.companies: dict[str, Company] = {}

    def next_company_name(self) -> str:
        return f"Sandbox Company_US_{len(self.companies) + 1}"

    def new_company(self) -> Company:
        realm_id = "9341" + "".join(secrets.choice(string.digits) for _ in range(12))
        company = self.companies[realm_id] = Company(realm_id, self.next_company_name())
        return company

    def company_for(self, request: Request, realm_id: str) -> Company:
        """The company a v3 API request may work on, by its bearer token; else the gateway's refusal."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise unauthorized("Authorization header is missing or is not a bearer token")
        connection = self.authority.bearer(token)
        if connection is None:
            raise unauthorized(f"Token expired or invalid: {token[:8]}…")
        if connection.realm_id != realm_id or realm_id not in self.companies:
            raise forbidden(f"The app is not authorized to access company {realm_id}")
        return self.companies[realm_id]
