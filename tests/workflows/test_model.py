"""The workflow document: loading YAML/JSON, dumping, the wire form and the two schemas."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from workflows.model import (
    MAX_DOCUMENT_CHARS,
    EventTrigger,
    ScheduleTrigger,
    Workflow,
    document_json_schema,
    error_lines,
    load_workflow,
    strict_json_schema,
)

EXAMPLE = """
name: New GitHub issues to Trello and #dev
trigger:
  type: event
  event: github.issue_opened
  with: {repo: acme/api}
steps:
  - id: card
    action: trello.create_card
    with:
      list: Inbox
      name: "{{ trigger.issue.title }}"
      labels: [bug, {name: urgent, color: red}]
  - id: notify
    action: slack.post_message
    if: "'bug' in trigger.issue.labels"
    for_each: ["#dev", "#ops"]
    with:
      channel: "{{ item }}"
      text: "New issue: {{ trigger.issue.title }} -> {{ steps.card.url }}"
"""


def test_the_design_example_loads() -> None:
    workflow = load_workflow(EXAMPLE)

    assert isinstance(workflow.trigger, EventTrigger)
    assert workflow.trigger.with_ == {"repo": "acme/api"}
    notify = workflow.step("notify")
    assert notify is not None and notify.if_ == "'bug' in trigger.issue.labels"
    assert notify.for_each == ["#dev", "#ops"]
    assert workflow.step("nope") is None


def test_yaml_and_json_round_trip() -> None:
    workflow = load_workflow(EXAMPLE)

    assert load_workflow(workflow.to_yaml()) == workflow
    assert load_workflow(workflow.to_json()) == workflow
    document = workflow.to_document()
    assert "with" in document["steps"][0] and "with_" not in document["steps"][0]
    assert "if" in document["steps"][1] and "for_each" not in document["steps"][0]
    assert "description" not in document


def test_yaml_scalars_are_read_as_a_person_means_them() -> None:
    workflow = load_workflow(
        """
name: Scalars
trigger: {type: schedule, at: 2030-01-05T09:00:00, timezone: Europe/Oslo}
steps:
  - id: a
    action: x.y
    if: true
    with: {country: NO, answer: yes, on: off, due: 2030-01-05, flag: false, n: 3}
"""
    )
    assert isinstance(workflow.trigger, ScheduleTrigger)
    assert workflow.trigger.at == "2030-01-05T09:00:00"
    step = workflow.steps[0]
    assert step.if_ == "true"
    assert step.with_ == {
        "country": "NO",
        "answer": "yes",
        "on": "off",
        "due": "2030-01-05",
        "flag": False,
        "n": 3,
    }


def test_documents_that_are_too_large_are_refused() -> None:
    with pytest.raises(ValidationError) as error:
        load_workflow("name: x\n" + "#" * MAX_DOCUMENT_CHARS)
    assert "the limit is" in error_lines(error.value)[0][1]


def test_steps_and_inputs_are_immutable() -> None:
    workflow = load_workflow(EXAMPLE)
    with pytest.raises(ValidationError):
        workflow.steps[0].id = "other"  # type: ignore[misc]


# --- the wire form and the schemas ------------------------------------------------------------


def test_the_wire_form_round_trips() -> None:
    workflow = load_workflow(EXAMPLE)
    wire = workflow.to_wire()

    assert wire["steps"][0]["with"][2] == {
        "name": "labels",
        "value": [
            "bug",
            {"fields": [{"name": "name", "value": "urgent"}, {"name": "color", "value": "red"}]},
        ],
    }
    assert wire["trigger"]["with"] == [{"name": "repo", "value": "acme/api"}]
    assert wire["steps"][0]["if"] is None  # every key is present on the wire
    assert Workflow.from_wire(wire) == workflow
    assert Workflow.from_wire(json.loads(json.dumps(wire))) == workflow


def test_a_name_given_twice_on_the_wire_is_an_error() -> None:
    wire = load_workflow(EXAMPLE).to_wire()
    wire["steps"][0]["with"].append({"name": "list", "value": "Other"})

    with pytest.raises(ValidationError) as error:
        Workflow.from_wire(wire)
    assert error_lines(error.value) == [("steps[0].with[3].name", "input `list` is given twice")]


def test_documents_validate_against_the_document_schema() -> None:
    schema = document_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(load_workflow(EXAMPLE).to_document(), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"name": "x", "trigger": {"type": "manual"}}, schema)


def test_the_wire_form_validates_against_the_strict_schema() -> None:
    schema = strict_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(load_workflow(EXAMPLE).to_wire(), schema)
    wire = load_workflow(EXAMPLE).to_wire()
    wire["steps"][0]["with"] = {"list": "Inbox"}  # a free-form mapping is not allowed
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(wire, schema)


_STRICT_UNSUPPORTED = {
    "default",
    "oneOf",
    "allOf",
    "not",
    "const",
    "discriminator",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "uniqueItems",
    "patternProperties",
    "propertyNames",
    "minProperties",
    "maxProperties",
    "if",
    "then",
    "else",
}


def _assert_strict(node: Any, defs: dict[str, Any], where: str = "#") -> None:
    """OpenAI structured outputs, strict mode: every object lists all its properties
    as required and forbids others; every value has a type, an anyOf, an enum or a
    $ref; no keyword strict mode rejects."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            _assert_strict(item, defs, f"{where}/{i}")
        return
    if not isinstance(node, dict):
        return
    assert not (_STRICT_UNSUPPORTED & set(node)), (where, _STRICT_UNSUPPORTED & set(node))
    if "$ref" in node:
        assert node["$ref"].removeprefix("#/$defs/") in defs, where
    else:
        assert {"type", "anyOf", "enum"} & set(node), where
    if node.get("type") == "object":
        assert node.get("additionalProperties") is False, where
        assert set(node.get("required", [])) == set(node.get("properties", {})), where
        assert node.get("properties"), f"{where}: an object without properties"
    for key, value in node.items():
        if key in ("properties", "$defs"):
            for name, child in value.items():
                _assert_strict(child, defs, f"{where}/{key}/{name}")
        elif key in ("items", "anyOf"):
            _assert_strict(value, defs, f"{where}/{key}")


def test_the_strict_schema_follows_openai_strict_mode_rules() -> None:
    schema = strict_json_schema()
    assert schema["type"] == "object" and "anyOf" not in schema
    _assert_strict(schema, schema["$defs"])
    step = schema["$defs"]["Step"]["properties"]
    assert step["with"]["type"] == "array"
    assert step["id"]["pattern"] == "^[A-Za-z_][A-Za-z0-9_]{0,63}$"
    assert {"type": "null"} in step["if"]["anyOf"]


def test_errors_read_as_paths_and_plain_messages() -> None:
    with pytest.raises(ValidationError) as error:
        load_workflow(
            "name: x\ntrigger: {type: schedule, cron: '* * * * *', timezone: 3}\n"
            "steps: [{id: a, action: b, wiht: {}}, 5]\n"
        )
    assert error_lines(error.value) == [
        ("trigger.timezone", "Input should be a valid string"),
        ("steps[0].wiht", "unknown field `wiht`; did you mean `with`?"),
        ("steps[1]", "expected a mapping here"),
    ]
