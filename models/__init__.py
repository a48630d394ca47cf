"""NexJob's data model. Importing this package registers every table on SQLModel.metadata."""

from models import (  # noqa: F401
    catalog,
    company,
    customers,
    inventory,
    invoices,
    jobs,
    leads,
    line_items,
    logs,
    notifications,
    providers,
    quickbooks,
    quotes,
)
