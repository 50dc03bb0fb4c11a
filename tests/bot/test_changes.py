"""What a revision changes, as the preview of a change to a stored workflow lists it."""

from __future__ import annotations

from bot.blocks.changes import change_lines
from workflows.model import Workflow

TITLES = {"slack": "Slack", "trello": "Trello", "asana": "Asana"}


def workflow(trigger: dict, *steps: dict, name: str = "Stand-up") -> Workflow:
    return Workflow.model_validate({"name": name, "trigger": trigger, "steps": list(steps)})


DAILY = {"type": "schedule", "cron": "0 9 * * 1-5", "timezone": "Europe/Berlin"}
POST = {"id": "post", "action": "slack.post_message", "with": {"channel": "#team", "text": "Hi"}}
CARD = {"id": "card", "action": "trello.create_card", "with": {"list": "Inbox", "name": "x"}}


def test_the_same_workflow_has_no_changes() -> None:
    assert change_lines(workflow(DAILY, POST), workflow(DAILY, POST), TITLES) == []


def test_trigger_name_and_inputs_are_shown_old_to_new() -> None:
    later = {**DAILY, "cron": "0 11 * * 1-5"}
    changed = {**POST, "with": {"channel": "#dev", "text": "Hi"}, "if": "trigger.ok"}
    lines = change_lines(workflow(DAILY, POST), workflow(later, changed, name="Later"), TITLES)
    assert lines == [
        "Name: “Stand-up” → “Later”",
        "When: Every weekday at 09:00 (Europe/Berlin) → Every weekday at 11:00 (Europe/Berlin)",
        "Step 1 (Slack · post message): `channel`: “#team” → “#dev”",
        "Step 1 (Slack · post message): `if`: (none) → “trigger.ok”",
    ]


def test_added_removed_and_swapped_steps() -> None:
    swapped = {**CARD, "action": "asana.create_task", "with": {"project": "Inbox", "name": "x"}}
    lines = change_lines(workflow(DAILY, POST, CARD), workflow(DAILY, swapped), TITLES)
    assert lines == [
        "Step 1: Trello · create card → Asana · create task",
        "Step 1 (Asana · create task): `list`: “Inbox” → (none)",
        "Step 1 (Asana · create task): `project`: (none) → “Inbox”",
        "Removed step: Slack · post message",
    ]
    assert change_lines(workflow(DAILY, POST), workflow(DAILY, POST, CARD), TITLES) == [
        "Added step 2: Trello · create card"
    ]
