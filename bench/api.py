"""Throughput and latency of the API against the database it sits on.

Seeds 50 companies ("Bench Co 01".."Bench Co 50", 20 customers and 2,000 jobs each: 100,000 jobs; skipped
when they exist) with one fresh read_write API key each, then measures, with N concurrent clients for
D seconds each (after a 3 s warm-up that is not counted):

- API list:   GET /v1/jobs?status=…&limit=50 for a random bench company and status;
- raw list:   the same query the list endpoint runs (the page with a window count), straight through
              psycopg on N connections of its own: the ceiling the endpoint is compared with;
- API create: POST /v1/customers.

It prints requests, req/s and p50/p95/p99 latency per scenario, the API list's throughput as a share of
the raw query's (target ≥ 40 %) and its p99 (target < 100 ms). It reports; it does not fail on targets.

Run it while `make dev` runs in another terminal:

    make bench                      # = .venv/bin/python bench/api.py
    .venv/bin/python bench/api.py --duration 10 --concurrency 16 --base-url http://localhost:8000 --skip-seed

The database is DATABASE_URL when set (the same one the API uses), else the embedded server `make dev` runs.
"""

import argparse
import asyncio
import hashlib
import random
import secrets
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from pathlib import Path

import httpx
import psycopg
from psycopg.types.json import Jsonb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script, only bench/ is on the path (and its api.py shadows api/)

from devstack.postgres import embedded_url, libpq_dsn, start_embedded  # noqa: E402
from models.company import Company  # noqa: E402
from models.customers import Customer  # noqa: E402
from models.enums import ApiKeyScope, JobStatus  # noqa: E402
from models.jobs import Job  # noqa: E402
from settings import get_settings  # noqa: E402

COMPANIES = 50
CUSTOMERS_PER_COMPANY = 20
JOBS_PER_COMPANY = 2_000
COMPANY_NAME = "Bench Co {:02d}"
KEY_NAME = "bench/api.py"
WARM_UP_SECONDS = 3.0
PAGE_SIZE = 50
STATUSES = [s.value for s in JobStatus]

TARGET_SHARE = 0.40
TARGET_P99_MS = 100.0

# The list endpoint's statement as SQLAlchemy renders it (api/crud.py fetch_page: the page with its
# total as a window count).
JOB_COLUMNS = ", ".join(f"job.{c.name}" for c in Job.__table__.columns)
WHERE = "job.company_id = %s::UUID AND job.status IN (%s)"
PAGE_SQL = (
    f"SELECT {JOB_COLUMNS}, count(*) OVER () AS anon_1 FROM job WHERE {WHERE} "
    "ORDER BY job.scheduled_start ASC NULLS LAST, job.id LIMIT %s::INTEGER OFFSET %s::INTEGER"
)

CITIES = ["Austin", "Round Rock", "Georgetown", "Pflugerville", "Cedar Park", "Kyle", "Buda", "Leander"]
JOB_TITLES = [
    "Water heater flush",
    "Drain cleaning",
    "AC tune-up",
    "Furnace inspection",
    "Leak repair",
    "Toilet replacement",
    "Thermostat install",
    "Gas line check",
]


# --- database -------------------------------------------------------------------------------------------


def database_dsn() -> str:
    """libpq DSN: DATABASE_URL (normalised by Settings) or the embedded server `make dev` runs."""
    settings = get_settings()
    if settings.database_url:
        return libpq_dsn(settings.database_url)
    # Attaching registers this process as one more user of the server; it stays up for `make dev`.
    return libpq_dsn(embedded_url(start_embedded(settings.data_dir / "pg"), "nexjob"))


def _adapt(value):
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict | list):
        return Jsonb(value)
    return value


def model_defaults(model, **required) -> dict:
    """Every column's value as the model fills it in: the tables have no server-side defaults."""
    sample = model(**required)
    return {c.name: _adapt(getattr(sample, c.name)) for c in model.__table__.columns}


