"""The APScheduler backend: schedules fire, jobs run, and on Postgres events cross nodes."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from core.db import Database
from core.settings import Settings
from tests.scheduler.conftest import postgres_only
from workflows.scheduler import JobHandler, ScheduleSpec, Task, Timing
from workflows.scheduling.apscheduler_backend import open_scheduler


class Recorder:
    """Job handlers that record what they were called with."""

    def __init__(self) -> None:
        self.calls: list[tuple[Task, dict[str, Any], datetime | None]] = []
        self.changed = asyncio.Event()

    def handlers(self) -> dict[Task, JobHandler]:
        def bind(task: Task) -> JobHandler:
            async def handle(kwargs: Mapping[str, Any], scheduled_at: datetime | None) -> None:
                self.calls.append((task, dict(kwargs), scheduled_at))
                self.changed.set()

            return handle

        return {task: bind(task) for task in Task}

    async def wait_for(self, count: int, timeout: float = 10) -> None:
        async with asyncio.timeout(timeout):
            while len(self.calls) < count:
                self.changed.clear()
                await self.changed.wait()


def _settings(database: Database) -> Settings:
    return Settings(_env_file=None, database_url=database.url, run_lease_seconds=5)


def _one_off(schedule_id: str, at: datetime) -> ScheduleSpec:
    return ScheduleSpec(
        id=schedule_id,
        task=Task.FIRE_SCHEDULE,
        timing=Timing(at=at.isoformat()),
        anchor=datetime.now(UTC),
        fingerprint="v1",
        kwargs={"workflow_id": schedule_id},
    )


async def test_a_schedule_fires_once_and_a_queued_job_runs(scheduling_database: Database) -> None:
    recorder = Recorder()
    settings = _settings(scheduling_database)
    async with open_scheduler(settings, scheduling_database) as scheduler:
        await scheduler.process(recorder.handlers())
        fire_at = datetime.now(UTC) + timedelta(milliseconds=300)
        assert await scheduler.put_schedule(_one_off("wf-1", fire_at)) == fire_at
        await scheduler.enqueue(Task.EXECUTE_RUN, {"run_id": "run-1"})
        await recorder.wait_for(2)
        await asyncio.sleep(0.3)
    by_task = {task: (kwargs, at) for task, kwargs, at in recorder.calls}
    assert len(recorder.calls) == 2
    assert by_task[Task.FIRE_SCHEDULE] == ({"workflow_id": "wf-1"}, fire_at)
    assert by_task[Task.EXECUTE_RUN] == ({"run_id": "run-1"}, None)


async def test_a_schedule_that_never_fires_is_not_kept(scheduling_database: Database) -> None:
    settings = _settings(scheduling_database)
    async with open_scheduler(settings, scheduling_database) as scheduler:
        past = datetime.now(UTC) - timedelta(hours=1)
        spec = _one_off("wf-past", past)
        assert await scheduler.put_schedule(spec) is not None  # late, so it fires at once
        gone = ScheduleSpec(**{**spec.__dict__, "after": past})  # already fired at `past`
        assert await scheduler.put_schedule(gone) is None
        assert await scheduler.schedules() == []


@postgres_only
async def test_schedules_and_jobs_added_on_one_node_wake_another(
    scheduling_database: Database,
) -> None:
    """The worker below sleeps until an event wakes it (it has nothing due), so it only
    runs what the client adds if the client's NOTIFY reaches it (apscheduler#1141)."""
    recorder = Recorder()
    settings = _settings(scheduling_database)
    async with (
        open_scheduler(settings, scheduling_database, identity="worker") as worker,
        open_scheduler(settings, scheduling_database, identity="client") as client,
    ):
        await worker.process(recorder.handlers())
        await asyncio.sleep(0.5)  # the worker is idle, waiting for events
        await client.enqueue(Task.EXECUTE_RUN, {"run_id": "run-9"})
        await recorder.wait_for(1, timeout=5)
        fire_at = datetime.now(UTC) + timedelta(milliseconds=200)
        await client.put_schedule(_one_off("wf-2", fire_at))
        await recorder.wait_for(2, timeout=5)
        states = await client.schedules()
    assert [call[0] for call in recorder.calls] == [Task.EXECUTE_RUN, Task.FIRE_SCHEDULE]
    assert all(state.next_fire_time is None for state in states)
