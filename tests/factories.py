"""Test companies with signed-in clients per role."""

import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import cache

import httpx

from api.security import hash_password
from models.company import Company, User
from models.enums import PlanTier, Role

PASSWORD = "correct horse battery"


@cache
def _password_hash() -> str:
    return hash_password(PASSWORD)  # argon2 is slow on purpose: hash once per session


@dataclass
class Tenant:
    app: object
    company: Company
    users: dict[str, User]  # "owner", "admin", "manager", "tech", "tech2"
    _clients: list[httpx.AsyncClient] = field(default_factory=list)

    @property
    def company_id(self) -> uuid.UUID:
        return self.company.id

    async def client(self, who: str = "owner") -> httpx.AsyncClient:
        """A client signed in as `who`, sending the CSRF header on every request like our pages do."""
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://test")
        self._clients.append(client)
        response = await client.post(
            "/v1/auth/login", json={"email": self.users[who].email, "password": PASSWORD}
        )
        response.raise_for_status()
        client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
        return client


@asynccontextmanager
async def make_tenant(app, sessions, name: str, plan: PlanTier = PlanTier.ops):
    company = Company(name=name, plan=plan, tax_rate_bps=825, timezone="America/Chicago")
    slug = uuid.uuid4().hex[:10]
    people = {
        "owner": Role.owner,
        "admin": Role.admin,
        "manager": Role.manager,
        "tech": Role.technician,
        "tech2": Role.technician,
    }
    users = {
        who: User(
            company_id=company.id,
            email=f"{who}-{slug}@example.com",
            name=f"{who.title()} {slug[:4]}",
            role=role,
            password_hash=_password_hash(),
            skills=["plumbing"] if role == Role.technician else [],
        )
        for who, role in people.items()
    }
    async with sessions() as session:
        session.add(company)
        await session.flush()
        session.add_all(users.values())
        await session.commit()
    tenant = Tenant(app=app, company=company, users=users)
    try:
        yield tenant
    finally:
        for client in tenant._clients:
            await client.aclose()
