"""Where ATOM's long-lived messages are (a run's status message, an approver's request), so
any worker node can update them in place later."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, Database, utcnow


class SlackPost(Base):
    __tablename__ = "slack_posts"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    ts: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SlackPosts:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def find(self, team_id: str, key: str) -> SlackPost | None:
        async with self.database.session() as session:
            return await session.scalar(
                select(SlackPost).where(SlackPost.team_id == team_id, SlackPost.key == key)
            )

    async def remember(self, team_id: str, key: str, channel: str, ts: str) -> bool:
        """Record a post; False if one was already recorded under `key` (another node
        posted first)."""
        try:
            async with self.database.session() as session:
                session.add(SlackPost(key=key, team_id=team_id, channel=channel, ts=ts))
        except IntegrityError:
            return False
        return True
