"""Our tables -> the scheduler: which schedules and subscriptions should exist.

`TriggerSync.apply(team_id, workflow_id)` brings one workflow in line after it was
approved, edited, paused, resumed, rolled back or deleted. `reconcile()` does it for
every workflow and removes what no workflow wants any more: each worker node runs it at
start (which is how the embedded memory scheduler is rebuilt) and every few minutes.

A schedule the scheduler already holds with the same fingerprint is left alone, so its
pending fire time — possibly one missed while every node was down — survives a restart.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from connectors.registry import Registry
from core.db import Database, utcnow
from core.settings import Settings
from workflows.model import EventTrigger, ManualTrigger, ScheduleTrigger
from workflows.scheduler import Scheduler, ScheduleSpec, Task, Timing
from workflows.scheduling.triggers import ScheduleError
from workflows.store import WorkflowNotFound, WorkflowRepo, WorkflowState
from workflows.subscriptions import TriggerKind, TriggerPlan, TriggerState, TriggerStore

log = logging.getLogger(__name__)

RECONCILE_SECONDS = 300.0
BATCH = 1000  # trigger states activated per transaction
CONCURRENT_PUTS = 8
SCHEDULE_PREFIX = "schedule:"
POLL_PREFIX = "poll:"
RECOVER_ID = "atom:recover_runs"
RECONCILE_ID = "atom:reconcile"
WORKFLOW_SCHEDULE_PREFIXES = (SCHEDULE_PREFIX, POLL_PREFIX)
SIGNED_WEBHOOK_SERVICES = {"github": "github_webhook_secret"}
"""Services whose deliveries arrive at the shared `/webhooks/{service}` endpoint, signed
with the secret in this setting. Every other webhook event gets a per-workflow URL
(`/webhooks/{service}/{token}`)."""

AnyTrigger = ManualTrigger | ScheduleTrigger | EventTrigger


def fingerprint(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def plan_for(
    team_id: str, workflow_id: str, trigger: AnyTrigger, registry: Registry
) -> TriggerPlan | None:
    """The trigger state a workflow needs, or None (manual, or an unknown event)."""
    if isinstance(trigger, ScheduleTrigger):
        return TriggerPlan(
            team_id, workflow_id, TriggerKind.SCHEDULE, fingerprint(trigger.model_dump())
        )
    if not isinstance(trigger, EventTrigger):
        return None
    event = registry.event(trigger.event)
    if event is None or (event.poll is None and event.webhook is None):
        log.warning("workflow %s waits for unknown event %s", workflow_id, trigger.event)
        return None
    return TriggerPlan(
        team_id,
        workflow_id,
        TriggerKind.POLL if event.poll is not None else TriggerKind.WEBHOOK,
        fingerprint(trigger.model_dump(by_alias=True)),
        event=event.key,
        needs_token=event.webhook is not None and event.connector not in SIGNED_WEBHOOK_SERVICES,
    )


def schedule_ids(workflow_id: str) -> list[str]:
    return [prefix + workflow_id for prefix in WORKFLOW_SCHEDULE_PREFIXES]


@dataclass
class ReconcileReport:
    put: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0


@dataclass(frozen=True)
class _Wanted:
    plan: TriggerPlan
    trigger: AnyTrigger


class TriggerSync:
    def __init__(
        self,
        database: Database,
        scheduler: Scheduler,
        registry: Registry,
        settings: Settings,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.scheduler = scheduler
        self.registry = registry
        self.settings = settings
        self.clock = clock
        self.workflows = WorkflowRepo(database)
        self.states = TriggerStore(database)

    # --- one workflow ------------------------------------------------------------------

    async def apply(self, team_id: str, workflow_id: str) -> TriggerState | None:
        """Make the scheduler match the workflow's current state and active version.
        Returns the trigger's state (None: nothing to schedule or subscribe)."""
        try:
            record = await self.workflows.get(team_id, workflow_id)
        except WorkflowNotFound:
            record = None
        if record is None or record.state == WorkflowState.DELETED:
            await self._drop(workflow_id, forget=True)
            return None
        plan = plan_for(team_id, workflow_id, record.workflow.trigger, self.registry)
        if plan is None or record.state != WorkflowState.ACTIVE:
            await self._drop(workflow_id, forget=plan is None)
            return await self.states.get(workflow_id) if plan else None
        state = await self.states.activate(plan, self.clock())
        held = await self.scheduler.schedules(schedule_ids(workflow_id))
        existing = {s.id: s.fingerprint for s in held}
        await self._put(state, record.workflow.trigger, existing, ReconcileReport())
        return state

    async def _drop(self, workflow_id: str, *, forget: bool) -> None:
        await self.scheduler.remove_schedules(schedule_ids(workflow_id))
        if forget:
            await self.states.forget([workflow_id])
        else:
            await self.states.deactivate(workflow_id)

    # --- everything --------------------------------------------------------------------

    async def reconcile(self) -> ReconcileReport:
        """Apply every active workflow; remove schedules and states nobody wants."""
        report = ReconcileReport()
        wanted = await self._wanted()
        states = await self.states.many()
        existing = {s.id: s.fingerprint for s in await self.scheduler.schedules()}
        to_activate = [
            item.plan
            for workflow_id, item in wanted.items()
            if (state := states.get(workflow_id)) is None
            or not state.active
            or state.fingerprint != item.plan.fingerprint
        ]
        now = self.clock()
        for start in range(0, len(to_activate), BATCH):
            batch = to_activate[start : start + BATCH]
            states.update(await self.states.activate_many(batch, now))
        limit = asyncio.Semaphore(CONCURRENT_PUTS)

        async def put(workflow_id: str, item: _Wanted) -> None:
            async with limit:
                await self._put(states[workflow_id], item.trigger, existing, report)

        await asyncio.gather(*(put(workflow_id, item) for workflow_id, item in wanted.items()))
        await self._drop_unwanted(set(wanted), states, existing, report)
        await self._put_maintenance(existing, report)
        log.info(
            "reconciled the scheduler: %d put, %d removed, %d unchanged",
            len(report.put),
            len(report.removed),
            report.unchanged,
        )
        return report

    async def _wanted(self) -> dict[str, _Wanted]:
        """Active workflows (all teams) with a schedule or event trigger."""
        wanted: dict[str, _Wanted] = {}
        for record in await self.workflows.active_in_all_teams():
            trigger = record.workflow.trigger
            plan = plan_for(record.team_id, record.id, trigger, self.registry)
            if plan is not None:
                wanted[record.id] = _Wanted(plan, trigger)
        return wanted

    async def _drop_unwanted(
        self,
        wanted: set[str],
        states: dict[str, TriggerState],
        existing: dict[str, str | None],
        report: ReconcileReport,
    ) -> None:
        unwanted = [
            schedule_id
            for schedule_id in existing
            if schedule_id.startswith(WORKFLOW_SCHEDULE_PREFIXES)
            and schedule_id.split(":", 1)[1] not in wanted
        ]
        await self.scheduler.remove_schedules(unwanted)
        report.removed.extend(unwanted)
        gone = [wf for wf, state in states.items() if wf not in wanted]
        found = await self.workflows.states_in_all_teams(gone)
        paused = {wf for wf, state in found.items() if state == WorkflowState.PAUSED}
        for workflow_id in paused:
            if states[workflow_id].active:
                await self.states.deactivate(workflow_id)
        forgotten = [wf for wf in gone if wf not in paused]
        if forgotten:
            await self.states.forget(forgotten)

    # --- schedules ---------------------------------------------------------------------

    async def _put(
        self,
        state: TriggerState,
        trigger: AnyTrigger,
        existing: dict[str, str | None],
        report: ReconcileReport,
    ) -> None:
        spec = self._spec(state, trigger)
        stale = [
            i for i in schedule_ids(state.workflow_id) if i in existing and i != (spec and spec.id)
        ]
        if stale:
            await self.scheduler.remove_schedules(stale)
            report.removed.extend(stale)
        if spec is None:
            return
        if existing.get(spec.id) == spec.fingerprint:
            report.unchanged += 1
            return
        try:
            await self.scheduler.put_schedule(spec)
        except ScheduleError as exc:
            log.warning("workflow %s: its schedule cannot be used: %s", state.workflow_id, exc)
            return
        report.put.append(spec.id)

    def _spec(self, state: TriggerState, trigger: AnyTrigger) -> ScheduleSpec | None:
        kwargs = {
            "team_id": state.team_id,
            "workflow_id": state.workflow_id,
            "fingerprint": state.fingerprint,
        }
        if state.kind == TriggerKind.SCHEDULE:
            assert isinstance(trigger, ScheduleTrigger)
            return ScheduleSpec(
                id=SCHEDULE_PREFIX + state.workflow_id,
                task=Task.FIRE_SCHEDULE,
                timing=Timing.of(trigger),
                anchor=state.anchor,
                after=state.fires_after,
                fingerprint=f"{state.fingerprint}@{state.active_since.isoformat()}",
                kwargs=kwargs,
            )
        if state.kind == TriggerKind.POLL:
            seconds = self.poll_seconds(state.event or "")
            return ScheduleSpec(
                id=POLL_PREFIX + state.workflow_id,
                task=Task.POLL_EVENTS,
                timing=Timing(every_seconds=seconds),
                anchor=self.clock(),
                fingerprint=f"{state.fingerprint}@{state.active_since.isoformat()}/{seconds:g}",
                kwargs=kwargs,
            )
        return None  # webhook-only: nothing to schedule

    def poll_seconds(self, event: str) -> float:
        connector = event.split(".", 1)[0]
        return float(
            self.settings.poll_intervals.get(connector, self.settings.poll_interval_seconds)
        )

    async def _put_maintenance(
        self, existing: dict[str, str | None], report: ReconcileReport
    ) -> None:
        """The node-independent periodic jobs: run recovery and this reconcile."""
        recover_every = max(self.settings.run_lease_seconds / 2, 1.0)
        for schedule_id, task, seconds in (
            (RECOVER_ID, Task.RECOVER_RUNS, recover_every),
            (RECONCILE_ID, Task.RECONCILE, RECONCILE_SECONDS),
        ):
            spec = ScheduleSpec(
                id=schedule_id,
                task=task,
                timing=Timing(every_seconds=seconds),
                anchor=self.clock() + timedelta(seconds=seconds),  # a node just reconciled
                fingerprint=f"every {seconds:g}s",
            )
            if existing.get(schedule_id) != spec.fingerprint:
                await self.scheduler.put_schedule(spec)
                report.put.append(schedule_id)
