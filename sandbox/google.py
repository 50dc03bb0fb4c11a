"""Loopback emulators of Google Calendar, Gmail and Google Drive.

Each speaks its API's wire format as the discovery documents describe it (request URL =
rootUrl + servicePath + method path; uploads under `/upload/…`): Bearer tokens checked
against the scopes each method accepts, Google's error body
`{"error": {"code", "message", "errors": [{"domain", "reason", "message"}], "status"}}`,
`pageToken`/`nextPageToken` paging, and the input checks the real service makes, with
its messages where they are known.

State lives in memory; tests seed and inspect it directly:
`GoogleCalendarEmulator.calendar_events` / `.invitations`, `GmailEmulator.messages` /
`.sent` / `.drafts`, `GoogleDriveEmulator.drive_files` / `.file_contents` /
`.share_notifications`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.emulator import SANDBOX_USER, Emulator, EmulatorError, Grant, bearer_token
from sandbox.wire import decode_token, encode_token, iso_millis, parse_iso

T = TypeVar("T")

AUTH = "https://www.googleapis.com/auth/"
MAIL_GOOGLE_COM = "https://mail.google.com/"
SANDBOX_ADDRESS = f"{SANDBOX_USER}@example.com"  # the sandbox user's Google account
EMAIL = re.compile(r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")

_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    410: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
_REASON = {
    400: "badRequest",
    401: "authError",
    403: "forbidden",
    404: "notFound",
    409: "duplicate",
    410: "deleted",
    429: "rateLimitExceeded",
}
# Reasons Google reports in the `usageLimits` domain (the others are mostly `global`).
USAGE_LIMIT_REASONS = frozenset(
    {"rateLimitExceeded", "userRateLimitExceeded", "dailyLimitExceeded", "quotaExceeded"}
)
UNAUTHENTICATED = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)


def bad_request(message: str, *, reason: str = "badRequest", **extra: Any) -> EmulatorError:
    return EmulatorError(400, message, reason=reason, **extra)


# --- shared ----------------------------------------------------------------------------


class GoogleEmulator(Emulator):
    """What the three Google emulators share: error body, scope-checked tokens, JSON
    bodies, page tokens, the account's address and the clock."""

    def error_body(
        self,
        status: int,
        message: str,
        *,
        reason: str | None = None,
        detail: str | None = None,
        location: str | None = None,
        location_type: str = "parameter",
        **_extra: Any,
    ) -> dict[str, Any]:
        reason = reason or _REASON.get(status, "backendError")
        error: dict[str, Any] = {
            "message": detail or message,
            "domain": "usageLimits" if reason in USAGE_LIMIT_REASONS else "global",
            "reason": reason,
        }
        if location:
            error |= {"location": location, "locationType": location_type}
        return {
            "error": {
                "code": status,
                "message": message,
                "errors": [error],
                "status": _STATUS.get(status, "UNKNOWN"),
            }
        }

    def authorize(self, request: Request, accepted: frozenset[str]) -> Grant:
        """The grant of the request's Bearer token if it holds one of the `accepted`
        scopes (the method's `scopes` in the discovery document); else 401 or 403."""
        grant = self.grants.get(bearer_token(request))
        if grant is None:
            raise EmulatorError(
                401,
                UNAUTHENTICATED,
                detail="Invalid Credentials",
                reason="authError",
                location="Authorization",
                location_type="header",
            )
        if grant.scopes is not None and not grant.scopes & accepted:
            raise EmulatorError(
                403,
                "Request had insufficient authentication scopes.",
                detail="Insufficient Permission",
                reason="insufficientPermissions",
            )
        return grant

    @staticmethod
    def address(grant: Grant) -> str:
        """The e-mail address of the account a grant belongs to."""
        return grant.user if "@" in grant.user else f"{grant.user}@example.com"

    @staticmethod
    def now() -> datetime:
        moment = datetime.now(UTC)
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)

    @staticmethod
    async def json_body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise bad_request("Invalid JSON payload received.", reason="parseError") from exc
        if not isinstance(body, dict):
            raise bad_request(
                "Invalid JSON payload received. Root element must be a message.",
                reason="parseError",
            )
        return body

    def page(
        self, items: Sequence[T], request: Request, *, size_param: str, default: int, maximum: int
    ) -> tuple[list[T], str | None]:
        """One page of `items` and the token of the next, if any. Sizes above `maximum`
        are clamped, as Google does."""
        size = min(int_param(request, size_param, default), maximum)
        token = request.query_params.get("pageToken")
        offset = self._page_offset(token) if token else 0
        end = offset + size
        following = self._page_token(end) if end < len(items) else None
        return list(items[offset:end]), following

    def _page_token(self, offset: int) -> str:
        return encode_token({"api": self.name, "offset": offset})

    def _page_offset(self, token: str) -> int:
        try:
            data = decode_token(token)
        except ValueError:
            data = {}
        offset = data.get("offset")
        if data.get("api") != self.name or not isinstance(offset, int) or offset < 0:
            raise bad_request("Invalid page token value.", reason="invalid", location="pageToken")
        return offset


def int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"[-+]?\d+", raw):
        raise bad_request(
            f"Invalid value '{raw}'. Values must match the following regular expression: "
            "'[-+]?\\d+'",
            reason="invalidParameter",
            location=name,
        )
    if int(raw) < 1:
        raise bad_request(
            f"Invalid value '{raw}'. Values must be at least 1.",
            reason="invalidParameter",
            location=name,
        )
    return int(raw)


def bool_param(request: Request, name: str) -> bool:
    raw = request.query_params.get(name, "false").lower()
    if raw not in ("true", "false", "1", "0"):
        raise bad_request(
            f"Invalid boolean value: '{raw}'.", reason="invalidParameter", location=name
        )
    return raw in ("true", "1")


def enum_param(request: Request, name: str, allowed: Sequence[str]) -> str | None:
    raw = request.query_params.get(name)
    if raw is not None and raw not in allowed:
        raise bad_request(
            f"Invalid value for {name}: {raw}", reason="invalidParameter", location=name
        )
    return raw


# --- Google Calendar -------------------------------------------------------------------

CALENDAR_WRITE = frozenset(
    AUTH + s
    for s in ("calendar", "calendar.app.created", "calendar.events", "calendar.events.owned")
)
CALENDAR_READ = CALENDAR_WRITE | frozenset(
    AUTH + s
    for s in (
        "calendar.events.freebusy",
        "calendar.events.owned.readonly",
        "calendar.events.public.readonly",
        "calendar.events.readonly",
        "calendar.readonly",
    )
)
EVENT_ID = re.compile(r"^[a-v0-9]{5,1024}$")  # ids a client may choose (events.insert)
# Any event id: generated ones, plus `_<start>` suffixes of recurring-event instances.
EVENT_REFERENCE = re.compile(r"^[A-Za-z0-9_]{5,1024}$")


@dataclass(frozen=True)
class Invitation:
    """An e-mail Google Calendar sent to a guest: kind "invitation" or "cancellation"."""

    event_id: str
    email: str
    kind: str


