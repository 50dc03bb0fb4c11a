"""The offline planner's working state: the trigger and steps read so far, what is still
missing (each with the question to ask), and the defaults it chose.

Steps refer to each other and to the trigger through the catalog's schemas: `subject`
says where the title/link/text of the trigger payload or of an earlier step's output
lives, so a later step can say "{{ trigger.issue.title }}" or "{{ steps.card.url }}".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from pydantic import BaseModel

from connectors.registry import Registry
from workflows.model import Workflow
from workflows.planning.relative import moment_template, repeats, time_words
from workflows.planning.results import Choice, PlanContext
from workflows.planning.subjects import Subject, subject_of
from workflows.planning.summary import describe_cron
from workflows.planning.text import Request
from workflows.planning.times import Moment

MAX_NAME_CHARS = 200


@cache
def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    """A model's JSON Schema, built once: pydantic rebuilds it on every call, and the
    planner reads it for every step it adds (read it, never change it)."""
    return model.model_json_schema()


@dataclass
class StepDraft:
    id: str
    action: str
    inputs: dict[str, Any]
    condition: str | None = None

    @property
    def connector(self) -> str:
        return self.action.split(".", 1)[0]


@dataclass(frozen=True)
class Missing:
    """A value the planner needs and will not guess: where it goes and what to ask."""

    where: str  # "trigger" or a step id
    field: str
    question: str


@dataclass(frozen=True)
class TimedInput:
    """A step input holding a time read from the request, and the moment it came from:
    in a workflow that runs again and again it is counted from each run instead."""

    step_id: str
    field: str
    moment: Moment
    title: str  # what the time is of, for the preview ("“Focus time” starts")
    day_only: bool = False  # a YYYY-MM-DD day (a due date), not a date-time

    @property
    def literal(self) -> str:
        return self.moment.at.date().isoformat() if self.day_only else self.moment.at.isoformat()


@dataclass(frozen=True)
class Thing:
    """Something a step or the trigger is about, that a later clause may call "it"."""

    kind: str  # issue, pull request, card, task, email, file, folder, event, message, …
    root: str  # "trigger" or "steps.<id>"
    subject: Subject
    action: str  # the event or action key that produced it
    container: dict[str, Any] = field(default_factory=dict)  # e.g. {"repo": "acme/api"}


@dataclass
class Draft:
    request: Request
    context: PlanContext
    catalog: Registry
    now: datetime
    trigger: dict[str, Any] = field(default_factory=lambda: {"type": "manual"})
    trigger_words: str = ""  # "New issue in acme/api": used in names and messages
    steps: list[StepDraft] = field(default_factory=list)
    things: list[Thing] = field(default_factory=list)
    missing: list[Missing] = field(default_factory=list)
    chosen: list[str] = field(default_factory=list)  # defaults the planner chose
    timed: list[TimedInput] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    question: str | None = None  # a question that no missing input answers (a choice, a past time)
    choices: list[Choice] = field(default_factory=list)
    condition: str | None = None
    name: str | None = None

    # --- the catalog ---------------------------------------------------------------------

    def has_action(self, key: str) -> bool:
        return self.catalog.action(key) is not None

    def has_event(self, key: str) -> bool:
        return self.catalog.event(key) is not None

    def required_config(self, event_key: str) -> set[str]:
        event = self.catalog.event(event_key)
        if event is None:
            return set()
        return {n for n, info in event.config_model.model_fields.items() if info.is_required()}

    # --- building ------------------------------------------------------------------------

    def set_event(self, key: str, config: dict[str, Any]) -> None:
        event = self.catalog.event(key)
        assert event is not None
        kind, words = event_label(key, config)
        self.trigger = {"type": "event", "event": key, "with": config}
        self.trigger_words = words
        schema = schema_of(event.payload_model)
        subject = subject_of(schema, "trigger", event.name)
        self.things = [t for t in self.things if t.root != "trigger"]
        self.things.insert(0, Thing(kind, "trigger", subject, key, _literals(config)))

    def add_step(self, action: str, inputs: dict[str, Any], hint: str) -> StepDraft:
        """Append a step (id from `hint`, made unique). What it makes (a card, a task, a
        file, …) becomes something later clauses can refer to as "it"."""
        step = StepDraft(self.unique_id(hint), action, inputs, self.condition)
        self.steps.append(step)
        self.remember(step)
        return step

    def add_step_asking(
        self,
        action: str,
        inputs: Mapping[str, Any],
        hint: str,
        *,
        ask: Sequence[str] | None = None,
        questions: Mapping[str, str] | None = None,
    ) -> StepDraft:
        """Add a step with the `inputs` that were found, and ask for the ones named in
        `ask` (default: all of them) that were not, in the order of `ask`.

        Not found is None, "" or []. An input left out of `inputs` is neither set nor
        asked for. Each question is the standard one for the action's input unless
        `questions` gives one."""
        step = self.add_step(action, {k: v for k, v in inputs.items() if is_found(v)}, hint)
        for name in inputs if ask is None else ask:
            if name in inputs and not is_found(inputs[name]):
                self.need(step.id, name, (questions or {}).get(name))
        return step

    def remember(self, step: StepDraft) -> None:
        kind = ACTION_KINDS.get(step.action)
        definition = self.catalog.action(step.action)
        if kind is not None and definition is not None:
            schema = schema_of(definition.output_model)
            root = f"steps.{step.id}"
            thing = Thing(kind, root, subject_of(schema, root), step.action, _literals(step.inputs))
            self.things.append(thing)

    def remove_step(self, step: StepDraft) -> None:
        self.steps.remove(step)
        self.things = [t for t in self.things if t.root != f"steps.{step.id}"]

    @classmethod
    def from_workflow(
        cls,
        workflow: Workflow,
        request: Request,
        context: PlanContext,
        catalog: Registry,
        now: datetime,
    ) -> Draft:
        """A draft holding `workflow`, to revise it with the same rules that made it."""
        draft = cls(request, context, catalog, now)
        document = workflow.to_document()
        trigger = document["trigger"]
        if trigger["type"] == "event" and catalog.event(trigger["event"]) is not None:
            draft.set_event(trigger["event"], dict(trigger.get("with", {})))
        else:
            draft.trigger = dict(trigger)
        for step in document["steps"]:
            seeded = StepDraft(
                step["id"], step["action"], dict(step.get("with", {})), step.get("if")
            )
            draft.steps.append(seeded)
            draft.remember(seeded)
        if workflow.name != default_name(draft):
            draft.name = workflow.name
        return draft

    def need(self, where: str, field: str, question: str | None = None) -> None:
        """Record that `field` of the trigger or of step `where` must be asked for
        (with the standard question for that action's input unless one is given)."""
        if question is None:
            step = next((s for s in self.steps if s.id == where), None)
            action = step.action if step else str(self.trigger.get("event", ""))
            question = QUESTIONS.get(
                (action, field), f"What should the {field.replace('_', ' ')} be?"
            )
        self.missing.append(Missing(where, field, question))

    def ask(self, question: str, choices: list[Choice] | None = None) -> None:
        """Stop at `question` (the first one asked wins)."""
        if self.question is None:
            self.question = question
            self.choices = list(choices or [])

    def request_with(self, clause: str, service: str) -> str:
        """The request with "in <service>" added to `clause` (an answer to "which service?")."""
        masked = self.request.masked.replace(clause, f"{clause} in {service}", 1)
        return self.request.restore(masked)

    def assume(self, words: str) -> None:
        if words not in self.chosen:
            self.chosen.append(words)

    def add_time(self, step: StepDraft, timed: TimedInput) -> None:
        """Set a step input to a time read from the request (see `TimedInput`)."""
        step.inputs[timed.field] = timed.literal
        self.timed.append(timed)

    def _relative(self, timed: TimedInput) -> bool:
        """Whether `timed` is counted from each run: the trigger repeats, the time was
        said relative to now, and the input still holds it (no answer replaced it)."""
        step = next((s for s in self.steps if s.id == timed.step_id), None)
        return (
            step is not None
            and repeats(self.trigger)
            and timed.moment.shift is not None
            and step.inputs.get(timed.field) == timed.literal
        )

    def _timed_inputs(self, step: StepDraft) -> dict[str, Any]:
        inputs = dict(step.inputs)
        for timed in self.timed:
            if timed.step_id == step.id and self._relative(timed):
                zone = self.context.timezone
                inputs[timed.field] = moment_template(timed.moment, zone, day_only=timed.day_only)
        return inputs

    @property
    def assumptions(self) -> list[str]:
        """The defaults chosen, and what each time in a step means: in a workflow that
        runs again and again, "“Focus” starts the day after the email arrives, at 09:00
        (assumed)"."""
        words = [*self.chosen]
        for timed in self.timed:
            if any(s.id == timed.step_id for s in self.steps):
                words += time_words(
                    timed.title,
                    timed.moment,
                    self.trigger,
                    counted=self._relative(timed),
                    day_only=timed.day_only,
                )
        return list(dict.fromkeys(words))

    def unique_id(self, hint: str) -> str:
        base = re.sub(r"\W+", "_", hint).strip("_").lower() or "step"
        if not base[0].isalpha():
            base = f"step_{base}"
        taken = {s.id for s in self.steps}
        candidate, number = base, 2
        while candidate in taken:
            candidate, number = f"{base}_{number}", number + 1
        return candidate

    # --- reading back --------------------------------------------------------------------

    def latest(self, *kinds: str, connector: str | None = None) -> Thing | None:
        """The most recent thing of one of `kinds` (any kind when none is given), made by
        `connector` when one is given."""
        for thing in reversed(self.things):
            made_by = connector is None or thing.action.startswith(f"{connector}.")
            if (not kinds or thing.kind in kinds) and made_by:
                return thing
        return None

    def trigger_thing(self) -> Thing | None:
        return next((t for t in self.things if t.root == "trigger"), None)

    def workflow(self) -> Workflow:
        return Workflow.model_validate(
            {
                "name": (self.name or default_name(self))[:MAX_NAME_CHARS],
                "trigger": self.trigger,
                "steps": [
                    {
                        "id": s.id,
                        "action": s.action,
                        "with": self._timed_inputs(s),
                        **({"if": s.condition} if s.condition else {}),
                    }
                    for s in self.steps
                ],
            }
        )


QUESTIONS = {
    ("trello.create_card", "name"): "What should the Trello card be called?",
    ("trello.create_card", "list"): "Which Trello list should the card go in? e.g. Inbox",
    ("trello.move_card", "card"): "Which Trello card should I move? Give its link or id.",
    ("trello.move_card", "list"): "Which list should the card move to?",
    (
        "trello.comment_on_card",
        "card",
    ): "Which Trello card should I comment on? Give its link or id.",
    ("trello.comment_on_card", "text"): "What should the comment say?",
    ("asana.create_task", "name"): "What should the Asana task be called?",
    ("asana.create_task", "project"): "Which Asana project should the task go in?",
    ("asana.complete_task", "task"): "Which Asana task should I complete? Give its link or id.",
    ("asana.comment_on_task", "task"): "Which Asana task should I comment on? Give its link or id.",
    ("asana.comment_on_task", "text"): "What should the comment say?",
    ("github.create_issue", "repo"): (
        "Which GitHub repository should the issue be created in? Reply with owner/name, "
        "e.g. acme/api."
    ),
    ("github.create_issue", "title"): "What should the issue be titled?",
    ("github.list_issues", "repo"): "Which GitHub repository's issues? Reply with owner/name.",
    ("github.add_labels", "labels"): "Which label should I add?",
    ("github.comment_on_issue", "body"): "What should the comment say?",
    ("slack.post_message", "channel"): "Which Slack channel should I post to? e.g. #general",
    ("slack.send_dm", "user"): "Who should I message? Mention them, e.g. @alice.",
    ("slack.send_dm", "text"): "What should the direct message say?",
    ("slack.add_reaction", "timestamp"): (
        "Which Slack message should I react to? Reactions work on messages the workflow "
        "posts or is triggered by."
    ),
    ("slack.add_reaction", "name"): "Which emoji should I react with? e.g. :eyes:",
    (
        "gmail.send_email",
        "to",
    ): "Who should the email go to? Give an address, e.g. alice@example.com.",
    (
        "gmail.create_draft",
        "to",
    ): "Who should the email go to? Give an address, e.g. alice@example.com.",
    ("gmail.send_email", "body"): "What should the email say?",
    ("google_drive.upload_file", "name"): "What should the file be called? e.g. notes.txt",
    ("google_drive.upload_file", "content"): "What should the file contain?",
    ("google_drive.create_folder", "name"): "What should the folder be called?",
    ("google_drive.share_file", "file_id"): "Which Drive file should I share? Give its id or link.",
    ("google_drive.share_file", "email"): "Who should I share it with? Give an email address.",
    (
        "dropbox.upload_file",
        "path",
    ): "Where in Dropbox should I save the file? e.g. /Reports/notes.txt",
    ("dropbox.upload_file", "content"): "What should the file contain?",
    (
        "dropbox.create_folder",
        "path",
    ): "What should the Dropbox folder be called? e.g. /Projects/Atlas",
    ("dropbox.create_shared_link", "path"): (
        "Which Dropbox file or folder should I share? e.g. /Reports/q3.pdf"
    ),
}


def is_found(value: Any) -> bool:
    """Whether a reader found `value`: None, "" and [] are nothing found (0 is a value)."""
    return value is not None and value != "" and value != []


def _literals(values: dict[str, Any]) -> dict[str, Any]:
    """The literal text values (not templates): what a later step may reuse (a repo)."""
    return {k: v for k, v in values.items() if isinstance(v, str) and "{{" not in v}


ACTION_KINDS = {
    "trello.create_card": "card",
    "trello.move_card": "card",
    "asana.create_task": "task",
    "asana.complete_task": "task",
    "github.create_issue": "issue",
    "github.close_issue": "issue",
    "github.list_issues": "issue list",
    "slack.post_message": "message",
    "slack.send_dm": "message",
    "google_calendar.create_event": "event",
    "google_calendar.list_events": "event list",
    "google_drive.upload_file": "file",
    "google_drive.create_folder": "folder",
    "dropbox.upload_file": "file",
    "dropbox.create_folder": "folder",
    "dropbox.create_shared_link": "link",
    "http.request": "response",
}


def _from(config: dict[str, Any], key: str, words: str) -> str:
    value = config.get(key)
    return words.format(value) if value else ""


def event_label(key: str, config: dict[str, Any]) -> tuple[str, str]:
    """(kind, words) for an event trigger: ("issue", "New issue in acme/api")."""
    if key == "gmail.email_received":
        query = str(config.get("query") or "")
        words = "Important email" if "is:important" in query else "New email"
        sender = re.search(r"from:(\S+)", query)
        return "email", words + (f" from {sender.group(1).strip(chr(34))}" if sender else "")
    labels = {
        "github.issue_opened": ("issue", "New issue" + _from(config, "repo", " in {}")),
        "github.pull_request_opened": (
            "pull request",
            "New pull request" + _from(config, "repo", " in {}"),
        ),
        "dropbox.file_added": ("file", "New file in Dropbox" + _from(config, "folder", " {}")),
        "google_drive.file_created": ("file", "New Drive file"),
        "trello.card_created": (
            "card",
            "New Trello card"
            + (_from(config, "list", " in {}") or _from(config, "board", " on {}")),
        ),
        "asana.task_created": ("task", "New Asana task" + _from(config, "project", " in {}")),
        "slack.message_posted": ("message", "New message" + _from(config, "channel", " in {}")),
        "google_calendar.event_created": ("event", "New calendar event"),
        "http.webhook_received": ("webhook", "Webhook"),
    }
    return labels.get(key, ("event", key))


STEP_LABELS = {
    "trello.create_card": "Trello card",
    "trello.move_card": "move Trello card",
    "trello.comment_on_card": "Trello comment",
    "asana.create_task": "Asana task",
    "asana.complete_task": "complete Asana task",
    "asana.comment_on_task": "Asana comment",
    "github.create_issue": "GitHub issue",
    "github.comment_on_issue": "GitHub comment",
    "github.add_labels": "labels",
    "github.close_issue": "close issue",
    "github.list_issues": "issue list",
    "google_calendar.create_event": "calendar event",
    "google_calendar.list_events": "calendar events",
    "google_calendar.delete_event": "delete calendar event",
    "gmail.send_email": "email",
    "gmail.create_draft": "email draft",
    "google_drive.upload_file": "Drive upload",
    "google_drive.create_folder": "Drive folder",
    "google_drive.share_file": "Drive share",
    "dropbox.upload_file": "Dropbox upload",
    "dropbox.create_folder": "Dropbox folder",
    "dropbox.create_shared_link": "Dropbox link",
    "http.request": "HTTP request",
    "slack.add_reaction": "reaction",
    "approval.request": "approval",
}


def step_label(step: StepDraft) -> str:
    if step.action == "slack.post_message":
        return str(step.inputs.get("channel") or "Slack message")
    if step.action == "slack.send_dm":
        return f"DM {step.inputs.get('user') or ''}".strip()
    if step.action in ("gmail.send_email", "gmail.create_draft"):
        to = step.inputs.get("to")
        if isinstance(to, list) and to:
            return f"{STEP_LABELS[step.action]} to {to[0]}"
    return STEP_LABELS.get(step.action, step.action)


def _when_words(trigger: dict[str, Any]) -> str:
    """A short label of when a workflow runs: "New issue in acme/api", "Every weekday at 09:00"."""
    if trigger.get("cron"):
        return describe_cron(trigger["cron"])
    if trigger.get("at"):
        return f"{datetime.fromisoformat(trigger['at']):%a %d %b %H:%M}"
    return "Scheduled" if trigger.get("rrule") else ""


def default_name(draft: Draft) -> str:
    """ "New issue in acme/api: Trello card, #dev" — what a list of workflows shows."""
    labels = list(dict.fromkeys(step_label(s) for s in draft.steps))
    what = ", ".join(labels) or "no steps yet"
    when = draft.trigger_words or _when_words(draft.trigger)
    if when:
        return f"{when[:1].upper()}{when[1:]}: {what}"
    return what[:1].upper() + what[1:]
