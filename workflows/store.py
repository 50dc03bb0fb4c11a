"""Tables and repositories: workflows, their immutable versions, runs, step runs and the
audit log. Every row carries the Slack `team_id` and every query is scoped by it; the
exceptions are the engine's worker queries (`claim`, `recoverable`, `approvals_due`),
which address runs by their random id across teams, as a job queue does, and the
scheduler's reconcile (`WorkflowRepo.active_in_all_teams`, `states_in_all_teams`), which
keeps every team's schedules and subscriptions in line with these tables.

Repositories return frozen records (`WorkflowRecord`, `RunRecord`, `StepRecord`, …),
never ORM objects, so callers cannot change a row behind the repository's back.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import ValidationError
from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Select,
    String,
    Text,
    UniqueConstraint,
    and_,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from core.db import Base, Database, record_from_row, utcnow
from workflows.model import Step, Workflow

log = logging.getLogger(__name__)

# --- statuses ------------------------------------------------------------------------------


class WorkflowState(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"  # a one-time workflow (manual, or a single `at`) that ran
    DELETED = "deleted"


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    WAITING_APPROVAL = "waiting_approval"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    NEEDS_ATTENTION = "needs_attention"

    @property
    def finished(self) -> bool:
        return self in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    UNKNOWN = "unknown"

    @property
    def done(self) -> bool:
        return self in (StepStatus.SUCCEEDED, StepStatus.SKIPPED)


class WorkflowNotFound(LookupError):
    def __init__(self, workflow_id: str, version: int | None = None) -> None:
        which = f" version {version}" if version is not None else ""
        super().__init__(f"workflow {workflow_id}{which} does not exist in this workspace")


class RunNotFound(LookupError):
    def __init__(self, run_id: str) -> None:
        super().__init__(f"run {run_id} does not exist in this workspace")


class LeaseLost(RuntimeError):
    """Another worker took over the run (this worker's lease expired)."""


class DuplicateRun(Exception):
    """The workflow already has a run with this dedupe key (`run_id`)."""

    def __init__(self, run_id: str, dedupe_key: str) -> None:
        super().__init__(f"run {run_id} was already started for {dedupe_key}")
        self.run_id = run_id
        self.dedupe_key = dedupe_key


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


# --- columns -------------------------------------------------------------------------------


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive UTC text, so
    every value is converted to UTC before it is written or compared)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


TEAM = String(32)
USER = String(64)


class WorkflowRow(Base):
    __tablename__ = "workflows"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    team_id: Mapped[str] = mapped_column(TEAM, index=True)
    owner: Mapped[str] = mapped_column(USER)
    name: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), default=WorkflowState.ACTIVE)
    active_version: Mapped[int] = mapped_column(Integer)
    latest_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_workflows_team_owner", "team_id", "owner"),)


class WorkflowVersionRow(Base):
    __tablename__ = "workflow_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(TEAM)
    workflow_id: Mapped[str] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(USER)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("workflow_id", "version"),)


class RunRow(Base):
    __tablename__ = "workflow_runs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    team_id: Mapped[str] = mapped_column(TEAM)
    workflow_id: Mapped[str] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(24), default=RunStatus.QUEUED)
    trigger_kind: Mapped[str] = mapped_column(String(16))
    trigger_payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    """What started the run when it must start once (a fire time, an event item)."""
    requested_by: Mapped[str] = mapped_column(USER)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    waiting_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancel_requested_by: Mapped[str | None] = mapped_column(USER, nullable=True)

    __table_args__ = (
        Index("ix_workflow_runs_team_workflow", "team_id", "workflow_id"),
        Index("ix_workflow_runs_status_lease", "status", "lease_expires_at"),
        UniqueConstraint(
            "team_id", "workflow_id", "dedupe_key", name="uq_workflow_runs_dedupe_key"
        ),
    )


