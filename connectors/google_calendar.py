"""Google Calendar: create, list and delete events; trigger on new events (polled).

API: https://developers.google.com/workspace/calendar/api/v3/reference — the base URL
setting is the API root including `/calendar/v3`.

Deleting is idempotent: Google answers a repeated delete with 410 Gone, which this
connector reports as success (`already_deleted: true`) so a retried step does not fail;
an id that never existed (404) is an error.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, Field, field_validator, model_validator

from connectors.base import ActionContext, Destroys, EventItem, NotFound, PollResult
from connectors.cursors import TimeCursor, parse_rfc3339, rfc3339
from connectors.google import (
    CALENDAR_EVENTS,
    MAX_POLL_PAGES,
    AddressList,
    google_connector,
    list_pages,
    segment,
)

connector = google_connector(
    name="google_calendar",
    title="Google Calendar",
    description="Create, list and delete Google Calendar events; react to new events.",
    base_url_setting="google_calendar_base_url",
)

DEFAULT_DURATION_MINUTES = 60  # Google Calendar's own default event length
LIST_PAGE_SIZE = 250


# --- models --------------------------------------------------------------------------


class CreateEventInput(BaseModel):
    summary: str = Field(min_length=1, description="Title of the event.")
    start: datetime = Field(
        description="Start time, ISO 8601 (e.g. 2025-03-04T15:00:00). Without a UTC "
        "offset it is read in `timezone`."
    )
    end: datetime | None = Field(
        None, description="End time, ISO 8601. Give this or `duration_minutes`."
    )
    duration_minutes: int | None = Field(
        None,
        gt=0,
        le=60 * 24 * 14,
        description=f"Length in minutes when no end is given (default {DEFAULT_DURATION_MINUTES}).",
    )
    timezone: str | None = Field(
        None,
        description="IANA time zone of the event, e.g. Europe/Berlin. Required when start "
        "has no UTC offset.",
    )
    attendees: AddressList = Field(
        default_factory=list,
        description="E-mail addresses to invite; each receives an invitation e-mail.",
    )
    description: str | None = Field(None, description="Event description (may hold HTML).")
    location: str | None = Field(None, description="Free-form location.")
    calendar_id: str = Field("primary", description="Calendar id; 'primary' is the user's own.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"unknown time zone {value!r}; use an IANA name") from exc
        return value

    @model_validator(mode="after")
    def _one_end_and_a_zone(self) -> CreateEventInput:
        if self.end is not None and self.duration_minutes is not None:
            raise ValueError("give either end or duration_minutes, not both")
        naive = [
            name
            for name, value in (("start", self.start), ("end", self.end))
            if value is not None and value.tzinfo is None
        ]
        if naive and self.timezone is None:
            raise ValueError(
                f"{' and '.join(naive)} has no UTC offset: add one (e.g. +01:00) or set "
                "timezone to an IANA name such as Europe/Berlin"
            )
        return self


class EventOutput(BaseModel):
    id: str
    summary: str = ""
    url: str = Field("", description="Link to the event in Google Calendar.")
    start: datetime | date = Field(description="Start (a date for all-day events).")
    end: datetime | date = Field(description="End, exclusive (a date for all-day events).")
    all_day: bool = False
    timezone: str | None = None
    attendees: list[str] = Field(default_factory=list, description="Attendee e-mails.")
    description: str | None = None
    location: str | None = None
    organizer: str | None = Field(None, description="Organizer's e-mail.")
    status: str = "confirmed"
    created: datetime | None = None


class ListEventsInput(BaseModel):
    calendar_id: str = Field("primary", description="Calendar id; 'primary' is the user's own.")
    time_min: AwareDatetime | None = Field(
        None, description="Only events ending after this time (default: now)."
    )
    time_max: AwareDatetime | None = Field(None, description="Only events starting before this.")
    query: str | None = Field(
        None, description="Free text matched against summary, description, location, guests."
    )
    max_results: int = Field(25, ge=1, le=1000, description="At most this many events.")


class ListEventsOutput(BaseModel):
    events: list[EventOutput] = Field(description="Events in start-time order.")


class DeleteEventInput(BaseModel):
    event_id: str = Field(min_length=1, description="Id of the event to delete.")
    calendar_id: str = Field("primary", description="Calendar id; 'primary' is the user's own.")
    notify_attendees: bool = Field(True, description="E-mail guests about the cancellation.")


class DeleteEventOutput(BaseModel):
    event_id: str
    already_deleted: bool = Field(
        description="True when the event had been deleted before (e.g. a retried step)."
    )


class EventCreatedConfig(BaseModel):
    calendar_id: str = Field("primary", description="Calendar to watch; 'primary' by default.")


# --- helpers -------------------------------------------------------------------------


def events_path(calendar_id: str) -> str:
    return f"/calendars/{segment(calendar_id)}/events"


def event_window(data: CreateEventInput) -> tuple[datetime, datetime]:
    """Aware start and end, expressed in the event's time zone when one is given. A
    duration is added in absolute time, so a meeting across a DST change keeps its length."""
    zone = ZoneInfo(data.timezone) if data.timezone else None

    def place(moment: datetime) -> datetime:
        if moment.tzinfo is None:
            return moment.replace(tzinfo=zone)
        return moment.astimezone(zone) if zone else moment

    start = place(data.start)
    if data.end is not None:
        return start, place(data.end)
    minutes = data.duration_minutes or DEFAULT_DURATION_MINUTES
    end = (start.astimezone(UTC) + timedelta(minutes=minutes)).astimezone(start.tzinfo)
    return start, end


def event_time(moment: datetime, timezone: str | None) -> dict[str, str]:
    body = {"dateTime": moment.isoformat(timespec="seconds")}
    if timezone:
        body["timeZone"] = timezone
    return body


def event_body(data: CreateEventInput) -> dict[str, Any]:
    start, end = event_window(data)
    body: dict[str, Any] = {
        "summary": data.summary,
        "start": event_time(start, data.timezone),
        "end": event_time(end, data.timezone),
        "attendees": [{"email": address} for address in data.attendees],
    }
    for key in ("description", "location"):
        if getattr(data, key) is not None:
            body[key] = getattr(data, key)
    return body


def _moment(value: dict[str, Any]) -> datetime | date:
    if "dateTime" in value:
        return parse_rfc3339(value["dateTime"])
    return date.fromisoformat(value["date"])


def event_output(item: dict[str, Any]) -> EventOutput:
    start, end = item.get("start", {}), item.get("end", {})
    return EventOutput(
        id=item["id"],
        summary=item.get("summary", ""),
        url=item.get("htmlLink", ""),
        start=_moment(start),
        end=_moment(end),
        all_day="dateTime" not in start,
        timezone=start.get("timeZone"),
        attendees=[a["email"] for a in item.get("attendees", []) if a.get("email")],
        description=item.get("description"),
        location=item.get("location"),
        organizer=item.get("organizer", {}).get("email"),
        status=item.get("status", "confirmed"),
        created=parse_rfc3339(item["created"]) if item.get("created") else None,
    )


# --- actions -------------------------------------------------------------------------


@connector.action(scopes=(CALENDAR_EVENTS,), idempotent=False)
async def create_event(ctx: ActionContext, data: CreateEventInput) -> EventOutput:
    """Create a calendar event and e-mail an invitation to every attendee."""
    item = await ctx.http.json(
        "POST",
        events_path(data.calendar_id),
        idempotent=False,
        params={"sendUpdates": "all"},
        json=event_body(data),
    )
    return event_output(item)


@connector.action(scopes=(CALENDAR_EVENTS,), idempotent=True)
async def list_events(ctx: ActionContext, data: ListEventsInput) -> ListEventsOutput:
    """List upcoming events of a calendar, in start-time order."""
    params: dict[str, Any] = {
        "singleEvents": "true",
        "orderBy": "startTime",
        "timeMin": rfc3339(data.time_min or datetime.now(UTC)),
        "maxResults": min(data.max_results, LIST_PAGE_SIZE),
    }
    if data.time_max is not None:
        params["timeMax"] = rfc3339(data.time_max)
    if data.query:
        params["q"] = data.query
    items = await list_pages(
        ctx.http,
        events_path(data.calendar_id),
        params,
        items_key="items",
        limit=data.max_results,
        max_pages=math.ceil(data.max_results / LIST_PAGE_SIZE),
    )
    return ListEventsOutput(events=[event_output(item) for item in items])


@connector.action(
    scopes=(CALENDAR_EVENTS,),
    idempotent=True,
    destroys=(Destroys("deletes", "event_id", thing="calendar event"),),
)
async def delete_event(ctx: ActionContext, data: DeleteEventInput) -> DeleteEventOutput:
    """Delete (cancel) a calendar event, notifying its guests."""
    try:
        response = await ctx.http.request(
            "DELETE",
            f"{events_path(data.calendar_id)}/{segment(data.event_id)}",
            idempotent=True,
            params={"sendUpdates": "all" if data.notify_attendees else "none"},
            allow_status=(410,),
        )
    except NotFound as exc:
        raise NotFound(
            f"There is no event {data.event_id!r} in calendar {data.calendar_id!r} ({exc}).",
            service=connector.name,
        ) from exc
    return DeleteEventOutput(event_id=data.event_id, already_deleted=response.status_code == 410)


# --- events --------------------------------------------------------------------------


async def poll_created_events(ctx: ActionContext, config: Any, cursor: str | None) -> PollResult:
    """Events created since the cursor. Asks for everything updated since then (oldest
    change first) and keeps what was also created since then."""
    if cursor is None:
        return PollResult(items=[], cursor=TimeCursor.start().encode())
    settings = EventCreatedConfig.model_validate(config)
    position = TimeCursor.decode(cursor)
    changed = await list_pages(
        ctx.http,
        events_path(settings.calendar_id),
        {
            "updatedMin": rfc3339(position.since),
            "orderBy": "updated",
            "showDeleted": "false",
            "maxResults": LIST_PAGE_SIZE,
        },
        items_key="items",
        limit=LIST_PAGE_SIZE * MAX_POLL_PAGES,
    )
    created = sorted(
        (
            item
            for item in changed
            if item.get("status") != "cancelled"
            and position.is_new(item["id"], parse_rfc3339(item["created"]))
        ),
        key=lambda item: parse_rfc3339(item["created"]),
    )
    return PollResult(
        items=[
            EventItem(id=item["id"], payload=event_output(item).model_dump(mode="json"))
            for item in created
        ],
        cursor=position.advance(
            (item["id"], parse_rfc3339(item["updated"])) for item in changed if "updated" in item
        ).encode(),
    )


connector.event(
    name="event_created",
    description="A new event appears in a Google Calendar.",
    config_model=EventCreatedConfig,
    payload_model=EventOutput,
    poll=poll_created_events,
    scopes=(CALENDAR_EVENTS,),
    sample={
        "id": "7k2m9q4h1c0s8d3f",
        "summary": "Design review: onboarding flow",
        "url": "https://www.google.com/calendar/event?eid=N2sybTlxNGgxYzBzOGQzZg",
        "start": "2026-12-07T14:00:00+01:00",
        "end": "2026-12-07T15:00:00+01:00",
        "all_day": False,
        "timezone": "Europe/Berlin",
        "attendees": ["alice@example.com", "bob@example.com"],
        "description": "Walk through the new sign-up screens.",
        "location": "Room 4.01",
        "organizer": "alice@example.com",
        "status": "confirmed",
        "created": "2026-12-04T08:30:00Z",
    },
)
