"""Fire times of schedule triggers: cron, RFC 5545 RRULE, one-off `at`, fixed intervals.
This module is the one reading of a schedule: the scheduler fires through it and
`workflows.schedules.next_fire_time` (the validator, "Next run: …" previews) asks it.

Cron and RRULE both expand through `dateutil.rrule` in the *wall-clock* time of the
workflow's zone, so "every Monday at 09:00 Europe/Berlin" stays at 09:00 across DST.
(APScheduler 4.0.0a6's own CronTrigger fires a daily 02:30 job twice on the night
clocks go back; its DST fixes are unreleased.) Around a DST change:

- a wall time that does not exist (the spring-forward gap) fires at the instant the
  clock would show had it not jumped — 02:30 fires at 03:30 —, once;
- a wall time that happens twice (fall back) fires once, at its first occurrence.

A cron expression becomes one or two RRULEs (`FREQ=DAILY` with `BYHOUR`/`BYMINUTE`
lists; two when both day-of-month and day-of-week are restricted, which cron ORs).
An RRULE's zone-less (floating) DTSTART/EXDATE/RDATE times are read in the trigger's
zone. ATOM schedules at minute precision, so `FREQ=SECONDLY` and `BYSECOND` are refused.

The triggers are APScheduler `Trigger`s, pickled into its data store: their state is a
versioned dict so a stored schedule survives an upgrade of this module.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.abc import Trigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from dateutil.rrule import rruleset, rrulestr

from workflows.scheduler import Timing

STATE_VERSION = 1


class ScheduleError(ValueError):
    """A schedule that cannot be read; the message says what to fix."""


class NeverFires(ScheduleError):
    """A schedule that can be read but names no date that exists (e.g. 30 February)."""


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
    """An `at` date-time; one without an offset is wall-clock time in `tz`."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ScheduleError(
            f"`at` is not an ISO 8601 date-time: {text!r} (e.g. `2026-03-01T09:00`)"
        ) from None
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment


# --- cron -> RRULE -----------------------------------------------------------------------

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
_WEEKDAYS = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
_RRULE_DAYS = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")
_CRON_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


@dataclass(frozen=True)
class _CronField:
    name: str
    low: int
    high: int
    names: dict[str, int]


_CRON_FIELDS = (
    _CronField("minute", 0, 59, {}),
    _CronField("hour", 0, 23, {}),
    _CronField("day of month", 1, 31, {}),
    _CronField("month", 1, 12, _MONTHS),
    _CronField("day of week", 0, 7, _WEEKDAYS),
)


def _cron_number(text: str, spec: _CronField, expression: str) -> int:
    value = spec.names.get(text.lower()) if spec.names else None
    if value is None:
        if not text.isdigit():
            raise _cron_error(expression, f"{text!r} is not a valid {spec.name}")
        value = int(text)
    if not spec.low <= value <= spec.high:
        raise _cron_error(expression, f"{spec.name} {value} is outside {spec.low}-{spec.high}")
    return value


def _cron_error(expression: str, problem: str) -> ScheduleError:
    return ScheduleError(f"invalid cron expression {expression!r}: {problem}")