class StepRunRow(Base):
    __tablename__ = "workflow_step_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(TEAM)
    run_id: Mapped[str] = mapped_column(ForeignKey("workflow_runs.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    step_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=StepStatus.PENDING)
    inputs: Mapped[Any] = mapped_column(JSON, nullable=True)
    output: Mapped[Any] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    iterations: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    approval: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (UniqueConstraint("run_id", "step_id"),)


class AuditRow(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(TEAM)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(USER)
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (Index("ix_audit_log_team_subject", "team_id", "subject"),)


# --- records -------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass(frozen=True)
class WorkflowRecord:
    id: str
    team_id: str
    owner: str
    name: str
    state: WorkflowState
    active_version: int
    latest_version: int
    created_at: datetime
    updated_at: datetime
    version: int
    """The version `workflow` is (the active one unless another was asked for)."""
    workflow: Workflow


@dataclass(frozen=True)
class VersionRecord:
    version: int
    name: str
    created_by: str
    created_at: datetime
    active: bool


@dataclass(frozen=True)
class RunRecord:
    id: str
    team_id: str
    workflow_id: str
    version: int
    status: RunStatus
    trigger_kind: str
    trigger_payload: dict[str, Any]
    dedupe_key: str | None
    requested_by: str
    message: str | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    lease_owner: str | None
    lease_expires_at: datetime | None
    waiting_until: datetime | None
    cancel_requested_by: str | None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, datetime):
                data[key] = value.isoformat()
        data["status"] = str(self.status)
        return data


@dataclass(frozen=True)
class StepRecord:
    run_id: str
    position: int
    step_id: str
    action: str
    status: StepStatus
    inputs: Any
    output: Any
    error: str | None
    attempts: int
    idempotency_key: str | None
    iterations: list[dict[str, Any]] | None
    approval: dict[str, Any] | None
    started_at: datetime | None
    finished_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = str(self.status)
        data["started_at"] = _iso(self.started_at)
        data["finished_at"] = _iso(self.finished_at)
        return data


@dataclass(frozen=True)
class AuditEntry:
    team_id: str
    at: datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]


def _run_record(row: RunRow) -> RunRecord:
    return record_from_row(RunRecord, row, status=RunStatus(row.status))


def _step_record(row: StepRunRow) -> StepRecord:
    return record_from_row(StepRecord, row, status=StepStatus(row.status))


# --- audit ---------------------------------------------------------------------------------


def _audit(
    session: AsyncSession,
    team_id: str,
    actor: str,
    action: str,
    subject: str,
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditRow(
            team_id=team_id,
            at=utcnow(),
            actor=actor,
            action=action,
            subject=subject,
            detail=detail or {},
        )
    )


class AuditLog:
    """Who did what, when: approvals, edits, connections, runs."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def record(
        self,
        team_id: str,
        actor: str,
        action: str,
        subject: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        async with self.database.session() as session:
            _audit(session, team_id, actor, action, subject, detail)

    async def entries(
        self, team_id: str, subject: str | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        query = select(AuditRow).where(AuditRow.team_id == team_id)
        if subject is not None:
            query = query.where(AuditRow.subject == subject)
        query = query.order_by(AuditRow.id.desc()).limit(limit)
        async with self.database.session() as session:
            rows = (await session.scalars(query)).all()
        return [
            AuditEntry(r.team_id, r.at, r.actor, r.action, r.subject, dict(r.detail or {}))
            for r in rows
        ]


# --- workflows -----------------------------------------------------------------------------


class WorkflowRepo:
    """Workflows and their immutable versions: an edit adds version N+1 and activates it;
    a rollback re-activates an older version."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def create(
        self, team_id: str, owner: str, workflow: Workflow, *, actor: str | None = None
    ) -> tuple[str, int]:
        workflow_id = new_id("wf")
        now = utcnow()
        async with self.database.session() as session:
            session.add(
                WorkflowRow(
                    id=workflow_id,
                    team_id=team_id,
                    owner=owner,
                    name=workflow.name,
                    state=WorkflowState.ACTIVE,
                    active_version=1,
                    latest_version=1,
                    created_at=now,
                    updated_at=now,
                )
            )
            await session.flush()
            self._add_version(session, team_id, workflow_id, 1, workflow, actor or owner)
            _audit(
                session, team_id, actor or owner, "workflow.created", workflow_id, {"version": 1}
            )
        return workflow_id, 1

    async def update(self, team_id: str, workflow_id: str, workflow: Workflow, actor: str) -> int:
        """Store `workflow` as a new version and make it the active one."""
        async with self.database.session() as session:
            version = await session.scalar(
                update(WorkflowRow)
                .execution_options(synchronize_session=False)
                .where(
                    WorkflowRow.team_id == team_id,
                    WorkflowRow.id == workflow_id,
                    WorkflowRow.state != WorkflowState.DELETED,
                )
                .values(
                    latest_version=WorkflowRow.latest_version + 1,
                    active_version=WorkflowRow.latest_version + 1,
                    name=workflow.name,
                    updated_at=utcnow(),
                )
                .returning(WorkflowRow.latest_version)
            )
            if version is None:
                raise WorkflowNotFound(workflow_id)
            self._add_version(session, team_id, workflow_id, version, workflow, actor)
            _audit(session, team_id, actor, "workflow.updated", workflow_id, {"version": version})
        return version

    async def rollback(self, team_id: str, workflow_id: str, version: int, actor: str) -> int:
        """Re-activate `version` (no new version is written)."""
        async with self.database.session() as session:
            document = await session.scalar(
                select(WorkflowVersionRow.document).where(
                    WorkflowVersionRow.team_id == team_id,
                    WorkflowVersionRow.workflow_id == workflow_id,
                    WorkflowVersionRow.version == version,
                )
            )
            if document is None:
                raise WorkflowNotFound(workflow_id, version)
            result = await session.execute(
                update(WorkflowRow)
                .execution_options(synchronize_session=False)
                .where(
                    WorkflowRow.team_id == team_id,
                    WorkflowRow.id == workflow_id,
                    WorkflowRow.state != WorkflowState.DELETED,
                )
                .values(active_version=version, name=document["name"], updated_at=utcnow())
            )
            if not result.rowcount:
                raise WorkflowNotFound(workflow_id)
            _audit(
                session, team_id, actor, "workflow.rolled_back", workflow_id, {"version": version}
            )
        return version

    async def set_state(
        self, team_id: str, workflow_id: str, state: WorkflowState, actor: str
    ) -> None:
        async with self.database.session() as session:
            result = await session.execute(
                update(WorkflowRow)
                .execution_options(synchronize_session=False)
                .where(WorkflowRow.team_id == team_id, WorkflowRow.id == workflow_id)
                .values(state=state, updated_at=utcnow())
            )
            if not result.rowcount:
                raise WorkflowNotFound(workflow_id)
            _audit(session, team_id, actor, f"workflow.{state}", workflow_id)

    async def get(
        self, team_id: str, workflow_id: str, version: int | None = None
    ) -> WorkflowRecord:
        async with self.database.session() as session:
            row = await session.scalar(
                select(WorkflowRow).where(
                    WorkflowRow.team_id == team_id, WorkflowRow.id == workflow_id
                )
            )
            if row is None:
                raise WorkflowNotFound(workflow_id)
            wanted = version or row.active_version
            document = await session.scalar(
                select(WorkflowVersionRow.document).where(
                    WorkflowVersionRow.workflow_id == workflow_id,
                    WorkflowVersionRow.team_id == team_id,
                    WorkflowVersionRow.version == wanted,
                )
            )
        if document is None:
            raise WorkflowNotFound(workflow_id, wanted)
        return _workflow_record(row, wanted, document)

    async def list_for(
        self,
        team_id: str,
        owner: str | None = None,
        states: Iterable[WorkflowState] = (
            WorkflowState.ACTIVE,
            WorkflowState.PAUSED,
            WorkflowState.COMPLETED,
        ),
    ) -> list[WorkflowRecord]:
        """Workflows of a team (of one owner if given), each at its active version."""
        query = _at_active_version().where(
            WorkflowRow.team_id == team_id, WorkflowRow.state.in_(list(states))
        )
        if owner is not None:
            query = query.where(WorkflowRow.owner == owner)
        async with self.database.session() as session:
            rows = (await session.execute(query)).all()
        return [_workflow_record(row, row.active_version, document) for row, document in rows]

    async def active_in_all_teams(self) -> list[WorkflowRecord]:
        """Every active workflow of every team, at its active version — for the
        scheduler's reconcile only (everything a person reaches is team-scoped). A stored
        document that no longer loads is logged and left out: one bad row must not stop
        every team's schedules."""
        query = _at_active_version().where(WorkflowRow.state == WorkflowState.ACTIVE)
        async with self.database.session() as session:
            rows = (await session.execute(query)).all()
        records = []
        for row, document in rows:
            try:
                records.append(_workflow_record(row, row.active_version, document))
            except ValidationError as exc:
                log.error(
                    "workflow %s (team %s) v%d no longer loads; it gets no schedule: %s",
                    row.id,
                    row.team_id,
                    row.active_version,
                    exc.errors(include_url=False)[0]["msg"],
                )
        return records

    async def states_in_all_teams(self, workflow_ids: Iterable[str]) -> dict[str, WorkflowState]:
        """The state of each of `workflow_ids` that exists, whatever its team — for the
        scheduler's reconcile only."""
        ids = list(workflow_ids)
        if not ids:
            return {}
        query = select(WorkflowRow.id, WorkflowRow.state).where(WorkflowRow.id.in_(ids))
        async with self.database.session() as session:
            rows = (await session.execute(query)).all()
        return {workflow_id: WorkflowState(state) for workflow_id, state in rows}

    async def versions(self, team_id: str, workflow_id: str) -> list[VersionRecord]:
        async with self.database.session() as session:
            active = await session.scalar(
                select(WorkflowRow.active_version).where(
                    WorkflowRow.team_id == team_id, WorkflowRow.id == workflow_id
                )
            )
            if active is None:
                raise WorkflowNotFound(workflow_id)
            rows = (
                await session.scalars(
                    select(WorkflowVersionRow)
                    .where(
                        WorkflowVersionRow.team_id == team_id,
                        WorkflowVersionRow.workflow_id == workflow_id,
                    )
                    .order_by(WorkflowVersionRow.version)
                )
            ).all()
        return [
            VersionRecord(
                r.version, r.document["name"], r.created_by, r.created_at, r.version == active
            )
            for r in rows
        ]

    @staticmethod
    def _add_version(
        session: AsyncSession,
        team_id: str,
        workflow_id: str,
        version: int,
        workflow: Workflow,
        actor: str,
    ) -> None:
        session.add(
            WorkflowVersionRow(
                team_id=team_id,
                workflow_id=workflow_id,
                version=version,
                document=workflow.to_document(),
                created_by=actor,
                created_at=utcnow(),
            )
        )


