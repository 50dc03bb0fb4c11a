"""The Google Calendar connector against its emulator, with what it sends and what the
emulator answers checked against Google's Calendar discovery document; plus the pieces
the three Google connectors share (connectors/google.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import ValidationError

from connectors import gmail, google_drive
from connectors.base import (
    ActionContext,
    AuthExpired,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from connectors.google import CALENDAR_EVENTS, is_google_rate_limit, read_google_error
from connectors.google_calendar import (
    CreateEventInput,
    EventCreatedConfig,
    connector,
    event_window,
    poll_created_events,
)
from sandbox.google import GoogleCalendarEmulator, Invitation
from tests.connectors.contract_case import connector_context
from tests.specs import assert_request_matches, validate_response, validate_schema

OWN = "sandbox-user@example.com"
EVENTS = "/calendar/v3/calendars/primary/events"


def rate_limited(reason: str, message: str) -> dict[str, object]:
    """A 403 body as Google sends it for a rate limit (its "Handle API errors" guide)."""
    return {
        "error": {
            "errors": [{"domain": "usageLimits", "reason": reason, "message": message}],
            "code": 403,
            "message": message,
        }
    }


@pytest.fixture
def calendar() -> Iterator[GoogleCalendarEmulator]:
    with GoogleCalendarEmulator() as emulator:
        yield emulator


@pytest.fixture
async def ctx(calendar: GoogleCalendarEmulator) -> AsyncIterator[ActionContext]:
    async with connector_context(connector, calendar) as context:
        yield context


async def run(ctx: ActionContext, action: str, **inputs: object):
    return await connector.actions[action].run(ctx, inputs)


async def call(emulator: GoogleCalendarEmulator, method: str, **kwargs: object) -> httpx.Response:
    """A raw request to the emulator's events collection with an all-scopes token."""
    token = emulator.issue_token()["access_token"]
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as client:
        return await client.request(method, f"{emulator.url}{EVENTS}", **kwargs)  # type: ignore[arg-type]


# --- create_event ------------------------------------------------------------------------


async def test_create_event_invites_attendees_in_the_events_time_zone(
    calendar: GoogleCalendarEmulator, ctx: ActionContext
) -> None:
    out = await run(
        ctx,
        "create_event",
        summary="Sprint planning",
        start="2030-03-04T10:00:00",
        timezone="Europe/Berlin",
        attendees="bob@example.com, carol@example.com",
        description="Bring estimates",
        location="Room 1",
    )
    sent = calendar.received(EVENTS, "POST")[-1]
    assert sent.query == {"sendUpdates": "all"}
    assert sent.json()["start"] == {
        "dateTime": "2030-03-04T10:00:00+01:00",
        "timeZone": "Europe/Berlin",
    }
    assert sent.json()["end"]["dateTime"] == "2030-03-04T11:00:00+01:00"  # default: 1 hour
    assert_request_matches("google_calendar", sent)

    stored = calendar.calendar_events[OWN][out.id]
    assert stored["summary"] == "Sprint planning"
    assert calendar.invitations == [
        Invitation(out.id, "bob@example.com", "invitation"),
        Invitation(out.id, "carol@example.com", "invitation"),
    ]
    assert out.url == stored["htmlLink"]
    assert out.start == datetime(2030, 3, 4, 9, tzinfo=UTC)
    assert out.timezone == "Europe/Berlin"
    assert out.attendees == ["bob@example.com", "carol@example.com"]


async def test_create_event_responses_match_the_discovery_document(
    calendar: GoogleCalendarEmulator, ctx: ActionContext
) -> None:
    await run(ctx, "create_event", summary="x", start="2030-01-01T09:00:00Z", duration_minutes=15)
    all_day = {"summary": "y", "start": {"date": "2030-01-02"}, "end": {"date": "2030-01-03"}}
    created = await call(calendar, "POST", json=all_day)
    validate_response("google_calendar", EVENTS, "POST", 200, created.json())
    listed = await call(calendar, "GET")
    validate_response("google_calendar", EVENTS, "GET", 200, listed.json())
    assert len(listed.json()["items"]) == 2


