"""What a worker node does when a schedule fires or a job comes up.

- FIRE_SCHEDULE: a workflow's schedule is due. A fire found later than the misfire
  grace (every node was down) is skipped and recorded; a fire while the previous run is
  still going is skipped (overlap `skip`, the default) or queued until it ends (`queue`);
  otherwise exactly one run starts (the receipt of the fire time makes a second delivery
  of the same fire a no-op).
- POLL_EVENTS: poll a workflow's event source from its stored cursor; every new item
  that matches the trigger's configuration starts exactly one run.
- EXECUTE_RUN: drive one run with the engine (it claims the run's lease first).
- RECOVER_RUNS: the engine's maintenance (expired approvals; runs whose node died or
  whose job was lost), then fires whose node died between claiming them and settling
  them (APScheduler abandons such a job; the run's dedupe key keeps it one run), then
  fires queued behind runs that have ended.
- RECONCILE: re-apply our tables to the scheduler.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from connectors.base import ConnectorError, Event
from connectors.registry import Registry
from core.db import Database, utcnow
from core.settings import Settings
from workflows.engine import Engine
from workflows.model import EventTrigger, ScheduleTrigger
from workflows.scheduler import JobHandler, Task
from workflows.scheduling.reconcile import TriggerSync
from workflows.scheduling.runs import UNFINISHED, RunQueue, item_key
from workflows.store import AuditLog, WorkflowNotFound, WorkflowRecord, WorkflowState
from workflows.subscriptions import Receipt, ReceiptOutcome, TriggerState, TriggerStore

log = logging.getLogger(__name__)

FIRE_KEY_PREFIX = "fire:"
SCHEDULER_ACTOR = "atom:scheduler"
POLL_LEASE_MARGIN_SECONDS = 30.0


class OverlapPolicy(StrEnum):
    SKIP = "skip"  # a fire while the previous run is going starts nothing (default)
    QUEUE = "queue"  # it starts once the previous run has ended


def overlap_policy(trigger: ScheduleTrigger) -> OverlapPolicy:
    """The trigger's `overlap` (skip when the document does not say)."""
    return OverlapPolicy(trigger.overlap or OverlapPolicy.SKIP)


def fire_key(fire_time: datetime) -> str:
    return FIRE_KEY_PREFIX + fire_time.isoformat()


def fire_payload(fire_time: datetime, fired_at: datetime) -> dict[str, Any]:
    """`trigger.*` of a scheduled run."""
    return {"scheduled_at": fire_time.isoformat(), "fired_at": fired_at.isoformat()}


