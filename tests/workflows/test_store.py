"""Versioned workflow storage, runs and the audit log, on SQLite and Postgres."""

from __future__ import annotations

import logging
from datetime import UTC, timedelta

import pytest
from sqlalchemy import update

from core.db import Database, utcnow
from workflows.model import Workflow, load_workflow
from workflows.store import (
    AuditLog,
    DuplicateRun,
    RunNotFound,
    RunRepo,
    RunStatus,
    StepStatus,
    WorkflowNotFound,
    WorkflowRepo,
    WorkflowState,
    WorkflowVersionRow,
)

TEAM, OTHER_TEAM = "T1", "T2"


def document(name: str, title: str = "Hello") -> Workflow:
    return load_workflow(
        f"""
name: {name}
trigger: {{type: manual}}
steps:
  - {{id: post, action: notes.create_note, with: {{title: "{title}"}}}}
  - {{id: again, action: notes.create_note, with: {{title: "{{{{ steps.post.title }}}}"}}}}
"""
    )


async def test_an_edit_adds_a_version_and_a_rollback_reactivates_an_older_one(
    database: Database,
) -> None:
    repo = WorkflowRepo(database)
    workflow_id, first = await repo.create(TEAM, "U1", document("First"))
    second = await repo.update(TEAM, workflow_id, document("Second", "Changed"), "U2")
    third = await repo.update(TEAM, workflow_id, document("Third"), "U1")

    assert (first, second, third) == (1, 2, 3)
    current = await repo.get(TEAM, workflow_id)
    assert (current.version, current.name, current.latest_version) == (3, "Third", 3)

    await repo.rollback(TEAM, workflow_id, 2, "U1")

    rolled = await repo.get(TEAM, workflow_id)
    assert (rolled.active_version, rolled.latest_version, rolled.name) == (2, 3, "Second")
    assert rolled.workflow.steps[0].with_ == {"title": "Changed"}
    old = await repo.get(TEAM, workflow_id, version=1)
    assert old.workflow.name == "First"  # versions are immutable
    versions = await repo.versions(TEAM, workflow_id)
    assert [(v.version, v.created_by, v.active) for v in versions] == [
        (1, "U1", False),
        (2, "U2", True),
        (3, "U1", False),
    ]
    assert versions[0].created_at.tzinfo is not None
    with pytest.raises(WorkflowNotFound, match="version 9"):
        await repo.rollback(TEAM, workflow_id, 9, "U1")


async def test_every_query_is_scoped_by_team(database: Database) -> None:
    repo = WorkflowRepo(database)
    workflow_id, _ = await repo.create(TEAM, "U1", document("Mine"))

    with pytest.raises(WorkflowNotFound):
        await repo.get(OTHER_TEAM, workflow_id)
    with pytest.raises(WorkflowNotFound):
        await repo.update(OTHER_TEAM, workflow_id, document("Stolen"), "U9")
    with pytest.raises(WorkflowNotFound):
        await repo.rollback(OTHER_TEAM, workflow_id, 1, "U9")
    with pytest.raises(WorkflowNotFound):
        await repo.set_state(OTHER_TEAM, workflow_id, WorkflowState.DELETED, "U9")
    assert await repo.list_for(OTHER_TEAM) == []
    run = await RunRepo(database).create(
        TEAM,
        workflow_id,
        1,
        document("Mine").steps,
        trigger_kind="manual",
        trigger_payload={},
        requested_by="U1",
    )
    with pytest.raises(RunNotFound):
        await RunRepo(database).get(OTHER_TEAM, run.id)
    assert await RunRepo(database).list_for_team(OTHER_TEAM) == []
    assert await AuditLog(database).entries(OTHER_TEAM) == []


async def test_listing_by_owner_and_state(database: Database) -> None:
    repo = WorkflowRepo(database)
    a, _ = await repo.create(TEAM, "U1", document("A"))
    b, _ = await repo.create(TEAM, "U2", document("B"))
    c, _ = await repo.create(TEAM, "U1", document("C"))
    await repo.set_state(TEAM, c, WorkflowState.DELETED, "U1")
    await repo.set_state(TEAM, b, WorkflowState.PAUSED, "U2")

    assert [w.id for w in await repo.list_for(TEAM)] == [a, b]
    assert [w.name for w in await repo.list_for(TEAM, owner="U1")] == ["A"]
    assert [w.state for w in await repo.list_for(TEAM, states=[WorkflowState.PAUSED])] == [
        WorkflowState.PAUSED
    ]
    with pytest.raises(WorkflowNotFound):
        await repo.update(TEAM, c, document("Revived"), "U1")


async def test_the_audit_log_says_who_did_what_when(database: Database) -> None:
    repo = WorkflowRepo(database)
    workflow_id, _ = await repo.create(TEAM, "U1", document("Audited"))
    await repo.update(TEAM, workflow_id, document("Audited 2"), "U2")
    await repo.set_state(TEAM, workflow_id, WorkflowState.PAUSED, "U1")
    await AuditLog(database).record(TEAM, "U3", "connection.added", "github", {"scopes": ["repo"]})

    entries = await AuditLog(database).entries(TEAM)

    assert [(e.actor, e.action, e.subject) for e in entries] == [
        ("U3", "connection.added", "github"),
        ("U1", "workflow.paused", workflow_id),
        ("U2", "workflow.updated", workflow_id),
        ("U1", "workflow.created", workflow_id),
    ]
    assert entries[2].detail == {"version": 2}
    assert abs(entries[0].at - utcnow()) < timedelta(minutes=1)
    assert [e.action for e in await AuditLog(database).entries(TEAM, subject="github")] == [
        "connection.added"
    ]


