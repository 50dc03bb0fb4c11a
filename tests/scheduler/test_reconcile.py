"""Our tables drive the scheduler: approving, editing, pausing, resuming, rolling back and
deleting a workflow update its schedule or subscription; reconcile rebuilds what was
lost and leaves alone what is in place."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from tests.scheduler.conftest import OWNER, TEAM, World, echo_workflow
from workflows.model import Workflow
from workflows.scheduling.apscheduler_backend import ApScheduler
from workflows.scheduling.reconcile import (
    POLL_PREFIX,
    RECONCILE_ID,
    RECOVER_ID,
    SCHEDULE_PREFIX,
    TriggerSync,
)
from workflows.store import WorkflowRepo, WorkflowState
from workflows.subscriptions import TriggerKind, TriggerStore

BERLIN = ZoneInfo("Europe/Berlin")


def _weekly(hour: int) -> dict[str, str]:
    return {"type": "schedule", "cron": f"0 {hour} * * 1", "timezone": "Europe/Berlin"}


async def _next_fire(scheduler: ApScheduler, schedule_id: str) -> datetime | None:
    held = await scheduler.schedules([schedule_id])
    return held[0].next_fire_time if held else None


async def test_the_lifecycle_of_a_workflow_drives_its_schedule(world: World) -> None:
    async with world.client() as client:
        sync = TriggerSync(world.database, client, world.registry, world.settings)
        repo = WorkflowRepo(world.database)
        url = world.settings.http_base_url
        workflow_id = await world.store(echo_workflow(url, _weekly(9)))
        schedule_id = SCHEDULE_PREFIX + workflow_id

        await sync.apply(TEAM, workflow_id)  # approved
        first = await _next_fire(client, schedule_id)
        assert first is not None
        assert (first.astimezone(BERLIN).weekday(), first.astimezone(BERLIN).hour) == (0, 9)

        await repo.set_state(TEAM, workflow_id, WorkflowState.PAUSED, OWNER)
        paused = await sync.apply(TEAM, workflow_id)
        assert paused is not None and not paused.active
        assert await client.schedules([schedule_id]) == []

        await repo.set_state(TEAM, workflow_id, WorkflowState.ACTIVE, OWNER)
        resumed = await sync.apply(TEAM, workflow_id)
        assert resumed is not None and resumed.active and resumed.active_since > paused.active_since
        assert await _next_fire(client, schedule_id) == first

        await repo.update(
            TEAM, workflow_id, Workflow.model_validate(echo_workflow(url, _weekly(10))), OWNER
        )
        await sync.apply(TEAM, workflow_id)  # edited: version 2
        edited = await _next_fire(client, schedule_id)
        assert edited is not None and edited.astimezone(BERLIN).hour == 10

        await repo.rollback(TEAM, workflow_id, 1, OWNER)
        await sync.apply(TEAM, workflow_id)
        assert await _next_fire(client, schedule_id) == first

        await repo.set_state(TEAM, workflow_id, WorkflowState.DELETED, OWNER)
        assert await sync.apply(TEAM, workflow_id) is None
        assert await client.schedules([schedule_id]) == []
        assert await TriggerStore(world.database).get(workflow_id) is None


async def test_event_triggers_are_polled_or_get_a_webhook_url(world: World) -> None:
    async with world.client() as client:
        sync = TriggerSync(world.database, client, world.registry, world.settings)
        repo = WorkflowRepo(world.database)
        url = world.settings.http_base_url
        polled = await world.store(
            echo_workflow(
                url, {"type": "event", "event": "github.issue_opened", "with": {"repo": "acme/api"}}
            )
        )
        hooked = await world.store(
            echo_workflow(url, {"type": "event", "event": "http.webhook_received"})
        )

        poll_state = await sync.apply(TEAM, polled)
        assert poll_state is not None
        assert (poll_state.kind, poll_state.event) == (TriggerKind.POLL, "github.issue_opened")
        assert poll_state.webhook_token is None  # GitHub deliveries use the signed shared endpoint
        assert await _next_fire(client, POLL_PREFIX + polled) is not None

        hook_state = await sync.apply(TEAM, hooked)
        assert hook_state is not None and hook_state.kind == TriggerKind.WEBHOOK
        assert hook_state.webhook_token and len(hook_state.webhook_token) >= 40
        assert await client.schedules([SCHEDULE_PREFIX + hooked, POLL_PREFIX + hooked]) == []

        await repo.set_state(TEAM, hooked, WorkflowState.PAUSED, OWNER)
        await sync.apply(TEAM, hooked)
        await repo.set_state(TEAM, hooked, WorkflowState.ACTIVE, OWNER)
        again = await sync.apply(TEAM, hooked)
        assert again is not None and again.webhook_token == hook_state.webhook_token


async def test_manual_workflows_get_nothing(world: World) -> None:
    async with world.client() as client:
        sync = TriggerSync(world.database, client, world.registry, world.settings)
        manual = await world.store(echo_workflow(world.settings.http_base_url, {"type": "manual"}))
        assert await sync.apply(TEAM, manual) is None
        assert await client.schedules() == []


async def test_reconcile_rebuilds_what_is_missing_and_keeps_what_is_there(world: World) -> None:
    async with world.client() as client:
        sync = TriggerSync(world.database, client, world.registry, world.settings)
        url = world.settings.http_base_url
        scheduled = await world.store(echo_workflow(url, _weekly(9)))
        polled = await world.store(
            echo_workflow(
                url, {"type": "event", "event": "github.issue_opened", "with": {"repo": "acme/api"}}
            )
        )
        await world.store(echo_workflow(url, {"type": "manual"}))
        wanted = {SCHEDULE_PREFIX + scheduled, POLL_PREFIX + polled, RECOVER_ID, RECONCILE_ID}

        first = await sync.reconcile()  # e.g. the memory scheduler at start
        assert set(first.put) == wanted
        assert {s.id for s in await client.schedules()} == wanted

        second = await sync.reconcile()
        assert (second.put, second.removed, second.unchanged) == ([], [], 2)

        await client.remove_schedules([SCHEDULE_PREFIX + scheduled])  # lost
        await WorkflowRepo(world.database).set_state(TEAM, polled, WorkflowState.PAUSED, OWNER)
        third = await sync.reconcile()
        assert third.put == [SCHEDULE_PREFIX + scheduled]
        assert third.removed == [POLL_PREFIX + polled]
        paused = await TriggerStore(world.database).get(polled)
        assert paused is not None and not paused.active


async def test_a_schedule_resumed_after_its_time_does_not_make_up_for_it(world: World) -> None:
    """Fires that passed while a workflow was paused are not replayed on resume."""
    async with world.client() as client:
        sync = TriggerSync(world.database, client, world.registry, world.settings)
        repo = WorkflowRepo(world.database)
        workflow_id = await world.store(
            echo_workflow(world.settings.http_base_url, {"type": "schedule", "cron": "* * * * *"})
        )
        await repo.set_state(TEAM, workflow_id, WorkflowState.PAUSED, OWNER)
        await sync.apply(TEAM, workflow_id)
        await repo.set_state(TEAM, workflow_id, WorkflowState.ACTIVE, OWNER)
        await sync.apply(TEAM, workflow_id)
        next_fire = await _next_fire(client, SCHEDULE_PREFIX + workflow_id)
        assert next_fire is not None and next_fire > datetime.now(UTC)
