"""The Scheduler on APScheduler 4 (`apscheduler==4.0.0a6`).

Two setups, chosen by the database URL:

- Postgres: APScheduler's SQLAlchemy data store on our async engine, its tables in their
  own schema (`apscheduler`, created by the migration `*_apscheduler_tables.py` — never by
  nodes racing at first start), and `PsycopgEventBroker` (LISTEN/NOTIFY) so every node
  hears about new schedules and jobs at once. Not `AsyncpgEventBroker`: with anyio >= 4.14
  it drops cross-node events silently (agronholm/apscheduler#1141).
- SQLite (embedded, one process): the memory data store and the local broker. Nothing
  is persisted there; reconcile rebuilds the schedules from our tables at start, and our
  tables record the last fire of each schedule, so the misfire policy still applies.

Every process opens the scheduler as a client (a web or bot process adds schedules and
queues jobs); a worker node then calls `process(handlers)` to run them too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Collection, Mapping
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from apscheduler import (
    AsyncScheduler,
    CoalescePolicy,
    ConflictPolicy,
    Schedule,
    SchedulerRole,
    TaskDefaults,
    current_job,
)
from apscheduler.abc import DataStore, EventBroker
from apscheduler.datastores.memory import MemoryDataStore
from apscheduler.datastores.sqlalchemy import SQLAlchemyDataStore
from apscheduler.eventbrokers.local import LocalEventBroker
from apscheduler.eventbrokers.psycopg import PsycopgEventBroker
from sqlalchemy import Connection, Engine, MetaData, text
from sqlalchemy.engine import make_url
from sqlalchemy.schema import CreateSchema

from core.db import Database, is_sqlite
from core.settings import Settings
from workflows.scheduler import (
    JobHandler,
    Scheduler,
    SchedulerError,
    ScheduleSpec,
    ScheduleState,
    Task,
)
from workflows.scheduling.triggers import build_trigger

APSCHEDULER_SCHEMA = "apscheduler"
NOTIFY_CHANNEL = "atom_scheduler"
FINGERPRINT_KEY = "fingerprint"
JOB_EXECUTOR = "async"
DRAIN_SECONDS = 10.0
MIN_LEASE_SECONDS = 30.0
"""APScheduler's own leases on the schedules and jobs a node holds. Long on purpose:
4.0.0a6 crashes a node that re-acquires a job it is still running (its lease ran out
while the event loop was busy), and a dead node's *runs* are taken over sooner anyway,
by the engine's run leases (`run_lease_seconds`, RECOVER_RUNS)."""
MISSING_TABLES = (
    "The scheduler's tables (schema `apscheduler`) are missing in this Postgres database. "
    "Run `atom db upgrade` once before starting worker nodes."
)
log = logging.getLogger(__name__)


# --- tables (used by the migration) ---------------------------------------------------------


def apscheduler_metadata(engine: Engine) -> MetaData:
    """APScheduler's own table definitions for `engine`'s dialect, in APSCHEDULER_SCHEMA."""
    return SQLAlchemyDataStore(engine, schema=APSCHEDULER_SCHEMA).get_table_definitions()


def create_apscheduler_tables(connection: Connection) -> None:
    """Create the schema, the tables and the schema-version row (Postgres only)."""
    connection.execute(CreateSchema(APSCHEDULER_SCHEMA, if_not_exists=True))
    metadata = apscheduler_metadata(connection.engine)
    metadata.create_all(connection)
    versions = metadata.tables[f"{APSCHEDULER_SCHEMA}.metadata"]
    if connection.execute(versions.select()).first() is None:
        connection.execute(versions.insert().values(schema_version=1))


def drop_apscheduler_tables(connection: Connection) -> None:
    connection.execute(text(f'DROP SCHEMA IF EXISTS "{APSCHEDULER_SCHEMA}" CASCADE'))


# --- the Scheduler -------------------------------------------------------------------------


