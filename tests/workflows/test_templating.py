"""Sandboxed templating: native types, text, conditions, loops, and refusal of anything
that is not reading data."""

from __future__ import annotations

from typing import Any

import pytest

from workflows.templating import (
    MAX_VALUE_SIZE,
    TemplateError,
    check_expression,
    check_template,
    evaluate,
    loop_context,
    render,
    render_string,
)


class Canary:
    """Context data that records any attempt to use it as an object."""

    touched: list[str]

    def __init__(self) -> None:
        object.__setattr__(self, "touched", [])

    def __getattr__(self, name: str) -> Any:
        self.touched.append(name)
        raise AttributeError(name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.touched.append("__call__")

    def boom(self) -> None:
        self.touched.append("boom")


def context(**trigger: Any) -> dict[str, Any]:
    return {
        "trigger": {
            "title": "Crash on start",
            "labels": ["bug", "ui"],
            "count": 3,
            "items": ["first", "second"],
            "user": {"name": "Ada", "keys": 2},
            **trigger,
        },
        "steps": {"card": {"url": "https://trello.example/c/1", "id": "c1"}},
        "workflow": {"name": "Triage", "run_id": "run_1"},
    }


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ trigger.labels }}", ["bug", "ui"]),
        ("{{ trigger.count + 1 }}", 4),
        ("{{ trigger.count > 2 }}", True),
        ("{{ trigger.user }}", {"name": "Ada", "keys": 2}),
        ("{{ trigger.missing | default(none) }}", None),
        ("{{ trigger.labels | map('upper') }}", ["BUG", "UI"]),
        ("{{ trigger.items }}", ["first", "second"]),  # a key named like a dict method
        ("{{ trigger.user.keys }}", 2),
        ("{{ trigger.user.get('name') }}", "Ada"),
        ("{{ trigger.title.lower().split(' ') }}", ["crash", "on", "start"]),
        ("{{ trigger.labels[0] }}", "bug"),
        ("{{ trigger.title[:5] }}", "Crash"),
        ("{{ {'a': trigger.count} }}", {"a": 3}),
    ],
)
def test_a_single_expression_keeps_its_native_type(template: str, expected: Any) -> None:
    assert render_string(template, context()) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("New: {{ trigger.title }}", "New: Crash on start"),
        ("{{ trigger.count }} bugs", "3 bugs"),
        (" {{ trigger.count }}", " 3"),
        ("{{ trigger.labels | join(', ') }} / {{ workflow.name }}", "bug, ui / Triage"),
        ("{{ steps.card.url ~ '?x=' ~ trigger.count }}", "https://trello.example/c/1?x=3"),
        ("line\n{{ trigger.count }}\n", "line\n3\n"),
        ("{# a note #}plain", "plain"),
        ("{{ trigger.labels | tojson }}", '["bug", "ui"]'),
    ],
)
def test_anything_else_renders_to_text(template: str, expected: str) -> None:
    assert render_string(template, context()) == expected


def test_plain_strings_are_left_alone() -> None:
    for text in ("no template", "{ single braces }", "50% off", "}} stray"):
        assert render_string(text, context()) == text


def test_render_walks_mappings_and_lists() -> None:
    value = {"a": ["{{ trigger.count }}", {"b": "x{{ trigger.count }}"}], "n": 5, "t": True}
    assert render(value, context()) == {"a": [3, {"b": "x3"}], "n": 5, "t": True}


def test_an_undefined_value_is_an_error_with_its_path() -> None:
    with pytest.raises(TemplateError) as error:
        render({"text": ["{{ trigger.nope }}"]}, context(), "steps[0].with")
    assert error.value.path == "steps[0].with.text[0]"
    assert "has no attribute 'nope'" in error.value.message


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("'bug' in trigger.labels", True),
        ("{{ 'feature' in trigger.labels }}", False),
        ("trigger.count >= 3 and steps.card.id == 'c1'", True),
        ("trigger.labels | select('equalto', 'ui') | list", ["ui"]),
        ("true", True),
    ],
)
def test_conditions_are_expressions(expression: str, expected: Any) -> None:
    assert evaluate(expression, context()) == expected
    assert check_expression(expression).ok


