"""Action phrases -> steps: one reader per action the offline planner understands.

`read_action` decides what a clause asks for from its verb and the things it names
(a #channel, "card", "task", "issue", "meeting", an address, a URL, "Drive" …) and calls
the reader, which adds the step with the inputs it found (`Draft.add_step_asking`). A
value the planner needs but was not given (which list, which repository, who to email)
is recorded as a question; it is never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from workflows.planning.draft import Draft, TimedInput
from workflows.planning.events import DRIVE_FOLDER_URL, repo_in
from workflows.planning.phrases import Phrases, is_service_word, named
from workflows.planning.results import Choice
from workflows.planning.text import (
    PLACEHOLDER,
    Request,
    blank_values,
    channels,
    paths,
    sentence,
    urls,
)
from workflows.planning.times import Moment, find_duration, find_moment, find_schedule
from workflows.planning.triggers import set_moment, set_schedule
from workflows.planning.values import (
    ActionClause,
    addresses,
    any_quote,
    composed_text,
    detail_text,
    explicit_text,
    explicit_title,
    file_name,
    head_object,
    label_list,
    people,
    trigger_title,
)
from workflows.planning.words import readable

Reader = Callable[[ActionClause, Draft], None]
ISSUE_QUESTION = "Which GitHub issue? Give its number and repository, e.g. #42 in acme/api."
ISSUE_REPO_QUESTION = "Which repository is the issue in? Reply with owner/name."
DRIVE_FOLDER_QUESTION = (
    "Which Drive folder? Paste the folder's link (https://drive.google.com/drive/folders/…): "
    "Drive folders are addressed by id."
)
MESSAGING_VERBS = frozenset(
    {
        "post",
        "send",
        "tell",
        "notify",
        "message",
        "ping",
        "alert",
        "let",
        "remind",
        "announce",
        "share",
        "forward",
    }
)
# "Forward" is a message only to a #channel or a person named in the clause: there is no
# Gmail action that forwards an email, so "forward the email to bob@example.com" is not
# read as sending a new one.
MESSAGING_VERBS_BUT_FORWARD = MESSAGING_VERBS - {"forward"}

CALENDAR_NOUNS = (
    r"\b(?:meetings?|events?|calls?|syncs?|appointments?|stand-?ups?|1:1s?|one-on-ones?|"
    r"calendar|catch-?ups?|interviews?|invites?|invitations?|sessions?|reviews?|demos?|"
    r"retros?|retrospectives?|workshops?|lunch|block)\b"
)
CALENDAR_VERBS = {
    "schedule",
    "book",
    "set up",
    "arrange",
    "add",
    "create",
    "put",
    "invite",
    "block",
    "make",
}
ISSUE_NUMBER = re.compile(r"(?:\b(?:issue|pr|pull\s+request|ticket)\s*#?|(?<![\w&])#)(\d+)\b", re.I)
TASK_GID = re.compile(r"\b(\d{6,})\b")
CARD_ID = re.compile(r"\bcard\s+([0-9a-fA-F]{24}|[0-9A-Za-z]{8})\b", re.I)
DRIVE_FILE_ID = re.compile(r"\b(?:file|folder|doc(?:ument)?)\s+([A-Za-z0-9_-]{10,})\b")
LABEL_MARKERS = ("with label", "with labels", "labeled", "labelled", "tagged")
EMOJI = re.compile(r":([a-z0-9_+-]+):", re.I)
EMOJI_WORDS = {
    "thumbs up": "+1",
    "thumbsup": "+1",
    "eyes": "eyes",
    "check": "white_check_mark",
    "checkmark": "white_check_mark",
    "tick": "white_check_mark",
    "tada": "tada",
    "party": "tada",
    "heart": "heart",
    "rocket": "rocket",
    "fire": "fire",
}


# --- values shared by the readers ----------------------------------------------------------


def _ident(
    clause: ActionClause,
    draft: Draft,
    explicit: re.Pattern[str],
    *kinds: str,
    connector: str | None = None,
) -> str | None:
    """The id the clause gives (the first group of `explicit`), else the id of the latest
    thing of `kinds` as a template ("{{ steps.card.id }}")."""
    match = explicit.search(clause.text)
    if match:
        return match.group(1)
    thing = draft.latest(*kinds, connector=connector)
    return thing.subject.template("ident") if thing else None


def _title(clause: ActionClause, draft: Draft) -> str | None:
    """The title the clause gives ("titled …", a quoted head), else the trigger's."""
    return explicit_title(clause) or trigger_title(draft)


