"""Action phrases -> steps: one reader per action the offline planner understands.

`read_action` decides what a clause asks for from its verb and the things it names
(a #channel, "card", "task", "issue", "meeting", an address, a URL, "Drive" …) and calls
the reader, which adds the step with the inputs it found. A value the planner needs but
was not given (which list, which repository, who to email) is recorded as a question;
it is never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from workflows.planning.draft import Draft, Thing
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
from workflows.planning.words import format_moment, readable

Reader = Callable[[ActionClause, Draft], None]
ISSUE_QUESTION = "Which GitHub issue? Give its number and repository, e.g. #42 in acme/api."
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


# --- references to things made earlier ---------------------------------------------------


def _thing(draft: Draft, *kinds: str, connector: str | None = None) -> Thing | None:
    for thing in reversed(draft.things):
        if thing.kind in kinds and (connector is None or thing.action.startswith(f"{connector}.")):
            return thing
    return None


def _template(thing: Thing, role: str) -> str | None:
    return thing.subject.template(role)


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


def _card_ref(clause: ActionClause, draft: Draft) -> str | None:
    explicit = re.search(r"\bcard\s+([0-9a-fA-F]{24}|[0-9A-Za-z]{8})\b", clause.text, re.I)
    if explicit:
        return explicit.group(1)
    thing = _thing(draft, "card")
    return _template(thing, "ident") if thing else None


def create_card(clause: ActionClause, draft: Draft) -> None:
    inputs: dict[str, Any] = {}
    name = explicit_title(clause) or trigger_title(draft)
    if name:
        inputs["name"] = name
    trello_list = _container(clause, "list", "trello") or _container(clause, "column", "trello")
    if trello_list:
        inputs["list"] = trello_list
    board = _container(clause, "board", "trello")
    if board:
        inputs["board"] = board
    description = explicit_text(clause, "with description", head=False) or detail_text(draft)
    if description:
        inputs["description"] = description
    step = draft.add_step("trello.create_card", inputs, "card")
    if not name:
        draft.need(step.id, "name")
    if not trello_list:
        draft.need(step.id, "list")


def move_card(clause: ActionClause, draft: Draft) -> None:
    inputs: dict[str, Any] = {}
    card = _card_ref(clause, draft)
    if card:
        inputs["card"] = card
    target = _container(clause, "list", "trello")
    if target:
        inputs["list"] = target
    step = draft.add_step("trello.move_card", inputs, "move")
    if not card:
        draft.need(step.id, "card")
    if not target:
        draft.need(step.id, "list")


def comment_on_card(clause: ActionClause, draft: Draft) -> None:
    inputs: dict[str, Any] = {}
    card = _card_ref(clause, draft)
    if card:
        inputs["card"] = card
    text = explicit_text(clause) or composed_text(draft)
    if text:
        inputs["text"] = text
    step = draft.add_step("trello.comment_on_card", inputs, "comment")
    if not card:
        draft.need(step.id, "card")
    if not text:
        draft.need(step.id, "text")


# --- Asana ----------------------------------------------------------------------------------


def _task_ref(clause: ActionClause, draft: Draft) -> str | None:
    explicit = TASK_GID.search(clause.text)
    if explicit:
        return explicit.group(1)
    thing = _thing(draft, "task")
    return _template(thing, "ident") if thing else None


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
    inputs: dict[str, Any] = {}
    name = explicit_title(clause) or trigger_title(draft)
    if name:
        inputs["name"] = name
    project = _container(clause, "project", "asana")
    if project:
        inputs["project"] = project
    assignee = _assignee(clause)
    if assignee:
        inputs["assignee"] = assignee
    if clause.due is not None:
        inputs["due_on"] = clause.due.at.date().isoformat()
    notes = explicit_text(clause, "with description", head=False) or detail_text(draft)
    if notes:
        inputs["notes"] = notes
    step = draft.add_step("asana.create_task", inputs, "task")
    if not name:
        draft.need(step.id, "name")
    if not project:
        draft.need(step.id, "project")


def complete_task(clause: ActionClause, draft: Draft) -> None:
    task = _task_ref(clause, draft)
    step = draft.add_step("asana.complete_task", {"task": task} if task else {}, "complete")
    if not task:
        draft.need(step.id, "task")


def comment_on_task(clause: ActionClause, draft: Draft) -> None:
    inputs: dict[str, Any] = {}
    task = _task_ref(clause, draft)
    if task:
        inputs["task"] = task
    text = explicit_text(clause) or composed_text(draft)
    if text:
        inputs["text"] = text
    step = draft.add_step("asana.comment_on_task", inputs, "comment")
    if not task:
        draft.need(step.id, "task")
    if not text:
        draft.need(step.id, "text")


# --- GitHub ---------------------------------------------------------------------------------


def _issue_ref(clause: ActionClause, draft: Draft) -> tuple[str | None, Any]:
    """(repo, issue number or template) the clause refers to."""
    number = ISSUE_NUMBER.search(clause.text)
    repo = repo_in(clause.request.restore(clause.text))
    thing = _thing(draft, "issue", "pull request")
    if number:
        return repo or (thing.container.get("repo") if thing else None), int(number.group(1))
    if thing is None:
        return repo, None
    return thing.container.get("repo") or repo, _template(thing, "ident")


def _issue_inputs(
    clause: ActionClause, draft: Draft, hint: str, action: str
) -> tuple[dict[str, Any], str]:
    repo, number = _issue_ref(clause, draft)
    inputs: dict[str, Any] = {}
    if repo:
        inputs["repo"] = repo
    if number is not None:
        inputs["issue_number"] = number
    step = draft.add_step(action, inputs, hint)
    if number is None:
        draft.need(step.id, "issue_number", ISSUE_QUESTION)
    elif not repo:
        draft.need(step.id, "repo", "Which repository is the issue in? Reply with owner/name.")
    return inputs, step.id


def create_issue(clause: ActionClause, draft: Draft) -> None:
    inputs: dict[str, Any] = {}
    repo = repo_in(clause.request.restore(clause.text))
    if repo:
        inputs["repo"] = repo
    title = explicit_title(clause) or trigger_title(draft)
    if title:
        inputs["title"] = title
    body = explicit_text(clause, "describing", head=False) or detail_text(draft)
    if body:
        inputs["body"] = body
    labels = clause.phrases.first(
        "with label",
        "with labels",
        "labeled",
        "labelled",
        "tagged",
    )
    if labels:
        inputs["labels"] = label_list(labels, clause.request)
    step = draft.add_step("github.create_issue", inputs, "issue")
    if not repo:
        draft.need(step.id, "repo")
    if not title:
        draft.need(step.id, "title")


def add_labels(clause: ActionClause, draft: Draft) -> None:
    text = clause.text
    match = re.search(
        r"\b(?:label|tag)(?:\s+(?:it|them|the\s+issue|the\s+pr|the\s+pull\s+request|this))?"
        r"(?:\s+(?:as|with))?\s+(?P<labels>.+)$|\badd\s+(?:the\s+|a\s+)?labels?\s+(?P<added>.+?)(?:\s+to\b.*)?$",
        text,
        re.I,
    )
    raw = (match.group("labels") or match.group("added")) if match else ""
    raw = re.sub(r"\s+(?:to|on|in)\s+(?:issue|#|it\b|the\b).*$", "", raw, flags=re.I)
    labels = label_list(ISSUE_NUMBER.sub("", raw), clause.request) if raw else []
    inputs, step_id = _issue_inputs(clause, draft, "label", "github.add_labels")
    if labels:
        inputs["labels"] = labels
    else:
        draft.need(step_id, "labels", "Which label should I add?")


def comment_on_issue(clause: ActionClause, draft: Draft) -> None:
    inputs, step_id = _issue_inputs(clause, draft, "comment", "github.comment_on_issue")
    body = explicit_text(clause)
    if body:
        inputs["body"] = body
    else:
        draft.need(step_id, "body", "What should the comment say?")


def close_issue(clause: ActionClause, draft: Draft) -> None:
    inputs, _ = _issue_inputs(clause, draft, "close", "github.close_issue")
    if clause.has(r"\bnot\s+planned\b|\bwon'?t\s+fix\b"):
        inputs["reason"] = "not_planned"
    comment = explicit_text(clause)
    if comment:
        inputs["comment"] = comment


def list_issues(clause: ActionClause, draft: Draft) -> None:
    inputs: dict[str, Any] = {}
    repo = repo_in(clause.request.restore(clause.text))
    if repo:
        inputs["repo"] = repo
    if clause.has(r"\bclosed\b"):
        inputs["state"] = "closed"
    elif clause.has(r"\ball\s+(?:the\s+)?issues\b"):
        inputs["state"] = "all"
    labels = clause.phrases.first("labeled", "labelled", "tagged", "with label", "with labels")
    if labels:
        inputs["labels"] = label_list(labels, clause.request)
    step = draft.add_step("github.list_issues", inputs, "issues")
    if not repo:
        draft.need(step.id, "repo")


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
    found = channels(clause.text)
    text = _message_text(clause, draft)
    for channel in found or [None]:
        inputs: dict[str, Any] = {}
        if channel:
            inputs["channel"] = channel
        if text:
            inputs["text"] = text
        step = draft.add_step("slack.post_message", inputs, "post")
        if not channel:
            draft.need(step.id, "channel")
        if not text:
            where = f" to {channel}" if channel else ""
            draft.need(step.id, "text", f"What should the message{where} say?")


def send_dm(clause: ActionClause, draft: Draft) -> None:
    found = people(clause, draft) or addresses(clause)
    text = _message_text(clause, draft)
    for person in found or [None]:
        inputs: dict[str, Any] = {}
        if person:
            inputs["user"] = person
        if text:
            inputs["text"] = text
        step = draft.add_step("slack.send_dm", inputs, "dm")
        if not person:
            draft.need(step.id, "user")
        if not text:
            draft.need(step.id, "text")


def _emoji(clause: ActionClause) -> str | None:
    explicit = EMOJI.search(clause.request.restore(clause.text))
    if explicit:
        return explicit.group(1)
    lowered = clause.lower
    return next((name for word, name in EMOJI_WORDS.items() if word in lowered), None)


def add_reaction(clause: ActionClause, draft: Draft) -> None:
    inputs: dict[str, Any] = {}
    emoji = _emoji(clause)
    if emoji:
        inputs["name"] = emoji
    message = _thing(draft, "message")
    if message is not None:
        channel = message.subject.title.rsplit(".", 1)[0] if message.subject.title else message.root
        inputs["channel"] = f"{{{{ {channel}.channel }}}}"
        inputs["timestamp"] = f"{{{{ {channel}.ts }}}}"
    step = draft.add_step("slack.add_reaction", inputs, "react")
    if message is None:
        draft.need(step.id, "timestamp")
    if not emoji:
        draft.need(step.id, "name")


# --- Google Calendar ------------------------------------------------------------------------

_MEETING_WORD = re.compile(
    r"(?P<phrase>(?:[\w:-]+\s+){0,2}?(?:meeting|call|sync|appointment|stand-?up|1:1|"
    r"one-on-one|catch-?up|interview|session|review|demo|retro(?:spective)?|workshop|lunch))\b",
    re.I,
)


def _event_summary(clause: ActionClause, draft: Draft) -> str:
    explicit = explicit_title(clause)
    if explicit:
        return explicit
    title = trigger_title(draft)
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
    inputs: dict[str, Any] = {"summary": _event_summary(clause, draft)}
    title = readable(inputs["summary"])
    moment = clause.moment
    if moment is not None:
        inputs["start"] = moment.at.isoformat()
        inputs["timezone"] = draft.context.timezone
        if not moment.clock_given:
            draft.assume(f"“{title}” starts at {moment.at:%H:%M}")
        if draft.trigger.get("type") == "event":
            draft.assume(
                f"“{title}” is on {format_moment(moment.at)} every time the "
                "workflow runs (dates are fixed when you approve the plan)"
            )
    inputs["duration_minutes"] = clause.duration or 60
    if clause.duration is None:
        draft.assume(f"“{title}” lasts 60 minutes")
    attendees = addresses(clause)
    if attendees:
        inputs["attendees"] = attendees
    description = explicit_text(
        clause, "with agenda", "with description", head=False
    ) or detail_text(draft)
    if description:
        inputs["description"] = description
    step = draft.add_step(
        "google_calendar.create_event",
        inputs,
        "meeting" if clause.has(r"\bmeeting\b") else "event",
    )
    if moment is None:
        draft.need(step.id, "start", f"When should “{title}” start? e.g. tomorrow at 10am")


def list_events(clause: ActionClause, draft: Draft) -> None:
    inputs: dict[str, Any] = {}
    if clause.moment is not None:
        day = clause.moment.at.replace(hour=0, minute=0)
        inputs["time_min"] = day.isoformat()
        inputs["time_max"] = day.replace(hour=23, minute=59).isoformat()
    draft.add_step("google_calendar.list_events", inputs, "events")


# --- Gmail ----------------------------------------------------------------------------------


def _email(clause: ActionClause, draft: Draft, action: str) -> None:
    inputs: dict[str, Any] = {}
    recipients = addresses(clause)
    sender = _thing(draft, "email", connector="gmail")
    if not recipients and sender and clause.has(r"\b(?:reply|respond|the\s+sender|back)\b"):
        recipients = [f"{{{{ {sender.subject.who} }}}}"] if sender.subject.who else []
    if recipients:
        inputs["to"] = recipients
    subject = clause.phrases.first(
        "with subject",
        "with subject line",
        "about",
        "regarding",
        "titled",
        "called",
    )
    subject_text = clause.restore(subject) if subject else None
    body = explicit_text(clause)
    if body and subject_text is None and clause.phrases.first(*("saying", ":", "that")) is None:
        subject_text = body.splitlines()[0][:80]
    if subject_text is None:
        subject_text = trigger_title(draft)
    intro = head_object(clause)
    if body is None:
        body = composed_text(
            draft, intro if intro.lower() not in ("email", "an email", "mail") else ""
        )
    if subject_text is None and body:
        subject_text = sentence(intro) if intro and "{{" not in intro else body.splitlines()[0][:80]
    if subject_text:
        inputs["subject"] = subject_text
    if body:
        inputs["body"] = body
    step = draft.add_step(action, inputs, "draft" if action.endswith("draft") else "email")
    if not recipients:
        draft.need(step.id, "to")
    if not body and action == "gmail.send_email":
        draft.need(step.id, "body")


def send_email(clause: ActionClause, draft: Draft) -> None:
    _email(clause, draft, "gmail.send_email")


def create_draft(clause: ActionClause, draft: Draft) -> None:
    _email(clause, draft, "gmail.create_draft")


# --- files: Google Drive and Dropbox ----------------------------------------------------------


def _file_content(clause: ActionClause, draft: Draft) -> str | None:
    return explicit_text(clause, "containing") or detail_text(draft) or composed_text(draft)


def _generated_name(draft: Draft) -> str | None:
    thing = draft.trigger_thing()
    if thing is None or thing.subject.ident is None:
        return None
    return f"{thing.kind}-{{{{ {thing.subject.ident} }}}}.txt"


def _drive_folder(clause: ActionClause, draft: Draft, step_id: str, field: str) -> str | None:
    link = DRIVE_FOLDER_URL.search(clause.request.restore(clause.text))
    if link:
        return link.group(1)
    phrases = clause.phrases.after("in", "into", "to", "inside", "under")
    if any(re.search(r"\bfolder\b", p, re.I) for p in phrases):
        draft.need(step_id, field, DRIVE_FOLDER_QUESTION)
    return None


def drive_upload(clause: ActionClause, draft: Draft) -> None:
    inputs: dict[str, Any] = {}
    name = file_name(clause) or _generated_name(draft)
    if name:
        inputs["name"] = name
    content = _file_content(clause, draft)
    if content:
        inputs["content"] = content
    step = draft.add_step("google_drive.upload_file", inputs, "upload")
    folder = _drive_folder(clause, draft, step.id, "folder_id")
    if folder:
        inputs["folder_id"] = folder
    if not name:
        draft.need(step.id, "name")
    if not content:
        draft.need(step.id, "content")


def drive_folder(clause: ActionClause, draft: Draft) -> None:
    inputs: dict[str, Any] = {}
    name = explicit_title(clause) or _folder_word(clause)
    if name:
        inputs["name"] = name
    step = draft.add_step("google_drive.create_folder", inputs, "folder")
    parent = _drive_folder(clause, draft, step.id, "parent_id")
    if parent:
        inputs["parent_id"] = parent
    if not name:
        draft.need(step.id, "name")


def _folder_word(clause: ActionClause) -> str | None:
    match = re.search(
        rf"\bfolder\s+(?P<name>{PLACEHOLDER.pattern}|[A-Z0-9][\w-]*)", clause.phrases.head
    )
    return clause.restore(match.group("name")) if match else None


def drive_share(clause: ActionClause, draft: Draft) -> None:
    inputs: dict[str, Any] = {}
    explicit = re.search(r"\b(?:file|folder|doc(?:ument)?)\s+([A-Za-z0-9_-]{10,})\b", clause.text)
    thing = _thing(draft, "file", "folder", connector="google_drive")
    file_id = explicit.group(1) if explicit else (_template(thing, "ident") if thing else None)
    if file_id:
        inputs["file_id"] = file_id
    recipients = addresses(clause)
    if clause.has(r"\b(?:anyone|everyone|public(?:ly)?)\b"):
        inputs["type"] = "anyone"
    elif recipients:
        inputs["email"] = recipients[0]
    if clause.has(r"\b(?:edit|editor|write|writer)\b"):
        inputs["role"] = "writer"
    elif clause.has(r"\bcomment"):
        inputs["role"] = "commenter"
    step = draft.add_step("google_drive.share_file", inputs, "share")
    if not file_id:
        draft.need(step.id, "file_id")
    if "type" not in inputs and not recipients:
        draft.need(step.id, "email")


def _dropbox_path(clause: ActionClause) -> str | None:
    found = paths(clause.request.restore(clause.text))
    return found[0] if found else None


def dropbox_upload(clause: ActionClause, draft: Draft) -> None:
    inputs: dict[str, Any] = {}
    path = _dropbox_path(clause)
    name = file_name(clause) or _generated_name(draft)
    if path and name and not re.search(r"\.\w{1,5}$", path):
        path = f"{path.rstrip('/')}/{name}"
    elif path is None and name:
        path = f"/{name}"
    if path:
        inputs["path"] = path
    content = _file_content(clause, draft)
    if content:
        inputs["content"] = content
    step = draft.add_step("dropbox.upload_file", inputs, "upload")
    if not path:
        draft.need(step.id, "path")
    if not content:
        draft.need(step.id, "content")


def dropbox_folder(clause: ActionClause, draft: Draft) -> None:
    path = _dropbox_path(clause)
    if path is None:
        name = explicit_title(clause) or _folder_word(clause)
        path = f"/{name}" if name else None
    step = draft.add_step("dropbox.create_folder", {"path": path} if path else {}, "folder")
    if not path:
        draft.need(step.id, "path")


def dropbox_link(clause: ActionClause, draft: Draft) -> None:
    path = _dropbox_path(clause)
    if path is None:
        thing = _thing(draft, "file", "folder", connector="dropbox")
        path = _template(thing, "path") if thing else None
    step = draft.add_step("dropbox.create_shared_link", {"path": path} if path else {}, "link")
    if not path:
        draft.need(step.id, "path")


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
    inputs: dict[str, Any] = {"message": message}
    if approvers:
        inputs["approvers"] = approvers
    step = draft.add_step("approval.request", inputs, "approval")
    if not approvers:
        who = f" ({', '.join(named_only)})" if named_only else ""
        draft.need(
            step.id,
            "approvers",
            f"Who should approve{who}? Mention them in Slack so I get their user IDs, e.g. @alice.",
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
        if drive or _thing(draft, "file", "folder", connector="google_drive"):
            return drive_share
        return dropbox_link if _thing(draft, "file", "folder", connector="dropbox") else None
    if not (dropbox or drive):
        previous = _thing(draft, "file", "folder")
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
    messaging = verb in (
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
    )
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
