"""Event phrases: "when an issue is opened in acme/api", "when I get an important email",
"when a file is added to the Dropbox folder /Invoices", "when a card is created in
Trello list Inbox on the Roadmap board", … -> an event trigger on the draft.

Each reader returns True when the clause is its event (even if a value is missing: then
it records what to ask), False when the clause is about something else.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from workflows.planning.draft import Draft
from workflows.planning.phrases import Phrases, named, only_quote
from workflows.planning.results import Choice
from workflows.planning.text import (
    PLACEHOLDER,
    blank_values,
    channels,
    emails,
    has_keyword,
    paths,
    repos,
)

GITHUB_URL = re.compile(r"github\.com/([A-Za-z0-9-]+/[A-Za-z0-9._-]+)", re.IGNORECASE)
DRIVE_FOLDER_URL = re.compile(
    r"drive\.google\.com/drive/(?:u/\d+/)?folders/([A-Za-z0-9_-]+)", re.IGNORECASE
)
LABEL_FILTER = re.compile(
    rf"\b(?:labell?ed|tagged|with\s+(?:the\s+)?label)\s+(?P<label>{PLACEHOLDER.pattern}|[\w:.-]+)",
    re.IGNORECASE,
)
EventReader = Callable[[str, Draft], bool]
REPO_QUESTION = (
    "Which GitHub repository should I watch for new {what}? Reply with owner/name, e.g. acme/api."
)


def repo_in(text: str) -> str | None:
    """The repository named in `text` (owner/name, or a github.com link)."""
    link = GITHUB_URL.search(text)
    if link:
        return link.group(1).removesuffix(".git")
    found = repos(text)
    return found[0] if found else None


def _names_event(clause: str, draft: Draft, key: str, pattern: str) -> bool:
    """Whether the clause names event `key` (a keyword `pattern` occurs in it) and the
    catalog has that event."""
    return has_keyword(pattern, clause) and draft.has_event(key)


# --- GitHub -----------------------------------------------------------------------------


def _github(clause: str, draft: Draft) -> bool:
    pull = has_keyword(r"\b(?:pull\s+requests?|prs?|merge\s+requests?)\b", clause)
    issue = has_keyword(
        r"\b(?:issues?|bug\s+reports?|tickets?)\b"
        r"|\bbugs?\s+(?:is|are|gets?|was)\s+(?:reported|filed|opened|raised|created)",
        clause,
    )
    if not (pull or issue):
        return False
    key, kind = (
        ("github.pull_request_opened", "pull request") if pull else ("github.issue_opened", "issue")
    )
    if not draft.has_event(key):
        return False
    repo = repo_in(clause)
    config: dict[str, Any] = {"repo": repo} if repo else {}
    draft.set_event(key, config)
    if repo is None:
        draft.need("trigger", "repo", REPO_QUESTION.format(what=f"{kind}s"))
    label = LABEL_FILTER.search(clause)
    thing = draft.trigger_thing()
    if label and thing and thing.subject.title:
        labels = thing.subject.title.rsplit(".", 1)[0] + ".labels"
        name = draft.request.restore(label.group("label"))
        draft.condition = f"{name!r} in {labels}"
    return True


# --- Gmail ------------------------------------------------------------------------------

_FLAGS = (
    (r"\bimportant\b|\bhigh[\s-]+priority\b|\bpriority\b", "is:important"),
    (r"\bstarred\b|\bflagged\b|\bwith\s+a\s+star\b", "is:starred"),
    (r"\bunread\b|\bunopened\b", "is:unread"),
    (r"\battachments?\b|\battached\b|\bwith\s+(?:a|an)\s+(?:files?|pdfs?)\b", "has:attachment"),
)
# The words each Gmail search term stands for (what a plan with the term has used).
QUERY_TERM_WORDS = {
    "is:important": ("important", "high", "priority"),
    "is:starred": ("starred", "flagged", "star"),
    "is:unread": ("unread", "unopened"),
    "has:attachment": ("attachment", "attachments", "attached", "file", "files"),
}
_ATTACHED_KIND = re.compile(r"\b(pdf|docx?|xlsx?|csv|pptx?|zip|png|jpe?g)s?\b", re.IGNORECASE)
_NOT_A_SENDER = {"my", "the", "a", "an", "someone", "anyone", "somebody", "any", "our", "your"}


def _gmail_query(clause: str, draft: Draft) -> tuple[list[str], bool]:
    """(query terms, sender understood) for an email phrase."""
    terms = [term for pattern, term in _FLAGS if has_keyword(pattern, clause)]
    kind = _ATTACHED_KIND.search(blank_values(clause))
    if kind and "has:attachment" in terms:
        terms.append(f"filename:{kind.group(1).lower()}")
    sender_ok = True
    sender = re.search(r"\bfrom\s+(?P<who>\S+)", clause, re.IGNORECASE)
    if sender:
        who = sender.group("who").strip(",.;")
        address = emails(who)
        if address:
            terms.insert(0, f"from:{address[0]}")
        elif re.fullmatch(r"@?[A-Za-z][\w.-]*", who) and who.lower() not in _NOT_A_SENDER:
            terms.insert(0, f"from:{who.lstrip('@').lower()}")
        elif not PLACEHOLDER.fullmatch(who):
            sender_ok = False
        else:
            terms.insert(0, f'from:"{draft.request.restore(who)}"')
    recipient = re.search(r"\b(?:sent\s+)?to\s+(?P<who>\S+@\S+)", clause, re.IGNORECASE)
    if recipient and emails(recipient.group("who")):
        terms.append(f"to:{emails(recipient.group('who'))[0]}")
    subject = re.search(
        rf"\b(?:with\s+(?:the\s+)?subject|subject|about|titled|regarding)\s+(?:line\s+)?"
        rf"(?P<subject>{PLACEHOLDER.pattern}|[\w-]+)",
        clause,
        re.IGNORECASE,
    )
    if subject:
        words = draft.request.restore(subject.group("subject"))
        terms.append(f'subject:"{words}"' if " " in words else f"subject:{words}")
    label = LABEL_FILTER.search(clause)
    if label:
        terms.append(f"label:{draft.request.restore(label.group('label'))}")
    return terms, sender_ok


def _gmail(clause: str, draft: Draft) -> bool:
    email_words = r"\b(?:e-?mails?|mails?|gmail|(?:my|the)\s+inbox)\b"
    if not _names_event(clause, draft, "gmail.email_received", email_words):
        return False
    terms, sender_ok = _gmail_query(clause, draft)
    query = " ".join(terms)
    draft.set_event("gmail.email_received", {"query": query})
    if not sender_ok:
        draft.need(
            "trigger",
            "query",
            "Whose emails should I watch for? Give their address, e.g. boss@example.com.",
        )
    return True


# --- files --------------------------------------------------------------------------------


def _dropbox(clause: str, draft: Draft) -> None:
    found = paths(clause)
    folder = found[0] if found else ""
    config: dict[str, Any] = {"folder": "" if folder == "/" else folder}
    if has_keyword(r"\bsub-?folders?\b", clause):
        config["recursive"] = True
    draft.set_event("dropbox.file_added", config)
    if not config["folder"]:
        draft.assume("it watches your whole Dropbox (name a folder, e.g. /Invoices, to narrow it)")


def _drive(clause: str, draft: Draft) -> None:
    link = DRIVE_FOLDER_URL.search(clause)
    config: dict[str, Any] = {"folder_id": link.group(1)} if link else {}
    draft.set_event("google_drive.file_created", config)
    if link is None and has_keyword(r"\bfolders?\b", clause):
        draft.need(
            "trigger",
            "folder_id",
            "Which Google Drive folder should I watch? Paste the folder's link "
            "(https://drive.google.com/drive/folders/…): Drive folders are watched by id.",
        )


def _files(clause: str, draft: Draft) -> bool:
    if not has_keyword(
        r"\b(?:files?|documents?|docs?|pdfs?|photos?|images?|uploads?|dropbox|drive)\b", clause
    ):
        return False
    dropbox = has_keyword(r"\bdropbox\b", clause) and draft.has_event("dropbox.file_added")
    drive = has_keyword(r"\b(?:google\s+)?drive\b|\bgdrive\b", clause) and draft.has_event(
        "google_drive.file_created"
    )
    if dropbox:
        _dropbox(clause, draft)
    elif drive:
        _drive(clause, draft)
    else:
        draft.ask(
            "Where should I watch for new files: Dropbox or Google Drive?",
            [
                Choice(label, draft.request_with(clause, label))
                for label in ("Dropbox", "Google Drive")
            ],
        )
    return True


# --- Trello and Asana -------------------------------------------------------------------


def _container_names(clause: str, draft: Draft, noun: str, service: str) -> list[str]:
    """Names in "in the X <noun>" / "<noun> X" / "in X" phrases of an event clause."""
    phrases = Phrases.read(clause)
    found = []
    for phrase in phrases.after("in", "into", "to", "on", "onto"):
        if re.search(rf"\b{noun}\b", phrase, re.IGNORECASE):
            name = named(phrase, draft.request, noun, service)
            if name:
                found.append(name)
    return found


def _trello(clause: str, draft: Draft) -> bool:
    if not _names_event(clause, draft, "trello.card_created", r"\bcards?\b|\btrello\b"):
        return False
    lists = _container_names(clause, draft, "list", "trello")
    boards = _container_names(clause, draft, "board", "trello")
    config: dict[str, Any] = {}
    if boards:
        config["board"] = boards[0]
    if lists:
        config["list"] = lists[0]
    draft.set_event("trello.card_created", config)
    if not boards and not lists:  # a list alone is found across the person's boards
        draft.need("trigger", "board", "Which Trello board should I watch? Give its name.")
    return True


def _asana(clause: str, draft: Draft) -> bool:
    if not _names_event(clause, draft, "asana.task_created", r"\btasks?\b|\basana\b"):
        return False
    projects = _container_names(clause, draft, "project", "asana")
    if not projects:
        plain = [
            named(p, draft.request, "project", "asana")
            for p in Phrases.read(clause).after("in", "to")
        ]
        projects = [p for p in plain if p]
    config = {"project": projects[0]} if projects else {}
    draft.set_event("asana.task_created", config)
    if not projects:
        draft.need("trigger", "project", "Which Asana project should I watch for new tasks?")
    return True


# --- Slack, calendar, webhooks ----------------------------------------------------------------


def _slack(clause: str, draft: Draft) -> bool:
    found = channels(clause)
    about_slack = bool(found) or has_keyword(r"\bslack\b", clause)
    if not about_slack or not draft.has_event("slack.message_posted"):
        return False
    pattern = re.search(
        rf"\b(?:contain(?:s|ing)?|mention(?:s|ing)?|saying|says|includ(?:es|ing)|with(?:\s+the\s+word)?)"
        rf"\s+(?P<text>{PLACEHOLDER.pattern}|[\w-]+)",
        clause,
        re.IGNORECASE,
    )
    config: dict[str, Any] = {"channel": found[0]} if found else {}
    if pattern:
        config["pattern"] = only_quote(pattern.group("text"), draft.request) or pattern.group(
            "text"
        )
    draft.set_event("slack.message_posted", config)
    if not found:
        draft.need("trigger", "channel", "Which Slack channel should I watch? e.g. #support")
    return True


def _plain_event(key: str, pattern: str) -> EventReader:
    """A reader for event `key`, which has no settings: the clause names it by `pattern`."""

    def read(clause: str, draft: Draft) -> bool:
        if not _names_event(clause, draft, key, pattern):
            return False
        draft.set_event(key, {})
        return True

    return read


_calendar = _plain_event(
    "google_calendar.event_created",
    r"\b(?:calendar|meetings?|appointments?|events?|invites?|invitations?)\b",
)
_webhook = _plain_event(
    "http.webhook_received", r"\bweb\s?hooks?\b|\bhttp\s+(?:request|post|call)\b"
)


# Order matters: a clause naming a channel is about Slack even when it says "message";
# "email" wins over "issue" ("an email about a new issue").
EVENT_READERS: tuple[EventReader, ...] = (
    _webhook,
    _slack,
    _gmail,
    _github,
    _files,
    _trello,
    _asana,
    _calendar,
)


def read_event(clause: str, draft: Draft) -> bool:
    """Set the draft's trigger from an event clause; False if no event is recognised."""
    return any(reader(clause, draft) for reader in EVENT_READERS)


EVENT_HELP = (
    "new GitHub issues or pull requests in a repository, emails (from someone, important "
    "ones), files added to a Dropbox folder or Google Drive, new Trello cards, new Asana "
    "tasks, messages in a Slack channel, new calendar events, and webhooks"
)
