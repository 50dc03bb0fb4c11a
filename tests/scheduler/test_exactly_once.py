"""Exactly once across a crash: a node that dies between claiming a fire or an event item
(its receipt) and starting the run leaves a receipt without a run; the next attempt — the
same item seen by the next poll, the fire completed by run recovery — starts that run,
and no sighting ever makes a second one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.client import HttpPool
from core.db import utcnow
from sandbox.github import GitHubEmulator
from tests.scheduler.conftest import OWNER, TEAM, Node, World, echo_workflow, job_for
from workflows.engine import Engine
from workflows.scheduler import Scheduler
from workflows.scheduling.jobs import NodeJobs, fire_key
from workflows.scheduling.runs import RunQueue, item_key
from workflows.store import RunStatus
from workflows.subscriptions import ReceiptOutcome, TriggerStore

KEY = item_key("issue-42")
PAYLOAD = {"issue": {"title": "Crash on start"}}
REPO = "acme/exactly-once"
MANUAL = {"type": "manual"}  # RunQueue starts runs whatever the trigger


class ProcessDied(BaseException):
    """What a node killed at this point leaves behind: nothing after it runs (it is no
    Exception, so no handler on the way treats it as an error to record)."""


class DiesBeforeTheRun(Engine):
    async def start_run(self, *args: Any, **kwargs: Any) -> str:
        raise ProcessDied


class DiesAfterTheRun(Engine):
    async def start_run(self, *args: Any, **kwargs: Any) -> str:
        await super().start_run(*args, **kwargs)
        raise ProcessDied


@asynccontextmanager
async def queue(
    world: World, scheduler: Scheduler, engine_class: type[Engine] = Engine, name: str = "node"
) -> AsyncIterator[RunQueue]:
    """A RunQueue of a node whose engine is `engine_class` (jobs go to `scheduler`)."""
    pool = HttpPool(world.settings)
    engine = engine_class(
        world.database, world.registry, pool, world.credentials, world.settings, worker_id=name
    )
    try:
        yield RunQueue(engine, scheduler, TriggerStore(world.database))
    finally:
        await pool.aclose()


def dying_jobs(world: World, node: Node, engine_class: type[Engine]) -> NodeJobs:
    """The job handlers of a second node that dies while it starts a run."""
    engine = engine_class(
        world.database,
        world.registry,
        node.engine.http_pool,
        world.credentials,
        world.settings,
        worker_id="node-that-dies",
    )
    runs = RunQueue(engine, node.services.scheduler, TriggerStore(world.database))
    return NodeJobs(world.database, engine, world.registry, world.settings, node.jobs.sync, runs)


async def test_a_receipt_left_without_a_run_is_completed_by_the_next_attempt(
    world: World,
) -> None:
    async with world.client() as scheduler:
        workflow_id = await world.store(echo_workflow(world.settings.http_base_url, MANUAL))
        states = TriggerStore(world.database)
        async with queue(world, scheduler, DiesBeforeTheRun, "node-a") as first:
            with pytest.raises(ProcessDied):
                await first.start_once(TEAM, workflow_id, KEY, PAYLOAD, OWNER, "event")
        [left] = await states.receipts(workflow_id)
        assert (left.outcome, left.run_id) == (ReceiptOutcome.STARTING, None)
        assert await world.runs(workflow_id) == []

        async with queue(world, scheduler, name="node-b") as retry:
            run_id = await retry.start_once(TEAM, workflow_id, KEY, PAYLOAD, OWNER, "event")
            assert await retry.start_once(TEAM, workflow_id, KEY, PAYLOAD, OWNER, "event") is None

    [run] = await world.runs(workflow_id)
    assert run.id == run_id
    assert (run.dedupe_key, run.trigger_payload, run.status) == (KEY, PAYLOAD, RunStatus.QUEUED)
    [receipt] = await states.receipts(workflow_id)
    assert (receipt.outcome, receipt.run_id) == (ReceiptOutcome.STARTED, run_id)


async def test_a_node_dying_after_the_run_was_made_leaves_one_run(world: World) -> None:
    async with world.client() as scheduler:
        workflow_id = await world.store(echo_workflow(world.settings.http_base_url, MANUAL))
        async with queue(world, scheduler, DiesAfterTheRun, "node-a") as first:
            with pytest.raises(ProcessDied):
                await first.start_once(TEAM, workflow_id, KEY, PAYLOAD, OWNER, "event")
        [made] = await world.runs(workflow_id)

        async with queue(world, scheduler, name="node-b") as retry:
            run_id = await retry.start_once(TEAM, workflow_id, KEY, PAYLOAD, OWNER, "event")

    assert run_id == made.id
    assert [run.id for run in await world.runs(workflow_id)] == [made.id]
    [receipt] = await TriggerStore(world.database).receipts(workflow_id)
    assert (receipt.outcome, receipt.run_id) == (ReceiptOutcome.STARTED, made.id)


async def test_sightings_at_the_same_moment_start_one_run(world: World) -> None:
    """A webhook delivery and a poll (or two nodes) with the same item at once."""
    async with world.client() as scheduler:
        workflow_id = await world.store(echo_workflow(world.settings.http_base_url, MANUAL))
        async with (
            queue(world, scheduler, name="node-a") as a,
            queue(world, scheduler, name="node-b") as b,
        ):
            answers = await asyncio.gather(
                *(
                    q.start_once(TEAM, workflow_id, KEY, PAYLOAD, OWNER, "event")
                    for q in (a, b, a, b)
                )
            )

    [run] = await world.runs(workflow_id)
    assert {answer for answer in answers if answer is not None} == {run.id}
    [receipt] = await TriggerStore(world.database).receipts(workflow_id)
    assert (receipt.outcome, receipt.run_id) == (ReceiptOutcome.STARTED, run.id)


async def test_a_fire_whose_node_died_is_started_by_run_recovery(world: World) -> None:
    """APScheduler abandons the job of a dead node, so nothing fires it again: the
    recovery job completes the fire once its claim is older than a run lease."""
    async with world.node() as node:
        workflow_id = await world.store(
            echo_workflow(world.settings.http_base_url, {"type": "schedule", "cron": "0 9 * * *"})
        )
        state = await node.services.triggers.apply(TEAM, workflow_id)
        assert state is not None
        fire_time = datetime.now(UTC) - timedelta(seconds=1)
        with pytest.raises(ProcessDied):
            await dying_jobs(world, node, DiesBeforeTheRun).fire_schedule(job_for(state), fire_time)
        await node.jobs.recover_runs({}, None)  # too soon: the claiming node may be at it
        assert await world.runs(workflow_id) == []

        lease = timedelta(seconds=world.settings.run_lease_seconds + 1)
        later = NodeJobs(
            world.database,
            node.engine,
            world.registry,
            world.settings,
            node.jobs.sync,
            node.services.runs,
            clock=lambda: utcnow() + lease,
        )
        await later.recover_runs({}, None)
        [run] = await world.wait_for_runs(workflow_id, 1)
        await node.jobs.fire_schedule(job_for(state), fire_time)  # the same fire again
        await later.recover_runs({}, None)

    assert [r.id for r in await world.runs(workflow_id)] == [run.id]
    assert run.status == RunStatus.SUCCEEDED
    assert run.dedupe_key == fire_key(fire_time)
    assert run.trigger_payload["scheduled_at"] == fire_time.isoformat()
    [receipt] = await TriggerStore(world.database).receipts(workflow_id)
    assert (receipt.outcome, receipt.run_id) == (ReceiptOutcome.STARTED, run.id)


async def test_an_item_whose_node_died_mid_poll_is_started_by_the_next_poll(
    world: World, github: GitHubEmulator
) -> None:
    github.add_repo(REPO)
    async with world.node() as node:
        state = await world.activate(
            node, {"type": "event", "event": "github.issue_opened", "with": {"repo": REPO}}
        )
        states = TriggerStore(world.database)
        cursor = (await world.state_when(state.workflow_id, lambda s: s.cursor is not None)).cursor
        github.add_issue(REPO, "Seen just before the node died")
        with pytest.raises(ProcessDied):
            await dying_jobs(world, node, DiesBeforeTheRun).poll_events(job_for(state), None)
        [left] = await states.receipts(state.workflow_id)
        assert left.outcome == ReceiptOutcome.STARTING
        assert await world.runs(state.workflow_id) == []
        after_death = await states.get(state.workflow_id)
        assert after_death is not None and after_death.cursor == cursor  # it did not move

        await node.jobs.poll_events(job_for(state), None)
        [run] = await world.wait_for_runs(state.workflow_id, 1)
        await node.jobs.poll_events(job_for(state), None)

    assert [r.id for r in await world.runs(state.workflow_id)] == [run.id]
    assert run.status == RunStatus.SUCCEEDED
    assert run.trigger_payload["issue"]["title"] == "Seen just before the node died"
    [receipt] = await states.receipts(state.workflow_id)
    assert (receipt.key, receipt.outcome, receipt.run_id) == (
        left.key,
        ReceiptOutcome.STARTED,
        run.id,
    )
