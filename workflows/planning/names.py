"""Names and texts written without quotes, protected like quoted ones before the request
is read: the words after "called"/"named"/"titled"/"with subject", and after the colon of
an action ("file a bug on acme/api: checkout fails when the cart is empty", "msg #design:
mockups are up"). Inside them, "weekly", "daily", "when", "in", "to" are part of the
name, not a second time, a trigger or a place.

A name ends where the request goes on: at the next marker ("in the Inbox list", "for
me", "due Friday", "saying …"), a comma, a #channel or @person, or a time phrase after
its first word ("called review budget every Monday"). After a colon the text runs to the
end, less a trailing "(project IT)", ", list Office", "in #dev" or time phrase.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from workflows.planning.text import (
    _CLOSE,
    _OPEN,
    PLACEHOLDER,
    Request,
    blank_values,
    sentence,
    split_clauses,
)
from workflows.planning.times import find_moment, find_schedule

NAME_MARKER = re.compile(
    r"\b(?:called|named|titled|entitled|with\s+(?:the\s+|a\s+)?(?:title|subject(?:\s+line)?"
    r"|name))\s+(?=[^\s\ue000])",
    re.IGNORECASE,
)
NAME_END = re.compile(
    r"\s+(?=(?:in|into|on|onto|to|for|from|under|with|and|then|saying|that\s+says|which\s+says"
    r"|due|assigned|assign|labell?ed|tagged|describing|containing|every|each|at|by)\b)"
    r"|\s*[,;!?(]|\.(?:\s|$)|\s+(?=[#@\ue000])|$",
    re.IGNORECASE,
)
COLON = re.compile(r"(?<=\S):\s+(?=[^\s\ue000])")
TEXT_TAIL = re.compile(
    r"\s*\([^)]*\)\s*$"  # (project IT)
    r"|\s*,\s*(?:(?:in|to|on|into|for|due|assigned)\b|(?:the\s+)?(?:project|list|board|repo"
    r"|repository|channel|folder)\s+\S).*$"  # , project Planning
    r"|\s+(?:in|to|on|into|for)\s+(?:the\s+)?(?:[#@][\w.-]+|[\w.-]+/[\w.-]+|\S+@\S+)"
    r"(?:\s+(?:channel|repo|repository))?\s*$",  # in #dev, to acme/api
    re.IGNORECASE,
)
MIN_NAME_CHARS = 2
# "new Trello card: …", "a new task: …" at the start: a thing to create, not an event
NEW_THING = re.compile(
    r"^(?:an?\s+)?new\s+(?P<thing>(?:[\w-]+\s+){0,3}?(?:card|task|issue|event|meeting|folder"
    r"|draft|bug|ticket|to-?do)(?:\s+(?:in|on|for)\s+[^:]+)?)(?=\s*:)",
    re.IGNORECASE,
)


def protect_names(request: Request, now: datetime) -> tuple[Request, list[str]]:
    """`request` with unquoted names and colon texts masked like quotes, and the time
    phrases a colon text keeps as its own words ("closed on Friday"), to be said."""
    quotes = list(request.quotes)
    masked = _protect(request.masked, NAME_MARKER, quotes, now, _name_end)
    masked = NEW_THING.sub(r"create \g<thing>", masked, count=1)
    kept: list[str] = []
    if _colon_after_action(masked):
        protected = len(quotes)
        masked = _protect(masked, COLON, quotes, now, _text_end, as_sentence=True)
        kept = _time_words(quotes[-1], now) if len(quotes) > protected else []
    return replace(request, masked=masked, quotes=tuple(quotes)), kept


def _time_words(text: str, now: datetime) -> list[str]:
    blanked = blank_values(text)
    found = find_schedule(blanked) or find_moment(blanked, now)
    return [text[found.start : found.end]] if found else []


def _protect(
    masked: str,
    marker: re.Pattern[str],
    quotes: list[str],
    now: datetime,
    ending: Callable[[str, int, datetime], int],
    as_sentence: bool = False,
) -> str:
    """Mask what follows each `marker` up to `ending` (only the first one for a text
    after a colon, which is sentence-cased like other unquoted text)."""
    out, position = [], 0
    for match in marker.finditer(masked):
        if match.start() < position:
            continue
        start = match.end()
        end = ending(masked, start, now)
        words = masked[start:end].strip()
        if len(words) < MIN_NAME_CHARS or PLACEHOLDER.search(words):
            continue
        out.append(masked[position:start])
        quotes.append(sentence(words) if as_sentence else words)
        out.append(f"{_OPEN}{len(quotes) - 1}{_CLOSE}")
        position = start + len(masked[start:end].rstrip())
        if as_sentence:
            break
    out.append(masked[position:])
    return "".join(out)


def _name_end(masked: str, start: int, now: datetime) -> int:
    boundary = NAME_END.search(masked[start:], 1)
    end = start + (boundary.start() if boundary else len(masked) - start)
    return _before_time(masked, start, end, now)


def _text_end(masked: str, start: int, _now: datetime) -> int:
    """The end of a colon text: all of it, less a trailing container or recipient. Its
    time phrases stay in it (said as an assumption): after a colon they are more often
    what the message says ("the lot is closed on Friday") than when to send it."""
    text = masked[start:]
    previous = None
    while previous != text:
        previous = text
        text = TEXT_TAIL.sub("", text)
    return start + len(text.rstrip(" .!?"))


def _before_time(masked: str, start: int, end: int, now: datetime) -> int:
    """`end`, or where a time phrase after the name's first word begins."""
    span = masked[start:end]
    first_word = re.match(r"\S+", span)
    if first_word is None:
        return end
    searched = blank_values(" " * first_word.end() + span[first_word.end() :])
    found = [f for f in (find_schedule(searched), find_moment(searched, now)) if f is not None]
    return start + min(f.start for f in found) if found else end


def _colon_after_action(masked: str) -> bool:
    """Whether the request's first colon follows an action ("tell #ops: …", "create a
    task: book flights"): what follows it is then that action's text, even when it starts
    with a verb."""
    match = COLON.search(masked)
    if match is None:
        return False
    return any(clause.verb is not None for clause in split_clauses(masked[: match.start()]))
