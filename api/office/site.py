"""Every office page router, mounted by `api.main`."""

from fastapi import APIRouter

from api.office import (
    customers,
    dashboard,
    dispatch,
    inventory,
    invoices,
    jobs,
    messages,
    quickbooks,
    quotes,
    schedule,
    settings,
    signin,
    team,
)

router = APIRouter(include_in_schema=False)
for module in (
    signin,
    dashboard,
    jobs,
    schedule,
    dispatch,
    customers,
    quotes,
    invoices,
    inventory,
    messages,
    team,
    settings,
    quickbooks,
):
    router.include_router(module.router)