def copy_rows(cur: psycopg.Cursor, table: str, rows: list[dict]) -> None:
    columns = list(rows[0])
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def seed(conn: psycopg.Connection) -> int:
    """Create the bench companies that are missing, with customers and jobs; returns how many it made."""
    names = [COMPANY_NAME.format(n) for n in range(1, COMPANIES + 1)]
    existing = {r[0] for r in conn.execute("SELECT name FROM company WHERE name = ANY(%s)", (names,))}
    missing = [name for name in names if name not in existing]
    if not missing:
        return 0

    rng = random.Random(2026)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    placeholder = uuid.uuid4()
    company_defaults = model_defaults(Company, name="-")
    customer_defaults = model_defaults(Customer, name="-", company_id=placeholder)
    job_defaults = model_defaults(Job, title="-", company_id=placeholder, customer_id=placeholder)

    companies, customers, jobs = [], [], []
    for name in missing:
        company_id = uuid.uuid4()
        companies.append(company_defaults | {"id": company_id, "name": name})
        customer_ids = []
        for i in range(CUSTOMERS_PER_COMPANY):
            customer_ids.append(uuid.uuid4())
            customers.append(
                customer_defaults
                | {
                    "id": customer_ids[-1],
                    "company_id": company_id,
                    "name": f"Customer {i + 1:02d} of {name}",
                    "email": f"customer{i + 1:02d}@{company_id.hex[:8]}.bench.invalid",
                    "phone": f"+1512555{rng.randrange(10_000):04d}",
                    "city": rng.choice(CITIES),
                }
            )
        for i in range(JOBS_PER_COMPANY):
            status = STATUSES[i % len(STATUSES)]
            start = end = None
            if status != JobStatus.unscheduled:  # as in the API: a job with a start is scheduled
                start = now + timedelta(minutes=rng.randint(-60 * 24 * 60, 60 * 24 * 60))
                end = start + timedelta(hours=1)
            jobs.append(
                job_defaults
                | {
                    "id": uuid.uuid4(),
                    "company_id": company_id,
                    "customer_id": rng.choice(customer_ids),
                    "title": f"{rng.choice(JOB_TITLES)} #{i + 1}",
                    "city": rng.choice(CITIES),
                    "status": status,
                    "scheduled_start": start,
                    "scheduled_end": end,
                    "completed_at": end if status == JobStatus.completed else None,
                }
            )

    with conn.transaction(), conn.cursor() as cur:
        columns = list(companies[0])
        cur.executemany(
            f"INSERT INTO company ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})",
            [[row[c] for c in columns] for row in companies],
        )
        copy_rows(cur, "customer", customers)
        copy_rows(cur, "job", jobs)
    conn.execute("ANALYZE company, customer, job")  # fresh statistics, so plans match a settled database
    return len(missing)


def create_api_keys(conn: psycopg.Connection) -> dict[uuid.UUID, str]:
    """One fresh read_write key per bench company (the last run's are deleted): company id → plaintext."""
    names = [COMPANY_NAME.format(n) for n in range(1, COMPANIES + 1)]
    company_ids = [r[0] for r in conn.execute("SELECT id FROM company WHERE name = ANY(%s)", (names,))]
    keys = {company_id: "nxj_live_" + secrets.token_urlsafe(32) for company_id in company_ids}
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("DELETE FROM api_key WHERE name = %s AND company_id = ANY(%s)", (KEY_NAME, company_ids))
        cur.executemany(
            "INSERT INTO api_key (id, company_id, name, prefix, digest, scope, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, now())",
            [
                (
                    uuid.uuid4(),
                    cid,
                    KEY_NAME,
                    key[:15],
                    hashlib.sha256(key.encode()).hexdigest(),
                    ApiKeyScope.read_write.value,
                )
                for cid, key in keys.items()
            ],
        )
    return keys


# --- measuring ------------------------------------------------------------------------------------------


