"""Answers to the offline planner's questions: the reply read as the value the question
asked for (a repository, a channel, a list name, a time, …) and put into the partial
workflow at the slot's path."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from workflows.model import Workflow
from workflows.planning.events import DRIVE_FOLDER_URL, repo_in
from workflows.planning.relative import counted_start
from workflows.planning.results import PlanContext
from workflows.planning.text import (
    REPO,
    Request,
    channels,
    clean_name,
    emails,
    mentions,
    paths,
    quoted_in,
)
from workflows.planning.times import find_moment, find_schedule
from workflows.planning.values import label_list

SLOT_PATH = re.compile(
    r"^(?:trigger\.(?P<at>at)|trigger\.with\.(?P<config>\w+)|steps\[(?P<index>\d+)\]\.with\.(?P<input>\w+))$"
)

Reader = Callable[[str, Request, PlanContext], Any]


def _text(reply: str, request: Request, _context: PlanContext) -> str | None:
    quoted = quoted_in(request.masked, request)
    return quoted[0] if quoted else (request.restore(request.masked).strip() or None)


def _name(reply: str, request: Request, context: PlanContext) -> str | None:
    text = _text(reply, request, context)
    if text is None:
        return None
    text = re.sub(r"^(?:(?:in|on|to|into)\s+)?", "", clean_name(text), flags=re.I)
    text = re.sub(r"\s+(?:list|board|project|column)$", "", text, flags=re.I)
    text = re.sub(r"^(?:the\s+)?(?:list|board|project)\s+", "", text, flags=re.I)
    return text.strip() or None


def _repo(reply: str, _request: Request, _context: PlanContext) -> str | None:
    return repo_in(reply)


def _channel(reply: str, _request: Request, _context: PlanContext) -> str | None:
    found = channels(reply)
    if found:
        return found[0]
    word = reply.strip().strip(".").lower()
    return f"#{word}" if re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,79}", word) else None


def _person(reply: str, _request: Request, context: PlanContext) -> str | None:
    found = mentions(reply) or emails(reply)
    if found:
        return found[0]
    if re.fullmatch(r"\s*(?:me|myself)\s*\.?", reply, re.I) and context.user:
        return context.user
    return None


def _addresses(reply: str, _request: Request, _context: PlanContext) -> list[str] | None:
    return emails(reply) or None


def _address(reply: str, request: Request, context: PlanContext) -> str | None:
    found = _addresses(reply, request, context)
    return found[0] if found else None


def _labels(reply: str, request: Request, _context: PlanContext) -> list[str] | None:
    return label_list(request.masked, request) or None


def _number(reply: str, _request: Request, _context: PlanContext) -> int | None:
    """The number in "#42", "42", "acme/api#42": digits in a repository name are not it."""
    match = re.search(r"#?(\d+)", REPO.sub(" ", reply))
    return int(match.group(1)) if match else None


def _start(reply: str, _request: Request, context: PlanContext) -> str | None:
    found = find_moment(reply, context.current_time())
    if found is None or found.value.at <= context.current_time():
        return None
    return found.value.at.isoformat()


def _path(reply: str, _request: Request, _context: PlanContext) -> str | None:
    found = paths(reply)
    return found[0] if found else None


def _drive_id(reply: str, _request: Request, _context: PlanContext) -> str | None:
    link = DRIVE_FOLDER_URL.search(reply)
    if link:
        return link.group(1)
    token = reply.strip()
    return token if re.fullmatch(r"[A-Za-z0-9_-]{10,}", token) else None


def _gmail_sender(reply: str, request: Request, context: PlanContext) -> str | None:
    address = _address(reply, request, context)
    return f"from:{address}" if address else None


def _token(reply: str, _request: Request, _context: PlanContext) -> str | None:
    match = re.search(
        r"[A-Za-z0-9_:-]{4,}", reply.strip().split("/")[-1] if "trello.com" in reply else reply
    )
    return match.group() if match else None


def _approvers(reply: str, _request: Request, context: PlanContext) -> list[str] | None:
    found = [m for m in mentions(reply) if re.fullmatch(r"[UW][A-Z0-9]{2,}", m)]
    if re.search(r"\b(?:me|myself)\b", reply, re.I) and context.user:
        found.insert(0, context.user)
    return found or None


READERS: dict[str, Reader] = {
    "repo": _repo,
    "channel": _channel,
    "user": _person,
    "to": _addresses,
    "attendees": _addresses,
    "email": _address,
    "labels": _labels,
    "issue_number": _number,
    "start": _start,
    "path": _path,
    "folder": _path,
    "folder_id": _drive_id,
    "parent_id": _drive_id,
    "file_id": _drive_id,
    "query": _gmail_sender,
    "card": _token,
    "task": _token,
    "approvers": _approvers,
    "list": _name,
    "board": _name,
    "project": _name,
}
# Inputs a reply may give along with the one asked for, set when the reply names them:
# "Which GitHub issue? Give its number and repository" is answered "#42 in acme/api".
COMPANIONS: dict[str, tuple[str, ...]] = {"issue_number": ("repo",)}


def _set_time(document: dict[str, Any], reply: str, context: PlanContext) -> bool:
    trigger: dict[str, Any] = {"type": "schedule", "timezone": context.timezone}
    schedule = find_schedule(reply)
    if schedule is not None:
        trigger |= (
            {"cron": schedule.value.cron}
            if schedule.value.cron
            else {"rrule": schedule.value.rrule}
        )
    else:
        moment = find_moment(reply, context.current_time())
        if moment is None or moment.value.at <= context.current_time():
            return False
        trigger["at"] = moment.value.at.isoformat()
    document["trigger"] = trigger
    return True


def fill_slot(workflow: Workflow, path: str, reply: str, context: PlanContext) -> Workflow | None:
    """`workflow` with the value read from `reply` at `path`, or None if the reply does
    not give one."""
    match = SLOT_PATH.match(path)
    if match is None or not reply.strip():
        return None
    document = workflow.to_document()
    request = Request.read(reply)
    if match.group("at"):
        if not _set_time(document, reply, context):
            return None
    else:
        field = match.group("config") or match.group("input")
        text = request.restore(request.masked)
        value = READERS.get(field, _text)(text, request, context)
        if value is None:
            return None
        if match.group("config"):
            target = document["trigger"].setdefault("with", {})
        else:
            index = int(match.group("index"))
            if index >= len(document["steps"]):
                return None
            target = document["steps"][index].setdefault("with", {})
        target[field] = value
        for companion in COMPANIONS.get(field, ()):
            also = READERS[companion](text, request, context)
            if also is not None:
                target[companion] = also
        if field == "start":
            target.setdefault("timezone", context.timezone)
            counted = counted_start(
                document["trigger"], text, context.current_time(), context.timezone
            )
            target["start"] = counted or value
    try:
        return Workflow.model_validate(document)
    except ValidationError:
        return None
