"""Schedules fire runs exactly once; misfires and overlaps are skipped and recorded;
restarting keeps every schedule and applies the misfire policy (SQLite: the memory
scheduler rebuilt from our tables; Postgres: APScheduler's tables)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from tests.scheduler.conftest import OWNER, TEAM, World, echo_workflow
from workflows.scheduling.jobs import fire_key
from workflows.scheduling.reconcile import SCHEDULE_PREFIX
from workflows.store import AuditLog, RunStatus, WorkflowRepo, WorkflowState
from workflows.subscriptions import ReceiptOutcome, TriggerStore


def _at(moment: datetime) -> dict[str, str]:
    return {"type": "schedule", "at": moment.isoformat(), "timezone": "UTC"}


async def test_a_due_schedule_starts_exactly_one_run(world: World) -> None:
    async with world.node() as node:
        fire_at = datetime.now(UTC) + timedelta(milliseconds=400)
        workflow_id = await world.store(echo_workflow(world.settings.http_base_url, _at(fire_at)))
        await node.services.triggers.apply(TEAM, workflow_id)
        [run] = await world.wait_for_runs(workflow_id, 1)
        assert run.status == RunStatus.SUCCEEDED
        assert run.trigger_kind == "schedule"
        assert run.trigger_payload["scheduled_at"] == fire_at.isoformat()
        # the same fire delivered again (a retried job, a second node) starts nothing
        job = {"team_id": TEAM, "workflow_id": workflow_id, "fingerprint": ""}
        state = await TriggerStore(world.database).get(workflow_id)
        assert state is not None and state.last_fire_at == fire_at
        await node.jobs.fire_schedule({**job, "fingerprint": state.fingerprint}, fire_at)
        assert len(await world.runs(workflow_id)) == 1
        # an `at` schedule is done once it fired
        [held] = await node.services.scheduler.schedules([SCHEDULE_PREFIX + workflow_id])
        assert held.next_fire_time is None


async def test_a_fire_found_after_the_grace_period_is_skipped_and_recorded(world: World) -> None:
    world = world.with_settings(misfire_grace_seconds=30)
    async with world.node() as node:
        workflow_id = await world.store(
            echo_workflow(world.settings.http_base_url, {"type": "schedule", "cron": "0 9 * * *"})
        )
        state = await node.services.triggers.apply(TEAM, workflow_id)
        assert state is not None
        late_fire = datetime.now(UTC) - timedelta(seconds=45)
        job = {"team_id": TEAM, "workflow_id": workflow_id, "fingerprint": state.fingerprint}
        await node.jobs.fire_schedule(job, late_fire)
    assert await world.runs(workflow_id) == []
    [receipt] = await TriggerStore(world.database).receipts(workflow_id)
    assert receipt.key == fire_key(late_fire)
    assert receipt.outcome == ReceiptOutcome.MISSED
    assert "misfire grace 30s" in (receipt.detail or "")
    [entry] = [
        e
        for e in await AuditLog(world.database).entries(TEAM, workflow_id)
        if e.action == "schedule.missed"
    ]
    assert entry.actor == "atom:scheduler"


async def test_a_fire_while_the_previous_run_is_going_is_skipped(world: World) -> None:
    async with world.node() as node:
        workflow_id = await world.store(
            echo_workflow(world.settings.http_base_url, {"type": "schedule", "cron": "0 9 * * *"})
        )
        state = await node.services.triggers.apply(TEAM, workflow_id)
        assert state is not None
        still_going = await node.engine.start_run(TEAM, workflow_id, {}, OWNER)  # queued
        job = {"team_id": TEAM, "workflow_id": workflow_id, "fingerprint": state.fingerprint}
        await node.jobs.fire_schedule(job, datetime.now(UTC))
    assert [r.id for r in await world.runs(workflow_id)] == [still_going]
    [receipt] = await TriggerStore(world.database).receipts(workflow_id)
    assert receipt.outcome == ReceiptOutcome.SKIPPED


async def test_a_job_from_before_an_edit_starts_nothing(world: World) -> None:
    async with world.node() as node:
        workflow_id = await world.store(
            echo_workflow(world.settings.http_base_url, {"type": "schedule", "cron": "0 9 * * *"})
        )
        await node.services.triggers.apply(TEAM, workflow_id)
        job = {"team_id": TEAM, "workflow_id": workflow_id, "fingerprint": "an older trigger"}
        await node.jobs.fire_schedule(job, datetime.now(UTC))
    assert await world.runs(workflow_id) == []


async def test_restarting_keeps_schedules_and_applies_the_misfire_policy(world: World) -> None:
    """Everything stops before two one-off fires and a recurring schedule; on restart
    the fire still within the grace period runs once, the older one is skipped and
    recorded, and the recurring schedule is still there with the same next fire."""
    world = world.with_settings(misfire_grace_seconds=3)
    url = world.settings.http_base_url
    start = datetime.now(UTC)
    async with world.node() as node:
        too_old = await world.store(echo_workflow(url, _at(start + timedelta(seconds=1.5))))
        recent = await world.store(echo_workflow(url, _at(start + timedelta(seconds=4))))
        weekly = await world.store(
            echo_workflow(url, {"type": "schedule", "rrule": "FREQ=WEEKLY;BYHOUR=9"})
        )
        for workflow_id in (too_old, recent, weekly):
            await node.services.triggers.apply(TEAM, workflow_id)
        [weekly_before] = await node.services.scheduler.schedules([SCHEDULE_PREFIX + weekly])
    assert datetime.now(UTC) < start + timedelta(seconds=1.5), "the node stopped too late"
    await asyncio.sleep((start + timedelta(seconds=5.5) - datetime.now(UTC)).total_seconds())
    async with world.node("node-b") as node:  # 4s after one fire, 1.5s after the other
        [run] = await world.wait_for_runs(recent, 1)
        [weekly_after] = await node.services.scheduler.schedules([SCHEDULE_PREFIX + weekly])
    assert run.status == RunStatus.SUCCEEDED
    assert await world.runs(too_old) == []
    [missed] = await TriggerStore(world.database).receipts(too_old)
    assert missed.outcome == ReceiptOutcome.MISSED
    assert weekly_after.next_fire_time == weekly_before.next_fire_time
    assert await world.runs(weekly) == []


async def test_a_fire_queued_behind_a_run_starts_once_that_run_has_ended(world: World) -> None:
    """Overlap `queue`: the fire waits as a queued receipt; ending the run starts it."""
    async with world.node() as node:
        workflow_id = await world.store(
            echo_workflow(world.settings.http_base_url, {"type": "schedule", "cron": "0 9 * * *"})
        )
        await node.services.triggers.apply(TEAM, workflow_id)
        states = TriggerStore(world.database)
        fire_time = datetime.now(UTC) - timedelta(seconds=5)
        going = await node.engine.start_run(TEAM, workflow_id, {}, OWNER)
        await states.claim(TEAM, workflow_id, fire_key(fire_time), ReceiptOutcome.QUEUED)

        await node.jobs.recover_runs({}, None)  # the run is still going: the fire waits
        [waiting] = await states.receipts(workflow_id)
        assert waiting.outcome == ReceiptOutcome.QUEUED

        await node.jobs.execute_run({"run_id": going}, None)
        runs = await world.wait_for_runs(workflow_id, 2)
    [receipt] = await states.receipts(workflow_id)
    assert receipt.outcome == ReceiptOutcome.STARTED
    queued_run = next(run for run in runs if run.id == receipt.run_id)
    assert queued_run.trigger_payload["scheduled_at"] == fire_time.isoformat()
    assert {run.status for run in runs} == {RunStatus.SUCCEEDED}


async def test_a_workflow_at_a_single_time_is_completed_and_unscheduled(world: World) -> None:
    async with world.node() as node:
        fire_at = datetime.now(UTC) + timedelta(milliseconds=300)
        workflow_id = await world.store(echo_workflow(world.settings.http_base_url, _at(fire_at)))
        await node.services.triggers.apply(TEAM, workflow_id)
        [run] = await world.wait_for_runs(workflow_id, 1)
        assert run.status == RunStatus.SUCCEEDED
        record = await WorkflowRepo(world.database).get(TEAM, workflow_id)
        assert record.state == WorkflowState.COMPLETED
        await node.services.triggers.reconcile()
        assert await node.services.scheduler.schedules([SCHEDULE_PREFIX + workflow_id]) == []
        assert await TriggerStore(world.database).get(workflow_id) is None
