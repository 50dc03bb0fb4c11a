"""Values an action clause carries, read the same way for every connector: titles,
message text, people, labels, file names, and the default text that lets the trigger's
and earlier steps' data flow into a step ("New issue in acme/api: {{ trigger.issue.title }}")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from workflows.planning.draft import Draft, Thing
from workflows.planning.phrases import Phrases, is_service_word, only_quote, restore_text
from workflows.planning.text import (
    PLACEHOLDER,
    Request,
    emails,
    has_keyword,
    mentions,
    quoted_in,
    sentence,
)
from workflows.planning.times import Moment
from workflows.planning.words import format_moment

TITLE_MARKERS = ("titled", "entitled", "called", "named", "with title", "with name", ":")
TEXT_MARKERS = (
    "saying",
    "that says",
    "which says",
    "that reads",
    "reading",
    "with text",
    "with message",
    "with body",
    "with content",
    "and body",
    "and text",
    "and message",
    ":",
    "that",
    "know",
    "know that",
    "with comment",
    "with note",
    "with notes",
)
GENERIC_OBJECTS = {
    "",
    "link",
    "its link",
    "it",
    "them",
    "this",
    "that",
    "message",
    "a message",
    "note",
    "update",
    "notification",
    "an update",
    "a note",
    "details",
    "the details",
    "info",
    "the link",
    "a link",
    "message about it",
    "alert",
    "an alert",
}
LINK_LABELS = {
    "trello.create_card": "Trello card",
    "trello.move_card": "Trello card",
    "asana.create_task": "Asana task",
    "asana.complete_task": "Asana task",
    "github.create_issue": "GitHub issue",
    "github.close_issue": "GitHub issue",
    "google_drive.upload_file": "Drive file",
    "google_drive.create_folder": "Drive folder",
    "dropbox.upload_file": "Dropbox file",
    "dropbox.create_folder": "Dropbox folder",
    "dropbox.create_shared_link": "Dropbox link",
    "http.request": "Response from",
}
FILE_NAME = re.compile(r"(?<![\w@/.-])([\w-][\w .-]{0,80}?\.[A-Za-z0-9]{1,5})(?![\w@/-])")


@dataclass(frozen=True)
class ActionClause:
    """An action clause ready to read: masked text (time and length phrases cut out),
    its verb, phrases, and the moment/length it named."""

    text: str
    verb: str
    phrases: Phrases
    request: Request
    moment: Moment | None = None
    duration: int | None = None
    due: Moment | None = None
    source: str = ""  # the clause as written (masked), before times were cut out

    @property
    def lower(self) -> str:
        return self.text.lower()

    def has(self, pattern: str) -> bool:
        """Whether a keyword pattern occurs outside the values (#channels, paths, URLs, …)."""
        return has_keyword(pattern, self.text)

    def restore(self, text: str | None) -> str | None:
        return restore_text(text, self.request)


# --- explicit values ----------------------------------------------------------------------


def _first_quote(text: str, request: Request) -> str | None:
    found = quoted_in(text, request)
    return found[0] if found else None


def head_quote(clause: ActionClause) -> str | None:
    return _first_quote(clause.phrases.head, clause.request)


def any_quote(clause: ActionClause) -> str | None:
    """The first quoted words anywhere in the clause ("comment on #5 in acme/api 'Thanks'"),
    for actions where nothing but the text is ever quoted."""
    return _first_quote(clause.text, clause.request)


def explicit_title(clause: ActionClause) -> str | None:
    phrase = clause.phrases.first(*TITLE_MARKERS)
    if phrase is not None:
        return only_quote(phrase, clause.request) or clause.restore(phrase)
    return head_quote(clause)


def explicit_text(clause: ActionClause, *extra_markers: str, head: bool = True) -> str | None:
    """The message a clause spells out: after "saying", ":", "that", "with text", … or
    (with `head`) quoted in its head — not for things whose quoted head is their title."""
    phrase = clause.phrases.first(*TEXT_MARKERS, *extra_markers)
    if phrase is not None:
        quote = only_quote(phrase, clause.request)
        return quote if quote is not None else sentence(clause.restore(phrase) or "") or None
    return head_quote(clause) if head else None


def head_object(clause: ActionClause) -> str:
    """What the head says is sent ("post the agenda" -> "agenda"), generic words removed."""
    words = re.sub(rf"^\W*{re.escape(clause.verb)}\b", "", clause.phrases.head, flags=re.I)
    words = PLACEHOLDER.sub("", words)
    words = re.sub(r"(?<![\w&])[#@]\S+|\S+@\S+", "", words)
    words = re.sub(
        r"^\s*(?:me|us|him|her|them|everyone|everybody)\b", "", words.strip(), flags=re.I
    )
    words = re.sub(r"^\s*(?:the|a|an|our|my|its|their|this|that)\s+", "", words.strip(), flags=re.I)
    words = re.sub(r"\s+", " ", words).strip(" ,.")
    return "" if words.lower() in GENERIC_OBJECTS or is_service_word(words) else words


RECIPIENT = re.compile(
    r"(?:\b(?:to|in|on|into|at|for)\s+)?(?:\b(?:everyone|everybody|the\s+team|people|folks|"
    r"all)\s+(?:in|on|at)\s+)?(?:the\s+)?(?<![\w&])[#@][\w.-]+(?:\s+(?:channel|chanel)\b)?"
    r"|^(?:me|us|myself)\b|\b(?:on|via|in|through|over|by)\s+(?:slack|e-?mail)\b"
    r"|\b(?:an?\s+)?(?:slack\s+|e-?mail\s+)?message\b|\ban?\s+e-?mail\b"
    r"|(?:\b(?:to|at)\s+)?[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
    re.IGNORECASE,
)
# Verbs whose object is the thing sent ("post the agenda"), not words said to someone.
OBJECT_VERBS = frozenset({"post", "send", "share", "announce", "forward", "put"})
THING_NAMED = re.compile(
    r"^(?:the|our|my|your|their|this|these|those|today'?s|tomorrow'?s|latest|current)\b",
    re.IGNORECASE,
)
LEAD_IN = re.compile(r"^(?:(?:know|that|to|about|of|with|saying|:)\b\s*|[:,-]\s*)+", re.IGNORECASE)


def spoken_text(clause: ActionClause) -> str | None:
    """The message a messaging clause says without quotes or a marker: what is left of it
    once the verb, the people and channels it goes to and the lead-in words are taken
    ("tell #random the coffee machine is fixed" -> "The coffee machine is fixed",
    "remind #ops to rotate the keys" -> "rotate the keys"). None when nothing is left."""
    words = re.sub(rf"^\W*{re.escape(clause.verb)}\b", "", clause.text, flags=re.I).strip()
    previous = None
    while previous != words:
        previous = words
        words = RECIPIENT.sub(" ", words).strip(" ,")
        words = LEAD_IN.sub("", re.sub(r"\s+", " ", words)).strip(" ,")
    text = clause.restore(words)
    if not text or text.lower() in GENERIC_OBJECTS or is_service_word(text):
        return None
    if clause.verb in OBJECT_VERBS and THING_NAMED.match(text):
        return None  # "post the weather": a thing to fetch, not a message
    return sentence(text)


def people(clause: ActionClause, draft: Draft) -> list[str]:
    """Slack people the clause names: @mentions, and the requester for "me"."""
    found = mentions(clause.text)
    if re.search(r"\b(?:me|myself)\b", clause.text, re.I) and draft.context.user:
        found.insert(0, draft.context.user)
    return list(dict.fromkeys(found))


def label_list(phrase: str, request: Request) -> list[str]:
    """ "bug", "bug and urgent", "'needs triage', p1" -> label names."""
    text = re.sub(r"^(?:the\s+)?(?:labels?|tags?)\s+", "", phrase.strip(), flags=re.I)
    parts = re.split(r"\s*(?:,\s*and|,|\band\b|&)\s*", text)
    labels = []
    for part in parts:
        value = request.restore(part).strip(" .'\"")
        value = re.sub(r"\s+(?:labels?|tags?)$", "", value, flags=re.I)
        if value and value.lower() not in ("it", "the issue", "this"):
            labels.append(value)
    return labels


def file_name(clause: ActionClause) -> str | None:
    """A file name: "called/named/as notes.txt", a name.ext anywhere, or a quoted name."""
    named = clause.phrases.first("called", "named", "titled", "as")
    if named is not None and (clause.restore(named) or "").strip():
        return clause.restore(named)
    text = clause.request.restore(clause.text)
    match = FILE_NAME.search(re.sub(r"\S+@\S+|https?://\S+|(?<!\w)/\S*", " ", text))
    if match:
        return match.group(1).strip().split()[-1]
    return head_quote(clause)


def addresses(clause: ActionClause) -> list[str]:
    return emails(clause.request.restore(clause.text))


# --- what flows from the trigger and earlier steps -------------------------------------------


def trigger_line(draft: Draft) -> str | None:
    """One line about what triggered the run, with its title and link as templates."""
    thing = draft.trigger_thing()
    if thing is None:
        return None
    head = draft.trigger_words or f"New {thing.kind}"
    who = thing.subject.template("who")
    if who and " from " not in head and thing.kind in ("email", "message"):
        head += f" from {who}"
    if thing.kind == "webhook" and thing.subject.detail:
        return f"{head}: {{{{ {thing.subject.detail} | tojson }}}}"
    title = thing.subject.template("title")
    line = f"{head}: {title}" if title else head
    link = thing.subject.template("link")
    return f"{line} {link}" if link else line


def step_line(draft: Draft, thing: Thing) -> str | None:
    """One line about an earlier step's result (what it made, its title and link)."""
    step = next((s for s in draft.steps if f"steps.{s.id}" == thing.root), None)
    if step is None:
        return None
    if step.action == "github.list_issues":
        return (
            f"Open issues in {step.inputs.get('repo')} ({{{{ {thing.root}.count }}}}):\n"
            f"{{{{ {thing.root}.issues | map(attribute='title') | join('\\n') }}}}"
        )
    link = thing.subject.template("link") or thing.subject.template("path")
    text = step.inputs.get("text")
    if step.action in ("slack.post_message", "slack.send_dm") and isinstance(text, str):
        return None if draft.trigger_thing() or "{{" in text else text
    if step.action == "google_calendar.create_event":
        start = step.inputs.get("start")
        when = ""
        if isinstance(start, str) and "{{" not in start:
            when = f" on {format_moment(datetime.fromisoformat(start))}"
        title = step.inputs.get("summary", "Meeting")
        return f"{title}{when}" + (f": {link}" if link else "")
    if link is None:
        return None
    label = LINK_LABELS.get(step.action, step.connector)
    title = thing.subject.template("title")
    if title and draft.trigger_thing() is None:
        return f"{label}: {title} {link}"
    return f"{label}: {link}"


def composed_text(draft: Draft, intro: str = "") -> str | None:
    """The default message: the trigger's line and the latest earlier result's line."""
    lines = []
    first = trigger_line(draft)
    if first:
        lines.append(first)
    latest = next((t for t in reversed(draft.things) if t.root != "trigger"), None)
    if latest is not None:
        line = step_line(draft, latest)
        if line:
            lines.append(line)
    if not lines:
        return None
    if intro:
        return f"{sentence(intro)}: " + "\n".join(lines)
    return "\n".join(lines)


def detail_text(draft: Draft) -> str | None:
    """A description for something made from the trigger: its link, or who sent what."""
    thing = draft.trigger_thing()
    if thing is None:
        return None
    link, detail, who = (thing.subject.template(r) for r in ("link", "detail", "who"))
    if link:
        return link
    if thing.kind == "webhook" and thing.subject.detail:
        return f"{{{{ {thing.subject.detail} | tojson }}}}"
    if detail and who:
        return f"From {who}:\n{detail}"
    return detail


def trigger_title(draft: Draft) -> str | None:
    thing = draft.trigger_thing()
    return thing.subject.template("title") if thing else None
