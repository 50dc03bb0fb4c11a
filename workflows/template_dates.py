"""Date helpers for workflow templates: relative times evaluated when a run happens.

Every run sees `now`, the moment its trigger happened (the event's own time when the event
says it, the schedule's fire time, or when a manual run started), as a UTC time. Filters
move it in the person's calendar:

    {{ now | in_timezone('Europe/Berlin') | add_days(1) | at('09:00') }}   tomorrow, 09:00
    {{ now | in_timezone('Europe/Berlin') | next_weekday('monday') | at('10:00') }}
    {{ now | add_hours(1) }}                                               in an hour
    {{ now | in_timezone('Europe/Berlin') | add_months(1) | day_of_month(1) | at('09:00') }}
    {{ trigger.received_at | in_timezone('Europe/Berlin') | date }}       '2026-12-04'

Days, weeks and months move the wall clock of the value's zone (09:00 stays 09:00 across a
DST change); minutes and hours are elapsed time. A value renders as ISO 8601 with its UTC
offset. Filters also accept ISO 8601 text with an offset (event payload times).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_SHIFT = 100_000
"""Largest amount a shift filter takes (100 000 days is about 270 years)."""

_CLOCK = re.compile(r"(?P<hour>[01]?\d|2[0-3]):(?P<minute>[0-5]\d)")


class DateHelperError(ValueError):
    """A date filter used on the wrong kind of value or with a bad argument."""


# --- argument checks (shared by the validator and the filters) ---------------------------


def check_zone(name: Any) -> str | None:
    """Why `name` is not an IANA time zone, or None."""
    if not isinstance(name, str) or not name:
        return "in_timezone needs an IANA time zone name such as 'Europe/Berlin'"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {name!r}; use an IANA name such as 'Europe/Berlin'"
    return None


def check_weekday(name: Any) -> str | None:
    if isinstance(name, str) and name.lower() in WEEKDAYS:
        return None
    return f"next_weekday needs a day name such as 'monday' (got {name!r})"


def check_clock(text: Any, filter_name: str = "at") -> str | None:
    if isinstance(text, str) and _CLOCK.fullmatch(text.strip()):
        return None
    return f"{filter_name} needs a 24-hour time such as '09:00' (got {text!r})"


def check_amount(amount: Any, filter_name: str) -> str | None:
    if isinstance(amount, int) and not isinstance(amount, bool) and abs(amount) <= MAX_SHIFT:
        return None
    return f"{filter_name} needs a whole number up to {MAX_SHIFT} (got {amount!r})"


def check_month_day(
    day: Any, filter_name: str = "day_of_month", *, allow_last: bool = True
) -> str | None:
    whole = isinstance(day, int) and not isinstance(day, bool)
    if whole and (1 <= day <= 31 or (allow_last and day == -1)):
        return None
    last = ", or -1 for the last day" if allow_last else ""
    return f"{filter_name} needs a day 1-31{last} (got {day!r})"


def _require(problem: str | None) -> None:
    if problem is not None:
        raise DateHelperError(problem)


# --- values -------------------------------------------------------------------------------


def as_time(value: Any, filter_name: str) -> datetime:
    """An aware datetime from a time value or ISO 8601 text with a UTC offset."""
    moment = value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            moment = None
    if not isinstance(moment, datetime):
        raise DateHelperError(
            f"{filter_name} works on a time such as `now` or an ISO 8601 date-time "
            f"(got {str(value)[:60]!r})"
        )
    if moment.tzinfo is None:
        raise DateHelperError(
            f"{filter_name}: {moment.isoformat()} has no UTC offset, so it is not one moment; "
            "give the offset (…+01:00 or …Z)"
        )
    return moment


def _settle(moment: datetime) -> datetime:
    """The real instant of a wall-clock time (one that a DST change skipped moves on)."""
    return moment.astimezone(UTC).astimezone(moment.tzinfo)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


# --- filters ------------------------------------------------------------------------------


def in_timezone(value: Any, zone: Any) -> datetime:
    _require(check_zone(zone))
    return as_time(value, "in_timezone").astimezone(ZoneInfo(zone))


def _elapsed(name: str, unit: str) -> Callable[[Any, Any], datetime]:
    def shift(value: Any, amount: Any) -> datetime:
        _require(check_amount(amount, name))
        moment = as_time(value, name)
        return (moment.astimezone(UTC) + timedelta(**{unit: amount})).astimezone(moment.tzinfo)

    shift.__name__ = name
    return shift


def _calendar(name: str, days_per_unit: int) -> Callable[[Any, Any], datetime]:
    def shift(value: Any, amount: Any) -> datetime:
        _require(check_amount(amount, name))
        return _settle(as_time(value, name) + timedelta(days=amount * days_per_unit))

    shift.__name__ = name
    return shift


def add_months(value: Any, amount: Any) -> datetime:
    """The same day `amount` months on; a day the month lacks becomes its last day."""
    _require(check_amount(amount, "add_months"))
    moment = as_time(value, "add_months")
    months = moment.year * 12 + moment.month - 1 + amount
    year, month = divmod(months, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return _settle(moment.replace(year=year, month=month + 1, day=day))


def day_of_month(value: Any, day: Any) -> datetime:
    """Day `day` of the value's month (-1: the last day; 31 in a 30-day month: the 30th)."""
    _require(check_month_day(day))
    moment = as_time(value, "day_of_month")
    last = calendar.monthrange(moment.year, moment.month)[1]
    return _settle(moment.replace(day=last if day == -1 else min(day, last)))


