"""The catalogue of automations from the spec's "Complete Automation List".

Each company switches these on one by one in Settings → Automations; none runs until it is switched on,
and a workflow reads the switch at the moment it acts.
"""

from dataclasses import dataclass

from models.enums import PlanTier, RiskLevel


@dataclass(frozen=True)
class Automation:
    key: str
    name: str
    description: str
    plan: PlanTier
    risk: RiskLevel


_S, _C, _O, _X = PlanTier.solo, PlanTier.crew, PlanTier.ops, PlanTier.scale
_LOW, _MED, _HIGH = RiskLevel.low, RiskLevel.medium, RiskLevel.high

CATALOGUE: tuple[Automation, ...] = (
    Automation(
        "send_omw_texts",
        "On-My-Way SMS",
        "Texts the customer a live tracking link the moment a job moves to On the Way.",
        _S,
        _HIGH,
    ),
    Automation(
        "send_appointment_reminders",
        "Appointment Reminders",
        "SMS reminders 24 hours and 1 hour before each appointment.",
        _S,
        _HIGH,
    ),
    Automation(
        "send_job_scheduled_sms",
        "Job Scheduled SMS",
        "Confirms the appointment date, time and technician by text.",
        _S,
        _HIGH,
    ),
    Automation(
        "send_job_completed_sms",
        "Job Completed SMS",
        "Texts the customer when the job is done, with a payment link.",
        _S,
        _HIGH,
    ),
    Automation(
        "send_job_assigned_sms",
        "Job Assigned SMS",
        "Texts the technician when they are assigned to a job.",
        _S,
        _LOW,
    ),
    Automation(
        "send_review_requests",
        "Review Requests (email)",
        "Asks for a review by email about 2 hours after completion, unless the customer seems unhappy.",
        _S,
        _MED,
    ),
    Automation(
        "send_sms_review_requests",
        "Review Requests (SMS)",
        "Asks for a review by text about 2 hours after completion, unless the customer seems unhappy.",
        _S,
        _HIGH,
    ),
    Automation(
        "quote_followup",
        "Quote Follow-Up Sequence",
        "A friendly reminder 2 days after a quote is sent and a nudge at 5 days, weekdays "
        "at 9:30 AM; each at most once per quote.",
        _S,
        _MED,
    ),
    Automation(
        "send_text_to_pay_sms",
        "Text-to-Pay SMS",
        "Texts the payment link when an invoice is sent.",
        _S,
        _HIGH,
    ),
    Automation(
        "send_receipt_sms", "Receipt SMS", "Texts a payment confirmation when the customer pays.", _S, _MED
    ),
    Automation(
        "auto_charge_card_on_file",
        "Auto-Charge Card on File",
        "Charges the saved card when a job is completed, if the customer opted in.",
        _S,
        _HIGH,
    ),
    Automation(
        "google_calendar_sync", "Google Calendar Sync", "Keeps jobs in step with Google Calendar.", _S, _LOW
    ),
    Automation(
        "quickbooks_sync",
        "QuickBooks Sync",
        "Sends customers, invoices and payments to QuickBooks Online as they change, and runs the full "
        "two-way sync every hour.",
        _C,
        _MED,
    ),
    Automation("email_campaigns", "Email Campaigns", "Required for bulk marketing campaigns.", _C, _HIGH),
    Automation(
        "receipt_ocr", "Receipt OCR", "AI reads vendor, amount and date from receipt photos.", _O, _LOW
    ),
    Automation(
        "auto_checklist_generation",
        "Auto Checklist",
        "AI writes a service checklist for each new job.",
        _O,
        _LOW,
    ),
    Automation(
        "supplier_reorder",
        "Supplier Reorder",
        "Orders from the supplier (PDF by email) when stock falls to its reorder point.",
        _O,
        _HIGH,
    ),
    Automation(
        "autonomous_parts_ordering",
        "Auto Parts Ordering",
        "Orders the parts booked jobs need and stock does not cover, before the technician arrives.",
        _O,
        _HIGH,
    ),
    Automation(
        "agentic_scheduling",
        "Agentic Scheduling",
        "Assigns the best technician (skills, distance, workload) when a customer self-schedules.",
        _O,
        _MED,
    ),
    Automation(
        "ai_sms_to_booking", "SMS-to-Booking", "AI turns inbound texts into leads and bookings.", _X, _MED
    ),
    Automation(
        "ai_booking_assist",
        "AI Booking Assist",
        "An AI receptionist answers calls and books appointments.",
        _X,
        _HIGH,
    ),
    Automation("send_auto_responses", "Auto SMS Responses", "AI replies to customer texts.", _X, _HIGH),
    Automation(
        "ghost_dispatch", "Ghost Dispatch", "AI dispatches technicians to new jobs on its own.", _X, _HIGH
    ),
    Automation(
        "ai_photo_to_quote",
        "AI Photo-to-Quote",
        "AI drafts a quote from a photo the customer texts in.",
        _X,
        _MED,
    ),
    Automation("bulk_messaging", "Bulk Messaging", "Required for broadcast messages to the team.", _O, _MED),
    Automation("voice_log", "Voice Call Logging", "Records and transcribes inbound calls.", _S, _LOW),
)

BY_KEY = {a.key: a for a in CATALOGUE}
