"""Fixtures for the workflow tests: the `notes` test service (connector + emulator over
real loopback HTTP) and an engine harness on the `database` fixture (SQLite and Postgres)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from connectors.base import StaticCredentialProvider
from connectors.client import HttpPool
from connectors.registry import Registry
from core.db import Database
from workflows.engine import Engine
from workflows.model import load_workflow
from workflows.store import AuditLog, RunRecord, RunRepo, StepRecord, WorkflowRepo

from .notes import NotesEmulator, NotesSettings
from .notes import connector as notes_connector

TEAM = "T0TEAM"
OWNER = "U0OWNER"


@pytest.fixture
def registry() -> Registry:
    registry = Registry()
    registry.add(notes_connector)
    return registry


@pytest.fixture(scope="session")
def notes_server() -> Iterator[NotesEmulator]:
    with NotesEmulator() as emulator:
        yield emulator


@pytest.fixture
def notes(notes_server: NotesEmulator) -> NotesEmulator:
    """The notes emulator, emptied (one server for the session keeps tests fast)."""
    notes_server.reset()
    return notes_server


@dataclass
class RecordingObserver:
    """Keeps every (run status, {step: status}) it is told about."""

    updates: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    async def on_run_update(self, run: RunRecord, steps: list[StepRecord]) -> None:
        self.updates.append((str(run.status), {s.step_id: str(s.status) for s in steps}))

    def run_statuses(self) -> list[str]:
        statuses: list[str] = []
        for status, _ in self.updates:
            if not statuses or statuses[-1] != status:
                statuses.append(status)
        return statuses


@dataclass
class Harness:
    database: Database
    registry: Registry
    notes: NotesEmulator
    pool: HttpPool
    credentials: StaticCredentialProvider
    settings: NotesSettings
    sleeps: list[float] = field(default_factory=list)
    observer: RecordingObserver = field(default_factory=RecordingObserver)

    @property
    def workflows(self) -> WorkflowRepo:
        return WorkflowRepo(self.database)

    @property
    def runs(self) -> RunRepo:
        return RunRepo(self.database)

    @property
    def audit(self) -> AuditLog:
        return AuditLog(self.database)

    async def record_sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def engine(self, worker_id: str = "worker-a", **settings: Any) -> Engine:
        return Engine(
            self.database,
            self.registry,
            self.pool,
            self.credentials,
            self.settings.model_copy(update=settings),
            observers=[self.observer],
            worker_id=worker_id,
            sleep=self.record_sleep,
        )

    async def store(self, document: str) -> str:
        workflow_id, _ = await self.workflows.create(TEAM, OWNER, load_workflow(document))
        return workflow_id

    async def start(self, document: str, trigger: dict[str, Any] | None = None) -> str:
        workflow_id = await self.store(document)
        return await self.engine().start_run(TEAM, workflow_id, trigger or {}, OWNER)

    async def run(
        self, document: str, trigger: dict[str, Any] | None = None, **settings: Any
    ) -> tuple[RunRecord, dict[str, StepRecord]]:
        run_id = await self.start(document, trigger)
        await self.engine(**settings).execute(run_id)
        return await self.state(run_id)

    async def state(self, run_id: str) -> tuple[RunRecord, dict[str, StepRecord]]:
        run, steps = await self.runs.snapshot(TEAM, run_id)
        return run, {s.step_id: s for s in steps}


@pytest.fixture
async def harness(
    database: Database, notes: NotesEmulator, registry: Registry
) -> AsyncIterator[Harness]:
    settings = NotesSettings(
        notes_base_url=notes.url,
        http_max_retries=0,
        http_timeout_seconds=5.0,
        step_max_attempts=3,
        step_timeout_seconds=3.0,
        run_lease_seconds=30.0,
    )
    pool = HttpPool(settings)
    credentials = StaticCredentialProvider.from_tokens({"notes": notes.issue_token(OWNER)})
    try:
        yield Harness(database, registry, notes, pool, credentials, settings)
    finally:
        await pool.aclose()
