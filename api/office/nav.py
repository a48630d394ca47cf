"""The office navigation, limited to what each role may use."""

from dataclasses import dataclass

from models.enums import Role

OFFICE = frozenset({Role.manager, Role.admin, Role.owner})
EVERYONE = OFFICE | {Role.technician}
OWNER_ADMIN = frozenset({Role.admin, Role.owner})


@dataclass(frozen=True)
class NavItem:
    label: str
    path: str
    roles: frozenset[Role]
    also: tuple[str, ...] = ()  # other paths whose pages belong to this item

    @property
    def paths(self) -> tuple[str, ...]:
        return (self.path, *self.also)


NAV = (
    NavItem("Dashboard", "/dashboard", OFFICE),
    NavItem("My jobs", "/jobs", frozenset({Role.technician})),
    NavItem("Jobs", "/jobs", OFFICE),
    NavItem("Schedule", "/schedule", EVERYONE),
    NavItem("Dispatch", "/dispatch", OFFICE),
    NavItem("Customers", "/customers", OFFICE),
    NavItem("Quotes", "/quotes", OFFICE),
    NavItem("Invoices", "/invoices", OFFICE),
    NavItem("Inventory", "/inventory", OFFICE, also=("/purchase-orders",)),
    NavItem("Messages", "/messages", OFFICE),
    NavItem("Team", "/team", OWNER_ADMIN),
    NavItem("Settings", "/settings", OWNER_ADMIN),
)


def nav_for(role: Role) -> list[NavItem]:
    return [item for item in NAV if role in item.roles]


def home_for(role: Role) -> str:
    """Where signing in lands: the first page the role may use."""
    return nav_for(role)[0].path
