"""Alembic runs migrations against `sqlalchemy.url` when a caller sets it, else DATABASE_URL."""

from alembic import context
from sqlalchemy import create_engine
from sqlmodel import SQLModel

import models  # noqa: F401  (registers every table)
from settings import get_settings

config = context.config
target_metadata = SQLModel.metadata


def database_url() -> str:
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    if not url:
        raise SystemExit("DATABASE_URL is not set (or run through `make dev`, which provides it)")
    return url


def run_migrations_offline() -> None:
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(database_url())
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
