"""Typos and chat shorthand in the words the planner reads: "creat an isue", "trelo card",
"sned 'hi' to #ops", "evry day", "pls", "msg".

A word is corrected only when it is not a known English word (`spellchecker`'s English
frequency list) and is one edit (two for long words; a swap of neighbours counts as one)
from a word the planner itself reads: an action verb, a service, a thing the catalog
makes, a time word. So "cart" and "last" stay as written, and text outside that
vocabulary ("the coffe machine") is never touched. Quoted text is not seen here at all
(it is masked before this runs), nor are values (#channels, @people, addresses, paths,
URLs, owner/name).
"""

from __future__ import annotations

import re
from functools import cache

from rapidfuzz.distance import DamerauLevenshtein
from rapidfuzz.process import extractOne
from spellchecker import SpellChecker

from workflows.planning.text import (
    ACTION_VERBS,
    CHANNEL,
    EMAIL,
    MENTION,
    PATH,
    PLACEHOLDER,
    REPO,
    URL,
)

SHORTHAND = {
    "pls": "please",
    "plz": "please",
    "pleas": "please",
    "plse": "please",
    "u": "you",
    "ur": "your",
    "msg": "message",
    "thx": "thanks",
    "tmrw": "tomorrow",
    "tmr": "tomorrow",
    "tomo": "tomorrow",
    "mins": "minutes",
    "hrs": "hours",
    "wk": "week",
    "asap": "now",
}
VOCABULARY = frozenset(
    {
        *(verb for verb in ACTION_VERBS if " " not in verb and "-" not in verb),
        # services and the things their actions make or watch
        "trello",
        "asana",
        "slack",
        "github",
        "gmail",
        "dropbox",
        "google",
        "drive",
        "calendar",
        "issue",
        "issues",
        "card",
        "cards",
        "task",
        "tasks",
        "channel",
        "message",
        "email",
        "meeting",
        "event",
        "folder",
        "file",
        "board",
        "project",
        "repository",
        "reminder",
        "attachment",
        "important",
        "unread",
        "webhook",
        "titled",
        "called",
        "named",
        "saying",
        "whenever",
        # time words
        "every",
        "daily",
        "weekly",
        "monthly",
        "hourly",
        "today",
        "tomorrow",
        "tonight",
        "morning",
        "evening",
        "afternoon",
        "weekday",
        "weekdays",
        "minutes",
        "hours",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    }
)
KNOWN_WORD_COUNT = 1000  # a word this frequent in English is a word, not a typo
MIN_LENGTH = 4  # shorter words are too close to too many others
WORD = re.compile(r"(?<![\w'@#/.-])[A-Za-z]+(?![\w@/-]|'\w)")
_VALUES = (URL, EMAIL, PATH, CHANNEL, MENTION, REPO, PLACEHOLDER)


@cache
def _english() -> SpellChecker:
    """The English word list, loaded once (about a third of a second)."""
    return SpellChecker(language="en", distance=1)


def _is_english(word: str) -> bool:
    frequency = _english().word_frequency
    return word in frequency and frequency[word] >= KNOWN_WORD_COUNT


@cache
def correct_word(word: str) -> str:
    """The vocabulary word `word` is a typo of (in lower case), else `word` itself."""
    lowered = word.lower()
    if lowered in SHORTHAND:
        return SHORTHAND[lowered]
    if len(lowered) < MIN_LENGTH or lowered in VOCABULARY or _is_english(lowered):
        return word
    allowed = 1 if len(lowered) < 7 else 2
    match = extractOne(
        lowered, VOCABULARY, scorer=DamerauLevenshtein.distance, score_cutoff=allowed
    )
    return match[0] if match is not None else word


def _value_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for pattern in _VALUES for m in pattern.finditer(text)]


def correct(masked: str) -> str:
    """`masked` (a request with its quotes hidden) with typos and shorthand corrected
    outside values."""
    spans = _value_spans(masked)

    def fix(match: re.Match[str]) -> str:
        start, end = match.span()
        if any(s <= start < e or s < end <= e for s, e in spans):
            return match.group()
        return correct_word(match.group())

    return WORD.sub(fix, masked)
