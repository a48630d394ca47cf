"""Every closed set of values the product uses, in one place."""

from enum import StrEnum


class PlanTier(StrEnum):
    solo = "solo"
    crew = "crew"
    ops = "ops"
    scale = "scale"

    @property
    def rank(self) -> int:
        return list(PlanTier).index(self)


class Role(StrEnum):
    technician = "technician"
    manager = "manager"
    admin = "admin"
    owner = "owner"


class QuoteStatus(StrEnum):
    draft = "draft"
    sent = "sent"
    accepted = "accepted"
    declined = "declined"
    expired = "expired"


class JobStatus(StrEnum):
    unscheduled = "unscheduled"
    scheduled = "scheduled"
    on_the_way = "on_the_way"
    in_progress = "in_progress"
    completed = "completed"
    cancelled = "cancelled"


class InvoiceStatus(StrEnum):
    draft = "draft"
    sent = "sent"
    viewed = "viewed"
    paid = "paid"
    overdue = "overdue"
    void = "void"


class PaymentMethod(StrEnum):
    cash = "cash"
    check = "check"
    card = "card"
    ach = "ach"
    other = "other"


class OptionGroup(StrEnum):
    good = "good"
    better = "better"
    best = "best"


class LeadStatus(StrEnum):
    new = "new"
    contacted = "contacted"
    qualified = "qualified"
    won = "won"
    lost = "lost"


class PurchaseOrderStatus(StrEnum):
    draft = "draft"
    sent = "sent"
    received = "received"
    cancelled = "cancelled"


class RiskLevel(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"


class ActionOutcome(StrEnum):
    done = "done"  # a state change made on someone's behalf (a payment recorded)
    sent = "sent"  # a message or request accepted by the provider
    skipped = "skipped"
    failed = "failed"


class Channel(StrEnum):
    sms = "sms"
    email = "email"


class MessageStatus(StrEnum):
    # "pending" is written before the provider call; only the provider moves it further.
    pending = "pending"
    queued = "queued"
    sent = "sent"
    delivered = "delivered"
    failed = "failed"
    undelivered = "undelivered"


class ApiKeyScope(StrEnum):
    read = "read"
    read_write = "read_write"
