"""Every validation rule: what it reports, where, and that the message says what to do."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.registry import Registry
from workflows.validate import Problem, check_document

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

MANUAL = "name: W\ntrigger: {type: manual}\n"


def problems(text: str, registry: Registry) -> list[Problem]:
    workflow, found = check_document(text, registry, now=NOW)
    assert workflow is not None or found, "a document that fails to load must say why"
    return found


def one(text: str, registry: Registry) -> Problem:
    found = problems(text, registry)
    assert len(found) == 1, found
    return found[0]


def steps(*lines: str) -> str:
    return MANUAL + "steps:\n" + "".join(f"  - {line}\n" for line in lines)


def test_a_correct_workflow_has_no_problems(registry: Registry) -> None:
    text = """
name: Notes from events
trigger: {type: event, event: notes.note_created, with: {folder: inbox}}
steps:
  - id: copy
    action: notes.create_note
    if: "'urgent' in trigger.note.labels"
    with: {title: "Copy of {{ trigger.note.title }}", labels: "{{ trigger.note.labels }}"}
  - id: ask
    action: approval.request
    with: {approvers: [U012ABCDEF], message: "Rename {{ steps.copy.title }}?", timeout: 4h}
  - id: rename
    action: notes.update_note
    for_each: "[steps.copy.id]"
    with: {id: "{{ item }}", title: "#{{ loop.index }} by {{ steps.ask.approved_by | first }}"}