def _description(clause: ActionClause, draft: Draft, *markers: str) -> str | None:
    """The text after one of `markers` ("with description …"), else the trigger's details."""
    return explicit_text(clause, *markers, head=False) or detail_text(draft)


def _comment_text(clause: ActionClause, draft: Draft) -> str | None:
    """The comment the clause spells out, else the default message about the trigger."""
    return explicit_text(clause) or composed_text(draft)


def _labels(clause: ActionClause) -> list[str] | None:
    """The labels after "with labels", "labeled", "tagged" …"""
    phrase = clause.phrases.first(*LABEL_MARKERS)
    return label_list(phrase, clause.request) if phrase else None


def _container(clause: ActionClause, noun: str, service: str) -> str | None:
    """The list/project/board a clause names: "in the Inbox list", "in Operations"."""
    phrases = clause.phrases.after("in", "into", "to", "onto", "inside", "under", "on")
    with_noun = [p for p in phrases if re.search(rf"\b{noun}s?\b", p, re.I)]
    for phrase in with_noun:
        name = named(phrase, clause.request, noun, service)
        if name:
            return name
    if noun in ("list", "project"):
        for phrase in phrases:
            if re.search(r"\b(?:board|workspace|folder|channel)\b|[#@/]", phrase, re.I):
                continue
            if is_service_word(phrase) or _names_time_or_person(phrase):
                continue
            name = named(phrase, clause.request, noun, service)
            if name:
                return name
    return None


def _names_time_or_person(phrase: str) -> bool:
    return bool(re.search(r"\b(?:me|my calendar|the morning|the evening)\b|\S+@\S+", phrase, re.I))


# --- Trello ---------------------------------------------------------------------------------


def create_card(clause: ActionClause, draft: Draft) -> None:
    trello_list = _container(clause, "list", "trello") or _container(clause, "column", "trello")
    draft.add_step_asking(
        "trello.create_card",
        {
            "name": _title(clause, draft),
            "list": trello_list,
            "board": _container(clause, "board", "trello"),
            "description": _description(clause, draft, "with description"),
        },
        "card",
        ask=("name", "list"),
    )


def move_card(clause: ActionClause, draft: Draft) -> None:
    card = _ident(clause, draft, CARD_ID, "card")
    draft.add_step_asking(
        "trello.move_card", {"card": card, "list": _container(clause, "list", "trello")}, "move"
    )


def comment_on_card(clause: ActionClause, draft: Draft) -> None:
    card = _ident(clause, draft, CARD_ID, "card")
    draft.add_step_asking(
        "trello.comment_on_card", {"card": card, "text": _comment_text(clause, draft)}, "comment"
    )


# --- Asana ----------------------------------------------------------------------------------


def _assignee(clause: ActionClause) -> str | None:
    phrase = clause.phrases.first("assigned to", "assign to", "assign it to", "assigned it to")
    if phrase is None and clause.has(r"\bfor\s+me\b|\bassign(?:ed)?\s+(?:it\s+)?to\s+me\b"):
        return "me"
    if phrase is None:
        return None
    if re.fullmatch(r"\s*(?:me|myself)\s*", phrase, re.I):
        return "me"
    found = addresses(ActionClause(phrase, clause.verb, clause.phrases, clause.request))
    return found[0] if found else None


def create_task(clause: ActionClause, draft: Draft) -> None:
    due = clause.due.at.date().isoformat() if clause.due is not None else None
    step = draft.add_step_asking(
        "asana.create_task",
        {
            "name": _title(clause, draft),
            "project": _container(clause, "project", "asana"),
            "assignee": _assignee(clause),
            "due_on": due,
            "notes": _description(clause, draft, "with description"),
        },
        "task",
        ask=("name", "project"),
    )
    if clause.due is not None:
        due_title = f"“{readable(step.inputs.get('name', 'The task'))}” is due"
        draft.add_time(step, TimedInput(step.id, "due_on", clause.due, due_title, day_only=True))


