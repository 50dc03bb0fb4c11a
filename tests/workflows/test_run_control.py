"""Per-step control on a failed run (issue 19), over real HTTP (the notes emulator) on
SQLite and Postgres: retry from a step reuses the outputs of the steps before it, a step
can be retried alone or skipped with a recorded reason, only the owner or an approver may,
and every choice is in the audit log."""

from __future__ import annotations

import pytest

from workflows.engine import NotAnApprover, NotResumable, ResumeMode
from workflows.store import RunStatus, StepStatus

from .conftest import OWNER, TEAM, Harness

THREE_STEPS = """
name: Three notes
trigger: {type: manual}
steps:
  - id: make
    action: notes.create_note
    with: {title: "First"}
  - id: rename
    action: notes.update_note
    with: {id: "{{ steps.make.id }}", title: "Renamed"}
  - id: other
    action: notes.create_note
    with: {title: "Third"}
"""


async def failed_at_rename(harness: Harness) -> str:
    """A run whose second step gave up on a 503 (the service is down for three calls)."""
    harness.notes.fail("/notes/", method="PUT", status=503, times=3)
    run_id = await harness.start(THREE_STEPS)
    await harness.engine().execute(run_id)
    run, steps = await harness.state(run_id)
    assert run.status == RunStatus.FAILED
    assert steps["rename"].status == StepStatus.FAILED
    return run_id


@pytest.mark.parametrize("mode", [ResumeMode.FROM_STEP, ResumeMode.STEP_ONLY])
async def test_retrying_the_failed_step_does_not_repeat_the_first(
    harness: Harness, mode: ResumeMode
) -> None:
    run_id = await failed_at_rename(harness)

    after = await harness.engine().continue_run(TEAM, run_id, "rename", mode, OWNER)

    _, steps = await harness.state(run_id)
    assert after.status == RunStatus.SUCCEEDED
    assert len(harness.notes.received("/notes", "POST")) == 2  # make once, other once
    assert steps["make"].attempts == 1
    assert steps["rename"].status == StepStatus.SUCCEEDED
    assert steps["rename"].attempts == 4  # three failed attempts, then the retry
    assert steps["rename"].idempotency_key == f"{run_id}:rename:4"
    assert sorted(harness.notes.titles()) == ["Renamed", "Third"]
    (entry,) = [e for e in await harness.audit.entries(TEAM, run_id) if e.action == f"run.{mode}"]
    assert entry.actor == OWNER and entry.detail["step"] == "rename"


async def test_retry_from_an_earlier_step_runs_it_and_every_later_one_again(
    harness: Harness,
) -> None:
    run_id = await failed_at_rename(harness)

    after = await harness.engine().continue_run(TEAM, run_id, "make", ResumeMode.FROM_STEP, OWNER)

    assert after.status == RunStatus.SUCCEEDED
    _, steps = await harness.state(run_id)
    assert steps["make"].attempts == 2
    assert len(harness.notes.received("/notes", "POST")) == 3


async def test_skip_and_continue_records_the_reason(harness: Harness) -> None:
    run_id = await failed_at_rename(harness)

    after = await harness.engine().continue_run(
        TEAM, run_id, "rename", ResumeMode.SKIP, OWNER, reason="renamed it by hand"
    )

    run, steps = await harness.state(run_id)
    assert after.status == RunStatus.SUCCEEDED and run.finished_at is not None
    assert steps["rename"].status == StepStatus.SKIPPED
    assert steps["rename"].error == f"Skipped by {OWNER}: renamed it by hand"
    assert steps["other"].status == StepStatus.SUCCEEDED
    assert sorted(harness.notes.titles()) == ["First", "Third"]
    audit = await harness.audit.entries(TEAM, run_id)
    (entry,) = [e for e in audit if e.action == "run.skip_step"]
    assert entry.detail == {"step": "rename", "reason": "renamed it by hand"}


async def test_a_skip_needs_a_reason(harness: Harness) -> None:
    run_id = await failed_at_rename(harness)

    with pytest.raises(NotResumable, match="say why"):
        await harness.engine().continue_run(TEAM, run_id, "rename", ResumeMode.SKIP, OWNER)

    run, _ = await harness.state(run_id)
    assert run.status == RunStatus.FAILED


async def test_someone_else_is_refused_and_nothing_changes(harness: Harness) -> None:
    run_id = await failed_at_rename(harness)

    with pytest.raises(NotAnApprover, match="approvers"):
        await harness.engine().continue_run(
            TEAM, run_id, "rename", ResumeMode.FROM_STEP, "U0STRANGER"
        )

    run, steps = await harness.state(run_id)
    assert run.status == RunStatus.FAILED
    assert steps["rename"].attempts == 3
    assert not [e for e in await harness.audit.entries(TEAM, run_id) if e.actor == "U0STRANGER"]


async def test_a_succeeded_run_cannot_be_continued(harness: Harness) -> None:
    run, _ = await harness.run(THREE_STEPS)

    with pytest.raises(NotResumable, match="only a failed run"):
        await harness.engine().continue_run(TEAM, run.id, "make", ResumeMode.FROM_STEP, OWNER)


APPROVED_NOTE = """
name: Approved note
trigger: {type: manual}
steps:
  - id: ok
    action: approval.request
    with: {approvers: [U1ALICE], message: "Create it?", timeout: 2h}
  - id: make
    action: notes.create_note
    with: {title: "Approved"}
"""


async def test_an_approver_of_the_run_may_retry_its_failed_step(harness: Harness) -> None:
    harness.notes.fail("/notes", method="POST", status=400, times=1)
    run_id = await harness.start(APPROVED_NOTE)
    engine = harness.engine()
    await engine.execute(run_id)
    failed = await engine.decide_approval(TEAM, run_id, "ok", "U1ALICE", True)
    assert failed.status == RunStatus.FAILED

    after = await engine.continue_run(TEAM, run_id, "make", ResumeMode.STEP_ONLY, "U1ALICE")

    assert after.status == RunStatus.SUCCEEDED
    assert harness.notes.titles() == ["Approved"]
