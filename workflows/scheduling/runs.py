"""Runs as jobs: whatever starts a run (a person, a schedule, an event, an approval, a
retry), the run is persisted by the engine and its execution queued as a job that any
worker node may take.

`start_once` is the exactly-once door for triggers: the receipt for `key` (a fire time,
an event item id) is claimed first, so a second sighting of the same thing — another
node, a webhook and a poll, a retried job — starts nothing; and the run is started with
`key` as its dedupe key, so a receipt whose node died between the claim and the run is
completed by the next sighting (or by recovery) without ever making two runs.
"""

from __future__ import annotations

import logging
from typing import Any

from workflows.engine import Engine, EngineError
from workflows.scheduler import Scheduler, Task
from workflows.store import RunStatus, WorkflowNotFound
from workflows.subscriptions import ReceiptOutcome, TriggerStore

log = logging.getLogger(__name__)

ITEM_KEY_PREFIX = "item:"
UNFINISHED = frozenset({RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.WAITING_APPROVAL})
RECENT_RUNS = 20


def item_key(item_id: str) -> str:
    """The receipt key of an event item (the same for a poll and a webhook delivery)."""
    return ITEM_KEY_PREFIX + item_id


class RunQueue:
    def __init__(self, engine: Engine, scheduler: Scheduler, states: TriggerStore) -> None:
        self.engine = engine
        self.scheduler = scheduler
        self.states = states

    async def start(
        self,
        team_id: str,
        workflow_id: str,
        trigger_payload: dict[str, Any] | None,
        requested_by: str,
        trigger_kind: str = "manual",
        version: int | None = None,
        *,
        dedupe_key: str | None = None,
    ) -> str:
        """Persist a queued run and queue its execution. Raises EngineError (e.g. the
        workflow is paused) or WorkflowNotFound. With `dedupe_key`, a run already
        started for it is queued again instead (see `Engine.start_run`)."""
        run_id = await self.engine.start_run(
            team_id,
            workflow_id,
            trigger_payload,
            requested_by,
            trigger_kind,
            version,
            dedupe_key=dedupe_key,
        )
        await self.enqueue(run_id)
        return run_id

    async def enqueue(self, run_id: str) -> None:
        """Queue the execution of an existing run: after an approval re-queued it, or to
        run it on another node. A run that is not runnable is left alone by the worker."""
        await self.scheduler.enqueue(Task.EXECUTE_RUN, {"run_id": run_id})

    async def start_once(
        self,
        team_id: str,
        workflow_id: str,
        key: str,
        trigger_payload: dict[str, Any],
        requested_by: str,
        trigger_kind: str,
    ) -> str | None:
        """Start a run for `key` unless something already did. Returns the run id, or
        None (already handled, or the engine refused — recorded on the receipt).

        A receipt found still `starting` was claimed by an attempt that has not settled
        it: one whose node died (perhaps before the run existed), or one at work right
        now. It is completed here; the run's dedupe key makes every such attempt end up
        with the same single run."""
        if not await self.states.claim(team_id, workflow_id, key):
            receipt = await self.states.receipt(workflow_id, key)
            if receipt is None or receipt.outcome != ReceiptOutcome.STARTING:
                log.debug("workflow %s: %s already handled", workflow_id, key)
                return None
            log.info("workflow %s: completing %s, claimed but not settled", workflow_id, key)
        return await self.start_claimed(
            team_id, workflow_id, key, trigger_payload, requested_by, trigger_kind
        )

    async def start_claimed(
        self,
        team_id: str,
        workflow_id: str,
        key: str,
        trigger_payload: dict[str, Any],
        requested_by: str,
        trigger_kind: str,
    ) -> str | None:
        """Start the run for a receipt this caller holds (claimed, taken from the queue,
        or left `starting`) and settle the receipt with the outcome. The receipt's key is
        the run's dedupe key, so this is safe to repeat."""
        try:
            run_id = await self.start(
                team_id, workflow_id, trigger_payload, requested_by, trigger_kind, dedupe_key=key
            )
        except (EngineError, WorkflowNotFound) as exc:
            await self.states.settle(workflow_id, key, ReceiptOutcome.REFUSED, detail=str(exc))
            log.info("workflow %s: %s started nothing: %s", workflow_id, key, exc)
            return None
        await self.states.settle(workflow_id, key, ReceiptOutcome.STARTED, run_id=run_id)
        log.info("workflow %s: %s started run %s", workflow_id, key, run_id)
        return run_id

    async def busy(self, team_id: str, workflow_id: str) -> bool:
        """Whether a run of the workflow is still going (queued, running, or waiting
        for an approval)."""
        recent = await self.engine.runs.list_for_workflow(team_id, workflow_id, RECENT_RUNS)
        return any(run.status in UNFINISHED for run in recent)
