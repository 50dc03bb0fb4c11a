"""Starting a run is idempotent on a dedupe key (what started it: a fire time, an event
item), on SQLite and Postgres; and the context actions and event polls run with."""

from __future__ import annotations

import asyncio

import pytest

from workflows.engine import EngineError
from workflows.store import WorkflowState

from .conftest import OWNER, TEAM, Harness
from .notes import connector as notes_connector

CREATE_NOTE = """
name: One note
trigger: {type: manual}
steps:
  - {id: make, action: notes.create_note, with: {title: "{{ trigger.title }}"}}
"""


async def test_a_second_start_with_the_same_key_returns_the_first_run(harness: Harness) -> None:
    workflow_id = await harness.store(CREATE_NOTE)
    engine = harness.engine()

    first = await engine.start_run(
        TEAM, workflow_id, {"title": "a"}, OWNER, "schedule", dedupe_key="fire:1"
    )
    again = await engine.start_run(
        TEAM, workflow_id, {"title": "b"}, OWNER, "schedule", dedupe_key="fire:1"
    )
    other = await engine.start_run(
        TEAM, workflow_id, {"title": "c"}, OWNER, "schedule", dedupe_key="fire:2"
    )
    manual = [await engine.start_run(TEAM, workflow_id, {}, OWNER) for _ in range(2)]

    assert again == first
    assert len({first, other, *manual}) == 4
    assert len(await harness.runs.list_for_workflow(TEAM, workflow_id)) == 4
    run = await harness.runs.get(TEAM, first)
    assert (run.dedupe_key, run.trigger_payload) == ("fire:1", {"title": "a"})
    started = [e for e in await harness.audit.entries(TEAM) if e.action == "run.started"]
    assert len(started) == 4
    assert len(harness.observer.updates) == 4  # the repeat told nobody about a new run


async def test_starts_racing_with_one_key_make_one_run(harness: Harness) -> None:
    workflow_id = await harness.store(CREATE_NOTE)
    engines = [harness.engine(f"worker-{n}") for n in range(4)]

    run_ids = await asyncio.gather(
        *(
            engine.start_run(TEAM, workflow_id, {}, OWNER, "event", dedupe_key="item:42")
            for engine in engines
        )
    )

    [run] = await harness.runs.list_for_workflow(TEAM, workflow_id)
    assert set(run_ids) == {run.id}
    assert (await harness.runs.steps(TEAM, run.id))[0].step_id == "make"


async def test_a_started_key_answers_even_after_the_workflow_was_paused(harness: Harness) -> None:
    workflow_id = await harness.store(CREATE_NOTE)
    engine = harness.engine()
    first = await engine.start_run(TEAM, workflow_id, {}, OWNER, "event", dedupe_key="item:1")
    await harness.workflows.set_state(TEAM, workflow_id, WorkflowState.PAUSED, OWNER)

    assert await engine.start_run(TEAM, workflow_id, {}, OWNER, dedupe_key="item:1") == first
    with pytest.raises(EngineError, match="paused"):
        await engine.start_run(TEAM, workflow_id, {}, OWNER, dedupe_key="item:2")


async def test_a_key_belongs_to_one_workflow(harness: Harness) -> None:
    one, two = await harness.store(CREATE_NOTE), await harness.store(CREATE_NOTE)
    engine = harness.engine()

    run_one = await engine.start_run(TEAM, one, {}, OWNER, "event", dedupe_key="item:7")
    run_two = await engine.start_run(TEAM, two, {}, OWNER, "event", dedupe_key="item:7")

    assert run_one != run_two


async def test_action_context_carries_the_owners_credentials_for_the_service(
    harness: Harness,
) -> None:
    engine = harness.engine()

    context = await engine.action_context(TEAM, OWNER, notes_connector, "run_1:make:1")
    action = engine.catalog.action("notes.list_notes")
    assert action is not None
    listed = await action.run(context, {})

    assert (context.team_id, context.user_id) == (TEAM, OWNER)
    assert context.idempotency_key == "run_1:make:1"
    assert context.credentials is harness.credentials.sources["notes"]
    assert listed.model_dump() == {"notes": [], "count": 0}
    [request] = harness.notes.received("/notes", "GET")
    assert request.headers["authorization"].startswith("Bearer notes-")
