"""Schedule triggers from time phrases: "every weekday at 9am" -> cron in the user's zone,
"tomorrow at 3pm" -> a one-off `at` with the zone's offset."""

from __future__ import annotations

from typing import Any

from workflows.planning.draft import Draft
from workflows.planning.times import Moment, Recurring
from workflows.planning.words import format_moment

DELAY_QUESTION = (
    "A workflow that starts {when} runs its steps right away; I can't make a step wait "
    "until a later time yet. Should it run on a schedule instead (e.g. 'every weekday at 9am')?"
)


def _already_triggered(draft: Draft) -> bool:
    """True (after asking) when the draft already has an event trigger or a schedule."""
    kind = draft.trigger.get("type")
    if kind == "event":
        draft.ask(DELAY_QUESTION.format(when=f"on “{draft.trigger_words.lower()}”"))
        return True
    if kind == "schedule":
        draft.ask("The request names two different times. When should the workflow run?")
        return True
    return False


def set_schedule(draft: Draft, recurring: Recurring) -> bool:
    if _already_triggered(draft):
        return False
    trigger: dict[str, Any] = {"type": "schedule", "timezone": draft.context.timezone}
    if recurring.cron:
        trigger["cron"] = recurring.cron
    else:
        trigger["rrule"] = recurring.rrule
    draft.trigger = trigger
    return True


def set_moment(draft: Draft, moment: Moment) -> bool:
    """A one-off run at `moment`; asks instead when that time has passed."""
    if _already_triggered(draft):
        return False
    if moment.at <= draft.now:
        draft.need(
            "trigger",
            "at",
            f"{format_moment(moment.at)} has already passed (it is {draft.now:%H:%M} in "
            f"{draft.context.timezone}). When should it run?",
        )
        return False
    if not moment.clock_given:
        draft.assume(f"it runs at {moment.at:%H:%M}")
    draft.trigger = {
        "type": "schedule",
        "at": moment.at.isoformat(),
        "timezone": draft.context.timezone,
    }
    return True