async def test_a_run_starts_queued_with_pending_steps(database: Database) -> None:
    workflow_id, _ = await WorkflowRepo(database).create(TEAM, "U1", document("Run me"))
    runs = RunRepo(database)

    run = await runs.create(
        TEAM,
        workflow_id,
        1,
        document("Run me").steps,
        trigger_kind="schedule",
        trigger_payload={"at": "now"},
        requested_by="scheduler",
    )

    stored, steps = await runs.snapshot(TEAM, run.id)
    assert stored.status == RunStatus.QUEUED and stored.trigger_payload == {"at": "now"}
    assert stored.created_at.tzinfo == UTC
    assert [(s.position, s.step_id, s.status) for s in steps] == [
        (0, "post", StepStatus.PENDING),
        (1, "again", StepStatus.PENDING),
    ]
    assert [r.id for r in await runs.list_for_workflow(TEAM, workflow_id)] == [run.id]
    assert [r.id for r in await runs.list_for_team(TEAM, [RunStatus.QUEUED])] == [run.id]
    assert await runs.list_for_team(TEAM, [RunStatus.RUNNING]) == []
    assert run.to_json()["status"] == "queued" and steps[0].to_json()["status"] == "pending"


async def test_a_lease_is_claimed_by_one_worker_and_can_expire(database: Database) -> None:
    workflow_id, _ = await WorkflowRepo(database).create(TEAM, "U1", document("Lease"))
    runs = RunRepo(database)
    run = await runs.create(
        TEAM, workflow_id, 1, [], trigger_kind="manual", trigger_payload={}, requested_by="U1"
    )
    now = utcnow()

    assert await runs.claim(run.id, "a", now, now + timedelta(seconds=30)) is not None
    assert await runs.claim(run.id, "b", now, now + timedelta(seconds=30)) is None
    assert await runs.heartbeat(run.id, "a", now + timedelta(seconds=60))
    assert not await runs.heartbeat(run.id, "b", now + timedelta(seconds=60))
    later = now + timedelta(seconds=61)
    taken = await runs.claim(run.id, "b", later, later + timedelta(seconds=30))
    assert taken is not None and taken.lease_owner == "b"
    assert not await runs.heartbeat(run.id, "a", later)


async def test_a_dedupe_key_allows_one_run_per_workflow(database: Database) -> None:
    repo, runs = WorkflowRepo(database), RunRepo(database)
    workflow_id, _ = await repo.create(TEAM, "U1", document("Once"))
    other_id, _ = await repo.create(TEAM, "U1", document("Other"))

    async def start(workflow: str, key: str | None) -> str:
        run = await runs.create(
            TEAM,
            workflow,
            1,
            document("Once").steps,
            trigger_kind="event",
            trigger_payload={},
            requested_by="U1",
            dedupe_key=key,
        )
        return run.id

    first = await start(workflow_id, "item:1")
    with pytest.raises(DuplicateRun) as duplicate:
        await start(workflow_id, "item:1")
    assert duplicate.value.run_id == first
    assert await start(other_id, "item:1") != first  # keys are per workflow
    assert await start(workflow_id, None) != await start(workflow_id, None)

    found = await runs.with_dedupe_key(TEAM, workflow_id, "item:1")
    assert found is not None and (found.id, found.dedupe_key) == (first, "item:1")
    assert await runs.with_dedupe_key(TEAM, workflow_id, "item:2") is None
    assert await runs.with_dedupe_key(OTHER_TEAM, workflow_id, "item:1") is None
    assert len(await runs.list_for_workflow(TEAM, workflow_id)) == 3
    assert len(await runs.steps(TEAM, first)) == 2  # the refused duplicate wrote no steps


async def test_the_scheduler_reads_active_workflows_of_every_team(database: Database) -> None:
    repo = WorkflowRepo(database)
    mine, _ = await repo.create(TEAM, "U1", document("Mine"))
    theirs, _ = await repo.create(OTHER_TEAM, "U9", document("Theirs"))
    paused, _ = await repo.create(TEAM, "U1", document("Paused"))
    deleted, _ = await repo.create(OTHER_TEAM, "U9", document("Deleted"))
    await repo.update(OTHER_TEAM, theirs, document("Theirs v2"), "U9")
    await repo.set_state(TEAM, paused, WorkflowState.PAUSED, "U1")
    await repo.set_state(OTHER_TEAM, deleted, WorkflowState.DELETED, "U9")

    active = await repo.active_in_all_teams()

    assert [(w.id, w.team_id, w.version, w.workflow.name) for w in active] == [
        (mine, TEAM, 1, "Mine"),
        (theirs, OTHER_TEAM, 2, "Theirs v2"),
    ]
    assert await repo.states_in_all_teams([paused, deleted, "wf_gone"]) == {
        paused: WorkflowState.PAUSED,
        deleted: WorkflowState.DELETED,
    }
    assert await repo.states_in_all_teams([]) == {}


async def test_a_stored_document_that_no_longer_loads_is_left_out_and_logged(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    repo = WorkflowRepo(database)
    good, _ = await repo.create(TEAM, "U1", document("Good"))
    broken, _ = await repo.create(OTHER_TEAM, "U9", document("Broken"))
    async with database.session() as session:
        await session.execute(
            update(WorkflowVersionRow)
            .where(WorkflowVersionRow.workflow_id == broken)
            .values(document={"name": "Broken", "trigger": {"type": "sometimes"}, "steps": []})
        )

    with caplog.at_level(logging.ERROR, logger="workflows.store"):
        active = await repo.active_in_all_teams()

    assert [w.id for w in active] == [good]
    assert f"workflow {broken} (team {OTHER_TEAM}) v1 no longer loads" in caplog.text