def test_a_duration_is_elapsed_time_across_a_dst_change() -> None:
    data = CreateEventInput(
        summary="Night shift",
        start=datetime(2030, 3, 31, 1, 30),  # Europe/Berlin springs forward at 02:00
        duration_minutes=120,
        timezone="Europe/Berlin",
    )
    start, end = event_window(data)
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=2)
    assert end.astimezone(ZoneInfo("Europe/Berlin")).hour == 4


@pytest.mark.parametrize(
    ("inputs", "complaint"),
    [
        ({"start": "2030-01-01T10:00:00"}, "has no UTC offset"),
        (
            {"start": "2030-01-01T10:00:00Z", "end": "2030-01-01T11:00:00Z", "duration_minutes": 5},
            "not both",
        ),
        ({"start": "2030-01-01T10:00:00", "timezone": "Mars/Olympus"}, "unknown time zone"),
    ],
)
def test_create_event_inputs_are_checked_before_calling_google(
    inputs: dict[str, object], complaint: str
) -> None:
    with pytest.raises(ValidationError, match=complaint):
        CreateEventInput.model_validate({"summary": "x", **inputs})


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"attendees": ["bob@"]}, "Invalid attendee email."),
        ({"end": "2030-01-01T09:00:00Z"}, "The specified time range is empty."),
    ],
)
async def test_google_rejections_carry_googles_message(
    ctx: ActionContext, inputs: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        await run(ctx, "create_event", summary="x", start="2030-01-01T10:00:00Z", **inputs)


async def test_the_emulator_requires_a_zone_for_wall_clock_times(
    calendar: GoogleCalendarEmulator,
) -> None:
    wall_clock = {"dateTime": "2030-01-01T10:00:00"}
    response = await call(calendar, "POST", json={"start": wall_clock, "end": wall_clock})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"] == "Missing time zone definition for start time."
    assert error["errors"] == [
        {"message": error["message"], "domain": "global", "reason": "required"}
    ]
    assert error["status"] == "INVALID_ARGUMENT"


# --- list_events ---------------------------------------------------------------------------


async def test_list_events_follows_pages_in_start_order(
    calendar: GoogleCalendarEmulator, ctx: ActionContext
) -> None:
    base = datetime(2030, 5, 1, tzinfo=UTC)
    for hours in reversed(range(260)):  # more than one page of 250
        start = base + timedelta(hours=hours)
        calendar.seed_event(OWN, summary=f"e{hours}", start=start, end=start + timedelta(hours=1))
    out = await run(ctx, "list_events", time_min=base.isoformat(), max_results=300)
    assert [event.summary for event in out.events] == [f"e{h}" for h in range(260)]
    pages = calendar.received(EVENTS, "GET")
    assert len(pages) == 2
    assert "pageToken" in pages[1].query
    for page in pages:
        assert_request_matches("google_calendar", page)


async def test_list_events_filters_by_time_and_text(
    calendar: GoogleCalendarEmulator, ctx: ActionContext
) -> None:
    day = datetime(2030, 6, 1, 9, tzinfo=UTC)
    calendar.seed_event(OWN, summary="Standup", start=day, end=day + timedelta(minutes=15))
    calendar.seed_event(
        OWN, summary="Lunch", start=day + timedelta(hours=3), end=day.replace(hour=13)
    )
    calendar.seed_event(
        OWN, summary="Standup", start=day + timedelta(days=1), end=day + timedelta(days=1, hours=1)
    )
    out = await run(
        ctx,
        "list_events",
        time_min="2030-06-01T00:00:00Z",
        time_max="2030-06-02T00:00:00Z",
        query="standup",
    )
    assert [(e.summary, e.start) for e in out.events] == [("Standup", day)]


async def test_an_unknown_calendar_is_not_found(ctx: ActionContext) -> None:
    with pytest.raises(NotFound):
        await run(ctx, "list_events", calendar_id="nobody@group.calendar.google.com")


# --- delete_event --------------------------------------------------------------------------


async def test_delete_event_cancels_notifies_and_is_safe_to_repeat(
    calendar: GoogleCalendarEmulator, ctx: ActionContext
) -> None:
    start = datetime(2030, 1, 1, 10, tzinfo=UTC)
    event = calendar.seed_event(
        OWN, summary="Retro", start=start, end=start + timedelta(hours=1), attendees=["b@x.org"]
    )
    first = await run(ctx, "delete_event", event_id=event["id"])
    assert first.already_deleted is False
    assert calendar.calendar_events[OWN][event["id"]]["status"] == "cancelled"
    assert calendar.invitations == [Invitation(event["id"], "b@x.org", "cancellation")]
    again = await run(ctx, "delete_event", event_id=event["id"])  # Google answers 410
    assert again.already_deleted is True
    for request in calendar.received(method="DELETE"):
        assert_request_matches("google_calendar", request)


async def test_deleting_an_event_that_never_existed_is_an_error(ctx: ActionContext) -> None:
    with pytest.raises(NotFound, match="There is no event 'abcdefgh0123'"):
        await run(ctx, "delete_event", event_id="abcdefgh0123")


# --- event_created -------------------------------------------------------------------------


async def test_event_created_starts_now_and_reports_each_new_event_once(
    calendar: GoogleCalendarEmulator, ctx: ActionContext
) -> None:
    start = datetime(2030, 1, 1, 10, tzinfo=UTC)
    calendar.seed_event(
        OWN, summary="Old", start=start, end=start, created=datetime.now(UTC) - timedelta(days=9)
    )
    config = EventCreatedConfig()
    first = await poll_created_events(ctx, config, None)
    assert first.items == []

    created = await run(ctx, "create_event", summary="New", start=start.isoformat())
    second = await poll_created_events(ctx, config, first.cursor)
    assert [(item.id, item.payload["summary"]) for item in second.items] == [(created.id, "New")]
    assert second.items[0].payload["url"] == created.url

    await run(ctx, "delete_event", event_id=created.id)
    third = await poll_created_events(ctx, config, second.cursor)
    assert third.items == []
    poll = calendar.received(EVENTS, "GET")[-1]
    assert poll.query["orderBy"] == "updated" and "updatedMin" in poll.query
    assert_request_matches("google_calendar", poll)


async def test_event_created_on_another_calendar(
    calendar: GoogleCalendarEmulator, ctx: ActionContext
) -> None:
    team = "team@group.calendar.google.com"
    calendar.add_calendar(team)
    config = EventCreatedConfig(calendar_id=team)
    cursor = (await poll_created_events(ctx, config, None)).cursor
    start = datetime(2030, 1, 1, tzinfo=UTC)
    calendar.seed_event(team, summary="Team offsite", start=start, end=start + timedelta(days=1))
    calendar.seed_event(OWN, summary="Mine", start=start, end=start + timedelta(hours=1))
    result = await poll_created_events(ctx, config, cursor)
    assert [item.payload["summary"] for item in result.items] == ["Team offsite"]


# --- auth and faults -----------------------------------------------------------------------


async def test_a_revoked_token_means_reconnect(calendar: GoogleCalendarEmulator) -> None:
    async with connector_context(connector, calendar) as ctx:
        token = (await ctx.http.credentials.current()).access_token  # type: ignore[union-attr]
        calendar.revoke(token)
        with pytest.raises(AuthExpired, match="/atom connect google_calendar") as expired:
            await run(ctx, "list_events")
    assert "(Invalid Credentials)" in str(expired.value)
    answer = calendar.received(EVENTS, "GET")[-1]
    assert answer.headers["authorization"] == f"Bearer {token}"


async def test_a_token_without_the_calendar_scope_is_refused(
    calendar: GoogleCalendarEmulator,
) -> None:
    async with connector_context(
        connector, calendar, scopes={"https://www.googleapis.com/auth/gmail.send"}
    ) as ctx:
        with pytest.raises(PermissionDenied, match="insufficient authentication scopes"):
            await run(ctx, "create_event", summary="x", start="2030-01-01T10:00:00Z")
    assert CALENDAR_EVENTS in connector.actions["create_event"].scopes


async def test_rate_limits_are_retried_even_for_creates(
    calendar: GoogleCalendarEmulator, ctx: ActionContext
) -> None:
    calendar.fail(EVENTS, method="POST", status=429, retry_after=0)
    out = await run(ctx, "create_event", summary="x", start="2030-01-01T10:00:00Z")
    assert out.id in calendar.calendar_events[OWN]
    assert len(calendar.received(EVENTS, "POST")) == 2


async def test_a_403_rate_limit_is_backed_off_and_retried(
    calendar: GoogleCalendarEmulator, ctx: ActionContext
) -> None:
    calendar.fail(
        EVENTS,
        method="POST",
        status=403,
        body=rate_limited("rateLimitExceeded", "Rate Limit Exceeded"),
    )
    out = await run(ctx, "create_event", summary="x", start="2030-01-01T10:00:00Z")
    assert out.id in calendar.calendar_events[OWN]
    assert len(calendar.received(EVENTS, "POST")) == 2  # Google did nothing the first time


async def test_a_lasting_403_rate_limit_is_rate_limited_not_permission_denied(
    calendar: GoogleCalendarEmulator,
) -> None:
    body = rate_limited("userRateLimitExceeded", "User Rate Limit Exceeded")
    calendar.fail(EVENTS, method="GET", status=403, body=body, times=10)
    async with connector_context(connector, calendar, http_max_retries=1) as ctx:
        with pytest.raises(RateLimited, match="User Rate Limit Exceeded") as limited:
            await run(ctx, "list_events")
    assert limited.value.retry_after is None  # Google gives none: the client backs off
    assert len(calendar.received(EVENTS, "GET")) == 2


# --- shared Google pieces ------------------------------------------------------------------


def test_google_rate_limits_are_told_from_refusals() -> None:
    for google in (connector, gmail.connector, google_drive.connector):
        assert google.is_rate_limited is is_google_rate_limit
    assert is_google_rate_limit(
        httpx.Response(403, json=rate_limited("rateLimitExceeded", "Rate Limit Exceeded"))
    )
    with GoogleCalendarEmulator() as emulator:  # the emulator words a rate limit alike
        body = emulator.error_body(403, "Rate Limit Exceeded", reason="userRateLimitExceeded")
        refused = httpx.get(f"{emulator.url}{EVENTS}")  # no token
        token = emulator.issue_token(scopes={"https://www.googleapis.com/auth/gmail.send"})
        forbidden = httpx.get(
            f"{emulator.url}{EVENTS}",
            headers={"Authorization": f"Bearer {token['access_token']}"},
        )
    assert body["error"]["errors"][0]["domain"] == "usageLimits"
    assert is_google_rate_limit(httpx.Response(403, json=body))
    assert not is_google_rate_limit(httpx.Response(429, json=body))  # 429s need no hook
    assert (refused.status_code, forbidden.status_code) == (401, 403)
    assert not is_google_rate_limit(refused) and not is_google_rate_limit(forbidden)
    assert not is_google_rate_limit(httpx.Response(403, text="Forbidden"))


def test_google_errors_name_the_offending_parameter() -> None:
    body = {
        "error": {
            "code": 400,
            "message": "Invalid Value",
            "errors": [
                {
                    "domain": "global",
                    "reason": "invalid",
                    "message": "Invalid Value",
                    "location": "q",
                    "locationType": "parameter",
                }
            ],
        }
    }
    assert read_google_error(httpx.Response(400, json=body)) == "Invalid Value (parameter q)"
    with GoogleCalendarEmulator() as emulator:  # its 401 body, as Google words it
        unauthorised = httpx.get(f"{emulator.url}{EVENTS}")
    assert read_google_error(unauthorised) == "Invalid Credentials"
    token_error = {"error": "invalid_grant", "error_description": "Token has been revoked."}
    assert read_google_error(httpx.Response(400, json=token_error)) == "Token has been revoked."


def test_event_resources_match_the_event_schema(calendar: GoogleCalendarEmulator) -> None:
    start = datetime(2030, 1, 1, 10, tzinfo=UTC)
    event = calendar.seed_event(
        OWN, summary="x", start=start, end=start + timedelta(hours=1), attendees=[OWN, "b@x.org"]
    )
    validate_schema("google_calendar", "Event", event)
