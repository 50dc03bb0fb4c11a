"""Alembic environment: async engines (aiosqlite / asyncpg), metadata from every model
module (migrations/metadata.py), URL from the config or from Settings."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy import TypeDecorator
from sqlalchemy.engine import Connection

from core.db import create_engine, is_sqlite
from core.settings import Settings
from migrations.metadata import load_metadata

config = context.config
target_metadata = load_metadata()


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or Settings().database_url


def _render_item(kind: str, obj: Any, _autogen_context: Any) -> str | bool:
    """Our TypeDecorators (UTC datetimes, …) are written as their plain SQL type, so the
    migrations never import application modules."""
    if kind == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


def _configure(connection: Connection | None = None, url: str | None = None) -> None:
    context.configure(
        connection=connection,
        url=url,
        target_metadata=target_metadata,
        render_as_batch=is_sqlite(_url()),
        compare_type=True,
        render_item=_render_item,
    )


def _run_sync(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    engine = create_engine(_url())
    async with engine.connect() as connection:
        await connection.run_sync(_run_sync)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    _configure(url=_url())
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_online())