def complete_task(clause: ActionClause, draft: Draft) -> None:
    task = _ident(clause, draft, TASK_GID, "task")
    draft.add_step_asking("asana.complete_task", {"task": task}, "complete")


def comment_on_task(clause: ActionClause, draft: Draft) -> None:
    task = _ident(clause, draft, TASK_GID, "task")
    draft.add_step_asking(
        "asana.comment_on_task", {"task": task, "text": _comment_text(clause, draft)}, "comment"
    )


# --- GitHub ---------------------------------------------------------------------------------


def _issue_ref(clause: ActionClause, draft: Draft) -> tuple[str | None, Any]:
    """(repo, issue number or template) the clause refers to."""
    number = ISSUE_NUMBER.search(clause.text)
    repo = repo_in(clause.request.restore(clause.text))
    thing = draft.latest("issue", "pull request")
    if number:
        return repo or (thing.container.get("repo") if thing else None), int(number.group(1))
    if thing is None:
        return repo, None
    return thing.container.get("repo") or repo, thing.subject.template("ident")


def _add_issue_step(
    clause: ActionClause,
    draft: Draft,
    action: str,
    hint: str,
    inputs: Mapping[str, Any],
    ask: tuple[str, ...] = (),
) -> None:
    """Add a step on the issue the clause refers to, with `inputs`, asking for those in
    `ask` that were not found. Without an issue number it asks which issue (number and
    repository in one question); with a number but no repository, which repository."""
    repo, number = _issue_ref(clause, draft)
    draft.add_step_asking(
        action,
        {"repo": repo, "issue_number": number, **inputs},
        hint,
        ask=("issue_number" if number is None else "repo", *ask),
        questions={"issue_number": ISSUE_QUESTION, "repo": ISSUE_REPO_QUESTION},
    )


def create_issue(clause: ActionClause, draft: Draft) -> None:
    draft.add_step_asking(
        "github.create_issue",
        {
            "repo": repo_in(clause.request.restore(clause.text)),
            "title": _title(clause, draft),
            "body": _description(clause, draft, "describing"),
            "labels": _labels(clause),
        },
        "issue",
        ask=("repo", "title"),
    )


def _labels_to_add(clause: ActionClause) -> list[str]:
    """The labels in "label it bug", "tag #4 as 'needs triage'", "add the label p1 to …"."""
    match = re.search(
        r"\b(?:label|tag)(?:\s+(?:it|them|the\s+issue|the\s+pr|the\s+pull\s+request|this))?"
        r"(?:\s+(?:as|with))?\s+(?P<labels>.+)$|\badd\s+(?:the\s+|a\s+)?labels?\s+(?P<added>.+?)(?:\s+to\b.*)?$",
        clause.text,
        re.I,
    )
    raw = (match.group("labels") or match.group("added")) if match else ""
    raw = re.sub(r"\s+(?:to|on|in)\s+(?:issue|#|it\b|the\b).*$", "", raw, flags=re.I)
    return label_list(ISSUE_NUMBER.sub("", raw), clause.request) if raw else []


def add_labels(clause: ActionClause, draft: Draft) -> None:
    labels = _labels_to_add(clause)
    _add_issue_step(
        clause, draft, "github.add_labels", "label", {"labels": labels}, ask=("labels",)
    )


def comment_on_issue(clause: ActionClause, draft: Draft) -> None:
    body = explicit_text(clause) or any_quote(clause)
    _add_issue_step(
        clause, draft, "github.comment_on_issue", "comment", {"body": body}, ask=("body",)
    )


def close_issue(clause: ActionClause, draft: Draft) -> None:
    reason = "not_planned" if clause.has(r"\bnot\s+planned\b|\bwon'?t\s+fix\b") else None
    inputs = {"reason": reason, "comment": explicit_text(clause)}
    _add_issue_step(clause, draft, "github.close_issue", "close", inputs)


def _issue_state(clause: ActionClause) -> str | None:
    if clause.has(r"\bclosed\b"):
        return "closed"
    return "all" if clause.has(r"\ball\s+(?:the\s+)?issues\b") else None


def list_issues(clause: ActionClause, draft: Draft) -> None:
    draft.add_step_asking(
        "github.list_issues",
        {
            "repo": repo_in(clause.request.restore(clause.text)),
            "state": _issue_state(clause),
            "labels": _labels(clause),
        },
        "issues",
        ask=("repo",),
    )


