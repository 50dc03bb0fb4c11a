from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from cli.sandbox_session import SandboxSession, sandbox_session
from core.db import Database
from core.settings import Settings
from sandbox.deepgram import DeepgramEmulator
from sandbox.whisper import WhisperEmulator

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
    emulator = WhisperEmulator()
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
def start_session(database: Database) -> StartSession:
    """Starts ATOM against the Slack emulator on the test's database (SQLite and
    Postgres) with the given settings: `async with start_session(**overrides) as s:`."""

    def start(**overrides: Any) -> AbstractAsyncContextManager[SandboxSession]:
        return sandbox_session(voice_settings(database_url=database.url, **overrides))

    return start


@pytest.fixture
async def session(
    start_session: StartSession, deepgram: DeepgramEmulator
) -> AsyncIterator[SandboxSession]:
    """ATOM with Deepgram's emulator as its speech-to-text service."""
    async with start_session(**deepgram.settings_overrides()) as running:
        yield running