class GoogleCalendarEmulator(GoogleEmulator):
    name = "google_calendar"

    def __init__(self) -> None:
        # calendar id -> event id -> event resource (as the API returns it)
        self.calendar_events: dict[str, dict[str, dict[str, Any]]] = {}
        self.invitations: list[Invitation] = []
        super().__init__()

    def routes(self) -> list[BaseRoute]:
        events = "/calendar/v3/calendars/{calendar_id}/events"
        return [
            Route(events, self.insert_event, methods=["POST"]),
            Route(events, self.list_events, methods=["GET"]),
            Route(events + "/{event_id}", self.delete_event, methods=["DELETE"]),
        ]

    def settings_overrides(self) -> dict[str, str]:
        return {"google_calendar_base_url": f"{self.url}/calendar/v3"}

    # --- seeding ---

    def add_calendar(self, calendar_id: str) -> None:
        """Make a secondary calendar (e.g. `team@group.calendar.google.com`) exist."""
        with self.lock:
            self.calendar_events.setdefault(calendar_id, {})

    def seed_event(
        self,
        calendar_id: str,
        *,
        summary: str,
        start: datetime,
        end: datetime,
        created: datetime | None = None,
        attendees: Iterable[str] = (),
        event_id: str | None = None,
    ) -> dict[str, Any]:
        """Store an event as if it had been created at `created` (default: now)."""
        stamp = created or self.now()
        event = self._resource(
            {
                "id": event_id,
                "summary": summary,
                "start": {"dateTime": start.isoformat()},
                "end": {"dateTime": end.isoformat()},
                "attendees": [{"email": email} for email in attendees],
            },
            calendar_id,
            stamp,
        )
        with self.lock:
            self.calendar_events.setdefault(calendar_id, {})[event["id"]] = event
        return event

    # --- endpoints ---

    async def insert_event(self, request: Request) -> Response:
        grant = self.authorize(request, CALENDAR_WRITE)
        calendar_id, events = self._calendar(request, grant)
        send_updates = enum_param(request, "sendUpdates", ("all", "externalOnly", "none"))
        event = self._resource(await self.json_body(request), calendar_id, self.now())
        with self.lock:
            if event["id"] in events:
                raise EmulatorError(
                    409, "The requested identifier already exists.", reason="duplicate"
                )
            events[event["id"]] = event
            self._notify(event, send_updates, "invitation")
        return JSONResponse(event)

    async def list_events(self, request: Request) -> Response:
        grant = self.authorize(request, CALENDAR_READ)
        calendar_id, events = self._calendar(request, grant)
        keep = self._event_filter(request)
        order = enum_param(request, "orderBy", ("startTime", "updated"))
        if order == "startTime" and not bool_param(request, "singleEvents"):
            raise bad_request("The requested ordering is not available for the particular query.")
        with self.lock:
            selected = [event for event in events.values() if keep(event)]
        if order == "startTime":
            selected.sort(key=lambda event: _instant(event["start"]))
        elif order == "updated":
            selected.sort(key=lambda event: event["updated"])
        items, next_token = self.page(
            selected, request, size_param="maxResults", default=250, maximum=2500
        )
        body: dict[str, Any] = {
            "kind": "calendar#events",
            "etag": f'"{secrets.randbelow(10**16)}"',
            "summary": calendar_id,
            "updated": iso_millis(self.now()),
            "timeZone": "UTC",
            "accessRole": "owner",
            "defaultReminders": [],
            "items": items,
        }
        if next_token:
            body["nextPageToken"] = next_token
        return JSONResponse(body)

    async def delete_event(self, request: Request) -> Response:
        grant = self.authorize(request, CALENDAR_WRITE)
        _, events = self._calendar(request, grant)
        send_updates = enum_param(request, "sendUpdates", ("all", "externalOnly", "none"))
        event_id = request.path_params["event_id"]
        if not EVENT_REFERENCE.match(event_id):
            raise bad_request("Invalid resource id value.", reason="invalid")
        with self.lock:
            event = events.get(event_id)
            if event is None:
                raise EmulatorError(404, "Not Found")
            if event["status"] == "cancelled":
                raise EmulatorError(410, "Resource has been deleted", reason="deleted")
            event["status"] = "cancelled"
            event["updated"] = iso_millis(self.now())
            event["sequence"] += 1
            self._notify(event, send_updates, "cancellation")
        return Response(status_code=204)

    # --- helpers ---

    def _calendar(self, request: Request, grant: Grant) -> tuple[str, dict[str, dict[str, Any]]]:
        """The calendar the path names ("primary" is the account's own), or a 404."""
        calendar_id = request.path_params["calendar_id"]
        own = self.address(grant)
        if calendar_id == "primary":
            calendar_id = own
        with self.lock:
            if calendar_id == own:
                self.calendar_events.setdefault(own, {})
            events = self.calendar_events.get(calendar_id)
        if events is None:
            raise EmulatorError(404, "Not Found")
        return calendar_id, events

    def _resource(self, body: dict[str, Any], calendar_id: str, stamp: datetime) -> dict[str, Any]:
        """A validated event resource from an events.insert body."""
        start, end = _event_time(body, "start"), _event_time(body, "end")
        if isinstance(start, datetime) != isinstance(end, datetime):
            raise bad_request("Start and end times must either both be date or both be dateTime.")
        if end < start:  # type: ignore[operator]
            raise bad_request("The specified time range is empty.", reason="timeRangeEmpty")
        recurring_without_zone = body.get("recurrence") and not body["start"].get("timeZone")
        if recurring_without_zone and isinstance(start, datetime):
            raise bad_request("Missing time zone definition for start time.", reason="required")
        event_id = body.get("id") or base64.b32hexencode(secrets.token_bytes(15)).decode().lower()
        if not isinstance(event_id, str) or not EVENT_ID.match(event_id):
            raise bad_request("Invalid resource id value.", reason="invalid")
        event: dict[str, Any] = {
            "kind": "calendar#event",
            "etag": f'"{int(stamp.timestamp() * 1000)}"',
            "id": event_id,
            "status": body.get("status", "confirmed"),
            "htmlLink": "https://www.google.com/calendar/event?eid="
            + base64.urlsafe_b64encode(f"{event_id} {calendar_id}".encode()).decode().rstrip("="),
            "created": iso_millis(stamp),
            "updated": iso_millis(stamp),
            "creator": {"email": calendar_id, "self": True},
            "organizer": {"email": calendar_id, "self": True},
            "start": _time_resource(start, body["start"].get("timeZone")),
            "end": _time_resource(end, body["end"].get("timeZone")),
            "iCalUID": f"{event_id}@google.com",
            "sequence": 0,
            "reminders": {"useDefault": True},
            "eventType": "default",
        }
        for key in ("summary", "description", "location", "recurrence"):
            if body.get(key) is not None:
                event[key] = body[key]
        attendees = _attendees(body.get("attendees") or [], calendar_id)
        if attendees:
            event["attendees"] = attendees
        return event

    def _event_filter(self, request: Request) -> Callable[[dict[str, Any]], bool]:
        time_min = _time_param(request, "timeMin")
        time_max = _time_param(request, "timeMax")
        updated_min = _time_param(request, "updatedMin")
        if time_min and time_max and time_max <= time_min:
            raise bad_request(
                "The specified time range is empty.", reason="timeRangeEmpty", location="timeMax"
            )
        # Entries deleted since updatedMin are always included (events.list reference).
        show_deleted = bool_param(request, "showDeleted") or updated_min is not None
        words = request.query_params.get("q", "").lower().split()

        def keep(event: dict[str, Any]) -> bool:
            return (
                (show_deleted or event["status"] != "cancelled")
                and (time_min is None or _instant(event["end"]) > time_min)
                and (time_max is None or _instant(event["start"]) < time_max)
                and (updated_min is None or parse_iso(event["updated"]) >= updated_min)  # type: ignore[operator]
                and all(word in _event_text(event) for word in words)
            )

        return keep

    def _notify(self, event: dict[str, Any], send_updates: str | None, kind: str) -> None:
        """Record the e-mails Google would send to guests for `sendUpdates`."""
        if send_updates not in ("all", "externalOnly"):
            return
        organizer = event["organizer"]["email"]
        domain = organizer.rpartition("@")[2]
        for attendee in event.get("attendees", []):
            email = attendee["email"]
            external = email.rpartition("@")[2] != domain
            if email != organizer and (send_updates == "all" or external):
                self.invitations.append(Invitation(event["id"], email, kind))


