"""No plan overwrites or deletes data without saying so: every action that can declares
it, and every plan in the planner case files (and the examples) that contains such a
step says so in bold, in the summary and in the Slack preview."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import get_args

import pytest
import yaml

from bot.blocks.plan import plan_blocks
from connectors.registry import load_registry
from workflows.catalog import full_catalog
from workflows.model import Step, Workflow
from workflows.planner import Plan, Planner
from workflows.planning.evaluation import evaluate
from workflows.planning.hazards import step_hazards
from workflows.planning.llm import describe_action
from workflows.planning.summary import describe

ROOT = Path(__file__).resolve().parents[2]
CASE_FILES = sorted((ROOT / "tests").glob("planner_cases*.yaml"))
CATALOG = full_catalog(load_registry())
DESTRUCTIVE_NAME = ("delete_", "remove_", "overwrite_", "replace_", "trash_")


def _can_overwrite(field_annotation: object) -> bool:
    return "overwrite" in get_args(field_annotation)


def test_every_action_that_can_destroy_declares_it() -> None:
    """Found from the actions' own shapes (a delete_* name, a mode that can be
    "overwrite"), so a new connector cannot add one silently."""
    undeclared = []
    for key, action in CATALOG.actions.items():
        fields = action.input_model.model_fields
        overwrites = any(_can_overwrite(f.annotation) for f in fields.values())
        deletes = action.name.startswith(DESTRUCTIVE_NAME)
        declared = {d.effect for d in action.destroys}
        if (overwrites and "overwrites" not in declared) or (deletes and "deletes" not in declared):
            undeclared.append(key)
        for destroys in action.destroys:
            assert destroys.target in fields, f"{key}: {destroys.target} is not an input"
    assert undeclared == []


@pytest.fixture(scope="module")
def planned() -> list[tuple[str, Workflow]]:
    planner = Planner(load_registry())
    plans = []
    for path in CASE_FILES:
        for result in asyncio.run(evaluate(planner, path)):
            if isinstance(result.result, Plan):
                plans.append((f"{path.name}:{result.id}", result.result.workflow))
    for example in sorted((ROOT / "examples").glob("*.yaml")):
        plans.append((example.name, Workflow.model_validate(yaml.safe_load(example.read_text()))))
    return plans


def _hazards(workflow: Workflow) -> list[str]:
    return [hazard for step in workflow.steps for hazard in step_hazards(step, CATALOG)]


def test_every_planned_overwrite_or_delete_is_in_bold(
    planned: list[tuple[str, Workflow]],
) -> None:
    warned = 0
    for name, workflow in planned:
        summary = describe(workflow, CATALOG)
        preview = json.dumps(plan_blocks("p1", workflow, {}, [], "U1", CATALOG), ensure_ascii=False)
        for hazard in _hazards(workflow):
            assert f"*{hazard}*" in summary, f"{name}: no warning in {summary!r}"
            assert f"*{hazard}" in preview, f"{name}: no warning in the preview"
            warned += 1
    assert len(planned) > 100
    assert warned >= 1  # the cases include a copy that replaces a file


def test_uploads_the_planner_writes_keep_existing_files_unless_asked(
    planned: list[tuple[str, Workflow]],
) -> None:
    for name, workflow in planned:
        for step in workflow.steps:
            if step.action == "dropbox.upload_file" and step.with_.get("mode") == "overwrite":
                assert "replac" in name or "overwrit" in name, f"{name} overwrites unasked"


def test_the_warning_names_the_path_and_a_run_time_mode_counts() -> None:
    upload = Step.model_validate(
        {
            "id": "up",
            "action": "dropbox.upload_file",
            "with": {"path": "/report.pdf", "content": "x", "mode": "overwrite"},
        }
    )
    assert step_hazards(upload, CATALOG) == ["Overwrites /report.pdf if it exists"]
    kept = upload.model_copy(update={"with_": {"path": "/report.pdf", "content": "x"}})
    assert step_hazards(kept, CATALOG) == []
    decided_later = upload.model_copy(
        update={"with_": {"path": "/a.txt", "content": "x", "mode": "{{ trigger.mode }}"}}
    )
    assert step_hazards(decided_later, CATALOG) == ["Overwrites /a.txt if it exists"]
    delete = Step.model_validate(
        {"id": "d", "action": "google_calendar.delete_event", "with": {"event_id": "ev1"}}
    )
    assert step_hazards(delete, CATALOG) == ["Deletes calendar event ev1"]
    assert "*Deletes calendar event ev1*" in describe(
        Workflow.model_validate({"name": "x", "trigger": {"type": "manual"}, "steps": [delete]}),
        CATALOG,
    )


def test_the_llm_planner_is_told_what_can_overwrite_or_delete() -> None:
    upload = describe_action(CATALOG.actions["dropbox.upload_file"])
    assert "(can overwrite `path` when mode=overwrite)" in upload
    assert "(can delete `event_id`)" in describe_action(
        CATALOG.actions["google_calendar.delete_event"]
    )
    assert "can" not in describe_action(CATALOG.actions["google_drive.upload_file"]).split("\n")[0]
