"""Relative times in plans: a workflow that runs again and again counts "tomorrow", "in 2
days", "next Monday", "in an hour", "the first of next month" from each run (a template
over `now`), a one-time plan keeps the date, and the preview says which; and the time
phrases people type that used to be misread (typos, every other week, 12 noon, "daily" in
a name) parse as one time."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from connectors.registry import load_registry
from workflows.planner import Plan, Planner, Question
from workflows.planning.results import PlanContext
from workflows.planning.times import find_moment, find_schedule
from workflows.templating import render_string

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 25, 14, 30, tzinfo=BERLIN)  # a Wednesday
CONTEXT = PlanContext(user="U0ALICE", timezone="Europe/Berlin", now=NOW)
BOSS = "when an email from boss@example.com arrives, "


@pytest.fixture(scope="module")
def planner() -> Planner:
    return Planner(load_registry())


async def plan(planner: Planner, text: str) -> Plan:
    result = await planner.plan(text, CONTEXT)
    assert isinstance(result, Plan), result
    return result


def start_of(result: Plan, action: str = "google_calendar.create_event") -> str:
    return next(s for s in result.workflow.steps if s.action == action).with_["start"]


@pytest.mark.parametrize(
    ("said", "received", "start", "words"),
    [
        (
            "block 30 minutes tomorrow",
            "2026-12-04T07:42:00Z",
            "2026-12-05T09:00:00+01:00",
            "starts the day after the email arrives, at 09:00 (assumed)",
        ),
        (
            "add a 1 hour event in 2 days at 4pm",
            "2026-12-04T07:42:00Z",
            "2026-12-06T16:00:00+01:00",
            "starts 2 days after the email arrives, at 16:00",
        ),
        (
            "add an event next Monday at 10",
            "2026-12-07T07:00:00Z",
            "2026-12-14T10:00:00+01:00",
            "starts the next Monday after the email arrives, at 10:00",
        ),
        (
            "add a 15 minute event in an hour",
            "2026-12-04T07:42:00Z",
            "2026-12-04T09:42:00+01:00",
            "starts an hour after the email arrives",
        ),
        (
            "add an event on the first of next month",
            "2026-12-31T12:00:00Z",
            "2027-01-01T09:00:00+01:00",
            "starts the 1st of the month after the email arrives, at 09:00 (assumed)",
        ),
        (
            "add an event at 5pm",
            "2026-12-04T17:30:00Z",
            "2026-12-05T17:00:00+01:00",
            "starts at the first 17:00 after the email arrives",
        ),
    ],
)
async def test_an_event_workflow_counts_relative_times_from_each_email(
    planner: Planner, said: str, received: str, start: str, words: str
) -> None:
    result = await plan(planner, BOSS + said)
    template = start_of(result)
    now = datetime.fromisoformat(received).astimezone(UTC)
    assert render_string(template, {"now": now}) == start
    assert any(a.endswith(words) for a in result.assumptions), result.assumptions
    assert not any("fixed" in a for a in result.assumptions)


async def test_a_scheduled_workflow_counts_from_each_run(planner: Planner) -> None:
    result = await plan(
        planner, "every Monday at 8 add a meeting called Planning to my calendar tomorrow at 10"
    )
    template = start_of(result)
    monday_fire = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)
    assert render_string(template, {"now": monday_fire}) == "2026-12-08T10:00:00+01:00"
    assert "“Planning” starts the day after each run, at 10:00" in result.assumptions


async def test_a_due_date_is_a_day_counted_from_each_email(planner: Planner) -> None:
    result = await plan(
        planner, "When I get an important email, create an Asana task in Operations due in 2 days"
    )
    [task] = result.workflow.steps
    now = datetime(2026, 12, 4, 7, 42, tzinfo=UTC)
    assert render_string(task.with_["due_on"], {"now": now}) == "2026-12-06"
    assert "“‹subject›” is due 2 days after the email arrives" in result.assumptions


async def test_a_one_time_plan_keeps_the_date(planner: Planner) -> None:
    result = await plan(planner, "schedule a meeting with alice@example.com tomorrow")
    assert start_of(result) == "2026-11-26T09:00:00+01:00"
    assert "“Meeting” starts at 09:00" in result.assumptions


async def test_a_date_named_outright_stays_fixed_and_the_preview_says_so(
    planner: Planner,
) -> None:
    result = await plan(planner, BOSS + "add an event on March 3 at 10")
    assert start_of(result) == "2027-03-03T10:00:00+01:00"
    assert any("every time the workflow runs" in a for a in result.assumptions)


# --- time phrases ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cron", "rrule"),
    [
        ("evry day at 9am", "0 9 * * *", None),
        ("everyday at 9am", "0 9 * * *", None),
        ("eveyr weekday at 8", "0 8 * * 1-5", None),
        ("every first of the month", "0 9 1 * *", None),
        ("first of every month at 10", "0 10 1 * *", None),
        ("every day at 12 noon", "0 12 * * *", None),
        ("every day at 12 midnight", "0 0 * * *", None),
        ("every other week", None, "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;BYHOUR=9;BYMINUTE=0"),
        (
            "every other Thursday at 3pm",
            None,
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH;BYHOUR=15;BYMINUTE=0",
        ),
        ("every 2 weeks on Monday", None, "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;BYHOUR=9;BYMINUTE=0"),
        (
            "biweekly on Fridays at 4pm",
            None,
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR;BYHOUR=16;BYMINUTE=0",
        ),
        ("fortnightly", None, "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;BYHOUR=9;BYMINUTE=0"),
        ("every 3 days", None, "FREQ=DAILY;INTERVAL=3;BYHOUR=9;BYMINUTE=0"),
        ("post it daily", "0 9 * * *", None),
        ("send me a daily summary", "0 9 * * *", None),
        ("weekly on Fridays", "0 9 * * 5", None),
    ],
)
def test_schedules_as_people_type_them(text: str, cron: str | None, rrule: str | None) -> None:
    found = find_schedule(text)
    assert found is not None
    assert (found.value.cron, found.value.rrule) == (cron, rrule)


@pytest.mark.parametrize(
    "text",
    [
        "create a card called Daily standup notes",
        "post the weekly report reminder",
        "an asana task Weekly planning in Operations",
        "check the daily backups",
        "a meeting titled Monthly review",
    ],
)
def test_daily_or_weekly_naming_a_thing_is_not_a_schedule(text: str) -> None:
    assert find_schedule(text) is None


def test_12_noon_is_one_time_not_two() -> None:
    text = "every day at 12 noon"
    found = find_schedule(text)
    assert found is not None and text[found.end :].strip() == ""
    assert find_moment("tomorrow at 12 midnight", NOW).value.at.hour == 0  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "text",
    [
        "every Monday at 9 create a card called Daily standup notes in Inbox",
        "every weekday at 9:30 remind #ops to check the daily backups",
        "every day at 12 noon post 'lunch' to #team",
        "schedule a meeting called Weekly sync tomorrow at 10",
        "every Friday post 'weekly numbers' to #team",
    ],
)
async def test_a_name_with_a_frequency_word_is_not_a_second_time(
    planner: Planner, text: str
) -> None:
    result = await planner.plan(text, CONTEXT)
    assert "two different times" not in getattr(result, "text", ""), result
    assert isinstance(result, Plan), result


async def test_an_answered_start_is_counted_from_each_email(planner: Planner) -> None:
    question = await planner.plan(BOSS + "add a 30 minute event to my calendar", CONTEXT)
    assert isinstance(question, Question) and "start" in question.text
    result = await planner.answer(question, "tomorrow at 10", CONTEXT)
    assert isinstance(result, Plan), result
    template = start_of(result)
    email_time = datetime(2026, 12, 4, 7, 42, tzinfo=UTC)
    assert render_string(template, {"now": email_time}) == "2026-12-05T10:00:00+01:00"


@pytest.mark.parametrize(
    ("change", "start"),
    [
        ("make it 11am instead", "2026-12-05T11:00:00+01:00"),
        ("make it Friday", "2026-12-11T09:00:00+01:00"),
        ("next Monday at 8", "2026-12-07T08:00:00+01:00"),
    ],
)
async def test_changing_a_counted_start_keeps_it_counted(
    planner: Planner, change: str, start: str
) -> None:
    first = await plan(planner, BOSS + "block 30 minutes tomorrow")
    revised = await planner.revise(first.workflow, change, CONTEXT)
    assert isinstance(revised, Plan), revised
    email_time = datetime(2026, 12, 4, 7, 42, tzinfo=UTC)  # a Friday
    assert render_string(start_of(revised), {"now": email_time}) == start