def _at_active_version() -> Select[tuple[WorkflowRow, dict[str, Any]]]:
    """Workflows with the document of their active version, oldest first."""
    return (
        select(WorkflowRow, WorkflowVersionRow.document)
        .join(
            WorkflowVersionRow,
            and_(
                WorkflowVersionRow.workflow_id == WorkflowRow.id,
                WorkflowVersionRow.version == WorkflowRow.active_version,
            ),
        )
        .order_by(WorkflowRow.created_at, WorkflowRow.id)
    )


def _workflow_record(row: WorkflowRow, version: int, document: dict[str, Any]) -> WorkflowRecord:
    return WorkflowRecord(
        id=row.id,
        team_id=row.team_id,
        owner=row.owner,
        name=row.name,
        state=WorkflowState(row.state),
        active_version=row.active_version,
        latest_version=row.latest_version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=version,
        workflow=Workflow.model_validate(document),
    )


# --- runs ----------------------------------------------------------------------------------


class RunTransaction:
    """One database transaction on one run: read its row and steps, change them."""

    def __init__(self, session: AsyncSession, team_id: str, run_id: str) -> None:
        self.session = session
        self.team_id = team_id
        self.run_id = run_id

    async def run(self) -> RunRecord:
        row = await self.session.scalar(
            select(RunRow).where(RunRow.team_id == self.team_id, RunRow.id == self.run_id)
        )
        if row is None:
            raise RunNotFound(self.run_id)
        return _run_record(row)

    async def steps(self) -> list[StepRecord]:
        rows = await self.session.scalars(
            select(StepRunRow)
            .where(StepRunRow.team_id == self.team_id, StepRunRow.run_id == self.run_id)
            .order_by(StepRunRow.position)
        )
        return [_step_record(row) for row in rows]

    async def step(self, step_id: str) -> StepRecord:
        row = await self.session.scalar(
            select(StepRunRow).where(
                StepRunRow.team_id == self.team_id,
                StepRunRow.run_id == self.run_id,
                StepRunRow.step_id == step_id,
            )
        )
        if row is None:
            raise LookupError(f"run {self.run_id} has no step {step_id!r}")
        return _step_record(row)

    async def update_run(self, **changes: Any) -> None:
        await self.session.execute(
            update(RunRow)
            .execution_options(synchronize_session=False)
            .where(RunRow.team_id == self.team_id, RunRow.id == self.run_id)
            .values(updated_at=utcnow(), **changes)
        )

    async def update_step(
        self, step_id: str, *, mark_started: bool = False, **changes: Any
    ) -> None:
        """Change a step run; `mark_started` sets `started_at` unless it is already set."""
        if mark_started:
            changes["started_at"] = func.coalesce(
                StepRunRow.started_at, literal(utcnow(), UTCDateTime)
            )
        await self.session.execute(
            update(StepRunRow)
            .execution_options(synchronize_session=False)
            .where(
                StepRunRow.team_id == self.team_id,
                StepRunRow.run_id == self.run_id,
                StepRunRow.step_id == step_id,
            )
            .values(**changes)
        )

    def audit(self, actor: str, action: str, detail: dict[str, Any] | None = None) -> None:
        _audit(self.session, self.team_id, actor, action, self.run_id, detail)

    async def complete_workflow(self, workflow_id: str, version: int) -> None:
        """Mark the run's one-time workflow completed, if it is still active at `version`
        (paused, deleted, or changed to a newer version meanwhile: left alone)."""
        result = await self.session.execute(
            update(WorkflowRow)
            .execution_options(synchronize_session=False)
            .where(
                WorkflowRow.team_id == self.team_id,
                WorkflowRow.id == workflow_id,
                WorkflowRow.state == WorkflowState.ACTIVE,
                WorkflowRow.active_version == version,
            )
            .values(state=WorkflowState.COMPLETED, updated_at=utcnow())
        )
        if result.rowcount:
            _audit(
                self.session,
                self.team_id,
                "atom",
                "workflow.completed",
                workflow_id,
                {"run": self.run_id, "version": version},
            )


