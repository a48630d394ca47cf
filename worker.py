"""The Temporal worker: the one place that registers workflows and activities.

Run: `python worker.py` (make dev starts it). SIGTERM or Ctrl-C drains in-flight activities and stops.
"""

import asyncio
import logging
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)
from temporalio.worker import Worker

from activities.ai import AiActivities, AiGateway
from activities.automations import AutomationActivities
from activities.clients import configure_resend, maps_client, stripe_client, twilio_client
from activities.invoicing import InvoicingActivities
from activities.jobs import JobActivities
from activities.maps import MapsActivities
from activities.messaging import MessagingActivities
from activities.payments import PaymentsActivities
from activities.purchasing import PurchasingActivities, PurchasingCalls
from activities.quickbooks import QuickBooksActivities
from activities.quotes import QuoteActivities
from activities.records import RecordsActivities
from activities.reviews import ReviewActivities
from activities.scheduling import SchedulingActivities
from activities.workflow_calls import WorkflowCalls
from models.db import session_factory
from settings import TASK_QUEUE, Settings, get_settings
from workflows.geocode import GeocodeWorkflow
from workflows.invoice import InvoiceWorkflow
from workflows.job import JobWorkflow
from workflows.purchasing import PurchaseOrderWorkflow, ReorderBackstopWorkflow, ReorderWorkflow
from workflows.quickbooks import QuickBooksScheduleWorkflow, QuickBooksSyncWorkflow
from workflows.quote import QuoteWorkflow
from workflows.review import ReviewBackstopWorkflow, ReviewWorkflow

log = logging.getLogger("nexjob.worker")

WORKFLOWS = [
    QuoteWorkflow,
    InvoiceWorkflow,
    JobWorkflow,
    ReviewWorkflow,
    ReviewBackstopWorkflow,
    GeocodeWorkflow,
    ReorderWorkflow,
    PurchaseOrderWorkflow,
    ReorderBackstopWorkflow,
    QuickBooksSyncWorkflow,
    QuickBooksScheduleWorkflow,
]
REVIEW_BACKSTOP = "review-backstop"  # the hourly Schedule's id, and its runs' workflow id
QUICKBOOKS_SCHEDULE = "quickbooks-sync"  # the hourly full sync of every connected company
REORDER_BACKSTOP = "reorder-backstop"  # the hourly sweep for reorders the real-time path missed


@dataclass
class Deps:
    sessions: async_sessionmaker[AsyncSession]
    settings: Settings
    temporal: Client | None = None  # for activities that reach other workflows; build_worker fills it in


