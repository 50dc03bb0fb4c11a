"""Wire-format pieces several emulated services share: how they write and read times,
and the opaque tokens they hand out for paging (Asana offsets, Google page tokens,
Dropbox folder cursors).

Google, Asana and Trello write UTC with milliseconds (`2026-03-04T15:00:00.123Z`);
GitHub and Dropbox write UTC to the second (`2026-03-04T15:00:00Z`). All of them read
ISO 8601 / RFC 3339 with a `Z` or a numeric offset.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any


def iso_millis(moment: datetime) -> str:
    """`2026-03-04T15:00:00.123Z`: UTC, millisecond precision."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def iso_seconds(moment: datetime) -> str:
    """`2026-03-04T15:00:00Z`: UTC, whole seconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime | None:
    """An ISO 8601 / RFC 3339 time (naive if it has no offset), or None if malformed."""
    try:
        return datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


def encode_token(data: dict[str, Any]) -> str:
    """An opaque, URL-safe token carrying `data` (base64url JSON, unpadded)."""
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str) -> dict[str, Any]:
    """The data of an `encode_token` token; ValueError if it is not one."""
    data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    if not isinstance(data, dict):
        raise ValueError("not a token")
    return data
