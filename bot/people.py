"""What ATOM keeps per person: the time zone they chose (`/atom settings timezone <zone>`),
which wins over their Slack profile's, and whether ATOM has told them which zone it
assumes (it says so once, on the first plan that has a time in it)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from difflib import get_close_matches
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import DateTime, String, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, Database, utcnow

PROFILE_TTL_SECONDS = 3600.0


class PersonSettingsRow(Base):
    __tablename__ = "person_settings"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    timezone_told_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


@dataclass(frozen=True)
class PersonZone:
    name: str
    chosen: bool  # set with /atom settings timezone (else: the Slack profile's, or UTC)

    @property
    def source(self) -> str:
        return "the time zone you set" if self.chosen else "your Slack profile's time zone"


class UnknownTimezone(ValueError):
    """Not an IANA zone name; the message names the closest ones."""


@cache
def _zone_names() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def canonical_zone(text: str) -> str:
    """The IANA name for `text` ("europe/berlin" → "Europe/Berlin"), or UnknownTimezone."""
    names = _zone_names()
    wanted = text.strip().replace(" ", "_").lower()
    if wanted in names:
        return names[wanted]
    close = get_close_matches(wanted, names, n=3, cutoff=0.6)
    city = [n for key, n in names.items() if key.endswith("/" + wanted)]
    suggestions = city or [names[c] for c in close]
    hint = f" Did you mean {', '.join(f'`{s}`' for s in suggestions)}?" if suggestions else ""
    raise UnknownTimezone(
        f"“{text}” is not a time zone name.{hint} Use a name like `Europe/Berlin` or "
        "`America/New_York`."
    )


class PersonSettings:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._profiles: dict[str, tuple[str, float]] = {}

    async def zone(self, client: AsyncWebClient, team_id: str, user_id: str) -> PersonZone:
        """The zone to read and write the person's times in."""
        row = await self._row(team_id, user_id)
        if row is not None and row.timezone:
            return PersonZone(row.timezone, chosen=True)
        return PersonZone(await self._profile_zone(client, user_id), chosen=False)

    async def set_zone(self, team_id: str, user_id: str, zone: str) -> None:
        async with self.database.session() as session:
            row = await session.get(PersonSettingsRow, (team_id, user_id))
            if row is None:
                session.add(PersonSettingsRow(team_id=team_id, user_id=user_id, timezone=zone))
            else:
                row.timezone = zone

    async def first_time_told(self, team_id: str, user_id: str) -> bool:
        """True exactly once per person: the first call records that they were told the
        zone (one statement, so two plans at once cannot both say it)."""
        now = utcnow()
        async with self.database.session() as session:
            told = await session.execute(
                update(PersonSettingsRow)
                .where(
                    PersonSettingsRow.team_id == team_id,
                    PersonSettingsRow.user_id == user_id,
                    PersonSettingsRow.timezone_told_at.is_(None),
                )
                .values(timezone_told_at=now)
            )
            if told.rowcount:
                return True
            exists = await session.scalar(
                select(PersonSettingsRow.user_id).where(
                    PersonSettingsRow.team_id == team_id, PersonSettingsRow.user_id == user_id
                )
            )
        if exists:
            return False
        try:
            async with self.database.session() as session:
                session.add(
                    PersonSettingsRow(team_id=team_id, user_id=user_id, timezone_told_at=now)
                )
        except IntegrityError:
            return False  # another request created the row first: it told them
        return True

    async def _row(self, team_id: str, user_id: str) -> PersonSettingsRow | None:
        async with self.database.session() as session:
            return await session.get(PersonSettingsRow, (team_id, user_id))

    async def _profile_zone(self, client: AsyncWebClient, user_id: str) -> str:
        """The Slack profile's zone, cached for an hour (read on every request, changes
        rarely)."""
        cached = self._profiles.get(user_id)
        if cached and cached[1] > time.monotonic():
            return cached[0]
        info = await client.users_info(user=user_id)
        zone = info["user"].get("tz") or "UTC"
        try:
            ZoneInfo(zone)
        except (KeyError, ValueError):
            zone = "UTC"
        self._profiles[user_id] = (zone, time.monotonic() + PROFILE_TTL_SECONDS)
        return zone
