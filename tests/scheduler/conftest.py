"""Fixtures for the scheduler tests: a database with the scheduler's tables (on Postgres,
the `apscheduler` schema the migration creates), emptied before each test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from sqlalchemy import text

from connectors.base import StaticCredentialProvider
from connectors.client import HttpPool
from connectors.registry import Registry, load_registry
from core.db import Database
from core.settings import Settings
from sandbox.github import GitHubEmulator
from sandbox.http_echo import HttpEchoEmulator
from workflows.engine import Engine
from workflows.model import Workflow
from workflows.scheduling.apscheduler_backend import (
    APSCHEDULER_SCHEMA,
    ApScheduler,
    create_apscheduler_tables,
    open_scheduler,
)
from workflows.scheduling.jobs import NodeJobs
from workflows.scheduling.node import (
    TriggerServices,
    open_trigger_services,
    start_worker_node,
)
from workflows.store import RunRecord, RunRepo, WorkflowRepo
from workflows.subscriptions import TriggerState, TriggerStore


async def prepare_scheduler_tables(database: Database) -> None:
    """What `atom db upgrade` does for the scheduler, plus a clean slate."""
    if database.engine.dialect.name != "postgresql":
        return
    async with database.engine.begin() as connection:
        await connection.run_sync(create_apscheduler_tables)
        await connection.execute(
            text(
                f"TRUNCATE {APSCHEDULER_SCHEMA}.jobs, {APSCHEDULER_SCHEMA}.job_results, "
                f"{APSCHEDULER_SCHEMA}.schedules, {APSCHEDULER_SCHEMA}.tasks"
            )
        )


@pytest.fixture
async def scheduling_database(database: Database) -> AsyncIterator[Database]:
    await prepare_scheduler_tables(database)
    yield database


postgres_only = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
"""Run a test that takes `database`/`scheduling_database` on Postgres only."""


# --- an in-process worker node ---------------------------------------------------------------

T = TypeVar("T")
TEAM = "T0SCHED"
OWNER = "U0OWNER"
GITHUB_SECRET = "webhook-secret-for-tests"


@pytest.fixture
def echo() -> Iterator[HttpEchoEmulator]:
    with HttpEchoEmulator() as emulator:
        yield emulator


@pytest.fixture
def github() -> Iterator[GitHubEmulator]:
    with GitHubEmulator() as emulator:
        yield emulator


@dataclass
class Node:
    services: TriggerServices
    engine: Engine
    jobs: NodeJobs


@dataclass
class World:
    """A database, the real http + github connectors against their emulators, and
    helpers to store workflows and watch their runs."""

    database: Database
    settings: Settings
    registry: Registry
    credentials: StaticCredentialProvider

    def with_settings(self, **changes: Any) -> World:
        return World(
            self.database, self.settings.model_copy(update=changes), self.registry, self.credentials
        )

    def client(self) -> AbstractAsyncContextManager[ApScheduler]:
        """A scheduler nobody processes: schedules stay put while a test looks at them.
        (A context manager, not a fixture: anyio task groups cannot span fixture tasks.)"""
        return open_scheduler(self.settings, self.database)

    def engine(self, worker_id: str, pool: HttpPool) -> Engine:
        return Engine(
            self.database, self.registry, pool, self.credentials, self.settings, worker_id=worker_id
        )

    @asynccontextmanager
    async def node(self, worker_id: str = "node-a") -> AsyncIterator[Node]:
        """A worker node in this process (plus its job handlers, to call directly)."""
        pool = HttpPool(self.settings)
        engine = self.engine(worker_id, pool)
        try:
            async with start_worker_node(
                self.settings, self.database, engine, self.registry
            ) as services:
                jobs = NodeJobs(
                    self.database,
                    engine,
                    self.registry,
                    self.settings,
                    services.triggers,
                    services.runs,
                )
                yield Node(services, engine, jobs)
        finally:
            await pool.aclose()

    @asynccontextmanager
    async def trigger_client(self) -> AsyncIterator[TriggerServices]:
        """Trigger services that run nothing here (what a web or bot process has)."""
        pool = HttpPool(self.settings)
        engine = self.engine("test-client", pool)
        try:
            async with open_trigger_services(
                self.settings, self.database, engine, self.registry
            ) as services:
                yield services
        finally:
            await pool.aclose()

    async def store(self, workflow: dict[str, Any]) -> str:
        workflow_id, _ = await WorkflowRepo(self.database).create(
            TEAM, OWNER, Workflow.model_validate(workflow)
        )
        return workflow_id

    async def activate(self, node: Node, trigger: dict[str, Any]) -> TriggerState:
        """Store an echo workflow with `trigger` and apply it on `node`."""
        workflow_id = await self.store(echo_workflow(self.settings.http_base_url, trigger))
        state = await node.services.triggers.apply(TEAM, workflow_id)
        assert state is not None
        return state

    async def state_when(
        self, workflow_id: str, ready: Callable[[TriggerState], bool]
    ) -> TriggerState:
        async def probe() -> TriggerState | None:
            state = await TriggerStore(self.database).get(workflow_id)
            return state if state is not None and ready(state) else None

        return await eventually(probe)

    async def cursor_set(self, workflow_id: str) -> None:
        """The node polls once right at activation: that poll only records "now"."""
        await self.state_when(workflow_id, lambda state: state.cursor is not None)

    async def runs(self, workflow_id: str) -> list[RunRecord]:
        return await RunRepo(self.database).list_for_workflow(TEAM, workflow_id, limit=100)

    async def wait_for_runs(
        self, workflow_id: str, count: int, *, finished: bool = True, timeout: float = 10
    ) -> list[RunRecord]:
        async with asyncio.timeout(timeout):
            while True:
                runs = await self.runs(workflow_id)
                if len(runs) >= count and (not finished or all(r.status.finished for r in runs)):
                    return runs
                await asyncio.sleep(0.05)


async def eventually(probe: Callable[[], Awaitable[T | None]], timeout: float = 5) -> T:
    """The first truthy answer of `probe`, asked every 50 ms for up to `timeout` seconds."""
    async with asyncio.timeout(timeout):
        while True:
            if answer := await probe():
                return answer
            await asyncio.sleep(0.05)


def job_for(state: TriggerState) -> dict[str, str]:
    """The job a workflow's schedule or poll gives its handler."""
    return {"team_id": TEAM, "workflow_id": state.workflow_id, "fingerprint": state.fingerprint}


def echo_workflow(echo_url: str, trigger: dict[str, Any], name: str = "ping") -> dict[str, Any]:
    """A one-step workflow: GET the echo emulator."""
    return {
        "name": name,
        "trigger": trigger,
        "steps": [
            {"id": "ping", "action": "http.request", "with": {"url": f"{echo_url}/anything"}}
        ],
    }


@pytest.fixture
def world(scheduling_database: Database, echo: HttpEchoEmulator, github: GitHubEmulator) -> World:
    settings = Settings(
        _env_file=None,
        database_url=scheduling_database.url,
        run_lease_seconds=5,
        misfire_grace_seconds=60,
        poll_interval_seconds=3600,  # tests poll by hand
        github_webhook_secret=GITHUB_SECRET,
        http_max_retries=0,
        log_json=False,
        **echo.settings_overrides(),
        **github.settings_overrides(),
    )
    credentials = StaticCredentialProvider.from_tokens({"github": github.issue_token(OWNER)})
    registry = load_registry(["connectors.http", "connectors.github"])
    return World(scheduling_database, settings, registry, credentials)
