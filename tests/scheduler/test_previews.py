"""Previews ("Next run: …", the validator) read a schedule exactly as the scheduler fires
it: `next_fire_time` asked fire after fire gives the scheduler's `upcoming` times, across
DST changes and for cron's day-of-month OR day-of-week too."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.scheduler.conftest import TEAM, World, echo_workflow
from workflows import schedules
from workflows.model import ScheduleTrigger
from workflows.scheduler import Timing
from workflows.schedules import ScheduleError, next_fire_time
from workflows.scheduling.reconcile import SCHEDULE_PREFIX, TriggerSync
from workflows.scheduling.triggers import upcoming

BERLIN = ZoneInfo("Europe/Berlin")


def trigger(**when: str) -> ScheduleTrigger:
    return ScheduleTrigger.model_validate({"type": "schedule", **when})


def previews(schedule: ScheduleTrigger, start: datetime, count: int) -> list[datetime]:
    """What a person is shown, fire after fire, for a schedule active since `start`."""
    shown: list[datetime] = []
    after = start
    for _ in range(count):
        fire = next_fire_time(schedule, after, anchor=start)
        assert fire is not None
        shown.append(after := fire)
    return shown


@pytest.mark.parametrize(
    ("when", "start"),
    [
        # Berlin springs forward 29 Mar 2026 02:00 -> 03:00, falls back 25 Oct 03:00 -> 02:00
        ({"cron": "30 2 * * *", "timezone": "Europe/Berlin"}, datetime(2026, 3, 26, tzinfo=UTC)),
        ({"cron": "30 2 * * *", "timezone": "Europe/Berlin"}, datetime(2026, 10, 22, tzinfo=UTC)),
        (
            {"cron": "*/20 1-3 * * *", "timezone": "Europe/Berlin"},
            datetime(2026, 10, 24, 21, tzinfo=UTC),
        ),
        (
            {"rrule": "FREQ=DAILY;BYHOUR=2;BYMINUTE=30", "timezone": "Europe/Berlin"},
            datetime(2026, 3, 27, tzinfo=UTC),
        ),
        # New York falls back 1 Nov 2026, springs forward 8 Mar 2026
        (
            {
                "rrule": "FREQ=WEEKLY;INTERVAL=2;BYDAY=SU;BYHOUR=1;BYMINUTE=30",
                "timezone": "America/New_York",
            },
            datetime(2026, 10, 15, 17, 42, tzinfo=UTC),
        ),
        ({"cron": "0 9 * * 1-5", "timezone": "America/New_York"}, datetime(2026, 3, 5, tzinfo=UTC)),
        ({"cron": "0 12 13 * fri", "timezone": "UTC"}, datetime(2026, 2, 1, tzinfo=UTC)),
        (
            {"rrule": "FREQ=HOURLY;INTERVAL=5", "timezone": "Europe/Berlin"},
            datetime(2026, 3, 28, 20, 17, tzinfo=UTC),
        ),
    ],
)
def test_previews_are_the_scheduler_fire_times(when: dict[str, Any], start: datetime) -> None:
    schedule = trigger(**when)
    fires = upcoming(Timing.of(schedule), anchor=start, after=start, count=8)
    assert previews(schedule, start, 8) == fires


def test_a_time_that_happens_twice_is_shown_once_as_it_fires() -> None:
    shown = previews(trigger(cron="30 2 * * *", timezone="Europe/Berlin"), _utc(2026, 10, 23), 3)
    assert _berlin(shown) == [
        "2026-10-23 02:30 CEST",
        "2026-10-24 02:30 CEST",
        "2026-10-25 02:30 CEST",  # the second 02:30 (CET) that night does not fire
    ]
    assert _berlin(previews(trigger(cron="30 2 * * *", timezone="Europe/Berlin"), shown[2], 1)) == [
        "2026-10-26 02:30 CET"
    ]


def test_a_time_in_the_spring_gap_is_shown_an_hour_later_as_it_fires() -> None:
    shown = previews(trigger(cron="30 2 * * *", timezone="Europe/Berlin"), _utc(2026, 3, 28), 2)
    assert _berlin(shown) == ["2026-03-28 02:30 CET", "2026-03-29 03:30 CEST"]


async def test_the_next_run_shown_at_activation_is_the_one_the_scheduler_holds(
    world: World,
) -> None:
    whens = [
        {"cron": "0 12 13 * fri", "timezone": "UTC"},
        {"cron": "30 2 * * *", "timezone": "Europe/Berlin"},
        {"rrule": "FREQ=WEEKLY;INTERVAL=3;BYDAY=TU", "timezone": "America/New_York"},
    ]
    async with world.client() as client:
        sync = TriggerSync(world.database, client, world.registry, world.settings)
        for when in whens:
            schedule = {"type": "schedule", **when}
            workflow_id = await world.store(echo_workflow(world.settings.http_base_url, schedule))
            state = await sync.apply(TEAM, workflow_id)
            assert state is not None
            [held] = await client.schedules([SCHEDULE_PREFIX + workflow_id])
            shown = next_fire_time(trigger(**when), state.fires_after, anchor=state.anchor)
            assert shown == held.next_fire_time, when


def test_a_cron_naming_no_real_day_has_no_next_fire() -> None:
    assert next_fire_time(trigger(cron="0 9 30 2 *"), _utc(2026, 1, 1)) is None
    assert (
        next_fire_time(trigger(rrule="FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31"), _utc(2026, 1, 1))
        is None
    )


def test_a_rule_too_costly_to_evaluate_is_refused_in_bounded_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(schedules, "RRULE_CHECK_SECONDS", 0.05)
    never = trigger(rrule="FREQ=WEEKLY;BYMONTH=1;BYWEEKNO=20")  # week 20 is never in January
    started = time.monotonic()
    with pytest.raises(ScheduleError, match="too complex"):
        next_fire_time(never, _utc(2026, 1, 1))
    assert time.monotonic() - started < 0.5


def _utc(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def _berlin(times: list[datetime]) -> list[str]:
    return [t.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M %Z") for t in times]
