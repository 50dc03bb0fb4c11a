"""A workflow in plain words, for the person who asked for it to check:

    When a new issue is opened in acme/api:
    1. Create a Trello card “‹issue title›” in the Inbox list.
    2. Post to #dev: “New issue in acme/api: ‹issue title› ‹issue html url› …”

Values that come from the trigger or an earlier step are shown as ‹what they are›.
Works for any valid workflow (the offline planner's, the LLM's, a hand-written one):
known actions get a sentence, others their catalog description.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from connectors.registry import Registry
from workflows.model import EventTrigger, ScheduleTrigger, Step, Workflow
from workflows.planning.hazards import bold_hazards
from workflows.planning.times import WEEKDAY_NAMES
from workflows.planning.words import format_moment, readable


def _quote(value: Any) -> str:
    return f"“{readable(value)}”"


# --- triggers ------------------------------------------------------------------------------

_CRON_DAYS = {
    "*": "every day",
    "1-5": "every weekday",
    "0,6": "every Saturday and Sunday",
    "6,0": "every Saturday and Sunday",
}


def _day_names(field: str) -> str | None:
    names = []
    for part in field.split(","):
        if not part.isdigit() or int(part) > 7:
            return None
        names.append(WEEKDAY_NAMES[(int(part) - 1) % 7].capitalize())
    if len(names) == 1:
        return f"every {names[0]}"
    return f"every {', '.join(names[:-1])} and {names[-1]}"


def describe_cron(cron: str) -> str:
    """Words for the cron shapes the planner writes; the expression itself otherwise."""
    fields = cron.split()
    if len(fields) != 5:
        return f"on the schedule `{cron}`"
    minute, hour, day, month, weekday = fields
    if minute.startswith("*/") and hour == day == month == weekday == "*":
        return f"every {minute[2:]} minutes"
    if minute.isdigit() and hour == "*" and day == month == weekday == "*":
        return f"every hour at {int(minute):02d} past"
    if minute.isdigit() and hour.startswith("*/") and day == month == weekday == "*":
        return f"every {hour[2:]} hours"
    if not (minute.isdigit() and hour.isdigit() and month == "*"):
        return f"on the schedule `{cron}`"
    at = f"at {int(hour):02d}:{int(minute):02d}"
    if day == "*":
        days = _CRON_DAYS.get(weekday) or _day_names(weekday)
        return f"{days} {at}" if days else f"on the schedule `{cron}`"
    if day.isdigit() and weekday == "*":
        return f"on day {day} of every month {at}"
    return f"on the schedule `{cron}`"


def _describe_schedule(trigger: ScheduleTrigger, timezone: str) -> str:
    zone = trigger.timezone or timezone
    if trigger.at:
        try:
            moment = datetime.fromisoformat(trigger.at)
        except ValueError:
            return f"Once, at {trigger.at} ({zone})"
        return f"Once, on {format_moment(moment)} ({zone})"
    if trigger.cron:
        words = describe_cron(trigger.cron)
        return f"{words[:1].upper()}{words[1:]} ({zone})"
    return f"On the schedule {trigger.rrule} ({zone})"


EVENT_WORDS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "github.issue_opened": lambda c: f"a new issue is opened in {c.get('repo', '?')}",
    "github.pull_request_opened": lambda c: f"a pull request is opened in {c.get('repo', '?')}",
    "gmail.email_received": lambda c: (
        f"an email matching “{c['query']}” arrives" if c.get("query") else "an email arrives"
    ),
    "dropbox.file_added": lambda c: (
        f"a file is added to the Dropbox folder {c['folder']}"
        if c.get("folder")
        else "a file is added to your Dropbox"
    ),
    "google_drive.file_created": lambda c: (
        f"a file is created in the Drive folder {c['folder_id']}"
        if c.get("folder_id")
        else "a file is created in your Google Drive"
    ),
    "trello.card_created": lambda c: (
        "a Trello card is created"
        + (f" in the {c['list']} list" if c.get("list") else "")
        + (f" on the {c['board']} board" if c.get("board") else "")
    ),
    "asana.task_created": lambda c: (
        f"a task is created in the Asana project {c.get('project', '?')}"
    ),
    "slack.message_posted": lambda c: (
        f"a message is posted in {c.get('channel', '?')}"
        + (f" containing “{c['pattern']}”" if c.get("pattern") else "")
    ),
    "google_calendar.event_created": lambda c: "an event is added to your calendar",
    "http.webhook_received": lambda c: "a webhook is received at the workflow's URL",
}


def describe_trigger(workflow: Workflow, catalog: Registry, timezone: str) -> str:
    trigger = workflow.trigger
    if isinstance(trigger, ScheduleTrigger):
        return _describe_schedule(trigger, timezone)
    if isinstance(trigger, EventTrigger):
        words = EVENT_WORDS.get(trigger.event)
        if words is not None:
            return f"When {words(trigger.with_)}"
        event = catalog.event(trigger.event)
        what = event.description.rstrip(".") if event else trigger.event
        config = ", ".join(f"{k}: {readable(v)}" for k, v in trigger.with_.items())
        return f"When: {what}" + (f" ({config})" if config else "")
    return "When you run it"


# --- steps -----------------------------------------------------------------------------------


def _get(step: Step, key: str, default: str = "?") -> str:
    value = step.with_.get(key)
    return readable(value) if value not in (None, "", []) else default


def _calendar_sentence(step: Step) -> str:
    start = step.with_.get("start")
    when = readable(start)
    if isinstance(start, str) and "{{" not in start:
        try:
            when = format_moment(datetime.fromisoformat(start))
        except ValueError:
            when = start
    length = step.with_.get("duration_minutes")
    sentence = f"Add {_quote(_get(step, 'summary'))} to your calendar on {when}"
    if length:
        sentence += f" for {length} minutes"
    attendees = step.with_.get("attendees")
    if attendees:
        sentence += f", inviting {readable(attendees)} (they get an invitation email)"
    return sentence


def _email(step: Step) -> str:
    """The e-mail a Gmail step reads: the trigger's, or the newest matching a search."""
    if step.with_.get("query"):
        return f"the newest email matching “{readable(step.with_['query'])}”"
    reference = str(step.with_.get("id", ""))
    return "the email" if "trigger." in reference else f"the email {readable(reference)}"


