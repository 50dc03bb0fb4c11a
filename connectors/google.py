"""What the Google connectors (google_calendar, gmail, google_drive) share: the OAuth 2
provider, scopes, how Google spells an error, RFC 3339 times, page-following and the
time-based poll cursor.

Google's REST APIs answer errors as
`{"error": {"code", "message", "errors": [{"domain", "reason", "message", "location",
"locationType"}], "status"}}` and page with `pageToken` / `nextPageToken`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

import httpx
from pydantic import BeforeValidator

from connectors.base import OAuth2Auth, read_error_message

if TYPE_CHECKING:
    from connectors.client import ServiceHttp

SCOPE_PREFIX = "https://www.googleapis.com/auth/"
CALENDAR_EVENTS = SCOPE_PREFIX + "calendar.events"
GMAIL_SEND = SCOPE_PREFIX + "gmail.send"
GMAIL_COMPOSE = SCOPE_PREFIX + "gmail.compose"
GMAIL_READONLY = SCOPE_PREFIX + "gmail.readonly"
DRIVE_FILE = SCOPE_PREFIX + "drive.file"
DRIVE_METADATA_READONLY = SCOPE_PREFIX + "drive.metadata.readonly"

GOOGLE_OAUTH = OAuth2Auth(
    authorize_url="https://accounts.google.com/o/oauth2/v2/auth",
    token_url="https://oauth2.googleapis.com/token",
    revoke_url="https://oauth2.googleapis.com/revoke",
    pkce=True,
    # offline: Google issues a refresh token; consent: it issues one again on a reconnect.
    extra_authorize_params={"access_type": "offline", "prompt": "consent"},
    client_id_setting="google_client_id",
    client_secret_setting="google_client_secret",
)

# One poll follows at most this many result pages; more is not "new since a minute ago".
MAX_POLL_PAGES = 5


def read_google_error(response: httpx.Response) -> str:
    """Google's own message, with the offending parameter or field when Google names one
    (its messages are sometimes as terse as "Invalid Value"); for a 401 the short reason."""
    try:
        body = response.json()
    except ValueError:
        return read_error_message(response)
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not error.get("message"):
        return read_error_message(response)
    message = str(error["message"])
    details = error.get("errors")
    first = details[0] if isinstance(details, list) and details else None
    if response.status_code == 401 and isinstance(first, dict) and first.get("message"):
        return str(first["message"])  # "Invalid Credentials", not a console how-to
    if isinstance(first, dict) and first.get("location") and first["location"] not in message:
        kind = first.get("locationType") or "field"
        return f"{message} ({kind} {first['location']})"
    return message


_ADDRESS_ITEM = re.compile(r'(?:"[^"]*"|[^,])+')


def _split_addresses(value: Any) -> Any:
    """Accept "a@x.com, Bo <b@y.org>" as well as a list: templates render to strings.
    Commas inside quoted display names ("Doe, Jo" <jo@x.com>) do not split."""
    if isinstance(value, str):
        return [part.strip() for part in _ADDRESS_ITEM.findall(value) if part.strip()]
    return value


AddressList = Annotated[list[str], BeforeValidator(_split_addresses)]
"""E-mail addresses, given as a list or as one comma-separated string."""


def segment(value: str) -> str:
    """A path segment, percent-encoded (calendar ids such as `en.usa#holiday@…`)."""
    return quote(value, safe="@")


def rfc3339(moment: datetime) -> str:
    """UTC, millisecond precision, `Z` suffix: the form Google's timestamps take."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_rfc3339(text: str) -> datetime:
    """A Google timestamp (`…Z` or `…+02:00`) as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def now_ms() -> datetime:
    """Now in UTC, truncated to milliseconds like Google's own timestamps, so an item
    created in the same millisecond as a cursor still counts as new."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


async def list_pages(
    http: ServiceHttp,
    path: str,
    params: dict[str, Any],
    *,
    items_key: str,
    limit: int,
    max_pages: int = MAX_POLL_PAGES,
) -> list[dict[str, Any]]:
    """GET `path`, following `nextPageToken`, until `limit` items, `max_pages` pages or
    the last page."""
    items: list[dict[str, Any]] = []
    page_token: str | None = None
    for _ in range(max_pages):
        query = {**params, "pageToken": page_token} if page_token else params
        page = await http.json("GET", path, idempotent=True, params=query) or {}
        items.extend(page.get(items_key) or [])
        page_token = page.get("nextPageToken")
        if not page_token or len(items) >= limit:
            break
    return items[:limit]


@dataclass(frozen=True)
class TimeCursor:
    """Where a poll stands: anything stamped at or after `since` may be new, except the
    `seen` ids (items stamped exactly at `since` that were already handled).

    Polls ask the service for items stamped `>= since` (inclusive, so nothing created in
    the same millisecond is lost) and drop the `seen` ones (so nothing is emitted twice).
    """

    since: datetime
    seen: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def start(cls) -> TimeCursor:
        """The cursor of a first activation: "from now on", no backfill."""
        return cls(since=now_ms())

    @classmethod
    def decode(cls, cursor: str) -> TimeCursor:
        data = json.loads(cursor)
        return cls(since=parse_rfc3339(data["since"]), seen=frozenset(data.get("seen", ())))

    def encode(self) -> str:
        return json.dumps({"since": rfc3339(self.since), "seen": sorted(self.seen)})

    def is_new(self, item_id: str, stamp: datetime) -> bool:
        return stamp >= self.since and item_id not in self.seen

    def advance(self, stamped: Iterable[tuple[str, datetime]]) -> TimeCursor:
        """The cursor after handling `stamped` (id, stamp) pairs: `since` moves to the
        latest stamp and `seen` keeps the ids stamped exactly there."""
        pairs = list(stamped)
        latest = max([self.since, *(stamp for _, stamp in pairs)])
        at_latest = {item_id for item_id, stamp in pairs if stamp == latest}
        if latest == self.since:
            at_latest |= self.seen
        return TimeCursor(since=latest, seen=frozenset(at_latest))
