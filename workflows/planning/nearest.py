"""The actions nearest to a request ATOM cannot do, by the catalog's own words: what a
refusal offers instead of a wall of every action."""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from connectors.base import Action
from connectors.registry import Registry

WORD = re.compile(r"[a-z][a-z0-9]{2,}")
IGNORED = frozenset(
    [
        "the",
        "and",
        "for",
        "from",
        "with",
        "into",
        "onto",
        "that",
        "this",
        "then",
        "when",
        "what",
        "who",
        "can",
        "you",
        "please",
        "all",
        "any",
        "some",
        "new",
        "our",
        "your",
        "my",
        "its",
        "their",
    ]
)
CLOSE = 0.8  # how alike two words must be to count as the same (typos, plurals)


def words(text: str) -> set[str]:
    return {w for w in WORD.findall(text.lower()) if w not in IGNORED}


def _alike(word: str, others: set[str]) -> bool:
    return any(
        word == other or SequenceMatcher(None, word, other).ratio() >= CLOSE for other in others
    )


def _score(request_words: set[str], action: Action, title: str) -> int:
    described = words(f"{title} {action.name.replace('_', ' ')} {action.description}")
    return sum(1 for word in request_words if _alike(word, described))


def nearest_actions(catalog: Registry, text: str, limit: int = 3) -> list[str]:
    """Up to `limit` actions that share the most words with `text`, in words:
    "post a message to a channel (Slack)". Empty when none shares any."""
    request_words = words(text)
    scored = [
        (_score(request_words, action, connector.title), connector.title, action)
        for connector in catalog.connectors.values()
        for action in connector.actions.values()
    ]
    best = sorted((s for s in scored if s[0] > 0), key=lambda s: -s[0])[:limit]
    return [f"{_sentence(action.description)} ({title})" for _, title, action in best]


def _sentence(description: str) -> str:
    text = description.strip().rstrip(".")
    return text[:1].lower() + text[1:]
