"""Fire times: RRULE and cron keep wall-clock time across DST; `at` is one-off."""

from __future__ import annotations

import itertools
import pickle
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from workflows.scheduler import Timing
from workflows.schedules import ScheduleError
from workflows.scheduling.triggers import build_trigger, cron_to_rrules, upcoming

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def _local(times: list[datetime], zone: ZoneInfo) -> list[str]:
    return [t.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") for t in times]


def test_weekly_rrule_keeps_nine_oclock_across_the_autumn_change() -> None:
    timing = Timing(rrule="FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0", timezone="Europe/Berlin")
    fires = upcoming(timing, anchor=datetime(2026, 10, 20, tzinfo=UTC), count=3)
    assert _local(fires, BERLIN) == [
        "2026-10-26 09:00 CET",  # the Monday after clocks went back (25 Oct)
        "2026-11-02 09:00 CET",
        "2026-11-09 09:00 CET",
    ]
    assert fires[0] - datetime(2026, 10, 19, 7, tzinfo=UTC) == timedelta(days=7, hours=1)


def test_daily_rrule_keeps_wall_clock_across_the_spring_change_in_new_york() -> None:
    timing = Timing(rrule="RRULE:FREQ=DAILY;BYHOUR=8;BYMINUTE=30", timezone="America/New_York")
    fires = upcoming(timing, anchor=datetime(2026, 3, 6, 12, tzinfo=UTC), count=4)
    assert _local(fires, NEW_YORK) == [
        "2026-03-06 08:30 EST",
        "2026-03-07 08:30 EST",
        "2026-03-08 08:30 EDT",  # clocks jumped forward at 02:00 that night
        "2026-03-09 08:30 EDT",
    ]
    assert [f.hour for f in fires] == [13, 13, 12, 12]  # in UTC the fire time moved


def test_a_time_inside_the_spring_gap_fires_once_an_hour_later() -> None:
    timing = Timing(cron="30 2 * * *", timezone="Europe/Berlin")
    fires = upcoming(timing, anchor=datetime(2026, 3, 27, tzinfo=UTC), count=3)
    assert _local(fires, BERLIN) == [
        "2026-03-27 02:30 CET",
        "2026-03-28 02:30 CET",
        "2026-03-29 03:30 CEST",  # 02:30 did not exist that night
    ]
    assert upcoming(timing, anchor=fires[2], after=fires[2], count=1) == [
        datetime(2026, 3, 30, 0, 30, tzinfo=UTC)
    ]


def test_a_time_that_happens_twice_in_autumn_fires_once() -> None:
    timing = Timing(cron="30 2 * * *", timezone="Europe/Berlin")
    fires = upcoming(timing, anchor=datetime(2026, 10, 24, 12, tzinfo=UTC), count=2)
    assert _local(fires, BERLIN) == ["2026-10-25 02:30 CEST", "2026-10-26 02:30 CET"]


def test_rrule_interval_keeps_its_phase_from_the_anchor() -> None:
    timing = Timing(rrule="FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;BYHOUR=10", timezone="Europe/Berlin")
    anchor = datetime(2026, 1, 1, tzinfo=UTC)  # a Thursday
    fires = upcoming(timing, anchor=anchor, count=30)
    assert {(b - a) for a, b in itertools.pairwise(fires)} <= {
        timedelta(days=14),
        timedelta(days=14, hours=1),
        timedelta(days=14, hours=-1),
    }
    # resuming after the 20th fire (what a restarted scheduler does) gives the same times
    assert upcoming(timing, anchor=anchor, after=fires[19], count=10) == fires[20:30]


def test_a_trigger_survives_pickling_between_fires() -> None:
    trigger = build_trigger(
        Timing(rrule="FREQ=DAILY;BYHOUR=9;BYMINUTE=15", timezone="Asia/Tokyo"),
        anchor=datetime(2026, 5, 1, tzinfo=UTC),
    )
    first = trigger.next()
    restored = pickle.loads(pickle.dumps(trigger))
    assert restored.next() == trigger.next() == first + timedelta(days=1)


def test_count_ends_an_rrule() -> None:
    timing = Timing(rrule="FREQ=DAILY;COUNT=2;BYHOUR=6", timezone="UTC")
    assert len(upcoming(timing, anchor=datetime(2026, 1, 1, tzinfo=UTC), count=5)) == 2


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("0 9 * * 1-5", ["FREQ=DAILY;BYHOUR=9;BYMINUTE=0;BYSECOND=0;BYDAY=MO,TU,WE,TH,FR"]),
        ("*/20 8-9 * * *", ["FREQ=DAILY;BYHOUR=8,9;BYMINUTE=0,20,40;BYSECOND=0"]),
        ("0 0 1 jan,jul *", ["FREQ=DAILY;BYHOUR=0;BYMINUTE=0;BYSECOND=0;BYMONTH=1,7;BYMONTHDAY=1"]),
        ("@weekly", ["FREQ=DAILY;BYHOUR=0;BYMINUTE=0;BYSECOND=0;BYDAY=SU"]),
        (
            "0 12 13 * fri",  # cron ORs day-of-month and day-of-week
            [
                "FREQ=DAILY;BYHOUR=12;BYMINUTE=0;BYSECOND=0;BYMONTHDAY=13",
                "FREQ=DAILY;BYHOUR=12;BYMINUTE=0;BYSECOND=0;BYDAY=FR",
            ],
        ),
        (
            "0 12 */2 * 7",
            [
                "FREQ=DAILY;BYHOUR=12;BYMINUTE=0;BYSECOND=0;BYMONTHDAY="
                + ",".join(str(d) for d in range(1, 32, 2))
                + ";BYDAY=SU"
            ],
        ),
    ],
)
def test_cron_becomes_rrules(expression: str, expected: list[str]) -> None:
    assert cron_to_rrules(expression) == expected


