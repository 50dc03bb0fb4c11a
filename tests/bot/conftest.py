from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from cli.sandbox_session import SandboxSession, sandbox_session
from core.db import Database
from core.settings import Settings


@pytest.fixture
async def session(database: Database) -> AsyncIterator[SandboxSession]:
    """ATOM running against the Slack emulator, on the test's database (SQLite and
    Postgres)."""
    settings = Settings(_env_file=None, database_url=database.url, log_json=False)
    async with sandbox_session(settings) as running:
        yield running
