"""Contract cases for Google Calendar: the sandbox user's primary calendar, plus a team
calendar holding one event to delete."""

from datetime import UTC, datetime

from sandbox.emulator import Emulator
from sandbox.google import GoogleCalendarEmulator
from tests.connectors.contract_case import ActionCase

TEAM_CALENDAR = "team@group.calendar.google.com"
SEEDED_EVENT = "retro2030jan0100"


def seed_team_event(emulator: Emulator) -> None:
    assert isinstance(emulator, GoogleCalendarEmulator)
    emulator.seed_event(
        TEAM_CALENDAR,
        summary="Retro",
        start=datetime(2030, 1, 1, 15, tzinfo=UTC),
        end=datetime(2030, 1, 1, 16, tzinfo=UTC),
        event_id=SEEDED_EVENT,
        attendees=["bob@example.com"],
    )


CASES = [
    ActionCase(
        "google_calendar.create_event",
        {
            "summary": "Planning",
            "start": "2030-01-07T10:00:00",
            "timezone": "Europe/Berlin",
            "attendees": ["bob@example.com"],
        },
        {"summary": "Planning", "start": "2030-01-07T10:00:00Z", "attendees": ["bob@"]},
        notes="Calendar answers 400 'Invalid attendee email.'",
    ),
    ActionCase(
        "google_calendar.list_events",
        {"time_min": "2029-12-31T00:00:00Z"},
        {"time_min": "2030-01-02T00:00:00Z", "time_max": "2030-01-01T00:00:00Z"},
        notes="Calendar answers 400 'The specified time range is empty.'",
    ),
    ActionCase(
        "google_calendar.delete_event",
        {"event_id": SEEDED_EVENT, "calendar_id": TEAM_CALENDAR},
        {"event_id": "not a valid id!", "calendar_id": TEAM_CALENDAR},
        seed=seed_team_event,
        notes="a malformed event id is a 400 'Invalid resource id value.' (unknown ids: 404)",
    ),
]
