"""The offline planner never raises, and whatever it returns as a plan is valid — for any
text (hypothesis), for requests assembled from the words it knows, and for follow-ups
and answers to its questions."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.registry import load_registry
from workflows.catalog import full_catalog
from workflows.planning.offline import OfflinePlanner
from workflows.planning.results import Plan, PlanContext, Question
from workflows.validate import validate

CONTEXT = PlanContext(
    user="U0ALICE",
    timezone="Europe/Berlin",
    now=datetime(2026, 11, 25, 14, 30, tzinfo=ZoneInfo("Europe/Berlin")),
)
WORDS = [
    "when",
    "whenever",
    "every",
    "each",
    "on",
    "at",
    "in",
    "to",
    "the",
    "a",
    "an",
    "and",
    "then",
    "also,",
    ".",
    ":",
    "'",
    '"',
    "#",
    "@",
    "/",
    "-",
    "issue",
    "pull",
    "request",
    "opened",
    "created",
    "added",
    "card",
    "list",
    "board",
    "task",
    "project",
    "email",
    "important",
    "from",
    "file",
    "folder",
    "Dropbox",
    "Drive",
    "calendar",
    "meeting",
    "event",
    "webhook",
    "message",
    "posted",
    "channel",
    "create",
    "post",
    "send",
    "tell",
    "notify",
    "DM",
    "email",
    "schedule",
    "book",
    "label",
    "comment",
    "upload",
    "share",
    "move",
    "close",
    "complete",
    "remind",
    "list",
    "react",
    "approval",
    "approve",
    "ask",
    "titled",
    "called",
    "saying",
    "with",
    "due",
    "weekday",
    "Monday",
    "Tuesday",
    "and",
    "Thursday",
    "9am",
    "10:30",
    "noon",
    "tomorrow",
    "today",
    "next",
    "month",
    "1st",
    "30-minute",
    "hour",
    "#dev",
    "#ops",
    "@U0BOB",
    "alice@example.com",
    "acme/api",
    "/Invoices",
    "https://example.com/hook",
    "Inbox",
    "Operations",
    "'Hello",
    "there'",
    "not",
    "Trello,",
    "Asana",
    "instead",
    "make",
    "it",
    "10am",
    "don't",
]


@pytest.fixture(scope="module")
def planner() -> OfflinePlanner:
    return OfflinePlanner(load_registry())


def _check(planner: OfflinePlanner, result: Plan | Question) -> None:
    if isinstance(result, Plan):
        catalog = full_catalog(planner.catalog)
        assert validate(result.workflow, catalog, now=CONTEXT.current_time()) == []
        assert result.summary
    else:
        assert result.text.strip()


fuzz = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fuzz
@given(st.text(max_size=300))
def test_any_text_gives_a_plan_or_a_question(planner: OfflinePlanner, text: str) -> None:
    _check(planner, planner.plan(text, CONTEXT))


@fuzz
@given(st.lists(st.sampled_from(WORDS), max_size=40).map(" ".join))
def test_requests_made_of_known_words(planner: OfflinePlanner, text: str) -> None:
    _check(planner, planner.plan(text, CONTEXT))


@fuzz
@given(
    st.lists(st.sampled_from(WORDS), max_size=25).map(" ".join),
    st.lists(st.sampled_from(WORDS), max_size=12).map(" ".join),
)
def test_follow_ups_never_raise(planner: OfflinePlanner, request_text: str, reply: str) -> None:
    first = planner.plan(request_text, CONTEXT)
    if isinstance(first, Question):
        _check(planner, planner.answer(first, reply, CONTEXT))
    else:
        _check(planner, planner.revise(first.workflow, reply, CONTEXT))


@pytest.mark.parametrize(
    "text",
    [
        "\ue000 0 \ue001 post to #dev",
        "<@U0BOB|bob> <#C0123|> <mailto:x@y.z|x@y.z> <https://x.y|z>",
        "every 0 minutes post 'x' to #a",
        "every 99 hours post 'x' to #a",
        "on the 31st of every month post 'x' to #a",
        "on February 30 at 9 post 'x' to #a",
        "at 25:99 post 'x' to #a",
        "when when when",
        "'unclosed quote post to #dev",
        "x" * 10_000,
    ],
)
def test_edge_cases(planner: OfflinePlanner, text: str) -> None:
    _check(planner, planner.plan(text, CONTEXT))
