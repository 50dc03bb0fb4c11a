"""The LLM planner against the sandbox OpenAI emulator (real HTTP through the official
SDK): what it sends, the validator-driven repair loop, refusals and garbage, questions
and follow-ups, and API failures turned into messages a person can act on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openai import AsyncOpenAI
from pydantic import SecretStr

from connectors.registry import load_registry
from core.settings import Settings
from sandbox.openai import OpenAIEmulator, Reply
from tests.specs import assert_request_matches
from workflows.model import Workflow
from workflows.planner import Plan, PlannerError, Question, build_planner
from workflows.planning.llm import MAX_REPAIRS, LLMPlanner, response_schema
from workflows.planning.results import PlanContext

CONTEXT = PlanContext(
    user="U0ALICE",
    timezone="Europe/Berlin",
    now=datetime(2026, 11, 25, 14, 30, tzinfo=ZoneInfo("Europe/Berlin")),
)
REQUEST = "When a new GitHub issue is opened in acme/api, post it to #dev"


def workflow(**step_inputs: Any) -> Workflow:
    return Workflow.model_validate(
        {
            "name": "New issues in acme/api to #dev",
            "trigger": {
                "type": "event",
                "event": "github.issue_opened",
                "with": {"repo": "acme/api"},
            },
            "steps": [
                {
                    "id": "notify",
                    "action": "slack.post_message",
                    "with": step_inputs or {"channel": "#dev", "text": "{{ trigger.issue.title }}"},
                }
            ],
        }
    )


GOOD = workflow()
MISSPELT = workflow(chanel="#dev", text="{{ trigger.issue.title }}")


def answer(plan: Workflow | None = None, question: str | None = None) -> Reply:
    return Reply.json({"question": question, "workflow": plan.to_wire() if plan else None})


@pytest.fixture
def openai_emulator() -> Iterator[OpenAIEmulator]:
    with OpenAIEmulator() as emulator:
        yield emulator


def settings_for(emulator: OpenAIEmulator, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "openai_api_key": SecretStr(emulator.api_key),
        "openai_base_url": f"{emulator.url}/v1",
        "llm_model": "gpt-test",
        "llm_timeout_seconds": 2.0,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
def planner(openai_emulator: OpenAIEmulator) -> LLMPlanner:
    client = AsyncOpenAI(
        api_key=openai_emulator.api_key,
        base_url=f"{openai_emulator.url}/v1",
        max_retries=0,
        timeout=2.0,
    )
    return LLMPlanner(load_registry(), settings_for(openai_emulator), client)


# --- the request ----------------------------------------------------------------------------------


async def test_the_request_carries_the_schema_and_the_catalog(
    planner: LLMPlanner, openai_emulator: OpenAIEmulator
) -> None:
    openai_emulator.script(answer(GOOD))
    await planner.plan(REQUEST, CONTEXT)
    [recorded] = openai_emulator.received("/v1/chat/completions", "POST")
    assert_request_matches("openai", recorded)
    assert recorded.headers["authorization"] == f"Bearer {openai_emulator.api_key}"
    body = recorded.json()
    assert body["model"] == "gpt-test"
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "workflow_plan", "schema": response_schema(), "strict": True},
    }
    system, user = body["messages"]
    assert system["role"] == "system" and user == {"role": "user", "content": REQUEST}
    for entry in (
        "slack.post_message",
        "trello.create_card",
        "event github.issue_opened",
        "approval.request",
        "repo*: string",
        "issue.{",
    ):
        assert entry in system["content"]
    assert "Europe/Berlin" in system["content"] and "2026-11-25T14:30+01:00" in system["content"]
    assert "U0ALICE" in system["content"]


async def test_a_valid_answer_is_a_plan(
    planner: LLMPlanner, openai_emulator: OpenAIEmulator
) -> None:
    openai_emulator.script(answer(GOOD))
    result = await planner.plan(REQUEST, CONTEXT)
    assert isinstance(result, Plan)
    assert result.workflow == GOOD
    assert result.planner == "llm"
    assert "When a new issue is opened in acme/api" in result.summary


# --- the repair loop ------------------------------------------------------------------------------


async def test_an_invalid_answer_gets_a_repair_turn_with_the_validator_messages(
    planner: LLMPlanner, openai_emulator: OpenAIEmulator
) -> None:
    openai_emulator.script(answer(MISSPELT), answer(GOOD))
    result = await planner.plan(REQUEST, CONTEXT)
    assert isinstance(result, Plan) and result.workflow == GOOD
    first, second = openai_emulator.chat_requests()
    repair = second["messages"]
    assert repair[: len(first["messages"])] == first["messages"]
    assert repair[-2] == {"role": "assistant", "content": json.dumps(answer_data(MISSPELT))}
    assert repair[-1]["role"] == "user"
    assert (
        "steps[0].with.chanel: unknown input `chanel`; did you mean `channel`?"
        in repair[-1]["content"]
    )
    assert "missing required input `channel`" in repair[-1]["content"]


def answer_data(plan: Workflow) -> dict[str, Any]:
    return {"question": None, "workflow": plan.to_wire()}


async def test_a_wire_form_the_model_cannot_load_is_repaired_too(
    planner: LLMPlanner, openai_emulator: OpenAIEmulator
) -> None:
    broken = GOOD.to_wire()
    broken["trigger"] = {
        "type": "schedule",
        "cron": "0 9 * * 1",
        "rrule": None,
        "at": "2027-01-01T09:00",
        "timezone": None,
    }
    openai_emulator.script(Reply.json({"question": None, "workflow": broken}), answer(GOOD))
    result = await planner.plan(REQUEST, CONTEXT)
    assert isinstance(result, Plan)
    repair = openai_emulator.chat_requests()[1]["messages"][-1]["content"]
    assert "exactly one of `cron`, `rrule` or `at`" in repair


async def test_still_invalid_after_the_repairs_is_a_question_never_a_plan(
    planner: LLMPlanner, openai_emulator: OpenAIEmulator
) -> None:
    openai_emulator.script(*[answer(MISSPELT)] * (MAX_REPAIRS + 1))
    result = await planner.plan(REQUEST, CONTEXT)
    assert isinstance(result, Question)
    assert "unknown input `chanel`" in result.text
    assert result.partial == MISSPELT
    assert len(openai_emulator.chat_requests()) == MAX_REPAIRS + 1


# --- refusals, garbage, questions -----------------------------------------------------------------


async def test_a_refusal_ends_as_a_question(
    planner: LLMPlanner, openai_emulator: OpenAIEmulator
) -> None:
    openai_emulator.script(Reply.refused("I can't help with that."))
    result = await planner.plan("Delete every repository", CONTEXT)
    assert isinstance(result, Question)
    assert "declined" in result.text and "I can't help with that." in result.text
    assert len(openai_emulator.chat_requests()) == 1


@pytest.mark.parametrize(
    "reply",
    [
        Reply.text("Sure! Here is your workflow: post to #dev"),
        Reply.text('{"question": null, "workflow": {"name": "x", "tri', finish_reason="length"),
        Reply.json(["not", "an", "answer"]),
        Reply.json({"question": None, "workflow": None}),
        Reply.text(""),
    ],
)
async def test_garbage_ends_as_a_question(
    planner: LLMPlanner, openai_emulator: OpenAIEmulator, reply: Reply
) -> None:
    openai_emulator.script(reply)
    result = await planner.plan(REQUEST, CONTEXT)
    assert isinstance(result, Question)
    assert result.text.endswith("?")


async def test_the_models_question_is_asked_and_the_answer_continues_the_conversation(
    planner: LLMPlanner, openai_emulator: OpenAIEmulator
) -> None:
    openai_emulator.script(answer(question="Which repository should I watch?"))
    question = await planner.plan("When an issue is opened, post it to #dev", CONTEXT)
    assert isinstance(question, Question) and question.text == "Which repository should I watch?"
    openai_emulator.script(answer(GOOD))
    result = await planner.answer(question, "acme/api", CONTEXT)
    assert isinstance(result, Plan) and result.workflow == GOOD
    messages = openai_emulator.chat_requests()[1]["messages"][1:]
    assert messages == [
        {"role": "user", "content": "When an issue is opened, post it to #dev"},
        {
            "role": "assistant",
            "content": json.dumps(
                {"question": "Which repository should I watch?", "workflow": None}
            ),
        },
        {"role": "user", "content": "acme/api"},
    ]


async def test_revise_sends_the_pending_workflow_and_the_change(
    planner: LLMPlanner, openai_emulator: OpenAIEmulator
) -> None:
    changed = workflow(channel="#ops", text="{{ trigger.issue.title }}")
    openai_emulator.script(answer(changed))
    result = await planner.revise(GOOD, "post to #ops instead", CONTEXT)
    assert isinstance(result, Plan) and result.workflow == changed
    content = openai_emulator.chat_requests()[0]["messages"][-1]["content"]
    assert GOOD.to_json() in content and content.endswith("post to #ops instead")


# --- failures -------------------------------------------------------------------------------------


async def test_a_wrong_key_is_a_clear_failure(openai_emulator: OpenAIEmulator) -> None:
    client = AsyncOpenAI(api_key="sk-wrong", base_url=f"{openai_emulator.url}/v1", max_retries=0)
    planner = LLMPlanner(load_registry(), settings_for(openai_emulator), client)
    with pytest.raises(PlannerError, match=r"rejected the API key\. Check OPENAI_API_KEY"):
        await planner.plan(REQUEST, CONTEXT)


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (429, "is rate-limiting requests. Try again in a minute"),
        (500, "had an error. Try again in a moment"),
        (503, "had an error. Try again in a moment"),
    ],
)
async def test_api_errors_become_messages(
    planner: LLMPlanner, openai_emulator: OpenAIEmulator, status: int, message: str
) -> None:
    openai_emulator.fail("/v1/chat/completions", status=status, retry_after=1)
    with pytest.raises(PlannerError, match=message):
        await planner.plan(REQUEST, CONTEXT)


async def test_a_timeout_is_a_clear_failure(openai_emulator: OpenAIEmulator) -> None:
    settings = settings_for(openai_emulator, llm_timeout_seconds=0.3)
    openai_emulator.fail("/v1/chat/completions", kind="delay", delay=1.5, times=5)
    planner = build_planner(settings, load_registry())
    with pytest.raises(PlannerError, match=r"did not answer within 0\.3 seconds"):
        await planner.plan(REQUEST, CONTEXT)


async def test_an_unreachable_server_is_a_clear_failure(openai_emulator: OpenAIEmulator) -> None:
    url = openai_emulator.url
    openai_emulator.stop()
    client = AsyncOpenAI(api_key="sk-x", base_url=f"{url}/v1", max_retries=0, timeout=1.0)
    planner = LLMPlanner(load_registry(), Settings(llm_model="gpt-test"), client)
    with pytest.raises(PlannerError, match="couldn't reach the planner model"):
        await planner.plan(REQUEST, CONTEXT)


async def test_a_rejected_request_says_why(
    planner: LLMPlanner, openai_emulator: OpenAIEmulator
) -> None:
    openai_emulator.fail("/v1/chat/completions", status=400)
    with pytest.raises(PlannerError, match="rejected the request"):
        await planner.plan(REQUEST, CONTEXT)


# --- choosing the planner -------------------------------------------------------------------------


async def test_with_a_key_the_llm_plans_through_the_settings(
    openai_emulator: OpenAIEmulator,
) -> None:
    planner = build_planner(settings_for(openai_emulator), load_registry())
    assert planner.name == "llm"
    openai_emulator.script(answer(GOOD))
    result = await planner.plan(REQUEST, CONTEXT)
    assert isinstance(result, Plan) and result.planner == "llm"
    assert openai_emulator.chat_requests()[0]["model"] == "gpt-test"


def test_without_a_key_the_offline_planner_plans() -> None:
    planner = build_planner(Settings(openai_api_key=None), load_registry())
    assert planner.name == "offline" and planner.llm is None
