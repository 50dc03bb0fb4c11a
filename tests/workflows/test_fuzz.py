"""Property-based tests: thousands of random and hostile documents through load +
validate. Only `Problem`s or `ValidationError`s ever come out, and no template ever
executes code."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from connectors.registry import Registry
from workflows.catalog import full_catalog
from workflows.model import Workflow
from workflows.templating import (
    LOOP_NAMES,
    ROOT_NAMES,
    TemplateError,
    check_template,
    render_string,
)
from workflows.validate import Problem, check_document, validate

from .notes import connector as notes_connector
from .test_templating import Canary

NOW = datetime(2026, 1, 1, tzinfo=UTC)
REGISTRY = Registry()
REGISTRY.add(notes_connector)
CATALOG = full_catalog(REGISTRY)
FUZZ = settings(
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

# --- strategies --------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)

TEMPLATE_TOKENS = [
    "{{", "}}", "{%", "%}", "{#", "#}", " ", ".", "|", "(", ")", "[", "]", ",", "'", '"',
    "~", "+", "*", "**", "%", "-", "9", "999999", "==", " in ", " and ", " not ",
    "trigger", "steps", "workflow", "item", "loop", "self", "config", "lipsum", "cycler",
    "range", "namespace", "os", "obj", "boom", "title", "labels", "card", "url", "x",
    "__class__", "__mro__", "__subclasses__", "__globals__", "__init__", "__builtins__",
    "_", "mro", "format", "attr", "join", "map", "upper", "list", "tojson", "replace",
    "for", "set", "import", "include", "endfor", "if", "else", "true", "none",
]  # fmt: skip

hostile_templates = st.lists(st.sampled_from(TEMPLATE_TOKENS), max_size=25).map("".join)
identifiers = st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True)
step_ids = identifiers | st.text(max_size=12)
actions = st.sampled_from(sorted(CATALOG.actions)) | st.text(max_size=20)
input_names = st.sampled_from(
    ["title", "body", "labels", "id", "label", "approvers", "message", "min_approvals"]
) | st.text(max_size=10)
input_values = (
    json_values
    | hostile_templates
    | st.sampled_from(
        ["{{ trigger.title }}", "{{ steps.a.id }}", "{{ item }}", "U012ABCDEF", ["U012ABCDEF"]]
    )
)

crons = st.sampled_from(["0 9 * * 1-5", "*/15 * * * *", "0 0 30 2 *", "61 * * * *"]) | st.text(
    alphabet="0123456789*/-, abcdefjmnorstuwy", max_size=20
)
rrule_parts = st.sampled_from(
    ["FREQ=DAILY", "FREQ=WEEKLY", "FREQ=MONTHLY", "FREQ=YEARLY", "FREQ=SECONDLY", "FREQ=NEVER",
     "BYDAY=MO,WE", "BYHOUR=9", "BYMINUTE=30", "BYMONTH=2", "BYMONTHDAY=30", "COUNT=3",
     "INTERVAL=2", "UNTIL=20200101T000000Z", "UNTIL=20300101T000000Z", "BYHOUR=25", "X=Y", ""]
)  # fmt: skip
rrules = st.lists(rrule_parts, min_size=1, max_size=5).map(";".join) | st.text(max_size=30)
ats = st.sampled_from(["2030-01-01T09:00", "2020-01-01T00:00", "2030-13-01"]) | st.text(max_size=20)
zones = (
    st.none()
    | st.sampled_from(["Europe/Berlin", "UTC", "Mars/Base", "../../etc"])
    | st.text(max_size=15)
)

triggers = st.one_of(
    st.just({"type": "manual"}),
    st.builds(lambda c, z: {"type": "schedule", "cron": c, "timezone": z}, crons, zones),
    st.builds(lambda r, z: {"type": "schedule", "rrule": r, "timezone": z}, rrules, zones),
    st.builds(lambda a, z: {"type": "schedule", "at": a, "timezone": z}, ats, zones),
    st.builds(
        lambda e, w: {"type": "event", "event": e, "with": w},
        st.sampled_from(sorted(CATALOG.events)) | st.text(max_size=20),
        st.dictionaries(input_names, input_values, max_size=3),
    ),
    json_values,
)

steps = st.fixed_dictionaries(
    {"id": step_ids, "action": actions},
    optional={
        "with": st.dictionaries(input_names, input_values, max_size=4),
        "if": hostile_templates | st.booleans(),
        "for_each": hostile_templates | st.lists(json_values, max_size=3),
    },
)

documents = st.fixed_dictionaries(
    {"name": st.text(max_size=30), "trigger": triggers, "steps": st.lists(steps, max_size=5)},
    optional={"description": st.text(max_size=30), "extra": json_values},
)


def _as_text(document: dict[str, Any], as_yaml: bool) -> str:
    if as_yaml:
        return yaml.safe_dump(document, allow_unicode=True)
    return json.dumps(document)


def _assert_problems(found: list[Problem]) -> None:
    for problem in found:
        assert isinstance(problem, Problem)
        assert isinstance(problem.path, str) and problem.path
        assert isinstance(problem.message, str) and problem.message


# --- properties -----------------------------------------------------------------------------------


@FUZZ
@given(st.text(max_size=400))
def test_any_text_gives_problems_not_exceptions(text: str) -> None:
    workflow, found = check_document(text, REGISTRY, now=NOW)
    assert workflow is not None or found
    _assert_problems(found)


@FUZZ
@given(json_values)
def test_any_json_data_is_a_workflow_or_a_validation_error(data: Any) -> None:
    for parse in (Workflow.model_validate, Workflow.from_wire):
        try:
            workflow = parse(data)
        except ValidationError:
            continue
        _assert_problems(validate(workflow, REGISTRY, now=NOW))


@settings(FUZZ, max_examples=1000)
@given(documents, st.booleans())
def test_random_documents_give_problems_not_exceptions(
    document: dict[str, Any], as_yaml: bool
) -> None:
    workflow, found = check_document(_as_text(document, as_yaml), REGISTRY, now=NOW)
    _assert_problems(found)
    if workflow is not None:
        assert Workflow.from_wire(workflow.to_wire()) == workflow
        assert Workflow.model_validate(workflow.to_document()) == workflow


@FUZZ
@given(hostile_templates)
def test_no_template_ever_executes_code(template: str) -> None:
    canary = Canary()
    labels = ["bug"]
    context = {
        "trigger": {"obj": canary, "title": "T", "labels": labels},
        "steps": {"card": {"url": "u", "obj": canary}},
        "workflow": {"name": "W"},
        "item": canary,
        "loop": {"index": 1},
    }
    analysis = check_template(template, ROOT_NAMES | LOOP_NAMES)
    try:
        result = render_string(template, context)
    except TemplateError:
        result = None
    assert canary.touched == []
    assert labels == ["bug"]
    assert result is None or isinstance(result, str | int | float | bool | list | dict)
    if not analysis.ok:  # what the validator refuses never renders
        assert result is None or template == result
