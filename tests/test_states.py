import itertools

import pytest

from models.enums import InvoiceStatus as I
from models.enums import JobStatus as J
from models.enums import QuoteStatus as Q
from models.states import (
    TransitionError,
    check_invoice_transition,
    check_job_transition,
    check_quote_transition,
)

ALLOWED_INVOICE_MOVES = {
    (I.draft, I.sent),
    (I.draft, I.void),
    (I.sent, I.viewed),
    (I.sent, I.paid),
    (I.sent, I.overdue),
    (I.sent, I.void),
    (I.viewed, I.paid),
    (I.viewed, I.overdue),
    (I.viewed, I.void),
    (I.overdue, I.paid),
    (I.overdue, I.void),
}


@pytest.mark.parametrize("current,target", list(itertools.product(I, I)))
def test_invoice_transitions_by_hand_follow_status_protections(current, target):
    if (current, target) in ALLOWED_INVOICE_MOVES:
        check_invoice_transition(current, target)
    else:
        with pytest.raises(TransitionError):
            check_invoice_transition(current, target)


def test_draft_invoice_cannot_be_marked_paid_by_hand():
    with pytest.raises(TransitionError, match="must be sent"):
        check_invoice_transition(I.draft, I.paid)


def test_provider_payment_settles_a_draft_invoice():
    check_invoice_transition(I.draft, I.paid, by_provider=True)


def test_paid_cannot_be_voided_and_void_cannot_be_paid_even_by_provider():
    with pytest.raises(TransitionError, match="paid invoice cannot be voided"):
        check_invoice_transition(I.paid, I.void)
    with pytest.raises(TransitionError, match="void invoice cannot be marked as paid"):
        check_invoice_transition(I.void, I.paid, by_provider=True)


ALLOWED_JOB_MOVES = {
    (J.unscheduled, J.scheduled),
    (J.unscheduled, J.cancelled),
    (J.scheduled, J.unscheduled),
    (J.scheduled, J.on_the_way),
    (J.scheduled, J.in_progress),
    (J.scheduled, J.cancelled),
    (J.on_the_way, J.scheduled),
    (J.on_the_way, J.in_progress),
    (J.on_the_way, J.cancelled),
    (J.in_progress, J.completed),
    (J.in_progress, J.cancelled),
    (J.cancelled, J.unscheduled),
}


@pytest.mark.parametrize("current,target", list(itertools.product(J, J)))
def test_job_transitions(current, target):
    if (current, target) in ALLOWED_JOB_MOVES:
        check_job_transition(current, target)
    else:
        with pytest.raises(TransitionError):
            check_job_transition(current, target)


def test_refused_job_move_says_what_is_possible():
    with pytest.raises(TransitionError, match="next it can be cancelled, completed"):
        check_job_transition(J.in_progress, J.scheduled)


ALLOWED_QUOTE_MOVES = {
    (Q.draft, Q.sent),
    (Q.sent, Q.accepted),
    (Q.sent, Q.declined),
    (Q.sent, Q.expired),
    (Q.expired, Q.sent),
    (Q.declined, Q.draft),
}


@pytest.mark.parametrize("current,target", list(itertools.product(Q, Q)))
def test_quote_transitions(current, target):
    if (current, target) in ALLOWED_QUOTE_MOVES:
        check_quote_transition(current, target)
    else:
        with pytest.raises(TransitionError):
            check_quote_transition(current, target)
