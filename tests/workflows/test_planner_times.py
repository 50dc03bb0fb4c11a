"""Time expressions: recurring schedules, one-off moments (in the user's zone, DST
included), durations, and the spans they cover."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from workflows.planning.times import find_clock, find_duration, find_moment, find_schedule

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 25, 14, 30, tzinfo=BERLIN)  # a Wednesday


@pytest.mark.parametrize(
    ("text", "cron", "span"),
    [
        ("every weekday at 9am", "0 9 * * 1-5", "every weekday at 9am"),
        ("each Monday at 10:30", "30 10 * * 1", "each Monday at 10:30"),
        ("every day at 6pm", "0 18 * * *", "every day at 6pm"),
        ("on the 1st of every month", "0 9 1 * *", "on the 1st of every month"),
        ("every Tuesday and Thursday at 11", "0 11 * * 2,4", "every Tuesday and Thursday at 11"),
        ("post it every weekday morning", "0 9 * * 1-5", "every weekday morning"),
        ("at 9am every weekday", "0 9 * * 1-5", "at 9am every weekday"),
        ("on Mondays at 10", "0 10 * * 1", "on Mondays at 10"),
        ("every Mon, Wed and Fri at 9:15", "15 9 * * 1,3,5", "every Mon, Wed and Fri at 9:15"),
        ("every 15 minutes", "*/15 * * * *", "every 15 minutes"),
        ("hourly", "0 * * * *", "hourly"),
        ("every 2 hours", "0 */2 * * *", "every 2 hours"),
        ("weekly on Fridays at 4pm", "0 16 * * 5", "weekly on Fridays at 4pm"),
        ("every weekend at 10", "0 10 * * 0,6", "every weekend at 10"),
        ("every evening", "0 18 * * *", "every evening"),
        ("daily at 18:00", "0 18 * * *", "daily at 18:00"),
        ("monthly", "0 9 1 * *", "monthly"),
        ("every weekday at 5:30 p.m.", "30 17 * * 1-5", "every weekday at 5:30 p.m."),
    ],
)
def test_recurring_schedules(text: str, cron: str, span: str) -> None:
    found = find_schedule(text)
    assert found is not None
    assert found.value.cron == cron
    assert text[found.start : found.end] == span


@pytest.mark.parametrize(
    ("text", "rrule"),
    [
        (
            "on the last day of every month at 17:00",
            "FREQ=MONTHLY;BYMONTHDAY=-1;BYHOUR=17;BYMINUTE=0",
        ),
        ("on the first Monday of every month", "FREQ=MONTHLY;BYDAY=1MO;BYHOUR=9;BYMINUTE=0"),
    ],
)
def test_schedules_cron_cannot_say_become_rrules(text: str, rrule: str) -> None:
    found = find_schedule(text)
    assert found is not None and found.value.rrule == rrule and found.value.cron is None


@pytest.mark.parametrize(
    "text",
    ["create a card in the Inbox list", "tomorrow at 3pm", "every 0 minutes", "every 90 minutes"],
)
def test_no_schedule(text: str) -> None:
    assert find_schedule(text) is None


@pytest.mark.parametrize(
    ("text", "at", "clock_given"),
    [
        ("tomorrow at 3pm", "2026-11-26T15:00:00+01:00", True),
        ("at 5pm today", "2026-11-25T17:00:00+01:00", True),
        ("next Monday at 9", "2026-11-30T09:00:00+01:00", True),
        ("next Tuesday at 10am", "2026-12-01T10:00:00+01:00", True),
        ("this Wednesday at 4pm", "2026-11-25T16:00:00+01:00", True),
        ("on Wednesday at 4pm", "2026-12-02T16:00:00+01:00", True),
        ("tomorrow", "2026-11-26T09:00:00+01:00", False),
        ("tonight", "2026-11-25T20:00:00+01:00", False),
        ("in 2 hours", "2026-11-25T16:30:00+01:00", True),
        ("in 3 days at 10", "2026-11-28T10:00:00+01:00", True),
        ("on March 3 at 10:30", "2027-03-03T10:30:00+01:00", True),
        ("on 3 March", "2027-03-03T09:00:00+01:00", False),
        ("2026-12-01 at 9", "2026-12-01T09:00:00+01:00", True),
        ("on the 3rd at 9am", "2026-12-03T09:00:00+01:00", True),
        ("at 5pm", "2026-11-25T17:00:00+01:00", True),
        ("at 11", "2026-11-26T11:00:00+01:00", True),
        ("9:30 tomorrow", "2026-11-26T09:30:00+01:00", True),
        ("at noon on friday", "2026-11-27T12:00:00+01:00", True),
    ],
)
def test_one_off_moments(text: str, at: str, clock_given: bool) -> None:
    found = find_moment(text, NOW)
    assert found is not None
    assert found.value.at.isoformat() == at
    assert found.value.clock_given is clock_given


def test_a_past_time_today_is_reported_as_it_is() -> None:
    found = find_moment("at 9am today", NOW)
    assert found is not None and found.value.at < NOW


def test_moments_take_the_zones_offset_on_that_day() -> None:
    before_dst = datetime(2026, 3, 28, 12, 0, tzinfo=BERLIN)
    found = find_moment("tomorrow at 9am", before_dst)
    assert found is not None
    assert found.value.at.isoformat() == "2026-03-29T09:00:00+02:00"


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("a 30-minute event", 30),
        ("for an hour", 60),
        ("1.5 hours", 90),
        ("half an hour", 30),
        ("a 90 min meeting", 90),
        ("for 45 minutes", 45),
        ("2h", 120),
    ],
)
def test_durations(text: str, minutes: int) -> None:
    found = find_duration(text)
    assert found is not None and found.value == minutes


@pytest.mark.parametrize(
    ("text", "hour"), [("at 5", 17), ("at 7", 7), ("at 12", 12), ("at 13", 13)]
)
def test_a_bare_hour_is_read_as_office_hours(text: str, hour: int) -> None:
    found = find_clock(text)
    assert found is not None and found.value.hour == hour
