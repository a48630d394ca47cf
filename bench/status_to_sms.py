"""Latency from "job moved to On the Way" to the customer's on-my-way text reaching Twilio (the sandbox).

For N = 1, 20 and 200 jobs moved at once, signed in as the demo owner, it:

- switches `send_omw_texts` on and makes N bench customers (unique +1737555xxxx phones, SMS consent) and
  N scheduled jobs far in the future, one day apart, spread over the demo technicians;
- sends the N `POST /v1/jobs/{id}/status {"status": "on_the_way"}` together (asyncio.gather);
- polls the sandbox's `GET /inbox.json` until every customer's text arrived (then a little longer, to see
  duplicates): latency per job = the sandbox's `at` for that text − the moment just before its POST;
- cancels the bench jobs, which frees their technicians' time and ends their workflows.

Beside it, the floor: a trivial one-activity workflow's start-to-result latency on the same Temporal
server, N at once, with this process's own worker on a task queue of its own. It prints p50 / p95 / max
per N, our p95 as a multiple of the floor's p95, and whether every text arrived exactly once, against the
target "within 3x the floor at every N, and every text sent exactly once". It reports; it does not fail.

Run it while `make dev` runs in another terminal:

    .venv/bin/python bench/status_to_sms.py
    .venv/bin/python bench/status_to_sms.py --sizes 1 20 200 --base-url http://localhost:8000
"""

import argparse
import asyncio
import random
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

OWNER = ("owner@demo.nexjob.dev", "nexjob-demo-2026")
AUTOMATION = "send_omw_texts"
TARGET_MULTIPLE = 3.0
ARRIVAL_TIMEOUT = 120.0  # seconds to wait for the last text
DUPLICATE_GRACE = 3.0  # seconds to keep looking after the last text, for duplicates


# --- the floor: one trivial activity in one workflow -------------------------------------------------------


@activity.defn(name="bench_floor_echo")
async def echo(value: str) -> str:
    return value


@workflow.defn(name="BenchFloorWorkflow")
class FloorWorkflow:
    @workflow.run
    async def run(self, value: str) -> str:
        return await workflow.execute_activity(echo, value, start_to_close_timeout=timedelta(seconds=30))


async def floor_latencies(client: Client, task_queue: str, n: int) -> list[float]:
    async def one(i: int) -> float:
        started = time.perf_counter()
        await client.execute_workflow(
            FloorWorkflow.run, str(i), id=f"bench-floor-{uuid.uuid4()}", task_queue=task_queue
        )
        return time.perf_counter() - started

    return list(await asyncio.gather(*(one(i) for i in range(n))))


# --- our path: status change → on-my-way text ------------------------------------------------------------


@dataclass
class Run:
    n: int
    latencies: list[float] = field(default_factory=list)
    missing: int = 0
    duplicated: int = 0
    errors: Counter = field(default_factory=Counter)


class Api:
    def __init__(self, base_url: str, sandbox_url: str, connections: int) -> None:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self.client = httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60)
        self.sandbox = httpx.AsyncClient(base_url=sandbox_url, timeout=30)

    async def sign_in(self) -> None:
        response = await self.client.post("/v1/auth/login", json={"email": OWNER[0], "password": OWNER[1]})
        response.raise_for_status()
        self.client.headers["X-CSRF-Token"] = response.json()["csrf_token"]

    async def call(self, method: str, path: str, **kwargs) -> dict:
        response = await self.client.request(method, path, **kwargs)
        if not response.is_success:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:200]}")
        return response.json()

    async def technicians(self) -> list[str]:
        page = await self.call("GET", "/v1/team", params={"role": "technician", "limit": 100})
        return [user["id"] for user in page["data"]]

    async def texts(self) -> list[dict]:
        response = await self.sandbox.get("/inbox.json", params={"channel": "sms"})
        response.raise_for_status()
        return [e for e in response.json() if e["direction"] == "outbound"]

    async def close(self) -> None:
        await self.client.aclose()
        await self.sandbox.aclose()