def next_day_of_month(value: Any, day: Any) -> datetime:
    """The first day numbered `day` from the value's day on ("on the 15th"); months
    without that day (the 31st in April) are passed over."""
    _require(check_month_day(day, "next_day_of_month", allow_last=False))
    moment = as_time(value, "next_day_of_month")
    year, month = moment.year, moment.month
    for _ in range(13):
        if day <= calendar.monthrange(year, month)[1]:
            candidate = moment.replace(year=year, month=month, day=day)
            if candidate.date() >= moment.date():
                return _settle(candidate)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    raise DateHelperError(f"no month has a day {day}")  # unreachable for 1-31


def next_weekday(value: Any, day: Any) -> datetime:
    """The first `day` after the value's date (a Monday's next Monday is a week on)."""
    _require(check_weekday(day))
    moment = as_time(value, "next_weekday")
    ahead = (WEEKDAYS.index(day.lower()) - moment.weekday()) % 7 or 7
    return _settle(moment + timedelta(days=ahead))


def _clock(text: str) -> time:
    match = _CLOCK.fullmatch(text.strip())
    assert match is not None  # checked by the caller
    return time(int(match.group("hour")), int(match.group("minute")))


def at(value: Any, clock: Any) -> datetime:
    """The value's day at a time of day, in the value's zone."""
    _require(check_clock(clock))
    moment = as_time(value, "at")
    wanted = _clock(clock)
    return _settle(moment.replace(hour=wanted.hour, minute=wanted.minute, second=0, microsecond=0))


def next_at(value: Any, clock: Any) -> datetime:
    """The first time the clock shows `clock` after the value (today's or tomorrow's)."""
    _require(check_clock(clock, "next_at"))
    moment = as_time(value, "next_at")
    candidate = at(moment, clock)
    return candidate if candidate > moment else _settle(candidate + timedelta(days=1))


def date_only(value: Any) -> str:
    """The value's calendar day as YYYY-MM-DD (for all-day events and due dates)."""
    return as_time(value, "date").date().isoformat()


DATE_FILTERS: dict[str, Callable[..., Any]] = {
    "in_timezone": in_timezone,
    "add_minutes": _elapsed("add_minutes", "minutes"),
    "add_hours": _elapsed("add_hours", "hours"),
    "add_days": _calendar("add_days", 1),
    "add_weeks": _calendar("add_weeks", 7),
    "add_months": add_months,
    "day_of_month": day_of_month,
    "next_day_of_month": next_day_of_month,
    "next_weekday": next_weekday,
    "at": at,
    "next_at": next_at,
    "date": date_only,
}

_ARGUMENT_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "in_timezone": check_zone,
    "add_minutes": lambda n: check_amount(n, "add_minutes"),
    "add_hours": lambda n: check_amount(n, "add_hours"),
    "add_days": lambda n: check_amount(n, "add_days"),
    "add_weeks": lambda n: check_amount(n, "add_weeks"),
    "add_months": lambda n: check_amount(n, "add_months"),
    "day_of_month": check_month_day,
    "next_day_of_month": lambda day: check_month_day(day, "next_day_of_month", allow_last=False),
    "next_weekday": check_weekday,
    "at": check_clock,
    "next_at": lambda text: check_clock(text, "next_at"),
}

UNKNOWN_ARGUMENT = object()
"""Stands for an argument only known when the run renders it."""


def argument_problems(name: str, arguments: list[Any]) -> list[str]:
    """What is wrong with a date filter's arguments as written."""
    check = _ARGUMENT_CHECKS.get(name)
    wanted = 0 if check is None else 1
    if len(arguments) != wanted:
        example = "`now | date`" if check is None else f"`now | {name}(…)`"
        return [f"{name} takes {wanted or 'no'} argument{'s' * (wanted != 1)}, e.g. {example}"]
    if check is None or arguments[0] is UNKNOWN_ARGUMENT:
        return []
    problem = check(arguments[0])
    return [problem] if problem else []
