"""The migrations build exactly the schema the models describe, and unwind cleanly."""

import os

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlmodel import SQLModel

from devstack.postgres import drop_database, ensure_database
from tests.conftest import alembic_config, database_on


def test_upgrade_from_empty_to_head_matches_models_and_downgrades_to_nothing(server_url):
    url = database_on(server_url, f"nexjob_migrations_test_{os.getpid()}")
    ensure_database(url, recreate=True)
    config = alembic_config(url)
    engine = create_engine(url)
    try:
        command.upgrade(config, "head")
        with engine.connect() as conn:
            assert set(SQLModel.metadata.tables) <= set(inspect(conn).get_table_names())
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata
            )
            assert diff == [], f"models and migrations disagree; add a migration: {diff}"

        command.downgrade(config, "base")
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) == {"alembic_version"}

        command.upgrade(config, "head")  # and back up again, as a redeploy would
    finally:
        engine.dispose()
        drop_database(url)
