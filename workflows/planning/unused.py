"""What a plan leaves out of the request: the words of a clause that none of its steps
(or its trigger) uses, so the preview can say "I did not use: “pin it”" and ask, instead
of dropping them silently.

A word of a clause is used when it is a function word or marker ("to", "the", "with",
"called"), the clause's own verb, a value (a #channel, @person, address, repository,
path, URL, a quote), part of a time phrase, a word of a value the step got ("Backlog",
"hi team"), or a word the catalog uses for that step's service and action (its title,
description, input names: "card", "list", "board"), or a word the
planner reads for every service ("message", "meeting", "email"). What is left, in runs,
is reported with the marker that introduced it ("with a red label").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from connectors.registry import Registry
from workflows.planning.courtesy import ASIDE
from workflows.planning.events import QUERY_TERM_WORDS
from workflows.planning.text import PLACEHOLDER, Request, blank_values
from workflows.planning.times import find_duration, find_moment, find_schedule

_FUNCTION_WORDS = """
    a an the this that these those it its them they their there here me my mine us our
    you your he she him her his i we to in into on onto at by for from of with without and
    or then also plus as is are was be been being am do does did done can could would will
    should shall may might must please just now so too very really all any each every some
    new one no not up out over about after before again when whenever if once while until
    what which who whom whose where how called named titled entitled saying says say said
    reads reading know let make sure same other another next more most only own via through
    per off containing contains give access permission permissions there's it's i'm i'd
    i'll what's that's let's"""
FUNCTION_WORDS = frozenset(_FUNCTION_WORDS.split())
GENERAL_NOUNS = frozenset(
    {
        "message",
        "messages",
        "dm",
        "direct",
        "private",
        "note",
        "notes",
        "reminder",
        "update",
        "meeting",
        "meetings",
        "call",
        "sync",
        "appointment",
        "event",
        "events",
        "invite",
        "invitation",
        "e-mail",
        "email",
        "mail",
        "subject",
        "body",
        "text",
        "title",
        "name",
        "description",
        "details",
        "link",
        "content",
        "contents",
        "file",
        "folder",
        "everyone",
        "everybody",
        "team",
        "channel",
        "someone",
        "somebody",
        "time",
        "day",
        "minutes",
        "hours",
        "o'clock",
        "am",
        "pm",
        "today",
        "tomorrow",
        "tonight",
        "morning",
        "afternoon",
        "evening",
        "night",
        "week",
        "month",
        "repo",
        "repository",
        "project",
        "list",
        "board",
        "service",
        "account",
        "google",
        "workflow",
        # calendar things (actions.CALENDAR_NOUNS)
        "workshop",
        "interview",
        "session",
        "review",
        "demo",
        "retro",
        "retrospective",
        "standup",
        "stand-up",
        "lunch",
        "catch-up",
        "catchup",
        "1:1",
        "one-on-one",
        "block",
        "focus",
        # how events happen ("when I get an email", "a file lands in …")
        "get",
        "receive",
        "arrive",
        "come",
        "open",
        "add",
        "create",
        "show",
        "land",
        "appear",
        "report",
        "post",
        "happen",
        "drop",
        "upload",
        "start",
        "submit",
        "mark",
        "pr",
        "bug",
        "ticket",
    }
)
WORD = re.compile(r"[\w'’-]+|\ue000\d+\ue001")
LEADING_MARKERS = re.compile(r"^(?:and|then|also|plus|&)\s+", re.IGNORECASE)
INTRODUCERS = frozenset({"with", "and", "as", "in", "on", "using", "by", "for", "at", "without"})
_ASIDE = re.compile(rf"^{ASIDE}$", re.IGNORECASE)


def _catalog_words(catalog: Registry, key: str) -> frozenset[str]:
    """The words the catalog uses for an action or event and its connector."""
    connector_name = key.split(".", 1)[0]
    connector = catalog.connectors.get(connector_name)
    found: set[str] = set()
    if connector is None:
        return frozenset()
    texts = [connector.name, connector.title, connector.description]
    action, event = catalog.action(key), catalog.event(key)
    if action is not None:
        texts += [action.name, action.description, *action.input_model.model_fields]
    if event is not None:
        texts += [event.name, event.description, *event.config_model.model_fields]
    # input names, not their descriptions: those hold examples ("is:important")
    for text in texts:
        found.update(_stems(text.replace("_", " ")))
    return frozenset(found)


def _stems(text: str) -> set[str]:
    return {form for word in re.findall(r"[\w'-]+", text.lower()) for form in _forms(word)}


def _forms(word: str) -> set[str]:
    """`word` and what it may be an inflection of ("opens", "created", "labeled")."""
    forms = {word}
    for ending in ("s", "es", "d", "ed", "led", "ing"):
        if word.endswith(ending) and len(word) > len(ending) + 2:
            forms.add(word[: -len(ending)])
    return forms


def _value_words(values: Iterable[Any]) -> set[str]:
    found: set[str] = set()
    for value in values:
        if isinstance(value, list | tuple):
            found |= _value_words(value)
        elif isinstance(value, dict):
            found |= _value_words(value.values())
        elif isinstance(value, str | int):
            found |= _stems(str(value))
            for term, words in QUERY_TERM_WORDS.items():
                if term in str(value):
                    found.update(words)
    return found


def _without_times(text: str, now: datetime) -> str:
    """`text` with its time phrases and lengths blanked (same length)."""
    for _ in range(4):
        blanked = blank_values(text)
        found = find_schedule(blanked) or find_moment(blanked, now) or find_duration(blanked)
        if found is None:
            break
        text = text[: found.start] + " " * (found.end - found.start) + text[found.end :]
    return text


def unused_parts(
    clause: str,
    verb: str | None,
    keys: Iterable[str],
    values: Iterable[Any],
    request: Request,
    catalog: Registry,
    now: datetime,
) -> list[str]:
    """The runs of words in `clause` (masked) that the steps or trigger named by `keys`,
    given `values`, do not use, as the person wrote them."""
    known = {form for word in FUNCTION_WORDS | GENERAL_NOUNS for form in _forms(word)}
    for key in keys:
        known |= _catalog_words(catalog, key)
    values = list(values)
    known |= _value_words(values)
    if verb:
        known |= set(verb.split())
    text = blank_values(_without_times(clause, now))
    tokens = [(m.group(), m.start(), m.end()) for m in WORD.finditer(text)]
    used_quotes = " ".join(str(v) for v in _flat(values))
    runs: list[list[tuple[str, int, int]]] = []
    current: list[tuple[str, int, int]] = []
    for token in tokens:
        word = token[0]
        if _is_used(word, known, request, used_quotes):
            if current and word.lower() not in FUNCTION_WORDS:
                runs.append(current)
                current = []
            elif current:
                current.append(token)
            continue
        current.append(token)
    if current:
        runs.append(current)
    return [_phrase(run, tokens, clause, request) for run in runs if _content(run, known)]


def _flat(values: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if isinstance(value, list | tuple):
            out += _flat(value)
        elif isinstance(value, dict):
            out += _flat(value.values())
        else:
            out.append(value)
    return out


def _is_used(word: str, known: set[str], request: Request, used_values: str) -> bool:
    placeholder = PLACEHOLDER.fullmatch(word)
    if placeholder:
        return request.quotes[int(placeholder.group(1))] in used_values
    lowered = word.lower().strip("'’-")
    if not lowered or lowered in ("s", "ll", "d") or lowered.isdigit() or _ASIDE.match(lowered):
        return True
    return not _forms(lowered).isdisjoint(known)


def _content(run: list[tuple[str, int, int]], known: set[str]) -> bool:
    return any(
        word.lower() not in FUNCTION_WORDS and word.lower() not in known for word, _, _ in run
    )


def _phrase(
    run: list[tuple[str, int, int]],
    tokens: list[tuple[str, int, int]],
    clause: str,
    request: Request,
) -> str:
    """The run as written, with the marker before it ("with a red label") and a
    pronoun after it ("pin it")."""
    while run and run[-1][0].lower() in FUNCTION_WORDS:
        run = run[:-1]
    first, last = tokens.index(run[0]), tokens.index(run[-1])
    while (
        first > 0
        and tokens[first - 1][0].lower() in FUNCTION_WORDS - {"and", "then"}
        and not clause[tokens[first - 1][2] : tokens[first][1]].strip()  # no value between
    ):
        first -= 1
        if tokens[first][0].lower() in INTRODUCERS:
            break
    if last + 1 < len(tokens) and tokens[last + 1][0].lower() in ("it", "them", "this"):
        last += 1
    words = clause[tokens[first][1] : tokens[last][2]]
    return LEADING_MARKERS.sub("", request.restore(words)).strip(" ,;:.")
