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
    _VERB,
    PLACEHOLDER,
    TAIL_WHEN_WORDS,
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
    r"\s+(?=(?:with|and|then|saying|that\s+says|which\s+says|due|assigned|assign|labell?ed"
    r"|tagged|describing|containing|every|each)\b)"
    r"|\s*[,;!?(]|\.(?:\s|$)|\s+(?=[#@\ue000])|$"
    # "in", "on", "to" … end a name only before a place or a person: "in the Inbox list",
    # "on Roadmap", "for me", "in #dev"; "crash on startup" is one name
    r"|\s+(?=(?:in|into|on|onto|to|for|from|under|at)\s+(?:(?:the|my|our)\s+)?(?:[A-Z0-9#@/]"
    r"|\S+@|[\w-]+/[\w.-]|me\b|(?:list|board|project|folder|channel|repo|calendar|trello|asana|slack|drive"
    r"|dropbox|github|gmail|google)\b))",
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
# What a message says, after the words that introduce it: "tell #ops that …", "ping
# @bob saying …", "let #eng know …", "send #general a note that …".
SAID = re.compile(
    r"(?:(?:[#@][\w.-]+|\bme|\bus|\beveryone|\bteam|\bnote|\bmessage|\bline|\S+@\S+)"
    r"\s+that|\bknow(?:\s+that)?|\b(?:saying|that\s+says|which\s+says|that\s+reads))\s+"
    r"(?=[^\s\ue000])",
    re.IGNORECASE,
)
SAYING_VERBS = frozenset(
    {
        "tell",
        "notify",
        "message",
        "ping",
        "alert",
        "let",
        "post",
        "send",
        "dm",
        "inform",
        "warn",
        "shout",
        "broadcast",
        "drop",
        "shoot",
        "announce",
        "email",
        "mail",
        "e-mail",
        "write",
    }
)
# "new Trello card: …", "a new task: …" at the start: a thing to create, not an event
NEXT_ACTION = re.compile(
    rf"(?:\s*[,;]\s*(?:and\s+)?(?:then\s+)?|\s+and\s+(?:then\s+)?|\.\s+)(?={_VERB.pattern})"
    rf"|\s*,?\s+(?={TAIL_WHEN_WORDS}\b)",
    re.IGNORECASE,
)
NEW_THING = re.compile(
    r"^(?:an?\s+)?new\s+(?P<thing>(?:[\w-]+\s+){0,3}?(?:card|task|issue|event|meeting|folder"
    r"|draft|bug|ticket|to-?do)(?:\s+(?:in|on|for)\s+[^:]+)?)(?=\s*:)",
    re.IGNORECASE,
)


def protect_names(request: Request, now: datetime) -> tuple[Request, list[str]]:
    """`request` with unquoted names, colon texts and said texts masked like quotes, and
    the time phrases those texts keep as their own words ("closed on Friday"), to be
    said as assumptions."""
    quotes = list(request.quotes)
    masked = _protect(request.masked, NAME_MARKER, quotes, now, _name_end)
    masked = NEW_THING.sub(r"create \g<thing>", masked, count=1)
    texts_from = len(quotes)
    if _colon_after_action(masked):
        masked = _protect(masked, COLON, quotes, now, _text_end, as_sentence=True)
    elif _said_after_message(masked):
        masked = _protect(masked, SAID, quotes, now, _said_end, as_sentence=True)
    kept = [words for text in quotes[texts_from:] for words in _time_words(text, now)]
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


def _said_after_message(masked: str) -> bool:
    """Whether a messaging action ("tell", "ping", "send … a note") introduces what it
    says with "that"/"saying"/"know" (not "remind": a reminder's times are its time)."""
    marker = SAID.search(masked)
    if marker is None:
        return False
    clauses = [c for c in split_clauses(masked[: marker.end()]) if c.verb is not None]
    return bool(clauses) and clauses[-1].verb in SAYING_VERBS


def _said_end(masked: str, start: int, _now: datetime) -> int:
    """The end of a said text: the request's end, or the next action after "and" or a
    comma, or a trailing repeating time ("… every Monday" is when to send it)."""
    rest = masked[start:]
    following = NEXT_ACTION.search(rest)
    end = following.start() if following else len(rest.rstrip(" .!?"))
    schedule = find_schedule(blank_values(rest[:end]))
    if schedule is not None and not rest[schedule.end : end].strip(" ,.!?"):
        end = schedule.start
    return start + len(rest[:end].rstrip(" ,"))


def _colon_after_action(masked: str) -> bool:
    """Whether the request's first colon follows an action ("tell #ops: …", "create a
    task: book flights"): what follows it is then that action's text, even when it starts
    with a verb."""
    match = COLON.search(masked)
    if match is None:
        return False
    return any(clause.verb is not None for clause in split_clauses(masked[: match.start()]))
