"""`atom worker`: a worker node. It fires schedules, polls for events and executes runs,
sharing the schedules and the job queue with every other node on the same Postgres
database; run as many as the load needs (Procfile: `worker: atom worker`).

With the embedded SQLite database the scheduler lives inside `atom run` instead.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from cli.errors import CommandError
from cli.runtime import open_runtime
from core.db import is_sqlite
from core.logging import configure_logging
from core.settings import Settings
from workflows.scheduler import SchedulerError
from workflows.scheduling.node import DEFAULT_CONCURRENCY

log = logging.getLogger("atom.worker")

NEEDS_POSTGRES = (
    "`atom worker` shares schedules and jobs with other nodes through Postgres: set "
    "ATOM_DATABASE_URL=postgresql+asyncpg://… and run `atom db upgrade` once. With the "
    "embedded SQLite database, `atom run` runs the scheduler in its own process."
)


def register(subparsers: argparse._SubParsersAction) -> None:
    worker = subparsers.add_parser(
        "worker",
        help="run a worker node: fire schedules, poll for events, execute runs (Postgres)",
    )
    worker.add_argument(
        "--name", default="", help="the node's name in logs and run leases (default: host:pid)"
    )
    worker.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help="how many jobs this node runs at once (default: %(default)s)",
    )
    worker.set_defaults(handler=command_worker)


def command_worker(args: argparse.Namespace) -> int:
    settings = Settings()
    if is_sqlite(settings.database_url):
        raise CommandError(NEEDS_POSTGRES)
    if args.concurrency < 1:
        raise CommandError("--concurrency must be 1 or more")
    configure_logging(settings.log_level, settings.log_json)
    asyncio.run(serve_worker(settings, args.name or None, args.concurrency))
    return 0


async def serve_worker(settings: Settings, name: str | None, concurrency: int) -> None:
    """Run a worker node until SIGTERM or SIGINT. It posts run status to Slack itself, so
    it is built like every other ATOM process (cli/runtime.py), minus serving HTTP."""
    stopped = _stop_on_signals()
    try:
        async with open_runtime(
            settings, worker=True, serve=False, worker_id=name, concurrency=concurrency
        ) as runtime:
            worker_id = runtime.engine.worker_id
            log.info("worker node %s is running (concurrency %d)", worker_id, concurrency)
            await stopped.wait()
            log.info("worker node %s is stopping", worker_id)
    except SchedulerError as exc:
        raise CommandError(str(exc)) from None


def _stop_on_signals() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT, installed before start-up so that a process
    manager stopping the node early still gets a clean shutdown."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return stop
