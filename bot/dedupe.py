"""Slack retries an event it got no 2xx for within 3 s (same `event_id`, with
`X-Slack-Retry-Num`), and Bolt does not deduplicate. We record every event_id we handle
in the database, so a retry is dropped even if it reaches another process.

The check runs inside the event listeners, which Bolt starts after it has acked: the ack
never waits for the database."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, String, delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, Database, utcnow


class SlackEventReceipt(Base):
    __tablename__ = "slack_event_receipts"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32), default="")
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class EventDeduplicator:
    def __init__(self, database: Database, keep: timedelta = timedelta(hours=24)) -> None:
        self.database = database
        self.keep = keep

    async def first_delivery(self, event_id: str, team_id: str = "") -> bool:
        """True the first time `event_id` is seen; False for every retry of it."""
        try:
            async with self.database.session() as session:
                session.add(SlackEventReceipt(event_id=event_id, team_id=team_id))
        except IntegrityError:
            return False
        return True

    async def first_delivery_of(self, body: dict[str, Any]) -> bool:
        """For an Events API payload: whether this is the first delivery of its event."""
        event_id = body.get("event_id")
        return not event_id or await self.first_delivery(event_id, body.get("team_id", ""))

    async def forget_older_than(self, now: datetime | None = None) -> int:
        cutoff = (now or utcnow()) - self.keep
        async with self.database.session() as session:
            result = await session.execute(
                delete(SlackEventReceipt).where(SlackEventReceipt.received_at < cutoff)
            )
        return result.rowcount or 0
