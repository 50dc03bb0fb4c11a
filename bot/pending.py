"""Plans shown in Slack that are not decided yet: the preview message, the thread it lives
in (follow-ups there revise it), the open question if the planner asked one, and whether
it was approved or cancelled. `workflow_id` is the stored workflow the plan became once
approved — or, for a change to a stored workflow (a reply in the thread of an approved
plan, `/atom edit`, the Edit modal of a workflow), the workflow it changes from the
start: approving it stores the next version of that workflow. Approve claims the plan
with a conditional UPDATE, so a double click (or two people) cannot approve it twice."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ColumnElement, DateTime, String, Text, select, update
from sqlalchemy.orm import InstrumentedAttribute, Mapped, mapped_column

from core.db import Base, Database, utcnow

PENDING = "pending"
QUESTION = "question"
APPROVED = "approved"
CANCELLED = "cancelled"


class PendingPlan(Base):
    __tablename__ = "pending_plans"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: uuid.uuid4().hex)
    team_id: Mapped[str] = mapped_column(String(32), index=True)
    user_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    thread_ts: Mapped[str] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    request: Mapped[str] = mapped_column(Text, default="")
    document: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    question: Mapped[str | None] = mapped_column(Text)
    question_state: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    workflow_id: Mapped[str | None] = mapped_column(String(64))
    decided_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class PendingPlans:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def create(self, **fields: Any) -> PendingPlan:
        async with self.database.session() as session:
            plan = PendingPlan(**fields)
            session.add(plan)
        return plan

    async def get(self, team_id: str, plan_id: str) -> PendingPlan | None:
        async with self.database.session() as session:
            return await session.scalar(
                select(PendingPlan).where(PendingPlan.team_id == team_id, PendingPlan.id == plan_id)
            )

    async def open_in_thread(
        self, team_id: str, channel_id: str, thread_ts: str
    ) -> PendingPlan | None:
        """The undecided plan (or open question) of a conversation thread, if any."""
        return await self._newest_in_thread(
            team_id,
            channel_id,
            thread_ts,
            PendingPlan.status.in_((PENDING, QUESTION)),
            newest_by=PendingPlan.created_at,
        )

    async def approved_in_thread(
        self, team_id: str, channel_id: str, thread_ts: str
    ) -> PendingPlan | None:
        """The newest approved plan of a conversation thread: replies there change the
        workflow it became."""
        return await self._newest_in_thread(
            team_id,
            channel_id,
            thread_ts,
            PendingPlan.status == APPROVED,
            PendingPlan.workflow_id.is_not(None),
            newest_by=PendingPlan.updated_at,
        )

    async def _newest_in_thread(
        self,
        team_id: str,
        channel_id: str,
        thread_ts: str,
        *conditions: ColumnElement[bool],
        newest_by: InstrumentedAttribute[datetime],
    ) -> PendingPlan | None:
        async with self.database.session() as session:
            return await session.scalar(
                select(PendingPlan)
                .where(
                    PendingPlan.team_id == team_id,
                    PendingPlan.channel_id == channel_id,
                    PendingPlan.thread_ts == thread_ts,
                    *conditions,
                )
                .order_by(newest_by.desc())
                .limit(1)
            )

    async def save(self, team_id: str, plan_id: str, **fields: Any) -> None:
        async with self.database.session() as session:
            await session.execute(
                update(PendingPlan)
                .where(PendingPlan.team_id == team_id, PendingPlan.id == plan_id)
                .values(**fields, updated_at=utcnow())
            )

    async def decide(self, team_id: str, plan_id: str, status: str, user_id: str) -> bool:
        """Move a pending plan to `status` (approved/cancelled). False if it was already
        decided: the caller lost a race with another click."""
        async with self.database.session() as session:
            result = await session.execute(
                update(PendingPlan)
                .where(
                    PendingPlan.team_id == team_id,
                    PendingPlan.id == plan_id,
                    PendingPlan.status.in_((PENDING, QUESTION)),
                )
                .values(status=status, decided_by=user_id, updated_at=utcnow())
            )
        return result.rowcount == 1