def _event_time(body: dict[str, Any], key: str) -> datetime | date:
    value = body.get(key)
    if not isinstance(value, dict) or not (value.get("date") or value.get("dateTime")):
        raise bad_request(f"Missing {key} time.", reason="required")
    if value.get("date") and value.get("dateTime"):
        raise bad_request(f"Invalid {key} time.", reason="invalid")
    if value.get("date"):
        try:
            return date.fromisoformat(str(value["date"]))
        except ValueError as exc:
            raise bad_request(f"Invalid {key} time.", reason="invalid") from exc
    moment = parse_iso(str(value["dateTime"]))
    if moment is None:
        raise bad_request(f"Invalid {key} time.", reason="invalid")
    zone_name = value.get("timeZone")
    if zone_name:
        try:
            zone = ZoneInfo(str(zone_name))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise bad_request(
                f"Invalid time zone definition for {key} time.", reason="invalid"
            ) from exc
        return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment
    if moment.tzinfo is None:
        raise bad_request(f"Missing time zone definition for {key} time.", reason="required")
    return moment


def _time_resource(moment: datetime | date, zone_name: str | None) -> dict[str, str]:
    if not isinstance(moment, datetime):
        return {"date": moment.isoformat()}
    if zone_name:
        return {
            "dateTime": moment.astimezone(ZoneInfo(zone_name)).isoformat(),
            "timeZone": zone_name,
        }
    return {"dateTime": moment.isoformat()}


def _attendees(given: Any, organizer: str) -> list[dict[str, Any]]:
    if not isinstance(given, list):
        raise bad_request("Invalid attendees.", reason="invalid")
    attendees = []
    for attendee in given:
        email = attendee.get("email") if isinstance(attendee, dict) else None
        if not email:
            raise bad_request("Missing attendee email.", reason="required")
        if not EMAIL.match(str(email)):
            raise bad_request("Invalid attendee email.", reason="invalid")
        entry = {**attendee, "responseStatus": "needsAction"}
        if email == organizer:
            entry |= {"organizer": True, "self": True, "responseStatus": "accepted"}
        attendees.append(entry)
    return attendees


def _instant(value: dict[str, str]) -> datetime:
    if "dateTime" in value:
        return datetime.fromisoformat(value["dateTime"])
    return datetime.combine(date.fromisoformat(value["date"]), time(), UTC)


def _event_text(event: dict[str, Any]) -> str:
    guests = " ".join(
        f"{a.get('email', '')} {a.get('displayName', '')}" for a in event.get("attendees", [])
    )
    parts = (event.get("summary", ""), event.get("description", ""), event.get("location", ""))
    return " ".join((*parts, guests)).lower()


