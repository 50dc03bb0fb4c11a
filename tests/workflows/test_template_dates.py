"""Template date helpers: `now` and the filters that move it, evaluated when a run renders
its inputs (DST, month ends, week wrap-around); the validator accepting them and naming
misuse; and the engine giving each run the time its trigger happened."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.registry import Registry
from workflows.templating import TemplateError, check_template, render_string
from workflows.validate import check_document

from .conftest import Harness

BERLIN = "in_timezone('Europe/Berlin')"


def at(now: datetime, template: str, **context: Any) -> Any:
    return render_string(template, {"now": now, **context})


@pytest.mark.parametrize(
    ("now", "template", "expected"),
    [
        # tomorrow at 09:00, wherever in the day the trigger happened
        (
            datetime(2026, 12, 4, 7, 42, tzinfo=UTC),
            f"{{{{ now | {BERLIN} | add_days(1) | at('09:00') }}}}",
            "2026-12-05T09:00:00+01:00",
        ),
        # 23:30 UTC is already the next day in Berlin: "tomorrow" is the Berlin tomorrow
        (
            datetime(2026, 12, 4, 23, 30, tzinfo=UTC),
            f"{{{{ now | {BERLIN} | add_days(1) | at('09:00') }}}}",
            "2026-12-06T09:00:00+01:00",
        ),
        # across the spring DST change 09:00 stays 09:00 (the offset moves)
        (
            datetime(2026, 3, 28, 8, 0, tzinfo=UTC),
            f"{{{{ now | {BERLIN} | add_days(1) | at('09:00') }}}}",
            "2026-03-29T09:00:00+02:00",
        ),
        # "in an hour" is elapsed time, also across the DST change
        (
            datetime(2026, 3, 29, 0, 30, tzinfo=UTC),
            f"{{{{ now | {BERLIN} | add_hours(1) }}}}",
            "2026-03-29T03:30:00+02:00",
        ),
        # next Monday from a Friday, and from a Monday (a week on)
        (
            datetime(2026, 12, 4, 10, 0, tzinfo=UTC),
            f"{{{{ now | {BERLIN} | next_weekday('monday') | at('10:00') }}}}",
            "2026-12-07T10:00:00+01:00",
        ),
        (
            datetime(2026, 12, 7, 10, 0, tzinfo=UTC),
            f"{{{{ now | {BERLIN} | next_weekday('Monday') | at('10:00') }}}}",
            "2026-12-14T10:00:00+01:00",
        ),
        # the first of next month, from the last day of a year
        (
            datetime(2026, 12, 31, 12, 0, tzinfo=UTC),
            f"{{{{ now | {BERLIN} | add_months(1) | day_of_month(1) | at('09:00') }}}}",
            "2027-01-01T09:00:00+01:00",
        ),
        # a month on from 31 January is the last day of February
        (
            datetime(2027, 1, 31, 12, 0, tzinfo=UTC),
            f"{{{{ now | {BERLIN} | add_months(1) | date }}}}",
            "2027-02-28",
        ),
        (
            datetime(2026, 2, 10, 12, 0, tzinfo=UTC),
            "{{ now | day_of_month(-1) | date }}",
            "2026-02-28",
        ),
        # a time of day alone: today's when still ahead, else tomorrow's
        (
            datetime(2026, 12, 4, 15, 0, tzinfo=UTC),
            f"{{{{ now | {BERLIN} | next_at('17:00') }}}}",
            "2026-12-04T17:00:00+01:00",
        ),
        (
            datetime(2026, 12, 4, 17, 0, tzinfo=UTC),
            f"{{{{ now | {BERLIN} | next_at('17:00') }}}}",
            "2026-12-05T17:00:00+01:00",
        ),
        (
            datetime(2026, 12, 4, 7, 0, tzinfo=UTC),
            "Follow up on {{ now | add_weeks(2) | date }} ({{ now | add_minutes(-30) }})",
            "Follow up on 2026-12-18 (2026-12-04T06:30:00+00:00)",
        ),
    ],
)
def test_relative_times_are_computed_from_now(now: datetime, template: str, expected: str) -> None:
    assert at(now, template) == expected


def test_event_payload_times_are_accepted_as_iso_text() -> None:
    payload = {"received_at": "2026-12-04T07:42:00Z"}
    template = f"{{{{ trigger.received_at | {BERLIN} | add_days(2) | at('08:30') }}}}"
    assert at(datetime.now(UTC), template, trigger=payload) == "2026-12-06T08:30:00+01:00"


def test_now_prints_as_iso_8601_in_json_and_lists() -> None:
    now = datetime(2026, 12, 4, 7, 42, tzinfo=UTC)
    assert at(now, "{{ now }}") == "2026-12-04T07:42:00+00:00"
    assert at(now, "{{ [now | date] }}") == ["2026-12-04"]
    assert at(now, "{{ {'when': now} | tojson }}") == '{"when": "2026-12-04T07:42:00+00:00"}'


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ now.year }}", "`now` is a time, not a record"),
        ("{{ now() }}", "`now` is a value, not a function"),
        ("{{ now | in_timezone('Mars/Base') }}", "unknown time zone 'Mars/Base'"),
        ("{{ now | at('9am') }}", "at needs a 24-hour time such as '09:00' (got '9am')"),
        ("{{ now | next_at('25:00') }}", "next_at needs a 24-hour time"),
        ("{{ now | next_weekday('someday') }}", "next_weekday needs a day name such as 'monday'"),
        ("{{ now | add_days(1.5) }}", "add_days needs a whole number"),
        ("{{ now | add_days }}", "add_days takes 1 argument"),
        ("{{ now | add_days(n=1) }}", "add_days takes its argument by position"),
        ("{{ now | date('%d') }}", "date takes no arguments"),
        ("{{ now | day_of_month(0) }}", "day_of_month needs a day 1-31, or -1"),
        ("{{ 'tomorrow' | add_days(1) }}", "add_days works on a time such as `now`"),
        ("{{ '2026-12-04T09:00:00' | date }}", "has no UTC offset"),
    ],
)
def test_misuse_is_named_before_the_workflow_runs(template: str, message: str) -> None:
    errors = check_template(template).errors
    assert any(message in error for error in errors), errors


def test_misuse_only_visible_at_run_time_fails_the_render_with_the_reason() -> None:
    with pytest.raises(TemplateError, match=r"steps\[0\]\.with\.start: add_days works on a time"):
        render_string(
            "{{ trigger.subject | add_days(1) }}",
            {"now": datetime.now(UTC), "trigger": {"subject": "Hi"}},
            "steps[0].with.start",
        )


def test_the_validator_accepts_the_helpers_and_reports_misuse_where_it_is(
    registry: Registry,
) -> None:
    document = """
