"""Scheduler benchmark on Postgres: runs/second per worker, and fire lateness with many
active schedules. Real `atom worker` processes do the work; this script only sets up,
queues and measures. Each run has one step (an HTTP GET to a local echo server).

.venv/bin/python bench/scheduler_bench.py                    # 10,000 schedules, 2 workers
.venv/bin/python bench/scheduler_bench.py --schedules 2000 --firing 300 --duration 30

It creates (and drops) its own database next to ATOM_BENCH_POSTGRES_ADMIN_URL
(default postgresql://postgres@127.0.0.1:5432/postgres).

1. throughput: `--runs` runs are queued, then `--workers` workers start and drain them;
   runs/s = runs / (last finish - first start), per worker = that / workers.
2. lateness: `--schedules` active schedule workflows (put into the scheduler by one
   reconcile, timed), of which `--firing` fire every minute at evenly spread seconds
   (the rest weekly). The workers start again; after `--warmup` seconds, each fire due
   in the next `--duration` seconds counts: its lateness is when its handler ran minus
   its scheduled time. Every fire also runs its workflow, so keep the firing rate below
   the throughput measured in part 1, or the lateness measures a backlog of runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import func, insert, select

from connectors.base import StaticCredentialProvider
from connectors.client import HttpPool
from connectors.registry import load_registry
from core.db import Database, utcnow
from core.settings import Settings
from migrations.runner import upgrade
from sandbox.http_echo import HttpEchoEmulator
from workflows.engine import Engine
from workflows.model import Workflow
from workflows.scheduling.node import TriggerServices, open_trigger_services
from workflows.store import RunRow, WorkflowRepo, WorkflowRow, WorkflowState, WorkflowVersionRow
from workflows.subscriptions import TriggerReceiptRow

ROOT = Path(__file__).resolve().parents[1]
ADMIN_URL = os.environ.get(
    "ATOM_BENCH_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
TEAM = "TBENCH"
OWNER = "UBENCH"
FIRE_PREFIX = "fire:"
DRAIN_SECONDS = 15


# --- setup ----------------------------------------------------------------------------------


@asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    name = f"atom_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(ADMIN_URL, timeout=5)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        yield f"{url}/{name}"
    finally:
        admin = await asyncpg.connect(ADMIN_URL, timeout=5)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def workflow_document(echo_url: str, trigger: dict[str, Any], name: str) -> dict[str, Any]:
    return {
        "name": name,
        "trigger": trigger,
        "steps": [
            {"id": "ping", "action": "http.request", "with": {"url": f"{echo_url}/anything"}}
        ],
    }


async def insert_schedules(database: Database, echo_url: str, total: int, firing: int) -> None:
    """`total` active schedule workflows in one transaction; `firing` of them every minute."""
    now = utcnow()
    workflows, versions = [], []
    for index in range(total):
        if index < firing:
            second = index * 60 // max(firing, 1)
            trigger = {"type": "schedule", "rrule": f"FREQ=MINUTELY;BYSECOND={second}"}
        else:
            trigger = {"type": "schedule", "cron": f"{index % 60} {index % 24} * * {index % 7}"}
        workflow_id = f"wf_bench_{index:06d}"
        workflows.append(
            {
                "id": workflow_id,
                "team_id": TEAM,
                "owner": OWNER,
                "name": f"bench {index}",
                "state": WorkflowState.ACTIVE,
                "active_version": 1,
                "latest_version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
        versions.append(
            {
                "team_id": TEAM,
                "workflow_id": workflow_id,
                "version": 1,
                "document": workflow_document(echo_url, trigger, f"bench {index}"),
                "created_by": OWNER,
                "created_at": now,
            }
        )
    async with database.session() as session:
        await session.execute(insert(WorkflowRow), workflows)
        await session.execute(insert(WorkflowVersionRow), versions)


# --- worker processes -----------------------------------------------------------------------


@asynccontextmanager
async def workers(
    settings: Settings, count: int, logs: Path
) -> AsyncIterator[list[asyncio.subprocess.Process]]:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ATOM_")},
        "ATOM_DATABASE_URL": settings.database_url,
        "ATOM_DATA_DIR": str(logs),
        "ATOM_LOG_JSON": "false",
        "ATOM_LOG_LEVEL": "WARNING",
    }
    processes: list[asyncio.subprocess.Process] = []
    try:
        for index in range(count):
            with (logs / f"worker-{index}.log").open("wb") as log_file:
                processes.append(
                    await asyncio.create_subprocess_exec(
                        *(sys.executable, "-m", "cli.main", "worker", "--name", f"bench-{index}"),
                        cwd=ROOT,
                        env=environment,
                        stdout=log_file,
                        stderr=asyncio.subprocess.STDOUT,
                    )
                )
        yield processes
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
        for process in processes:
            try:
                async with asyncio.timeout(20):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()


# --- measurements ---------------------------------------------------------------------------


async def wait_until_finished(database: Database, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    query = select(func.count()).select_from(RunRow).where(RunRow.finished_at.is_not(None))
    while time.monotonic() < deadline:
        async with database.session() as session:
            if (await session.scalar(query) or 0) >= count:
                return
        await asyncio.sleep(0.5)
    raise TimeoutError(f"{count} runs did not finish within {timeout:.0f}s")


async def throughput(database: Database) -> tuple[int, float]:
    async with database.session() as session:
        first, last, done = (
            await session.execute(
                select(func.min(RunRow.started_at), func.max(RunRow.finished_at), func.count())
            )
        ).one()
    return done, (last - first).total_seconds()


async def lateness(database: Database, start: datetime, end: datetime) -> list[float]:
    """Seconds from each fire time in [start, end) to when its handler ran."""
    async with database.session() as session:
        rows = await session.execute(
            select(TriggerReceiptRow.key, TriggerReceiptRow.received_at).where(
                TriggerReceiptRow.key.startswith(FIRE_PREFIX)
            )
        )
        fires = [
            (datetime.fromisoformat(key.removeprefix(FIRE_PREFIX)), received)
            for key, received in rows
        ]
    return [(received - fired).total_seconds() for fired, received in fires if start <= fired < end]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


# --- the benchmark ------------------------------------------------------------------------------


async def bench(args: argparse.Namespace) -> None:
    async with fresh_database() as url:
        settings = Settings(_env_file=None, database_url=url, log_json=False)
        await asyncio.to_thread(upgrade, url)
        database = Database(url)
        registry = load_registry(["connectors.http"])
        pool = HttpPool(settings)
        engine = Engine(
            database, registry, pool, StaticCredentialProvider(), settings, worker_id="bench"
        )
        try:
            with HttpEchoEmulator() as echo:
                async with open_trigger_services(settings, database, engine, registry) as client:
                    await measure(args, settings, database, client, echo.url, Path(args.logs))
        finally:
            await pool.aclose()
            await database.dispose()


async def measure(
    args: argparse.Namespace,
    settings: Settings,
    database: Database,
    client: TriggerServices,
    echo_url: str,
    logs: Path,
) -> None:
    print(f"scheduler bench: {args.workers} worker process(es) on PostgreSQL", flush=True)
    manual = workflow_document(echo_url, {"type": "manual"}, "bench manual")
    workflow_id, _ = await WorkflowRepo(database).create(
        TEAM, OWNER, Workflow.model_validate(manual)
    )
    for _ in range(args.runs):
        await client.runs.start(TEAM, workflow_id, {}, OWNER)
    async with workers(settings, args.workers, logs):
        await wait_until_finished(database, args.runs, timeout=args.runs + 120)
        done, seconds = await throughput(database)
        rate = done / seconds
        print(
            f"throughput: {done} runs in {seconds:.1f}s -> {rate:.1f} runs/s "
            f"({rate / args.workers:.1f} runs/s per worker)",
            flush=True,
        )

    await insert_schedules(database, echo_url, args.schedules, args.firing)
    started = time.perf_counter()
    report = await client.triggers.reconcile()
    print(
        f"schedules: {args.schedules} active ({args.firing} fire every minute); "
        f"reconcile put {len(report.put)} in {time.perf_counter() - started:.1f}s",
        flush=True,
    )
    async with workers(settings, args.workers, logs):
        await asyncio.sleep(args.warmup)  # node start-up and the fires missed meanwhile
        window_start = utcnow()
        await asyncio.sleep(args.duration)
        window_end = utcnow()
        await asyncio.sleep(DRAIN_SECONDS)  # let fires due late in the window be handled
        late = await lateness(database, window_start, window_end)
    expected = args.firing * args.duration // 60
    if not late:
        print(f"fire lateness: none of ~{expected} fires was handled", flush=True)
        return
    print(
        f"fire lateness over {args.duration}s: {len(late)} of ~{expected} fires, "
        f"p50 {statistics.median(late):.3f}s, p99 {percentile(late, 0.99):.3f}s, "
        f"max {max(late):.3f}s",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=10_000, help="active schedules")
    parser.add_argument("--firing", type=int, default=300, help="schedules firing each minute")
    parser.add_argument("--duration", type=int, default=90, help="seconds to measure lateness")
    parser.add_argument("--warmup", type=int, default=20, help="seconds before measuring")
    parser.add_argument("--runs", type=int, default=1_000, help="runs for the throughput part")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--logs", default=".atom/bench", help="where the workers' logs go")
    args = parser.parse_args(argv)
    if args.firing > args.schedules:
        parser.error("--firing cannot exceed --schedules")
    Path(args.logs).mkdir(parents=True, exist_ok=True)
    asyncio.run(bench(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