def _time_param(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    moment = parse_iso(raw)
    if moment is None or moment.tzinfo is None:
        raise bad_request("Bad Request", location=name)
    return moment


# --- Gmail -----------------------------------------------------------------------------

GMAIL_SEND = frozenset(
    {MAIL_GOOGLE_COM}
    | {AUTH + s for s in ("gmail.addons.current.action.compose", "gmail.compose", "gmail.modify")}
    | {AUTH + "gmail.send"}
)
GMAIL_DRAFT = GMAIL_SEND - {AUTH + "gmail.send"}
GMAIL_METADATA = frozenset(
    {AUTH + "gmail.metadata", AUTH + "gmail.addons.current.message.metadata"}
)
GMAIL_LIST = frozenset(
    {MAIL_GOOGLE_COM, AUTH + "gmail.metadata", AUTH + "gmail.modify", AUTH + "gmail.readonly"}
)
GMAIL_GET = GMAIL_LIST | frozenset(
    AUTH + s
    for s in (
        "gmail.addons.current.message.action",
        "gmail.addons.current.message.metadata",
        "gmail.addons.current.message.readonly",
    )
)
RAW_REQUIRED = "'raw' RFC822 payload message string or uploading message via /upload/* URL required"


@dataclass
class MailMessage:
    """A message in the emulated mailbox, with its RFC 2822 source parsed."""

    id: str
    thread_id: str
    raw: bytes
    labels: list[str]
    internal_date: datetime
    history_id: int = 1
    parsed: EmailMessage = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.parsed = BytesParser(policy=policy.default).parsebytes(self.raw)  # type: ignore[assignment]

    @property
    def headers(self) -> dict[str, str]:
        """Decoded header values by name (the first of repeated headers)."""
        found: dict[str, str] = {}
        for name, value in self.parsed.items():
            found.setdefault(name, str(value))
        return found

    def addresses(self, header: str) -> list[str]:
        value = self.parsed.get(header)
        return [a.addr_spec for a in getattr(value, "addresses", ())]

    @property
    def text(self) -> str:
        """The plain-text body (else the HTML one), decoded, with `\n` line ends."""
        return self._body("plain", "html") or ""

    @property
    def html(self) -> str | None:
        return self._body("html")

    def _body(self, *subtypes: str) -> str | None:
        body = self.parsed.get_body(preferencelist=subtypes)
        return str(body.get_content()).replace("\r\n", "\n") if body is not None else None

    @property
    def snippet(self) -> str:
        return " ".join(self.text.split())[:200]

    def resource(self, fmt: str, wanted_headers: Sequence[str] = ()) -> dict[str, Any]:
        """The Message resource in messages.get `format` (minimal|metadata|full|raw)."""
        resource: dict[str, Any] = {
            "id": self.id,
            "threadId": self.thread_id,
            "labelIds": list(self.labels),
            "sizeEstimate": len(self.raw),
            "historyId": str(self.history_id),
            "internalDate": str(int(self.internal_date.timestamp() * 1000)),
        }
        if fmt == "minimal":
            return resource
        resource["snippet"] = self.snippet
        if fmt == "raw":
            resource["raw"] = base64.urlsafe_b64encode(self.raw).decode()
        elif fmt == "metadata":
            wanted = {name.lower() for name in wanted_headers}
            resource["payload"] = {
                "partId": "",
                "mimeType": self.parsed.get_content_type(),
                "filename": "",
                "headers": [
                    h
                    for h in _part_headers(self.parsed)
                    if not wanted or h["name"].lower() in wanted
                ],
                "body": {"size": 0},
            }
        else:
            resource["payload"] = _part_resource(self.parsed, "", self.id)
        return resource

    def attachment(self, attachment_id: str) -> bytes | None:
        """The decoded bytes of the attachment `attachment_id` names, if it is one of
        this message's."""
        for part_id, part in _leaf_parts(self.parsed, ""):
            if part.get_filename() and _attachment_id(self.id, part_id) == attachment_id:
                return part.get_payload(decode=True) or b""
        return None


def _part_headers(part: EmailMessage) -> list[dict[str, str]]:
    return [{"name": name, "value": str(value)} for name, value in part.items()]


def _child_id(part_id: str, index: int) -> str:
    return f"{part_id}.{index}" if part_id else str(index)


def _leaf_parts(part: EmailMessage, part_id: str) -> Iterable[tuple[str, EmailMessage]]:
    if not part.is_multipart():
        yield part_id, part
        return
    for i, child in enumerate(part.iter_parts()):
        yield from _leaf_parts(child, _child_id(part_id, i))  # type: ignore[arg-type]


def _attachment_id(message_id: str, part_id: str) -> str:
    """An opaque attachment id, stable for a message's part (Gmail's are long tokens)."""
    digest = hashlib.sha256(f"{message_id}/{part_id}".encode()).digest()
    return "ANGjdJ" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _part_resource(part: EmailMessage, part_id: str, message_id: str) -> dict[str, Any]:
    """A MessagePart: leaf parts carry their data inline, except attachments, whose body
    has an `attachmentId` to fetch with messages.attachments.get."""
    resource: dict[str, Any] = {
        "partId": part_id,
        "mimeType": part.get_content_type(),
        "filename": part.get_filename() or "",
        "headers": _part_headers(part),
    }
    if part.is_multipart():
        resource["body"] = {"size": 0}
        resource["parts"] = [
            _part_resource(child, _child_id(part_id, i), message_id)  # type: ignore[arg-type]
            for i, child in enumerate(part.iter_parts())
        ]
        return resource
    data = part.get_payload(decode=True) or b""
    if part.get_filename():
        resource["body"] = {"attachmentId": _attachment_id(message_id, part_id), "size": len(data)}
    else:
        resource["body"] = {"size": len(data), "data": base64.urlsafe_b64encode(data).decode()}
    return resource


class GmailEmulator(GoogleEmulator):
    name = "gmail"

    def __init__(self) -> None:
        self.messages: dict[str, MailMessage] = {}  # the mailbox: inbox, sent, drafts
        self.drafts: dict[str, MailMessage] = {}  # draft id -> its message
        super().__init__()

    def routes(self) -> list[BaseRoute]:
        user = "/gmail/v1/users/{user_id}"
        return [
            Route(f"{user}/messages/send", self.send_message, methods=["POST"]),
            Route(f"{user}/messages", self.list_messages, methods=["GET"]),
            Route(f"{user}/messages/{{message_id}}", self.get_message, methods=["GET"]),
            Route(
                f"{user}/messages/{{message_id}}/attachments/{{attachment_id}}",
                self.get_attachment,
                methods=["GET"],
            ),
            Route(f"{user}/drafts", self.create_draft, methods=["POST"]),
        ]

    def settings_overrides(self) -> dict[str, str]:
        return {"gmail_base_url": self.url}

    @property
    def sent(self) -> list[MailMessage]:
        """Messages sent through the API, oldest first."""
        with self.lock:
            return [m for m in self.messages.values() if "SENT" in m.labels]

    # --- seeding ---

    def deliver(
        self,
        *,
        sender: str,
        subject: str = "",
        body: str = "",
        to: str = SANDBOX_ADDRESS,
        labels: Sequence[str] = ("INBOX", "UNREAD"),
        received_at: datetime | None = None,
        attachments: Sequence[tuple[str, str, bytes]] = (),
    ) -> MailMessage:
        """Put a received message in the mailbox, as if Gmail accepted it at
        `received_at` (default: now); `attachments` are (file name, MIME type, bytes)."""
        moment = received_at or self.now()
        message = EmailMessage(policy=policy.SMTP)
        message["From"] = sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = format_datetime(moment)
        message["Message-ID"] = make_msgid(domain="mail.example.com")
        message.set_content(body)
        for filename, mime_type, data in attachments:
            maintype, _, subtype = mime_type.partition("/")
            message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
        return self._store(message.as_bytes(), list(labels), moment)

    # --- endpoints ---

    async def send_message(self, request: Request) -> Response:
        grant = self.authorize(request, GMAIL_SEND)
        self._check_user(request, grant)
        body = await self.json_body(request)
        raw = self._accept(_decode_raw(body.get("raw")), grant, need_recipient=True)
        stored = self._store(raw, ["SENT"], self.now())
        return JSONResponse(
            {"id": stored.id, "threadId": stored.thread_id, "labelIds": stored.labels}
        )

    async def create_draft(self, request: Request) -> Response:
        grant = self.authorize(request, GMAIL_DRAFT)
        self._check_user(request, grant)
        message = (await self.json_body(request)).get("message")
        if not isinstance(message, dict):
            raise bad_request(RAW_REQUIRED, reason="invalidArgument")
        raw = self._accept(_decode_raw(message.get("raw")), grant, need_recipient=False)
        stored = self._store(raw, ["DRAFT"], self.now())
        draft_id = f"r{secrets.randbelow(10**19)}"
        with self.lock:
            self.drafts[draft_id] = stored
        return JSONResponse(
            {
                "id": draft_id,
                "message": {"id": stored.id, "threadId": stored.thread_id, "labelIds": ["DRAFT"]},
            }
        )

    async def list_messages(self, request: Request) -> Response:
        grant = self.authorize(request, GMAIL_LIST)
        self._check_user(request, grant)
        query = request.query_params.get("q", "")
        if query and _metadata_only(grant):
            raise EmulatorError(403, "Metadata scope does not support 'q' parameter")
        matches = gmail_search(query)
        labels = request.query_params.getlist("labelIds")
        hide_junk = not bool_param(request, "includeSpamTrash") and not re.search(
            r"\bin:(spam|trash|anywhere)\b", query, re.IGNORECASE
        )
        with self.lock:
            newest_first = sorted(self.messages.values(), key=lambda m: m.internal_date)[::-1]
        selected = [
            m
            for m in newest_first
            if all(label in m.labels for label in labels)
            and not (hide_junk and {"SPAM", "TRASH"} & set(m.labels))
            and matches(m)
        ]
        page, next_token = self.page(
            selected, request, size_param="maxResults", default=100, maximum=500
        )
        body: dict[str, Any] = {"resultSizeEstimate": len(selected)}
        if page:
            body["messages"] = [{"id": m.id, "threadId": m.thread_id} for m in page]
        if next_token:
            body["nextPageToken"] = next_token
        return JSONResponse(body)

    async def get_message(self, request: Request) -> Response:
        grant = self.authorize(request, GMAIL_GET)
        self._check_user(request, grant)
        fmt = enum_param(request, "format", ("minimal", "full", "raw", "metadata")) or "full"
        if fmt in ("full", "raw") and _metadata_only(grant):
            raise EmulatorError(403, f"Metadata scope doesn't allow format {fmt.upper()}")
        message = self._message(request)
        wanted = request.query_params.getlist("metadataHeaders")
        return JSONResponse(message.resource(fmt, wanted))

    async def get_attachment(self, request: Request) -> Response:
        """users.messages.attachments.get: a MessagePartBody with the data base64url."""
        grant = self.authorize(request, GMAIL_GET)
        self._check_user(request, grant)
        if _metadata_only(grant):
            raise EmulatorError(403, "Metadata scope doesn't allow attachment download")
        data = self._message(request).attachment(request.path_params["attachment_id"])
        if data is None:
            raise EmulatorError(404, "Requested entity was not found.")
        return JSONResponse(
            {
                "attachmentId": request.path_params["attachment_id"],
                "size": len(data),
                "data": base64.urlsafe_b64encode(data).decode(),
            }
        )

    # --- helpers ---

    def _message(self, request: Request) -> MailMessage:
        """The message the path names: 400 for an id that cannot be one (Gmail's ids are
        hexadecimal), 404 for one that is not in the mailbox."""
        message_id = request.path_params["message_id"]
        if not re.fullmatch(r"[0-9a-fA-F]+", message_id):
            raise bad_request("Invalid id value", reason="invalidArgument")
        with self.lock:
            message = self.messages.get(message_id)
        if message is None:
            raise EmulatorError(404, "Requested entity was not found.")
        return message

    def _check_user(self, request: Request, grant: Grant) -> None:
        user_id = request.path_params["user_id"]
        if user_id not in ("me", self.address(grant)):
            raise EmulatorError(403, f"Delegation denied for {self.address(grant)}")

    def _accept(self, raw: bytes, grant: Grant, *, need_recipient: bool) -> bytes:
        """Check the address headers as Gmail does; add the From (the account) and a
        Message-ID when the message has none."""
        parsed = BytesParser(policy=policy.default).parsebytes(raw)
        recipients = 0
        for header in ("To", "Cc", "Bcc"):
            value = parsed.get(header)
            if value is None or not str(value).strip():
                continue
            addresses = [a.addr_spec for a in getattr(value, "addresses", ())]
            if value.defects or not addresses or not all(EMAIL.match(a) for a in addresses):
                raise bad_request(f"Invalid {header} header", reason="invalidArgument")
            recipients += len(addresses)
        if need_recipient and not recipients:
            raise bad_request("Recipient address required", reason="invalidArgument")
        added = b""
        if parsed.get("From") is None:
            added += f"From: {self.address(grant)}\r\n".encode()
        if parsed.get("Message-ID") is None:
            added += f"Message-ID: {make_msgid(domain='mail.gmail.com')}\r\n".encode()
        return added + raw

    def _store(self, raw: bytes, labels: list[str], moment: datetime) -> MailMessage:
        with self.lock:
            message_id = f"{secrets.randbits(60):x}"
            message = MailMessage(
                id=message_id,
                thread_id=message_id,
                raw=raw,
                labels=labels,
                internal_date=moment,
                history_id=len(self.messages) + 1,
            )
            self.messages[message_id] = message
        return message


def _decode_raw(raw: Any) -> bytes:
    if not raw:
        raise bad_request(RAW_REQUIRED, reason="invalidArgument")
    if not isinstance(raw, str) or not re.fullmatch(r"[A-Za-z0-9_-]*={0,2}", raw):
        raise bad_request(
            f"Invalid value at 'message.raw' (TYPE_BYTES), Base64 decoding failed for "
            f'"{str(raw)[:40]}"',
            reason="invalid",
        )
    return base64.urlsafe_b64decode(raw.rstrip("=") + "=" * (-len(raw.rstrip("=")) % 4))


def _metadata_only(grant: Grant) -> bool:
    return grant.scopes is not None and grant.scopes & GMAIL_GET <= GMAIL_METADATA


# Gmail search (https://support.google.com/mail/answer/7190): terms joined by spaces
# (AND), `OR`, `-` to negate, parentheses; operators below, other words are free text.
_GMAIL_TOKEN = re.compile(r'\(|\)|"[^"]*"|[^\s()"]+(?:"[^"]*")?')
MailTest = Callable[[MailMessage], bool]
_LABEL_ALIASES = {"read": "-UNREAD", "unread": "UNREAD", "starred": "STARRED"}


def gmail_search(query: str) -> MailTest:
    """A predicate for Gmail's search syntax."""
    tokens = [t for t in _GMAIL_TOKEN.findall(query) if t != "AND"]
    position = 0

    def conjunction() -> MailTest:
        nonlocal position
        tests: list[MailTest] = []
        while position < len(tokens) and tokens[position] != ")":
            tests.append(disjunction())
        return lambda m: all(test(m) for test in tests)

    def disjunction() -> MailTest:
        nonlocal position
        tests = [unary()]
        while position < len(tokens) and tokens[position] == "OR":
            position += 1
            tests.append(unary())
        return lambda m: any(test(m) for test in tests)

    def unary() -> MailTest:
        nonlocal position
        if position >= len(tokens):
            return lambda m: True
        token = tokens[position]
        position += 1
        if token == "(":
            group = conjunction()
            position += 1  # the closing parenthesis
            return group
        if token.startswith("-") and len(token) > 1:
            inner = _gmail_term(token[1:])
            return lambda m: not inner(m)
        return _gmail_term(token)

    return conjunction()


def _gmail_term(token: str) -> MailTest:
    operator, _, value = token.partition(":")
    value = value.strip('"').lower()
    operator = operator.lower()
    if operator in ("from", "to", "cc", "bcc", "subject") and value:
        headers = ("To", "Cc", "Bcc") if operator == "to" else (operator.capitalize(),)
        return lambda m: any(value in m.headers.get(h, "").lower() for h in headers)
    if operator in ("is", "in", "label") and value:
        return _label_test(value)
    if operator in ("after", "before", "newer_than", "older_than") and value:
        return _date_test(operator, value)
    if operator == "has" and value == "attachment":
        return lambda m: any(part.get_filename() for part in m.parsed.walk())
    text = token.strip('"').lower()
    return lambda m: text in " ".join((*m.headers.values(), m.text)).lower()


def _label_test(value: str) -> MailTest:
    if value == "anywhere":
        return lambda m: True
    label = _LABEL_ALIASES.get(value, value.upper())
    if label.startswith("-"):
        return lambda m: label[1:] not in m.labels
    return lambda m: label in (existing.upper() for existing in m.labels)


def _date_test(operator: str, value: str) -> MailTest:
    bound = _gmail_date(operator, value)
    if bound is None:
        return lambda m: False
    if operator in ("after", "newer_than"):
        return lambda m: m.internal_date >= bound
    return lambda m: m.internal_date < bound


def _gmail_date(operator: str, value: str) -> datetime | None:
    if operator in ("newer_than", "older_than"):
        match = re.fullmatch(r"(\d+)([dmy])", value)
        if not match:
            return None
        days = int(match.group(1)) * {"d": 1, "m": 30, "y": 365}[match.group(2)]
        return datetime.now(UTC) - timedelta(days=days)
    if value.isdigit():
        return datetime.fromtimestamp(int(value), UTC)
    try:
        return datetime.strptime(value.replace("-", "/"), "%Y/%m/%d").replace(tzinfo=UTC)
    except ValueError:
        return None


# --- Google Drive ----------------------------------------------------------------------

DRIVE_CREATE = frozenset(AUTH + s for s in ("drive", "drive.appdata", "drive.file"))
DRIVE_LIST = DRIVE_CREATE | frozenset(
    AUTH + s
    for s in (
        "drive.meet.readonly",
        "drive.metadata",
        "drive.metadata.readonly",
        "drive.photos.readonly",
        "drive.readonly",
    )
)
DRIVE_SHARE = frozenset(AUTH + s for s in ("drive", "drive.file"))
# Scopes that see every file; `drive.file` only sees what the app created.
DRIVE_SEE_ALL = frozenset(
    AUTH + s for s in ("drive", "drive.readonly", "drive.metadata", "drive.metadata.readonly")
)
# files.get and files.export: every Drive scope may read metadata; content needs one
# that is not metadata-only.
DRIVE_READ = DRIVE_LIST
DRIVE_METADATA_ONLY = frozenset(
    AUTH + s for s in ("drive.metadata", "drive.metadata.readonly", "drive.meet.readonly")
)
FOLDER = "application/vnd.google-apps.folder"
GOOGLE_APPS = "application/vnd.google-apps."
# What each Docs Editors type exports to here (a subset of Drive's exportFormats: the
# formats the emulator can render from the text it keeps for the file).
EXPORTS = {
    GOOGLE_APPS + "document": ("text/plain", "application/pdf"),
    GOOGLE_APPS + "spreadsheet": ("text/csv", "application/pdf"),
    GOOGLE_APPS + "presentation": ("text/plain", "application/pdf"),
}
EXPORT_LIMIT = 10 * 1024 * 1024  # Drive: "exported content is limited to 10MB"
FILE_FIELDS = "kind,id,name,mimeType"
LIST_FIELDS = "kind,nextPageToken,incompleteSearch,files(kind,id,name,mimeType)"
PERMISSION_FIELDS = "kind,id,type,role"
ROLES = ("owner", "organizer", "fileOrganizer", "writer", "commenter", "reader")
GRANTEE_TYPES = ("user", "group", "domain", "anyone")


@dataclass(frozen=True)
class ShareNotification:
    """The e-mail Drive sent to a user or group a file was shared with."""

    file_id: str
    email: str
    role: str
    message: str | None


class GoogleDriveEmulator(GoogleEmulator):
    name = "google_drive"

    def __init__(self) -> None:
        self.root_id = "0A" + secrets.token_urlsafe(12)
        self.drive_files: dict[str, dict[str, Any]] = {}  # id -> full File resource
        self.file_contents: dict[str, bytes] = {}
        self.app_files: set[str] = set()  # created through the API: visible to drive.file
        self.share_notifications: list[ShareNotification] = []
        self.upload_sessions: dict[str, tuple[Grant, dict[str, Any], int | None]] = {}
        super().__init__()

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/drive/v3/files", self.create_file, methods=["POST"]),
            Route("/drive/v3/files", self.list_files, methods=["GET"]),
            Route("/drive/v3/files/{file_id}", self.get_file, methods=["GET"]),
            Route("/drive/v3/files/{file_id}/export", self.export_file, methods=["GET"]),
            Route("/upload/drive/v3/files", self.upload_file, methods=["POST"]),
            Route("/upload/drive/v3/files", self.resume_upload, methods=["PUT"]),
            Route(
                "/drive/v3/files/{file_id}/permissions", self.create_permission, methods=["POST"]
            ),
        ]

    def settings_overrides(self) -> dict[str, str]:
        return {"google_drive_base_url": self.url}

    # --- seeding ---

    def add_file(
        self,
        name: str,
        *,
        mime_type: str = "text/plain",
        parents: Sequence[str] = (),
        content: bytes = b"",
        created_time: datetime | None = None,
        owner: str = SANDBOX_ADDRESS,
        file_id: str | None = None,
    ) -> dict[str, Any]:
        """A file the user made outside ATOM (so `drive.file` tokens do not see it)."""
        metadata = {"name": name, "mimeType": mime_type, "parents": list(parents)}
        with self.lock:
            return self._store(metadata, content, owner, created_time or self.now(), file_id)

    # --- endpoints ---

    async def create_file(self, request: Request) -> Response:
        grant = self.authorize(request, DRIVE_CREATE)
        metadata = await self.json_body(request)
        return self._created(request, grant, metadata, b"")

    async def upload_file(self, request: Request) -> Response:
        grant = self.authorize(request, DRIVE_CREATE)
        upload_type = request.query_params.get("uploadType")
        body = await request.body()
        content_type = request.headers.get("content-type", "")
        if upload_type == "media":
            return self._created(request, grant, {"mimeType": content_type.split(";")[0]}, body)
        if upload_type == "resumable":
            return self._start_session(request, grant, body)
        if upload_type != "multipart":
            raise bad_request(
                f"Unsupported uploadType {upload_type!r}: this emulator takes media, "
                "multipart and resumable uploads.",
                reason="invalid",
                location="uploadType",
            )
        parts = split_multipart(body, content_type)
        if len(parts) != 2:
            raise bad_request(f"Invalid multipart request with {len(parts)} mime parts.")
        (_, metadata_part), (media_headers, media) = parts
        try:
            metadata = json.loads(metadata_part)
        except ValueError as exc:
            raise bad_request("Invalid JSON payload received.", reason="parseError") from exc
        if not isinstance(metadata, dict):
            raise bad_request("Invalid JSON payload received.", reason="parseError")
        metadata.setdefault("mimeType", media_headers.get("content-type", "").split(";")[0])
        return self._created(request, grant, metadata, media)

    def _start_session(self, request: Request, grant: Grant, body: bytes) -> Response:
        """The first request of a resumable upload: the metadata (JSON, possibly empty);
        the answer's Location is the session URI the content is PUT to."""
        metadata = json.loads(body) if body.strip() else {}
        if not isinstance(metadata, dict):
            raise bad_request("Invalid JSON payload received.", reason="parseError")
        announced = request.headers.get("x-upload-content-type")
        if announced:
            metadata.setdefault("mimeType", announced)
        length = request.headers.get("x-upload-content-length", "")
        upload_id = secrets.token_urlsafe(24)
        with self.lock:
            self.upload_sessions[upload_id] = (grant, metadata, int(length) if length else None)
        fields = request.query_params.get("fields")
        location = f"{self.url}/upload/drive/v3/files?uploadType=resumable&upload_id={upload_id}"
        if fields:
            location += f"&fields={fields}"
        return Response(status_code=200, headers={"Location": location})

    async def resume_upload(self, request: Request) -> Response:
        """The content of a resumable upload, sent whole in one PUT to the session URI."""
        upload_id = request.query_params.get("upload_id", "")
        with self.lock:
            session = self.upload_sessions.pop(upload_id, None)
        if session is None:
            raise EmulatorError(404, "Upload session not found or expired.", reason="notFound")
        grant, metadata, length = session
        content = await request.body()
        if length is not None and len(content) != length:
            raise bad_request(
                f"The upload was {len(content)} bytes; {length} were announced.",
                reason="invalid",
            )
        return self._created(request, grant, metadata, content)

    async def get_file(self, request: Request) -> Response:
        """files.get: the File resource, or with `alt=media` the file's bytes."""
        grant = self.authorize(request, DRIVE_READ)
        record = self._readable(grant, request.path_params["file_id"])
        if request.query_params.get("alt") != "media":
            fields = request.query_params.get("fields") or FILE_FIELDS
            return JSONResponse(select_fields(record, fields))
        self._check_content_scope(grant)
        if record["mimeType"].startswith(GOOGLE_APPS):
            raise EmulatorError(
                403,
                "Only files with binary content can be downloaded. Use Export with Docs "
                "Editors files.",
                reason="fileNotDownloadable",
                location="alt",
                location_type="parameter",
            )
        return Response(self.file_contents[record["id"]], media_type=record["mimeType"])

    async def export_file(self, request: Request) -> Response:
        """files.export: a Docs Editors file converted to `mimeType`."""
        grant = self.authorize(request, DRIVE_READ)
        record = self._readable(grant, request.path_params["file_id"])
        self._check_content_scope(grant)
        target = request.query_params.get("mimeType")
        if not target:
            raise bad_request(
                "Required parameter: mimeType", reason="required", location="mimeType"
            )
        formats = EXPORTS.get(record["mimeType"])
        if formats is None:
            raise EmulatorError(
                403, "Export only supports Docs Editors files.", reason="fileNotExportable"
            )
        if target not in formats:
            raise bad_request("The requested conversion is not supported.", reason="badRequest")
        text = self.file_contents.get(record["id"], b"")
        exported = text if target != "application/pdf" else text_pdf(text.decode("utf-8"))
        if len(exported) > EXPORT_LIMIT:
            raise EmulatorError(
                403, "This file is too large to be exported.", reason="exportSizeLimitExceeded"
            )
        return Response(exported, media_type=target)

    async def list_files(self, request: Request) -> Response:
        grant = self.authorize(request, DRIVE_LIST)
        # 'root' is Drive's alias for the id of My Drive.
        query = request.query_params.get("q", "").replace(
            "'root' in parents", f"'{self.root_id}' in parents"
        )
        matches = drive_search(query)
        order = _drive_order(request.query_params.get("orderBy"))
        with self.lock:
            files = [
                f for f in self.drive_files.values() if self._visible(grant, f["id"]) and matches(f)
            ]
        for key, descending in reversed(order):
            files.sort(key=lambda f, key=key: f.get(key) or "", reverse=descending)
        page, next_token = self.page(
            files, request, size_param="pageSize", default=100, maximum=1000
        )
        body: dict[str, Any] = {"kind": "drive#fileList", "incompleteSearch": False, "files": page}
        if next_token:
            body["nextPageToken"] = next_token
        return JSONResponse(select_fields(body, request.query_params.get("fields") or LIST_FIELDS))

    async def create_permission(self, request: Request) -> Response:
        grant = self.authorize(request, DRIVE_SHARE)
        file_id = request.path_params["file_id"]
        role, grantee, email = _permission_request(await self.json_body(request))
        # Drive defaults sendNotificationEmail to true for users and groups.
        notify = "sendNotificationEmail" not in request.query_params or bool_param(
            request, "sendNotificationEmail"
        )
        with self.lock:
            record = self.drive_files.get(file_id)
            if record is None or not self._visible(grant, file_id):
                raise EmulatorError(404, f"File not found: {file_id}.", location="fileId")
            permission = _grant_permission(record, role, grantee, email)
            if email and notify:
                message = request.query_params.get("emailMessage")
                self.share_notifications.append(ShareNotification(file_id, email, role, message))
        fields = request.query_params.get("fields") or PERMISSION_FIELDS
        return JSONResponse(select_fields(permission, fields))

    # --- helpers ---

    def _created(
        self, request: Request, grant: Grant, metadata: dict[str, Any], content: bytes
    ) -> Response:
        with self.lock:
            parents = metadata.get("parents") or []
            if not isinstance(parents, list):
                raise bad_request("Invalid Value", reason="invalid", location="parents")
            if len(parents) > 1:
                raise EmulatorError(
                    403,
                    "Increasing the number of parents is not allowed",
                    reason="cannotAddParent",
                )
            for parent in parents:
                self._check_parent(grant, parent)
            record = self._store(metadata, content, self.address(grant), self.now())
            self.app_files.add(record["id"])
        fields = request.query_params.get("fields") or FILE_FIELDS
        return JSONResponse(select_fields(record, fields))

    def _store(
        self,
        metadata: dict[str, Any],
        content: bytes,
        owner: str,
        stamp: datetime,
        file_id: str | None = None,
    ) -> dict[str, Any]:
        file_id = file_id or "1" + secrets.token_urlsafe(24)
        mime_type = metadata.get("mimeType") or "application/octet-stream"
        folder = mime_type == FOLDER
        parents = [self.root_id if p == "root" else p for p in metadata.get("parents") or []]
        record: dict[str, Any] = {
            "kind": "drive#file",
            "id": file_id,
            "name": metadata.get("name") or "Untitled",
            "mimeType": mime_type,
            "parents": parents or [self.root_id],
            "createdTime": iso_millis(stamp),
            "modifiedTime": iso_millis(stamp),
            "webViewLink": f"https://drive.google.com/drive/folders/{file_id}"
            if folder
            else f"https://drive.google.com/file/d/{file_id}/view?usp=drivesdk",
            "owners": [{"kind": "drive#user", "emailAddress": owner, "me": True}],
            "trashed": False,
            "starred": False,
            "shared": False,
            "permissions": [
                {
                    "kind": "drive#permission",
                    "id": _permission_id(owner),
                    "type": "user",
                    "role": "owner",
                    "emailAddress": owner,
                }
            ],
        }
        if metadata.get("description"):
            record["description"] = metadata["description"]
        if not folder:
            record |= {"size": str(len(content)), "md5Checksum": hashlib.md5(content).hexdigest()}
            self.file_contents[file_id] = content
        self.drive_files[file_id] = record
        return record

    def _readable(self, grant: Grant, file_id: str) -> dict[str, Any]:
        with self.lock:
            record = self.drive_files.get(file_id)
        if record is None or not self._visible(grant, file_id):
            raise EmulatorError(404, f"File not found: {file_id}.", location="fileId")
        return record

    @staticmethod
    def _check_content_scope(grant: Grant) -> None:
        if grant.scopes is not None and grant.scopes & DRIVE_READ <= DRIVE_METADATA_ONLY:
            raise EmulatorError(
                403,
                "Request had insufficient authentication scopes.",
                detail="Insufficient Permission",
                reason="insufficientPermissions",
            )

    def _visible(self, grant: Grant, file_id: str) -> bool:
        return (
            grant.scopes is None or bool(grant.scopes & DRIVE_SEE_ALL) or file_id in self.app_files
        )

    def _check_parent(self, grant: Grant, folder_id: str) -> None:
        if folder_id in ("root", self.root_id):
            return
        record = self.drive_files.get(folder_id)
        if record is None or not self._visible(grant, folder_id):
            raise EmulatorError(404, f"File not found: {folder_id}.", location="fileId")
        if record["mimeType"] != FOLDER:
            raise bad_request("The specified parent is not a folder.", reason="invalid")