name: Follow up
trigger: {type: event, event: notes.note_created, with: {folder: inbox}}
steps:
  - id: later
    action: notes.create_note
    with:
      title: "Follow up on {{ now | in_timezone('Europe/Berlin') | add_days(1) | date }}"
  - id: wrong
    action: notes.create_note
    with:
      title: "{{ now | in_timezone('Europe/Berlín') | add_days(1) | at('9') }}"
"""
    _, problems = check_document(document, registry, now=datetime(2026, 1, 1, tzinfo=UTC))
    assert {(p.path, p.message) for p in problems} == {
        (
            "steps[1].with.title",
            "unknown time zone 'Europe/Berlín'; use an IANA name such as 'Europe/Berlin'",
        ),
        ("steps[1].with.title", "at needs a 24-hour time such as '09:00' (got '9')"),
    }


SCHEDULED_NOTE = """
name: Tomorrow's note
trigger: {type: schedule, cron: "0 18 * * *", timezone: Europe/Berlin}
steps:
  - id: note
    action: notes.create_note
    with: {title: "Plan for {{ now | in_timezone('Europe/Berlin') | add_days(1) | date }}"}
"""


async def test_a_scheduled_run_counts_from_its_fire_time(harness: Harness) -> None:
    """A fire that runs late (a worker was down) still means the day after the fire."""
    payload = {"scheduled_at": "2026-12-04T17:00:00+00:00", "fired_at": "2026-12-06T08:00:00Z"}
    run, steps = await harness.run(SCHEDULED_NOTE, payload)
    assert run.status == "succeeded", run.message
    assert steps["note"].inputs == {"title": "Plan for 2026-12-05"}


async def test_a_manual_run_counts_from_when_it_was_queued(harness: Harness) -> None:
    run, steps = await harness.run(SCHEDULED_NOTE.replace("Plan for", "Day after"), {})
    queued = run.created_at if run.created_at.tzinfo else run.created_at.replace(tzinfo=UTC)
    expected = render_string(
        "{{ now | in_timezone('Europe/Berlin') | add_days(1) | date }}", {"now": queued}
    )
    assert steps["note"].inputs == {"title": f"Day after {expected}"}