"""
    assert problems(text, registry) == []


# --- actions, events and inputs -----------------------------------------------------------


def test_an_unknown_action_suggests_the_closest(registry: Registry) -> None:
    problem = one(steps("{id: a, action: notes.create_nte, with: {title: x}}"), registry)
    assert problem.path == "steps[0].action"
    assert problem.message == "unknown action `notes.create_nte`; did you mean `notes.create_note`?"


def test_an_unknown_action_of_a_known_connector_lists_its_actions(registry: Registry) -> None:
    problem = one(steps("{id: a, action: notes.archive_everything}"), registry)
    assert "`notes` has notes.create_note, notes.list_notes, notes.update_note" in problem.message


def test_an_unknown_event_suggests_the_closest(registry: Registry) -> None:
    text = "name: W\ntrigger: {type: event, event: notes.note_create}\nsteps:\n"
    text += "  - {id: a, action: notes.list_notes}\n"
    problem = one(text, registry)
    assert (problem.path, problem.message) == (
        "trigger.event",
        "unknown event `notes.note_create`; did you mean `notes.note_created`?",
    )


def test_a_missing_input_is_named_with_its_description(registry: Registry) -> None:
    problem = one(steps("{id: a, action: notes.create_note, with: {body: b}}"), registry)
    assert problem.path == "steps[0].with.title"
    assert problem.message == "missing required input `title`: Title of the note."


def test_an_unknown_input_suggests_the_closest(registry: Registry) -> None:
    found = problems(
        steps("{id: a, action: notes.create_note, with: {title: t, lables: []}}"), registry
    )
    assert [str(p) for p in found] == [
        "steps[0].with.lables: unknown input `lables`; did you mean `labels`?"
    ]


def test_a_literal_of_the_wrong_type_is_reported(registry: Registry) -> None:
    problem = one(
        steps("{id: a, action: notes.create_note, with: {title: t, labels: 5}}"), registry
    )
    assert problem.path == "steps[0].with.labels"
    assert "valid list" in problem.message and "(got 5)" in problem.message


def test_a_templated_input_is_not_type_checked(registry: Registry) -> None:
    text = steps('{id: a, action: notes.create_note, with: {title: t, labels: "{{ trigger.x }}"}}')
    assert problems(text, registry) == []


def test_event_inputs_are_checked_and_cannot_be_templates(registry: Registry) -> None:
    text = "name: W\ntrigger:\n  type: event\n  event: notes.note_created\n"
    text += '  with: {folder: "{{ trigger.x }}", colour: red}\nsteps:\n'
    text += "  - {id: a, action: notes.list_notes}\n"
    found = {p.path: p.message for p in problems(text, registry)}
    assert found["trigger.with.folder"].startswith("trigger inputs cannot use templates")
    assert found["trigger.with.colour"].startswith("unknown input `colour`")


def test_an_event_payload_field_that_does_not_exist_is_reported(registry: Registry) -> None:
    text = "name: W\ntrigger: {type: event, event: notes.note_created, with: {folder: f}}\n"
    text += (
        'steps:\n  - {id: a, action: notes.create_note, with: {title: "{{ trigger.nte.title }}"}}\n'
    )
    problem = one(text, registry)
    assert problem.path == "steps[0].with.title"
    assert "has no field `trigger.nte`; did you mean `note`?" in problem.message


# --- steps and references -------------------------------------------------------------------


def test_duplicate_step_ids_are_reported(registry: Registry) -> None:
    found = problems(
        steps("{id: a, action: notes.list_notes}", "{id: a, action: notes.list_notes}"), registry
    )
    assert [str(p) for p in found] == [
        "steps[1].id: duplicate step id `a` (steps[0] has it too); give each step its own id"
    ]


def test_a_workflow_needs_steps(registry: Registry) -> None:
    assert str(one(MANUAL + "steps: []\n", registry)) == (
        "steps: a workflow needs at least one step"
    )


def test_a_reference_to_an_unknown_step_suggests_the_closest(registry: Registry) -> None:
    text = steps(
        "{id: first, action: notes.list_notes}",
        '{id: b, action: notes.create_note, with: {title: "{{ steps.frist.count }}"}}',
    )
    problem = one(text, registry)
    assert problem.path == "steps[1].with.title"
    assert problem.message == (
        "`steps.frist`: there is no step with id `frist`; did you mean `first`?"
    )


def test_a_reference_to_a_later_step_is_reported(registry: Registry) -> None:
    text = steps(
        '{id: a, action: notes.create_note, with: {title: "{{ steps.b.title }}"}}',
        "{id: b, action: notes.create_note, with: {title: t}}",
    )
    problem = one(text, registry)
    assert problem.path == "steps[0].with.title"
    assert problem.message.startswith("`steps.b` is used before step `b` runs (it is steps[1])")


def test_a_step_cannot_use_its_own_output(registry: Registry) -> None:
    text = steps("{id: a, action: notes.list_notes, if: steps.a.count > 1}")
    assert "this step's own output" in one(text, registry).message


def test_an_output_field_that_does_not_exist_is_reported(registry: Registry) -> None:
    text = steps(
        "{id: a, action: notes.create_note, with: {title: t}}",
        "{id: b, action: notes.update_note, with: {id: '{{ steps.a.ident }}', title: x}}",
        "{id: c, action: notes.update_note, with: {id: x, title: '{{ steps.a.tilte }}'}}",
    )
    found = problems(text, registry)
    assert [p.message for p in found] == [
        "step `a` (notes.create_note) has no output `ident`; it has body, id, labels, title, url",
        "step `a` (notes.create_note) has no output `tilte`; did you mean `title`?",
    ]


# --- templates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ trigger.title ", "template syntax error"),
        ("{% for x in trigger.items %}{{ x }}{% endfor %}", "not `{% … %}` blocks"),
        ("{{ trigger.__class__.__mro__ }}", "`__mro__` reaches into Python internals"),
        ("{{ trigger.title.mro }}", "`mro` reaches into Python internals"),
        ("{{ trigger['__globals__'] }}", "`__globals__` reaches into Python internals"),
        ("{{ cycler.__init__.__globals__.os }}", "unknown name `cycler`"),
        ("{{ trigger.title | attr('x') }}", "unknown filter `attr`"),
        ("{{ trigger.title is callable }}", "unknown test `callable`"),
        ("{{ trigger.run() }}", "templates cannot call functions"),
        ("{{ item }}", "unknown name `item`: templates can use now, steps, trigger, workflow"),
    ],
)
def test_bad_templates_are_reported(registry: Registry, template: str, expected: str) -> None:
    text = steps(f"{{id: a, action: notes.create_note, with: {{title: {template!r}}}}}")
    found = problems(text, registry)
    assert found and all(p.path == "steps[0].with.title" for p in found)
    assert any(expected in p.message for p in found), found


def test_a_bad_condition_is_reported(registry: Registry) -> None:
    problem = one(steps("{id: a, action: notes.list_notes, if: 'trigger.x and'}"), registry)
    assert problem.path == "steps[0].if"
    assert problem.message.startswith("template syntax error")


def test_for_each_expressions_are_checked(registry: Registry) -> None:
    problem = one(
        steps("{id: a, action: notes.list_notes, for_each: 'trigger.__class__'}"), registry
    )
    assert problem.path == "steps[0].for_each"


# --- schedules -----------------------------------------------------------------------------------


def schedule(when: str) -> str:
    trigger = f"trigger: {{type: schedule, {when}}}\n"
    return f"name: W\n{trigger}steps:\n  - {{id: a, action: notes.list_notes}}\n"


@pytest.mark.parametrize(
    ("when", "path", "expected"),
    [
        ("cron: '61 * * * *'", "trigger.cron", "invalid cron expression '61 * * * *'"),
        ("cron: '0 9 * *'", "trigger.cron", "cron needs 5 fields"),
        ("cron: '0 0 30 2 *'", "trigger.cron", "matches no date (e.g. 30 February)"),
        ("rrule: 'FREQ=SOMETIMES'", "trigger.rrule", "invalid RRULE"),
        ("rrule: 'FREQ=SECONDLY'", "trigger.rrule", "minute precision"),
        (
            "rrule: 'FREQ=DAILY;UNTIL=20200101T000000Z'",
            "trigger.rrule",
            "has no occurrence after now",
        ),
        ("rrule: 'FREQ=YEARLY;BYMONTH=4;BYMONTHDAY=31'", "trigger.rrule", "has no occurrence"),
        ("at: 'next tuesday'", "trigger.at", "not an ISO 8601 date-time"),
        ("at: '2025-06-01T09:00'", "trigger.at", "is in the past"),
        ("cron: '0 9 * * 1', timezone: Mars/Olympus", "trigger.timezone", "unknown time zone"),
    ],
)
def test_schedule_problems(registry: Registry, when: str, path: str, expected: str) -> None:
    problem = one(schedule(when), registry)
    assert problem.path == path
    assert expected in problem.message


@pytest.mark.parametrize(
    "when",
    [
        "cron: '0 9 * * 1-5', timezone: Europe/Berlin",
        "rrule: 'FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0', timezone: America/New_York",
        'rrule: "DTSTART;TZID=Europe/Paris:20260105T090000\\nRRULE:FREQ=WEEKLY;COUNT=3"',
        "at: '2026-03-01T09:00:00+01:00'",
    ],
)
def test_good_schedules(registry: Registry, when: str) -> None:
    assert problems(schedule(when), registry) == []


def test_a_schedule_needs_exactly_one_of_cron_rrule_at(registry: Registry) -> None:
    problem = one(schedule("cron: '0 9 * * *', at: '2030-01-01T00:00'"), registry)
    assert problem.path == "trigger"
    assert "exactly one of `cron`, `rrule` or `at` (found cron, at)" in problem.message


# --- approvals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inputs", "path", "expected"),
    [
        ("{message: ok}", "steps[0].with.approvers", "missing required input `approvers`"),
        ("{approvers: [], message: ok}", "steps[0].with.approvers", "at least one approver"),
        ("{approvers: ['@alice'], message: ok}", "steps[0].with.approvers", "Slack user IDs"),
        (
            "{approvers: [U1ABC], message: ok, min_approvals: 2}",
            "steps[0].with",
            "min_approvals is 2 but only 1 approver(s)",
        ),
        ("{approvers: [U1ABC], message: ok, timeout: soon}", "steps[0].with.timeout", "duration"),
    ],
)
def test_approval_problems(registry: Registry, inputs: str, path: str, expected: str) -> None:
    problem = one(steps(f"{{id: a, action: approval.request, with: {inputs}}}"), registry)
    assert problem.path == path
    assert expected in problem.message


def test_an_approval_is_asked_once_not_per_item(registry: Registry) -> None:
    text = steps(
        "{id: a, action: approval.request, for_each: [1, 2], with: {approvers: [U1A], message: m}}"
    )
    assert str(one(text, registry)) == (
        "steps[0].for_each: an approval step cannot use for_each; ask once instead"
    )


# --- documents that do not load -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "path", "expected"),
    [
        ("name: [", "(document)", "not valid YAML or JSON"),
        ("a: &x [1]\nb: *x\n", "(document)", "YAML aliases"),
        ("[1, 2]", "(document)", "a workflow is a mapping with name, trigger and steps"),
        (
            "name: W\ntrigger: {type: manual}\nsteps: []\nstesp: []\n",
            "stesp",
            "did you mean `steps`",
        ),
        (
            "name: W\ntrigger: {type: weekly}\nsteps: []\n",
            "trigger",
            "unknown trigger type 'weekly'",
        ),
        ("name: W\ntrigger: {}\nsteps: []\n", "trigger", "`type` is required"),
        (
            MANUAL + "steps: [{id: 2fast, action: notes.list_notes}]\n",
            "steps[0].id",
            "starts with a letter",
        ),
        (MANUAL + "steps: [{action: notes.list_notes}]\n", "steps[0].id", "this field is required"),
    ],
)
def test_load_errors_become_problems(
    registry: Registry, text: str, path: str, expected: str
) -> None:
    workflow, found = check_document(text, registry, now=NOW)
    assert workflow is None
    assert any(p.path == path and expected in p.message for p in found), found
