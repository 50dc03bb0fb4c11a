"""Triggers and side effects in the plain words the plan preview shows."""

from __future__ import annotations

import pytest

from bot.blocks.describe import describe_effects, describe_trigger
from workflows.model import Workflow


def workflow(trigger: dict, steps: list[dict] | None = None) -> Workflow:
    return Workflow.model_validate({"name": "t", "trigger": trigger, "steps": steps or []})


@pytest.mark.parametrize(
    ("trigger", "words"),
    [
        (
            {"type": "schedule", "cron": "0 9 * * 1-5", "timezone": "Europe/Berlin"},
            "Every weekday at 09:00 (Europe/Berlin)",
        ),
        ({"type": "schedule", "cron": "30 10 * * 1"}, "Every Monday at 10:30"),
        ({"type": "schedule", "cron": "0 18 * * *"}, "Every day at 18:00"),
        ({"type": "schedule", "cron": "0 11 * * 2,4"}, "Every Tuesday and Thursday at 11:00"),
        ({"type": "schedule", "cron": "0 9 1 * *"}, "On the 1st of every month at 09:00"),
        ({"type": "schedule", "cron": "*/5 * * * *"}, "On the cron schedule `*/5 * * * *`"),
        (
            {"type": "schedule", "rrule": "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0"},
            "Every Monday at 09:00",
        ),
        (
            {
                "type": "schedule",
                "rrule": "DTSTART;TZID=Europe/Berlin:20260105T090000\n"
                "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=FR",
            },
            "Every 2nd week on Friday",
        ),
        (
            {"type": "schedule", "at": "2026-12-01T15:00:00+01:00"},
            "Once, on Tue 1 Dec 2026 at 15:00",
        ),
        (
            {"type": "event", "event": "github.issue_opened", "with": {"repo": "acme/api"}},
            "When an issue is opened in acme/api",
        ),
        (
            {"type": "event", "event": "gmail.email_received", "with": {"query": "is:important"}},
            "When you get an email matching “is:important”",
        ),
        ({"type": "manual"}, "When you run it"),
    ],
)
def test_trigger_in_plain_words(trigger: dict, words: str) -> None:
    assert describe_trigger(workflow(trigger)) == words


def test_effects_summary_counts_and_names_targets() -> None:
    wf = workflow(
        {"type": "manual"},
        [
            {"id": "card", "action": "trello.create_card", "with": {"list": "Inbox", "name": "x"}},
            {"id": "a", "action": "slack.post_message", "with": {"channel": "#dev", "text": "x"}},
            {"id": "b", "action": "slack.post_message", "with": {"channel": "#ops", "text": "y"}},
            {"id": "mail", "action": "gmail.send_email", "with": {"to": "a@example.com"}},
        ],
    )
    assert describe_effects(wf.steps) == (
        "creates 1 Trello card, posts to #dev, #ops, sends 1 email to a@example.com"
    )