def text_pdf(text: str) -> bytes:
    """A one-page PDF 1.4 showing `text` (Helvetica, one line per line): what exporting
    a document as PDF gives here. Offsets in the xref table are exact, so PDF readers
    open it."""
    lines = text.splitlines() or [""]
    escaped = [line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for line in lines]
    stream = "BT /F1 11 Tf 72 750 Td 14 TL " + " ".join(f"({line}) '" for line in escaped) + " ET"
    data = stream.encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _permission_id(email: str) -> str:
    """Drive's permission id for a user is stable (their profile id): digits here."""
    return str(int(hashlib.sha256(email.lower().encode()).hexdigest()[:15], 16))


def _permission_request(body: dict[str, Any]) -> tuple[str, str, str | None]:
    grantee, role = body.get("type"), body.get("role")
    if not grantee:
        raise bad_request("The permission type field is required.", reason="required")
    if not role:
        raise bad_request("The permission role field is required.", reason="required")
    if grantee not in GRANTEE_TYPES:
        raise bad_request(f"The permission type value '{grantee}' is invalid.", reason="invalid")
    if role not in ROLES:
        raise bad_request(f"The permission role value '{role}' is invalid.", reason="invalid")
    email = body.get("emailAddress")
    if grantee in ("user", "group"):
        if not email:
            raise bad_request(
                f"The emailAddress field is required for permissions of type '{grantee}'.",
                reason="required",
            )
        if not EMAIL.match(str(email)):
            raise bad_request(f"Invalid email address: {email}", reason="invalid")
    return str(role), str(grantee), str(email) if email else None


