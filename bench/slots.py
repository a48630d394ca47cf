"""Latency of the self-scheduling calendar: `load_availability` + `free_slots` for one busy company.

Seeds "Slots Bench Co" (once: 25 technicians with varied skills and home bases around Austin TX, 20
customers) and 1,000 scheduled jobs over its next 14 local days, 5 % of them unassigned, none overlapping
for a technician. The jobs are laid again when they no longer all lie in the calendar's window (a run on a
later day), so every run measures a full calendar. Then it times N builds of the 14-day calendar for a
2-hour plumbing job, each in a session of its own as a request would, after a warm-up that is not counted,
and prints p50 / p95 / max in ms for loading, computing and both, against the target (p95 < 50 ms).
It reports; it does not fail on the target.

Run it while `make dev` runs in another terminal (or with DATABASE_URL pointing at a migrated database):

    .venv/bin/python bench/slots.py
    .venv/bin/python bench/slots.py --iterations 500
"""

import argparse
import asyncio
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func
from sqlalchemy.exc import ProgrammingError
from sqlmodel import col, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script, only bench/ is on the path (and its api.py shadows api/)

from devstack.postgres import embedded_url, start_embedded  # noqa: E402
from models.company import Company, User  # noqa: E402
from models.customers import Customer  # noqa: E402
from models.db import session_factory  # noqa: E402
from models.enums import JobStatus, Role  # noqa: E402
from models.jobs import Job  # noqa: E402
from models.slots import (  # noqa: E402
    CALENDAR_DAYS,
    calendar_window,
    free_slots,
    load_availability,
    opening_hours,
)
from settings import get_settings  # noqa: E402

COMPANY_NAME = "Slots Bench Co"
TECHNICIANS = 25
CUSTOMERS = 20
JOBS = 1_000
UNASSIGNED_SHARE = 0.05
REQUIRED_SKILLS = ("plumbing",)
DURATION = timedelta(hours=2)
WARM_UP = 20
TARGET_P95_MS = 50.0

AUSTIN = (30.2672, -97.7431)
TRADES = ["plumbing", "hvac"]
EXTRA_SKILLS = ["water heaters", "gas", "electrical", "drains", "commercial", "backflow"]
FIRST_NAMES = ["Ana", "Ben", "Carla", "Dev", "Eli", "Fran", "Gus", "Hana", "Ivan", "Jo", "Kai", "Lena", "Mo"]


def database_url() -> str:
    """DATABASE_URL (normalised by Settings) or the embedded server `make dev` runs."""
    settings = get_settings()
    if settings.database_url:
        return settings.database_url
    # Attaching registers this process as one more user of the server; it stays up for `make dev`.
    return embedded_url(start_embedded(settings.data_dir / "pg"), "nexjob")


def near_austin(rng: random.Random) -> tuple[float, float]:
    return AUSTIN[0] + rng.uniform(-0.25, 0.25), AUSTIN[1] + rng.uniform(-0.3, 0.3)


async def bench_company(session, rng: random.Random) -> Company:
    """The bench company with its technicians and customers, made on first use."""
    company = (await session.exec(select(Company).where(Company.name == COMPANY_NAME))).first()
    if company is not None:
        return company
    company = Company(name=COMPANY_NAME, timezone="America/Chicago")
    session.add(company)
    await session.flush()
    for n in range(TECHNICIANS):
        lat, lng = near_austin(rng)
        skills = [TRADES[n % 2], *rng.sample(EXTRA_SKILLS, rng.randint(0, 3))]
        session.add(
            User(
                company_id=company.id,
                email=f"tech{n + 1:02d}-{company.id.hex[:8]}@slots-bench.invalid",
                name=f"{FIRST_NAMES[n % len(FIRST_NAMES)]} Tech {n + 1:02d}",
                role=Role.technician,
                skills=skills,
                home_lat=lat,
                home_lng=lng,
            )
        )
    for n in range(CUSTOMERS):
        lat, lng = near_austin(rng)
        session.add(Customer(company_id=company.id, name=f"Slots customer {n + 1:02d}", lat=lat, lng=lng))
    await session.commit()
    return company


