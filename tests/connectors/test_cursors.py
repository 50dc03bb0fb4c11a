"""The time-based poll cursor and RFC 3339 helpers the polled connectors share
(connectors/cursors.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from connectors.cursors import TimeCursor, cursor_scope, parse_rfc3339, rfc3339

T0 = datetime(2030, 1, 1, tzinfo=UTC)
MS = timedelta(milliseconds=1)


def test_time_cursor_keeps_the_boundary_millisecond_without_repeats() -> None:
    t0 = T0
    t1 = t0 + MS
    cursor = TimeCursor(since=t0)
    advanced = cursor.advance([("a", t0), ("b", t1), ("c", t1)])
    assert advanced == TimeCursor(since=t1, seen=frozenset({"b", "c"}))
    assert TimeCursor.decode(advanced.encode()) == advanced
    assert not advanced.is_new("b", t1)  # already handled
    assert advanced.is_new("d", t1)  # same millisecond, not seen yet
    assert not advanced.is_new("e", t0)  # before the cursor
    assert advanced.advance([]) == advanced


def test_take_returns_the_new_items_oldest_first_and_the_next_cursor() -> None:
    cursor = TimeCursor(since=T0, seen=frozenset({"seen-at-t0"}))
    items = [
        {"id": "late", "at": T0 + 2 * MS},
        {"id": "old", "at": T0 - MS},
        {"id": "seen-at-t0", "at": T0},
        {"id": "tie-b", "at": T0 + MS},
        {"id": "new-at-t0", "at": T0},
        {"id": "tie-a", "at": T0 + MS},
    ]
    fresh, advanced = cursor.take(items, lambda item: item["id"], lambda item: item["at"])
    assert [item["id"] for item in fresh] == ["new-at-t0", "tie-b", "tie-a", "late"]
    assert advanced == TimeCursor(since=T0 + 2 * MS, seen=frozenset({"late"}))
    again, unchanged = advanced.take(items, lambda item: item["id"], lambda item: item["at"])
    assert (again, unchanged) == ([], advanced)


def test_take_without_new_items_keeps_the_cursor() -> None:
    cursor = TimeCursor(since=T0, seen=frozenset({"a"}))
    assert cursor.take([("a", T0)], lambda pair: pair[0], lambda pair: pair[1]) == ([], cursor)


def test_a_cursor_carries_what_the_poll_watches() -> None:
    cursor = TimeCursor(since=T0, seen=frozenset({"x"}))
    text = cursor.encode(project="1201", list=None)
    assert json.loads(text) == {
        "project": "1201",
        "list": None,
        "since": "2030-01-01T00:00:00.000Z",
        "seen": ["x"],
    }
    assert TimeCursor.decode(text) == cursor
    assert cursor_scope(text) == {"project": "1201", "list": None}
    assert cursor_scope(cursor.encode()) == {}


def test_rfc3339_round_trips_at_millisecond_precision() -> None:
    moment = datetime(2030, 1, 1, 12, 30, 5, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert rfc3339(moment) == "2030-01-01T10:30:05.123Z"
    assert parse_rfc3339("2030-01-01T10:30:05.123Z") == moment.replace(microsecond=123000)
    assert parse_rfc3339("2030-01-01T12:30:05+02:00") == moment.replace(microsecond=0)


def test_a_fresh_cursor_starts_now_at_millisecond_precision() -> None:
    before = datetime.now(UTC) - MS
    started = TimeCursor.start()
    assert before <= started.since <= datetime.now(UTC)
    assert started.since.microsecond % 1000 == 0 and started.seen == frozenset()
