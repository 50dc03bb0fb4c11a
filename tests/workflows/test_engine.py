"""The engine over real HTTP (the notes emulator) on SQLite and Postgres: every run and
step transition, retries and Retry-After, ambiguity -> needs_attention, approvals,
cancellation, and runs taken over after their worker died."""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from connectors.base import StaticCredentials
from core.db import utcnow
from workflows.engine import ApprovalNotOpen, EngineError, NotAnApprover
from workflows.store import RunStatus, StepStatus, WorkflowState

from .conftest import OWNER, TEAM, Harness

REPO_ROOT = Path(__file__).resolve().parents[2]

CREATE_THEN_RENAME = """
name: Create and rename
trigger: {type: manual}
steps:
  - id: make
    action: notes.create_note
    with: {title: "{{ trigger.title }}", labels: "{{ trigger.labels }}"}
  - id: rename
    action: notes.update_note
    with: {id: "{{ steps.make.id }}", title: "{{ steps.make.title | upper }} ({{ workflow.name }})"}
"""


async def test_a_run_goes_through_every_step_and_persists_each(harness: Harness) -> None:
    run, steps = await harness.run(CREATE_THEN_RENAME, {"title": "Ship it", "labels": ["a", "b"]})

    assert run.status == RunStatus.SUCCEEDED
    assert run.started_at and run.finished_at and run.lease_owner is None
    assert steps["make"].status == StepStatus.SUCCEEDED
    assert steps["make"].inputs == {"title": "Ship it", "labels": ["a", "b"]}
    assert steps["make"].output["labels"] == ["a", "b"]
    assert steps["rename"].inputs["title"] == "SHIP IT (Create and rename)"
    assert steps["rename"].attempts == 1
    assert harness.notes.titles() == ["SHIP IT (Create and rename)"]
    assert harness.observer.run_statuses() == ["queued", "running", "succeeded"]
    step_progress = [steps_seen["make"] for _, steps_seen in harness.observer.updates]
    assert step_progress.index("running") < step_progress.index("succeeded")


async def test_each_step_call_carries_its_idempotency_key(harness: Harness) -> None:
    run, steps = await harness.run(CREATE_THEN_RENAME, {"title": "Keyed", "labels": []})

    assert steps["make"].idempotency_key == f"{run.id}:make:1"
    (created,) = harness.notes.received("/notes", "POST")
    assert created.headers["idempotency-key"] == f"{run.id}:make:1"


async def test_a_false_condition_skips_the_step(harness: Harness) -> None:
    document = """
name: Conditional
trigger: {type: manual}
steps:
  - id: bug
    action: notes.create_note
    if: "'bug' in trigger.labels"
    with: {title: Bug}
  - id: always
    action: notes.create_note
    with: {title: Always}
"""
    run, steps = await harness.run(document, {"labels": ["feature"]})

    assert run.status == RunStatus.SUCCEEDED
    assert steps["bug"].status == StepStatus.SKIPPED
    assert steps["always"].status == StepStatus.SUCCEEDED
    assert harness.notes.titles() == ["Always"]


async def test_for_each_runs_the_step_per_item(harness: Harness) -> None:
    document = """
name: Loop
trigger: {type: manual}
steps:
  - id: notes
    action: notes.create_note
    for_each: "trigger.people | map(attribute='name') | list"
    with: {title: "{{ loop.index }}/{{ loop.length }} {{ item }}"}
  - id: summary
    action: notes.create_note
    with: {title: "{{ steps.notes | map(attribute='id') | join(',') }}"}
"""
    run, steps = await harness.run(document, {"people": [{"name": "Ada"}, {"name": "Bo"}]})

    assert run.status == RunStatus.SUCCEEDED
    assert [o["title"] for o in steps["notes"].output] == ["1/2 Ada", "2/2 Bo"]
    assert [i["status"] for i in steps["notes"].iterations] == ["succeeded", "succeeded"]
    assert steps["notes"].iterations[1]["idempotency_key"] == f"{run.id}:notes[1]:1"
    assert steps["summary"].output["title"] == "n1,n2"


