"""Two real worker processes (`python -m cli.main worker`) on one Postgres database: the
test process only adds schedules and runs, as a web or bot process would."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.providers import TokenSet
from connectors.vault import ConnectionKey, Vault
from core.security import TokenCipher, generate_key
from sandbox.github import DEMO_REPO, GitHubEmulator
from tests.scheduler.conftest import OWNER, TEAM, World, echo_workflow, eventually, postgres_only
from workflows.store import RunRecord, RunRepo, RunStatus
from workflows.subscriptions import ReceiptOutcome, TriggerStore

pytestmark = [pytest.mark.slow, postgres_only]

ROOT = Path(__file__).resolve().parents[2]
ENCRYPTION_KEY = generate_key()


@dataclass
class WorkerProcess:
    name: str
    process: asyncio.subprocess.Process
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        self.process.kill()


def _environment(world: World, tmp_path: Path) -> dict[str, str]:
    settings = world.settings
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("ATOM_")},
        "ATOM_DATABASE_URL": settings.database_url,
        "ATOM_DATA_DIR": str(tmp_path),
        "ATOM_ENCRYPTION_KEYS": ENCRYPTION_KEY,
        "ATOM_RUN_LEASE_SECONDS": "2",
        "ATOM_MISFIRE_GRACE_SECONDS": "60",
        "ATOM_POLL_INTERVAL_SECONDS": "3600",
        "ATOM_HTTP_BASE_URL": settings.http_base_url,
        "ATOM_GITHUB_BASE_URL": settings.github_base_url,
        "ATOM_LOG_JSON": "false",
        "ATOM_LOG_LEVEL": "INFO",
    }


@asynccontextmanager
async def workers(
    world: World, tmp_path: Path, names: tuple[str, ...] = ("w1", "w2")
) -> AsyncIterator[dict[str, WorkerProcess]]:
    """Worker processes, started and ready; always stopped (killed if need be) on exit."""
    environment = _environment(world, tmp_path)
    started: dict[str, WorkerProcess] = {}
    try:
        for name in names:
            log_path = tmp_path / f"{name}.log"
            with log_path.open("wb") as log_file:
                process = await asyncio.create_subprocess_exec(
                    *(sys.executable, "-m", "cli.main", "worker", "--name", name),
                    cwd=ROOT,
                    env=environment,
                    stdout=log_file,
                    stderr=asyncio.subprocess.STDOUT,
                )
            started[name] = WorkerProcess(name, process, log_path)

        async def ready() -> bool:
            for worker in started.values():
                assert worker.process.returncode is None, f"{worker.name} died:\n{worker.log()}"
            return all("is running" in worker.log() for worker in started.values())

        await eventually(ready, timeout=30)
        yield started
    finally:
        for worker in started.values():
            with contextlib.suppress(ProcessLookupError):  # already gone (killed)
                worker.process.terminate()
        for worker in started.values():
            try:
                async with asyncio.timeout(15):
                    await worker.process.wait()
            except TimeoutError:
                worker.kill()
                await worker.process.wait()


async def _runs(world: World) -> list[RunRecord]:
    return await RunRepo(world.database).list_for_team(TEAM, limit=500)


async def test_fifty_schedules_due_at_once_each_run_exactly_once(
    world: World, tmp_path: Path
) -> None:
    url = world.settings.http_base_url
    async with workers(world, tmp_path) as nodes, world.trigger_client() as client:
        fire_at = datetime.now(UTC) + timedelta(seconds=3)
        trigger = {"type": "schedule", "at": fire_at.isoformat(), "timezone": "UTC"}
        workflow_ids = [
            await world.store(echo_workflow(url, trigger, name=f"ping {i}")) for i in range(50)
        ]
        for workflow_id in workflow_ids:
            await client.triggers.apply(TEAM, workflow_id)
        assert datetime.now(UTC) < fire_at, "setting up took longer than the lead time"

        async def all_finished() -> list[RunRecord] | None:
            runs = await _runs(world)
            done = len(runs) >= 50 and all(r.status.finished for r in runs)
            return runs if done else None

        try:
            await eventually(
                all_finished, timeout=120
            )  # generous: a loaded CI machine is slow, a duplicate is the failure
        except TimeoutError:
            statuses = Counter(str(run.status) for run in await _runs(world))
            logs = "\n".join(node.log()[-3000:] for node in nodes.values())
            pytest.fail(f"runs by status after 40s: {dict(statuses)}\n{logs}")
        await asyncio.sleep(1)  # time for any duplicate to show up
        runs = await _runs(world)
        assert all(node.process.returncode is None for node in nodes.values())

    assert sorted(run.workflow_id for run in runs) == sorted(workflow_ids)
    assert {run.status for run in runs} == {RunStatus.SUCCEEDED}
    assert {run.trigger_payload["scheduled_at"] for run in runs} == {fire_at.isoformat()}
    states = TriggerStore(world.database)
    for workflow_id in workflow_ids:
        [receipt] = await states.receipts(workflow_id)
        assert receipt.outcome == ReceiptOutcome.STARTED


async def test_a_run_whose_worker_dies_is_finished_by_the_other_after_its_lease(
    world: World, github: GitHubEmulator, tmp_path: Path
) -> None:
    """The worker holding the run is killed while its step waits on GitHub; the other
    worker takes the run over once the lease (2s) has expired and finishes it. The step
    (listing issues) is idempotent, so it is simply called again."""
    vault = Vault(world.database, TokenCipher([ENCRYPTION_KEY]), world.settings, world.registry)
    token = github.issue_token(OWNER)["access_token"]
    await vault.store(ConnectionKey(TEAM, OWNER, "github"), TokenSet(token, scopes=("repo",)))
    issues_path = f"/repos/{DEMO_REPO}/issues"
    github.fail(issues_path, kind="delay", delay=4, times=1)  # the first call hangs
    workflow_id = await world.store(
        {
            "name": "list issues",
            "trigger": {"type": "manual"},
            "steps": [
                {"id": "issues", "action": "github.list_issues", "with": {"repo": DEMO_REPO}}
            ],
        }
    )
    async with workers(world, tmp_path) as nodes, world.trigger_client() as client:
        run_id = await client.runs.start(TEAM, workflow_id, {}, OWNER)

        async def in_flight() -> RunRecord | None:
            run = await RunRepo(world.database).get(TEAM, run_id)
            waiting = run.status == RunStatus.RUNNING and github.received(issues_path)
            return run if waiting and run.lease_owner in nodes else None

        running = await eventually(in_flight, timeout=20)
        assert running.lease_owner is not None
        victim = nodes[running.lease_owner]
        victim.kill()
        killed_at = datetime.now(UTC)

        async def finished() -> RunRecord | None:
            run = await RunRepo(world.database).get(TEAM, run_id)
            return run if run.status.finished else None

        done = await eventually(finished, timeout=30)
        survivor = next(node for node in nodes.values() if node is not victim)

    assert done.status == RunStatus.SUCCEEDED, done.message
    assert done.finished_at is not None and done.finished_at > killed_at + timedelta(seconds=1)
    assert f"run {run_id} running on {survivor.name}" in survivor.log()
    assert len(github.received(issues_path)) == 2
