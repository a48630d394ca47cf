"""The NexJob API: `uvicorn api.main:app`. JSON under /v1 (documented at /docs), pages at /."""

from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from psycopg.errors import ExclusionViolation
from sqlalchemy import text
from sqlalchemy.exc import DataError, IntegrityError
from temporalio.client import Client

from api import events, invoice_pages, portal, tracking
from api.office import pages as office_pages
from api.office import site as office
from api.routes import (
    ai,
    api_keys,
    auth,
    company,
    customers,
    inventory,
    invoices,
    jobs,
    leads,
    logs,
    notifications,
    parts,
    positions,
    purchase_orders,
    quickbooks,
    quotes,
    services,
    team,
    webhooks,
)
from models.db import session_factory
from settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if not settings.database_url:
            raise RuntimeError("DATABASE_URL is not set; start everything with `make dev`")
        app.state.settings = settings
        app.state.sessions = session_factory(settings.database_url)
        # Lazy: the API serves reads while Temporal starts; status changes answer 503 until it is up.
        app.state.temporal = await Client.connect(
            settings.temporal_address, namespace=settings.temporal_namespace, lazy=True
        )
        app.state.events = events.EventHub(settings.database_url)  # LISTENs from the first stream on
        yield
        await app.state.events.close()

    # FastAPIOffline serves the /docs assets itself: the docs work on a machine with no internet.
    app = FastAPIOffline(
        title="NexJob API",
        version="0.1.0",
        description=(
            "Field-service platform API. Sign in with `POST /v1/auth/login` (session cookie; send the "
            "returned `csrf_token` as `X-CSRF-Token` on writes) or use an API key: "
            "`Authorization: Bearer nxj_live_…`. Money is in integer cents; times are ISO 8601 with offset."
        ),
        lifespan=lifespan,
    )
    v1 = APIRouter(prefix="/v1")
    for module in (
        auth,
        company,
        team,
        customers,
        services,
        quotes,
        jobs,
        positions,
        parts,
        invoices,
        leads,
        inventory,
        purchase_orders,
        logs,
        notifications,
        api_keys,
        ai,
        quickbooks,
        events,
    ):
        v1.include_router(module.router)
    app.include_router(v1)
    app.include_router(webhooks.router)
    app.include_router(portal.router)
    app.add_exception_handler(portal.PortalRefusal, portal.refusal_handler)
    app.include_router(invoice_pages.router)
    app.include_router(tracking.router)
    app.include_router(quickbooks.callback_router)
    app.include_router(office.router)
    app.add_exception_handler(office_pages.SignInFirst, office_pages.sign_in_redirect)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")

    @app.exception_handler(DataError)
    async def out_of_range(request: Request, error: DataError):
        # Bounds pydantic did not catch (a number past PostgreSQL's integer range, say): the input's fault.
        detail = str(error.orig).splitlines()[0] if error.orig else "a value is out of range"
        return JSONResponse({"detail": f"invalid value: {detail}"}, status_code=422)

    @app.exception_handler(IntegrityError)
    async def clash(request: Request, error: IntegrityError):
        # Routes answer the conflicts they expect; what reaches here lost a race with another write.
        if isinstance(error.orig, ExclusionViolation):
            detail = "the technician already has another job at that time"
        else:
            detail = "this conflicts with a change saved at the same moment; reload and try again"
        return JSONResponse({"detail": detail}, status_code=409)

    @app.get("/healthz", include_in_schema=False)
    async def healthz(request: Request):
        async with request.app.state.sessions() as session:
            await session.exec(text("SELECT 1"))
        return JSONResponse({"ok": True})

    return app


app = create_app()
