"""Reaching other entities' workflows from a workflow, through the Temporal client.

A workflow cannot send an update to another workflow itself; an activity can, and waits for the answer.
The job workflow asks the invoice's workflow to collect payment this way, so the invoice's status keeps
its one writer. The review backstop starts the review runs the real-time path missed.
"""

from dataclasses import dataclass

from temporalio import activity
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from temporal.search_attributes import for_entity
from workflows.invoice import CollectInvoice, CollectResult, InvoiceInput, InvoiceWorkflow


@dataclass
class CollectRequest:
    invoice_id: str
    company_id: str
    actor: str


@dataclass
class JobStart:
    """The job workflow's input (JobInput's shape)."""

    job_id: str
    company_id: str
    tell_technician: bool = False


@dataclass
class ReviewStart:
    job_id: str
    company_id: str


class WorkflowCalls:
    def __init__(self, client: Client):
        self._client = client

    @activity.defn
    async def collect_invoice(self, request: CollectRequest) -> CollectResult:
        """Charge the card on file or send the invoice, through the invoice's own workflow. One update id
        per invoice: a retried or repeated request is the same collection, answered once."""
        start = WithStartWorkflowOperation(
            InvoiceWorkflow.run,
            InvoiceInput(request.invoice_id, request.company_id),
            id=f"invoice-{request.invoice_id}",
            task_queue=activity.info().task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            search_attributes=for_entity(request.company_id, "invoice", request.invoice_id),
        )
        return await self._client.execute_update_with_start_workflow(
            InvoiceWorkflow.collect,
            CollectInvoice(actor=request.actor),
            start_workflow_operation=start,
            id=f"collect-{request.invoice_id}",
        )

    @activity.defn
    async def start_review(self, request: ReviewStart) -> bool:
        """Start the job's review request unless one ever ran: False when it already had its run."""
        try:
            # By name: the review workflow's module imports this one. ReviewStart has ReviewInput's shape.
            await self._client.start_workflow(
                "ReviewWorkflow",
                request,
                id=f"review-{request.job_id}",
                task_queue=activity.info().task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=for_entity(request.company_id, "job", request.job_id),
            )
        except WorkflowAlreadyStartedError:
            return False
        return True

    @activity.defn
    async def start_job(self, request: JobStart) -> None:
        """Make sure the job's workflow runs (a booked job's reminders hang off it)."""
        await start_job_workflow(self._client, request.job_id, request.company_id, activity.info().task_queue)


async def start_job_workflow(
    client: Client, job_id, company_id, task_queue: str, tell_technician: bool = False
) -> None:
    """Start `job-{id}` unless it is already running (by name: the job workflow's module imports this
    one). `tell_technician`: the job came with its technician, who gets the assignment text."""
    await client.start_workflow(
        "JobWorkflow",
        JobStart(str(job_id), str(company_id), tell_technician),
        id=f"job-{job_id}",
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        search_attributes=for_entity(str(company_id), "job", str(job_id)),
    )
