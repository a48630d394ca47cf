"""The demo company, so a fresh install has something to explore: `await seed_demo(sessions)`.

It creates "Lone Star Plumbing & Air" (Austin, TX; Ops plan; 8.25 % sales tax; card on file on) with:
- an owner, an office manager and four technicians with skills, pay rates and homes around the metro;
  every one signs in with DEMO_PASSWORD;
- 25 customers from Georgetown to Kyle, about half with SMS consent and two with a card on file, three
  properties and five pieces of equipment;
- a 16-service plumbing/HVAC catalogue, two suppliers and ten stock items (three below reorder point);
- quotes, jobs and invoices in every status (one quote with Good/Better/Best tiers and add-ons), jobs
  spread over the last and next week in the company's time zone, payments for the paid invoices;
- six leads at different stages.

The data is fixed: only the dates move, relative to the day it is seeded. Nothing is written when a
company with the demo name already exists.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import groupby
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.security import hash_password
from models.catalog import Service, ServicePart
from models.company import Company, User
from models.customers import Customer, Equipment, Property
from models.enums import (
    InvoiceStatus,
    JobStatus,
    LeadStatus,
    OptionGroup,
    PaymentMethod,
    PlanTier,
    QuoteStatus,
    Role,
)
from models.inventory import InventoryItem, Supplier
from models.invoices import Invoice, Payment
from models.jobs import Job
from models.leads import Lead
from models.line_items import InvoiceLineItem, JobLineItem, QuoteLineItem
from models.logs import AutomationSetting
from models.money import compute_totals
from models.quotes import QUOTE_VALID_DAYS, Quote
from models.time import company_now

DEMO_COMPANY_NAME = "Lone Star Plumbing & Air"
DEMO_OWNER_EMAIL = "owner@demo.nexjob.dev"
DEMO_PASSWORD = "nexjob-demo-2026"

SKILLS = ["plumbing", "water_heaters", "drains", "hvac", "refrigeration", "gas"]

COMPANY = {
    "name": DEMO_COMPANY_NAME,
    "timezone": "America/Chicago",
    "plan": PlanTier.ops,
    "tax_rate_bps": 825,
    "brand_colour": "#bf3a2b",
    "phone": "+15125550199",
    "sms_number": "+15125550100",
    "card_on_file_enabled": True,
    "review_url": "https://g.page/r/lone-star-plumbing-and-air/review",
    "business_hours": {
        **{day: {"open": "08:00", "close": "17:00"} for day in ("mon", "tue", "wed", "thu", "fri")},
        "sat": {"open": "09:00", "close": "13:00"},
        "sun": None,
    },
}

# Switched on in the demo so a quote's journey, a job's day, the parts loop and (once connected) the
# QuickBooks sync (Workflows 1, 3–6, 8, 9) run; a new company starts with every automation off.
DEMO_AUTOMATIONS = (
    "quote_followup",
    "agentic_scheduling",
    "send_job_scheduled_sms",
    "send_job_assigned_sms",
    "send_appointment_reminders",
    "send_omw_texts",
    "send_job_completed_sms",
    "auto_charge_card_on_file",
    "send_receipt_sms",
    "send_text_to_pay_sms",
    "send_sms_review_requests",
    "send_review_requests",
    "supplier_reorder",
    "autonomous_parts_ordering",
    "quickbooks_sync",
)

# email, name, role, phone, hourly rate, skills, home address, home lat, home lng
USERS = [
    (DEMO_OWNER_EMAIL, "Dale Whitmore", Role.owner, "+15125550101", 0, [], None, None, None),
    ("manager@demo.nexjob.dev", "Teresa Vega", Role.manager, "+15125550102", 0, [], None, None, None),
    ("tech1@demo.nexjob.dev", "Marcus Delgado", Role.technician, "+15125550103", 4800,
     ["plumbing", "water_heaters", "gas"], "1305 Gilleland Creek Dr, Pflugerville", 30.4520, -97.6050),
    ("tech2@demo.nexjob.dev", "Hannah Brooks", Role.technician, "+15125550104", 4500,
     ["hvac", "refrigeration"], "704 Cypress Creek Rd, Cedar Park", 30.5160, -97.8370),
    ("tech3@demo.nexjob.dev", "DeShawn Carter", Role.technician, "+15125550105", 3200,
     ["drains", "plumbing"], "8707 Manchaca Rd, Austin", 30.1890, -97.8150),
    ("tech4@demo.nexjob.dev", "Priya Raman", Role.technician, "+15125550106", 5200,
     ["hvac", "refrigeration", "gas", "water_heaters"], "2210 Red Bud Ln, Round Rock", 30.5320, -97.6550),
]  # fmt: skip

# name, email, phone, street address, city, lat, lng, how SMS consent was given (None: no consent)
CUSTOMERS = [
    ("Maria Gonzalez", "maria.gonzalez@example.com", "+15125550120", "4512 Avenue F", "Austin",
     30.3109, -97.7262, "web_form"),
    ("James Whitfield", "jwhitfield@example.net", "+15125550121", "2107 Alameda Dr", "Austin",
     30.2443, -97.7428, None),
    ("Linh Nguyen", "linh.nguyen@example.com", "+15125550122", "1811 Aldrich St", "Austin",
     30.2987, -97.7051, "office"),
    ("Robert Hayes", "rhayes@example.com", "+15125550123", "6203 Shoal Creek Blvd", "Austin",
     30.3405, -97.7480, None),
    ("Ashley Morales", "ashley.morales@example.com", "+15125550124", "1502 Oak Creek Dr", "Round Rock",
     30.5190, -97.6655, "web_form"),
    ("Tyler Brennan", "tyler.brennan@example.net", "+15125550125", "905 Hidden Glen Dr", "Round Rock",
     30.4968, -97.6921, None),
    ("Fatima Siddiqui", "fatima.s@example.com", "+15125550126", "1204 Windermere Dr", "Pflugerville",
     30.4462, -97.6134, "web_form"),
    ("Carlos Ramirez", "carlos.ramirez@example.com", "+15125550127", "310 Railroad Ave", "Pflugerville",
     30.4389, -97.6197, None),
    ("Megan O'Connor", "megan.oconnor@example.com", "+15125550128", "1608 Ranch Trails Rd", "Cedar Park",
     30.5128, -97.8304, "office"),
    ("David Kim", "david.kim@example.net", "+15125550129", "402 Buttercup Creek Blvd", "Cedar Park",
     30.4987, -97.8141, "web_form"),
    ("Rivera Rentals LLC", "office@riverarentals.example", "+15125550130", "1101 S Austin Ave", "Georgetown",
     30.6285, -97.6775, "office"),
    ("Susan Whitaker", "susan.whitaker@example.com", "+15125550131", "2714 Ravenwood Dr", "Georgetown",
     30.6790, -97.7190, None),
    ("Brandon Lee", "brandon.lee@example.com", "+15125550132", "1609 Bagdad Rd", "Leander",
     30.5790, -97.8570, "web_form"),
    ("Olivia Martin", "olivia.martin@example.net", "+15125550133", "2204 Hero Way", "Leander",
     30.5952, -97.8203, None),
    ("Jorge Castillo", "jorge.castillo@example.com", "+15125550134", "412 Center St", "Kyle",
     29.9891, -97.8772, "office"),
    ("Rachel Stein", "rachel.stein@example.com", "+15125550135", "118 Plum Creek Dr", "Kyle",
     29.9780, -97.8650, None),
    ("Anthony Russo", "anthony.russo@example.com", "+15125550136", "503 Main St", "Buda",
     30.0841, -97.8414, "web_form"),
    ("Grace Thompson", "grace.thompson@example.net", "+15125550137", "2301 Garlic Creek Dr", "Buda",
     30.0690, -97.8560, None),
    ("Tacos Lupita", "manager@tacoslupita.example", "+15125550138", "1910 E Cesar Chavez St", "Austin",
     30.2560, -97.7210, "office"),
    ("Kevin Patel", "kevin.patel@example.com", "+15125550139", "11904 Jollyville Rd", "Austin",
     30.4270, -97.7560, None),
    ("Emily Foster", "emily.foster@example.com", "+15125550140", "6301 La Crosse Ave", "Austin",
     30.1900, -97.8780, "web_form"),
    ("Derek Johnson", "derek.johnson@example.net", "+15125550141", "1203 E 12th St", "Austin",
     30.2716, -97.7260, None),
    ("Sofia Herrera", "sofia.herrera@example.com", "+15125550142", "14 Lakeway Dr", "Lakeway",
     30.3640, -97.9790, "web_form"),
    ("Paul Schneider", "paul.schneider@example.com", "+15125550143", "302 East St", "Hutto",
     30.5430, -97.5460, None),
    ("Hill Country Dental", "frontdesk@hcdental.example", "+15125550144", "4301 W William Cannon Dr",
     "Austin", 30.2170, -97.8330, None),
]  # fmt: skip

CUSTOMER_NOTES = {
    "Maria Gonzalez": "Gate code 4471. Friendly dog in the back yard.",
    "Rivera Rentals LLC": "Landlord: bill the LLC, call the tenant to get in. Net 30.",
    "Tacos Lupita": "Kitchen open 7 am to 10 pm; service before 10:30 am or after 2 pm.",
    "Hill Country Dental": "Check in at the front desk; parking behind the building.",
}

# customer, Stripe customer id, payment method id
CARDS_ON_FILE = [
    ("David Kim", "cus_demoDKim0001", "pm_demoDKim0001"),
    ("Emily Foster", "cus_demoEFos0002", "pm_demoEFos0002"),
]

# customer, property name, address, lat, lng, building type, square feet
PROPERTIES = [
    ("Rivera Rentals LLC", "Church St duplex", "803 S Church St", 30.6310, -97.6760, "duplex", 1850),
    ("Rivera Rentals LLC", "Ash St rental", "1504 Ash St", 30.6402, -97.6712, "single_family", 1320),
    ("Tacos Lupita", "Restaurant", "1910 E Cesar Chavez St", 30.2560, -97.7210, "restaurant", 2400),
]  # fmt: skip

# customer, property or None, name, kind, serial number, installed on, warranty years, months between services
EQUIPMENT = [
    ("Susan Whitaker", None, "40-gal gas water heater", "water heater", "RH-40G-1603-2281",
     date(2016, 3, 8), 6, 12),
    ("David Kim", None, "3-ton split AC (Carrier)", "HVAC unit", "CA-24ACC636-1907-5512",
     date(2019, 6, 20), 10, 6),
    ("Rivera Rentals LLC", "Church St duplex", "Water heater, unit 1", "water heater", "AO-50G-2009-7731",
     date(2020, 9, 14), 6, 12),
    ("Tacos Lupita", "Restaurant", "100-gal commercial water heater", "water heater", "BR-100C-2101-0094",
     date(2021, 1, 11), 6, 6),
]  # fmt: skip

# key, name, description, price, taxable, minutes, required skill
SERVICES = [
    ("plumbing_diag", "Plumbing diagnostic visit", "Trip charge and up to an hour finding the problem.",
     8900, False, 60, "plumbing"),
    ("drain_clear", "Drain clearing", "Cable a sink, tub or shower drain; labour only.",
     18900, False, 60, "drains"),
    ("camera", "Sewer camera inspection", "Camera run of the main line with a recorded video.",
     27500, False, 60, "drains"),
    ("faucet", "Faucet replacement", "Remove the old faucet and install a standard new one, supplied.",
     28500, True, 90, "plumbing"),
    ("disposal", "Garbage disposal replacement", "1/2 HP disposal, supplied and installed.",
     36500, True, 90, "plumbing"),
    ("leak_sensor", "Leak sensor with auto shut-off", "Wi-Fi leak sensor and motorised main shut-off valve.",
     44500, True, 60, "plumbing"),
    ("wh_flush", "Water heater flush", "Flush sediment, check the anode rod and relief valve; labour only.",
     16900, False, 60, "water_heaters"),
    ("wh_40", "40-gal gas water heater, installed", "Standard tank, 6-year warranty, code upgrades included.",
     179500, True, 240, "water_heaters"),
    ("wh_50", "50-gal high-efficiency water heater, installed", "High-efficiency tank, 9-year warranty.",
     229500, True, 240, "water_heaters"),
    ("wh_tankless", "Tankless gas water heater, installed", "Condensing tankless unit, 12-year warranty.",
     449500, True, 360, "water_heaters"),
    ("expansion_tank", "Thermal expansion tank", "2-gal expansion tank, required by code on closed systems.",
     29500, True, 45, "water_heaters"),
    ("gas_leak", "Gas leak detection and repair", "Pressure test, locate and repair one leak.",
     32500, True, 120, "gas"),
    ("ac_tuneup", "AC tune-up", "Clean coils, check charge and electrical, up to 5 tons; labour only.",
     13900, False, 60, "hvac"),
    ("capacitor", "AC capacitor replacement", "Dual run capacitor, supplied and installed.",
     24500, True, 45, "hvac"),
    ("refrigerant", "R-410A refrigerant (per lb)", "Recharge after leak check.",
     11500, True, 30, "refrigeration"),
    ("thermostat", "Smart thermostat, installed", "Wi-Fi thermostat, supplied, installed and set up.",
     32500, True, 60, "hvac"),
]  # fmt: skip

# name, email, phone, account number, preferred, notes
SUPPLIERS = [
    ("Hill Country Plumbing Supply", "orders@hcplumbingsupply.example", "+15125550150", "HCPS-22817", True,
     "Will-call counter on Burnet Rd opens at 6:30 am."),
    ("Capital Air Distributors", "sales@capitalair.example", "+15125550151", "CAD-40912", False,
     "Next-day delivery on orders placed before 3 pm."),
]  # fmt: skip

_PLUMBING, _AIR = "Hill Country Plumbing Supply", "Capital Air Distributors"
# sku, name, on hand, reorder point, reorder quantity, par level, unit cost, price, supplier
INVENTORY = [
    ("WH-40G-NG", "40-gal natural gas water heater", 2, 2, 2, 4, 68000, 98000, _PLUMBING),
    ("WH-50G-HE", "50-gal high-efficiency water heater", 1, 2, 2, 4, 112000, 159000, _PLUMBING),
    ("EXP-2G", "2-gal thermal expansion tank", 6, 4, 6, 10, 4200, 6900, _PLUMBING),
    ("FCT-PD-SS", "Kitchen faucet, stainless pull-down", 3, 4, 6, 10, 11800, 18900, _PLUMBING),
    ("DSP-050", "1/2 HP garbage disposal", 4, 2, 4, 6, 9800, 15900, _PLUMBING),
    ("LS-VALVE-1", "Leak sensor shut-off valve kit", 3, 2, 4, 6, 21000, 32900, _PLUMBING),
    ("CAP-45-5", "45/5 uF dual run capacitor", 12, 10, 20, 30, 1450, 4500, _AIR),
    ("R410A-25", "R-410A refrigerant, 25 lb cylinder", 1, 2, 3, 5, 21500, 34500, _AIR),
    ("TSTAT-WIFI", "Smart Wi-Fi thermostat", 5, 3, 5, 8, 14500, 22900, _AIR),
    ("FLT-16251", "16x25x1 pleated air filter", 48, 24, 48, 72, 450, 1500, _AIR),
]  # fmt: skip

# The parts a service usually uses (auto parts ordering stocks up for booked jobs): service, sku, quantity
SERVICE_PARTS = [
    ("faucet", "FCT-PD-SS", 1),
    ("disposal", "DSP-050", 1),
    ("leak_sensor", "LS-VALVE-1", 1),
    ("wh_40", "WH-40G-NG", 1),
    ("wh_50", "WH-50G-HE", 1),
    ("expansion_tank", "EXP-2G", 1),
    ("ac_tuneup", "FLT-16251", 2),
    ("capacitor", "CAP-45-5", 1),
    ("thermostat", "TSTAT-WIFI", 1),
]


@dataclass(frozen=True)
class Line:
    service: str
    quantity: str = "1"
    group: OptionGroup | None = None  # a Good/Better/Best tier
    addon: bool = False
    selected: bool = True


GOOD, BETTER, BEST = OptionGroup.good, OptionGroup.better, OptionGroup.best


@dataclass(frozen=True)
class QuoteSeed:
    customer: str
    title: str
    status: QuoteStatus
    created_days_ago: int
    lines: list[Line]
    chosen: OptionGroup | None = None
    notes: str | None = None


QUOTES = [
    QuoteSeed("Linh Nguyen", "Smart thermostats, up and downstairs", QuoteStatus.draft, 1,
              [Line("thermostat", "2")]),
    QuoteSeed("Kevin Patel", "Leak protection", QuoteStatus.draft, 0,
              [Line("leak_sensor"), Line("wh_flush", addon=True)]),
    QuoteSeed("Ashley Morales", "Water heater replacement options", QuoteStatus.sent, 3,
              [Line("wh_40", group=GOOD), Line("wh_50", group=BETTER), Line("wh_tankless", group=BEST),
               Line("expansion_tank", addon=True), Line("leak_sensor", addon=True, selected=False)],
              notes="Current tank is 14 years old and leaking at the base."),
    QuoteSeed("Derek Johnson", "Kitchen and bath drain service", QuoteStatus.sent, 5,
              [Line("camera"), Line("drain_clear", "2")]),
    QuoteSeed("Maria Gonzalez", "Water heater replacement", QuoteStatus.accepted, 14,
              [Line("wh_40", group=GOOD), Line("wh_50", group=BETTER), Line("wh_tankless", group=BEST),
               Line("expansion_tank", addon=True), Line("leak_sensor", addon=True, selected=False)],
              chosen=BETTER),
    QuoteSeed("David Kim", "AC tune-up and capacitor", QuoteStatus.accepted, 6,
              [Line("ac_tuneup"), Line("capacitor")]),
    QuoteSeed("Tacos Lupita", "Gas line leak repair", QuoteStatus.accepted, 3,
              [Line("plumbing_diag"), Line("gas_leak")],
              notes="Smell of gas near the fryer line; gas company red-tagged the meter."),
    QuoteSeed("Susan Whitaker", "Tankless conversion", QuoteStatus.declined, 20,
              [Line("wh_tankless"), Line("expansion_tank")]),
    QuoteSeed("Olivia Martin", "Whole-home leak protection", QuoteStatus.declined, 12,
              [Line("leak_sensor", "2"), Line("wh_flush", addon=True)]),
    QuoteSeed("Anthony Russo", "Kitchen faucet and disposal", QuoteStatus.expired, 48,
              [Line("faucet"), Line("disposal")]),
    QuoteSeed("Paul Schneider", "Upstairs AC refresh", QuoteStatus.expired, 75,
              [Line("ac_tuneup"), Line("refrigerant", "2"), Line("thermostat", addon=True)]),
]  # fmt: skip


@dataclass(frozen=True)
class JobSeed:
    customer: str
    title: str
    status: JobStatus
    lines: list[Line] = field(default_factory=list)  # left empty when the job comes from a quote
    workday: int | None = None  # weekdays from today, negative in the past; None: not scheduled
    start: str | None = None  # local time
    quote: str | None = None  # title of the accepted quote it came from
    property: str | None = None
    description: str | None = None


J = JobStatus
# Today's jobs sit between 09:00 and 13:00, inside opening hours on a Saturday too.
JOBS = [
    JobSeed("Maria Gonzalez", "Water heater replacement", J.completed, workday=-4, start="08:00",
            quote="Water heater replacement"),
    JobSeed("Rivera Rentals LLC", "Garbage disposal jammed, unit 2", J.completed, [Line("disposal")],
            workday=-5, start="08:00", property="Church St duplex",
            description="Tenant: Alicia, 512-555-0188."),
    JobSeed("Carlos Ramirez", "Kitchen sink backing up", J.completed, [Line("drain_clear")],
            workday=-3, start="13:00"),
    JobSeed("Megan O'Connor", "AC blowing warm air", J.completed,
            [Line("ac_tuneup"), Line("capacitor"), Line("refrigerant", "2")], workday=-2, start="09:00"),
    JobSeed("James Whitfield", "Kitchen faucet dripping", J.completed, [Line("faucet")],
            workday=-1, start="10:00"),
    JobSeed("Brandon Lee", "Annual AC tune-up", J.completed, [Line("ac_tuneup")], workday=-1, start="14:00"),
    JobSeed("Susan Whitaker", "Bathroom sink clog", J.cancelled, [Line("drain_clear")],
            workday=-2, start="15:00", description="Customer cleared it herself and cancelled."),
    JobSeed("Rachel Stein", "Shower draining slowly", J.in_progress, [Line("drain_clear"), Line("camera")],
            workday=0, start="09:00"),
    JobSeed("Tacos Lupita", "Gas line leak repair", J.in_progress, workday=0, start="09:00",
            quote="Gas line leak repair", property="Restaurant"),
    JobSeed("Fatima Siddiqui", "Water heater flush", J.on_the_way, [Line("wh_flush")],
            workday=0, start="10:30"),
    JobSeed("Grace Thompson", "Upstairs AC not cooling", J.on_the_way,
            [Line("capacitor"), Line("refrigerant", "2")], workday=0, start="11:00"),
    JobSeed("Hill Country Dental", "Break room faucet replacement", J.scheduled, [Line("faucet")],
            workday=0, start="11:30"),
    JobSeed("Tyler Brennan", "Sewer camera inspection before closing", J.scheduled, [Line("camera")],
            workday=1, start="09:00"),
    JobSeed("David Kim", "AC tune-up and capacitor", J.scheduled, workday=2, start="13:00",
            quote="AC tune-up and capacitor"),
    JobSeed("Jorge Castillo", "Smart thermostat install", J.scheduled, [Line("thermostat")],
            workday=3, start="08:00"),
    JobSeed("Ashley Morales", "AC tune-up", J.cancelled, [Line("ac_tuneup")], workday=4, start="09:00",
            description="Customer is selling the house; will call back."),
    JobSeed("Emily Foster", "Water heater flush", J.scheduled, [Line("wh_flush")], workday=5, start="10:00"),
    JobSeed("Sofia Herrera", "Outdoor hose bib leaking", J.unscheduled, [Line("plumbing_diag")],
            description="Leaks only when the hose is on; customer is flexible on timing."),
    JobSeed("Robert Hayes", "Water heater pilot won't stay lit", J.unscheduled, [Line("plumbing_diag")]),
]  # fmt: skip


@dataclass(frozen=True)
class InvoiceSeed:
    customer: str
    status: InvoiceStatus
    job: str | None = None  # title of the completed job it bills; its lines are copied
    lines: list[Line] = field(default_factory=list)
    issued_days_ago: int | None = None  # when not billing a job (job invoices are issued the day of the job)
    paid_after_days: int = 0
    method: PaymentMethod | None = None
    reference: str | None = None
    notes: str | None = None


I = InvoiceStatus  # noqa: E741
INVOICES = [
    InvoiceSeed("Maria Gonzalez", I.paid, job="Water heater replacement", paid_after_days=2,
                method=PaymentMethod.check, reference="Check #2417"),
    InvoiceSeed("Rivera Rentals LLC", I.viewed, job="Garbage disposal jammed, unit 2"),
    InvoiceSeed("Carlos Ramirez", I.paid, job="Kitchen sink backing up", method=PaymentMethod.cash),
    InvoiceSeed("Megan O'Connor", I.viewed, job="AC blowing warm air"),
    InvoiceSeed("James Whitfield", I.sent, job="Kitchen faucet dripping"),
    InvoiceSeed("Brandon Lee", I.draft, job="Annual AC tune-up"),
    InvoiceSeed("Hill Country Dental", I.overdue, lines=[Line("drain_clear"), Line("camera")],
                issued_days_ago=52),
    InvoiceSeed("Paul Schneider", I.overdue, lines=[Line("ac_tuneup")], issued_days_ago=44),
    InvoiceSeed("Susan Whitaker", I.paid, lines=[Line("wh_flush")], issued_days_ago=25, paid_after_days=10,
                method=PaymentMethod.check, reference="Check #1093"),
    InvoiceSeed("Robert Hayes", I.void, lines=[Line("faucet")], issued_days_ago=20,
                notes="Billed to the wrong customer; reissued."),
    InvoiceSeed("Grace Thompson", I.void, lines=[Line("wh_flush")], issued_days_ago=9,
                notes="Covered by the maintenance plan."),
    InvoiceSeed("Olivia Martin", I.sent, lines=[Line("plumbing_diag")], issued_days_ago=8),
    InvoiceSeed("Kevin Patel", I.draft, lines=[Line("plumbing_diag")], issued_days_ago=0),
]  # fmt: skip

# name, email, phone, address, source, notes, status, score, customer it became, days ago
LEADS = [
    ("Nicole Barrett", "nicole.barrett@example.com", "+15125550160", "2810 Pecan St, Pflugerville", "website",
     "Wants a price on a tankless water heater.", LeadStatus.new, 72, None, 0),
    ("Omar Haddad", None, "+15125550161", "9 Oak Hollow Dr, Georgetown", "sms",
     "Texted about a leaking outdoor spigot.", LeadStatus.new, 45, None, 1),
    ("Chris Walker", "chris.walker@example.net", "+15125550162", "1400 W Parmer Ln, Austin", "phone",
     "Upstairs AC short-cycling; called twice.", LeadStatus.contacted, 60, None, 4),
    ("Harper Property Group", "leasing@harperpg.example", "+15125550163", "500 Round Rock Ave, Round Rock",
     "referral", "Manages six rentals; asked about a maintenance plan.", LeadStatus.qualified, 88, None, 9),
    ("Sofia Herrera", "sofia.herrera@example.com", "+15125550142", "14 Lakeway Dr, Lakeway", "website",
     "Asked about a water heater flush; became a customer.", LeadStatus.won, 80, "Sofia Herrera", 140),
    ("Ben Ortiz", "ben.ortiz@example.com", "+15125550164", "77 Creekside Dr, Buda", "website",
     "Went with a cheaper quote for a water softener.", LeadStatus.lost, 20, None, 30),
]  # fmt: skip

_SEED_LOCK = int.from_bytes(hashlib.sha256(b"nexjob demo seed").digest()[:8], "big", signed=True)


@dataclass
class Demo:
    """What the builders share: the company, its clock and the rows made so far."""

    company: Company
    now: datetime  # company-local
    users: dict[str, User] = field(default_factory=dict)  # by email
    customers: dict[str, Customer] = field(default_factory=dict)  # by name
    properties: dict[str, Property] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)  # by key
    quotes: dict[str, Quote] = field(default_factory=dict)  # by title
    quote_lines: dict[str, list[QuoteLineItem]] = field(default_factory=dict)
    jobs: dict[str, Job] = field(default_factory=dict)  # by title
    job_lines: dict[str, list[JobLineItem]] = field(default_factory=dict)

    @property
    def today(self) -> date:
        return self.now.date()

    @property
    def company_id(self):
        return self.company.id

    @property
    def technicians(self) -> list[User]:
        return [u for u in self.users.values() if u.role == Role.technician]

    def at(self, day: date, hhmm: str) -> datetime:
        """A local wall-clock time on `day`, as an aware UTC datetime."""
        local = datetime.combine(day, time.fromisoformat(hhmm), tzinfo=ZoneInfo(self.company.timezone))
        return local.astimezone(UTC)

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.now.tzinfo).date()

    def past(self, moment: datetime) -> datetime:
        return min(moment, self.now.astimezone(UTC))


def workday(today: date, offset: int) -> date:
    """The weekday `offset` weekdays from `today` (today itself for 0, even at a weekend)."""
    day, step = today, (1 if offset > 0 else -1)
    for _ in range(abs(offset)):
        day += timedelta(days=step)
        while day.weekday() >= 5:
            day += timedelta(days=step)
    return day


def years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def build_users(demo: Demo, password_hash: str) -> list[User]:
    for email, name, role, phone, rate, skills, home, lat, lng in USERS:
        demo.users[email] = User(
            company_id=demo.company_id,
            email=email,
            name=name,
            role=role,
            phone=phone,
            hourly_rate_cents=rate,
            skills=skills,
            home_address=home,
            home_lat=lat,
            home_lng=lng,
            password_hash=password_hash,
        )
    return list(demo.users.values())


def build_customers(demo: Demo) -> list[Customer]:
    cards = {name: (customer_id, method_id) for name, customer_id, method_id in CARDS_ON_FILE}
    for i, (name, email, phone, address, city, lat, lng, consent) in enumerate(CUSTOMERS):
        customer = Customer(
            company_id=demo.company_id,
            name=name,
            email=email,
            phone=phone,
            address=address,
            city=city,
            lat=lat,
            lng=lng,
            notes=CUSTOMER_NOTES.get(name),
            created_at=demo.past(demo.at(demo.today - timedelta(days=400 - 12 * i), "10:00")),
        )
        if consent:
            customer.sms_consent = True
            customer.sms_consent_at = customer.created_at
            customer.sms_consent_source = consent
        if name in cards:
            customer.stripe_customer_id, customer.card_payment_method_id = cards[name]
            customer.card_brand, customer.card_last4, customer.auto_charge_consent = "visa", "4242", True
        demo.customers[name] = customer
    return list(demo.customers.values())


def build_properties(demo: Demo) -> list[Property]:
    for customer, name, address, lat, lng, building_type, square_feet in PROPERTIES:
        demo.properties[name] = Property(
            company_id=demo.company_id,
            customer_id=demo.customers[customer].id,
            name=name,
            address=address,
            lat=lat,
            lng=lng,
            building_type=building_type,
            square_feet=square_feet,
        )
    return list(demo.properties.values())


def build_equipment(demo: Demo) -> list[Equipment]:
    installed = demo.local_date(demo.jobs["Water heater replacement"].scheduled_start)
    rows = [
        Equipment(
            company_id=demo.company_id,
            customer_id=demo.customers["Maria Gonzalez"].id,
            name="50-gal high-efficiency water heater",
            kind="water heater",
            serial_number="RH-50HE-NEW-0417",
            installed_on=installed,
            warranty_until=years_later(installed, 9),
            maintenance_interval_months=12,
        )
    ]
    for customer, prop, name, kind, serial, installed_on, warranty_years, interval in EQUIPMENT:
        rows.append(
            Equipment(
                company_id=demo.company_id,
                customer_id=demo.customers[customer].id,
                property_id=demo.properties[prop].id if prop else None,
                name=name,
                kind=kind,
                serial_number=serial,
                installed_on=installed_on,
                warranty_until=years_later(installed_on, warranty_years),
                maintenance_interval_months=interval,
            )
        )
    return rows


def build_catalogue(demo: Demo) -> list[Service]:
    for key, name, description, price, taxable, minutes, skill in SERVICES:
        demo.services[key] = Service(
            company_id=demo.company_id,
            name=name,
            description=description,
            price_cents=price,
            taxable=taxable,
            default_duration_minutes=minutes,
            required_skill=skill,
        )
    return list(demo.services.values())


def build_suppliers(demo: Demo) -> dict[str, Supplier]:
    return {
        name: Supplier(
            company_id=demo.company_id,
            name=name,
            email=email,
            phone=phone,
            account_number=account,
            preferred=preferred,
            notes=notes,
        )
        for name, email, phone, account, preferred, notes in SUPPLIERS
    }


def build_inventory(demo: Demo, suppliers: dict[str, Supplier]) -> list[InventoryItem]:
    return [
        InventoryItem(
            company_id=demo.company_id,
            sku=sku,
            name=name,
            quantity=on_hand,
            reorder_point=point,
            reorder_quantity=pack,
            par_level=par,
            unit_cost_cents=cost,
            price_cents=price,
            supplier_id=suppliers[supplier].id,
        )
        for sku, name, on_hand, point, pack, par, cost, price, supplier in INVENTORY
    ]


def build_service_parts(demo: Demo, items: list[InventoryItem]) -> list[ServicePart]:
    by_sku = {item.sku: item for item in items}
    return [
        ServicePart(
            company_id=demo.company_id,
            service_id=demo.services[service].id,
            inventory_item_id=by_sku[sku].id,
            quantity=quantity,
        )
        for service, sku, quantity in SERVICE_PARTS
    ]


def line_rows(demo: Demo, model, lines: list[Line], **parent) -> list:
    rows = []
    for position, line in enumerate(lines):
        service = demo.services[line.service]
        rows.append(
            model(
                company_id=demo.company_id,
                service_id=service.id,
                description=service.name,
                quantity=Decimal(line.quantity),
                unit_price_cents=service.price_cents,
                taxable=service.taxable,
                optional=line.addon or line.group is not None,
                option_group=line.group,
                selected=line.selected,
                position=position,
                **parent,
            )
        )
    return rows


def copy_lines(demo: Demo, model, source: list, counted: list[bool] | None = None, **parent) -> list:
    """The lines of a quote (those in its total) or a job, as required lines of the next document."""
    kept = [row for row, keep in zip(source, counted or [True] * len(source), strict=True) if keep]
    return [
        model(
            company_id=demo.company_id,
            service_id=row.service_id,
            description=row.description,
            quantity=row.quantity,
            unit_price_cents=row.unit_price_cents,
            taxable=row.taxable,
            position=position,
            **parent,
        )
        for position, row in enumerate(kept)
    ]


def build_quotes(demo: Demo) -> list:
    rows = []
    for seed in QUOTES:
        created = demo.past(demo.at(demo.today - timedelta(days=seed.created_days_ago), "10:00"))
        quote = Quote(
            company_id=demo.company_id,
            customer_id=demo.customers[seed.customer].id,
            title=seed.title,
            notes=seed.notes,
            status=seed.status,
            tax_rate_bps=demo.company.tax_rate_bps,
            chosen_option_group=seed.chosen,
            created_at=created,
            expires_on=demo.local_date(created) + timedelta(days=QUOTE_VALID_DAYS),
        )
        if seed.status != QuoteStatus.draft:
            quote.sent_at = demo.past(created + timedelta(hours=1))
        if seed.status == QuoteStatus.accepted:
            quote.accepted_at = demo.past(quote.sent_at + timedelta(days=2))
            quote.signed_name = seed.customer
        lines = line_rows(demo, QuoteLineItem, seed.lines, quote_id=quote.id)
        totals = compute_totals(lines, quote.tax_rate_bps, quote.chosen_option_group)
        quote.subtotal_cents, quote.tax_cents, quote.total_cents = (
            totals.subtotal_cents,
            totals.tax_cents,
            totals.total_cents,
        )
        demo.quotes[seed.title], demo.quote_lines[seed.title] = quote, lines
        rows += [quote, *lines]
    return rows


def pick_technician(
    demo: Demo, skills: set[str], start: datetime, end: datetime, booked: dict[str, list]
) -> User:
    """The least-booked technician with every skill the work needs who is free for the whole window."""
    able = [t for t in demo.technicians if skills <= set(t.skills)]
    able.sort(key=lambda t: len(booked.setdefault(t.email, [])))
    for tech in able:
        if all(end <= s or start >= e for s, e in booked[tech.email]):
            booked[tech.email].append((start, end))
            return tech
    raise ValueError(f"no technician with {sorted(skills)} is free at {start:%Y-%m-%d %H:%M}")


def build_jobs(demo: Demo) -> list:
    rows, booked = [], {}
    by_id = {service.id: service for service in demo.services.values()}
    for seed in JOBS:
        customer = demo.customers[seed.customer]
        place = demo.properties[seed.property] if seed.property else customer
        job = Job(
            company_id=demo.company_id,
            customer_id=customer.id,
            title=seed.title,
            status=seed.status,
            description=seed.description,
            address=place.address,
            city=customer.city,
            lat=place.lat,
            lng=place.lng,
            property_id=place.id if seed.property else None,
        )
        if seed.quote:
            quote = demo.quotes[seed.quote]
            counted = compute_totals(
                demo.quote_lines[seed.quote], quote.tax_rate_bps, quote.chosen_option_group
            )
            lines = copy_lines(
                demo, JobLineItem, demo.quote_lines[seed.quote], counted.counted, job_id=job.id
            )
            job.quote_id, job.created_at = quote.id, quote.accepted_at
        else:
            lines = line_rows(demo, JobLineItem, seed.lines, job_id=job.id)
        services = [by_id[line.service_id] for line in lines]
        if seed.workday is not None:
            job.scheduled_start = demo.at(workday(demo.today, seed.workday), seed.start)
            minutes = sum(s.default_duration_minutes for s in services)
            job.scheduled_end = job.scheduled_start + timedelta(minutes=minutes)
            skills = {s.required_skill for s in services if s.required_skill}
            job.assigned_user_id = pick_technician(
                demo, skills, job.scheduled_start, job.scheduled_end, booked
            ).id
        if not seed.quote:
            job.created_at = demo.past(job.scheduled_start or demo.now.astimezone(UTC)) - timedelta(days=2)
        if seed.status == JobStatus.completed:
            job.completed_at = demo.past(job.scheduled_end)
        demo.jobs[seed.title], demo.job_lines[seed.title] = job, lines
        rows += [job, *lines]
    return rows


def build_invoices(demo: Demo) -> list:
    """Invoices numbered in the order they were issued, from the company's next number on."""
    drafts = []
    for seed in INVOICES:
        job = demo.jobs[seed.job] if seed.job else None
        if job:
            issued_on = demo.local_date(job.scheduled_start)
        else:
            issued_on = demo.today - timedelta(days=seed.issued_days_ago)
        drafts.append((issued_on, seed, job))
    drafts.sort(key=lambda d: d[0])

    rows, company = [], demo.company
    manager = demo.users["manager@demo.nexjob.dev"]
    for issued_on, seed, job in drafts:
        invoice = Invoice(
            company_id=company.id,
            customer_id=demo.customers[seed.customer].id,
            number=company.next_invoice_number,
            status=seed.status,
            currency=company.currency,
            tax_rate_bps=company.tax_rate_bps,
            notes=seed.notes,
            job_id=job.id if job else None,
            quote_id=job.quote_id if job else None,
            issued_on=issued_on,
            due_on=issued_on + timedelta(days=company.invoice_due_days),
            created_at=demo.past(demo.at(issued_on, "16:00")),
        )
        company.next_invoice_number += 1
        if job:
            lines = copy_lines(demo, InvoiceLineItem, demo.job_lines[seed.job], invoice_id=invoice.id)
        else:
            lines = line_rows(demo, InvoiceLineItem, seed.lines, invoice_id=invoice.id)
        totals = compute_totals(lines, invoice.tax_rate_bps)
        invoice.subtotal_cents, invoice.tax_cents, invoice.total_cents = (
            totals.subtotal_cents,
            totals.tax_cents,
            totals.total_cents,
        )
        rows += [invoice, *lines]

        if seed.status != InvoiceStatus.draft:
            invoice.sent_at = demo.past(demo.at(issued_on, "16:30"))
        if seed.status == InvoiceStatus.viewed:
            invoice.viewed_at = demo.past(invoice.sent_at + timedelta(hours=20))
        if seed.status == InvoiceStatus.void:
            invoice.voided_at = demo.past(invoice.sent_at + timedelta(days=1))
        if seed.status == InvoiceStatus.paid:
            received_on = min(issued_on + timedelta(days=seed.paid_after_days), demo.today)
            invoice.paid_at = demo.past(demo.at(received_on, "12:00"))
            invoice.amount_paid_cents = invoice.total_cents
            rows.append(
                Payment(
                    company_id=company.id,
                    invoice_id=invoice.id,
                    amount_cents=invoice.total_cents,
                    method=seed.method,
                    received_on=received_on,
                    recorded_by_id=manager.id,
                    reference=seed.reference,
                    idempotency_key=f"seed-{invoice.id}",
                )
            )
    return rows


