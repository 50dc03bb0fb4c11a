"""The sandbox OpenAI emulator speaks OpenAI's wire format: its completions and error
bodies match OpenAI's published description (shared/specs/openai.json), and it rejects
what the real API rejects before a model runs (bad key, malformed body, a strict schema
outside the supported subset)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox.openai import OpenAIEmulator, Reply, strict_schema_problem
from tests.specs import validate_response, validate_schema
from workflows.model import strict_json_schema
from workflows.planning.llm import response_schema

PATH = "/v1/chat/completions"
MESSAGES = [{"role": "user", "content": "post hi to #dev"}]


@pytest.fixture
def emulator() -> Iterator[OpenAIEmulator]:
    with OpenAIEmulator() as running:
        yield running


def post(emulator: OpenAIEmulator, body: dict[str, Any], key: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key or emulator.api_key}"} if key != "" else {}
    return httpx.post(f"{emulator.url}{PATH}", json=body, headers=headers, timeout=5)


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {"name": "plan", "schema": schema, "strict": True},
    }


@pytest.mark.parametrize(
    "reply",
    [
        Reply.json({"question": "Which channel?", "workflow": None}),
        Reply.refused("No."),
        Reply.text("cut off", finish_reason="length"),
    ],
)
def test_completions_match_openais_description(emulator: OpenAIEmulator, reply: Reply) -> None:
    emulator.script(reply)
    response = post(
        emulator,
        {"model": "gpt-test", "messages": MESSAGES, "response_format": strict(response_schema())},
    )
    assert response.status_code == 200
    body = response.json()
    validate_response("openai", PATH, "POST", 200, body)
    assert body["object"] == "chat.completion" and body["model"] == "gpt-test"
    message = body["choices"][0]["message"]
    assert (message["content"], message["refusal"]) == (reply.content, reply.refusal)
    assert body["choices"][0]["finish_reason"] == reply.finish_reason


def test_replies_come_in_order_then_the_responder(emulator: OpenAIEmulator) -> None:
    emulator.script(Reply.text("one"), Reply.text("two"))
    emulator.responder = lambda body: Reply.text(f"echo {body['messages'][-1]['content']}")
    contents = [
        post(emulator, {"model": "m", "messages": MESSAGES}).json()["choices"][0]["message"][
            "content"
        ]
        for _ in range(3)
    ]
    assert contents == ["one", "two", "echo post hi to #dev"]
    assert [r["messages"] for r in emulator.chat_requests()] == [MESSAGES] * 3


def test_without_a_scripted_reply_it_says_so(emulator: OpenAIEmulator) -> None:
    response = post(emulator, {"model": "m", "messages": MESSAGES})
    assert response.status_code == 500
    validate_schema("openai", "ErrorResponse", response.json())


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "You didn't provide an API key"),
        ("sk-nope-1234", "Incorrect API key provided: sk-**********1234"),
    ],
)
def test_a_missing_or_wrong_key_is_401(emulator: OpenAIEmulator, key: str, message: str) -> None:
    response = post(emulator, {"model": "m", "messages": MESSAGES}, key=key)
    assert response.status_code == 401
    body = response.json()
    validate_schema("openai", "ErrorResponse", body)
    assert body["error"]["message"].startswith(message)
    assert body["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("body", "param", "message"),
    [
        ({"messages": MESSAGES}, None, "you must provide a model parameter"),
        ({"model": "m"}, "messages", "Missing required parameter: 'messages'."),
        ({"model": "m", "messages": []}, "messages", "empty array"),
        (
            {"model": "m", "messages": [{"role": "robot", "content": "x"}]},
            "messages[0].role",
            "expected one of",
        ),
        (
            {"model": "m", "messages": MESSAGES, "response_format": {"type": "yaml"}},
            "response_format.type",
            "expected one of",
        ),
    ],
)
def test_malformed_requests_are_400(
    emulator: OpenAIEmulator, body: dict[str, Any], param: str | None, message: str
) -> None:
    response = post(emulator, body)
    assert response.status_code == 400
    error = response.json()["error"]
    validate_schema("openai", "ErrorResponse", response.json())
    assert error["param"] == param and message in error["message"]


def test_a_free_form_object_in_a_strict_schema_is_rejected(emulator: OpenAIEmulator) -> None:
    schema = {
        "type": "object",
        "properties": {"with": {"type": "object", "additionalProperties": True}},
        "required": ["with"],
        "additionalProperties": False,
    }
    response = post(
        emulator, {"model": "m", "messages": MESSAGES, "response_format": strict(schema)}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "response_format" and error["code"] == "invalid_json_schema"
    assert error["message"] == (
        "Invalid schema for response_format 'plan': In context=('properties', 'with'), "
        "'additionalProperties' is required to be supplied and to be false."
    )


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        ({"type": "array"}, "must be a JSON Schema of 'type: \"object\"'"),
        (
            {
                "type": "object",
                "properties": {"a": {"type": "string"}},
                "additionalProperties": False,
            },
            "Missing 'a'",
        ),
        (
            {
                "type": "object",
                "properties": {"a": {"type": "string", "minLength": 1}},
                "required": ["a"],
                "additionalProperties": False,
            },
            "'minLength' is not permitted",
        ),
        (
            {
                "type": "object",
                "properties": {"a": {"$ref": "#/$defs/Nope"}},
                "required": ["a"],
                "additionalProperties": False,
            },
            "can't be resolved",
        ),
    ],
)
def test_strict_schema_rules(schema: dict[str, Any], problem: str) -> None:
    found = strict_schema_problem(schema)
    assert found is not None and problem in found


def test_atoms_schemas_are_accepted_in_strict_mode() -> None:
    assert strict_schema_problem(strict_json_schema()) is None
    assert strict_schema_problem(response_schema()) is None


def test_it_points_atom_at_itself(emulator: OpenAIEmulator) -> None:
    assert emulator.settings_overrides() == {
        "openai_base_url": f"{emulator.url}/v1",
        "openai_api_key": emulator.api_key,
    }