def test_cron_either_day_fires_on_both_kinds_of_day() -> None:
    timing = Timing(cron="0 12 13 * fri", timezone="UTC")
    fires = upcoming(timing, anchor=datetime(2026, 2, 1, tzinfo=UTC), count=4)
    assert [f.strftime("%a %d") for f in fires] == ["Fri 06", "Fri 13", "Fri 20", "Fri 27"]


def test_at_is_wall_clock_in_its_zone_and_fires_once() -> None:
    timing = Timing(at="2026-11-01T09:00", timezone="Europe/Berlin")
    anchor = datetime(2026, 10, 1, tzinfo=UTC)
    assert upcoming(timing, anchor=anchor, count=3) == [datetime(2026, 11, 1, 8, tzinfo=UTC)]
    assert upcoming(timing, anchor=anchor, after=datetime(2026, 11, 1, 8, tzinfo=UTC)) == []


@pytest.mark.parametrize(
    ("timing", "message"),
    [
        (Timing(cron="0 9 * *"), "needs 5 fields"),
        (Timing(cron="0 24 * * *"), "hour 24 is outside 0-23"),
        (Timing(cron="0 9 30 2 *"), "never fires"),
        (Timing(cron="*/0 * * * *"), "step '0'"),
        (Timing(rrule="FREQ=SOMETIMES"), "not a valid RFC 5545 rule"),
        (Timing(at="next tuesday"), "ISO 8601"),
        (Timing(cron="0 9 * * *", timezone="Mars/Olympus"), "unknown time zone"),
    ],
)
def test_unusable_schedules_say_what_is_wrong(timing: Timing, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        upcoming(timing, anchor=datetime(2026, 1, 1, tzinfo=UTC))


def test_a_full_rfc5545_rule_with_its_own_start_and_zone() -> None:
    rule = "DTSTART;TZID=America/New_York:20260307T083000\nRRULE:FREQ=DAILY;COUNT=3"
    fires = upcoming(Timing(rrule=rule), anchor=datetime(2026, 1, 1, tzinfo=UTC), count=5)
    assert _local(fires, NEW_YORK) == [
        "2026-03-07 08:30 EST",
        "2026-03-08 08:30 EDT",
        "2026-03-09 08:30 EDT",
    ]


def test_floating_dtstart_and_exdate_are_read_in_the_trigger_zone() -> None:
    rule = "DTSTART:20260105T090000\nRRULE:FREQ=DAILY;COUNT=4\nEXDATE:20260106T090000"
    fires = upcoming(
        Timing(rrule=rule, timezone="Europe/Berlin"), anchor=datetime(2026, 1, 1, tzinfo=UTC)
    )
    assert _local(fires, BERLIN) == [
        "2026-01-05 09:00 CET",
        "2026-01-07 09:00 CET",  # 6 January excluded
        "2026-01-08 09:00 CET",
    ]


def test_a_cron_day_of_month_that_never_exists_leaves_its_weekdays_at_once() -> None:
    started = time.monotonic()
    fires = upcoming(Timing(cron="0 9 30 2 mon"), anchor=datetime(2026, 1, 1, tzinfo=UTC))
    assert time.monotonic() - started < 0.5  # not a search until the year 9999
    assert [f.strftime("%a %d %b") for f in fires] == ["Mon 02 Feb", "Mon 09 Feb", "Mon 16 Feb"]


def test_an_rrule_naming_only_dates_that_never_exist_never_fires_at_once() -> None:
    timing = Timing(rrule="FREQ=MINUTELY;BYMONTH=2,4,6;BYMONTHDAY=31", timezone="Europe/Berlin")
    started = time.monotonic()
    assert upcoming(timing, anchor=datetime(2026, 1, 1, tzinfo=UTC)) == []
    assert time.monotonic() - started < 0.5


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("FREQ=SECONDLY", "minute precision"),
        ("FREQ=MINUTELY;BYSECOND=30", "minute precision"),
        ("DTSTART;TZID=Mars/Olympus:20260105T090000\nRRULE:FREQ=DAILY", "unknown time zone"),
    ],
)
def test_rrules_the_scheduler_refuses(rule: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        build_trigger(Timing(rrule=rule), anchor=datetime(2026, 1, 1, tzinfo=UTC))
