"""`atom worker` says what is missing instead of starting a node that cannot work."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cli.errors import CommandError
from cli.main import main
from cli.worker_commands import serve_worker
from core.security import generate_key
from core.settings import Settings
from tests.conftest import PG_ADMIN_URL, _admin


def test_worker_needs_postgres(monkeypatch: pytest.MonkeyPatch, capsys, tmp_path: Path) -> None:
    monkeypatch.setenv("ATOM_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'atom.db'}")
    assert main(["worker"]) == 1
    assert "through Postgres" in capsys.readouterr().err


@pytest.fixture
async def unmigrated_postgres_url(postgres_url: str) -> AsyncIterator[str]:
    """A Postgres database nobody ran `atom db upgrade` on."""
    name = f"atom_unmigrated_{uuid.uuid4().hex[:10]}"
    await _admin(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    yield f"{base}/{name}"
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_worker_on_an_unmigrated_database_says_to_upgrade_it(
    unmigrated_postgres_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        _env_file=None,
        database_url=unmigrated_postgres_url,
        data_dir=str(tmp_path),
        encryption_keys=generate_key(),
    )
    with pytest.raises(CommandError, match="Run `atom db upgrade` once"):
        await serve_worker(settings, "w1", concurrency=1)
