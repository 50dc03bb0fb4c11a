"""Time expressions in requests: recurring schedules, one-off moments, durations.

    find_schedule("post it every weekday at 9am")  -> Recurring(cron="0 9 * * 1-5")
    find_moment("tomorrow at 3pm", now)            -> Moment(at=<tomorrow 15:00, now's zone>)
    find_duration("a 30-minute event")             -> Found(30, span)

`now` is an aware datetime in the user's time zone; every result is in that zone.
Each finder returns the span of text it read, so the caller can cut it out of a clause.

Conventions (stated in the plan's summary, so a person can correct them):
- a bare hour after "at" is read as office hours: 7–11 am, 12 noon, 1–6 pm ("at 5" is 17:00);
- a recurring schedule without a time runs at 09:00 ("every Monday", "on the 1st of every
  month"); "morning" is 09:00, "afternoon" 14:00, "evening" 18:00, "night" 20:00;
- "next Tuesday" and "on Tuesday" mean the first Tuesday after today; "this Tuesday" is
  today when today is Tuesday;
- a time of day without a day ("at 5pm") is its next occurrence.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Generic, TypeVar

T = TypeVar("T")

DEFAULT_TIME = time(9, 0)
DAY_PARTS = {
    "morning": time(9, 0),
    "afternoon": time(14, 0),
    "evening": time(18, 0),
    "night": time(20, 0),
    "tonight": time(20, 0),
    "noon": time(12, 0),
    "midday": time(12, 0),
    "lunchtime": time(12, 0),
    "midnight": time(0, 0),
    "end of day": time(17, 0),
    "eod": time(17, 0),
}
WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY_PREFIXES = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
MONTH_NAMES = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty-five": 45,
    "ninety": 90,
}
ORDINAL_WORDS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "fifteenth": 15,
    "twentieth": 20,
    "last": -1,
}

# --- regex building blocks ---------------------------------------------------------------

DAY = (
    r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday"
    r"|mon|tues?|wed|weds|thu|thur|thurs|fri|sat|sun)"
)
DAY_LIST = rf"{DAY}s?(?:\s*(?:,\s*and|,|and|&|/|\+|or)\s*{DAY}s?)*"
MONTH = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november"
    r"|december|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)"
)
ORDINAL = (
    r"(?:\d{1,2}(?:st|nd|rd|th)?|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth"
    r"|tenth|fifteenth|twentieth|last)"
)
NUMBER = rf"(?:\d+|{'|'.join(sorted(NUMBER_WORDS, key=len, reverse=True))})"
PART = r"(?:morning|afternoon|evening|night)"

CLOCK = re.compile(
    r"(?<![\w:/.-])(?:"
    r"(?:12(?:[:.]00)?\s*)?(?P<named>noon|midday|midnight|lunchtime|end of (?:the )?day|eod)\b"
    r"|(?P<h12>\d{1,2})(?:[:.](?P<m12>\d{2}))?\s*(?P<ampm>[ap])\.?\s?m\b\.?"
    r"|(?P<h24>\d{1,2}):(?P<m24>\d{2})(?!\d)"
    r")",
    re.IGNORECASE,
)
BARE_HOUR = re.compile(
    r"\b(?:at|@|around|by)\s+(?P<hour>\d{1,2})(?:\s*o'?clock)?(?![\w:./%-]|\s*(?:[ap]\.?\s?m\b|%))",
    re.IGNORECASE,
)
_AT_BEFORE = re.compile(r"\b(?:at|@|around|by)\s+$", re.IGNORECASE)
_LINK = r"[\s,]*(?:(?:at|@|around|by|from|starting)\s+)?"
_PART_LINK = rf"[\s,]*(?:(?:in\s+the\s+)?{PART}\s*)?"


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


EVERY = r"(?:every|evry|evrey|eveyr|evey|everey|each)"
"""'every' as people type it (a dropped or swapped letter) or 'each'."""
INTERVAL = r"(?P<n>other|second|2nd|\d+|two|three|four)"

RECURRING_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("minutes", _rx(rf"\b{EVERY}\s+(?P<n>{NUMBER})\s+(?:minutes?|mins?)\b")),
    ("half_hour", _rx(rf"\b{EVERY}\s+half\s+(?:an\s+)?hour\b|\btwice\s+an\s+hour\b")),
    ("hours", _rx(rf"\b{EVERY}\s+(?P<n>{NUMBER})\s+(?:hours?|hrs?)\b")),
    ("hourly", _rx(rf"\b{EVERY}\s+hour\b|\b(?P<bare>hourly)\b")),
    (
        "weekdays",
        _rx(
            rf"\b(?:{EVERY}|on)\s+(?:single\s+)?(?:week\s?day|work\s?day|working\s+day|business\s+day)s?"
            rf"(?:\s+{PART})?\b|\bweekdays\b(?:\s+{PART}\b)?"
            rf"|\b(?:{EVERY}\s+day\s+|on\s+)?mon(?:day)?\s*(?:-|–|to|through|thru)\s*fri(?:day)?\b"
        ),
    ),
    ("weekends", _rx(rf"\b(?:{EVERY}|on)\s+weekends?\b|\bweekends\b")),
    (
        "monthly_weekday",
        _rx(
            rf"\b(?:on\s+)?(?:the\s+)?(?P<ord>first|second|third|fourth|last|1st|2nd|3rd|4th)\s+"
            rf"(?P<day>{DAY})\s+(?:of\s+)?(?:{EVERY}|the|a)\s+month\b"
        ),
    ),
    (
        "monthly",
        _rx(
            rf"\b(?:on\s+)?(?:the\s+|{EVERY}\s+)?(?P<ord>{ORDINAL})(?:\s+day)?\s+of\s+"
            rf"(?:{EVERY}|the|a)\s+month\b"
            rf"|\b{EVERY}\s+month\s+on\s+the\s+(?P<ord2>{ORDINAL})(?:\s+day)?\b"
            rf"|\bmonthly\s+on\s+the\s+(?P<ord3>{ORDINAL})(?:\s+day)?\b"
            rf"|\b{EVERY}\s+month\b|\b(?P<bare>monthly)\b"
        ),
    ),
    (
        "weeks_interval",
        _rx(
            rf"\b(?:{EVERY}\s+{INTERVAL}\s+weeks?|(?P<bi>bi-?weekly|fortnightly))"
            rf"(?:\s+on\s+(?P<days>{DAY_LIST}))?\b"
            rf"|\b{EVERY}\s+(?P<n2>other|second)\s+(?P<days2>{DAY_LIST})\b"
        ),
    ),
    ("days_interval", _rx(rf"\b{EVERY}\s+{INTERVAL}\s+days?\b")),
    (
        "weekly_days",
        _rx(
            rf"\b{EVERY}\s+(?:week\s+on\s+)?(?P<days>{DAY_LIST})\b"
            rf"|\bweekly\s+on\s+(?P<days2>{DAY_LIST})\b"
            rf"|\b(?:on\s+)?(?P<plural>{DAY}s(?:\s*(?:,\s*and|,|and|&|/|or)\s*{DAY}s)*)\b"
        ),
    ),
    ("weekly", _rx(rf"\b{EVERY}\s+week\b|\b(?P<bare>weekly)\b")),
    (
        "daily",
        _rx(
            rf"\b{EVERY}\s+(?:single\s+)?(?P<part>day|{PART})\b|\beveryday\b"
            r"|\b(?P<bare>daily|nightly)\b"
        ),
    ),
)

_ADJECTIVE_BEFORE = _rx(
    r"(?:\b(?:the|my|our|your|his|her|their|its|this|that|called|named|titled|"
    r"subject|about|for|of)|'s)\s+$"
)
_ARTICLE_BEFORE = _rx(r"\b(?:a|an)\s+$")
_ADVERB_AFTER = _rx(
    r"\s*(?:$|[,;:.!?)]|(?:at|on|in|from|starting|by|around|@|and|then|except|until|to|"
    r"post|send|email|e-mail|mail|create|add|make|remind|message|dm|notify|tell|share|check|"
    r"run|open|list|ping|copy|upload|save|summari[sz]e|schedule|book|block|text)\b)"
)


def _names_a_thing(text: str, match: re.Match[str]) -> bool:
    """True when a bare "daily"/"weekly"/… describes a thing ("the weekly report", "a
    card called Daily standup") rather than saying how often something runs ("post it
    daily", "weekly on Fridays", "daily at 9")."""
    if match.groupdict().get("bare") is None:
        return False
    before = text[max(0, match.start() - 20) : match.start()]
    if _ADJECTIVE_BEFORE.search(before):
        return True
    if _ARTICLE_BEFORE.search(before):
        return False  # "send me a daily summary": how often, said as a thing
    return _ADVERB_AFTER.match(text, match.end()) is None


def _first_schedule_match(text: str, pattern: re.Pattern[str]) -> re.Match[str] | None:
    return next((m for m in pattern.finditer(text) if not _names_a_thing(text, m)), None)


RELATIVE_DAY = _rx(
    r"\b(?P<word>the\s+day\s+after\s+tomorrow|tomorrow|tmrw|tonight|today|this\s+"
    rf"(?:{PART}))\b(?:\s+(?P<part>{PART}))?"
)
WEEKDAY_DAY = _rx(rf"\b(?:(?P<which>next|this|on|coming|this\s+coming)\s+)?(?P<day>{DAY})\b(?!s\b)")
MONTH_DAY = _rx(
    rf"\b(?:on\s+)?(?:(?P<month>{MONTH})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?"
    rf"|(?:the\s+)?(?P<day2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<month2>{MONTH})\.?)"
    r"(?:,?\s+(?P<year>\d{4}))?\b"
)
ISO_DATE = _rx(
    r"\b(?:on\s+)?(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})(?:[T ](?P<hh>\d{2}):(?P<mm>\d{2}))?\b"
)
NTH_OF_MONTH = _rx(rf"\bon\s+the\s+(?P<ord>{ORDINAL})\b(?!\s+(?:day\s+)?of\b)")
IN_DELTA = _rx(
    rf"\bin\s+(?P<n>{NUMBER}|half\s+an)\s+(?P<unit>minutes?|mins?|hours?|hrs?|days?|weeks?)\b"
)
NEXT_WEEK = _rx(r"\bnext\s+week\b")
OF_NEXT_MONTH = _rx(rf"\b(?:on\s+)?(?:the\s+)?(?P<ord>{ORDINAL})(?:\s+day)?\s+of\s+next\s+month\b")
DURATION = _rx(
    rf"\b(?:for\s+)?(?:(?P<half>half\s+an?\s+hour)|(?P<n>{NUMBER}|\d+(?:\.\d+)?)[\s-]*(?P<unit>"
    r"minutes?|mins?|hours?|hrs?|h)(?:[\s-]+long)?)\b"
)


# --- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Found(Generic[T]):
    """A value read from the text and where: `text[start:end]`."""

    value: T
    start: int
    end: int


@dataclass(frozen=True)
class Recurring:
    """A repeating schedule: exactly one of `cron` (5 fields, 0 = Sunday) or `rrule`."""

    cron: str | None = None
    rrule: str | None = None


@dataclass(frozen=True)
class Shift:
    """How a moment is counted from the time it is said: "tomorrow" is one day on,
    "next Monday" the first Monday after, "in 2 hours" 120 minutes on, "on the 15th" the
    next 15th. A workflow that runs again and again counts it from each run instead (see
    `workflows.planning.relative`). Applied in this order: days, months, the day of the
    month, the weekday, then the time of day."""

    days: int = 0
    months: int = 0
    minutes: int = 0
    month_day: int | None = None  # that day of the month reached by `months`
    next_month_day: int | None = None  # the next day with this number, from the day on
    weekday: int | None = None  # the first such weekday after the day (Monday = 0)
    clock: time | None = None  # at this time of day (None: the time itself moves)
    next_clock: bool = False  # the next time the clock shows `clock` (a time alone)


@dataclass(frozen=True)
class Moment:
    """A one-off point in time. `clock_given` is False when the time of day is a default
    (e.g. "tomorrow" alone is 09:00). `shift` says how it was reached from now, None for a
    date named outright ("March 3", "2026-12-01")."""

    at: datetime
    clock_given: bool = True
    shift: Shift | None = None


# --- clock times ---------------------------------------------------------------------------


def _clock_value(match: re.Match[str]) -> time | None:
    if match.group("named"):
        return DAY_PARTS[re.sub(r"end of (?:the )?day", "end of day", match.group("named").lower())]
    if match.group("h12"):
        hour, minute = int(match.group("h12")), int(match.group("m12") or 0)
        if not 1 <= hour <= 12 or minute > 59:
            return None
        pm = match.group("ampm").lower() == "p"
        return time((hour % 12) + (12 if pm else 0), minute)
    hour, minute = int(match.group("h24")), int(match.group("m24"))
    return time(hour, minute) if hour <= 23 and minute <= 59 else None


def _bare_hour(hour: int) -> time | None:
    """Office-hours reading of "at 5": 7-11 am, 12 noon, 1-6 pm; 13-23 as given."""
    if hour > 23:
        return None
    if 1 <= hour <= 6:
        return time(hour + 12, 0)
    return time(hour, 0)


def find_clock(text: str, start: int = 0, end: int | None = None) -> Found[time] | None:
    """The first time of day in `text[start:end]` ("9am", "18:30", "noon", "at 11")."""
    end = len(text) if end is None else end
    found: list[Found[time]] = []
    for match in CLOCK.finditer(text, start, end):
        value = _clock_value(match)
        if value is not None:
            lead = _AT_BEFORE.search(text, max(start, match.start() - 8), match.start())
            found.append(Found(value, lead.start() if lead else match.start(), match.end()))
            break
    for match in BARE_HOUR.finditer(text, start, end):
        value = _bare_hour(int(match.group("hour")))
        if value is not None:
            found.append(Found(value, match.start(), match.end()))
            break
    return min(found, key=lambda f: f.start) if found else None


def _clock_after(text: str, position: int) -> Found[time] | None:
    """A clock time right after `position` (only "at", commas or a day part between)."""
    link = _rx(rf"{_PART_LINK}{_LINK}").match(text, position)
    assert link is not None  # the pattern matches the empty string
    clock = find_clock(text, position)
    if clock is None or clock.start > link.end():
        return None
    return Found(clock.value, position, clock.end)


def _clock_before(text: str, position: int) -> Found[time] | None:
    """A clock time right before `position` ("at 9am every weekday")."""
    window_start = max(0, position - 30)
    best: Found[time] | None = None
    for candidate in _all_clocks(text, window_start, position):
        gap = text[candidate.end : position]
        if re.fullmatch(r"[\s,]*(?:on\s+|every\s+)?", gap, re.IGNORECASE):
            best = candidate
    return best


def _all_clocks(text: str, start: int, end: int) -> list[Found[time]]:
    found: list[Found[time]] = []
    position = start
    while position < end:
        clock = find_clock(text, position, end)
        if clock is None:
            break
        found.append(clock)
        position = clock.end
    return found


def _day_part_near(text: str, start: int, end: int) -> time | None:
    match = _rx(rf"\b(?P<part>{PART})\b").search(text, start, min(len(text), end + 20))
    return DAY_PARTS[match.group("part").lower()] if match else None


def _with_clock(
    text: str, start: int, end: int, default: time | None
) -> tuple[time | None, int, int, bool]:
    """The time of day that goes with a date/schedule phrase at `text[start:end]`:
    (time, start, end, given). The span grows to cover the clock."""
    after = _clock_after(text, end)
    if after is not None:
        return after.value, start, after.end, True
    before = _clock_before(text, start)
    if before is not None:
        return before.value, before.start, end, True
    part = _day_part_near(text, start, end)
    if part is not None:
        return part, start, end, False
    return default, start, end, False


# --- recurring schedules ------------------------------------------------------------------


def _number(word: str) -> int:
    word = word.lower()
    return int(word) if word.isdigit() else NUMBER_WORDS.get(word, 0)


def _ordinal(word: str) -> int:
    word = word.lower()
    digits = re.match(r"\d+", word)
    return int(digits.group()) if digits else ORDINAL_WORDS.get(word, 0)


def weekday_index(word: str) -> int:
    """Monday = 0 … Sunday = 6, from a day name or abbreviation (plural allowed)."""
    return _WEEKDAY_PREFIXES[word.lower()[:3]]


def _cron_day(weekday: int) -> int:
    return (weekday + 1) % 7


def _days_in(text: str) -> list[int]:
    return sorted({weekday_index(m.group()) for m in _rx(DAY).finditer(text)})


def _cron_days(days: list[int]) -> str:
    numbers = sorted(_cron_day(d) for d in days)
    if numbers == [1, 2, 3, 4, 5]:
        return "1-5"
    return ",".join(str(n) for n in numbers)


_RRULE_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def _interval(word: str | None) -> int:
    """2 for "other"/"second"/"2nd"/bi-weekly, else the number ("every 3 weeks")."""
    if word is None or word.lower() in ("other", "second", "2nd"):
        return 2
    return _number(word)


def _every_few(kind: str, groups: dict[str, str | None], clock: time) -> Recurring | None:
    """Every other / every N weeks or days: an RRULE, whose INTERVAL is counted from when
    the workflow is activated."""
    interval = _interval(groups.get("n") or groups.get("n2"))
    if not 2 <= interval <= 12:
        return None
    at = f"BYHOUR={clock.hour};BYMINUTE={clock.minute}"
    if kind == "days_interval":
        return Recurring(rrule=f"FREQ=DAILY;INTERVAL={interval};{at}")
    day_words = groups.get("days") or groups.get("days2")
    days = ",".join(_RRULE_DAYS[d] for d in _days_in(day_words)) if day_words else "MO"
    return Recurring(rrule=f"FREQ=WEEKLY;INTERVAL={interval};BYDAY={days};{at}")


def _recurring(kind: str, match: re.Match[str], clock: time) -> Recurring | None:
    at = f"{clock.minute} {clock.hour}"
    groups = match.groupdict()
    if kind in ("weeks_interval", "days_interval"):
        return _every_few(kind, groups, clock)
    if kind == "minutes":
        n = _number(groups["n"])
        return Recurring(cron=f"*/{n} * * * *") if 1 <= n <= 59 else None
    if kind == "half_hour":
        return Recurring(cron="*/30 * * * *")
    if kind == "hours":
        n = _number(groups["n"])
        return Recurring(cron=f"0 */{n} * * *") if 1 <= n <= 23 else None
    if kind == "hourly":
        return Recurring(cron="0 * * * *")
    if kind == "weekdays":
        return Recurring(cron=f"{at} * * 1-5")
    if kind == "weekends":
        return Recurring(cron=f"{at} * * 0,6")
    if kind == "daily":
        return Recurring(cron=f"{at} * * *")
    if kind == "weekly":
        return Recurring(cron=f"{at} * * 1")
    if kind == "weekly_days":
        days = _days_in(groups["days"] or groups["days2"] or groups["plural"])
        return Recurring(cron=f"{at} * * {_cron_days(days)}")
    if kind == "monthly":
        ordinal = groups["ord"] or groups["ord2"] or groups["ord3"]
        day = _ordinal(ordinal) if ordinal else 1
        if day == -1:
            return Recurring(
                rrule=f"FREQ=MONTHLY;BYMONTHDAY=-1;BYHOUR={clock.hour};BYMINUTE={clock.minute}"
            )
        return Recurring(cron=f"{at} {day} * *") if 1 <= day <= 31 else None
    # monthly_weekday: "the first Monday of every month"
    position = _ordinal(groups["ord"])
    day_code = _RRULE_DAYS[weekday_index(groups["day"])]
    return Recurring(
        rrule=f"FREQ=MONTHLY;BYDAY={position}{day_code};BYHOUR={clock.hour};BYMINUTE={clock.minute}"
    )


_SUB_HOURLY = ("minutes", "half_hour", "hours", "hourly")


def find_schedule(text: str) -> Found[Recurring] | None:
    """The first recurring schedule in `text` ("every weekday at 9am", "on the 1st of
    every month", "every Tuesday and Thursday at 11", "every 15 minutes")."""
    candidates: list[tuple[int, str, re.Match[str]]] = []
    for kind, pattern in RECURRING_PATTERNS:
        match = _first_schedule_match(text, pattern)
        if match is not None:
            candidates.append((match.start(), kind, match))
            if kind in ("weekdays", "weekends", "monthly_weekday", "monthly"):
                break  # more specific than the weekly/daily patterns below
    if not candidates:
        return None
    _, kind, match = min(candidates, key=lambda c: c[0])
    if kind in _SUB_HOURLY:
        recurring = _recurring(kind, match, DEFAULT_TIME)
        return Found(recurring, match.start(), match.end()) if recurring else None
    part = match.groupdict().get("part")
    default = DAY_PARTS.get(part.lower(), DEFAULT_TIME) if part and part != "day" else DEFAULT_TIME
    clock, start, end, _given = _with_clock(text, match.start(), match.end(), default)
    assert clock is not None
    recurring = _recurring(kind, match, clock)
    return Found(recurring, start, end) if recurring else None


# --- one-off moments ----------------------------------------------------------------------


def _next_weekday(today: date, weekday: int, which: str) -> date:
    ahead = (weekday - today.weekday()) % 7
    if ahead == 0 and "this" not in which:
        ahead = 7
    return today + timedelta(days=ahead)


def _month_index(word: str) -> int:
    word = word.lower().rstrip(".")
    return next(i for i, name in enumerate(MONTH_NAMES, 1) if name.startswith(word[:3]))


def _date_in_future(today: date, month: int, day: int, year: int | None) -> date | None:
    try:
        if year is not None:
            return date(year, month, day)
        candidate = date(today.year, month, day)
        return candidate if candidate >= today else date(today.year + 1, month, day)
    except ValueError:
        return None


def _nth_of_month(today: date, day: int) -> date | None:
    if not 1 <= day <= 31:
        return None
    year, month = today.year, today.month
    for _ in range(12):
        try:
            candidate = date(year, month, day)
        except ValueError:
            candidate = None
        if candidate is not None and candidate >= today:
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def _date_after(today: date, shift: Shift) -> date:
    """`shift` applied to `today` (everything but the time of day)."""
    day = today + timedelta(days=shift.days)
    if shift.months or shift.month_day is not None:
        months = day.year * 12 + day.month - 1 + shift.months
        year, month = divmod(months, 12)
        last = calendar.monthrange(year, month + 1)[1]
        day = date(year, month + 1, min(shift.month_day or day.day, last))
    if shift.next_month_day is not None:
        day = _nth_of_month(day, shift.next_month_day) or day
    if shift.weekday is not None:
        day = _next_weekday(day, shift.weekday, "next")
    return day


def _relative_day_shift(word: str) -> Shift:
    word = word.lower()
    return Shift(days=2 if "after" in word else 1 if word.startswith(("tomorrow", "tmrw")) else 0)


def _weekday_shift(which: str, day: str) -> Shift:
    """ "this Tuesday" may be today (counted from yesterday); "next"/"on" Tuesday is after."""
    return Shift(days=-1 if "this" in which.lower() else 0, weekday=weekday_index(day))


def _shifted_days(text: str, today: date) -> list[Found[tuple[date, Shift | None]]]:
    """Days said relative to today: tomorrow, next Monday, on the 15th, in the first of
    next month, next week."""
    shifts: list[tuple[re.Match[str], Shift]] = []
    if match := RELATIVE_DAY.search(text):
        shifts.append((match, _relative_day_shift(match.group("word"))))
    if match := WEEKDAY_DAY.search(text):
        shifts.append((match, _weekday_shift(match.group("which") or "", match.group("day"))))
    if (match := OF_NEXT_MONTH.search(text)) and 1 <= _ordinal(match.group("ord")) <= 31:
        shifts.append((match, Shift(months=1, month_day=_ordinal(match.group("ord")))))
    if (match := NTH_OF_MONTH.search(text)) and 1 <= _ordinal(match.group("ord")) <= 31:
        shifts.append((match, Shift(next_month_day=_ordinal(match.group("ord")))))
    if match := NEXT_WEEK.search(text):
        shifts.append((match, Shift(weekday=0)))
    return [Found((_date_after(today, s), s), m.start(), m.end()) for m, s in shifts]


def _named_days(text: str, today: date) -> list[Found[tuple[date, Shift | None]]]:
    """Days named outright: March 3, 3rd of March 2027, 2026-12-01."""
    found: list[Found[tuple[date, Shift | None]]] = []
    match = MONTH_DAY.search(text)
    if match:
        month = match.group("month") or match.group("month2")
        day_text = match.group("day") or match.group("day2")
        year = int(match.group("year")) if match.group("year") else None
        value = _date_in_future(today, _month_index(month), int(day_text), year)
        if value is not None:
            found.append(Found((value, None), match.start(), match.end()))
    match = ISO_DATE.search(text)
    if match:
        value = _date_in_future(
            today, int(match.group("m")), int(match.group("d")), int(match.group("y"))
        )
        end = match.end() if not match.group("hh") else match.start("hh") - 1
        if value is not None:
            found.append(Found((value, None), match.start(), end))
    return found


def _find_day(text: str, now: datetime) -> Found[tuple[date, Shift | None]] | None:
    today = now.date()
    found = _shifted_days(text, today) + _named_days(text, today)
    return min(found, key=lambda f: f.start) if found else None


def find_day(text: str, now: datetime) -> Found[date] | None:
    """The first calendar day named in `text` (today, tomorrow, next Monday, March 3, …)."""
    found = _find_day(text, now)
    return Found(found.value[0], found.start, found.end) if found else None


def _delta(match: re.Match[str]) -> timedelta:
    n = 0.5 if match.group("n").lower().startswith("half") else _number(match.group("n"))
    unit = match.group("unit").lower()
    if unit.startswith("min"):
        return timedelta(minutes=n)
    if unit.startswith(("hour", "hr")):
        return timedelta(hours=n)
    if unit.startswith("day"):
        return timedelta(days=n)
    return timedelta(weeks=n)


def _on_day(day: date, clock: time, now: datetime) -> datetime:
    """`day` at `clock` in now's zone (the zone's offset on that day, DST included)."""
    naive = datetime.combine(day, clock)
    return naive.replace(tzinfo=now.tzinfo)


def find_moment(text: str, now: datetime) -> Found[Moment] | None:
    """The first one-off moment in `text` ("tomorrow at 3pm", "at 5pm today", "next Monday
    at 9", "on March 3 at 10:30", "in 2 hours", or a time alone: its next occurrence)."""
    delta = IN_DELTA.search(text)
    if delta is not None:
        return _moment_in(text, delta, now)
    day = _find_day(text, now)
    if day is not None:
        (value, shift), start, end = day.value, day.start, day.end
        clock, start, end, given = _with_clock(text, start, end, DEFAULT_TIME)
        assert clock is not None
        if not given and text[day.start : day.end].lower().startswith("tonight"):
            clock = DAY_PARTS["tonight"]
        shift = replace(shift, clock=clock) if shift is not None else None
        return Found(Moment(_on_day(value, clock, now), given, shift), start, end)
    clock_found = find_clock(text)
    if clock_found is None:
        return None
    at = _on_day(now.date(), clock_found.value, now)
    if at <= now:
        at = _on_day(now.date() + timedelta(days=1), clock_found.value, now)
    shift = Shift(clock=clock_found.value, next_clock=True)
    return Found(Moment(at, shift=shift), clock_found.start, clock_found.end)


def _moment_in(text: str, delta: re.Match[str], now: datetime) -> Found[Moment]:
    """ "in 2 hours" (elapsed time), "in 3 days" (at a time of day, default 09:00)."""
    span = _delta(delta)
    unit = delta.group("unit").lower()
    if unit.startswith(("day", "week")):
        clock, start, end, given = _with_clock(text, delta.start(), delta.end(), DEFAULT_TIME)
        assert clock is not None
        shift = Shift(days=span.days, clock=clock)
        return Found(Moment(_on_day(now.date() + span, clock, now), given, shift), start, end)
    moment = (now + span).replace(second=0, microsecond=0)
    shift = Shift(minutes=round(span.total_seconds() / 60))
    return Found(Moment(moment, shift=shift), delta.start(), delta.end())


# --- durations ------------------------------------------------------------------------------


def find_duration(text: str) -> Found[int] | None:
    """A length in minutes ("30-minute", "for an hour", "1.5 hours", "half an hour")."""
    for match in DURATION.finditer(text):
        if match.group("half"):
            return Found(30, match.start(), match.end())
        raw, unit = match.group("n").lower(), match.group("unit").lower()
        amount = float(raw) if re.fullmatch(r"\d+(?:\.\d+)?", raw) else float(_number(raw))
        minutes = round(amount * (1 if unit.startswith("m") else 60))
        if unit == "h" and not re.fullmatch(r"\d+(?:\.\d+)?", raw):
            continue
        if 0 < minutes <= 60 * 24 * 14:
            return Found(minutes, match.start(), match.end())
    return None