def list_and_post(clause: ActionClause, draft: Draft) -> None:
    """ "post the open issues of acme/api to #dev": list them, then post the list."""
    list_issues(clause, draft)
    post_message(clause, draft)


# --- Slack ----------------------------------------------------------------------------------


def _message_text(clause: ActionClause, draft: Draft) -> str | None:
    text = explicit_text(clause)
    if text:
        return text
    if clause.verb == "remind":
        about = clause.phrases.first("to", "about")
        if about and not is_service_word(about) and not channels(about):
            return f"Reminder: {clause.restore(about)}"
    return composed_text(draft, head_object(clause))


def post_message(clause: ActionClause, draft: Draft) -> None:
    text = _message_text(clause, draft)
    for channel in channels(clause.text) or [None]:
        where = f" to {channel}" if channel else ""
        draft.add_step_asking(
            "slack.post_message",
            {"channel": channel, "text": text},
            "post",
            questions={"text": f"What should the message{where} say?"},
        )


def send_dm(clause: ActionClause, draft: Draft) -> None:
    found = people(clause, draft) or addresses(clause)
    text = _message_text(clause, draft)
    for person in found or [None]:
        draft.add_step_asking("slack.send_dm", {"user": person, "text": text}, "dm")


def _emoji(clause: ActionClause) -> str | None:
    explicit = EMOJI.search(clause.request.restore(clause.text))
    if explicit:
        return explicit.group(1)
    lowered = clause.lower
    return next((name for word, name in EMOJI_WORDS.items() if word in lowered), None)


def _latest_message(draft: Draft) -> dict[str, str | None]:
    """The channel and timestamp of the latest message, as templates (None: no message)."""
    message = draft.latest("message")
    if message is None:
        return {"channel": None, "timestamp": None}
    title = message.subject.title
    root = title.rsplit(".", 1)[0] if title else message.root
    return {"channel": f"{{{{ {root}.channel }}}}", "timestamp": f"{{{{ {root}.ts }}}}"}


def add_reaction(clause: ActionClause, draft: Draft) -> None:
    draft.add_step_asking(
        "slack.add_reaction",
        {"name": _emoji(clause), **_latest_message(draft)},
        "react",
        ask=("timestamp", "name"),
    )


# --- Google Calendar ------------------------------------------------------------------------

_MEETING_WORD = re.compile(
    r"(?P<phrase>(?:[\w:-]+\s+){0,2}?(?:meeting|call|sync|appointment|stand-?up|1:1|"
    r"one-on-one|catch-?up|interview|session|review|demo|retro(?:spective)?|workshop|lunch))\b",
    re.I,
)


def _event_summary(clause: ActionClause, draft: Draft) -> str:
    title = _title(clause, draft)
    if title:
        return title
    head = re.sub(
        r"^\W*\w+(?:\s+up)?\s+(?:(?:a|an|the|our|my)\s+)?", "", clause.phrases.head, flags=re.I
    )
    match = _MEETING_WORD.search(head)
    if match:
        phrase = re.sub(r"^(?:new|quick|short|\d+\S*)\s+", "", match.group("phrase"), flags=re.I)
        return sentence(phrase)
    return "Meeting" if clause.has(r"\bmeeting\b") else "Event"


def create_event(clause: ActionClause, draft: Draft) -> None:
    summary = _event_summary(clause, draft)
    title = readable(summary)
    if clause.duration is None:
        draft.assume(f"“{title}” lasts 60 minutes")
    moment = clause.moment
    step = draft.add_step_asking(
        "google_calendar.create_event",
        {
            "summary": summary,
            "start": moment.at.isoformat() if moment else None,
            "timezone": draft.context.timezone if moment else None,
            "duration_minutes": clause.duration or 60,
            "attendees": addresses(clause),
            "description": _description(clause, draft, "with agenda", "with description"),
        },
        "meeting" if clause.has(r"\bmeeting\b") else "event",
        ask=("start",),
        questions={"start": f"When should “{title}” start? e.g. tomorrow at 10am"},
    )
    if moment is not None:
        draft.add_time(step, TimedInput(step.id, "start", moment, f"“{title}” starts"))


