"""Follow-ups to a plan and answers to the offline planner's questions."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from connectors.registry import load_registry
from workflows.planner import Plan, Planner, Question
from workflows.planning.offline import OfflinePlanner
from workflows.planning.results import PlanContext

CONTEXT = PlanContext(
    user="U0ALICE",
    timezone="Europe/Berlin",
    now=datetime(2026, 11, 25, 14, 30, tzinfo=ZoneInfo("Europe/Berlin")),
    connected=frozenset({"slack", "github"}),
)
ISSUE_TO_CARD = (
    "When an issue is opened in acme/api, create a Trello card in Inbox and post it to #dev"
)


@pytest.fixture(scope="module")
def planner() -> OfflinePlanner:
    return OfflinePlanner(load_registry())


def talk(planner: OfflinePlanner, request: str, *turns: str) -> Plan | Question:
    result = planner.plan(request, CONTEXT)
    for text in turns:
        if isinstance(result, Plan):
            result = planner.revise(result.workflow, text, CONTEXT)
        else:
            result = planner.answer(result, text, CONTEXT)
    return result


def steps(result: Plan | Question) -> list[tuple[str, str, dict[str, Any]]]:
    assert isinstance(result, Plan), getattr(result, "text", result)
    return [(s.id, s.action, dict(s.with_)) for s in result.workflow.steps]


def test_switching_service_renames_the_step_and_the_references(planner: OfflinePlanner) -> None:
    question = talk(planner, ISSUE_TO_CARD, "use Asana instead")
    assert isinstance(question, Question)
    assert question.slots[0].path == "steps[0].with.project"
    result = planner.answer(question, "the Engineering project", CONTEXT)
    (task_id, task, inputs), (_, _, post) = steps(result)
    assert (task_id, task) == ("task", "asana.create_task")
    assert inputs == {
        "name": "{{ trigger.issue.title }}",
        "notes": "{{ trigger.issue.html_url }}",
        "project": "Engineering",
    }
    assert "Asana task: {{ steps.task.url }}" in post["text"]
    assert "steps.card" not in post["text"]


def test_switching_the_trigger_service(planner: OfflinePlanner) -> None:
    result = talk(
        planner,
        "When a file is added to the Dropbox folder /Scans, post to #scans",
        "not Dropbox, Drive",
    )
    assert isinstance(result, Plan)
    assert result.workflow.trigger.event == "google_drive.file_created"  # type: ignore[union-attr]


def test_removing_every_step_asks_what_to_do(planner: OfflinePlanner) -> None:
    result = talk(planner, "Post 'hi' to #dev", "don't post anything")
    assert isinstance(result, Question) and "nothing to do" in result.text


def test_removing_by_service(planner: OfflinePlanner) -> None:
    result = talk(planner, ISSUE_TO_CARD, "skip Trello")
    assert [action for _, action, _ in steps(result)] == ["slack.post_message"]


def test_channel_instead_of_another(planner: OfflinePlanner) -> None:
    result = talk(planner, "Post 'hi' to #dev and #ops", "post to #random instead of #ops")
    assert [inputs["channel"] for _, _, inputs in steps(result)] == ["#dev", "#random"]


def test_calendar_edits(planner: OfflinePlanner) -> None:
    result = talk(
        planner,
        "Schedule a meeting with alice@example.com tomorrow at 2pm",
        "invite bob@example.com too",
        "make it 45 minutes",
        "move it to Friday",
        "call it 'Planning'",
    )
    [(_, _, inputs)] = steps(result)
    assert inputs["attendees"] == ["alice@example.com", "bob@example.com"]
    assert inputs["duration_minutes"] == 45
    assert inputs["start"] == "2026-11-27T14:00:00+01:00"
    assert inputs["summary"] == "Planning"


def test_schedule_edits_keep_what_was_not_changed(planner: OfflinePlanner) -> None:
    result = talk(
        planner, "Every weekday at 9am post 'Standup' in #dev", "every Tuesday instead", "at 10:15"
    )
    assert isinstance(result, Plan)
    assert result.workflow.trigger.cron == "15 10 * * 2"  # type: ignore[union-attr]
    result = planner.revise(result.workflow, "make it tomorrow at 8am", CONTEXT)
    assert isinstance(result, Plan)
    assert result.workflow.trigger.at == "2026-11-26T08:00:00+01:00"  # type: ignore[union-attr]


def test_adding_steps_that_use_the_trigger(planner: OfflinePlanner) -> None:
    result = talk(planner, ISSUE_TO_CARD, "and label it triage")
    *_, (_, action, inputs) = steps(result)
    assert action == "github.add_labels"
    assert inputs == {
        "repo": "acme/api",
        "issue_number": "{{ trigger.issue.number }}",
        "labels": ["triage"],
    }


def test_a_change_it_cannot_read_is_a_question_keeping_the_plan(planner: OfflinePlanner) -> None:
    first = planner.plan("Post 'hi' to #dev", CONTEXT)
    assert isinstance(first, Plan)
    result = planner.revise(first.workflow, "hmm", CONTEXT)
    assert isinstance(result, Question)
    assert "make it 10am" in result.text and result.partial == first.workflow


# --- answers ---------------------------------------------------------------------------------


def test_answers_fill_the_slots_one_question_at_a_time(planner: OfflinePlanner) -> None:
    first = planner.plan("Create a Trello card", CONTEXT)
    assert isinstance(first, Question)
    assert [s.path for s in first.slots] == ["steps[0].with.name", "steps[0].with.list"]
    second = planner.answer(first, "'Renew the domain'", CONTEXT)
    assert isinstance(second, Question) and second.text == first.slots[1].question
    [(_, _, inputs)] = steps(planner.answer(second, "the Admin list", CONTEXT))
    assert inputs == {"name": "Renew the domain", "list": "Admin"}


def test_an_answer_that_does_not_fit_repeats_the_question(planner: OfflinePlanner) -> None:
    question = planner.plan("When an issue is opened, post it to #dev", CONTEXT)
    assert isinstance(question, Question)
    again = planner.answer(question, "the usual one", CONTEXT)
    assert isinstance(again, Question)
    assert again.text.startswith("Sorry, I didn't get that.") and again.slots == question.slots


@pytest.mark.parametrize(
    ("request_text", "reply", "path", "value"),
    [
        (
            "Schedule a meeting with alice@example.com",
            "tomorrow at 10am",
            "start",
            "2026-11-26T10:00:00+01:00",
        ),
        ("Post 'hi' to Slack", "dev", "channel", "#dev"),
        ("Email the weekly report", "boss@example.com", "to", ["boss@example.com"]),
        ("Label it bug", "#42", "issue_number", 42),
        ("Send a direct message saying 'hello'", "me", "user", "U0ALICE"),
    ],
)
def test_answers_are_read_as_what_was_asked(
    planner: OfflinePlanner, request_text: str, reply: str, path: str, value: Any
) -> None:
    question = planner.plan(request_text, CONTEXT)
    assert isinstance(question, Question) and question.slots[0].path.endswith(path)
    result = planner.answer(question, reply, CONTEXT)
    partial = result.workflow if isinstance(result, Plan) else result.partial
    assert partial is not None and partial.steps[0].with_[path] == value


def test_a_past_time_is_asked_again(planner: OfflinePlanner) -> None:
    question = planner.plan("At 9am today post 'Good morning' to #general", CONTEXT)
    assert isinstance(question, Question) and question.slots[0].path == "trigger.at"
    result = planner.answer(question, "tomorrow at 9am", CONTEXT)
    assert isinstance(result, Plan)
    assert result.workflow.trigger.at == "2026-11-26T09:00:00+01:00"  # type: ignore[union-attr]


def test_choices_answer_which_service(planner: OfflinePlanner) -> None:
    question = planner.plan("Create a folder called Reports", CONTEXT)
    assert isinstance(question, Question)
    assert [c.label for c in question.choices] == ["Google Drive", "Dropbox"]
    [(_, action, inputs)] = steps(planner.answer(question, "dropbox", CONTEXT))
    assert (action, inputs) == ("dropbox.create_folder", {"path": "/Reports"})


# --- the plan around the workflow --------------------------------------------------------------


def test_a_plan_names_its_assumptions_and_missing_connections(planner: OfflinePlanner) -> None:
    plan = planner.plan(
        "When I get an important email, create an Asana task in Operations and add a "
        "30-minute event to my calendar tomorrow at 9am",
        CONTEXT,
    )
    assert isinstance(plan, Plan)
    assert plan.missing_connections == ("gmail", "asana", "google_calendar")
    assert "“‹subject›” starts the day after the email arrives, at 09:00" in plan.assumptions
    assert plan.summary.splitlines()[0] == "When an email matching “is:important” arrives:"


async def test_the_planner_revises_when_the_context_carries_a_pending_workflow() -> None:
    planner = Planner(load_registry())
    first = await planner.plan("Every weekday at 9am post 'Standup' in #dev", CONTEXT)
    assert isinstance(first, Plan)
    result = await planner.plan("make it 10am", replace(CONTEXT, editing=first.workflow))
    assert isinstance(result, Plan)
    assert result.workflow.trigger.cron == "0 10 * * 1-5"  # type: ignore[union-attr]
