"""Wiring: build every long-lived object of one ATOM process from Settings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI
from slack_bolt.async_app import AsyncApp

from bot.app import build_app
from bot.dedupe import EventDeduplicator
from bot.services import BotServices
from core.db import Database
from core.settings import Settings
from migrations.runner import upgrade
from oauth_app.app import create_web_app


@dataclass
class Runtime:
    settings: Settings
    database: Database
    services: BotServices
    bolt: AsyncApp
    web: FastAPI


async def upgrade_database(settings: Settings) -> None:
    await asyncio.to_thread(upgrade, settings.database_url)


@asynccontextmanager
async def open_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    database = Database(settings.database_url)
    services = BotServices(
        settings=settings,
        database=database,
        dedupe=EventDeduplicator(database),
    )
    bolt = build_app(services)
    try:
        yield Runtime(settings, database, services, bolt, create_web_app(settings, database, bolt))
    finally:
        await database.dispose()
