"""Relative times in workflows that run again and again.

"Block 30 minutes tomorrow" in a workflow that runs on every email means the day after
*that* email, not the day after the plan was approved. So for an event trigger or a
repeating schedule, a time said relative to now ("tomorrow", "in 2 days", "next Monday",
"in an hour", "the first of next month", "at 5pm") becomes a template the run evaluates
from its own `now` (see `workflows.template_dates`), and the preview says it in words:
"the day after the email arrives, at 09:00 (assumed)". A one-time plan keeps the literal
date, and so does a date named outright ("on March 3").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, time
from typing import Any

from workflows.planning.times import WEEKDAY_NAMES, Moment, Shift, find_moment
from workflows.planning.words import format_moment

EVENT_MOMENTS = {
    "gmail.email_received": "the email arrives",
    "github.issue_opened": "the issue is opened",
    "github.pull_request_opened": "the pull request is opened",
    "http.webhook_received": "the webhook call arrives",
    "trello.card_created": "the card is created",
    "asana.task_created": "the task is created",
    "dropbox.file_added": "the file is added",
    "google_drive.file_created": "the file is created",
    "google_calendar.event_created": "the event is created",
    "slack.message_posted": "the message is posted",
}


def repeats(trigger: Mapping[str, Any]) -> bool:
    """True for a trigger that starts many runs: an event, a cron or an RRULE schedule."""
    if trigger.get("type") == "event":
        return True
    return trigger.get("type") == "schedule" and not trigger.get("at")


def trigger_moment(trigger: Mapping[str, Any]) -> str:
    """What a run's `now` is, in words: "the email arrives", "each run"."""
    if trigger.get("type") == "event":
        return EVENT_MOMENTS.get(str(trigger.get("event")), "the event happens")
    return "each run"


def _clock(value: time) -> str:
    return f"{value:%H:%M}"


def _filters(shift: Shift) -> list[str]:
    """The date filters that reach the moment from `now`, in `Shift`'s order."""
    filters = []
    if shift.minutes:
        minutes = shift.minutes
        filters.append(
            f"add_hours({minutes // 60})" if minutes % 60 == 0 else f"add_minutes({minutes})"
        )
    if shift.days:
        filters.append(f"add_days({shift.days})")
    if shift.months:
        filters.append(f"add_months({shift.months})")
    if shift.month_day is not None:
        filters.append(f"day_of_month({shift.month_day})")
    if shift.next_month_day is not None:
        filters.append(f"next_day_of_month({shift.next_month_day})")
    if shift.weekday is not None:
        filters.append(f"next_weekday('{WEEKDAY_NAMES[shift.weekday]}')")
    if shift.clock is not None:
        filters.append(f"{'next_at' if shift.next_clock else 'at'}('{_clock(shift.clock)}')")
    return filters


def moment_template(moment: Moment, timezone: str, *, day_only: bool = False) -> str | None:
    """The template that computes `moment` from a run's `now` in `timezone` (a
    YYYY-MM-DD day with `day_only`), or None for a date named outright."""
    if moment.shift is None:
        return None
    filters = [f"in_timezone('{timezone}')", *_filters(moment.shift)]
    if day_only:
        filters = [f for f in filters if not f.startswith(("at(", "next_at("))] + ["date"]
    return "{{ now | " + " | ".join(filters) + " }}"


def _ordinal(number: int) -> str:
    suffix = (
        "th" if 11 <= number % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    )
    return f"{number}{suffix}"


def _amount(count: int, unit: str) -> str:
    return f"{'an' if unit == 'hour' else 'a'} {unit}" if count == 1 else f"{count} {unit}s"


