"""Fixtures for the scheduler tests: a database with the scheduler's tables (on Postgres,
the `apscheduler` schema the migration creates), emptied before each test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from core.db import Database
from workflows.scheduling.apscheduler_backend import (
    APSCHEDULER_SCHEMA,
    create_apscheduler_tables,
)


async def prepare_scheduler_tables(database: Database) -> None:
    """What `atom db upgrade` does for the scheduler, plus a clean slate."""
    if database.engine.dialect.name != "postgresql":
        return
    async with database.engine.begin() as connection:
        await connection.run_sync(create_apscheduler_tables)
        await connection.execute(
            text(
                f"TRUNCATE {APSCHEDULER_SCHEMA}.jobs, {APSCHEDULER_SCHEMA}.job_results, "
                f"{APSCHEDULER_SCHEMA}.schedules, {APSCHEDULER_SCHEMA}.tasks"
            )
        )


@pytest.fixture
async def scheduling_database(database: Database) -> AsyncIterator[Database]:
    await prepare_scheduler_tables(database)
    yield database


postgres_only = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
"""Run a test that takes `database`/`scheduling_database` on Postgres only."""