async def bounded(limit: int, coroutines) -> list:
    semaphore = asyncio.Semaphore(limit)

    async def one(coroutine):
        async with semaphore:
            return await coroutine

    return list(await asyncio.gather(*(one(c) for c in coroutines)))


async def set_up(api: Api, n: int, techs: list[str], tag: str) -> list[tuple[str, str, str]]:
    """N customers with their own phones and N scheduled jobs; returns (job id, phone, title) per job."""
    rng = random.Random()
    phones = [f"+1737555{x:04d}" for x in rng.sample(range(10_000), n)]
    # One day per job, at 10:00 in Austin, from a random day decades ahead: no technician's jobs overlap,
    # whatever earlier runs left behind.
    first = datetime.now(UTC).replace(hour=15, minute=0, second=0, microsecond=0) + timedelta(
        days=rng.randrange(1_000, 15_000)
    )

    async def one(i: int) -> tuple[str, str, str]:
        customer = await api.call(
            "POST",
            "/v1/customers",
            json={
                "name": f"OMW bench {tag}-{i}",
                "phone": phones[i],
                "sms_consent": True,
                "sms_consent_source": "bench",
            },
        )
        title = f"OMW bench {tag}-{i}"
        job = await api.call(
            "POST",
            "/v1/jobs",
            json={
                "customer_id": customer["id"],
                "title": title,
                "assigned_user_id": techs[i % len(techs)] if techs else None,
                "scheduled_start": (first + timedelta(days=i)).isoformat(),
            },
        )
        return job["id"], phones[i], title

    return await bounded(20, (one(i) for i in range(n)))


async def move_all(api: Api, jobs: list[tuple[str, str, str]], run: Run) -> dict[str, datetime]:
    """The N status changes at once; returns the moment just before each POST, per job id."""
    sent: dict[str, datetime] = {}

    async def one(job_id: str) -> None:
        sent[job_id] = datetime.now(UTC)
        response = await api.client.post(f"/v1/jobs/{job_id}/status", json={"status": "on_the_way"})
        if not response.is_success:
            run.errors[f"{response.status_code} {response.text[:120]}"] += 1

    await asyncio.gather(*(one(job_id) for job_id, _, _ in jobs))
    return sent


async def collect(api: Api, jobs: list[tuple[str, str, str]]) -> dict[str, list[dict]]:
    """The sandbox's texts for these jobs (matched by phone and the job's title), once all arrived or the
    timeout passed, plus a short grace period to catch duplicates."""
    wanted = {phone: title for _, phone, title in jobs}
    deadline = time.monotonic() + ARRIVAL_TIMEOUT
    complete_at = None
    while True:
        found: dict[str, list[dict]] = {phone: [] for phone in wanted}
        for entry in await api.texts():
            title = wanted.get(entry["to"])
            # "… is on the way for {title}." — the title ends with the run's tag and the job's number.
            if title is not None and f" on the way for {title}." in entry["body"]:
                found[entry["to"]].append(entry)
        now = time.monotonic()
        if all(found.values()):
            complete_at = complete_at or now
            if now - complete_at >= DUPLICATE_GRACE:
                return found
        elif now > deadline:
            return found
        await asyncio.sleep(0.25)


async def tear_down(api: Api, jobs: list[tuple[str, str, str]]) -> None:
    """Cancel the bench jobs: frees the technicians' time and ends the jobs' workflows."""

    async def one(job_id: str) -> None:
        response = await api.client.post(f"/v1/jobs/{job_id}/status", json={"status": "cancelled"})
        if not response.is_success:
            print(f"  could not cancel job {job_id}: {response.status_code} {response.text[:120]}")

    await bounded(20, (one(job_id) for job_id, _, _ in jobs))


async def measure_ours(api: Api, n: int, techs: list[str]) -> Run:
    run = Run(n)
    jobs = await set_up(api, n, techs, uuid.uuid4().hex[:8])
    try:
        sent = await move_all(api, jobs, run)
        found = await collect(api, jobs)
    finally:
        await tear_down(api, jobs)
    for job_id, phone, _ in jobs:
        texts = found[phone]
        if not texts:
            run.missing += 1
            continue
        if len(texts) > 1:
            run.duplicated += 1
        first = min(datetime.fromisoformat(t["at"]) for t in texts)
        run.latencies.append((first - sent[job_id]).total_seconds())
    return run