def list_events(clause: ActionClause, draft: Draft) -> None:
    inputs: dict[str, Any] = {}
    if clause.moment is not None:
        day = clause.moment.at.replace(hour=0, minute=0)
        inputs["time_min"] = day.isoformat()
        inputs["time_max"] = day.replace(hour=23, minute=59).isoformat()
    draft.add_step("google_calendar.list_events", inputs, "events")


# --- Gmail ----------------------------------------------------------------------------------

SUBJECT_MARKERS = ("with subject", "with subject line", "about", "regarding", "titled", "called")
EMAIL_WORDS = ("email", "an email", "mail")


def _first_line(text: str) -> str:
    return text.splitlines()[0][:80]


def _sender_of_latest_email(clause: ActionClause, draft: Draft) -> list[str]:
    """[the sender of the latest email] for "reply to the sender", "email them back"."""
    email = draft.latest("email", connector="gmail")
    replying = clause.has(r"\b(?:reply|respond|the\s+sender|back)\b")
    if email is None or not replying or not email.subject.who:
        return []
    return [f"{{{{ {email.subject.who} }}}}"]


def _email_subject(
    clause: ActionClause, draft: Draft, written: str | None, body: str | None
) -> str | None:
    """The subject given ("with subject …", "about …"); else the first line of a body the
    clause spells out without "saying"/":"/"that"; else the trigger's title; else the
    thing the head sends ("email the agenda"), or the body's first line."""
    phrase = clause.phrases.first(*SUBJECT_MARKERS)
    given = clause.restore(phrase) if phrase else None
    if given is not None:
        return given
    if written and clause.phrases.first("saying", ":", "that") is None:
        return _first_line(written)
    title = trigger_title(draft)
    if title is not None or not body:
        return title
    intro = head_object(clause)
    return sentence(intro) if intro and "{{" not in intro else _first_line(body)


def _add_email_step(
    clause: ActionClause, draft: Draft, action: str, hint: str, ask: tuple[str, ...]
) -> None:
    written = explicit_text(clause)
    intro = head_object(clause)
    body = written
    if body is None:
        body = composed_text(draft, "" if intro.lower() in EMAIL_WORDS else intro)
    draft.add_step_asking(
        action,
        {
            "to": addresses(clause) or _sender_of_latest_email(clause, draft),
            "subject": _email_subject(clause, draft, written, body),
            "body": body,
        },
        hint,
        ask=ask,
    )


def send_email(clause: ActionClause, draft: Draft) -> None:
    _add_email_step(clause, draft, "gmail.send_email", "email", ask=("to", "body"))


def create_draft(clause: ActionClause, draft: Draft) -> None:
    """A draft may be saved without a body: only the recipient is asked for."""
    _add_email_step(clause, draft, "gmail.create_draft", "draft", ask=("to",))


# --- files: Google Drive and Dropbox ----------------------------------------------------------


def _file_content(clause: ActionClause, draft: Draft) -> str | None:
    return explicit_text(clause, "containing") or detail_text(draft) or composed_text(draft)


def _generated_name(draft: Draft) -> str | None:
    thing = draft.trigger_thing()
    if thing is None or thing.subject.ident is None:
        return None
    return f"{thing.kind}-{{{{ {thing.subject.ident} }}}}.txt"


def _drive_folder(clause: ActionClause, field: str) -> dict[str, str | None]:
    """{field: folder id} from a Drive folder link; {field: None} (to ask for the link)
    when the clause puts the file in a folder without one; {} when it names no folder."""
    link = DRIVE_FOLDER_URL.search(clause.request.restore(clause.text))
    if link:
        return {field: link.group(1)}
    phrases = clause.phrases.after("in", "into", "to", "inside", "under")
    return {field: None} if any(re.search(r"\bfolder\b", p, re.I) for p in phrases) else {}


def drive_upload(clause: ActionClause, draft: Draft) -> None:
    draft.add_step_asking(
        "google_drive.upload_file",
        {
            "name": file_name(clause) or _generated_name(draft),
            "content": _file_content(clause, draft),
            **_drive_folder(clause, "folder_id"),
        },
        "upload",
        ask=("folder_id", "name", "content"),
        questions={"folder_id": DRIVE_FOLDER_QUESTION},
    )