def lay_jobs(company: Company, tech_ids: list, customer_ids: list, now: datetime, rng: random.Random) -> list:
    """JOBS jobs inside business hours over the calendar's days; a technician's never overlap."""
    zone = ZoneInfo(company.timezone)
    today = now.astimezone(zone).date()
    days = []
    for offset in range(CALENDAR_DAYS):
        hours = opening_hours(company.business_hours, zone, today + timedelta(days=offset))
        if hours:
            days.append(hours)
    # Each technician fills each open day from opening, job after job with short gaps between them.
    cursors = {(tech, day): days[day][0] for tech in tech_ids for day in range(len(days))}
    unassigned = round(JOBS * UNASSIGNED_SHARE)
    jobs = []
    while len(jobs) < JOBS - unassigned and cursors:
        key = rng.choice(list(cursors))
        start = cursors[key] + timedelta(minutes=rng.choice([0, 30, 60]))
        end = start + timedelta(minutes=rng.choice([60, 90, 120]))
        if end > days[key[1]][1]:
            del cursors[key]  # that day is full
            continue
        cursors[key] = end
        jobs.append((key[0], start, end))
    for _ in range(unassigned):
        opens, closes = rng.choice(days)
        start = opens + timedelta(
            minutes=30 * rng.randrange(int((closes - opens) / timedelta(minutes=30)) - 2)
        )
        jobs.append((None, start, start + timedelta(hours=1)))
    laid = []
    for n, (tech, start, end) in enumerate(jobs):
        lat, lng = near_austin(rng)
        laid.append(
            Job(
                company_id=company.id,
                customer_id=rng.choice(customer_ids),
                title=f"Bench job {n + 1}",
                status=JobStatus.scheduled,
                assigned_user_id=tech,
                scheduled_start=start,
                scheduled_end=end,
                lat=lat,
                lng=lng,
            )
        )
    return laid


async def seed(sessions, now: datetime) -> tuple[Company, str]:
    rng = random.Random(2026)
    async with sessions() as session:
        company = await bench_company(session, rng)
        start, end = calendar_window(company.timezone, now)
        in_window = (
            await session.exec(
                select(func.count())
                .select_from(Job)
                .where(
                    Job.company_id == company.id,
                    col(Job.scheduled_start) >= start,
                    col(Job.scheduled_end) <= end,
                )
            )
        ).one()
        total = (
            await session.exec(select(func.count()).select_from(Job).where(Job.company_id == company.id))
        ).one()
        if in_window == total == JOBS:
            return company, "bench jobs already laid for today's calendar"
        tech_ids = list(
            (
                await session.exec(select(User.id).where(User.company_id == company.id).order_by(User.email))
            ).all()
        )
        customer_ids = list(
            (
                await session.exec(
                    select(Customer.id).where(Customer.company_id == company.id).order_by(Customer.name)
                )
            ).all()
        )
        await session.exec(delete(Job).where(col(Job.company_id) == company.id))
        jobs = lay_jobs(company, tech_ids, customer_ids, now, rng)
        session.add_all(jobs)
        await session.commit()
        return company, f"laid {len(jobs)} bench jobs (replacing {total})"


def percentile_ms(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


async def measure(sessions, company: Company, now: datetime, iterations: int) -> dict[str, list[float]]:
    window = calendar_window(company.timezone, now)
    timings: dict[str, list[float]] = {"load": [], "compute": [], "load + compute": []}
    for i in range(WARM_UP + iterations):
        started = time.perf_counter()
        async with sessions() as session:  # a session per calendar, as a request gets
            availability = await load_availability(session, company, *window)
        loaded = time.perf_counter()
        slots = free_slots(availability, required_skills=REQUIRED_SKILLS, duration=DURATION, now=now)
        done = time.perf_counter()
        if i >= WARM_UP:
            timings["load"].append(loaded - started)
            timings["compute"].append(done - loaded)
            timings["load + compute"].append(done - started)
    bookings = sum(len(t.bookings) for t in availability.technicians) + len(availability.unassigned)
    qualified = len([t for t in availability.technicians if set(REQUIRED_SKILLS) <= t.skills])
    print(
        f"{len(availability.technicians)} technicians ({qualified} qualified), {bookings} bookings loaded, "
        f"{len(slots)} starts offered over {CALENDAR_DAYS} days"
    )
    return timings


async def run(iterations: int) -> None:
    sessions = session_factory(database_url())
    now = datetime.now(UTC)
    try:
        company, seeded = await seed(sessions, now)
    except ProgrammingError as error:
        sys.exit(f"The database has no NexJob schema ({error.orig}): start `make dev` first (it migrates).")
    print(f"{COMPANY_NAME}: {seeded}")
    hours = DURATION / timedelta(hours=1)
    skills = "+".join(REQUIRED_SKILLS)
    print(f"{iterations} calendars for a {hours:g}-hour {skills} job ({WARM_UP} warm-up runs not counted)")
    timings = await measure(sessions, company, now, iterations)

    header = f"{'':<16}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}"
    print("\n" + header + "\n" + "-" * len(header))
    for name, samples in timings.items():
        print(
            f"{name:<16}{percentile_ms(samples, 50):>9.1f}{percentile_ms(samples, 95):>9.1f}"
            f"{max(samples) * 1000:>9.1f}"
        )
    p95 = percentile_ms(timings["load + compute"], 95)
    print(f"\ncalendar p95 = {p95:.1f} ms (target < {TARGET_P95_MS:.0f} ms)")
    await sessions.kw["bind"].dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200, help="calendars timed (default 200)")
    args = parser.parse_args()
    asyncio.run(run(args.iterations))


if __name__ == "__main__":
    main()
