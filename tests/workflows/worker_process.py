"""A worker in its own process, for the test that kills one with SIGKILL mid-run:

    python -m tests.workflows.worker_process DATABASE_URL NOTES_URL TOKEN RUN_ID

It executes the run like a scheduler job would and exits.
"""

from __future__ import annotations

import asyncio
import sys

from connectors.base import StaticCredentialProvider
from connectors.client import HttpPool
from connectors.registry import Registry
from core.db import Database
from workflows.engine import Engine

from .notes import NotesSettings
from .notes import connector as notes_connector


async def work(database_url: str, notes_url: str, token: str, run_id: str) -> None:
    settings = NotesSettings(notes_base_url=notes_url, http_max_retries=0, run_lease_seconds=30)
    registry = Registry()
    registry.add(notes_connector)
    database = Database(database_url)
    pool = HttpPool(settings)
    credentials = StaticCredentialProvider.from_tokens({"notes": {"access_token": token}})
    try:
        engine = Engine(database, registry, pool, credentials, settings, worker_id="doomed")
        await engine.execute(run_id)
    finally:
        await pool.aclose()
        await database.dispose()


if __name__ == "__main__":
    asyncio.run(work(*sys.argv[1:5]))
