"""The demo seed: created once, complete enough to explore, and priced the way the product prices."""

import uuid

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel, select

from api.security import verify_password
from devstack.seed import DEMO_COMPANY_NAME, DEMO_PASSWORD, SKILLS, seed_demo
from models.catalog import Service
from models.company import Company, User
from models.customers import Customer
from models.enums import InvoiceStatus, JobStatus, QuoteStatus, Role
from models.inventory import Supplier
from models.invoices import Invoice, Payment
from models.jobs import Job
from models.line_items import InvoiceLineItem, JobLineItem, QuoteLineItem
from models.money import compute_totals
from models.quotes import Quote
from models.time import company_today


async def _demo_company_id(sessions) -> uuid.UUID | None:
    async with sessions() as session:
        found = await session.exec(select(Company.id).where(Company.name == DEMO_COMPANY_NAME))
        return found.first()


async def _row_counts(sessions, company_id: uuid.UUID) -> dict[str, int]:
    """Rows per tenant-owned table for the company, and its next invoice number."""
    counts = {}
    async with sessions() as session:
        for table in SQLModel.metadata.sorted_tables:
            if "company_id" in table.c:
                stmt = select(sa.func.count()).select_from(table).where(table.c.company_id == company_id)
                counts[table.name] = (await session.exec(stmt)).one()
        counts["next_invoice_number"] = (await session.get(Company, company_id)).next_invoice_number
    return counts


async def _all(sessions, model, company_id: uuid.UUID) -> list:
    async with sessions() as session:
        return list((await session.exec(select(model).where(model.company_id == company_id))).all())


@pytest.fixture
async def demo(sessions) -> uuid.UUID:
    await seed_demo(sessions)
    return await _demo_company_id(sessions)


async def test_seeding_twice_creates_the_company_once(sessions):
    existed = await _demo_company_id(sessions) is not None

    assert await seed_demo(sessions) is not existed
    company_id = await _demo_company_id(sessions)
    before = await _row_counts(sessions, company_id)
    assert await seed_demo(sessions) is False

    assert await _row_counts(sessions, company_id) == before
    async with sessions() as session:
        stmt = select(sa.func.count()).select_from(Company).where(Company.name == DEMO_COMPANY_NAME)
        assert (await session.exec(stmt)).one() == 1


async def test_team_and_owner_login(sessions, demo):
    users = await _all(sessions, User, demo)
    by_role = {role: [u for u in users if u.role == role] for role in Role}
    assert len(by_role[Role.owner]) == 1
    assert len(by_role[Role.manager]) == 1
    assert len(by_role[Role.technician]) == 4
    for tech in by_role[Role.technician]:
        assert tech.skills and set(tech.skills) <= set(SKILLS), tech.name
        assert tech.home_lat is not None and tech.home_lng is not None, tech.name
        assert 3200 <= tech.hourly_rate_cents <= 5200
    assert verify_password(DEMO_PASSWORD, by_role[Role.owner][0].password_hash)


async def test_customers_catalogue_and_suppliers(sessions, demo):
    customers = await _all(sessions, Customer, demo)
    assert 20 <= len(customers) <= 30
    assert all(c.lat is not None and c.lng is not None for c in customers)
    assert sum(c.card_payment_method_id is not None for c in customers) == 2
    assert 12 <= len(await _all(sessions, Service, demo)) <= 18
    assert len(await _all(sessions, Supplier, demo)) == 2


async def test_every_status_appears(sessions, demo):
    assert {q.status for q in await _all(sessions, Quote, demo)} == set(QuoteStatus)
    assert {j.status for j in await _all(sessions, Job, demo)} == set(JobStatus)
    assert {i.status for i in await _all(sessions, Invoice, demo)} == set(InvoiceStatus)


async def test_invoice_numbers_are_unique_and_below_the_next_one(sessions, demo):
    numbers = [i.number for i in await _all(sessions, Invoice, demo)]
    assert len(numbers) == len(set(numbers))
    async with sessions() as session:
        assert (await session.get(Company, demo)).next_invoice_number > max(numbers)


async def test_totals_match_the_lines(sessions, demo):
    quote_lines = await _all(sessions, QuoteLineItem, demo)
    for quote in await _all(sessions, Quote, demo):
        lines = sorted((ln for ln in quote_lines if ln.quote_id == quote.id), key=lambda ln: ln.position)
        assert lines, quote.title
        totals = compute_totals(lines, quote.tax_rate_bps, quote.chosen_option_group)
        assert (quote.subtotal_cents, quote.tax_cents, quote.total_cents) == (
            totals.subtotal_cents,
            totals.tax_cents,
            totals.total_cents,
        ), quote.title

    invoice_lines = await _all(sessions, InvoiceLineItem, demo)
    for invoice in await _all(sessions, Invoice, demo):
        lines = sorted(
            (ln for ln in invoice_lines if ln.invoice_id == invoice.id), key=lambda ln: ln.position
        )
        assert lines, invoice.number
        totals = compute_totals(lines, invoice.tax_rate_bps)
        assert (invoice.subtotal_cents, invoice.tax_cents, invoice.total_cents) == (
            totals.subtotal_cents,
            totals.tax_cents,
            totals.total_cents,
        ), invoice.number


async def test_paid_invoices_have_a_payment_and_overdue_ones_are_past_due(sessions, demo):
    payments = {p.invoice_id: p for p in await _all(sessions, Payment, demo)}
    async with sessions() as session:
        today = company_today(await session.get(Company, demo))
    for invoice in await _all(sessions, Invoice, demo):
        if invoice.status == InvoiceStatus.paid:
            assert invoice.amount_paid_cents == invoice.total_cents
            assert payments[invoice.id].amount_cents == invoice.total_cents
        else:
            assert invoice.id not in payments
        if invoice.status == InvoiceStatus.overdue:
            assert invoice.due_on < today


async def test_scheduled_jobs_go_to_technicians_with_the_skills(sessions, demo):
    techs = {u.id: u for u in await _all(sessions, User, demo) if u.role == Role.technician}
    services = {s.id: s for s in await _all(sessions, Service, demo)}
    job_lines = await _all(sessions, JobLineItem, demo)
    for job in await _all(sessions, Job, demo):
        assert job.lat is not None and job.lng is not None, job.title
        if job.status == JobStatus.unscheduled:
            assert job.scheduled_start is None
            continue
        assert job.scheduled_start.tzinfo is not None and job.scheduled_end > job.scheduled_start
        needed = {services[ln.service_id].required_skill for ln in job_lines if ln.job_id == job.id}
        assert needed <= set(techs[job.assigned_user_id].skills), job.title