class ApScheduler(Scheduler):
    """`Scheduler` over one started `AsyncScheduler`."""

    def __init__(self, scheduler: AsyncScheduler) -> None:
        self.apscheduler = scheduler
        self._running = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def identity(self) -> str:
        return self.apscheduler.identity

    async def put_schedule(self, spec: ScheduleSpec) -> datetime | None:
        trigger = build_trigger(spec.timing, spec.anchor, spec.after)
        first_fire = trigger.next()
        if first_fire is None:
            await self.remove_schedules([spec.id])
            return None
        # What AsyncScheduler.add_schedule builds, minus its task lookup per call (every
        # task was configured when the scheduler was opened).
        schedule = Schedule(
            id=spec.id,
            task_id=spec.task.value,
            trigger=trigger,
            kwargs=dict(spec.kwargs),
            coalesce=CoalescePolicy.latest,
            misfire_grace_time=None,  # our handlers apply the misfire policy and record it
            job_executor=JOB_EXECUTOR,
            metadata={FINGERPRINT_KEY: spec.fingerprint},
            next_fire_time=first_fire,
        )
        await self.apscheduler.data_store.add_schedule(schedule, ConflictPolicy.replace)
        return first_fire

    async def remove_schedules(self, ids: Collection[str]) -> None:
        if ids:
            await self.apscheduler.data_store.remove_schedules(set(ids))

    async def schedules(self, ids: Collection[str] | None = None) -> list[ScheduleState]:
        if ids is not None and not ids:
            return []
        return [
            ScheduleState(
                id=schedule.id,
                task=schedule.task_id,
                fingerprint=schedule.metadata.get(FINGERPRINT_KEY),
                next_fire_time=schedule.next_fire_time,
                paused=schedule.paused,
            )
            for schedule in await self.apscheduler.data_store.get_schedules(
                set(ids) if ids is not None else None
            )
        ]

    async def enqueue(self, task: Task, kwargs: Mapping[str, Any]) -> None:
        await self.apscheduler.add_job(task.value, kwargs=dict(kwargs))

    async def process(self, handlers: Mapping[Task, JobHandler]) -> None:
        """Become a worker node: bind `handlers` and start processing due schedules and
        queued jobs in the background (until the scheduler's context exits)."""
        for task, handler in handlers.items():
            await self.apscheduler.configure_task(task.value, func=self._bound(handler))
        await self.apscheduler.start_in_background()
        log.info("worker node %s started", self.identity)

    def _bound(self, handler: JobHandler) -> Any:
        """The callable APScheduler runs for a task: the node's handler, given the job's
        arguments and the fire time it was created for, counted while it runs."""

        async def run_job(**kwargs: Any) -> None:
            self._running += 1
            self._idle.clear()
            try:
                await handler(kwargs, current_job.get().scheduled_fire_time)
            finally:
                self._running -= 1
                if not self._running:
                    self._idle.set()

        return run_job

    async def drain(self, timeout: float) -> None:
        """Take no more jobs and give the running ones up to `timeout` seconds to end
        (what is still running then is cancelled; its run is recovered elsewhere)."""
        self.apscheduler.max_concurrent_jobs = 0
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._idle.wait()
        if self._running:
            log.warning("stopping with %d job(s) still running", self._running)


# --- construction --------------------------------------------------------------------------


def psycopg_conninfo(database_url: str) -> str:
    """The libpq URL of an SQLAlchemy Postgres URL (`postgresql+asyncpg://…`)."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


async def _check_tables(database: Database) -> None:
    async with database.engine.connect() as connection:
        found = await connection.scalar(
            text("SELECT to_regclass(:name)"), {"name": f"{APSCHEDULER_SCHEMA}.schedules"}
        )
    if found is None:
        raise SchedulerError(MISSING_TABLES)


async def _services(database: Database) -> tuple[DataStore, EventBroker]:
    if is_sqlite(database.url):
        return MemoryDataStore(), LocalEventBroker()
    await _check_tables(database)
    return (
        SQLAlchemyDataStore(database.engine, schema=APSCHEDULER_SCHEMA),
        PsycopgEventBroker(psycopg_conninfo(database.url), channel=NOTIFY_CHANNEL),
    )


@asynccontextmanager
async def open_scheduler(
    settings: Settings, database: Database, *, identity: str = "", max_concurrent_jobs: int = 50
) -> AsyncIterator[ApScheduler]:
    """The scheduler for `database`, as a client: it adds schedules and queues jobs.
    `await scheduler.process(handlers)` makes this process a worker node as well."""
    data_store, event_broker = await _services(database)
    scheduler = AsyncScheduler(
        data_store,
        event_broker,
        identity=identity,
        role=SchedulerRole.both,
        max_concurrent_jobs=max_concurrent_jobs,
        task_defaults=TaskDefaults(job_executor=JOB_EXECUTOR, max_running_jobs=None),
        lease_duration=timedelta(seconds=max(settings.run_lease_seconds, MIN_LEASE_SECONDS)),
        logger=logging.getLogger("apscheduler"),  # core.logging quiets it below WARNING
    )
    async with scheduler:
        for task in Task:
            await scheduler.configure_task(
                task.value, max_running_jobs=None, misfire_grace_time=None
            )
        wrapper = ApScheduler(scheduler)
        try:
            yield wrapper
        finally:
            await wrapper.drain(DRAIN_SECONDS)