def build_leads(demo: Demo) -> list[Lead]:
    return [
        Lead(
            company_id=demo.company_id,
            name=name,
            email=email,
            phone=phone,
            address=address,
            source=source,
            notes=notes,
            status=status,
            score=score,
            customer_id=demo.customers[customer].id if customer else None,
            created_at=demo.past(demo.at(demo.today - timedelta(days=days_ago), "09:15")),
        )
        for name, email, phone, address, source, notes, status, score, customer, days_ago in LEADS
    ]


async def insert_parents_first(session: AsyncSession, rows: list[SQLModel]) -> None:
    """The rows have no ORM relationships to order their inserts by, so each table is flushed in turn."""
    rank = {table: i for i, table in enumerate(SQLModel.metadata.sorted_tables)}
    for _, group in groupby(sorted(rows, key=lambda row: rank[row.__table__]), key=lambda row: row.__table__):
        session.add_all(list(group))
        await session.flush()


async def seed_demo(sessions: async_sessionmaker[AsyncSession]) -> bool:
    """Create the demo company unless it exists; True when it created it."""
    async with sessions() as session, session.begin():
        # Two `make dev` seeds racing (say, against one shared DATABASE_URL) must not both create it.
        await session.exec(select(sa.func.pg_advisory_xact_lock(_SEED_LOCK)))
        # Found by its owner's login, which is unique and stays put when the company is renamed.
        existing = await session.exec(select(User.id).where(User.email == DEMO_OWNER_EMAIL))
        if existing.first() is not None:
            return False

        company = Company(**COMPANY)
        demo = Demo(company=company, now=company_now(company))
        suppliers = build_suppliers(demo)
        inventory = build_inventory(demo, suppliers)
        rows = [
            company,
            *build_users(demo, hash_password(DEMO_PASSWORD)),
            *build_customers(demo),
            *build_properties(demo),
            *build_catalogue(demo),
            *suppliers.values(),
            *inventory,
            *build_service_parts(demo, inventory),
            *build_quotes(demo),
            *build_jobs(demo),
            *build_equipment(demo),
            *build_invoices(demo),
            *build_leads(demo),
            *(AutomationSetting(company_id=company.id, key=key, enabled=True) for key in DEMO_AUTOMATIONS),
        ]
        await insert_parents_first(session, rows)
    return True
