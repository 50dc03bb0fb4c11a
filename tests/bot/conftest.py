from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from cli.sandbox_session import SandboxSession, sandbox_session
from core.db import Database
from core.security import generate_key
from core.settings import Settings
from tests.scheduler.conftest import prepare_scheduler_tables
from tests.tasks import held

GITHUB_WEBHOOK_SECRET = "sandbox-webhook-secret"


@pytest.fixture
async def session(database: Database, tmp_path) -> AsyncIterator[SandboxSession]:
    """ATOM running against the sandbox (every emulator), on the test's database (SQLite
    and Postgres)."""
    settings = Settings(
        _env_file=None,
        database_url=database.url,
        log_json=False,
        data_dir=str(tmp_path),
        encryption_keys=generate_key(),
        github_webhook_secret=GITHUB_WEBHOOK_SECRET,
        poll_intervals={"gmail": 1},
    )
    await prepare_scheduler_tables(database)
    async with held(sandbox_session(settings)) as running:
        yield running
