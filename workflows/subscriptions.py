"""What the scheduler keeps in our own tables: the state of each workflow's trigger and
a receipt for everything that fired it.

`workflow_triggers` (one row per workflow with a schedule or event trigger): what was
applied to the scheduler (a fingerprint of the trigger), since when it is active (the
schedule's anchor; event triggers only see items from then on), the last fire time (so a
scheduler rebuilt from these tables still applies the misfire policy), the poll cursor
and a short poll lease, and the workflow's unguessable webhook token.

`workflow_trigger_receipts` (one row per fire time or event item per workflow): its
primary key is what makes "each fire / each new item starts exactly one run" hold when
two nodes, a poll and a webhook, or a retried job see the same thing twice. The outcome
records fires that started nothing (missed, skipped, queued behind a running run). A
receipt still `starting` after its node died is completed by the next sighting of the
same key (or, for a fire, by run recovery): the run carries the key as its dedupe key,
so completing it twice still makes one run.

Rows are addressed by workflow id (random, unique across teams) and carry `team_id`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    String,
    Text,
    delete,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, Database, record_from_row, utcnow
from workflows.store import TEAM, UTCDateTime

WEBHOOK_TOKEN_BYTES = 32


class TriggerKind(StrEnum):
    SCHEDULE = "schedule"  # cron / rrule / at
    POLL = "poll"  # an event the scheduler polls for (webhook deliveries also count)
    WEBHOOK = "webhook"  # an event that only arrives by webhook


class ReceiptOutcome(StrEnum):
    STARTING = "starting"  # claimed; the run is being created (or its node died first)
    STARTED = "started"  # a run was started (run_id)
    MISSED = "missed"  # a fire found too late (misfire grace exceeded): skipped
    SKIPPED = "skipped"  # a fire while the previous run was still going (overlap: skip)
    QUEUED = "queued"  # a fire waiting for the previous run to end (overlap: queue)
    REFUSED = "refused"  # the engine refused to start a run (detail says why)


class TriggerRow(Base):
    __tablename__ = "workflow_triggers"

    workflow_id: Mapped[str] = mapped_column(
        ForeignKey("workflows.id", ondelete="CASCADE"), primary_key=True
    )
    team_id: Mapped[str] = mapped_column(TEAM)
    kind: Mapped[str] = mapped_column(String(16))
    event: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean)
    anchor: Mapped[datetime] = mapped_column(UTCDateTime)
    active_since: Mapped[datetime] = mapped_column(UTCDateTime)
    last_fire_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cursor: Mapped[str | None] = mapped_column(Text, nullable=True)
    poll_lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    webhook_token: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TriggerReceiptRow(Base):
    __tablename__ = "workflow_trigger_receipts"

    workflow_id: Mapped[str] = mapped_column(
        ForeignKey("workflows.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    team_id: Mapped[str] = mapped_column(TEAM)
    outcome: Mapped[str] = mapped_column(String(16))
    run_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_workflow_trigger_receipts_outcome", "outcome", "workflow_id"),)


@dataclass(frozen=True)
class TriggerState:
    workflow_id: str
    team_id: str
    kind: TriggerKind
    event: str | None
    fingerprint: str
    active: bool
    anchor: datetime
    active_since: datetime
    last_fire_at: datetime | None
    cursor: str | None
    webhook_token: str | None
    last_error: str | None

    @property
    def fires_after(self) -> datetime:
        """Only fire times after this instant are due: the last fire, or the (re)activation."""
        if self.last_fire_at is None:
            return self.active_since
        return max(self.active_since, self.last_fire_at)


@dataclass(frozen=True)
class Receipt:
    workflow_id: str
    key: str
    team_id: str
    outcome: ReceiptOutcome
    run_id: str | None
    detail: str | None
    received_at: datetime


def _state(row: TriggerRow) -> TriggerState:
    return record_from_row(TriggerState, row, kind=TriggerKind(row.kind))


def _receipt(row: TriggerReceiptRow) -> Receipt:
    return record_from_row(Receipt, row, outcome=ReceiptOutcome(row.outcome))


@dataclass(frozen=True)
class TriggerPlan:
    """What a workflow's trigger should be (computed by reconcile)."""

    team_id: str
    workflow_id: str
    kind: TriggerKind
    fingerprint: str
    event: str | None = None
    needs_token: bool = False


def _apply(row: TriggerRow, plan: TriggerPlan, now: datetime) -> None:
    if row.fingerprint is not None and row.fingerprint != plan.fingerprint:
        row.anchor, row.active_since, row.last_fire_at = now, now, None
        row.cursor, row.last_error = None, None
    elif row.active is False:
        row.active_since, row.cursor, row.last_error = now, None, None
    row.team_id, row.kind, row.event = plan.team_id, plan.kind, plan.event
    row.fingerprint, row.active, row.updated_at = plan.fingerprint, True, now
    if plan.needs_token and row.webhook_token is None:
        row.webhook_token = secrets.token_urlsafe(WEBHOOK_TOKEN_BYTES)


