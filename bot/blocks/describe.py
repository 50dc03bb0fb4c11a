"""Workflows in plain words: the trigger ("Every weekday at 09:00 (Europe/Berlin)"), and
what the steps will do ("creates 1 Trello card, posts to #dev")."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from workflows.model import EventTrigger, ManualTrigger, ScheduleTrigger, Step, Workflow

DAY_NAMES = {
    "MO": "Monday",
    "TU": "Tuesday",
    "WE": "Wednesday",
    "TH": "Thursday",
    "FR": "Friday",
    "SA": "Saturday",
    "SU": "Sunday",
}
CRON_DAYS = ["SU", "MO", "TU", "WE", "TH", "FR", "SA", "SU"]  # cron 0 and 7 are Sunday
WEEKDAYS = ["MO", "TU", "WE", "TH", "FR"]

EVENT_PHRASES = {
    "github.issue_opened": "When an issue is opened in {repo}",
    "github.pull_request_opened": "When a pull request is opened in {repo}",
    "slack.message_posted": "When a message is posted in {channel}",
    "trello.card_created": "When a card is created in Trello list {list}",
    "asana.task_created": "When a task is created in Asana project {project}",
    "google_calendar.event_created": "When an event is added to your calendar",
    "gmail.email_received": "When you get an email matching “{query}”",
    "google_drive.file_created": "When a file is added to Google Drive",
    "dropbox.file_added": "When a file is added to the Dropbox folder {path}",
    "http.webhook_received": "When its webhook URL receives a request",
}

# action -> (verb phrase for one, noun for counting)
EFFECTS = {
    "github.create_issue": "creates {n} GitHub issue{s}",
    "github.comment_on_issue": "comments on {n} GitHub issue{s}",
    "github.add_labels": "labels {n} GitHub issue{s}",
    "github.close_issue": "closes {n} GitHub issue{s}",
    "github.list_issues": "reads GitHub issues",
    "slack.post_message": "posts to {targets}",
    "slack.send_dm": "sends a DM to {targets}",
    "slack.add_reaction": "adds {n} reaction{s}",
    "trello.create_card": "creates {n} Trello card{s}",
    "trello.move_card": "moves {n} Trello card{s}",
    "trello.comment_on_card": "comments on {n} Trello card{s}",
    "asana.create_task": "creates {n} Asana task{s}",
    "asana.complete_task": "completes {n} Asana task{s}",
    "asana.comment_on_task": "comments on {n} Asana task{s}",
    "google_calendar.create_event": "creates {n} calendar event{s} (invites go out)",
    "google_calendar.list_events": "reads your calendar",
    "google_calendar.delete_event": "deletes {n} calendar event{s}",
    "gmail.send_email": "sends {n} email{s} to {targets}",
    "gmail.create_draft": "drafts {n} email{s}",
    "gmail.get_email": "reads an email",
    "gmail.forward_email": "forwards {n} email{s} to {targets}",
    "gmail.save_attachments": "keeps email attachments for the next step",
    "google_drive.download_file": "reads a Drive file (unchanged)",
    "dropbox.download_file": "reads a Dropbox file (unchanged)",
    "google_drive.upload_file": "uploads {n} file{s} to Drive",
    "google_drive.create_folder": "creates {n} Drive folder{s}",
    "google_drive.share_file": "shares {n} Drive file{s}",
    "dropbox.upload_file": "uploads {n} file{s} to Dropbox",
    "dropbox.create_folder": "creates {n} Dropbox folder{s}",
    "dropbox.create_shared_link": "creates {n} Dropbox link{s}",
    "http.request": "calls {targets}",
    "approval.request": "asks {targets} for approval",
}
TARGET_INPUTS = ("channel", "user", "to", "url", "approvers")


def describe_trigger(workflow: Workflow) -> str:
    trigger = workflow.trigger
    if isinstance(trigger, ManualTrigger):
        return "When you run it"
    if isinstance(trigger, EventTrigger):
        return describe_event(trigger.event, trigger.with_)
    assert isinstance(trigger, ScheduleTrigger)
    zone = f" ({trigger.timezone})" if trigger.timezone else ""
    if trigger.cron:
        return describe_cron(trigger.cron) + zone
    if trigger.rrule:
        return describe_rrule(trigger.rrule) + zone
    return describe_at(trigger.at or "") + zone


def describe_event(event: str, config: Mapping[str, Any]) -> str:
    phrase = EVENT_PHRASES.get(event)
    if phrase is None:
        return f"When {event} happens"
    values = {k: _short(v) for k, v in config.items()}
    try:
        return phrase.format(**values)
    except KeyError:
        return phrase.split(" {")[0].rsplit(" in ", 1)[0]


def describe_cron(expression: str) -> str:
    fields = expression.split()
    if len(fields) != 5 or not (fields[0].isdigit() and fields[1].isdigit()):
        return f"On the cron schedule `{expression}`"
    minute, hour, day, month, weekday = fields
    time_of_day = f"{int(hour):02d}:{int(minute):02d}"
    if month != "*":
        return f"On the cron schedule `{expression}`"
    if day == "*" and weekday == "*":
        return f"Every day at {time_of_day}"
    if day == "*":
        days = _cron_weekdays(weekday)
        return (
            f"{_days_phrase(days)} at {time_of_day}"
            if days
            else (f"On the cron schedule `{expression}`")
        )
    if weekday == "*" and day.isdigit():
        return f"On the {ordinal(int(day))} of every month at {time_of_day}"
    return f"On the cron schedule `{expression}`"


def _cron_weekdays(field: str) -> list[str] | None:
    days: list[str] = []
    for part in field.split(","):
        if "-" in part:
            start, _, end = part.partition("-")
            if not (start.isdigit() and end.isdigit()):
                return None
            days += [CRON_DAYS[d] for d in range(int(start), int(end) + 1) if d < 8]
        elif part.isdigit() and int(part) < 8:
            days.append(CRON_DAYS[int(part)])
        else:
            return None
    return days


def describe_rrule(rule: str) -> str:
    parts: dict[str, str] = {}
    for line in rule.splitlines():
        body = line.removeprefix("RRULE:")
        if "FREQ=" in body:
            parts = dict(p.split("=", 1) for p in body.split(";") if "=" in p)
    if not parts:
        return f"On the schedule `{rule}`"
    hours, minutes = parts.get("BYHOUR", ""), parts.get("BYMINUTE", "0")
    at = (
        f" at {int(hours.split(',')[0]):02d}:{int(minutes.split(',')[0]):02d}"
        if (hours.split(",")[0].isdigit() and minutes.split(",")[0].isdigit())
        else ""
    )
    interval = int(parts.get("INTERVAL", "1") or 1)
    freq = parts.get("FREQ")
    if freq == "WEEKLY" or (freq == "DAILY" and "BYDAY" in parts):
        days = [d[-2:] for d in parts.get("BYDAY", "").split(",") if d]
        phrase = _days_phrase(days) if days else "Every week"
        if interval > 1:
            phrase = f"Every {ordinal(interval)} week" + (
                f" on {phrase.removeprefix('Every ')}" if days else ""
            )
        return phrase + at
    if freq == "DAILY":
        return ("Every day" if interval == 1 else f"Every {interval} days") + at
    if freq == "MONTHLY" and parts.get("BYMONTHDAY", "").isdigit():
        return f"On the {ordinal(int(parts['BYMONTHDAY']))} of every month{at}"
    if freq == "HOURLY":
        return "Every hour" if interval == 1 else f"Every {interval} hours"
    return f"On the schedule `{rule}`"


def describe_at(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return f"Once, at {value}"
    return f"Once, on {moment:%a %-d %b %Y} at {moment:%H:%M}"


def _days_phrase(days: list[str]) -> str:
    unique = list(dict.fromkeys(days))
    if sorted(unique, key=list(DAY_NAMES).index) == WEEKDAYS:
        return "Every weekday"
    if len(unique) == 7:
        return "Every day"
    names = [DAY_NAMES[d] for d in unique if d in DAY_NAMES]
    if len(names) == 1:
        return f"Every {names[0]}"
    return "Every " + ", ".join(names[:-1]) + f" and {names[-1]}"


def ordinal(number: int) -> str:
    suffix = (
        "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    )
    return f"{number}{suffix}"


def describe_effects(steps: list[Step]) -> str:
    """One plain sentence of side effects: "creates 1 Trello card, posts to #dev"."""
    counts = Counter(step.action for step in steps)
    targets: dict[str, list[str]] = {}
    for step in steps:
        for name in TARGET_INPUTS:
            if name in step.with_:
                targets.setdefault(step.action, []).append(_short(step.with_[name]))
    repeated = {step.action for step in steps if step.for_each is not None}
    phrases = []
    for action, count in counts.items():
        template = EFFECTS.get(action, f"runs {action}" + (" {n} times" if count > 1 else ""))
        phrase = template.format(
            n=count,
            s="s" if count > 1 else "",
            targets=", ".join(dict.fromkeys(targets.get(action, []))) or "someone",
        )
        phrases.append(phrase + (" per item" if action in repeated else ""))
    return ", ".join(phrases) if phrases else "does nothing"


def _short(value: Any, limit: int = 60) -> str:
    text = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