def _cron_values(text: str, spec: _CronField, expression: str) -> set[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise _cron_error(expression, f"step {step_text!r} must be 1 or more")
            step = int(step_text)
        if base == "*":
            first, last = spec.low, spec.high
        elif "-" in base:
            start, _, end = base.partition("-")
            first, last = (_cron_number(v, spec, expression) for v in (start, end))
            if first > last:
                raise _cron_error(expression, f"range {base!r} runs backwards")
        else:
            first = _cron_number(base, spec, expression)
            last = spec.high if step_text else first
        values.update(range(first, last + 1, step))
    return values


def _never_fires(days: set[int], months: set[int]) -> bool:
    """Whether no chosen month has any chosen day (e.g. 30 February)."""
    return all(min(days) > calendar.monthrange(2024, month)[1] for month in months)


def cron_to_rrules(expression: str) -> list[str]:
    """The RRULEs (one or two) that fire when the 5-field cron `expression` does."""
    fields = _CRON_MACROS.get(expression.strip().lower(), expression).split()
    if len(fields) != 5:
        raise ScheduleError(
            f"cron needs 5 fields (minute hour day-of-month month day-of-week), got "
            f"{len(fields)}: {expression!r}"
        )
    minutes, hours, days, months, weekdays = (
        _cron_values(text, spec, expression)
        for text, spec in zip(fields, _CRON_FIELDS, strict=True)
    )
    weekdays = {0 if day == 7 else day for day in weekdays}
    base = f"FREQ=DAILY;BYHOUR={_csv(hours)};BYMINUTE={_csv(minutes)};BYSECOND=0"
    if len(months) < 12:
        base += f";BYMONTH={_csv(months)}"
    by_day = f";BYMONTHDAY={_csv(days)}" if len(days) < 31 else ""
    by_weekday = (
        ";BYDAY=" + ",".join(_RRULE_DAYS[d] for d in sorted(weekdays)) if len(weekdays) < 7 else ""
    )
    either_day = bool(by_day and by_weekday) and not (
        fields[2].startswith("*") or fields[4].startswith("*")
    )
    impossible_days = bool(by_day) and _never_fires(days, months)
    if either_day:  # cron runs when EITHER the day of month OR the day of week matches
        # (a day-of-month rule naming no real date is left out: dateutil would search
        # until the year 9999 for it before giving the weekday rule's first fire)
        return [base + by_weekday] if impossible_days else [base + by_day, base + by_weekday]
    if impossible_days:
        raise NeverFires(f"cron `{expression}` never fires: no chosen month has those days")
    return [base + by_day + by_weekday]


def _csv(values: set[int]) -> str:
    return ",".join(str(v) for v in sorted(values))


# --- RRULE -------------------------------------------------------------------------------


_SECONDLY = re.compile(r"FREQ\s*=\s*SECONDLY|BYSECOND\s*=", re.IGNORECASE)
_DATE_LINE = re.compile(r"^(DTSTART|EXDATE|RDATE)((?:;[^:]*)?):(.*)$", re.IGNORECASE)
_TZID = re.compile(r";TZID=([^;:]*)", re.IGNORECASE)


def recurrence_text(rule: str, timezone: str) -> str:
    """RFC 5545 lines from what a person wrote: a bare `FREQ=…` rule, or lines such as
    `RRULE:…`, `EXDATE:…`, `DTSTART;TZID=…:…` (a DTSTART line fixes both the start and
    the zone the rule is expanded in). Floating DTSTART/EXDATE/RDATE times (no `Z`, no
    TZID) are read in `timezone`."""
    if _SECONDLY.search(rule):
        raise ScheduleError(
            "schedules run at minute precision: FREQ=SECONDLY/BYSECOND are not supported"
        )
    lines = [line.strip() for line in rule.strip().splitlines() if line.strip()]
    if not lines:
        raise ScheduleError("the rrule is empty: write e.g. `FREQ=WEEKLY;BYDAY=MO;BYHOUR=9`")
    zone(timezone)
    for named in _TZID.findall(rule):
        zone(named)
    return "\n".join(
        _in_zone(line, timezone) if ":" in line else f"RRULE:{line.upper()}" for line in lines
    )


def _in_zone(line: str, timezone: str) -> str:
    """A DTSTART/EXDATE/RDATE line with floating times, given the TZID `timezone`
    (dateutil would otherwise mix naive and aware date-times)."""
    match = _DATE_LINE.match(line)
    if match is None:
        return line
    name, params, values = match.groups()
    if "TZID=" in params.upper() or "Z" in values.upper():
        return line
    return f"{name};TZID={timezone}{params}:{values}"


def _has_dtstart(text: str) -> bool:
    return any(line.upper().startswith("DTSTART") for line in text.splitlines())


def _rebasable(text: str) -> bool:
    """Whether DTSTART may move forward to the last occurrence without changing the
    occurrences after it: true unless the text fixes DTSTART or counts (COUNT)."""
    return not _has_dtstart(text) and "COUNT=" not in text.upper()


@lru_cache(maxsize=4096)
def _parse(text: str, dtstart: datetime | None) -> rruleset:
    try:
        rules = rrulestr(text, dtstart=dtstart, forceset=True)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError) as exc:
        raise ScheduleError(f"invalid RRULE `{text}`: not a valid RFC 5545 rule ({exc})") from None
    assert isinstance(rules, rruleset)
    return rules


def _by_numbers(rule: str, part: str) -> set[int]:
    match = re.search(rf"{part}\s*=\s*([-+0-9,\s]+)", rule, re.IGNORECASE)
    if match is None:
        return set()
    numbers = match.group(1).replace(" ", "").split(",")
    return {int(n) for n in numbers if n.lstrip("+-").isdigit()}


def _names_no_real_date(rule: str) -> bool:
    """BYMONTH + BYMONTHDAY naming only dates that do not exist (30 February)."""
    months = {m for m in _by_numbers(rule, "BYMONTH") if 1 <= m <= 12}
    days = _by_numbers(rule, "BYMONTHDAY")
    if not months or not days or min(days) < 1:
        return False
    return _never_fires(days, months)


@lru_cache(maxsize=4096)
def _never_occurs(text: str) -> bool:
    """Whether the rule set has no occurrence at all because every RRULE names only
    dates that do not exist and no RDATE adds one. dateutil would search until the year
    9999 (seconds of CPU) to find that out."""
    lines = text.upper().splitlines()
    rules = [line for line in lines if line.startswith("RRULE")]
    if not rules or any(line.startswith("RDATE") for line in lines):
        return False
    return all(_names_no_real_date(rule) for rule in rules)