class TriggerStore:
    """Repository of trigger states and receipts."""

    def __init__(self, database: Database) -> None:
        self.database = database

    # --- trigger states ------------------------------------------------------------------

    async def get(self, workflow_id: str) -> TriggerState | None:
        async with self.database.session() as session:
            row = await session.get(TriggerRow, workflow_id)
            return _state(row) if row else None

    async def many(self, workflow_ids: list[str] | None = None) -> dict[str, TriggerState]:
        """States by workflow id: of `workflow_ids`, or all of them."""
        query = select(TriggerRow)
        if workflow_ids is not None:
            query = query.where(TriggerRow.workflow_id.in_(workflow_ids))
        async with self.database.session() as session:
            return {row.workflow_id: _state(row) for row in await session.scalars(query)}

    async def activate(self, plan: TriggerPlan, now: datetime) -> TriggerState:
        """Make `plan` the active trigger of its workflow. A new or changed trigger is
        anchored at `now`; a resumed one becomes active again from `now` (fires and
        items from while it was paused are not made up for). The webhook token is kept
        for the life of the workflow, so its URL never changes."""
        return (await self.activate_many([plan], now))[plan.workflow_id]

    async def activate_many(
        self, plans: list[TriggerPlan], now: datetime
    ) -> dict[str, TriggerState]:
        """`activate` for many workflows in one transaction (reconcile at start)."""
        if not plans:
            return {}
        for _attempt in range(2):
            try:
                return await self._activate(plans, now)
            except IntegrityError:  # another process inserted one of the rows first
                continue
        return await self._activate(plans, now)

    async def _activate(self, plans: list[TriggerPlan], now: datetime) -> dict[str, TriggerState]:
        ids = [plan.workflow_id for plan in plans]
        async with self.database.session() as session:
            found = await session.scalars(
                select(TriggerRow).where(TriggerRow.workflow_id.in_(ids)).with_for_update()
            )
            rows = {row.workflow_id: row for row in found}
            for plan in plans:
                row = rows.get(plan.workflow_id)
                if row is None:
                    row = rows[plan.workflow_id] = TriggerRow(
                        workflow_id=plan.workflow_id, anchor=now, active_since=now
                    )
                    session.add(row)
                _apply(row, plan, now)
            await session.flush()
            return {workflow_id: _state(row) for workflow_id, row in rows.items()}

    async def deactivate(self, workflow_id: str) -> None:
        """The workflow is paused: no schedule, no polling; the token is kept."""
        async with self.database.session() as session:
            await session.execute(
                update(TriggerRow)
                .where(TriggerRow.workflow_id == workflow_id)
                .values(active=False, cursor=None, poll_lease_until=None, updated_at=utcnow())
            )

    async def forget(self, workflow_ids: list[str]) -> None:
        """The workflows are deleted (or lost their trigger): drop their state and receipts."""
        async with self.database.session() as session:
            for table in (TriggerReceiptRow, TriggerRow):
                await session.execute(delete(table).where(table.workflow_id.in_(workflow_ids)))

    async def record_fire(self, workflow_id: str, fire_time: datetime) -> None:
        async with self.database.session() as session:
            await session.execute(
                update(TriggerRow)
                .where(
                    TriggerRow.workflow_id == workflow_id,
                    or_(TriggerRow.last_fire_at.is_(None), TriggerRow.last_fire_at < fire_time),
                )
                .values(last_fire_at=fire_time)
            )

    async def claim_poll(
        self, workflow_id: str, now: datetime, until: datetime
    ) -> TriggerState | None:
        """Take the poll lease of an active trigger (one conditional UPDATE: one poll at a
        time per workflow, whichever node runs it)."""
        async with self.database.session() as session:
            claimed = await session.execute(
                update(TriggerRow)
                .where(
                    TriggerRow.workflow_id == workflow_id,
                    TriggerRow.active.is_(True),
                    or_(TriggerRow.poll_lease_until.is_(None), TriggerRow.poll_lease_until < now),
                )
                .values(poll_lease_until=until)
            )
            if not claimed.rowcount:
                return None
            row = await session.get(TriggerRow, workflow_id)
            return _state(row) if row else None

    async def finish_poll(
        self, workflow_id: str, fingerprint: str, cursor: str | None, error: str | None
    ) -> None:
        """Store the new cursor (unless the trigger changed meanwhile) and let the lease go."""
        values: dict[str, object] = {"poll_lease_until": None, "last_error": error}
        if cursor is not None:
            values["cursor"] = cursor
        async with self.database.session() as session:
            await session.execute(
                update(TriggerRow)
                .where(
                    TriggerRow.workflow_id == workflow_id,
                    TriggerRow.fingerprint == fingerprint,
                    TriggerRow.active.is_(True),
                )
                .values(**values)
            )

    async def by_token(self, token: str) -> TriggerState | None:
        async with self.database.session() as session:
            row = await session.scalar(select(TriggerRow).where(TriggerRow.webhook_token == token))
            return _state(row) if row else None

    async def subscribers(self, event: str) -> list[TriggerState]:
        """Active triggers waiting for `event` (`<connector>.<event>`)."""
        async with self.database.session() as session:
            rows = await session.scalars(
                select(TriggerRow).where(TriggerRow.event == event, TriggerRow.active.is_(True))
            )
            return [_state(row) for row in rows]

    # --- receipts ------------------------------------------------------------------------

    async def claim(
        self,
        team_id: str,
        workflow_id: str,
        key: str,
        outcome: ReceiptOutcome = ReceiptOutcome.STARTING,
        detail: str | None = None,
    ) -> bool:
        """Record that `key` (a fire time, an event item) reached the workflow. False when
        it already had: whoever recorded it first handles it."""
        try:
            async with self.database.session() as session:
                session.add(
                    TriggerReceiptRow(
                        workflow_id=workflow_id,
                        key=key,
                        team_id=team_id,
                        outcome=outcome,
                        detail=detail,
                        received_at=utcnow(),
                    )
                )
        except IntegrityError:
            return False
        return True

    async def settle(
        self,
        workflow_id: str,
        key: str,
        outcome: ReceiptOutcome,
        run_id: str | None = None,
        detail: str | None = None,
    ) -> None:
        async with self.database.session() as session:
            await session.execute(
                update(TriggerReceiptRow)
                .where(TriggerReceiptRow.workflow_id == workflow_id, TriggerReceiptRow.key == key)
                .values(outcome=outcome, run_id=run_id, detail=detail)
            )

    async def receipt(self, workflow_id: str, key: str) -> Receipt | None:
        async with self.database.session() as session:
            row = await session.get(TriggerReceiptRow, (workflow_id, key))
            return _receipt(row) if row else None

    async def left_starting(self, before: datetime, key_prefix: str) -> list[Receipt]:
        """Receipts with keys starting with `key_prefix`, claimed before `before` and
        still `starting`: the node that claimed them stopped before settling them,
        perhaps before it started their run."""
        async with self.database.session() as session:
            rows = await session.scalars(
                select(TriggerReceiptRow)
                .where(
                    TriggerReceiptRow.outcome == ReceiptOutcome.STARTING,
                    TriggerReceiptRow.received_at < before,
                    TriggerReceiptRow.key.startswith(key_prefix, autoescape=True),
                )
                .order_by(TriggerReceiptRow.received_at, TriggerReceiptRow.key)
                .limit(100)
            )
            return [_receipt(row) for row in rows]

    async def take_queued(self, workflow_id: str) -> Receipt | None:
        """The oldest fire queued behind a running run, moved to `starting` (so only one
        node starts it)."""
        async with self.database.session() as session:
            row = await session.scalar(
                select(TriggerReceiptRow)
                .where(
                    TriggerReceiptRow.workflow_id == workflow_id,
                    TriggerReceiptRow.outcome == ReceiptOutcome.QUEUED,
                )
                .order_by(TriggerReceiptRow.received_at, TriggerReceiptRow.key)
                .limit(1)
            )
            if row is None:
                return None
            taken = await session.execute(
                update(TriggerReceiptRow)
                .where(
                    TriggerReceiptRow.workflow_id == workflow_id,
                    TriggerReceiptRow.key == row.key,
                    TriggerReceiptRow.outcome == ReceiptOutcome.QUEUED,
                )
                .values(outcome=ReceiptOutcome.STARTING)
            )
            return _receipt(row) if taken.rowcount else None

    async def workflows_with_queued_fires(self) -> list[tuple[str, str]]:
        """(team_id, workflow_id) of workflows with fires waiting for a run to end."""
        async with self.database.session() as session:
            rows = await session.execute(
                select(TriggerReceiptRow.team_id, TriggerReceiptRow.workflow_id)
                .where(TriggerReceiptRow.outcome == ReceiptOutcome.QUEUED)
                .distinct()
            )
            return [(team_id, workflow_id) for team_id, workflow_id in rows]

    async def receipts(self, workflow_id: str) -> list[Receipt]:
        async with self.database.session() as session:
            rows = await session.scalars(
                select(TriggerReceiptRow)
                .where(TriggerReceiptRow.workflow_id == workflow_id)
                .order_by(TriggerReceiptRow.received_at, TriggerReceiptRow.key)
            )
            return [_receipt(row) for row in rows]
