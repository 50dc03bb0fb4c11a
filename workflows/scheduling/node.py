"""Worker nodes and the trigger services every process uses.

    async with start_worker_node(settings, database, engine, registry) as services:
        ...  # this process fires schedules, polls events and executes runs

    async with open_trigger_services(settings, database, engine, registry) as services:
        ...  # a web or bot process: it starts runs and applies triggers; workers run them

`services.runs.start(...)` starts a run (as a job), `services.triggers.apply(team_id,
workflow_id)` brings a workflow's schedule/subscription in line after it was approved,
edited, paused, resumed, rolled back or deleted, and `services.webhooks` takes inbound
deliveries. On SQLite (embedded) the scheduler lives in memory, so the worker node must
be in the same process as the bot (`atom run`); on Postgres any number of `atom worker`
processes share the schedules and jobs.

A node's identity (in APScheduler and in run leases) is the engine's `worker_id`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from connectors.registry import Registry
from core.db import Database, is_sqlite
from core.settings import Settings
from workflows.engine import Engine
from workflows.scheduler import Scheduler, SchedulerError
from workflows.scheduling.apscheduler_backend import ApScheduler, open_scheduler
from workflows.scheduling.jobs import NodeJobs
from workflows.scheduling.reconcile import TriggerSync
from workflows.scheduling.runs import RunQueue
from workflows.scheduling.webhooks import WebhookInbox
from workflows.subscriptions import TriggerStore

DEFAULT_CONCURRENCY = 50


@dataclass(frozen=True)
class TriggerServices:
    """What the bot and the web app use to start runs and keep triggers in line."""

    scheduler: Scheduler
    runs: RunQueue
    triggers: TriggerSync
    webhooks: WebhookInbox
    states: TriggerStore


def _services(
    settings: Settings,
    database: Database,
    engine: Engine,
    registry: Registry,
    scheduler: ApScheduler,
) -> TriggerServices:
    states = TriggerStore(database)
    runs = RunQueue(engine, scheduler, states)
    return TriggerServices(
        scheduler=scheduler,
        runs=runs,
        triggers=TriggerSync(database, scheduler, registry, settings),
        webhooks=WebhookInbox(database, registry, settings, runs),
        states=states,
    )


@asynccontextmanager
async def open_trigger_services(
    settings: Settings, database: Database, engine: Engine, registry: Registry
) -> AsyncIterator[TriggerServices]:
    """The trigger services of a process that runs no jobs itself (a web or bot process
    next to `atom worker` nodes). Postgres only: on SQLite the scheduler lives in the
    memory of the one process that runs everything (`start_worker_node`)."""
    if is_sqlite(database.url):
        raise SchedulerError(
            "With the embedded SQLite database the scheduler runs inside the process that "
            "executes the runs: use start_worker_node (as `atom run` does), or move to "
            "Postgres to run separate worker processes."
        )
    async with open_scheduler(settings, database, identity=engine.worker_id) as scheduler:
        yield _services(settings, database, engine, registry, scheduler)


@asynccontextmanager
async def start_worker_node(
    settings: Settings,
    database: Database,
    engine: Engine,
    registry: Registry,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> AsyncIterator[TriggerServices]:
    """Make this process a worker node until the context exits: reconcile the scheduler
    with our tables, then fire schedules, poll events and execute runs (at most
    `concurrency` jobs at once). Raises SchedulerError when it cannot start (e.g. the
    scheduler's Postgres tables are missing: run `atom db upgrade`)."""
    async with open_scheduler(
        settings, database, identity=engine.worker_id, max_concurrent_jobs=concurrency
    ) as scheduler:
        services = _services(settings, database, engine, registry, scheduler)
        await services.triggers.reconcile()
        jobs = NodeJobs(database, engine, registry, settings, services.triggers, services.runs)
        await scheduler.process(jobs.handlers())
        yield services
