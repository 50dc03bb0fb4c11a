"""The Scheduler interface: durable schedules and a job queue shared by every worker node.

What ATOM asks of a scheduler is small: keep a set of named schedules (each fires a task
with fixed arguments at the times of a `Timing`), list them so they can be reconciled
with our own tables, and queue one-off jobs that any worker node may take. Handlers are
plain async functions bound per node (`JobHandler`), never stored.

The implementation is APScheduler 4 (workflows/scheduling/apscheduler_backend.py). Our
tables stay the source of truth: workflows/scheduling/reconcile.py rebuilds the
scheduler's state from them, so its storage can be thrown away at any time.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from workflows.model import ScheduleTrigger


class Task(StrEnum):
    """What a schedule or job runs; each worker node binds a handler to each."""

    FIRE_SCHEDULE = "atom.fire_schedule"  # a workflow's schedule trigger fired
    POLL_EVENTS = "atom.poll_events"  # poll a workflow's event source once
    EXECUTE_RUN = "atom.execute_run"  # execute (or resume) one run
    RECOVER_RUNS = "atom.recover_runs"  # take over runs whose node stopped heartbeating
    RECONCILE = "atom.reconcile"  # re-apply our tables to the scheduler


@dataclass(frozen=True)
class Timing:
    """When a schedule fires: exactly one of `cron`, `rrule`, `at` or `every_seconds`,
    read in `timezone` (IANA name)."""

    cron: str | None = None
    rrule: str | None = None
    at: str | None = None
    every_seconds: float | None = None
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        given = [
            n for n in ("cron", "rrule", "at", "every_seconds") if getattr(self, n) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                f"a timing needs exactly one of cron, rrule, at, every_seconds (got {given})"
            )

    @classmethod
    def of(cls, trigger: ScheduleTrigger, default_timezone: str = "UTC") -> Timing:
        return cls(
            cron=trigger.cron,
            rrule=trigger.rrule,
            at=trigger.at,
            timezone=trigger.timezone or default_timezone,
        )


@dataclass(frozen=True)
class ScheduleSpec:
    """A named schedule. `anchor` is when it became active (the phase of an RRULE or an
    interval); it fires only strictly after `after` (the last fire, or when it was
    resumed). `fingerprint` names what it was built from: reconcile replaces a schedule
    whose fingerprint changed and leaves the others alone, so their pending (possibly
    missed) fire times survive restarts."""

    id: str
    task: Task
    timing: Timing
    anchor: datetime
    fingerprint: str
    after: datetime | None = None
    kwargs: Mapping[str, Any] = field(default_factory=dict)  # JSON values only


@dataclass(frozen=True)
class ScheduleState:
    """A schedule as the scheduler holds it."""

    id: str
    task: str
    fingerprint: str | None
    next_fire_time: datetime | None
    paused: bool = False


JobHandler = Callable[[Mapping[str, Any], datetime | None], Awaitable[None]]
"""handler(kwargs, scheduled_at): runs a job; `scheduled_at` is the fire time the job was
created for (None for a queued job)."""


class SchedulerError(RuntimeError):
    """The scheduler cannot start or cannot be reached; the message says what to do."""


class Scheduler(ABC):
    """Durable schedules and a shared job queue."""

    @abstractmethod
    async def put_schedule(self, spec: ScheduleSpec) -> datetime | None:
        """Add `spec`, or replace the schedule with its id. Returns its first fire time;
        None means it never fires (then no schedule is kept)."""

    @abstractmethod
    async def remove_schedules(self, ids: Collection[str]) -> None:
        """Remove these schedules; unknown ids are ignored."""

    @abstractmethod
    async def schedules(self, ids: Collection[str] | None = None) -> list[ScheduleState]:
        """The schedules the scheduler holds (those of `ids`, or all)."""

    @abstractmethod
    async def enqueue(self, task: Task, kwargs: Mapping[str, Any]) -> None:
        """Queue a one-off job that any worker node may take."""
