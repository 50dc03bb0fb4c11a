"""Follow-ups to a pending plan, without an LLM: "make it 10am", "every Monday instead",
"also post to #ops", "not Trello, Asana", "post to #releases instead", "change the list
to Doing", "don't post to #dev", "call it 'Weekly sync'", "invite carol@example.com too".

The workflow is loaded back into a `Draft` (the offline planner's working state), the
edit is applied to it, and the draft is finished like a new plan: validated into a Plan,
or a Question when the edit left something open (the project after switching to Asana).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, time
from typing import TYPE_CHECKING, Any

from workflows.model import Workflow
from workflows.planning.actions import read_action
from workflows.planning.draft import Draft, StepDraft
from workflows.planning.phrases import named
from workflows.planning.relative import retimed
from workflows.planning.results import Plan, PlanContext, Question
from workflows.planning.subjects import Subject, subject_of
from workflows.planning.text import (
    PLACEHOLDER,
    Request,
    blank_values,
    channels,
    emails,
    mentions,
    quoted_in,
    repos,
    split_clauses,
)
from workflows.planning.times import Moment, find_clock, find_day, find_duration, find_schedule
from workflows.planning.triggers import set_moment
from workflows.planning.values import LINK_LABELS

if TYPE_CHECKING:
    from workflows.planning.offline import OfflinePlanner

SERVICE = (
    r"(?:trello|asana|github|slack|gmail|e-?mail|mail|google\s+drive|drive|dropbox"
    r"|google\s+calendar|calendar)"
)
SERVICE_NAMES = {
    "trello": "trello",
    "asana": "asana",
    "github": "github",
    "slack": "slack",
    "gmail": "gmail",
    "email": "gmail",
    "e-mail": "gmail",
    "mail": "gmail",
    "google drive": "google_drive",
    "drive": "google_drive",
    "dropbox": "dropbox",
    "google calendar": "google_calendar",
    "calendar": "google_calendar",
}
SWAP_PATTERNS = (
    rf"\bnot\s+(?P<old>{SERVICE})\s*[,;:.-]*\s*(?:but\s+)?(?:use\s+|in\s+|to\s+|on\s+)?(?P<new>{SERVICE})\b",
    rf"\b(?P<new>{SERVICE})\s+instead\s+of\s+(?P<old>{SERVICE})\b",
    rf"\b(?:switch|change|move)\s+(?:it\s+)?(?:from\s+)?(?P<old>{SERVICE})\s+to\s+(?P<new>{SERVICE})\b",
    rf"\b(?:use|switch\s+to|move\s+(?:it\s+)?to|try|in|to)\s+(?P<new>{SERVICE})\s+instead\b",
    rf"^\s*(?P<new>{SERVICE})\s+instead\b",
    rf"\b(?:use|switch\s+to)\s+(?P<new>{SERVICE})\s*[.!]?$",
)
REMOVE = re.compile(
    r"\b(?:don'?t|do\s+not|no\s+longer|stop|skip|remove|drop|delete|without|no\s+need\s+to|"
    r"leave\s+out|get\s+rid\s+of|forget)\b",
    re.I,
)
CHANGE = re.compile(r"\b(?:instead|change|switch|rather|move|use|replace)\b", re.I)
ADDING = re.compile(r"\b(?:also|too|as\s+well|additionally|plus)\b", re.I)

# Actions that can stand in for each other, and which input plays which role.
ROLES: dict[str, dict[str, str]] = {
    "trello.create_card": {"title": "name", "body": "description", "container": "list"},
    "asana.create_task": {"title": "name", "body": "notes", "container": "project"},
    "github.create_issue": {"title": "title", "body": "body", "container": "repo"},
    "slack.post_message": {"body": "text", "container": "channel"},
    "slack.send_dm": {"body": "text", "container": "user"},
    "gmail.send_email": {"title": "subject", "body": "body", "container": "to"},
    "gmail.create_draft": {"title": "subject", "body": "body", "container": "to"},
    "google_drive.upload_file": {"title": "name", "body": "content"},
    "dropbox.upload_file": {"body": "content", "container": "path"},
    "google_drive.create_folder": {"title": "name"},
    "dropbox.create_folder": {"container": "path"},
    "google_calendar.create_event": {"title": "summary", "body": "description"},
    "trello.comment_on_card": {"body": "text"},
    "asana.comment_on_task": {"body": "text"},
    "github.comment_on_issue": {"body": "body"},
}
FAMILIES: tuple[dict[str, str], ...] = (
    {"trello": "trello.create_card", "asana": "asana.create_task", "github": "github.create_issue"},
    {"slack": "slack.post_message", "gmail": "gmail.send_email"},
    {"google_drive": "google_drive.upload_file", "dropbox": "dropbox.upload_file"},
    {"google_drive": "google_drive.create_folder", "dropbox": "dropbox.create_folder"},
)
EVENT_FAMILIES: tuple[dict[str, str], ...] = (
    {"dropbox": "dropbox.file_added", "google_drive": "google_drive.file_created"},
    {"trello": "trello.card_created", "asana": "asana.task_created"},
)
HINTS = {
    "trello.create_card": "card",
    "asana.create_task": "task",
    "github.create_issue": "issue",
    "slack.post_message": "post",
    "gmail.send_email": "email",
    "google_drive.upload_file": "upload",
    "dropbox.upload_file": "upload",
    "google_drive.create_folder": "folder",
    "dropbox.create_folder": "folder",
}
CARD_ACTIONS = ("trello.create_card", "trello.move_card")
CONTAINERS = (  # (word, input, connector, actions that take it)
    ("list", "list", "trello", CARD_ACTIONS),
    ("column", "list", "trello", CARD_ACTIONS),
    ("board", "board", "trello", CARD_ACTIONS),
    ("project", "project", "asana", ("asana.create_task",)),
)
KIND_WORDS = {
    r"cards?": ("trello.",),
    r"tasks?": ("asana.",),
    r"issues?|labels?": ("github.",),
    r"e-?mails?|mails?": ("gmail.",),
    r"dms?|direct\s+messages?": ("slack.send_dm",),
    r"messages?|posts?|slack": ("slack.post_message",),
    r"meetings?|events?|calendar": ("google_calendar.",),
    r"reactions?": ("slack.add_reaction",),
    r"approvals?": ("approval.",),
    r"folders?": ("google_drive.create_folder", "dropbox.create_folder"),
    r"uploads?|files?": ("google_drive.upload_file", "dropbox.upload_file"),
    r"links?": ("dropbox.create_shared_link",),
    r"comments?": ("trello.comment_on_card", "asana.comment_on_task", "github.comment_on_issue"),
}
HELP = (
    "I couldn't tell what to change. You can say things like “make it 10am”, “every Monday "
    "instead”, “also post to #ops”, “not Trello, Asana”, “post to #releases instead”, "
    "“change the list to Doing”, “don't email bob@example.com”."
)


class Edit:
    """One follow-up applied to a draft."""

    def __init__(self, draft: Draft) -> None:
        self.draft = draft
        self.request = draft.request
        self.text = draft.request.masked
        self.bare = blank_values(self.text)
        self.restored = draft.request.restore(self.text)

    def has(self, pattern: str) -> bool:
        return re.search(pattern, self.bare, re.I) is not None

    def steps(self, *prefixes: str) -> list[StepDraft]:
        return [s for s in self.draft.steps if s.action.startswith(prefixes)]

    # --- switching services ------------------------------------------------------------

    def swap(self) -> bool:
        match = next(
            (m for p in SWAP_PATTERNS if (m := re.search(p, self.bare, re.I)) is not None), None
        )
        if match is None:
            return False
        new = SERVICE_NAMES[re.sub(r"\s+", " ", match.group("new").lower())]
        old_word = match.groupdict().get("old")
        old = SERVICE_NAMES[re.sub(r"\s+", " ", old_word.lower())] if old_word else None
        changed = self._swap_trigger(old, new)
        for step in list(self.draft.steps):
            changed = self._swap_step(step, old, new) or changed
        return changed

    def _swap_trigger(self, old: str | None, new: str) -> bool:
        trigger = self.draft.trigger
        if trigger.get("type") != "event":
            return False
        for family in EVENT_FAMILIES:
            current = trigger["event"].split(".", 1)[0]
            if trigger["event"] in family.values() and new in family and (old in (None, current)):
                if new == current or not self.draft.has_event(family[new]):
                    return False
                self.draft.set_event(family[new], {})
                for field in self.draft.required_config(family[new]):
                    self.draft.need("trigger", field, f"Which {field} should I watch?")
                return True
        return False

    def _swap_step(self, step: StepDraft, old: str | None, new: str) -> bool:
        family = next((f for f in FAMILIES if step.action in f.values()), None)
        if family is None or new not in family or step.connector == new:
            return False
        if old is not None and step.connector != old:
            return False
        target = family[new]
        if not self.draft.has_action(target):
            return False
        old_roles, new_roles = ROLES.get(step.action, {}), ROLES.get(target, {})
        inputs = {
            new_roles[role]: step.inputs[old_roles[role]]
            for role in ("title", "body")
            if role in old_roles and role in new_roles and old_roles[role] in step.inputs
        }
        if (
            target == "dropbox.upload_file"
            and "title" in old_roles
            and old_roles["title"] in step.inputs
        ):
            inputs["path"] = f"/{step.inputs[old_roles['title']]}"
        if step.action == "dropbox.upload_file" and "path" in step.inputs:
            inputs["name"] = str(step.inputs["path"]).rsplit("/", 1)[-1]
        self._replace(step, target, inputs)
        container = new_roles.get("container")
        if container and container not in inputs:
            self.draft.need(step.id, container)
        return True

    def _replace(self, step: StepDraft, action: str, inputs: dict[str, Any]) -> None:
        """Turn `step` into `action`, renaming it and the references later steps make."""
        old_root, old_action = f"steps.{step.id}", step.action
        old_subject = self._subject(step.action, old_root)
        self.draft.things = [t for t in self.draft.things if t.root != old_root]
        step.id, step.action, step.inputs = "", action, inputs
        step.id = self.draft.unique_id(HINTS.get(action, "step"))
        self.draft.remember(step)
        new_subject = self._subject(action, f"steps.{step.id}")
        labels = (LINK_LABELS.get(old_action, ""), LINK_LABELS.get(action, ""))
        for other in self.draft.steps:
            other.inputs = _rewrite(other.inputs, old_root, old_subject, new_subject, labels)

    def _subject(self, action: str, root: str) -> Subject:
        definition = self.draft.catalog.action(action)
        return (
            subject_of(definition.output_model.model_json_schema(), root)
            if definition
            else Subject()
        )

    # --- removing steps ----------------------------------------------------------------

    def remove(self) -> bool:
        if not REMOVE.search(self.bare):
            return False
        doomed = self._targets()
        if not doomed:
            return False
        if len(doomed) == len(self.draft.steps):
            self.draft.ask(
                "That would leave the workflow with nothing to do. What should it do instead?"
            )
            return True
        for step in doomed:
            self._drop(step)
        return True

    def _drop(self, step: StepDraft) -> None:
        """Remove `step`; lines of later messages that show its result go too, and steps
        that cannot work without it are removed (and said so)."""
        if step not in self.draft.steps:
            return
        self.draft.remove_step(step)
        reference = f"steps.{step.id}."
        for other in list(self.draft.steps):
            other.inputs = _without_lines(other.inputs, reference)
            if reference in str(other.inputs):
                self.draft.assume(
                    f"step {other.id} is removed too: it used what step {step.id} made"
                )
                self._drop(other)

    def _targets(self) -> list[StepDraft]:
        named_channels = set(channels(self.text))
        people = set(mentions(self.text))
        addresses = set(emails(self.restored))
        doomed = []
        for step in self.draft.steps:
            values = {str(v) for v in step.inputs.values()} | {
                str(x) for v in step.inputs.values() if isinstance(v, list) for x in v
            }
            if values & (named_channels | people | addresses):
                doomed.append(step)
        if doomed or named_channels or people or addresses:
            return doomed
        for pattern, prefixes in KIND_WORDS.items():
            if self.has(rf"\b(?:{pattern})\b") or self._names_service(prefixes):
                doomed += [s for s in self.steps(*prefixes) if s not in doomed]
        return doomed

    def _names_service(self, prefixes: tuple[str, ...]) -> bool:
        for word, connector in SERVICE_NAMES.items():
            if self.has(rf"\b{word}\b") and any(p.startswith(f"{connector}.") for p in prefixes):
                return True
        return False

    # --- times ---------------------------------------------------------------------------

    def retime(self) -> bool:
        schedule = find_schedule(self.bare)
        day = find_day(self.bare, self.draft.now)
        clock = find_clock(self.bare)
        if schedule is None and day is None and clock is None:
            return False
        calendar = self.steps("google_calendar.create_event")
        about_event = self.has(r"\b(?:meeting|event|call|starts?|appointment)\b")
        kind = self.draft.trigger.get("type")
        if calendar and (about_event or (kind != "schedule" and schedule is None)):
            return self._retime_event(
                calendar[-1], day.value if day else None, clock.value if clock else None
            )
        if kind == "event":
            return False
        if schedule is not None:
            return self._reschedule(clock.value if clock else None)
        return self._retime_trigger(day.value if day else None, clock.value if clock else None)

    def _old_clock(self) -> time | None:
        trigger = self.draft.trigger
        if trigger.get("at"):
            return datetime.fromisoformat(trigger["at"]).time()
        fields = str(trigger.get("cron") or "").split()
        if len(fields) == 5 and fields[0].isdigit() and fields[1].isdigit():
            return time(int(fields[1]), int(fields[0]))
        rule = str(trigger.get("rrule") or "")
        hour, minute = re.search(r"BYHOUR=(\d+)", rule), re.search(r"BYMINUTE=(\d+)", rule)
        return time(int(hour.group(1)), int(minute.group(1)) if minute else 0) if hour else None

    def _reschedule(self, clock: time | None) -> bool:
        found = find_schedule(self.bare)
        old = self._old_clock()
        assert found is not None
        if clock is None and old is not None:  # keep the time of day it had
            text = f"{self.bare[: found.end]} at {old:%H:%M}"
            found = find_schedule(text) or found
        trigger: dict[str, Any] = {"type": "schedule", "timezone": self._zone()}
        trigger |= {"cron": found.value.cron} if found.value.cron else {"rrule": found.value.rrule}
        self.draft.trigger = trigger
        return True

    def _retime_trigger(self, day: Any, clock: time | None) -> bool:
        trigger = self.draft.trigger
        if day is None and trigger.get("cron"):
            fields = trigger["cron"].split()
            if not (fields[0].isdigit() and fields[1].isdigit()) or clock is None:
                return False
            trigger["cron"] = " ".join([str(clock.minute), str(clock.hour), *fields[2:]])
            return True
        if day is None and trigger.get("rrule") and clock is not None:
            rule = re.sub(r"BYHOUR=\d+", f"BYHOUR={clock.hour}", trigger["rrule"])
            trigger["rrule"] = re.sub(r"BYMINUTE=\d+", f"BYMINUTE={clock.minute}", rule)
            return True
        base = datetime.fromisoformat(trigger["at"]) if trigger.get("at") else self.draft.now
        when = (day or base.date(), clock or self._old_clock() or time(9, 0))
        moment = datetime.combine(*when).replace(tzinfo=self.draft.now.tzinfo)
        self.draft.trigger = {"type": "manual"}
        set_moment(self.draft, Moment(moment))
        return True

    def _retime_event(self, step: StepDraft, day: Any, clock: time | None) -> bool:
        start = step.inputs.get("start")
        if isinstance(start, str) and "{{" in start:  # counted from each run
            moved = retimed(start, self.bare, self.draft.now, self._zone())
            if moved is not None:
                step.inputs["start"] = moved
            return moved is not None
        if not isinstance(start, str):
            return False
        old = datetime.fromisoformat(start)
        new = datetime.combine(day or old.date(), clock or old.time()).replace(tzinfo=old.tzinfo)
        step.inputs["start"] = new.isoformat()
        return True

    def _zone(self) -> str:
        return str(self.draft.trigger.get("timezone") or self.draft.context.timezone)

    def redurate(self) -> bool:
        found = find_duration(self.bare)
        calendar = self.steps("google_calendar.create_event")
        if found is None or not calendar or find_clock(self.bare):
            return False
        calendar[-1].inputs["duration_minutes"] = found.value
        calendar[-1].inputs.pop("end", None)
        return True

    # --- values --------------------------------------------------------------------------

    def rechannel(self) -> bool:
        found = channels(self.text)
        posts = self.steps("slack.post_message")
        if not found or not posts or not CHANGE.search(self.bare) or ADDING.search(self.bare):
            return False
        old = re.search(r"\b(?:instead\s+of|not|rather\s+than|from)\s+(#[\w.-]+)", self.text, re.I)
        old_channel = old.group(1).lower() if old else None
        new = [c for c in found if c != old_channel]
        if not new:
            return False
        targets = [p for p in posts if old_channel in (None, p.inputs.get("channel"))]
        for post in targets[-1:] if old_channel is None else targets:
            post.inputs["channel"] = new[0]
        return bool(targets)

    def rename_container(self) -> bool:
        """ "change the list to Doing", "use the Ops project", "in acme/web instead"."""
        changed = False
        for noun, field, connector, actions in CONTAINERS:
            name = self._named(noun)
            if name is None:
                continue
            for step in self.draft.steps:
                if step.action in actions:
                    step.inputs[field] = name
                    changed = True
            trigger = self.draft.trigger
            if trigger.get("type") == "event" and trigger["event"].startswith(f"{connector}."):
                self.draft.set_event(trigger["event"], {**trigger.get("with", {}), field: name})
                changed = True
        return self._rename_repo() or changed

    def _named(self, noun: str) -> str | None:
        patterns = (
            rf"\b{noun}\s+(?:to|is|should\s+be|=)\s+(?P<name>.+?)(?:\s+instead)?\s*[.!]?$",
            rf"\b(?:in|to|into|use|on)\s+(?:the\s+)?(?P<name>(?:{PLACEHOLDER.pattern}|[\w'&-]+)(?:\s+[\w'&-]+)?)\s+{noun}\b",
            rf"\b{noun}\s+(?P<name>{PLACEHOLDER.pattern}|[A-Z][\w'&-]*)",
        )
        for pattern in patterns:
            match = re.search(pattern, self.text, re.I if "[A-Z]" not in pattern else 0)
            if match:
                return named(match.group("name"), self.request, noun)
        return None

    def _rename_repo(self) -> bool:
        found = repos(self.restored)
        if not found or not (CHANGE.search(self.bare) or self.has(r"\b(?:repo|repository)\b")):
            return False
        changed = False
        for step in self.steps("github."):
            if "repo" in step.inputs:
                step.inputs["repo"] = found[0]
                changed = True
        trigger = self.draft.trigger
        if trigger.get("type") == "event" and trigger["event"].startswith("github."):
            self.draft.set_event(trigger["event"], {**trigger.get("with", {}), "repo": found[0]})
            changed = True
        return changed

    def retext(self) -> bool:
        quote = quoted_in(self.text, self.request)
        spelled = re.search(
            r"\b(?:change|make|set)\s+(?:the\s+)?(?:message|text|body)\s+(?:to|say)\s+(?P<text>.+)$"
            r"|\b(?:say|saying)\s+(?P<said>.+)$",
            self.text,
            re.I,
        )
        if spelled is None:
            return False
        words = (
            quote[0]
            if quote
            else self.request.restore(spelled.group("text") or spelled.group("said"))
        )
        body_steps = [s for s in self.draft.steps if "body" in ROLES.get(s.action, {})]
        if not body_steps or not words:
            return False
        step = body_steps[-1]
        step.inputs[ROLES[step.action]["body"]] = words
        return True

    def retitle(self) -> bool:
        match = re.search(
            r"\b(?:call|name|title|rename)\s+(?:it|the\s+\w+)\s+(?:to\s+)?(?P<title>.+)$",
            self.text,
            re.I,
        )
        if match is None:
            return False
        title = (
            quoted_in(match.group("title"), self.request)
            or [self.request.restore(match.group("title"))]
        )[0]
        titled = [s for s in self.draft.steps if "title" in ROLES.get(s.action, {})]
        if titled:
            titled[-1].inputs[ROLES[titled[-1].action]["title"]] = title
        else:
            self.draft.name = title
        return True

    def invite(self) -> bool:
        found = emails(self.restored)
        if not found:
            return False
        calendar = self.steps("google_calendar.create_event")
        mail = self.steps("gmail.send_email", "gmail.create_draft")
        if calendar and self.has(r"\b(?:invite|include|add|also|too|as\s+well)\b"):
            attendees = list(calendar[-1].inputs.get("attendees") or [])
            calendar[-1].inputs["attendees"] = list(dict.fromkeys([*attendees, *found]))
            return True
        if mail and self.has(r"\b(?:cc|copy)\b"):
            cc = list(mail[-1].inputs.get("cc") or [])
            mail[-1].inputs["cc"] = list(dict.fromkeys([*cc, *found]))
            return True
        if mail and self.has(r"\b(?:send|email|mail)\b.*\binstead\b|\bto\s+\S+@\S+\s+instead\b"):
            mail[-1].inputs["to"] = found
            return True
        return False

    # --- adding steps ----------------------------------------------------------------------

    def add(self) -> bool:
        clauses = [c for c in split_clauses(self.text) if c.verb is not None]
        if not clauses:
            return False
        for clause in clauses:
            text = re.sub(r"\b(?:too|as\s+well|also)\s*[.!]?$", "", clause.text, flags=re.I).strip()
            if not read_action(text, clause.verb or "", self.request, self.draft):
                self.draft.unknown.append(self.request.restore(text))
        return True


EDITS: tuple[Callable[[Edit], bool], ...] = (
    Edit.invite,
    Edit.redurate,
    Edit.retime,
    Edit.rechannel,
    Edit.rename_container,
    Edit.retext,
    Edit.retitle,
)


def _without_lines(value: Any, reference: str) -> Any:
    """Multi-line text values without the lines that mention `reference`."""
    if isinstance(value, dict):
        return {k: _without_lines(v, reference) for k, v in value.items()}
    if isinstance(value, str) and "\n" in value and reference in value:
        kept = [line for line in value.splitlines() if reference not in line]
        return "\n".join(kept) if kept else value
    return value


def _rewrite(value: Any, root: str, old: Subject, new: Subject, labels: tuple[str, str]) -> Any:
    """Templates that read `root` (a replaced step) rewritten to the new step's fields,
    and the words naming it ("Trello card: …" -> "Asana task: …")."""
    if isinstance(value, dict):
        return {k: _rewrite(v, root, old, new, labels) for k, v in value.items()}
    if isinstance(value, list):
        return [_rewrite(v, root, old, new, labels) for v in value]
    if not isinstance(value, str) or root not in value:
        return value
    if all(labels):
        value = value.replace(f"{labels[0]}: ", f"{labels[1]}: ")
    for role in ("title", "link", "detail", "ident", "path"):
        before, after = getattr(old, role), getattr(new, role)
        if before and after:
            value = value.replace(before, after)
    return value


def revise(
    planner: OfflinePlanner, workflow: Workflow, text: str, context: PlanContext
) -> Plan | Question:
    request = Request.read(text)
    draft = Draft.from_workflow(workflow, request, context, planner.catalog, context.current_time())
    edit = Edit(draft)
    if not request.masked:
        return Question(HELP, text, workflow)
    applied = edit.swap() or edit.remove()
    if not applied:  # every edit that matches applies ("post 'hi' to #x instead": both)
        applied = any([apply(edit) for apply in EDITS])
    if not applied:
        applied = edit.add()
    if not applied:
        return Question(HELP, text, workflow)
    return planner.finish(draft)
