"""When a schedule trigger fires, for the validator and for previews ("Next run: …").

The answer comes from the scheduler's own trigger code (workflows/scheduling/triggers.py:
cron and RRULE expanded in wall-clock time, DST-correct, cron's day-of-month OR
day-of-week), so what a person is shown is when the scheduler fires. `at` is an ISO 8601
date-time, read in the trigger's time zone when it has no offset.

`next_fire_time` is bounded in time even for hostile rules (dateutil can otherwise spin
for seconds on a rule that never matches).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime

from workflows.model import ScheduleTrigger
from workflows.scheduler import Timing
from workflows.scheduling.triggers import NeverFires, ScheduleError, build_trigger, parse_at, zone

__all__ = ["ScheduleError", "next_fire_time", "parse_at", "zone"]

RRULE_CHECK_SECONDS = 0.5
_RRULE_EXECUTOR = ThreadPoolExecutor(max_workers=2, thread_name_prefix="rrule-check")


def next_fire_time(
    trigger: ScheduleTrigger,
    after: datetime,
    default_timezone: str = "UTC",
    anchor: datetime | None = None,
) -> datetime | None:
    """The first time strictly after `after` the trigger fires, or None if it never
    will again. `anchor` is when the schedule became active (what the scheduler gives
    an RRULE as its start: the phase of INTERVAL, the default hour and minute; default
    `after`). Raises ScheduleError when the trigger cannot be read or its rule is too
    costly to evaluate."""
    timing = Timing.of(trigger, default_timezone)
    try:
        fires = build_trigger(timing, anchor or after, after)
    except NeverFires:
        return None
    future = _RRULE_EXECUTOR.submit(fires.next)
    try:
        return future.result(timeout=RRULE_CHECK_SECONDS)
    except FutureTimeout:
        future.cancel()
        raise ScheduleError("the RRULE is too complex to evaluate; simplify it") from None