STEP_WORDS: dict[str, Callable[[Step], str]] = {
    "slack.post_message": lambda s: f"Post to {_get(s, 'channel')}: {_quote(_get(s, 'text'))}",
    "slack.send_dm": lambda s: (
        f"Send {_get(s, 'user')} a direct message: {_quote(_get(s, 'text'))}"
    ),
    "slack.add_reaction": lambda s: f"React with :{_get(s, 'name')}: to the message",
    "trello.create_card": lambda s: (
        f"Create a Trello card {_quote(_get(s, 'name'))} in the "
        f"{_get(s, 'list')} list"
        + (f" on the {_get(s, 'board')} board" if s.with_.get("board") else "")
    ),
    "trello.move_card": lambda s: (
        f"Move Trello card {_get(s, 'card')} to the {_get(s, 'list')} list"
    ),
    "trello.comment_on_card": lambda s: (
        f"Comment on Trello card {_get(s, 'card')}: {_quote(_get(s, 'text'))}"
    ),
    "asana.create_task": lambda s: (
        f"Create an Asana task {_quote(_get(s, 'name'))} in "
        f"{_get(s, 'project', 'your default workspace')}"
        + (f", assigned to {_get(s, 'assignee')}" if s.with_.get("assignee") else "")
        + (f", due {_get(s, 'due_on')}" if s.with_.get("due_on") else "")
    ),
    "asana.complete_task": lambda s: f"Mark Asana task {_get(s, 'task')} complete",
    "asana.comment_on_task": lambda s: (
        f"Comment on Asana task {_get(s, 'task')}: {_quote(_get(s, 'text'))}"
    ),
    "github.create_issue": lambda s: (
        f"Open a GitHub issue {_quote(_get(s, 'title'))} in "
        f"{_get(s, 'repo')}" + (f" labelled {_get(s, 'labels')}" if s.with_.get("labels") else "")
    ),
    "github.comment_on_issue": lambda s: (
        f"Comment on issue #{_get(s, 'issue_number')} in "
        f"{_get(s, 'repo')}: {_quote(_get(s, 'body'))}"
    ),
    "github.add_labels": lambda s: (
        f"Label issue #{_get(s, 'issue_number')} in {_get(s, 'repo')} with {_get(s, 'labels')}"
    ),
    "github.close_issue": lambda s: f"Close issue #{_get(s, 'issue_number')} in {_get(s, 'repo')}",
    "github.list_issues": lambda s: (
        f"List the {_get(s, 'state', 'open')} issues in {_get(s, 'repo')}"
    ),
    "google_calendar.create_event": _calendar_sentence,
    "google_calendar.list_events": lambda s: "List your calendar events",
    "google_calendar.delete_event": lambda s: f"Delete calendar event {_get(s, 'event_id')}",
    "gmail.send_email": lambda s: f"Email {_get(s, 'to')}: {_quote(_get(s, 'subject', ''))}",
    "gmail.create_draft": lambda s: (
        f"Draft an email to {_get(s, 'to')}: {_quote(_get(s, 'subject', ''))} (not sent)"
    ),
    "google_drive.upload_file": lambda s: f"Save {_quote(_get(s, 'name'))} to Google Drive",
    "google_drive.create_folder": lambda s: (
        f"Create the Google Drive folder {_quote(_get(s, 'name'))}"
    ),
    "google_drive.share_file": lambda s: (
        "Share the Drive file "
        + (
            "with anyone who has the link"
            if s.with_.get("type") == "anyone"
            else f"with {_get(s, 'email')}"
        )
        + f" as {_get(s, 'role', 'reader')}"
    ),
    "dropbox.upload_file": lambda s: f"Save {_get(s, 'path')} to Dropbox",
    "dropbox.download_file": lambda s: f"Read {_get(s, 'path')} from Dropbox (it stays unchanged)",
    "google_drive.download_file": lambda s: (
        f"Read {_quote(s.with_.get('name') or s.with_.get('file_id'))} from Google Drive "
        "(it stays unchanged)"
    ),
    "gmail.get_email": lambda s: f"Read {_email(s)}",
    "gmail.forward_email": lambda s: (
        f"Forward {_email(s)} to {_get(s, 'to')}"
        + (f" with the note {_quote(s.with_['note'])}" if s.with_.get("note") else "")
    ),
    "gmail.save_attachments": lambda s: f"Keep the attachments of {_email(s)}",
    "dropbox.create_folder": lambda s: f"Create the Dropbox folder {_get(s, 'path')}",
    "dropbox.create_shared_link": lambda s: f"Create a shared link to {_get(s, 'path')} in Dropbox",
    "http.request": lambda s: (
        f"Send an HTTP {_get(s, 'method', 'GET')} request to {_get(s, 'url')}"
    ),
    "approval.request": lambda s: (
        f"Ask {_get(s, 'approvers')} to approve: "
        f"{_quote(_get(s, 'message'))} — the run waits for them"
    ),
}


def describe_step(step: Step, catalog: Registry) -> str:
    words = STEP_WORDS.get(step.action)
    if words is not None:
        sentence = words(step)
    else:
        action = catalog.action(step.action)
        what = action.description.rstrip(".") if action else step.action
        inputs = ", ".join(f"{k}: {readable(v)}" for k, v in step.with_.items())
        sentence = f"{what} ({inputs})" if inputs else what
    if step.if_:
        sentence += f" — only if `{step.if_}`"
    if isinstance(step.for_each, str):
        sentence += f" — for each of {readable('{{ ' + step.for_each + ' }}')}"
    elif step.for_each is not None:
        sentence += f" — for each of {readable(step.for_each)}"
    hazards = bold_hazards(step, catalog)
    if hazards:
        sentence += f" — {hazards}"
    return sentence


def describe(workflow: Workflow, catalog: Registry, timezone: str = "UTC") -> str:
    """The workflow in a few lines: when it runs, then each step."""
    lines = [f"{describe_trigger(workflow, catalog, timezone)}:"]
    lines += [f"{i}. {describe_step(step, catalog)}." for i, step in enumerate(workflow.steps, 1)]
    return "\n".join(lines)