class NodeJobs:
    """The job handlers of one worker node."""

    def __init__(
        self,
        database: Database,
        engine: Engine,
        registry: Registry,
        settings: Settings,
        sync: TriggerSync,
        runs: RunQueue,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.registry = registry
        self.settings = settings
        self.sync = sync
        self.runs = runs
        self.clock = clock
        self.states = TriggerStore(database)
        self.audit = AuditLog(database)

    def handlers(self) -> dict[Task, JobHandler]:
        return {
            Task.FIRE_SCHEDULE: self.fire_schedule,
            Task.POLL_EVENTS: self.poll_events,
            Task.EXECUTE_RUN: self.execute_run,
            Task.RECOVER_RUNS: self.recover_runs,
            Task.RECONCILE: self.reconcile,
        }

    # --- schedules -----------------------------------------------------------------------

    async def fire_schedule(self, job: Mapping[str, Any], scheduled_at: datetime | None) -> None:
        now = self.clock()
        fire_time = scheduled_at or now
        record = await self._current(job)
        if record is None:
            return
        trigger = record.workflow.trigger
        assert isinstance(trigger, ScheduleTrigger)
        await self.states.record_fire(record.id, fire_time)
        key = fire_key(fire_time)
        late = (now - fire_time).total_seconds()
        if late > self.settings.misfire_grace_seconds:
            detail = (
                f"Fire at {fire_time.isoformat()} found {late:.0f}s late (misfire grace "
                f"{self.settings.misfire_grace_seconds}s): skipped."
            )
            await self._record_unstarted(record, key, ReceiptOutcome.MISSED, detail)
            return
        if await self.runs.busy(record.team_id, record.id):
            if overlap_policy(trigger) == OverlapPolicy.QUEUE:
                detail = "Waiting for the previous run to end."
                await self._record_unstarted(record, key, ReceiptOutcome.QUEUED, detail)
            else:
                detail = "The previous run was still going: skipped."
                await self._record_unstarted(record, key, ReceiptOutcome.SKIPPED, detail)
            return
        await self.runs.start_once(
            record.team_id,
            record.id,
            key,
            fire_payload(fire_time, now),
            record.owner,
            "schedule",
        )

    async def _record_unstarted(
        self, record: WorkflowRecord, key: str, outcome: ReceiptOutcome, detail: str
    ) -> None:
        if await self.states.claim(record.team_id, record.id, key, outcome, detail):
            log.info("workflow %s: %s %s", record.id, key, outcome)
            await self.audit.record(
                record.team_id,
                SCHEDULER_ACTOR,
                f"schedule.{outcome}",
                record.id,
                {"key": key, "detail": detail},
            )

    async def _current(self, job: Mapping[str, Any]) -> WorkflowRecord | None:
        """The workflow a job was created for, if it is still active with the same
        trigger (a job from before an edit or a pause does nothing)."""
        state = await self.states.get(job["workflow_id"])
        if state is None or not state.active or state.fingerprint != job["fingerprint"]:
            log.info("workflow %s: dropping a job for a trigger that changed", job["workflow_id"])
            return None
        try:
            record = await self.engine.workflows.get(job["team_id"], job["workflow_id"])
        except WorkflowNotFound:
            return None
        return record if record.state == WorkflowState.ACTIVE else None

    async def _start_queued_fire(self, team_id: str, workflow_id: str) -> None:
        if await self.runs.busy(team_id, workflow_id):
            return
        receipt: Receipt | None = await self.states.take_queued(workflow_id)
        if receipt is not None:
            await self._start_fire(receipt)

    async def _start_fire(self, receipt: Receipt) -> None:
        """Start the run of a fire whose receipt this node holds: taken from the queue,
        or left `starting` by a node that died."""
        try:
            record = await self.engine.workflows.get(receipt.team_id, receipt.workflow_id)
        except WorkflowNotFound as exc:
            await self.states.settle(
                receipt.workflow_id, receipt.key, ReceiptOutcome.REFUSED, detail=str(exc)
            )
            return
        fire_time = datetime.fromisoformat(receipt.key.removeprefix(FIRE_KEY_PREFIX))
        await self.runs.start_claimed(
            receipt.team_id,
            receipt.workflow_id,
            receipt.key,
            fire_payload(fire_time, self.clock()),
            record.owner,
            "schedule",
        )

    # --- events --------------------------------------------------------------------------

    async def poll_events(self, job: Mapping[str, Any], _scheduled_at: datetime | None) -> None:
        record = await self._current(job)
        if record is None:
            return
        trigger = record.workflow.trigger
        assert isinstance(trigger, EventTrigger)
        event = self.registry.event(trigger.event)
        if event is None or event.poll is None:
            return
        now = self.clock()
        lease = timedelta(seconds=self.settings.step_timeout_seconds + POLL_LEASE_MARGIN_SECONDS)
        state = await self.states.claim_poll(record.id, now, now + lease)
        if state is None:
            log.debug("workflow %s: a poll is already in progress", record.id)
            return
        cursor, error = None, None
        try:
            cursor = await self._poll(record, trigger, event, state)
        except ConnectorError as exc:
            error = str(exc)
        except ValidationError as exc:
            error = f"the trigger's `with` does not fit {event.key}: {exc.errors()[0]['msg']}"
        except TimeoutError:
            error = f"polling {event.key} took longer than {self.settings.step_timeout_seconds:g}s"
        except Exception:  # a bug in a connector must not leave the poll half-done
            log.exception("workflow %s: polling %s crashed", record.id, event.key)
            error = f"polling {event.key} failed unexpectedly; the error was logged"
        finally:
            await self.states.finish_poll(record.id, state.fingerprint, cursor, error)
        if error:
            log.warning("workflow %s: polling %s failed: %s", record.id, event.key, error)

    async def _poll(
        self, record: WorkflowRecord, trigger: EventTrigger, event: Event, state: TriggerState
    ) -> str:
        """One poll: start a run per new matching item; returns the new cursor."""
        assert event.poll is not None
        config = event.config_model.model_validate(trigger.with_)
        connector = self.registry.connectors[event.connector]
        ctx = await self.engine.action_context(record.team_id, record.owner, connector)
        async with asyncio.timeout(self.settings.step_timeout_seconds):
            result = await event.poll(ctx, config, state.cursor)
        for item in result.items:
            if event.matches(config, item.payload):
                await self.runs.start_once(
                    record.team_id,
                    record.id,
                    item_key(item.id),
                    item.payload,
                    record.owner,
                    "event",
                )
        return result.cursor

    # --- runs and maintenance -------------------------------------------------------------

    async def execute_run(self, job: Mapping[str, Any], _scheduled_at: datetime | None) -> None:
        run = await self.engine.execute(job["run_id"])
        if run is not None and run.status not in UNFINISHED:
            await self._start_queued_fire(run.team_id, run.workflow_id)

    async def recover_runs(self, _job: Mapping[str, Any], _scheduled_at: datetime | None) -> None:
        recovered = await self.engine.recover_expired()
        if recovered:
            log.info("recovered %d run(s): %s", len(recovered), ", ".join(recovered))
        claimed_before = self.clock() - timedelta(seconds=self.settings.run_lease_seconds)
        for receipt in await self.states.left_starting(claimed_before, FIRE_KEY_PREFIX):
            log.info("workflow %s: completing %s, left unsettled", receipt.workflow_id, receipt.key)
            await self._start_fire(receipt)
        for team_id, workflow_id in await self.states.workflows_with_queued_fires():
            await self._start_queued_fire(team_id, workflow_id)

    async def reconcile(self, _job: Mapping[str, Any], _scheduled_at: datetime | None) -> None:
        await self.sync.reconcile()
