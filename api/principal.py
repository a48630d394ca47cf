"""Who is calling: a signed-in team member or an integrator's API key, always inside one company."""

import uuid
from dataclasses import dataclass

from models.company import User
from models.enums import Role


@dataclass(frozen=True)
class Principal:
    company_id: uuid.UUID
    role: Role
    actor: str  # written to the audit log: "user:<email>" or "api_key:<prefix>"
    user: User | None = None  # None for an API key
    can_write: bool = True
    csrf_token: str | None = None  # set for cookie sessions: writes must echo it

    @property
    def user_id(self) -> uuid.UUID | None:
        return self.user.id if self.user else None
