"""What a revision of a stored workflow changes, old → new: its name, its trigger and each
step (added, removed, another action, inputs changed). Shown on top of the preview of the
revision, whose approval stores the next version. Pure functions: models in, text out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.blocks.describe import describe_trigger
from bot.blocks.kit import Block, section, show_value
from bot.blocks.plan import step_title
from workflows.model import Step, Workflow
from workflows.store import WorkflowRecord

NOTHING = "(none)"
VALUE_LIMIT = 120


def _shown(value: Any) -> str:
    return NOTHING if value is None else f"“{show_value(value, VALUE_LIMIT)}”"


def _input_changes(old: Step, new: Step) -> list[str]:
    """`name`: old → new for every input, condition or loop that differs."""
    before = {**old.with_, "if": old.if_, "for each": old.for_each}
    after = {**new.with_, "if": new.if_, "for each": new.for_each}
    return [
        f"`{name}`: {_shown(before.get(name))} → {_shown(after.get(name))}"
        for name in dict.fromkeys([*before, *after])
        if before.get(name) != after.get(name)
    ]


def _step_changes(number: int, old: Step, new: Step, titles: Mapping[str, str]) -> list[str]:
    title = step_title(new, titles)
    lines = []
    if old.action != new.action:
        lines.append(f"Step {number}: {step_title(old, titles)} → {title}")
    lines += [f"Step {number} ({title}): {change}" for change in _input_changes(old, new)]
    return lines


def change_lines(old: Workflow, new: Workflow, titles: Mapping[str, str]) -> list[str]:
    """One line per difference between `old` and `new`, in the order a person reads a
    plan: name, trigger, steps (matched by their id), then removed steps."""
    lines = []
    if old.name != new.name:
        lines.append(f"Name: “{old.name}” → “{new.name}”")
    if old.trigger != new.trigger:
        lines.append(f"When: {describe_trigger(old)} → {describe_trigger(new)}")
    earlier = {step.id: step for step in old.steps}
    for number, step in enumerate(new.steps, start=1):
        previous = earlier.get(step.id)
        if previous is None:
            lines.append(f"Added step {number}: {step_title(step, titles)}")
        else:
            lines += _step_changes(number, previous, step, titles)
    kept = {step.id for step in new.steps}
    lines += [
        f"Removed step: {step_title(step, titles)}" for step in old.steps if step.id not in kept
    ]
    return lines


def change_blocks(
    record: WorkflowRecord, revised: Workflow, titles: Mapping[str, str]
) -> list[Block]:
    """The "what changes" section of a revision's preview."""
    lines = change_lines(record.workflow, revised, titles)
    title = (
        f":pencil2: *Changes to “{record.name}”* `{record.id}` "
        f"(version {record.version} → {record.latest_version + 1})"
    )
    if not lines:
        return [section(f"{title}\nNothing differs from version {record.version}.")]
    return [section(title + "\n" + "\n".join(f"• {line}" for line in lines))]