def drive_folder(clause: ActionClause, draft: Draft) -> None:
    draft.add_step_asking(
        "google_drive.create_folder",
        {
            "name": explicit_title(clause) or _folder_word(clause),
            **_drive_folder(clause, "parent_id"),
        },
        "folder",
        ask=("parent_id", "name"),
        questions={"parent_id": DRIVE_FOLDER_QUESTION},
    )


def _folder_word(clause: ActionClause) -> str | None:
    match = re.search(
        rf"\bfolder\s+(?P<name>{PLACEHOLDER.pattern}|[A-Z0-9][\w-]*)", clause.phrases.head
    )
    return clause.restore(match.group("name")) if match else None


def _share_audience(clause: ActionClause) -> dict[str, str | None]:
    """{"type": "anyone"} for a public share, else {"email": the first address, or None}."""
    if clause.has(r"\b(?:anyone|everyone|public(?:ly)?)\b"):
        return {"type": "anyone"}
    recipients = addresses(clause)
    return {"email": recipients[0] if recipients else None}


def _share_role(clause: ActionClause) -> str | None:
    if clause.has(r"\b(?:edit|editor|write|writer)\b"):
        return "writer"
    return "commenter" if clause.has(r"\bcomment") else None


def drive_share(clause: ActionClause, draft: Draft) -> None:
    file_id = _ident(clause, draft, DRIVE_FILE_ID, "file", "folder", connector="google_drive")
    draft.add_step_asking(
        "google_drive.share_file",
        {"file_id": file_id, **_share_audience(clause), "role": _share_role(clause)},
        "share",
        ask=("file_id", "email"),
    )


def _dropbox_path(clause: ActionClause) -> str | None:
    found = paths(clause.request.restore(clause.text))
    return found[0] if found else None


def _upload_path(clause: ActionClause, draft: Draft) -> str | None:
    """The Dropbox path to upload to: a named folder gets the file's name appended."""
    path = _dropbox_path(clause)
    name = file_name(clause) or _generated_name(draft)
    if path and name and not re.search(r"\.\w{1,5}$", path):
        return f"{path.rstrip('/')}/{name}"
    if path is None and name:
        return f"/{name}"
    return path


def dropbox_upload(clause: ActionClause, draft: Draft) -> None:
    draft.add_step_asking(
        "dropbox.upload_file",
        {"path": _upload_path(clause, draft), "content": _file_content(clause, draft)},
        "upload",
    )


def dropbox_folder(clause: ActionClause, draft: Draft) -> None:
    path = _dropbox_path(clause)
    if path is None:
        name = explicit_title(clause) or _folder_word(clause)
        path = f"/{name}" if name else None
    draft.add_step_asking("dropbox.create_folder", {"path": path}, "folder")


def dropbox_link(clause: ActionClause, draft: Draft) -> None:
    path = _dropbox_path(clause)
    if path is None:
        thing = draft.latest("file", "folder", connector="dropbox")
        path = thing.subject.template("path") if thing else None
    draft.add_step_asking("dropbox.create_shared_link", {"path": path}, "link")


# --- HTTP and approvals -------------------------------------------------------------------------

_METHODS = ("POST", "PUT", "PATCH", "DELETE", "GET", "HEAD")


def http_request(clause: ActionClause, draft: Draft) -> None:
    url = urls(clause.request.restore(clause.text))[0]
    method = next((m for m in _METHODS if re.search(rf"\b{m}\b", clause.text, re.I)), None)
    if method is None:
        sends = clause.verb in ("send", "post", "notify", "trigger", "fire") or clause.has(
            r"\bwebhook\b"
        )
        method = "POST" if sends else "GET"
    inputs: dict[str, Any] = {"method": method, "url": url}
    thing = draft.trigger_thing()
    if method in ("POST", "PUT", "PATCH") and thing is not None:
        inputs["body"] = "{{ trigger }}"
    draft.add_step("http.request", inputs, "request")


def approval(clause: ActionClause, draft: Draft) -> None:
    approvers = [p for p in people(clause, draft) if re.fullmatch(r"[UW][A-Z0-9]{2,}", p)]
    named_only = [p for p in people(clause, draft) if p.startswith("@")]
    message = (
        explicit_text(clause)
        or composed_text(draft, "Please approve")
        or "Please approve so the workflow can continue."
    )
    who = f" ({', '.join(named_only)})" if named_only else ""
    draft.add_step_asking(
        "approval.request",
        {"message": message, "approvers": approvers},
        "approval",
        questions={
            "approvers": (
                f"Who should approve{who}? Mention them in Slack so I get their user IDs, "
                "e.g. @alice."
            )
        },
    )


