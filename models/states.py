"""Which status may follow which, for invoices, jobs and quotes.

Pure functions: workflows and the API ask `check_*_transition` before any status is written, and the
tests walk every pair.
"""

from models.enums import InvoiceStatus, JobStatus, QuoteStatus


class TransitionError(ValueError):
    """A status change the rules forbid; the message is meant for the person who asked."""


_I = InvoiceStatus
INVOICE_TRANSITIONS: dict[InvoiceStatus, set[InvoiceStatus]] = {
    _I.draft: {_I.sent, _I.void},
    _I.sent: {_I.viewed, _I.paid, _I.overdue, _I.void},
    _I.viewed: {_I.paid, _I.overdue, _I.void},
    _I.overdue: {_I.paid, _I.void},
    _I.paid: set(),
    _I.void: set(),
}

_J = JobStatus
JOB_TRANSITIONS: dict[JobStatus, set[JobStatus]] = {
    _J.unscheduled: {_J.scheduled, _J.cancelled},
    _J.scheduled: {_J.unscheduled, _J.on_the_way, _J.in_progress, _J.cancelled},
    _J.on_the_way: {_J.scheduled, _J.in_progress, _J.cancelled},
    _J.in_progress: {_J.completed, _J.cancelled},
    _J.completed: set(),
    _J.cancelled: {_J.unscheduled},  # reopened work goes back to the unscheduled pile
}

_Q = QuoteStatus
QUOTE_TRANSITIONS: dict[QuoteStatus, set[QuoteStatus]] = {
    _Q.draft: {_Q.sent},
    _Q.sent: {_Q.accepted, _Q.declined, _Q.expired},
    _Q.expired: {_Q.sent},  # re-sending an expired quote revives it
    _Q.declined: {_Q.draft},  # revise and send again
    _Q.accepted: set(),
}


def check_invoice_transition(
    current: InvoiceStatus, target: InvoiceStatus, *, by_provider: bool = False
) -> None:
    """Raise TransitionError unless an invoice may go from `current` to `target`.

    `by_provider` is a payment the card processor reports: it may settle a Draft invoice directly,
    because the money has moved whatever the paperwork says.
    """
    if current == target:
        raise TransitionError(f"invoice is already {current.value}")
    if target == _I.paid and current == _I.void:
        raise TransitionError("a void invoice cannot be marked as paid")
    if target == _I.void and current == _I.paid:
        raise TransitionError("a paid invoice cannot be voided")
    if target == _I.paid and current == _I.draft:
        if by_provider:
            return
        raise TransitionError("a draft invoice must be sent before it can be marked as paid")
    if target not in INVOICE_TRANSITIONS[current]:
        raise TransitionError(f"an invoice cannot go from {current.value} to {target.value}")


def check_job_transition(current: JobStatus, target: JobStatus) -> None:
    if current == target:
        raise TransitionError(f"job is already {current.value}")
    if target not in JOB_TRANSITIONS[current]:
        raise TransitionError(
            f"a job cannot go from {current.value} to {target.value}"
            + (
                f"; next it can be {', '.join(sorted(s.value for s in JOB_TRANSITIONS[current]))}"
                if JOB_TRANSITIONS[current]
                else ""
            )
        )


def check_quote_transition(current: QuoteStatus, target: QuoteStatus) -> None:
    if current == target:
        raise TransitionError(f"quote is already {current.value}")
    if target not in QUOTE_TRANSITIONS[current]:
        raise TransitionError(f"a quote cannot go from {current.value} to {target.value}")