def _grant_permission(
    record: dict[str, Any], role: str, grantee: str, email: str | None
) -> dict[str, Any]:
    """Add (or, for the same grantee, update) a permission: sharing twice is harmless."""
    permission_id = "anyoneWithLink" if grantee == "anyone" else _permission_id(email or "")
    for permission in record["permissions"]:
        if permission["id"] == permission_id:
            permission["role"] = role
            return permission
    permission: dict[str, Any] = {
        "kind": "drive#permission",
        "id": permission_id,
        "type": grantee,
        "role": role,
    }
    if email:
        permission["emailAddress"] = email
    record["permissions"].append(permission)
    record["shared"] = True
    return permission


def split_multipart(body: bytes, content_type: str) -> list[tuple[dict[str, str], bytes]]:
    """The parts of a multipart/related body (RFC 2387) as (lower-cased headers, bytes);
    [] when the body or its Content-Type is not well-formed multipart."""
    boundary = re.search(r'boundary="?([^";]+)"?', content_type)
    if not content_type.lower().startswith("multipart/related") or boundary is None:
        return []
    segments = body.split(b"--" + boundary.group(1).encode())
    if len(segments) < 3 or not segments[-1].startswith(b"--"):
        return []
    parts = []
    for segment in segments[1:-1]:
        head, separator, content = segment.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not separator:
            return []
        headers = {}
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        parts.append((headers, content.removesuffix(b"\r\n")))
    return parts


