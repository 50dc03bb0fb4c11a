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


@pytest.fixture
async def postgres_database(postgres_url: str) -> AsyncIterator[Database]:
    """A Postgres-only database with every table (for multi-node tests)."""
    from migrations.metadata import load_metadata

    db = Database(postgres_url)
    async with db.engine.begin() as connection:
        await connection.run_sync(load_metadata().create_all)
    await prepare_scheduler_tables(db)
    try:
        yield db
    finally:
        await db.dispose()
