"""Which GitHub issue a request is about: answers that name the number and the repository,
and comment text quoted anywhere in the request."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from connectors.registry import load_registry
from workflows.planner import Plan, Planner, Question
from workflows.planning.results import PlanContext

CONTEXT = PlanContext(
    user="U0ALICE",
    timezone="Europe/Berlin",
    now=datetime(2026, 11, 25, 14, 30, tzinfo=ZoneInfo("Europe/Berlin")),
)


@pytest.fixture(scope="module")
def planner() -> Planner:
    return Planner(load_registry())


@pytest.mark.parametrize(
    ("reply", "repo", "number"),
    [
        ("#42 in acme/api", "acme/api", 42),
        ("acme/api#42", "acme/api", 42),
        ("issue 42 of acme/api", "acme/api", 42),
        ("acme/api2#7", "acme/api2", 7),
    ],
)
async def test_the_answer_to_which_issue_gives_number_and_repository(
    planner: Planner, reply: str, repo: str, number: int
) -> None:
    question = await planner.plan("Comment 'Thanks!' on the issue", CONTEXT)
    assert isinstance(question, Question) and question.text.startswith("Which GitHub issue?")
    result = await planner.answer(question, reply, CONTEXT)
    assert isinstance(result, Plan), result
    [step] = result.workflow.steps
    assert (step.action, step.with_) == (
        "github.comment_on_issue",
        {"repo": repo, "issue_number": number, "body": "Thanks!"},
    )


@pytest.mark.parametrize(
    "request_text",
    [
        "comment on issue 5 in acme/api 'thanks'",
        "comment on issue 5 'thanks' in acme/api",
        "comment 'thanks' on issue 5 in acme/api",
    ],
)
async def test_a_quoted_comment_is_read_wherever_it_is(planner: Planner, request_text: str) -> None:
    result = await planner.plan(request_text, CONTEXT)
    assert isinstance(result, Plan), result
    [step] = result.workflow.steps
    assert (step.action, step.with_) == (
        "github.comment_on_issue",
        {"repo": "acme/api", "issue_number": 5, "body": "thanks"},
    )