def select_fields(resource: dict[str, Any], spec: str) -> dict[str, Any]:
    """A partial response for a `fields` selector such as `id,name` or
    `nextPageToken,files(id,name)`; `*` selects everything."""
    if spec.strip() == "*":
        return resource
    selected: dict[str, Any] = {}
    for name, inner in _field_selectors(spec):
        if name not in resource:
            continue
        value = resource[name]
        if inner is not None and isinstance(value, list):
            value = [select_fields(item, inner) for item in value]
        elif inner is not None and isinstance(value, dict):
            value = select_fields(value, inner)
        selected[name] = value
    return selected


def _field_selectors(spec: str) -> list[tuple[str, str | None]]:
    selectors, depth, current = [], 0, ""
    for char in spec + ",":
        if char == "," and depth == 0:
            name, _, inner = current.strip().partition("(")
            if name:
                selectors.append((name.strip(), inner[:-1] if inner else None))
            current = ""
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        current += char
    return selectors


# Drive search (https://developers.google.com/workspace/drive/api/guides/search-files):
# `field op value` clauses with and/or/not and parentheses.
_DRIVE_TOKEN = re.compile(r"\s*(?:('(?:[^'\\]|\\.)*')|(!=|<=|>=|=|<|>)|([()])|([A-Za-z_]\w*))")
FileTest = Callable[[dict[str, Any]], bool]
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _invalid_query() -> EmulatorError:
    return bad_request("Invalid Value", reason="invalid", location="q")


