"""The Edit modal: the workflow's name, its trigger, and every step's inputs as text
fields. Values that are not text (lists, numbers) are shown and read back as JSON.
Problems found by the validator are mapped back onto the fields they concern."""

from __future__ import annotations

import json
import re
from typing import Any

from bot.blocks.kit import Block, clip, context
from workflows.model import EventTrigger, ScheduleTrigger, Workflow

CALLBACK = "plan_edit_submit"
WORKFLOW_CALLBACK = "workflow_edit_submit"  # the modal of a stored workflow: its id
NAME_BLOCK = "name"
TRIGGER_BLOCK = "trigger"
ZONE_BLOCK = "timezone"
VALUE_ACTION = "value"
MAX_INPUT = 3000
_STEP_PATH = re.compile(r"^steps\[(\d+)\]\.with\.([A-Za-z0-9_]+)")


def _input(
    block_id: str, label: str, value: str, multiline: bool = False, optional: bool = False
) -> Block:
    element: Block = {"type": "plain_text_input", "action_id": VALUE_ACTION, "multiline": multiline}
    if value:
        element["initial_value"] = clip(value, MAX_INPUT)
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": {"type": "plain_text", "text": clip(label, 2000)},
        "element": element,
    }


def as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def from_text(text: str, original: Any) -> Any:
    """Read a field back: text stays text unless the original value was not text."""
    if isinstance(original, str) or original is None:
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def step_block_id(index: int, name: str) -> str:
    return f"step:{index}:{name}"


def edit_modal(
    subject: str, workflow: Workflow, callback: str = CALLBACK, submit: str = "Save"
) -> dict[str, Any]:
    """The modal editing `workflow`; `subject` (the pending plan's id, or with
    WORKFLOW_CALLBACK the stored workflow's id) comes back with the submission."""
    blocks: list[Block] = [_input(NAME_BLOCK, "Name", workflow.name)]
    trigger = workflow.trigger
    if isinstance(trigger, ScheduleTrigger):
        blocks.append(
            _input(TRIGGER_BLOCK, "Schedule (cron, RRULE or an ISO date-time)", trigger.expression)
        )
        blocks.append(_input(ZONE_BLOCK, "Time zone", trigger.timezone or "", optional=True))
    elif isinstance(trigger, EventTrigger):
        for name, value in trigger.with_.items():
            blocks.append(_input(f"trigger:{name}", f"When: {name}", as_text(value)))
    for index, step in enumerate(workflow.steps):
        blocks.append(context(f"*Step {index + 1}: {step.action}*"))
        for name, value in step.with_.items():
            blocks.append(
                _input(
                    step_block_id(index, name),
                    name,
                    as_text(value),
                    multiline=len(as_text(value)) > 80,
                )
            )
    return {
        "type": "modal",
        "callback_id": callback,
        "private_metadata": subject,
        "title": {"type": "plain_text", "text": "Edit workflow"},
        "submit": {"type": "plain_text", "text": submit},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks[:100],
    }


def _value(values: dict[str, Any], block_id: str) -> str | None:
    field = values.get(block_id, {}).get(VALUE_ACTION)
    return None if field is None else (field.get("value") or "")


def apply_edit(workflow: Workflow, values: dict[str, Any]) -> dict[str, Any]:
    """The document with the modal's values applied (validate it before use)."""
    document = workflow.to_document()
    document["name"] = _value(values, NAME_BLOCK) or workflow.name
    trigger = document["trigger"]
    if isinstance(workflow.trigger, ScheduleTrigger):
        kind = "cron" if workflow.trigger.cron else "rrule" if workflow.trigger.rrule else "at"
        trigger[kind] = _value(values, TRIGGER_BLOCK) or ""
        zone = _value(values, ZONE_BLOCK)
        if zone is not None:
            trigger["timezone"] = zone or None
    elif isinstance(workflow.trigger, EventTrigger):
        for name, original in workflow.trigger.with_.items():
            text = _value(values, f"trigger:{name}")
            if text is not None:
                trigger["with"][name] = from_text(text, original)
    for index, step in enumerate(workflow.steps):
        for name, original in step.with_.items():
            text = _value(values, step_block_id(index, name))
            if text is not None:
                document["steps"][index]["with"][name] = from_text(text, original)
    return document


def field_for(path: str, workflow: Workflow) -> str:
    """The modal block a validator problem at `path` belongs to."""
    match = _STEP_PATH.match(path)
    if (
        match
        and int(match.group(1)) < len(workflow.steps)
        and match.group(2) in (workflow.steps[int(match.group(1))].with_)
    ):
        return step_block_id(int(match.group(1)), match.group(2))
    if path.startswith("trigger.timezone"):
        return ZONE_BLOCK
    if path.startswith("trigger.with."):
        name = path.split(".")[2]
        if isinstance(workflow.trigger, EventTrigger) and name in workflow.trigger.with_:
            return f"trigger:{name}"
    if path.startswith("trigger") and isinstance(workflow.trigger, ScheduleTrigger):
        return TRIGGER_BLOCK
    return NAME_BLOCK