def _elapsed_words(minutes: int) -> str:
    if minutes % 60 == 0:
        return _amount(minutes // 60, "hour")
    return _amount(minutes, "minute")


def _day_words(shift: Shift, since: str) -> str:
    """ "the day after the email arrives", "the first Monday after each run", …"""
    if shift.weekday is not None:
        day = WEEKDAY_NAMES[shift.weekday].capitalize()
        return (
            f"the first {day} from the day {since}"
            if shift.days < 0
            else f"the next {day} after {since}"
        )
    if shift.month_day is not None:
        month = "the month after" if shift.months == 1 else f"{shift.months} months after"
        return f"the {_ordinal(shift.month_day)} of {month} {since}"
    if shift.months:
        return f"{_amount(shift.months, 'month')} after {since}"
    if shift.next_month_day is not None:
        return f"the next {_ordinal(shift.next_month_day)} of a month from the day {since}"
    if shift.days == 0:
        return f"the day {since}"
    if shift.days == 1:
        return f"the day after {since}"
    if shift.days % 7 == 0:
        return f"{_amount(shift.days // 7, 'week')} after {since}"
    return f"{_amount(shift.days, 'day')} after {since}"


def moment_words(moment: Moment, since: str, *, day_only: bool = False) -> str:
    """`moment` counted from `since`, with "(assumed)" on a time of day the request did
    not give: "the day after the email arrives, at 09:00 (assumed)"."""
    shift = moment.shift
    assert shift is not None
    if shift.minutes:
        return f"{_elapsed_words(shift.minutes)} after {since}"
    if shift.next_clock and shift.clock is not None:
        return f"at the first {_clock(shift.clock)} after {since}"
    words = _day_words(shift, since)
    if shift.clock is not None and not day_only:
        words += f", at {_clock(shift.clock)}" + ("" if moment.clock_given else " (assumed)")
    return words


def time_words(
    title: str, moment: Moment, trigger: Mapping[str, Any], *, counted: bool, day_only: bool
) -> list[str]:
    """What the preview says about a time in a step ("“Focus” starts" is `title`):
    how it is counted from each run when `counted`, else the time of day chosen and,
    in a workflow that runs again and again, that the date stays fixed."""
    if counted:
        return [f"{title} {moment_words(moment, trigger_moment(trigger), day_only=day_only)}"]
    words = []
    if not moment.clock_given and not day_only:
        words.append(f"{title} at {_clock(moment.at.time())}")
    if repeats(trigger):
        when = (
            f"{moment.at:%A} {moment.at.day} {moment.at:%B %Y}"
            if day_only
            else format_moment(moment.at)
        )
        words.append(
            f"{title} on {when} every time the workflow runs (a date named outright stays fixed)"
        )
    return words


def counted_start(
    trigger: Mapping[str, Any], reply: str, now: datetime, timezone: str
) -> str | None:
    """The template for a start time given in an answer ("tomorrow at 10") when the
    workflow repeats and the time is relative; None otherwise (the literal stands)."""
    found = find_moment(reply, now)
    if found is None or not repeats(trigger):
        return None
    return moment_template(found.value, timezone)


_CLOCK_FILTER = re.compile(r"\|\s*(?:next_)?at\('(?P<clock>\d{2}:\d{2})'\)")


def retimed(template: str, reply: str, now: datetime, timezone: str) -> str | None:
    """A start counted from each run, changed by a reply: "make it 11am instead" moves
    the time of day, "make it next Friday" the day (keeping the time of day it had).
    None when `template` is not the planner's or the reply names no relative time."""
    found = find_moment(reply, now)
    if not template.startswith("{{ now |") or found is None or found.value.shift is None:
        return None
    shift = found.value.shift
    if shift.next_clock and shift.clock is not None:  # a time of day alone
        kept = _CLOCK_FILTER.sub("", template).removesuffix("}}").rstrip()
        return f"{kept} | at('{_clock(shift.clock)}') }}}}"
    old = _CLOCK_FILTER.search(template)
    if not found.value.clock_given and old is not None:
        hour, minute = old.group("clock").split(":")
        shift = replace(shift, clock=time(int(hour), int(minute)))
    return moment_template(replace(found.value, shift=shift), timezone)