def _drive_tokens(query: str) -> list[str]:
    tokens, position = [], 0
    while position < len(query.rstrip()):
        match = _DRIVE_TOKEN.match(query, position)
        if match is None or match.end() == position:
            raise _invalid_query()
        tokens.append(next(group for group in match.groups() if group is not None))
        position = match.end()
    return tokens


def drive_search(query: str) -> FileTest:
    """A predicate for Drive's query language (the fields ATOM and tests use)."""
    tokens = _drive_tokens(query)
    position = 0

    def take() -> str:
        nonlocal position
        if position >= len(tokens):
            raise _invalid_query()
        position += 1
        return tokens[position - 1]

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def either() -> FileTest:
        tests = [both()]
        while peek() == "or":
            take()
            tests.append(both())
        return lambda f: any(test(f) for test in tests)

    def both() -> FileTest:
        tests = [unary()]
        while peek() == "and":
            take()
            tests.append(unary())
        return lambda f: all(test(f) for test in tests)

    def unary() -> FileTest:
        if peek() == "not":
            take()
            inner = unary()
            return lambda f: not inner(f)
        if peek() == "(":
            take()
            group = either()
            if take() != ")":
                raise _invalid_query()
            return group
        return _drive_clause(take(), take(), take())

    if not tokens:
        return lambda f: True
    test = either()
    if position != len(tokens):
        raise _invalid_query()
    return test


def _drive_clause(left: str, operator: str, right: str) -> FileTest:
    if operator == "in" and left.startswith("'"):
        value = _literal(left)
        if right == "parents":
            return lambda f: value in f.get("parents", [])
        if right == "owners":
            return lambda f: any(o["emailAddress"] == value for o in f.get("owners", []))
        raise _invalid_query()
    if left in ("trashed", "starred") and operator in ("=", "!=") and right in ("true", "false"):
        flag = right == "true"
        return lambda f: _COMPARE[operator](f.get(left, False), flag)
    if not right.startswith("'"):
        raise _invalid_query()
    value = _literal(right)
    if left in ("name", "mimeType", "fullText") and operator == "contains":
        key = "name" if left == "fullText" else left
        return lambda f: value.lower() in str(f.get(key, "")).lower()
    if left in ("name", "mimeType") and operator in ("=", "!="):
        return lambda f: _COMPARE[operator](f.get(left), value)
    if left in ("createdTime", "modifiedTime") and operator in _COMPARE:
        bound = parse_iso(value)
        if bound is None:
            raise _invalid_query()
        bound = bound if bound.tzinfo else bound.replace(tzinfo=UTC)
        return lambda f: _COMPARE[operator](parse_iso(f[left]), bound)
    raise _invalid_query()


def _literal(token: str) -> str:
    return re.sub(r"\\(.)", r"\1", token[1:-1])


def _drive_order(spec: str | None) -> list[tuple[str, bool]]:
    keys = ("createdTime", "modifiedTime", "name")
    order = []
    for item in (spec or "").split(","):
        words = item.split()
        if not words:
            continue
        if words[0] not in keys or words[1:] not in ([], ["desc"], ["asc"]):
            raise bad_request("Invalid Value", reason="invalid", location="orderBy")
        order.append((words[0], words[1:] == ["desc"]))
    return order