@dataclass
class Result:
    scenario: str
    latencies: list[float] = field(default_factory=list)  # seconds, one per request (errors included)
    errors: Counter = field(default_factory=Counter)
    elapsed: float = 0.0
    own_cpu: float = 0.0  # CPU seconds this script spent generating the load

    @property
    def own_cpu_share(self) -> float:
        return self.own_cpu / self.elapsed if self.elapsed else 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def percentile_ms(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    def merge(self, other: "Result") -> None:
        self.latencies += other.latencies
        self.errors += other.errors


# A request the API workers send: (method, path, keyword arguments for httpx).
RequestMaker = Callable[[random.Random], tuple[str, str, dict]]


def list_jobs_request(keys: list[str]) -> RequestMaker:
    def make(rng: random.Random):
        headers = {"Authorization": f"Bearer {rng.choice(keys)}"}
        params = {"status": rng.choice(STATUSES), "limit": PAGE_SIZE}
        return "GET", "/v1/jobs", {"headers": headers, "params": params}

    return make


def create_customer_request(keys: list[str]) -> RequestMaker:
    def make(rng: random.Random):
        n = rng.randrange(1_000_000)
        body = {
            "name": f"Bench customer {n}",
            "email": f"bench{n}@example.com",
            "phone": f"+1512555{n % 10_000:04d}",
            "city": rng.choice(CITIES),
            "sms_consent": n % 2 == 0,
        }
        return (
            "POST",
            "/v1/customers",
            {"headers": {"Authorization": f"Bearer {rng.choice(keys)}"}, "json": body},
        )

    return make


async def run_api(
    base_url: str, scenario: str, make: RequestMaker, concurrency: int, duration: float
) -> Result:
    """`concurrency` clients, each sending its next request as soon as the last one is answered."""
    result = Result(scenario)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def worker(client: httpx.AsyncClient, deadline: float, seed: int) -> None:
        rng = random.Random(seed)
        while time.perf_counter() < deadline:
            method, path, kwargs = make(rng)
            started = time.perf_counter()
            try:
                response = await client.request(method, path, **kwargs)
                if not response.is_success:
                    result.errors[f"{response.status_code} {response.text[:120]}"] += 1
            except httpx.HTTPError as error:
                result.errors[f"{type(error).__name__}: {error}"[:140]] += 1
            result.latencies.append(time.perf_counter() - started)

    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:
        started, cpu_started = time.perf_counter(), time.process_time()
        deadline = started + duration
        await asyncio.gather(*(worker(client, deadline, i) for i in range(concurrency)))
        result.elapsed = time.perf_counter() - started
        result.own_cpu = time.process_time() - cpu_started
    return result


def run_raw(dsn: str, company_ids: list[uuid.UUID], concurrency: int, duration: float) -> Result:
    """The list endpoint's query on `concurrency` threads, each with its own connection."""
    # Autocommit, as a lean client would run them: psycopg prepares each statement after its 5th use.
    connections = [psycopg.connect(dsn, autocommit=True) for _ in range(concurrency)]
    results = [Result("raw") for _ in connections]

    def worker(conn: psycopg.Connection, result: Result, seed: int) -> None:
        rng = random.Random(seed)
        while time.perf_counter() < deadline:
            params = (rng.choice(company_ids), rng.choice(STATUSES))
            started = time.perf_counter()
            try:
                conn.execute(PAGE_SQL, (*params, PAGE_SIZE, 0)).fetchall()
            except psycopg.Error as error:
                result.errors[f"{type(error).__name__}: {error}"[:140]] += 1
            result.latencies.append(time.perf_counter() - started)

    started, cpu_started = time.perf_counter(), time.process_time()
    deadline = started + duration
    threads = [
        threading.Thread(target=worker, args=(conn, result, i))
        for i, (conn, result) in enumerate(zip(connections, results, strict=True))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    merged = Result(
        "raw psycopg list (same query)",
        elapsed=time.perf_counter() - started,
        own_cpu=time.process_time() - cpu_started,
    )
    for result in results:
        merged.merge(result)
    for conn in connections:
        conn.close()
    return merged


def measure_api(
    base_url: str, scenario: str, make: RequestMaker, concurrency: int, duration: float
) -> Result:
    print(f"  {scenario}: warming up {WARM_UP_SECONDS:.0f} s, then {duration:.0f} s …", flush=True)
    asyncio.run(run_api(base_url, scenario, make, concurrency, WARM_UP_SECONDS))
    return asyncio.run(run_api(base_url, scenario, make, concurrency, duration))


def measure_raw(dsn: str, company_ids: list[uuid.UUID], concurrency: int, duration: float) -> Result:
    print(f"  raw psycopg list: warming up {WARM_UP_SECONDS:.0f} s, then {duration:.0f} s …", flush=True)
    run_raw(dsn, company_ids, concurrency, WARM_UP_SECONDS)
    return run_raw(dsn, company_ids, concurrency, duration)


# --- the run --------------------------------------------------------------------------------------------


def check_api(base_url: str) -> None:
    try:
        response = httpx.get(f"{base_url}/healthz", timeout=5)
    except httpx.HTTPError as error:
        sys.exit(f"The API at {base_url} is not reachable ({error}): start the stack with `make dev` first.")
    if response.status_code != 200:
        sys.exit(
            f"The API at {base_url} answered /healthz with {response.status_code}: is `make dev` healthy?"
        )


def check_key_accepted(base_url: str, key: str) -> None:
    response = httpx.get(
        f"{base_url}/v1/jobs", params={"limit": 1}, headers={"Authorization": f"Bearer {key}"}
    )
    if response.status_code == 401:
        sys.exit(
            "The API does not know the bench's API keys: it uses another database than this script. "
            "Set DATABASE_URL to the API's database."
        )
    response.raise_for_status()


def print_report(results: list[Result], api_list: Result, raw_list: Result) -> None:
    header = (
        f"{'scenario':<34}{'requests':>10}{'req/s':>10}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for r in results:
        print(
            f"{r.scenario:<34}{len(r.latencies):>10}{r.rate:>10.1f}{r.percentile_ms(50):>9.1f}"
            f"{r.percentile_ms(95):>9.1f}{r.percentile_ms(99):>9.1f}{sum(r.errors.values()):>8}"
        )
    for r in results:
        for message, count in r.errors.most_common(5):
            print(f"  {r.scenario}: {count} × {message}")

    # The load generator shares the machine with the API and PostgreSQL: its own cost bounds the figures.
    own = ", ".join(f"{r.scenario} {r.own_cpu_share:.0%}" for r in results)
    print(f"this script's own CPU (share of one core): {own}")

    share = api_list.rate / raw_list.rate if raw_list.rate else 0.0
    p99 = api_list.percentile_ms(99)
    print()
    print(f"API list throughput = {share:.0%} of raw psycopg (target ≥ {TARGET_SHARE:.0%})")
    print(f"list p99 = {p99:.0f} ms (target < {TARGET_P99_MS:.0f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=30, help="seconds per scenario (default 30)")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--base-url", default="http://localhost:8000", help="the running API")
    parser.add_argument("--skip-seed", action="store_true", help="use the bench companies as they are")
    args = parser.parse_args()
    base_url = args.base_url.rstrip("/")

    check_api(base_url)
    dsn = database_dsn()
    with psycopg.connect(dsn, autocommit=True) as conn:
        if not args.skip_seed:
            started = time.perf_counter()
            made = seed(conn)
            took = time.perf_counter() - started
            print(
                f"seeded {made} bench companies in {took:.1f} s" if made else "bench companies already seeded"
            )
        keys = create_api_keys(conn)
    if not keys:
        sys.exit("No bench companies in the database: run without --skip-seed first.")
    check_key_accepted(base_url, next(iter(keys.values())))

    print(f"{len(keys)} companies, {args.concurrency} clients, {args.duration:g} s per scenario, {base_url}")
    key_list = list(keys.values())
    api_list = measure_api(
        base_url, "API GET /v1/jobs", list_jobs_request(key_list), args.concurrency, args.duration
    )
    raw_list = measure_raw(dsn, list(keys), args.concurrency, args.duration)
    api_create = measure_api(
        base_url, "API POST /v1/customers", create_customer_request(key_list), args.concurrency, args.duration
    )
    print_report([api_list, raw_list, api_create], api_list, raw_list)


if __name__ == "__main__":
    main()