async def test_a_failing_item_fails_the_for_each_step(harness: Harness) -> None:
    document = """
name: Loop
trigger: {type: manual}
steps:
  - id: notes
    action: notes.create_note
    for_each: "trigger.titles"
    with: {title: "{{ item }}"}
"""
    run, steps = await harness.run(document, {"titles": ["ok", " ", "never"]})

    assert run.status == RunStatus.FAILED
    assert steps["notes"].status == StepStatus.FAILED
    assert [i["status"] for i in steps["notes"].iterations] == ["succeeded", "failed", "pending"]
    assert "title must not be empty" in steps["notes"].iterations[1]["error"]
    assert harness.notes.titles() == ["ok"]


async def test_for_each_needs_a_list(harness: Harness) -> None:
    document = """
name: Loop
trigger: {type: manual}
steps:
  - {id: notes, action: notes.list_notes, for_each: "trigger.one", with: {label: "{{ item }}"}}
"""
    run, steps = await harness.run(document, {"one": "not a list"})

    assert run.status == RunStatus.FAILED
    assert "for_each must give a list, not str" in (steps["notes"].error or "")


async def test_429_is_retried_after_the_retry_after_the_service_asked_for(
    harness: Harness,
) -> None:
    harness.notes.fail("/notes", method="POST", status=429, retry_after=1)

    run, steps = await harness.run(CREATE_THEN_RENAME, {"title": "Later", "labels": []})

    assert run.status == RunStatus.SUCCEEDED
    assert harness.sleeps == [1.0]
    assert steps["make"].attempts == 2
    assert steps["make"].idempotency_key == f"{run.id}:make:2"
    assert len(harness.notes.received("/notes", "POST")) == 2
    assert harness.notes.titles() == ["LATER (Create and rename)"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # one backend is enough
async def test_retry_after_is_honoured_in_real_time_too(harness: Harness) -> None:
    harness.notes.fail("/notes", method="POST", status=429, retry_after=1)
    run_id = await harness.start(CREATE_THEN_RENAME, {"title": "Wait", "labels": []})
    engine = harness.engine()
    engine.sleep = asyncio.sleep

    started = asyncio.get_running_loop().time()
    run = await engine.execute(run_id)

    assert run is not None and run.status == RunStatus.SUCCEEDED
    assert asyncio.get_running_loop().time() - started >= 0.95


async def test_5xx_on_an_idempotent_call_is_retried_with_backoff(harness: Harness) -> None:
    harness.notes.fail("/notes/", method="PUT", status=503, times=2)

    run, steps = await harness.run(CREATE_THEN_RENAME, {"title": "Flaky", "labels": []})

    assert run.status == RunStatus.SUCCEEDED
    assert steps["rename"].attempts == 3
    assert len(harness.sleeps) == 2
    assert 0 <= harness.sleeps[0] <= 0.5 and 0 <= harness.sleeps[1] <= 1.0


async def test_giving_up_after_the_last_attempt_fails_the_run(harness: Harness) -> None:
    harness.notes.fail("/notes/", method="PUT", status=503, times=5)

    run, steps = await harness.run(CREATE_THEN_RENAME, {"title": "Down", "labels": []})

    assert run.status == RunStatus.FAILED
    assert steps["rename"].status == StepStatus.FAILED
    assert steps["rename"].attempts == 3
    assert "gave up after 3 attempt(s)" in (steps["rename"].error or "")
    assert run.message and run.message.startswith("Step `rename` failed")


async def test_a_rejected_input_fails_without_retry(harness: Harness) -> None:
    run, steps = await harness.run(CREATE_THEN_RENAME, {"title": " ", "labels": []})

    assert run.status == RunStatus.FAILED
    assert steps["make"].status == StepStatus.FAILED
    assert "title must not be empty" in (steps["make"].error or "")
    assert steps["rename"].status == StepStatus.PENDING
    assert harness.sleeps == []


@pytest.mark.parametrize("fault", ["drop", "status"])
async def test_a_non_idempotent_call_that_may_have_happened_needs_attention(
    harness: Harness, fault: str
) -> None:
    if fault == "drop":
        harness.notes.fail("/notes", method="POST", kind="drop")
    else:
        harness.notes.fail("/notes", method="POST", status=502)

    run, steps = await harness.run(CREATE_THEN_RENAME, {"title": "Maybe", "labels": []})

    assert run.status == RunStatus.NEEDS_ATTENTION
    assert steps["make"].status == StepStatus.UNKNOWN
    assert steps["rename"].status == StepStatus.PENDING
    assert len(harness.notes.received("/notes", "POST")) == 1  # never blindly repeated
    assert "Check in Notes whether it did" in (run.message or "")
    assert f"idempotency key {run.id}:make:1" in (run.message or "")
    if fault == "drop":  # the service did act although the answer was lost
        assert harness.notes.titles() == ["Maybe"]


async def test_a_dropped_idempotent_call_is_retried(harness: Harness) -> None:
    harness.notes.fail("/notes/", method="PUT", kind="drop")

    run, steps = await harness.run(CREATE_THEN_RENAME, {"title": "Again", "labels": []})

    assert run.status == RunStatus.SUCCEEDED
    assert steps["rename"].attempts == 2


async def test_a_step_timeout_retries_idempotent_calls(harness: Harness) -> None:
    harness.notes.fail("/notes/", method="PUT", kind="delay", delay=0.4)

    run, steps = await harness.run(
        CREATE_THEN_RENAME, {"title": "Slow", "labels": []}, step_timeout_seconds=0.2
    )

    assert run.status == RunStatus.SUCCEEDED
    assert steps["rename"].attempts == 2


async def test_a_step_timeout_on_a_non_idempotent_call_needs_attention(harness: Harness) -> None:
    harness.notes.fail("/notes", method="POST", kind="delay", delay=0.4)

    run, steps = await harness.run(
        CREATE_THEN_RENAME, {"title": "Slow", "labels": []}, step_timeout_seconds=0.2
    )

    assert run.status == RunStatus.NEEDS_ATTENTION
    assert steps["make"].status == StepStatus.UNKNOWN
    assert "did not finish within 0.2s" in (run.message or "")


async def test_a_template_error_fails_the_step_with_its_path(harness: Harness) -> None:
    document = """
name: Broken
trigger: {type: manual}
steps:
  - id: make
    action: notes.create_note
    with: {title: "{{ trigger.missing.title }}"}
"""
    run, steps = await harness.run(document, {})

    assert run.status == RunStatus.FAILED
    assert "steps[0].with.title" in (steps["make"].error or "")
    assert "missing" in (steps["make"].error or "")
    assert harness.notes.received("/notes") == []


async def test_missing_credentials_fail_with_a_reconnect_message(harness: Harness) -> None:
    run_id = await harness.start(CREATE_THEN_RENAME, {"title": "x", "labels": []})
    engine = harness.engine()
    engine.credentials = type(harness.credentials)({})

    await engine.execute(run_id)
    run, steps = await harness.state(run_id)

    assert run.status == RunStatus.FAILED
    assert "/atom connect notes" in (steps["make"].error or "")


async def test_a_failing_observer_does_not_break_the_run(harness: Harness) -> None:
    class Broken:
        async def on_run_update(self, run: object, steps: object) -> None:
            raise RuntimeError("observer bug")

    run_id = await harness.start(CREATE_THEN_RENAME, {"title": "x", "labels": []})
    engine = harness.engine()
    engine.add_observer(Broken())

    run = await engine.execute(run_id)

    assert run is not None and run.status == RunStatus.SUCCEEDED


async def test_a_paused_workflow_does_not_start(harness: Harness) -> None:
    workflow_id = await harness.store(CREATE_THEN_RENAME)
    await harness.workflows.set_state(TEAM, workflow_id, WorkflowState.PAUSED, OWNER)

    with pytest.raises(EngineError, match="paused"):
        await harness.engine().start_run(TEAM, workflow_id, {}, OWNER)


# --- approvals ---------------------------------------------------------------------------

APPROVAL = """
name: Approved note
trigger: {type: manual}
steps:
  - id: ok
    action: approval.request
    with:
      approvers: [U1ALICE, U2BOB]
      message: "Create {{ trigger.title }}?"
      min_approvals: MIN
      timeout: 2h
  - id: make
    action: notes.create_note
    with: {title: "{{ trigger.title }} by {{ steps.ok.approved_by | join(' ') }}"}
"""


async def test_an_approval_pauses_the_run_until_it_is_approved(harness: Harness) -> None:
    run_id = await harness.start(APPROVAL.replace("MIN", "1"), {"title": "Plan"})
    engine = harness.engine()

    paused = await engine.execute(run_id)

    assert paused is not None and paused.status == RunStatus.WAITING_APPROVAL
    assert paused.lease_owner is None and paused.waiting_until is not None
    _, steps = await harness.state(run_id)
    assert steps["ok"].status == StepStatus.RUNNING
    assert steps["ok"].approval["approvers"] == ["U1ALICE", "U2BOB"]
    assert steps["ok"].inputs["message"] == "Create Plan?"
    assert harness.notes.received("/notes") == []
    assert await engine.execute(run_id) is None  # nothing to do while waiting

    with pytest.raises(NotAnApprover):
        await engine.decide_approval(TEAM, run_id, "ok", "U9MALLORY", True)
    done = await engine.decide_approval(TEAM, run_id, "ok", "U2BOB", True)

    assert done.status == RunStatus.SUCCEEDED
    _, steps = await harness.state(run_id)
    assert steps["ok"].output["approved_by"] == ["U2BOB"]
    assert harness.notes.titles() == ["Plan by U2BOB"]
    assert "waiting_approval" in harness.observer.run_statuses()
    actions = [e.action for e in await harness.audit.entries(TEAM, subject=run_id)]
    assert "approval.approved" in actions and "run.started" in actions


async def test_two_approvals_are_needed_when_asked_for(harness: Harness) -> None:
    run_id = await harness.start(APPROVAL.replace("MIN", "2"), {"title": "Big"})
    engine = harness.engine()
    await engine.execute(run_id)

    first = await engine.decide_approval(TEAM, run_id, "ok", "U1ALICE", True)
    assert first.status == RunStatus.WAITING_APPROVAL
    again = await engine.decide_approval(TEAM, run_id, "ok", "U1ALICE", True)  # a double click
    assert again.status == RunStatus.WAITING_APPROVAL
    second = await engine.decide_approval(TEAM, run_id, "ok", "U2BOB", True)

    assert second.status == RunStatus.SUCCEEDED
    assert harness.notes.titles() == ["Big by U1ALICE U2BOB"]


async def test_a_rejection_fails_the_run(harness: Harness) -> None:
    run_id = await harness.start(APPROVAL.replace("MIN", "1"), {"title": "No"})
    engine = harness.engine()
    await engine.execute(run_id)

    run = await engine.decide_approval(TEAM, run_id, "ok", "U1ALICE", False)

    assert run.status == RunStatus.FAILED
    assert run.message == "Step `ok` was rejected by U1ALICE."
    _, steps = await harness.state(run_id)
    assert steps["ok"].status == StepStatus.FAILED
    assert steps["make"].status == StepStatus.PENDING
    with pytest.raises(ApprovalNotOpen):
        await engine.decide_approval(TEAM, run_id, "ok", "U2BOB", True)


async def test_an_approval_nobody_decides_times_out(harness: Harness) -> None:
    run_id = await harness.start(APPROVAL.replace("MIN", "1"), {"title": "Late"})
    engine = harness.engine()
    await engine.execute(run_id)

    assert await engine.recover_expired(utcnow() + timedelta(hours=1)) == []
    assert (await harness.runs.get(TEAM, run_id)).status == RunStatus.WAITING_APPROVAL
    await engine.recover_expired(utcnow() + timedelta(hours=3))

    run, steps = await harness.state(run_id)
    assert run.status == RunStatus.FAILED
    assert "timed out waiting for approval" in (run.message or "")
    assert steps["ok"].status == StepStatus.FAILED


# --- cancellation ------------------------------------------------------------------------


async def test_a_queued_run_is_cancelled_at_once(harness: Harness) -> None:
    run_id = await harness.start(CREATE_THEN_RENAME, {"title": "x", "labels": []})
    engine = harness.engine()

    cancelled = await engine.cancel(TEAM, run_id, "U1ALICE")

    assert cancelled.status == RunStatus.CANCELLED
    assert cancelled.message == "Cancelled by U1ALICE."
    assert await engine.execute(run_id) is None
    assert harness.notes.received("/notes") == []


async def test_a_waiting_run_is_cancelled_and_its_approval_closed(harness: Harness) -> None:
    run_id = await harness.start(APPROVAL.replace("MIN", "1"), {"title": "x"})
    engine = harness.engine()
    await engine.execute(run_id)

    await engine.cancel(TEAM, run_id, "U1ALICE")

    run, steps = await harness.state(run_id)
    assert run.status == RunStatus.CANCELLED
    assert steps["ok"].status == StepStatus.FAILED
    with pytest.raises(ApprovalNotOpen):
        await engine.decide_approval(TEAM, run_id, "ok", "U1ALICE", True)


async def test_a_running_run_stops_before_its_next_step(harness: Harness) -> None:
    harness.notes.fail("/notes", method="POST", kind="delay", delay=0.3)
    run_id = await harness.start(CREATE_THEN_RENAME, {"title": "Stop", "labels": []})
    engine = harness.engine()
    execution = asyncio.create_task(engine.execute(run_id))
    await _until(lambda: harness.notes.received("/notes", "POST"))

    requested = await harness.engine("worker-b").cancel(TEAM, run_id, "U1ALICE")
    assert requested.status == RunStatus.RUNNING and requested.cancel_requested_by == "U1ALICE"
    finished = await execution

    assert finished is not None and finished.status == RunStatus.CANCELLED
    _, steps = await harness.state(run_id)
    assert steps["make"].status == StepStatus.SUCCEEDED  # the call in flight completed
    assert steps["rename"].status == StepStatus.PENDING
    assert harness.notes.received("/notes/n1", "PUT") == []


# --- workers -------------------------------------------------------------------------------


async def _until(condition: object, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.01)


async def _kill_during_rename(harness: Harness, idempotent: bool) -> str:
    """Start a run, let worker A die (its task is torn down, nothing is written) while
    its second step's request is in flight."""
    document = CREATE_THEN_RENAME
    if not idempotent:
        document = document.replace("notes.update_note", "notes.create_note").replace(
            'id: "{{ steps.make.id }}", ', ""
        )
    path, method = ("/notes/n1", "PUT") if idempotent else ("/notes", "POST")
    if not idempotent:  # let `make` through, hold up the second POST
        harness.notes.fail(path, method=method, kind="delay", delay=0)
    harness.notes.fail(path, method=method, kind="delay", delay=0.3)
    run_id = await harness.start(document, {"title": "Crash", "labels": []})
    worker_a = asyncio.create_task(harness.engine("worker-a").execute(run_id))
    await _until(lambda: len(harness.notes.received(path, method)) == (1 if idempotent else 2))
    worker_a.cancel()
    with pytest.raises(asyncio.CancelledError):
        await worker_a
    return run_id


async def test_a_run_whose_worker_died_is_resumed_without_repeating_steps(
    harness: Harness,
) -> None:
    run_id = await _kill_during_rename(harness, idempotent=True)
    run, steps = await harness.state(run_id)
    assert run.status == RunStatus.RUNNING and run.lease_owner == "worker-a"
    assert steps["rename"].status == StepStatus.RUNNING
    worker_b = harness.engine("worker-b")

    assert await worker_b.recover_expired() == []  # worker A's lease is still live
    later = utcnow() + timedelta(seconds=harness.settings.run_lease_seconds + 1)
    assert await worker_b.recover_expired(later) == [run_id]

    run, steps = await harness.state(run_id)
    assert run.status == RunStatus.SUCCEEDED
    assert len(harness.notes.received("/notes", "POST")) == 1  # `make` ran exactly once
    assert steps["rename"].attempts == 2
    assert steps["rename"].idempotency_key == f"{run_id}:rename:2"


async def test_a_non_idempotent_step_cut_off_by_a_dead_worker_needs_attention(
    harness: Harness,
) -> None:
    run_id = await _kill_during_rename(harness, idempotent=False)
    later = utcnow() + timedelta(seconds=harness.settings.run_lease_seconds + 1)

    await harness.engine("worker-b").recover_expired(later)

    run, steps = await harness.state(run_id)
    assert run.status == RunStatus.NEEDS_ATTENTION
    assert steps["make"].status == StepStatus.SUCCEEDED
    assert steps["rename"].status == StepStatus.UNKNOWN
    assert "the worker running it stopped" in (run.message or "")
    assert len(harness.notes.received("/notes", "POST")) == 2  # nothing repeated


async def test_only_one_of_two_workers_claims_a_run(harness: Harness) -> None:
    run_id = await harness.start(CREATE_THEN_RENAME, {"title": "Once", "labels": []})

    results = await asyncio.gather(
        harness.engine("worker-a").execute(run_id), harness.engine("worker-b").execute(run_id)
    )

    assert sorted(r is None for r in results) == [False, True]
    assert len(harness.notes.received("/notes", "POST")) == 1


async def test_a_worker_that_lost_its_lease_writes_nothing_more(harness: Harness) -> None:
    harness.notes.fail("/notes", method="POST", kind="delay", delay=0.3)
    run_id = await harness.start(CREATE_THEN_RENAME, {"title": "Lost", "labels": []})
    slow = asyncio.create_task(harness.engine("worker-a").execute(run_id))
    await _until(lambda: harness.notes.received("/notes", "POST"))
    later = utcnow() + timedelta(seconds=harness.settings.run_lease_seconds + 1)
    assert await harness.runs.claim(run_id, "worker-b", later, later + timedelta(minutes=5))

    assert await slow is None  # its write after the call was refused

    run, steps = await harness.state(run_id)
    assert run.lease_owner == "worker-b"
    assert steps["make"].status == StepStatus.RUNNING


async def test_a_for_each_resumed_after_its_worker_died_skips_finished_items(
    harness: Harness,
) -> None:
    document = """
name: Look up
trigger: {type: manual}
steps:
  - {id: look, action: notes.list_notes, for_each: [a, b, c], with: {label: "{{ item }}"}}
"""
    harness.notes.fail("/notes", method="GET", kind="delay", delay=0)
    harness.notes.fail("/notes", method="GET", kind="delay", delay=0.3)
    run_id = await harness.start(document)
    worker_a = asyncio.create_task(harness.engine("worker-a").execute(run_id))
    await _until(lambda: len(harness.notes.received("/notes", "GET")) == 2)
    worker_a.cancel()
    with pytest.raises(asyncio.CancelledError):
        await worker_a

    later = utcnow() + timedelta(seconds=harness.settings.run_lease_seconds + 1)
    assert await harness.engine("worker-b").recover_expired(later) == [run_id]

    run, steps = await harness.state(run_id)
    assert run.status == RunStatus.SUCCEEDED
    labels = [r.query["label"] for r in harness.notes.received("/notes", "GET")]
    assert labels == ["a", "b", "b", "c"]
    assert [i["attempts"] for i in steps["look"].iterations] == [1, 2, 1]
    assert steps["look"].output == [{"notes": [], "count": 0}] * 3


async def test_a_killed_worker_process_is_taken_over(harness: Harness, database_url: str) -> None:
    harness.notes.fail("/notes/n1", method="PUT", kind="delay", delay=0.3)
    run_id = await harness.start(CREATE_THEN_RENAME, {"title": "Killed", "labels": []})
    source = harness.credentials.sources["notes"]
    assert isinstance(source, StaticCredentials)
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.workflows.worker_process",
        database_url,
        harness.notes.url,
        source.credentials.access_token,
        run_id,
        cwd=REPO_ROOT,
    )
    await _until(lambda: harness.notes.received("/notes/n1", "PUT"), timeout=30)
    worker.kill()  # SIGKILL: no cleanup of any kind
    await worker.wait()

    run, steps = await harness.state(run_id)
    assert (run.status, run.lease_owner) == (RunStatus.RUNNING, "doomed")
    later = utcnow() + timedelta(seconds=harness.settings.run_lease_seconds + 1)
    assert await harness.engine("worker-b").recover_expired(later) == [run_id]

    run, steps = await harness.state(run_id)
    assert run.status == RunStatus.SUCCEEDED
    assert len(harness.notes.received("/notes", "POST")) == 1
    assert steps["rename"].attempts == 2
