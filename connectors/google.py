"""What the Google connectors (google_calendar, gmail, google_drive) share: the OAuth 2
provider, scopes, how Google spells an error and a rate limit, and page-following.
(Their time-based poll cursor and RFC 3339 helpers are in connectors/cursors.py.)

Google's REST APIs answer errors as
`{"error": {"code", "message", "errors": [{"domain", "reason", "message", "location",
"locationType"}], "status"}}` and page with `pageToken` / `nextPageToken`. Besides 429,
they signal rate limits as 403 with the reason `rateLimitExceeded` or
`userRateLimitExceeded` and no Retry-After: back off and retry.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

import httpx
from pydantic import BeforeValidator

from connectors.base import Connector, OAuth2Auth, read_error_message

if TYPE_CHECKING:
    from connectors.client import ServiceHttp

SCOPE_PREFIX = "https://www.googleapis.com/auth/"
CALENDAR_EVENTS = SCOPE_PREFIX + "calendar.events"
GMAIL_SEND = SCOPE_PREFIX + "gmail.send"
GMAIL_COMPOSE = SCOPE_PREFIX + "gmail.compose"
GMAIL_READONLY = SCOPE_PREFIX + "gmail.readonly"
DRIVE_FILE = SCOPE_PREFIX + "drive.file"
DRIVE_METADATA_READONLY = SCOPE_PREFIX + "drive.metadata.readonly"
DRIVE_READONLY = SCOPE_PREFIX + "drive.readonly"

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


# The reasons of a 403 that means "slow down", not "not allowed".
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})


def _google_error(response: httpx.Response) -> dict[str, Any] | None:
    """The `error` object of a Google error body, or None for another shape."""
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else None


def _details(error: dict[str, Any]) -> list[dict[str, Any]]:
    details = error.get("errors")
    return [d for d in details if isinstance(d, dict)] if isinstance(details, list) else []


def read_google_error(response: httpx.Response) -> str:
    """Google's own message, with the offending parameter or field when Google names one
    (its messages are sometimes as terse as "Invalid Value"); for a 401 the short reason."""
    error = _google_error(response)
    if error is None or not error.get("message"):
        return read_error_message(response)
    message = str(error["message"])
    first = next(iter(_details(error)), None)
    if response.status_code == 401 and first is not None and first.get("message"):
        return str(first["message"])  # "Invalid Credentials", not a console how-to
    if first is not None and first.get("location") and first["location"] not in message:
        kind = first.get("locationType") or "field"
        return f"{message} ({kind} {first['location']})"
    return message


def is_google_rate_limit(response: httpx.Response) -> bool:
    """A 403 whose reason says a rate limit was hit (Google sends no Retry-After then)."""
    if response.status_code != 403:
        return False
    error = _google_error(response)
    return error is not None and any(
        detail.get("reason") in RATE_LIMIT_REASONS for detail in _details(error)
    )


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


def google_connector(
    *, name: str, title: str, description: str, base_url_setting: str
) -> Connector:
    """A connector for one Google API: Google's OAuth provider, error words and 403 rate
    limits."""
    return Connector(
        name=name,
        title=title,
        description=description,
        auth=GOOGLE_OAUTH,
        base_url_setting=base_url_setting,
        read_error=read_google_error,
        is_rate_limited=is_google_rate_limit,
    )


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