def test_an_expression_is_one_expression() -> None:
    for expression in ("trigger.count }} {{ trigger.count", "{{ a }} {{ b }}", "", "x y"):
        assert not check_expression(expression).ok
        with pytest.raises(TemplateError):
            evaluate(expression, context())


def test_loop_variables() -> None:
    loop = loop_context(1, 3)
    assert loop == {"index": 2, "index0": 1, "first": False, "last": False, "length": 3}
    rendered = render_string(
        "{{ loop.index }}/{{ loop.length }}: {{ item }}", {"item": "x", "loop": loop}
    )
    assert rendered == "2/3: x"


def test_references_are_reported_for_the_validator() -> None:
    analysis = check_template("{{ steps.card.url }} {{ steps['other'] }} {{ trigger.user.name }}")
    pairs = {(r.root, r.name, r.field) for r in analysis.references}
    assert {("steps", "card", "url"), ("steps", "other", None), ("trigger", "user", None)} <= pairs


HOSTILE = [
    "{{ trigger.__class__ }}",
    "{{ trigger.title.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''.__class__.__base__.__subclasses__() }}",
    "{{ trigger.obj.boom() }}",
    "{{ trigger.obj() }}",
    "{{ trigger.obj.__init__.__globals__ }}",
    "{{ trigger.title.format(trigger.obj) }}",
    "{{ trigger.title.mro }}",
    "{{ trigger['__class__'] }}",
    "{{ trigger | attr('__class__') }}",
    "{{ self }}",
    "{{ config }}",
    "{{ lipsum.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ namespace() }}",
    "{{ range(10) }}",
    "{{ trigger.labels.pop() }}",
    "{{ trigger.labels.append(trigger.obj) }}",
    "{{ trigger.user.update({'name': 'x'}) }}",
    "{{ trigger.items.__self__ }}",
    "{% set x = 1 %}{{ x }}",
    "{% for i in trigger.labels %}{{ i }}{% endfor %}",
    "{% include 'x' %}",
    "{% import 'os' as os %}",
    "{% macro m() %}{% endmacro %}",
    "{{ trigger.labels | map('attr', '__class__') | list }}",
    "{{ trigger.labels | selectattr('__class__') | list }}",
    "{{ '%s' % trigger.obj }}",
]


@pytest.mark.parametrize("template", HOSTILE)
def test_templates_never_reach_python(template: str) -> None:
    canary = Canary()
    assert not check_template(template).ok
    with pytest.raises(TemplateError):
        render_string(template, context(obj=canary))
    assert canary.touched == []
    assert context()["trigger"]["labels"] == ["bug", "ui"]


@pytest.mark.parametrize(
    "template",
    [
        "{{ 'a' * 100000000 }}",
        "{{ [trigger.title] * 10000000 }}",
        "{{ 10 ** 100000 }}",
        "{{ (9 ** 99) ** 999 }}",
        "{{ trigger.big ~ trigger.big ~ trigger.big ~ trigger.big ~ trigger.big }}",
        "{{ trigger.big + trigger.big + trigger.big + trigger.big + trigger.big }}",
        "{{ trigger.big }}{{ trigger.big }}{{ trigger.big }}{{ trigger.big }}{{ trigger.big }}",
        "{{ trigger.big | replace('a', 'aaaa') }}",
        "{{ [trigger.big, trigger.big, trigger.big, trigger.big, trigger.big] | join('') }}",
        "{{ [trigger.big, trigger.big, trigger.big, trigger.big, trigger.big] | tojson }}",
        "{{ [trigger.big, trigger.big, trigger.big, trigger.big, trigger.big] }}",
        "{{ trigger.labels | join(trigger.big) | length }}",
    ],
)
def test_values_cannot_grow_without_bound(template: str) -> None:
    big = "a" * (MAX_VALUE_SIZE // 3)
    with pytest.raises(TemplateError, match=r"larger|longer|too large|too long"):
        render_string(template, context(big=big, labels=[1] * 10))


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    template = "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}"
    assert not check_template(template).ok
    with pytest.raises(TemplateError):
        render_string(template, context())