# --- the report -----------------------------------------------------------------------------------------


def percentile(samples: list[float], p: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:>9.0f}"


async def run(sizes: list[int], base_url: str, sandbox_url: str, temporal: str) -> None:
    api = Api(base_url, sandbox_url, connections=max(sizes) + 10)
    try:
        await api.call("GET", "/healthz")
    except (httpx.HTTPError, RuntimeError) as error:
        sys.exit(f"The API at {base_url} is not healthy ({error}): start the stack with `make dev` first.")
    await api.sign_in()
    await api.call("PUT", f"/v1/automations/{AUTOMATION}", json={"enabled": True})
    techs = await api.technicians()
    print(f"{AUTOMATION} on; jobs spread over {len(techs)} technicians; sizes {sizes}")

    client = await Client.connect(temporal)
    task_queue = f"bench-floor-{uuid.uuid4().hex[:8]}"
    rows = []
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[FloorWorkflow],
        activities=[echo],
        workflow_runner=UnsandboxedWorkflowRunner(),
        max_concurrent_activities=max(sizes),
        max_concurrent_workflow_tasks=max(sizes),
    ):
        # Warm-up, not counted: connections, caches, the worker's pollers.
        await floor_latencies(client, task_queue, 1)
        warm = await measure_ours(api, 1, techs)
        print(f"warm-up: 1 job, {len(warm.latencies)} text(s)")
        for n in sizes:
            print(f"N = {n}: floor …", flush=True)
            floor = await floor_latencies(client, task_queue, n)
            print(f"N = {n}: status → text …", flush=True)
            ours = await measure_ours(api, n, techs)
            rows.append((n, ours, floor))

    header = (
        f"{'N':>5}{'ours p50':>10}{'p95':>9}{'max':>9}{'floor p50':>11}{'p95':>9}{'max':>9}"
        f"{'p95 ×floor':>12}{'texts':>8}{'missing':>9}{'dup':>5}{'errors':>8}"
    )
    print("\nlatencies in ms\n" + header + "\n" + "-" * len(header))
    verdicts = []
    for n, ours, floor in rows:
        multiple = percentile(ours.latencies, 95) / percentile(floor, 95)
        print(
            f"{n:>5}{ms(percentile(ours.latencies, 50)):>10}{ms(percentile(ours.latencies, 95))}"
            f"{ms(max(ours.latencies, default=float('nan')))}{ms(percentile(floor, 50)):>11}"
            f"{ms(percentile(floor, 95))}{ms(max(floor))}{multiple:>11.1f}×{len(ours.latencies):>8}"
            f"{ours.missing:>9}{ours.duplicated:>5}{sum(ours.errors.values()):>8}"
        )
        verdicts.append(multiple <= TARGET_MULTIPLE and not ours.missing and not ours.duplicated)
    for n, ours, _ in rows:
        for message, count in ours.errors.most_common(5):
            print(f"  N = {n}: {count} × {message}")
    failing = [str(n) for (n, _, _), ok in zip(rows, verdicts, strict=True) if not ok]
    verdict = f"NOT met at N = {', '.join(failing)}" if failing else "met"
    print(
        f"\ntarget: p95 within {TARGET_MULTIPLE:g}× the floor's p95 at every N, "
        f"and every text sent exactly once — {verdict}"
    )
    await api.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 20, 200], help="jobs moved at once")
    parser.add_argument("--base-url", default="http://localhost:8000", help="the running API")
    parser.add_argument("--sandbox-url", default="http://localhost:8010", help="the provider sandbox")
    parser.add_argument("--temporal", default="localhost:7233", help="the Temporal server")
    args = parser.parse_args()
    asyncio.run(run(args.sizes, args.base_url.rstrip("/"), args.sandbox_url.rstrip("/"), args.temporal))


if __name__ == "__main__":
    main()
