"""Reading a request by its parts: typos and shorthand, courtesy words, unquoted names
and texts, "me" as the requester's address, and the parts a plan does not use, named
instead of dropped."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from connectors.registry import load_registry
from workflows.planner import Plan, Planner, Question
from workflows.planning.courtesy import strip_courtesy
from workflows.planning.names import protect_names
from workflows.planning.results import PlanContext
from workflows.planning.spelling import correct
from workflows.planning.text import Request
from workflows.planning.words import unused_line

NOW = datetime(2026, 11, 25, 14, 30, tzinfo=ZoneInfo("Europe/Berlin"))
CONTEXT = PlanContext(user="U0ALICE", timezone="Europe/Berlin", now=NOW)


@pytest.fixture(scope="module")
def planner() -> Planner:
    return Planner(load_registry())


async def _plan(planner: Planner, text: str, context: PlanContext = CONTEXT) -> Plan:
    result = await planner.plan(text, context)
    assert isinstance(result, Plan), getattr(result, "text", result)
    return result


def _steps(plan: Plan) -> list[tuple[str, dict[str, object]]]:
    return [(s["action"], s.get("with", {})) for s in plan.workflow.to_document()["steps"]]


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("creat an isue in acme/api", "create an issue in acme/api"),
        ("sned it to #chanel-x", "send it to #chanel-x"),  # values are never touched
        ("evry day pls", "every day please"),
        ("the cart is empty, last one", "the cart is empty, last one"),  # real words stay
        ("the coffe machine", "the coffe machine"),  # outside the planner's words
    ],
)
def test_typos_are_corrected_toward_the_planners_own_words(typed: str, read: str) -> None:
    assert correct(typed) == read


@pytest.mark.parametrize(
    ("said", "meant"),
    [
        ("hey can you post x on #ci", "post x on #ci"),
        (
            "Could you please, if it's not too much trouble, post x in #ci? thank you so much",
            "post x in #ci",
        ),
        ("quick one: tell #frontend x", "tell #frontend x"),
        ("I need a card in Inbox", "create a card in Inbox"),
    ],
)
def test_courtesy_words_are_taken_out(said: str, meant: str) -> None:
    assert strip_courtesy(said) == meant


def test_names_and_colon_texts_are_protected_like_quotes() -> None:
    request, kept = protect_names(
        Request.read("create a task called weekly report every monday in Ops"), NOW
    )
    assert request.quotes == ("weekly report",)
    assert "every monday in Ops" in request.masked and kept == []
    request, kept = protect_names(Request.read("post to #general: closed on friday"), NOW)
    assert request.quotes == ("Closed on friday",)
    assert kept == ["on friday"]


@pytest.mark.parametrize(
    ("text", "action", "inputs"),
    [
        ("tell #random lunch is here", "slack.post_message", {"text": "Lunch is here"}),
        ("dm @U0BOB the release notes are up", "slack.send_dm", {"user": "U0BOB"}),
        (
            "remind #ops to rotate the keys",
            "slack.post_message",
            {"text": "Reminder: rotate the keys"},
        ),
        (
            "Create Asana task: Renew SSL (project IT)",
            "asana.create_task",
            {"name": "Renew SSL", "project": "IT"},
        ),
        ("creat a trelo card 'x' in the Office list", "trello.create_card", {"list": "Office"}),
    ],
)
async def test_requests_are_read_by_their_parts(
    planner: Planner, text: str, action: str, inputs: dict[str, str]
) -> None:
    [(found, values)] = _steps(await _plan(planner, text))
    assert found == action
    assert inputs.items() <= values.items()


async def test_email_me_goes_to_the_slack_profile_address_and_says_so(planner: Planner) -> None:
    with_address = PlanContext(user="U0ALICE", now=NOW, email="alice@example.com")
    plan = await _plan(planner, "email me 'log your hours' every day at 6pm", with_address)
    [(_, values)] = _steps(plan)
    assert values["to"] == ["alice@example.com"]
    assert any("alice@example.com" in a for a in plan.assumptions)
    question = await planner.plan("email me 'log your hours'", CONTEXT)
    assert isinstance(question, Question) and "address" in question.text


async def test_a_trello_list_alone_is_enough_to_watch(planner: Planner) -> None:
    plan = await _plan(planner, "when a card is created in the Bugs list, dm me")
    assert plan.workflow.to_document()["trigger"]["with"] == {"list": "Bugs"}


@pytest.mark.parametrize(
    ("text", "unused"),
    [
        ("post 'hello' to #general and pin it", "pin it"),
        ("create a trello card 'x' in Backlog with a green label", "with a green label"),
        ("post 'office closed' in #general and make it sticky", "make it sticky"),
    ],
)
async def test_what_a_plan_does_not_use_is_named(planner: Planner, text: str, unused: str) -> None:
    plan = await _plan(planner, text)
    assert unused in plan.unused
    assert f"“{unused}”" in unused_line(plan.unused)


@pytest.mark.parametrize(
    "text",
    [
        "When I get an important email, post it to #inbox",
        "every weekday at 9:15 post 'standup!' to #eng",
        "when a flagged email with a pdf attached comes in from x@example.com, dm me",
        "schedule a meeting with dave@example.com tomorrow at 2pm",
    ],
)
async def test_a_plan_that_uses_every_part_names_nothing(planner: Planner, text: str) -> None:
    assert (await _plan(planner, text)).unused == ()


async def test_gmail_qualifiers_map_to_the_query(planner: Planner) -> None:
    plan = await _plan(
        planner, "when a flagged unread email with a pdf attached arrives from x@example.com, dm me"
    )
    query = plan.workflow.to_document()["trigger"]["with"]["query"]
    for term in ("from:x@example.com", "is:starred", "is:unread", "has:attachment", "filename:pdf"):
        assert term in query
