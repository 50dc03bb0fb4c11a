"""A one-time workflow (manual, or a schedule at a single time) is completed once its run
succeeded; a repeating one stays active, and so does a one-time one whose run failed (it
can be retried)."""

from __future__ import annotations

from workflows.store import RunStatus, WorkflowState

from .conftest import OWNER, TEAM, Harness
from .test_engine import CREATE_THEN_RENAME

EVERY_MORNING = CREATE_THEN_RENAME.replace(
    "trigger: {type: manual}", "trigger: {type: schedule, cron: '0 9 * * *', timezone: UTC}"
)
ONCE_AT_NINE = CREATE_THEN_RENAME.replace(
    "trigger: {type: manual}",
    "trigger: {type: schedule, at: '2026-03-01T09:00', timezone: UTC}",
)
TRIGGER = {"title": "Ship it", "labels": []}


async def _state_after_run(harness: Harness, document: str) -> tuple[RunStatus, WorkflowState]:
    run_id = await harness.start(document, TRIGGER)
    await harness.engine().execute(run_id)
    run, _ = await harness.state(run_id)
    return run.status, (await harness.workflows.get(TEAM, run.workflow_id)).state


async def test_a_manual_workflow_is_completed_after_its_run(harness: Harness) -> None:
    assert await _state_after_run(harness, CREATE_THEN_RENAME) == (
        RunStatus.SUCCEEDED,
        WorkflowState.COMPLETED,
    )
    (record,) = await harness.workflows.list_for(TEAM)
    assert record.state == WorkflowState.COMPLETED  # still listed
    actions = [e.action for e in await harness.audit.entries(TEAM, record.id)]
    assert "workflow.completed" in actions


async def test_a_workflow_at_a_single_time_is_completed_after_its_run(harness: Harness) -> None:
    assert await _state_after_run(harness, ONCE_AT_NINE) == (
        RunStatus.SUCCEEDED,
        WorkflowState.COMPLETED,
    )


async def test_a_repeating_workflow_stays_active(harness: Harness) -> None:
    assert await _state_after_run(harness, EVERY_MORNING) == (
        RunStatus.SUCCEEDED,
        WorkflowState.ACTIVE,
    )


async def test_a_failed_one_time_run_leaves_it_active_to_retry(harness: Harness) -> None:
    harness.notes.fail("/notes", method="POST", status=400)
    status, state = await _state_after_run(harness, CREATE_THEN_RENAME)
    assert (status, state) == (RunStatus.FAILED, WorkflowState.ACTIVE)


async def test_a_workflow_changed_during_its_run_is_not_completed(harness: Harness) -> None:
    run_id = await harness.start(CREATE_THEN_RENAME, TRIGGER)
    run, _ = await harness.state(run_id)
    record = await harness.workflows.get(TEAM, run.workflow_id)
    await harness.workflows.update(TEAM, record.id, record.workflow, OWNER)  # version 2
    await harness.engine().execute(run_id)
    assert (await harness.workflows.get(TEAM, record.id)).state == WorkflowState.ACTIVE
    actions = [e.action for e in await harness.audit.entries(TEAM, record.id)]
    assert "workflow.completed" not in actions
