"""When a schedule trigger fires.

`cron` is read the way the scheduler reads it (APScheduler's crontab parser: minute,
hour, day of month, month, day of week with 0 = Sunday); `rrule` is RFC 5545 (dateutil),
optionally with `DTSTART;TZID=…:` / `EXDATE` lines; `at` is an ISO 8601 date-time, read
in the trigger's time zone when it has no offset. ATOM schedules at minute precision, so
`FREQ=SECONDLY` and `BYSECOND` are refused.

`next_fire_time` is bounded in time even for hostile rules (dateutil can otherwise spin
for seconds on a rule that never matches).
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from dateutil.rrule import rrulebase, rrulestr

from workflows.model import ScheduleTrigger

RRULE_CHECK_SECONDS = 0.5
_RRULE_EXECUTOR = ThreadPoolExecutor(max_workers=2, thread_name_prefix="rrule-check")
_SECONDLY = re.compile(r"FREQ\s*=\s*SECONDLY|BYSECOND\s*=", re.IGNORECASE)


class ScheduleError(ValueError):
    """A schedule that cannot be read; the message says what to fix."""


def zone(name: str | None, default: str = "UTC") -> tzinfo:
    """The IANA zone `name` (or `default`)."""
    key = name or default
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ScheduleError(
            f"unknown time zone {key!r}: use an IANA name such as `Europe/Berlin` or `UTC`"
        ) from None


def parse_at(text: str, tz: tzinfo) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ScheduleError(
            f"`at` is not an ISO 8601 date-time: {text!r} (e.g. `2026-03-01T09:00`)"
        ) from None
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment


def cron_trigger(expression: str, tz: tzinfo, start: datetime) -> CronTrigger:
    fields = expression.split()
    if len(fields) != 5:
        raise ScheduleError(
            f"cron needs 5 fields (minute hour day-of-month month day-of-week), "
            f"got {len(fields)}: {expression!r}"
        )
    try:
        return CronTrigger.from_crontab(expression, timezone=tz, start_time=start)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise ScheduleError(f"invalid cron expression {expression!r}: {exc}") from None


def parse_rrule(text: str, tz: tzinfo, dtstart: datetime) -> rrulebase:
    """The rule set of `text`; `dtstart` (aware) is used when the text has no DTSTART."""
    if _SECONDLY.search(text):
        raise ScheduleError(
            "schedules run at minute precision: FREQ=SECONDLY/BYSECOND are not supported"
        )
    body = text.strip()
    if not body:
        raise ScheduleError("the RRULE is empty (e.g. `FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0`)")
    if "RRULE:" not in body.upper() and "DTSTART" not in body.upper():
        body = f"RRULE:{body}"
    start = dtstart.astimezone(tz).replace(second=0, microsecond=0)
    try:
        return rrulestr(body, dtstart=start, forceset=True)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError) as exc:
        raise ScheduleError(f"invalid RRULE {text!r}: {exc}") from None


def _numbers(text: str, part: str) -> list[int]:
    match = re.search(rf"{part}\s*=\s*([-+0-9,\s]+)", text, re.IGNORECASE)
    if not match:
        return []
    return [int(n) for n in match.group(1).replace(" ", "").split(",") if n.lstrip("+-").isdigit()]


def _names_no_real_day(text: str) -> bool:
    """BYMONTH + BYMONTHDAY naming only dates that do not exist (Feb 30, Apr 31): such a
    rule never fires, and dateutil would search until the year 9999 to find that out."""
    months = [m for m in _numbers(text, "BYMONTH") if 1 <= m <= 12]
    days = [d for d in _numbers(text, "BYMONTHDAY") if d > 0]
    if not months or not days or any(d < 0 for d in _numbers(text, "BYMONTHDAY")):
        return False
    return not any(day <= _DAYS_IN_MONTH[month] for month in months for day in days)


_DAYS_IN_MONTH = {
    1: 31,
    2: 29,
    3: 31,
    4: 30,
    5: 31,
    6: 30,
    7: 31,
    8: 31,
    9: 30,
    10: 31,
    11: 30,
    12: 31,
}


def _first_after(rule: rrulebase, after: datetime, deadline: float) -> datetime | None:
    for occurrence in rule:
        if time.monotonic() > deadline:
            raise ScheduleError("the RRULE is too complex to evaluate; simplify it")
        if occurrence.tzinfo is None:  # DTSTART without a zone: wall-clock in `after`'s zone
            occurrence = occurrence.replace(tzinfo=after.tzinfo)
        if occurrence > after:
            return occurrence
    return None


def _rrule_next(rule: rrulebase, after: datetime) -> datetime | None:
    deadline = time.monotonic() + RRULE_CHECK_SECONDS
    future = _RRULE_EXECUTOR.submit(_first_after, rule, after, deadline)
    try:
        return future.result(timeout=RRULE_CHECK_SECONDS)
    except FutureTimeout:
        raise ScheduleError("the RRULE is too complex to evaluate; simplify it") from None
    except ScheduleError:
        raise
    except (ValueError, TypeError, OverflowError) as exc:
        raise ScheduleError(f"invalid RRULE: {exc}") from None


def next_fire_time(
    trigger: ScheduleTrigger, after: datetime, default_timezone: str = "UTC"
) -> datetime | None:
    """The first time strictly after `after` the trigger fires, or None if it never
    will again. Raises ScheduleError when the trigger cannot be read."""
    tz = zone(trigger.timezone, default_timezone)
    local_after = after.astimezone(tz)
    if trigger.at is not None:
        moment = parse_at(trigger.at, tz)
        return moment if moment > after else None
    if trigger.cron is not None:
        # CronTrigger fires at or after its start time; one second later makes it "after".
        return cron_trigger(trigger.cron, tz, local_after + timedelta(seconds=1)).next()
    text = trigger.rrule or ""
    rule = parse_rrule(text, tz, local_after)
    return None if _names_no_real_day(text) else _rrule_next(rule, local_after)
