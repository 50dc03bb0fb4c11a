"""Alembic's head must build exactly the tables the models declare, on both backends."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from core.db import create_engine
from migrations.metadata import load_metadata
from migrations.runner import downgrade, upgrade
from tests.conftest import PG_ADMIN_URL, _admin


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}"
        return
    request.getfixturevalue("postgres_url")  # skips/fails like every Postgres test
    name = f"atom_migrate_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    yield f"{base}/{name}"
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _schema_differences(url: str) -> list:
    engine = create_engine(url)
    async with engine.connect() as connection:
        diffs = await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), load_metadata())
        )
    await engine.dispose()
    return diffs


async def _table_names(url: str) -> set[str]:
    engine = create_engine(url)
    async with engine.connect() as connection:
        names = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    await engine.dispose()
    return names - {"alembic_version"}


async def test_head_matches_the_models_and_downgrades_cleanly(empty_database_url: str) -> None:
    await asyncio.to_thread(upgrade, empty_database_url)
    assert await _schema_differences(empty_database_url) == []
    assert await _table_names(empty_database_url) == set(load_metadata().tables)
    await asyncio.to_thread(downgrade, empty_database_url)
    assert await _table_names(empty_database_url) == set()