class WallClockTrigger(Trigger):
    """Occurrences of RFC 5545 recurrence lines, expanded in wall-clock time of `timezone`.

    `anchor` is DTSTART when the text has none (it sets the phase of `INTERVAL` and the
    defaults of unspecified BYHOUR/BYMINUTE/…); only occurrences strictly after `after`
    (an instant) fire. Fire times are returned in UTC.
    """

    __slots__ = ("_floor", "_last_local", "after", "anchor", "recurrence", "timezone")

    def __init__(
        self, recurrence: str, timezone: str, anchor: datetime, after: datetime | None = None
    ) -> None:
        self.recurrence = recurrence
        self.timezone = timezone
        self.anchor = _wall_clock_anchor(anchor, zone(timezone))
        self.after = after
        self._floor: datetime | None = after
        self._last_local: datetime | None = None
        _parse(recurrence, None if _has_dtstart(recurrence) else self.anchor)

    def next(self) -> datetime | None:
        """The next fire time (UTC), strictly later than the previous one. Raises
        ScheduleError when the rule cannot be evaluated."""
        if _never_occurs(self.recurrence):
            return None
        try:
            candidate = self._next_local()
        except ScheduleError:
            raise
        except (ValueError, TypeError, OverflowError) as exc:
            raise ScheduleError(
                f"the rule `{self.recurrence}` cannot be evaluated: {exc}"
            ) from None
        if candidate is None:
            return None
        self._last_local = candidate
        self._floor = _utc(candidate)
        return self._floor

    def _next_local(self) -> datetime | None:
        dtstart = None if _has_dtstart(self.recurrence) else self.anchor
        if self._last_local is not None and _rebasable(self.recurrence):
            dtstart = self._last_local
        rules = _parse(self.recurrence, dtstart)
        if self._last_local is not None:  # wall-clock comparison: same tzinfo
            candidate = rules.after(self._last_local, inc=False)
        elif self._floor is not None:  # instant comparison: UTC vs the zone
            candidate = rules.after(self._floor.astimezone(UTC), inc=False)
        else:
            candidate = rules.after(self.anchor, inc=True)
        while candidate is not None and self._floor is not None and _utc(candidate) <= self._floor:
            candidate = rules.after(candidate, inc=False)  # a gap time mapped backwards
        return candidate

    def __getstate__(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "recurrence": self.recurrence,
            "timezone": self.timezone,
            "anchor": self.anchor,
            "after": self.after,
            "floor": self._floor,
            "last_local": self._last_local,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported WallClockTrigger state version {state.get('version')}")
        self.recurrence = state["recurrence"]
        self.timezone = state["timezone"]
        self.anchor = state["anchor"]
        self.after = state["after"]
        self._floor = state["floor"]
        self._last_local = state["last_local"]

    def __repr__(self) -> str:
        return f"WallClockTrigger({self.recurrence!r}, {self.timezone!r})"


def _wall_clock_anchor(anchor: datetime, tz: tzinfo) -> datetime:
    """DTSTART: the anchor in the zone, to the whole minute (so an rrule without BYSECOND
    fires on :00)."""
    if anchor.tzinfo is None:
        raise ScheduleError("a schedule anchor must be timezone-aware")
    return anchor.astimezone(tz).replace(second=0, microsecond=0)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


# --- building triggers ---------------------------------------------------------------------


def build_trigger(timing: Timing, anchor: datetime, after: datetime | None = None) -> Trigger:
    """The APScheduler trigger for `timing`. `anchor` is when the schedule became active
    (RRULE phase, interval start); only fire times strictly after `after` are produced."""
    tz_name = timing.timezone or "UTC"
    if timing.cron is not None:
        return WallClockTrigger(
            "\n".join(f"RRULE:{rule}" for rule in cron_to_rrules(timing.cron)),
            tz_name,
            anchor,
            after,
        )
    if timing.rrule is not None:
        return WallClockTrigger(recurrence_text(timing.rrule, tz_name), tz_name, anchor, after)
    if timing.at is not None:
        return _OnceTrigger(parse_at(timing.at, zone(tz_name)), after)
    assert timing.every_seconds is not None
    if timing.every_seconds <= 0:
        raise ScheduleError("an interval must be positive")
    start = anchor if after is None else max(anchor, after + timedelta(microseconds=1))
    return IntervalTrigger(seconds=timing.every_seconds, start_time=start)


class _OnceTrigger(DateTrigger):
    """DateTrigger that is already spent when its time is not after `after`."""

    def __init__(self, run_time: datetime, after: datetime | None) -> None:
        super().__init__(run_time)
        if after is not None and run_time <= after:
            self.next()  # mark it completed

    def __repr__(self) -> str:
        return f"OnceTrigger({self.run_time.isoformat()})"


def upcoming(
    timing: Timing, anchor: datetime, after: datetime | None = None, count: int = 3
) -> list[datetime]:
    """The next `count` fire times (UTC) — for previews ("next runs: …") and validation.
    Blocking for rules that never fire (dateutil searches to year 9999): call it from a
    thread inside an event loop."""
    trigger = build_trigger(timing, anchor, after)
    times: list[datetime] = []
    while len(times) < count and (moment := trigger.next()) is not None:
        times.append(moment)
    return times
