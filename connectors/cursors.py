"""Poll cursors and RFC 3339 times, shared by the connectors whose events are polled by
time (Google Calendar, Gmail, Google Drive, Trello, Asana).

A `TimeCursor` is "everything stamped at or after `since`, except the `seen` ids". Its
encoded form is a JSON object, so a connector can keep what else its poll needs (the
board or project it resolved at activation) beside it: `cursor.encode(project=gid)`,
then `TimeCursor.decode(text)` and `cursor_scope(text)["project"]`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

Item = TypeVar("Item")


def rfc3339(moment: datetime) -> str:
    """UTC, millisecond precision, `Z` suffix: the form Google's and Asana's timestamps take."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_rfc3339(text: str) -> datetime:
    """An RFC 3339 timestamp (`…Z` or `…+02:00`) as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def now_ms() -> datetime:
    """Now in UTC, truncated to milliseconds like the services' own timestamps, so an
    item created in the same millisecond as a cursor still counts as new."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


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

    def encode(self, **scope: str | None) -> str:
        """The cursor as text; `scope` keeps what the poll watches beside it (read it
        back with `cursor_scope`)."""
        return json.dumps({**scope, "since": rfc3339(self.since), "seen": sorted(self.seen)})

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

    def take(
        self,
        items: Iterable[Item],
        id_of: Callable[[Item], str],
        stamp_of: Callable[[Item], datetime],
    ) -> tuple[list[Item], TimeCursor]:
        """The new `items`, oldest first (items stamped alike keep the order given), and
        the cursor after them."""
        stamped = [(item, id_of(item), stamp_of(item)) for item in items]
        fresh = sorted(
            (entry for entry in stamped if self.is_new(entry[1], entry[2])),
            key=lambda entry: entry[2],
        )
        advanced = self.advance((item_id, stamp) for _, item_id, stamp in fresh)
        return [item for item, _, _ in fresh], advanced


def cursor_scope(cursor: str) -> dict[str, Any]:
    """What a poll keeps beside its TimeCursor (the keyword arguments of `encode`)."""
    data = json.loads(cursor)
    return {key: value for key, value in data.items() if key not in ("since", "seen")}
