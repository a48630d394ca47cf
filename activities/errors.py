"""Which provider answers are final. One rule for every integration: a 4xx means the request itself is
wrong and will never succeed as it is (non-retryable), except timeouts, conflicts and rate limits; 5xx,
timeouts and lost connections are passing trouble that Temporal retries."""

RETRYABLE_4XX = {408, 409, 425, 429}


def is_final(status: int | None) -> bool:
    return status is not None and 400 <= status < 500 and status not in RETRYABLE_4XX


def root_cause(error: BaseException) -> BaseException:
    """The error at the bottom of a chain: an activity's ApplicationError reaches a caller wrapped
    (UpdateFailed or WorkflowFailure → ActivityError → ApplicationError)."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return error
