from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest

from cli.sandbox_session import SandboxSession, sandbox_session
from core.db import Database
from core.security import generate_key
from core.settings import Settings
from sandbox.deepgram import DeepgramEmulator
from sandbox.whisper import WhisperEmulator
from tests.scheduler.conftest import prepare_scheduler_tables
from tests.tasks import held

StartSession = Callable[..., AbstractAsyncContextManager[SandboxSession]]


@pytest.fixture
def deepgram() -> Iterator[DeepgramEmulator]:
    emulator = DeepgramEmulator()
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def whisper() -> Iterator[WhisperEmulator]:
    """OpenAI's transcription endpoint (a Bearer key is required)."""
    emulator = WhisperEmulator()
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def self_hosted_whisper() -> Iterator[WhisperEmulator]:
    """A self-hosted Whisper server: the same wire format, no key."""
    emulator = WhisperEmulator(require_key=False)
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


def voice_settings(**overrides: Any) -> Settings:
    """Settings for a voice test: no retries or waits, so failures show at once."""
    values: dict[str, Any] = {"http_max_retries": 0, "http_timeout_seconds": 5.0, **overrides}
    return Settings(_env_file=None, log_json=False, **values)


@pytest.fixture
async def start_session(database: Database, tmp_path: Path) -> StartSession:
    """Starts ATOM against the sandbox on the test's database (SQLite and Postgres) with
    the given settings: `async with start_session(**overrides) as session:`."""
    await prepare_scheduler_tables(database)

    def start(**overrides: Any) -> AbstractAsyncContextManager[SandboxSession]:
        settings = voice_settings(
            database_url=database.url,
            data_dir=str(tmp_path),
            encryption_keys=generate_key(),
            **overrides,
        )
        return sandbox_session(settings)

    return start


@pytest.fixture
async def session(
    start_session: StartSession, deepgram: DeepgramEmulator
) -> AsyncIterator[SandboxSession]:
    """ATOM with Deepgram's emulator as its speech-to-text service."""
    async with held(start_session(**deepgram.settings_overrides())) as running:
        yield running