def build_activities(deps: Deps) -> list:
    configure_resend(deps.settings)
    records = RecordsActivities(deps.sessions)
    automations = AutomationActivities(deps.sessions)
    payments = PaymentsActivities(stripe_client(deps.settings))
    messaging = MessagingActivities(deps.sessions, twilio_client(deps.settings), deps.settings)
    maps = MapsActivities(maps_client(deps.settings))
    ai = AiActivities(AiGateway(deps.sessions, deps.settings))
    quotes = QuoteActivities(deps.sessions, deps.settings)
    scheduling = SchedulingActivities(deps.sessions)
    jobs = JobActivities(deps.sessions, deps.settings)
    reviews = ReviewActivities(deps.sessions)
    calls = [WorkflowCalls(deps.temporal)] if deps.temporal else []
    invoicing = InvoicingActivities(deps.sessions, deps.settings)
    purchasing = PurchasingActivities(deps.sessions)
    quickbooks = QuickBooksActivities(deps.sessions, deps.settings)
    purchasing_calls = [PurchasingCalls(deps.sessions, deps.temporal)] if deps.temporal else []
    return [
        *(m for c in calls for m in (c.collect_invoice, c.start_review, c.start_job)),
        *(
            m
            for c in purchasing_calls
            for m in (c.order_parts_for_job, c.send_automatically, c.signal_reorder)
        ),
        purchasing.plan_reorder,
        purchasing.issue_purchase_order,
        purchasing.purchase_order_not_sent,
        purchasing.items_to_reorder,
        jobs.job_state,
        jobs.reschedule_job,
        jobs.assign_job,
        jobs.job_text,
        jobs.invoice_for_job,
        reviews.review_context,
        reviews.review_messages,
        reviews.service_recovery,
        reviews.review_handled,
        reviews.jobs_missing_review,
        quotes.quote_state,
        quotes.quote_messages,
        quotes.mark_quote_sent,
        quotes.accept_quote,
        quotes.decline_quote,
        quotes.expire_quote,
        quotes.card_customer,
        quotes.store_stripe_customer,
        quotes.save_card,
        quotes.skip_card,
        scheduling.book_slot,
        scheduling.assignment_options,
        scheduling.assign_technician,
        scheduling.ask_admins_to_assign,
        scheduling.confirmation,
        invoicing.invoice_state,
        invoicing.invoice_messages,
        invoicing.reminder_prompt,
        invoicing.invoice_payment,
        invoicing.move_invoice,
        invoicing.notify_office_of_decline,
        quickbooks.push_record,
        quickbooks.pending_pushes,
        quickbooks.pull_customers,
        quickbooks.pull_payments,
        quickbooks.finish_sync,
        quickbooks.request_quickbooks_push,
        quickbooks.queue_scheduled_syncs,
        records.change_invoice_status,
        records.change_job_status,
        records.store_coordinates,
        records.owner_and_admin_phones,
        automations.check_automation,
        payments.ensure_stripe_customer,
        payments.create_setup_intent,
        payments.create_card_checkout,
        payments.saved_card,
        payments.charge_card_on_file,
        payments.create_invoice_checkout,
        payments.refund_payment,
        messaging.send_sms,
        messaging.send_email,
        maps.geocode_address,
        maps.distance_matrix,
        ai.generate_text,
        ai.ai_outage_alert_due,
    ]


def build_worker(client: Client, deps: Deps, task_queue: str = TASK_QUEUE) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=build_activities(deps if deps.temporal else replace(deps, temporal=client)),
        # The provider SDKs block: their activities run on threads.
        activity_executor=ThreadPoolExecutor(max_workers=32),
        # A dead worker's cached flows move to another worker after this, not the 10 s default.
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=3),
        graceful_shutdown_timeout=timedelta(seconds=30),
    )


# The hourly Temporal Schedules: each starts its sweep once an hour (kept if it exists, so every worker
# may ask). Backstops catch what the real-time paths missed; the QuickBooks one is the scheduled full sync.
HOURLY = {
    REVIEW_BACKSTOP: ReviewBackstopWorkflow.run,  # review requests for completed jobs
    QUICKBOOKS_SCHEDULE: QuickBooksScheduleWorkflow.run,  # companies connected with `quickbooks_sync` on
    REORDER_BACKSTOP: ReorderBackstopWorkflow.run,  # low stock `supplier_reorder` did not order
}


async def ensure_hourly_schedules(client: Client, task_queue: str = TASK_QUEUE) -> None:
    for schedule_id, sweep in HOURLY.items():
        schedule = Schedule(
            action=ScheduleActionStartWorkflow(sweep, id=schedule_id, task_queue=task_queue),
            spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(hours=1))]),
            policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
        )
        try:
            await client.create_schedule(schedule_id, schedule)
        except ScheduleAlreadyRunningError:
            pass


async def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s worker %(levelname)s %(message)s")
    log.setLevel(logging.INFO)  # our own lines; the SDKs' INFO chatter stays out
    settings = get_settings()
    if not settings.database_url:
        raise SystemExit("DATABASE_URL is not set; start everything with `make dev`")
    client = await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)
    worker = build_worker(client, Deps(sessions=session_factory(settings.database_url), settings=settings))
    await ensure_hourly_schedules(client)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    async with worker:
        log.info("worker polling task queue %r on %s", TASK_QUEUE, settings.temporal_address)
        await stop.wait()
        log.info("draining: finishing in-flight activities, then stopping")


if __name__ == "__main__":
    asyncio.run(main())
    # The worker has drained. Skip interpreter teardown: the SDK's Rust threads can abort it with
    # "PyGILState_Release … finalizing" (temporalio/sdk-python issue #300).
    logging.shutdown()
    os._exit(0)