class RunRepo:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def create(
        self,
        team_id: str,
        workflow_id: str,
        version: int,
        steps: Sequence[Step],
        *,
        trigger_kind: str,
        trigger_payload: dict[str, Any],
        requested_by: str,
        dedupe_key: str | None = None,
    ) -> RunRecord:
        """A queued run with one pending step run per step (audited as `run.started`).
        A workflow has at most one run per `dedupe_key` (a unique constraint): raises
        DuplicateRun, naming that run, when it has one already."""
        now = utcnow()
        row = RunRow(
            id=new_id("run"),
            team_id=team_id,
            workflow_id=workflow_id,
            version=version,
            status=RunStatus.QUEUED,
            trigger_kind=trigger_kind,
            trigger_payload=trigger_payload,
            dedupe_key=dedupe_key,
            requested_by=requested_by,
            created_at=now,
            updated_at=now,
        )
        try:
            await self._insert(row, steps)
        except IntegrityError:
            if dedupe_key is None:
                raise
            existing = await self.with_dedupe_key(team_id, workflow_id, dedupe_key)
            if existing is None:  # not the key: e.g. the workflow was deleted meanwhile
                raise
            raise DuplicateRun(existing.id, dedupe_key) from None
        return _run_record(row)

    async def _insert(self, row: RunRow, steps: Sequence[Step]) -> None:
        async with self.database.session() as session:
            session.add(row)
            await session.flush()
            session.add_all(
                StepRunRow(
                    team_id=row.team_id,
                    run_id=row.id,
                    position=position,
                    step_id=step.id,
                    action=step.action,
                    status=StepStatus.PENDING,
                    attempts=0,
                )
                for position, step in enumerate(steps)
            )
            _audit(
                session,
                row.team_id,
                row.requested_by,
                "run.started",
                row.id,
                {
                    "workflow_id": row.workflow_id,
                    "version": row.version,
                    "trigger": row.trigger_kind,
                },
            )

    async def with_dedupe_key(
        self, team_id: str, workflow_id: str, dedupe_key: str
    ) -> RunRecord | None:
        """The workflow's run started for `dedupe_key`, if there is one."""
        async with self.database.session() as session:
            row = await session.scalar(
                select(RunRow).where(
                    RunRow.team_id == team_id,
                    RunRow.workflow_id == workflow_id,
                    RunRow.dedupe_key == dedupe_key,
                )
            )
            return _run_record(row) if row else None

    async def get(self, team_id: str, run_id: str) -> RunRecord:
        async with self.database.session() as session:
            return await RunTransaction(session, team_id, run_id).run()

    async def steps(self, team_id: str, run_id: str) -> list[StepRecord]:
        async with self.database.session() as session:
            return await RunTransaction(session, team_id, run_id).steps()

    async def snapshot(self, team_id: str, run_id: str) -> tuple[RunRecord, list[StepRecord]]:
        async with self.database.session() as session:
            tx = RunTransaction(session, team_id, run_id)
            return await tx.run(), await tx.steps()

    async def list_for_workflow(
        self, team_id: str, workflow_id: str, limit: int = 20
    ) -> list[RunRecord]:
        return await self._list(
            select(RunRow).where(RunRow.team_id == team_id, RunRow.workflow_id == workflow_id),
            limit,
        )

    async def list_for_team(
        self, team_id: str, statuses: Iterable[RunStatus] | None = None, limit: int = 50
    ) -> list[RunRecord]:
        query = select(RunRow).where(RunRow.team_id == team_id)
        if statuses is not None:
            query = query.where(RunRow.status.in_(list(statuses)))
        return await self._list(query, limit)

    async def _list(self, query: Any, limit: int) -> list[RunRecord]:
        async with self.database.session() as session:
            rows = await session.scalars(
                query.order_by(RunRow.created_at.desc(), RunRow.id).limit(limit)
            )
            return [_run_record(row) for row in rows]

    @asynccontextmanager
    async def locked(self, team_id: str, run_id: str) -> AsyncIterator[RunTransaction]:
        """A transaction holding the run's row lock: for approvals and cancellations,
        which may come from any process."""
        async with self.database.session() as session:
            # A write first: it takes Postgres' row lock and SQLite's write lock before
            # anything is read, so the read-modify-write cannot interleave with another.
            touched = await session.execute(
                update(RunRow)
                .execution_options(synchronize_session=False)
                .where(RunRow.team_id == team_id, RunRow.id == run_id)
                .values(updated_at=utcnow())
            )
            if not touched.rowcount:
                raise RunNotFound(run_id)
            yield RunTransaction(session, team_id, run_id)

    # --- worker side ----------------------------------------------------------------------

    async def claim(
        self, run_id: str, worker: str, now: datetime, lease_until: datetime
    ) -> RunRecord | None:
        """Take the run's lease if it is runnable and nobody holds a live lease
        (one conditional UPDATE, so two workers can never both win)."""
        async with self.database.session() as session:
            claimed = await session.scalar(
                update(RunRow)
                .execution_options(synchronize_session=False)
                .execution_options(synchronize_session=False)
                .where(
                    RunRow.id == run_id,
                    RunRow.status.in_([RunStatus.QUEUED, RunStatus.RUNNING]),
                    or_(
                        RunRow.lease_owner.is_(None),
                        RunRow.lease_expires_at < now,
                        RunRow.lease_owner == worker,
                    ),
                )
                .values(lease_owner=worker, lease_expires_at=lease_until, updated_at=utcnow())
                .returning(RunRow.team_id)
            )
            if claimed is None:
                return None
            return await RunTransaction(session, claimed, run_id).run()

    async def heartbeat(self, run_id: str, worker: str, lease_until: datetime) -> bool:
        async with self.database.session() as session:
            result = await session.execute(
                update(RunRow)
                .execution_options(synchronize_session=False)
                .execution_options(synchronize_session=False)
                .where(RunRow.id == run_id, RunRow.lease_owner == worker)
                .values(lease_expires_at=lease_until)
            )
        return bool(result.rowcount)

    @asynccontextmanager
    async def fenced(
        self, team_id: str, run_id: str, worker: str, lease_until: datetime
    ) -> AsyncIterator[RunTransaction]:
        """A transaction that only commits while `worker` still holds the lease (and
        extends it); raises LeaseLost otherwise. Every write of a running run goes
        through here, so a worker that lost its run can never overwrite the new owner."""
        async with self.database.session() as session:
            held = await session.execute(
                update(RunRow)
                .execution_options(synchronize_session=False)
                .execution_options(synchronize_session=False)
                .where(RunRow.team_id == team_id, RunRow.id == run_id, RunRow.lease_owner == worker)
                .values(lease_expires_at=lease_until)
            )
            if not held.rowcount:
                raise LeaseLost(f"run {run_id} is no longer leased to {worker}")
            yield RunTransaction(session, team_id, run_id)

    async def recoverable(self, now: datetime, queued_before: datetime) -> list[str]:
        """Runs a worker should pick up: running with an expired lease (their worker
        died), or queued and untouched since `queued_before` (their job was lost)."""
        async with self.database.session() as session:
            rows = await session.scalars(
                select(RunRow.id)
                .where(
                    or_(
                        and_(RunRow.status == RunStatus.RUNNING, RunRow.lease_expires_at < now),
                        and_(
                            RunRow.status == RunStatus.QUEUED,
                            or_(RunRow.lease_owner.is_(None), RunRow.lease_expires_at < now),
                            RunRow.updated_at < queued_before,
                        ),
                    )
                )
                .order_by(RunRow.created_at)
                .limit(100)
            )
            return list(rows)

    async def approvals_due(self, now: datetime) -> list[tuple[str, str]]:
        """(team_id, run_id) of runs whose approval wait has run out."""
        async with self.database.session() as session:
            rows = await session.execute(
                select(RunRow.team_id, RunRow.id)
                .where(RunRow.status == RunStatus.WAITING_APPROVAL, RunRow.waiting_until < now)
                .limit(100)
            )
            return [(team_id, run_id) for team_id, run_id in rows]