# --- choosing the reader --------------------------------------------------------------------------

SERVICE_CHOICES = {
    "upload": (
        "Where should I save the file: Google Drive or Dropbox?",
        ("Google Drive", "Dropbox"),
    ),
    "folder": (
        "Where should I create the folder: Google Drive or Dropbox?",
        ("Google Drive", "Dropbox"),
    ),
}


def _file_reader(clause: ActionClause, draft: Draft, what: str) -> Reader | None:
    dropbox = clause.has(r"\bdropbox\b")
    drive = clause.has(r"\b(?:google\s+)?drive\b|\bgdrive\b")
    if what == "share":
        if dropbox or clause.has(r"\bshared?\s+link\b"):
            return dropbox_link
        if drive or draft.latest("file", "folder", connector="google_drive"):
            return drive_share
        return dropbox_link if draft.latest("file", "folder", connector="dropbox") else None
    if not (dropbox or drive):
        previous = draft.latest("file", "folder")
        if previous is not None:
            dropbox = previous.action.startswith("dropbox.")
            drive = not dropbox
    if dropbox:
        return dropbox_upload if what == "upload" else dropbox_folder
    if drive:
        return drive_upload if what == "upload" else drive_folder
    question, labels = SERVICE_CHOICES[what]
    draft.ask(
        question, [Choice(label, draft.request_with(clause.source, label)) for label in labels]
    )
    return None


def _github_reader(clause: ActionClause) -> Reader:
    verb = clause.verb
    if verb in ("label", "tag") or clause.has(r"\badd\s+(?:the\s+|a\s+)?labels?\b"):
        return add_labels
    if verb in ("comment", "reply", "respond"):
        return comment_on_issue
    if verb == "close":
        return close_issue
    if verb in ("list", "fetch", "get") or clause.has(r"\b(?:open|closed|all)\s+issues\b"):
        return list_issues
    return create_issue


def _contextual_reader(clause: ActionClause, draft: Draft) -> Reader | None:
    """A clause that names no service ("label it bug", "comment 'thanks'"): it is about
    the latest thing of the right kind."""
    verb = clause.verb
    latest = draft.latest("issue", "pull request", "card", "task")
    if verb in ("label", "tag"):
        return add_labels
    if verb in ("comment", "reply", "respond") and latest is not None:
        return {"card": comment_on_card, "task": comment_on_task}.get(latest.kind, comment_on_issue)
    if verb == "close":
        return close_issue
    if verb in ("complete", "finish") or clause.has(r"\bmark\b.*\b(?:done|complete)"):
        return complete_task
    if verb == "move":
        return move_card
    return None


