"""A company ready for the quote journey (Workflow 1), and the steps a customer takes through its pages."""

import random
import re
import uuid
from dataclasses import dataclass

import httpx

from models.company import Company, User
from models.customers import Customer
from models.logs import AutomationSetting

AUTOMATIONS = ("quote_followup", "agentic_scheduling", "send_job_scheduled_sms", "send_job_assigned_sms")
AUSTIN = (30.2672, -97.7431)


def random_phone() -> str:
    return f"+1512{random.randint(2000000, 9999999)}"


@dataclass
class Journey:
    office: httpx.AsyncClient
    customer_id: str
    customer_email: str
    customer_phone: str
    service_id: str
    company_sms: str


async def prepare(
    tenant, sessions, *, card: bool = True, require_card: bool = False, automations=AUTOMATIONS
) -> "Journey":
    """The tenant as Workflow 1 needs it: an SMS number, card capture, switched-on automations, technicians
    with phones and home bases, a plumbing service and a customer who consented to texts."""
    company_sms = random_phone()
    async with sessions() as session:
        company = await session.get(Company, tenant.company_id)
        company.sms_number = company_sms
        company.phone = "+15125550100"
        company.card_on_file_enabled = card
        company.require_card_for_acceptance = require_card
        session.add(company)
        for key in automations:
            session.add(AutomationSetting(company_id=company.id, key=key, enabled=True))
        for offset, who in enumerate(("tech", "tech2", "owner", "admin")):
            user = await session.get(User, tenant.users[who].id)
            user.phone = random_phone()
            user.home_lat, user.home_lng = AUSTIN[0] + 0.05 * (offset + 1), AUSTIN[1]
            session.add(user)
        await session.commit()
    office = await tenant.client("manager")
    service = await office.post(
        "/v1/services",
        json={
            "name": "Water heater install",
            "price_cents": 120_000,
            "default_duration_minutes": 120,
            "required_skill": "plumbing",
        },
    )
    assert service.status_code == 201, service.text
    email = f"ada-{uuid.uuid4().hex[:8]}@example.com"
    phone = random_phone()
    customer = await office.post(
        "/v1/customers",
        json={
            "name": "Ada Lovelace",
            "email": email,
            "phone": phone,
            "sms_consent": True,
            "sms_consent_source": "web form",
            "address": "500 Congress Ave, Austin, TX",
            "lat": AUSTIN[0],
            "lng": AUSTIN[1],
        },
    )
    assert customer.status_code == 201, customer.text
    return Journey(office, customer.json()["id"], email, phone, service.json()["id"], company_sms)


async def tiered_quote(journey: Journey) -> dict:
    """A quote with a required install, a plain add-on and Good/Better/Best warranty tiers."""
    response = await journey.office.post(
        "/v1/quotes",
        json={
            "customer_id": journey.customer_id,
            "title": "New water heater",
            "line_items": [
                {"service_id": journey.service_id},
                {"description": "Haul away old heater", "unit_price_cents": 7_500, "optional": True},
                _tier("1-year warranty", 0, "good"),
                _tier("5-year warranty", 20_000, "better"),
                _tier("10-year warranty", 45_000, "best"),
            ],
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def _tier(description: str, cents: int, group: str) -> dict:
    return {"description": description, "unit_price_cents": cents, "optional": True, "option_group": group}


def link_in(text: str) -> str:
    """The customer's private quote link in a message."""
    found = re.search(r"https?://[^\s\"<>]+/q/[A-Za-z0-9_.\-]+", text)
    assert found, f"no quote link in {text!r}"
    return found.group(0)


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def slot_starts(page_html: str) -> list[str]:
    return re.findall(r'name="start" value="([^"]+)"', page_html)


async def customer_row(sessions, customer_id: str) -> Customer:
    async with sessions() as session:
        return await session.get(Customer, uuid.UUID(customer_id))


async def user_row(sessions, user_id) -> User:
    async with sessions() as session:
        return await session.get(User, user_id)


async def rows(sessions, statement):
    async with sessions() as session:
        return (await session.exec(statement)).all()
