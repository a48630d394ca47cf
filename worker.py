"""The Temporal worker: the one place that registers workflows and activities.

Run: `python worker.py` (make dev starts it). SIGTERM or Ctrl-C drains in-flight activities and stops.
"""

import asyncio
import logging
import os
import signal
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client
from temporalio.worker import Worker

from activities.records import RecordsActivities
from models.db import session_factory
from settings import TASK_QUEUE, get_settings
from workflows.invoice import InvoiceWorkflow

WORKFLOWS = [InvoiceWorkflow]


@dataclass
class Deps:
    sessions: async_sessionmaker[AsyncSession]


def build_activities(deps: Deps) -> list:
    records = RecordsActivities(deps.sessions)
    return [records.change_invoice_status]


def build_worker(client: Client, deps: Deps, task_queue: str = TASK_QUEUE) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=build_activities(deps),
        # A dead worker's cached flows move to another worker after this, not the 10 s default.
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=3),
        graceful_shutdown_timeout=timedelta(seconds=30),
    )


async def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")
    settings = get_settings()
    if not settings.database_url:
        raise SystemExit("DATABASE_URL is not set; start everything with `make dev`")
    client = await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)
    worker = build_worker(client, Deps(sessions=session_factory(settings.database_url)))
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    async with worker:
        logging.info("worker polling task queue %r on %s", TASK_QUEUE, settings.temporal_address)
        await stop.wait()
        logging.info("draining: finishing in-flight activities, then stopping")


if __name__ == "__main__":
    asyncio.run(main())
    # The worker has drained. Skip interpreter teardown: the SDK's Rust threads can abort it with
    # "PyGILState_Release … finalizing" (temporalio/sdk-python issue #300).
    logging.shutdown()
    os._exit(0)