def _choose(clause: ActionClause, draft: Draft) -> Reader | None:
    verb, has = clause.verb, clause.has
    if has(r"\bapprov"):
        return approval
    if verb == "react" or has(r"\breactions?\b|\bemoji\b"):
        return add_reaction
    messaging = verb in MESSAGING_VERBS
    if messaging and channels(clause.text) and has(r"\b(?:open|closed|all)\s+issues\b"):
        return list_and_post
    if verb == "dm" or (
        messaging and not has(r"\be-?mails?\b") and (channels(clause.text) or people(clause, draft))
    ):
        return post_message if channels(clause.text) and verb != "dm" else send_dm
    found_urls = urls(clause.request.restore(clause.text))
    if (
        found_urls
        and not channels(clause.text)
        and not addresses(clause)
        and verb
        in (
            "call",
            "hit",
            "ping",
            "trigger",
            "fire",
            "request",
            "fetch",
            "get",
            "send",
            "post",
            "notify",
            "make",
        )
    ):
        return http_request
    if (
        verb in CALENDAR_VERBS | {"list", "get", "fetch"}
        and has(CALENDAR_NOUNS)
        and not has(r"\bcards?\b|\btasks?\b|\bissues?\b")
    ):
        if verb in ("list", "get", "fetch"):
            return list_events
        if not (
            verb in ("add", "create", "make", "put")
            and not has(r"\b(?:meeting|event|calendar|call|appointment|block)\b")
        ):
            return create_event
    if has(r"\bcards?\b|\btrello\b"):
        if verb == "move":
            return move_card
        if verb in ("comment", "reply"):
            return comment_on_card
        return create_card
    if has(r"\btasks?\b|\basana\b|\bto-?dos?\b"):
        if verb in ("complete", "finish") or has(r"\bmark\b.*\b(?:done|complete)"):
            return complete_task
        if verb in ("comment", "reply"):
            return comment_on_task
        return create_task
    if verb == "share" and channels(clause.text):
        return post_message
    if has(r"\bissues?\b|\bgithub\b|\bpull\s+requests?\b|\bprs?\b|\bbugs?\b") or (
        repo_in(clause.request.restore(clause.text))
        and verb in ("create", "open", "file", "raise", "log")
    ):
        return _github_reader(clause)
    if has(r"\bfolders?\b") and verb in ("create", "make", "add", "set up"):
        return _file_reader(clause, draft, "folder")
    if verb == "share" or has(r"\bshared?\s+link\b"):
        return _file_reader(clause, draft, "share")
    if verb in ("upload", "save", "store", "copy", "back up", "put") or (
        has(r"\bfiles?\b") and verb in ("create", "add", "make", "write")
    ):
        return _file_reader(clause, draft, "upload")
    if verb == "draft" or (verb in ("write", "create") and has(r"\bdraft\b")):
        return create_draft
    if verb in ("email", "e-mail", "mail") or (
        verb in ("send", "write") and has(r"\be-?mails?\b|\bmail\b")
    ):
        return send_email
    if verb == "dm" or has(r"\b(?:direct|private)\s+message\b|\bDMs?\b"):
        return send_dm
    messaging = verb in MESSAGING_VERBS_BUT_FORWARD
    if messaging and channels(clause.text):
        return post_message
    if messaging and people(clause, draft):
        return send_dm
    if messaging and addresses(clause):
        return send_email
    if messaging and (has(r"\bslack\b") or verb in ("post", "announce")):
        return post_message
    return _contextual_reader(clause, draft)


def read_action(clause_text: str, verb: str, request: Request, draft: Draft) -> bool:
    """Add the steps one action clause asks for. False: the planner cannot map it."""
    calendar_like = verb in CALENDAR_VERBS and re.search(
        CALENDAR_NOUNS, blank_values(clause_text), re.I
    )
    text, due = _cut_due(clause_text, draft)
    text, moment, duration = _cut_times(text, draft, bool(calendar_like))
    clause = ActionClause(
        text, verb, Phrases.read(text), request, moment, duration, due, clause_text
    )
    reader = _choose(clause, draft)
    if reader is None:
        return draft.question is not None
    reader(clause, draft)
    return True


def _blank(text: str, start: int, end: int) -> str:
    return (text[:start] + " " + text[end:]).strip()


DUE = re.compile(r"\bdue\s+(?:on\s+|by\s+)?", re.I)


def _cut_due(text: str, draft: Draft) -> tuple[str, Moment | None]:
    """ "due Friday": a due date, not a trigger."""
    marker = DUE.search(text)
    if marker is None:
        return text, None
    found = find_moment(blank_values(text[marker.end() :]), draft.now)
    if found is None or found.start > 0:
        return text, None
    return _blank(text, marker.start(), marker.end() + found.end), found.value


def _cut_times(
    text: str, draft: Draft, calendar_like: bool
) -> tuple[str, Moment | None, int | None]:
    """Cut time phrases out of a clause. A repeating time becomes the trigger; a one-off
    time is the event's start in a calendar clause, else the trigger. Returns (text,
    the event's start, the event's length in minutes)."""
    schedule = find_schedule(blank_values(text))
    if schedule is not None:
        set_schedule(draft, schedule.value)
        text = _blank(text, schedule.start, schedule.end)
    moment = find_moment(blank_values(text), draft.now)
    if moment is not None:
        text = _blank(text, moment.start, moment.end)
        if not calendar_like:
            set_moment(draft, moment.value)
            return text, None, None
    duration = None
    if calendar_like:
        found = find_duration(blank_values(text))
        if found is not None:
            duration = found.value
            text = _blank(text, found.start, found.end)
    return text, moment.value if moment else None, duration
