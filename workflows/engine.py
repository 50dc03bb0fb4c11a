"""The engine: runs a workflow version with a trigger payload, step by step.

Run states:  queued -> running -> (waiting_approval -> queued -> running) ->
             succeeded | failed | cancelled | needs_attention
Step states: pending -> running -> succeeded | failed | skipped | unknown

- Every transition is written (in a transaction fenced by the run's lease) before the
  next side effect, so a run can be resumed from its last persisted step by any worker.
- A worker claims a run with one conditional UPDATE on its lease and heartbeats while
  it runs; `recover_expired` picks up runs whose worker died. Succeeded steps (and
  succeeded `for_each` items) are never executed again.
- Transient errors (timeouts, 5xx, 429) are retried with exponential backoff and jitter,
  honouring Retry-After. A non-idempotent action whose request may have reached the
  service is not retried: the step becomes `unknown` and the run `needs_attention`, with
  a message that says what to check.
- `approval.request` pauses the run (`waiting_approval`); `decide_approval` resumes it
  or fails it; `recover_expired` fails it when nobody decided in time.
- Progress goes to `RunObserver`s (the Slack layer registers one).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, NoReturn, Protocol

from pydantic import ValidationError

from connectors.artifacts import ArtifactStore
from connectors.base import (
    Action,
    ActionContext,
    Connector,
    ConnectorError,
    CredentialProvider,
    TransientError,
)
from connectors.client import HttpPool, backoff_delay
from connectors.registry import Registry
from core.db import Database, utcnow
from core.settings import Settings
from workflows.catalog import ApprovalRequest, ApprovalResult, full_catalog
from workflows.model import EventTrigger, Step, Workflow
from workflows.store import (
    DuplicateRun,
    LeaseLost,
    RunNotFound,
    RunRecord,
    RunRepo,
    RunStatus,
    RunTransaction,
    StepRecord,
    StepStatus,
    WorkflowRecord,
    WorkflowRepo,
    WorkflowState,
)
from workflows.templating import TemplateError, evaluate, loop_context, render

log = logging.getLogger(__name__)

MAX_FOR_EACH_ITEMS = 500


class RunObserver(Protocol):
    """Told about every persisted change of a run (status, a step's progress)."""

    async def on_run_update(self, run: RunRecord, steps: list[StepRecord]) -> None: ...


class ResumeMode(StrEnum):
    """What a person chose on a failed run's step (the audit action is `run.<mode>`)."""

    FROM_STEP = "retry_from_step"
    STEP_ONLY = "retry_step_only"
    SKIP = "skip_step"


class EngineError(Exception):
    """A request the engine refuses; `str(err)` is safe to show the person."""


class ApprovalNotOpen(EngineError):
    """The approval was already decided, timed out, or the run moved on."""


class NotResumable(EngineError):
    """The run or step is not in a state a person can retry or skip from."""


class NotAnApprover(EngineError):
    """The person is not one of the step's approvers."""


def idempotency_key(run_id: str, step_id: str, attempt: int, item: int | None = None) -> str:
    """Run id + step id (+ for_each item) + attempt: what connectors may pass on as the
    service's idempotency key."""
    where = step_id if item is None else f"{step_id}[{item}]"
    return f"{run_id}:{where}:{attempt}"


@dataclass(frozen=True)
class _Outcome:
    status: StepStatus  # SUCCEEDED, FAILED or UNKNOWN
    output: Any = None
    message: str = ""


@dataclass
class _Execution:
    """What one `execute` call knows about the run it drives."""

    run: RunRecord
    record: WorkflowRecord
    steps: list[StepRecord]
    now: datetime
    outputs: dict[str, Any] = field(default_factory=dict)
    iterations: dict[int, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def workflow(self) -> Workflow:
        return self.record.workflow

    def context(self) -> dict[str, Any]:
        return {
            "trigger": self.run.trigger_payload,
            "steps": self.outputs,
            "now": self.now,
            "workflow": {
                "id": self.record.id,
                "name": self.workflow.name,
                "version": self.run.version,
                "run_id": self.run.id,
                "owner": self.record.owner,
                "requested_by": self.run.requested_by,
            },
        }


class _Stop(Exception):
    """Raised inside a run's driver once the run has left `running` (its final state is
    already persisted): finished, paused for approval, or needing attention."""


class Engine:
    def __init__(
        self,
        database: Database,
        registry: Registry,
        http_pool: HttpPool,
        credentials: CredentialProvider,
        settings: Settings,
        observers: Sequence[RunObserver] = (),
        worker_id: str | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database = database
        self.catalog = full_catalog(registry)
        self.http_pool = http_pool
        self.credentials = credentials
        self.settings = settings
        self.artifacts = ArtifactStore.from_settings(settings)
        self.observers = list(observers)
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.sleep = sleep
        self.clock = clock
        self.workflows = WorkflowRepo(database)
        self.runs = RunRepo(database)

    def add_observer(self, observer: RunObserver) -> None:
        self.observers.append(observer)

    # --- public API -------------------------------------------------------------------------

    async def start_run(
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
        """Persist a queued run of the workflow's active version (or `version`).

        With `dedupe_key` (what started it: a fire time, an event item) the start is
        idempotent: the workflow gets at most one run per key, and starting it again —
        a retry after a crash, a second node — returns the id of the run already there."""
        if dedupe_key is not None:
            existing = await self.runs.with_dedupe_key(team_id, workflow_id, dedupe_key)
            if existing is not None:
                log.info("run %s already started for %s", existing.id, dedupe_key)
                return existing.id
        record = await self.workflows.get(team_id, workflow_id, version)
        if record.state != WorkflowState.ACTIVE:
            raise EngineError(
                f"workflow “{record.name}” is {record.state}; resume it before running it"
            )
        try:
            run = await self.runs.create(
                team_id,
                workflow_id,
                record.version,
                record.workflow.steps,
                trigger_kind=trigger_kind,
                trigger_payload=dict(trigger_payload or {}),
                requested_by=requested_by,
                dedupe_key=dedupe_key,
            )
        except DuplicateRun as duplicate:  # another node started it a moment ago
            log.info("run %s already started for %s", duplicate.run_id, dedupe_key)
            return duplicate.run_id
        log.info("run %s queued (workflow %s v%d)", run.id, workflow_id, record.version)
        await self._notify(team_id, run.id)
        return run.id

    async def action_context(
        self,
        team_id: str,
        user_id: str,
        connector: Connector,
        idempotency_key: str | None = None,
    ) -> ActionContext:
        """What a connector's action or event poll runs with: `user_id`'s credentials for
        the connector's service and an HTTP client bound to them."""
        source = await self.credentials.for_service(team_id, user_id, connector.name)
        return ActionContext(
            team_id=team_id,
            user_id=user_id,
            http=self.http_pool.for_connector(connector, source),
            credentials=source,
            idempotency_key=idempotency_key,
            artifacts=self.artifacts,
        )

    async def execute(self, run_id: str, *, now: datetime | None = None) -> RunRecord | None:
        """Claim the run and drive it until it finishes or pauses. Returns its state
        then, or None when it is not runnable here (another worker holds it, or it is
        waiting, finished or unknown)."""
        claimed = await self.runs.claim(run_id, self.worker_id, now or self.clock(), self._lease())
        if claimed is None:
            return None
        heartbeat = asyncio.create_task(self._heartbeat(run_id))
        try:
            await self._drive(claimed)
        except LeaseLost:
            log.warning("run %s: lease lost to another worker; stopping here", run_id)
            return None
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        return await self.runs.get(claimed.team_id, run_id)

    async def decide_approval(
        self,
        team_id: str,
        run_id: str,
        step_id: str,
        approver: str,
        approve: bool,
        *,
        resume: bool = True,
    ) -> RunRecord:
        """Record `approver`'s decision on a waiting approval step. Enough approvals
        re-queue the run (and, with `resume`, continue it here); a rejection fails it."""
        now = self.clock()
        async with self.runs.locked(team_id, run_id) as tx:
            run, step = await tx.run(), await tx.step(step_id)
            approval = step.approval
            if run.status != RunStatus.WAITING_APPROVAL or step.status != StepStatus.RUNNING:
                raise ApprovalNotOpen(f"this approval is no longer open (the run is {run.status})")
            if approval is None:
                raise ApprovalNotOpen(f"step `{step_id}` is not waiting for an approval")
            if approver not in approval["approvers"]:
                allowed = ", ".join(approval["approvers"])
                raise NotAnApprover(f"only {allowed} can approve step `{step_id}`")
            decided = {d["approver"] for d in approval["decisions"]}
            if approver not in decided:
                approval = _with_decision(approval, approver, approve, now)
                requeued = await self._apply_decision(tx, step_id, approval, approver, now)
                tx.audit(
                    approver,
                    "approval.approved" if approve else "approval.rejected",
                    {"step": step_id},
                )
            else:
                requeued = False
        await self._notify(team_id, run_id)
        if requeued and resume:
            return await self.execute(run_id) or await self.runs.get(team_id, run_id)
        return await self.runs.get(team_id, run_id)

    async def cancel(self, team_id: str, run_id: str, by: str) -> RunRecord:
        """Cancel a run. A run a live worker is executing stops before its next step (or
        retry); any other unfinished run is cancelled at once."""
        now = self.clock()
        async with self.runs.locked(team_id, run_id) as tx:
            run = await tx.run()
            if run.status.finished:
                return run
            tx.audit(by, "run.cancel_requested", {"status": str(run.status)})
            if (
                run.status == RunStatus.RUNNING
                and run.lease_expires_at
                and run.lease_expires_at > now
            ):
                await tx.update_run(cancel_requested_by=by)
            else:
                await self._cancel_now(tx, by, now)
        await self._notify(team_id, run_id)
        return await self.runs.get(team_id, run_id)

    async def continue_run(
        self,
        team_id: str,
        run_id: str,
        step_id: str,
        mode: ResumeMode,
        by: str,
        *,
        reason: str | None = None,
        resume: bool = True,
    ) -> RunRecord:
        """A person's choice on a failed or needs_attention run: retry from `step_id`
        (it and every later step run again; earlier finished steps keep their outputs),
        retry that step only (other finished steps are kept), or skip it with `reason`.
        Only the workflow's owner or one of the run's approvers may; each is audited."""
        run = await self.runs.get(team_id, run_id)
        record = await self.workflows.get(team_id, run.workflow_id)
        async with self.runs.locked(team_id, run_id) as tx:
            run, steps = await tx.run(), await tx.steps()
            if by != record.owner and by not in _approvers(steps):
                raise NotAnApprover(
                    f"only <@{record.owner}> or this run's approvers can retry or skip its steps"
                )
            if run.status not in (RunStatus.FAILED, RunStatus.NEEDS_ATTENTION):
                raise NotResumable(f"run `{run_id}` is {run.status}; only a failed run can")
            target = next((s for s in steps if s.step_id == step_id), None)
            if target is None:
                raise NotResumable(f"run `{run_id}` has no step `{step_id}`")
            if mode == ResumeMode.SKIP and not (reason or "").strip():
                raise NotResumable("say why the step is skipped (the reason is recorded)")
            for step in _steps_to_reset(steps, target, mode):
                finished = {"output": None, "iterations": None} if step.status.done else {}
                await tx.update_step(
                    step.step_id,
                    status=StepStatus.PENDING,
                    error=None,
                    finished_at=None,
                    **finished,
                )
            if mode == ResumeMode.SKIP:
                await tx.update_step(
                    step_id,
                    status=StepStatus.SKIPPED,
                    error=f"Skipped by {by}: {reason}",
                    finished_at=self.clock(),
                )
            await tx.update_run(status=RunStatus.QUEUED, finished_at=None, message=None)
            tx.audit(by, f"run.{mode}", {"step": step_id, "reason": reason})
        await self._notify(team_id, run_id)
        if resume:
            return await self.execute(run_id) or await self.runs.get(team_id, run_id)
        return await self.runs.get(team_id, run_id)

    async def recover_expired(self, now: datetime | None = None) -> list[str]:
        """The periodic maintenance call: fail approvals nobody decided in time, then
        claim and continue runs whose worker died (expired lease) or whose job was lost
        (queued for longer than a lease). Returns the ids of the runs it continued."""
        now = now or self.clock()
        for team_id, run_id in await self.runs.approvals_due(now):
            await self._expire_approval(team_id, run_id, now)
        stale = now - timedelta(seconds=self.settings.run_lease_seconds)
        recovered = []
        for run_id in await self.runs.recoverable(now, stale):
            if await self.execute(run_id, now=now) is not None:
                log.info("run %s recovered by %s", run_id, self.worker_id)
                recovered.append(run_id)
        return recovered

    # --- driving a run ----------------------------------------------------------------------

    def _lease(self) -> datetime:
        return self.clock() + timedelta(seconds=self.settings.run_lease_seconds)

    async def _heartbeat(self, run_id: str) -> None:
        interval = max(self.settings.run_lease_seconds / 3, 0.05)
        while True:
            await asyncio.sleep(interval)
            if not await self.runs.heartbeat(run_id, self.worker_id, self._lease()):
                return

    @contextlib.asynccontextmanager
    async def _write(self, ex: _Execution) -> Any:
        async with self.runs.fenced(ex.run.team_id, ex.run.id, self.worker_id, self._lease()) as tx:
            yield tx

    async def _drive(self, run: RunRecord) -> None:
        record = await self.workflows.get(run.team_id, run.workflow_id, run.version)
        steps = await self.runs.steps(run.team_id, run.id)
        now = trigger_time(run, record.workflow, self.catalog)
        ex = _Execution(run=run, record=record, steps=steps, now=now)
        for step_record in steps:
            if step_record.status == StepStatus.SUCCEEDED:
                ex.outputs[step_record.step_id] = step_record.output
            if step_record.iterations is not None:
                ex.iterations[step_record.position] = list(step_record.iterations)
        try:
            await self._begin(ex)
            for index, step in enumerate(ex.workflow.steps):
                await self._run_step(ex, index, step)
            await self._finish(ex, RunStatus.SUCCEEDED)
        except _Stop:
            return

    async def _begin(self, ex: _Execution) -> None:
        await self._stop_if_cancelled(ex)
        if ex.run.status == RunStatus.QUEUED:
            async with self._write(ex) as tx:
                changes: dict[str, Any] = {"status": RunStatus.RUNNING}
                if ex.run.started_at is None:
                    changes["started_at"] = self.clock()
                await tx.update_run(**changes)
            await self._notify(ex.run.team_id, ex.run.id)
        log.info("run %s running on %s", ex.run.id, self.worker_id)

    async def _finish(
        self, ex: _Execution, status: RunStatus, message: str | None = None
    ) -> NoReturn:
        async with self._write(ex) as tx:
            await tx.update_run(**self._closing(status, message))
            if status == RunStatus.SUCCEEDED and ex.workflow.runs_once:
                await tx.complete_workflow(ex.run.workflow_id, ex.run.version)
        log.info("run %s %s", ex.run.id, status)
        await self._notify(ex.run.team_id, ex.run.id)
        raise _Stop

    def _closing(self, status: RunStatus, message: str | None) -> dict[str, Any]:
        """Run columns for leaving `running`: the status, and the lease let go."""
        changes: dict[str, Any] = {
            "status": status,
            "message": message,
            "lease_owner": None,
            "lease_expires_at": None,
        }
        if status.finished or status == RunStatus.NEEDS_ATTENTION:
            changes["finished_at"] = self.clock()
        return changes

    async def _stop_if_cancelled(self, ex: _Execution) -> None:
        run = await self.runs.get(ex.run.team_id, ex.run.id)
        if run.cancel_requested_by:
            await self._finish(ex, RunStatus.CANCELLED, f"Cancelled by {run.cancel_requested_by}.")

    async def _run_step(self, ex: _Execution, index: int, step: Step) -> None:
        record = ex.steps[index]
        if record.status.done:
            return
        await self._stop_if_cancelled(ex)
        action = self.catalog.action(step.action)
        if action is None:
            await self._end_run(ex, step, _failed(f"unknown action `{step.action}`"))
        context = ex.context()
        try:
            if step.if_ is not None and not evaluate(step.if_, context, f"steps[{index}].if"):
                await self._skip(ex, index, step)
                return
            if step.is_approval:
                await self._request_approval(ex, index, step, record, context)
            elif step.for_each is not None:
                await self._run_items(ex, index, step, action, context)
            else:
                await self._run_once(ex, index, step, action, record, context)
        except TemplateError as exc:
            await self._end_run(ex, step, _failed(str(exc)))

    async def _skip(self, ex: _Execution, index: int, step: Step) -> None:
        async with self._write(ex) as tx:
            await tx.update_step(step.id, status=StepStatus.SKIPPED, finished_at=self.clock())
        log.info("run %s: step %s skipped", ex.run.id, step.id)
        await self._notify(ex.run.team_id, ex.run.id)

    async def _run_once(
        self,
        ex: _Execution,
        index: int,
        step: Step,
        action: Action,
        record: StepRecord,
        context: dict[str, Any],
    ) -> None:
        if record.status == StepStatus.RUNNING and not action.idempotent:
            await self._end_run(ex, step, self._interrupted(step, action, record.idempotency_key))
        inputs = render(step.with_, context, f"steps[{index}].with")
        outcome = await self._call(ex, index, step, action, inputs, None, record.attempts)
        if outcome.status != StepStatus.SUCCEEDED:
            await self._end_run(ex, step, outcome)
        await self._succeed(ex, step, outcome.output)

    async def _run_items(
        self, ex: _Execution, index: int, step: Step, action: Action, context: dict[str, Any]
    ) -> None:
        items = _items(step, context, index)
        iterations = ex.iterations.setdefault(index, [])
        iterations.extend(
            {"status": StepStatus.PENDING, "attempts": 0}
            for _ in range(len(items) - len(iterations))
        )
        for position, item in enumerate(items):
            state = iterations[position]
            if state["status"] == StepStatus.SUCCEEDED:
                continue
            if state["status"] == StepStatus.RUNNING and not action.idempotent:
                outcome = self._interrupted(step, action, state.get("idempotency_key"), position)
            else:
                await self._stop_if_cancelled(ex)
                item_context = {**context, "item": item, "loop": loop_context(position, len(items))}
                inputs = render(step.with_, item_context, f"steps[{index}].with")
                outcome = await self._call(
                    ex, index, step, action, inputs, position, state["attempts"]
                )
            if outcome.status != StepStatus.SUCCEEDED:
                await self._end_run(ex, step, outcome, (index, position))
            await self._save(
                ex, index, step, position, status=StepStatus.SUCCEEDED, output=outcome.output
            )
        await self._succeed(ex, step, [state["output"] for state in iterations[: len(items)]])

    # --- calling an action --------------------------------------------------------------

    async def _call(
        self,
        ex: _Execution,
        index: int,
        step: Step,
        action: Action,
        inputs: dict[str, Any],
        item: int | None,
        attempts: int,
    ) -> _Outcome:
        """Call the action, retrying transient failures; persist every attempt first."""
        while True:
            attempts += 1
            key = idempotency_key(ex.run.id, step.id, attempts, item)
            await self._save(
                ex,
                index,
                step,
                item,
                status=StepStatus.RUNNING,
                inputs=inputs,
                attempts=attempts,
                idempotency_key=key,
            )
            try:
                output = await self._invoke(ex, action, inputs, key)
            except (TransientError, TimeoutError) as exc:
                message = self._transient_message(action, exc)
                if _may_have_happened(exc) and not action.idempotent:
                    return _Outcome(
                        StepStatus.UNKNOWN, message=self._unknown(step, action, message, key)
                    )
                delay = self._retry_delay(exc, attempts)
                if delay is None:
                    return _failed(f"{message} (gave up after {attempts} attempt(s))")
                log.info(
                    "run %s: step %s attempt %d failed (%s); retrying in %.2fs",
                    ex.run.id,
                    step.id,
                    attempts,
                    type(exc).__name__,
                    delay,
                )
                await self.sleep(delay)
                await self._stop_if_cancelled(ex)
            except ConnectorError as exc:
                return _failed(str(exc))
            except ValidationError as exc:
                return _failed(_input_problems(action, exc))
            except Exception:  # a bug in a connector must fail the step, not kill the worker
                log.exception("run %s: step %s (%s) crashed", ex.run.id, step.id, action.key)
                return _failed(f"{action.key} failed unexpectedly; the error was logged")
            else:
                return _Outcome(StepStatus.SUCCEEDED, output.model_dump(mode="json"))

    async def _invoke(
        self, ex: _Execution, action: Action, inputs: dict[str, Any], key: str
    ) -> Any:
        connector = self.catalog.connectors[action.connector]
        ctx = await self.action_context(ex.run.team_id, ex.record.owner, connector, key)
        async with asyncio.timeout(self.settings.step_timeout_seconds):
            return await action.run(ctx, inputs)

    def _retry_delay(self, exc: Exception, attempts: int) -> float | None:
        if attempts >= self.settings.step_max_attempts:
            return None
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is None:
            return backoff_delay(attempts)
        return retry_after if retry_after <= self.settings.http_max_retry_wait_seconds else None

    def _transient_message(self, action: Action, exc: Exception) -> str:
        if isinstance(exc, TimeoutError):
            return f"{action.key} did not finish within {self.settings.step_timeout_seconds:g}s"
        wait = getattr(exc, "retry_after", None)
        if wait is not None and wait > self.settings.http_max_retry_wait_seconds:
            return f"{exc} The service asks to wait {wait:.0f}s; run the workflow again later."
        return str(exc)

    def _title(self, action: Action) -> str:
        return self.catalog.connectors[action.connector].title

    def _unknown(self, step: Step, action: Action, error: str, key: str | None) -> str:
        title = self._title(action)
        what = action.description.rstrip(".") or action.key
        keyed = f" (idempotency key {key})" if key else ""
        return (
            f"Step `{step.id}` ({action.key}: {what}) may or may not have happened: {error} "
            f"Check in {title} whether it did{keyed} before running it again; ATOM did not "
            "retry it because repeating it could do it twice."
        )

    def _interrupted(
        self, step: Step, action: Action, key: str | None, item: int | None = None
    ) -> _Outcome:
        which = f" (item {item + 1})" if item is not None else ""
        error = f"the worker running it stopped while it was calling {self._title(action)}{which}."
        return _Outcome(StepStatus.UNKNOWN, message=self._unknown(step, action, error, key))

    # --- persisting steps ---------------------------------------------------------------

    async def _save(
        self, ex: _Execution, index: int, step: Step, item: int | None, **changes: Any
    ) -> None:
        """Persist a step's (or one for_each item's) progress."""
        async with self._write(ex) as tx:
            if item is None:
                await tx.update_step(step.id, mark_started=True, **changes)
            else:
                iterations = ex.iterations[index]
                iterations[item] = {**iterations[item], **changes}
                await tx.update_step(
                    step.id,
                    mark_started=True,
                    status=StepStatus.RUNNING,
                    iterations=[dict(i) for i in iterations],
                    attempts=sum(i.get("attempts", 0) for i in iterations),
                )
        await self._notify(ex.run.team_id, ex.run.id)

    async def _succeed(self, ex: _Execution, step: Step, output: Any) -> None:
        async with self._write(ex) as tx:
            await tx.update_step(
                step.id,
                status=StepStatus.SUCCEEDED,
                output=output,
                error=None,
                finished_at=self.clock(),
            )
        ex.outputs[step.id] = output
        log.info("run %s: step %s succeeded", ex.run.id, step.id)
        await self._notify(ex.run.team_id, ex.run.id)

    async def _end_run(
        self,
        ex: _Execution,
        step: Step,
        outcome: _Outcome,
        item: tuple[int, int] | None = None,
    ) -> NoReturn:
        """Persist a failed or unknown step (or for_each `item`: (step index, position))
        together with the run's end: `failed`, or `needs_attention` when unknown."""
        unknown = outcome.status == StepStatus.UNKNOWN
        run_status = RunStatus.NEEDS_ATTENTION if unknown else RunStatus.FAILED
        run_message = outcome.message if unknown else f"Step `{step.id}` failed: {outcome.message}"
        async with self._write(ex) as tx:
            changes: dict[str, Any] = {}
            if item is not None:
                iterations = ex.iterations[item[0]]
                iterations[item[1]] = {
                    **iterations[item[1]],
                    "status": outcome.status,
                    "error": outcome.message,
                }
                changes["iterations"] = [dict(i) for i in iterations]
            await tx.update_step(
                step.id,
                status=outcome.status,
                error=outcome.message,
                finished_at=self.clock(),
                **changes,
            )
            await tx.update_run(**self._closing(run_status, run_message))
        log.info("run %s: step %s %s; run %s", ex.run.id, step.id, outcome.status, run_status)
        await self._notify(ex.run.team_id, ex.run.id)
        raise _Stop

    # --- approvals ---------------------------------------------------------------------

    async def _request_approval(
        self,
        ex: _Execution,
        index: int,
        step: Step,
        record: StepRecord,
        context: dict[str, Any],
    ) -> NoReturn:
        """Persist the approval request and pause the run (lease released)."""
        approval = record.approval
        if approval is None:
            inputs = render(step.with_, context, f"steps[{index}].with")
            try:
                request = ApprovalRequest.model_validate(inputs)
            except ValidationError as exc:
                await self._end_run(ex, step, _failed(_input_problems(None, exc)))
            deadline = self.clock() + timedelta(seconds=request.timeout)
            approval = {
                **request.model_dump(mode="json"),
                "deadline": deadline.isoformat(),
                "decisions": [],
            }
            step_changes: dict[str, Any] = {"inputs": inputs, "approval": approval, "attempts": 1}
        else:
            step_changes = {}
        deadline = datetime.fromisoformat(approval["deadline"])
        async with self._write(ex) as tx:
            await tx.update_step(
                step.id, mark_started=True, status=StepStatus.RUNNING, **step_changes
            )
            await tx.update_run(
                waiting_until=deadline, **self._closing(RunStatus.WAITING_APPROVAL, None)
            )
        log.info("run %s waiting for approval of step %s", ex.run.id, step.id)
        await self._notify(ex.run.team_id, ex.run.id)
        raise _Stop

    async def _apply_decision(
        self,
        tx: RunTransaction,
        step_id: str,
        approval: dict[str, Any],
        approver: str,
        now: datetime,
    ) -> bool:
        """Write the updated approval; True when the run is re-queued to continue."""
        approvals = [d["approver"] for d in approval["decisions"] if d["approved"]]
        rejected = any(not d["approved"] for d in approval["decisions"])
        if rejected:
            message = f"Rejected by {approver}."
            await tx.update_step(
                step_id, status=StepStatus.FAILED, approval=approval, error=message, finished_at=now
            )
            await tx.update_run(
                status=RunStatus.FAILED,
                finished_at=now,
                waiting_until=None,
                message=f"Step `{step_id}` was rejected by {approver}.",
            )
            return False
        if len(approvals) < approval["min_approvals"]:
            await tx.update_step(step_id, approval=approval)
            return False
        result = ApprovalResult(
            approved=True, approved_by=approvals, decisions=approval["decisions"]
        )
        await tx.update_step(
            step_id,
            status=StepStatus.SUCCEEDED,
            approval=approval,
            output=result.model_dump(mode="json"),
            finished_at=now,
        )
        await tx.update_run(status=RunStatus.QUEUED, waiting_until=None)
        return True

    async def _expire_approval(self, team_id: str, run_id: str, now: datetime) -> None:
        async with self.runs.locked(team_id, run_id) as tx:
            run = await tx.run()
            if (
                run.status != RunStatus.WAITING_APPROVAL
                or not run.waiting_until
                or (run.waiting_until >= now)
            ):
                return
            for step in await tx.steps():
                if step.status == StepStatus.RUNNING and step.approval is not None:
                    await tx.update_step(
                        step.step_id,
                        status=StepStatus.FAILED,
                        finished_at=now,
                        error="Nobody decided in time.",
                    )
                    await tx.update_run(
                        status=RunStatus.FAILED,
                        finished_at=now,
                        waiting_until=None,
                        message=f"Step `{step.step_id}` timed out waiting for approval.",
                    )
            tx.audit("atom", "approval.timed_out")
        log.info("run %s: approval timed out", run_id)
        await self._notify(team_id, run_id)

    async def _cancel_now(self, tx: RunTransaction, by: str, now: datetime) -> None:
        """Cancel a run nobody is executing. A step left `running` by a dead worker may
        or may not have happened: it becomes `unknown` (an approval just fails)."""
        for step in await tx.steps():
            if step.status != StepStatus.RUNNING:
                continue
            if step.approval is not None:
                await tx.update_step(
                    step.step_id,
                    status=StepStatus.FAILED,
                    finished_at=now,
                    error=f"Cancelled by {by}.",
                )
            else:
                await tx.update_step(
                    step.step_id,
                    status=StepStatus.UNKNOWN,
                    finished_at=now,
                    error="The run was cancelled while this step was running; check whether "
                    "it happened.",
                )
        await tx.update_run(
            status=RunStatus.CANCELLED,
            finished_at=now,
            waiting_until=None,
            cancel_requested_by=by,
            message=f"Cancelled by {by}.",
            lease_owner=None,
            lease_expires_at=None,
        )

    # --- observers ------------------------------------------------------------------------

    async def _notify(self, team_id: str, run_id: str) -> None:
        if not self.observers:
            return
        try:
            run, steps = await self.runs.snapshot(team_id, run_id)
        except RunNotFound:
            return
        for observer in self.observers:
            try:
                await observer.on_run_update(run, steps)
            except Exception:  # an observer must never break a run
                log.exception("run %s: observer %r failed", run_id, observer)


# --- helpers ---------------------------------------------------------------------------------


def trigger_time(run: RunRecord, workflow: Workflow, catalog: Registry) -> datetime:
    """When the run's trigger happened, in UTC: a template's `now`. A schedule's fire time,
    the event's own time when its connector declares the field, else when the run was
    queued. It is fixed for the run, so a retry or a resume days later computes the same
    "tomorrow" as the first attempt."""
    payload = run.trigger_payload
    path = "scheduled_at" if "scheduled_at" in payload else None
    if isinstance(workflow.trigger, EventTrigger):
        event = catalog.event(workflow.trigger.event)
        path = event.occurred_at if event is not None else None
    stamp = _payload_time(payload, path) if path else None
    queued = run.created_at
    return stamp or (queued if queued.tzinfo else queued.replace(tzinfo=UTC)).astimezone(UTC)


def _payload_time(payload: dict[str, Any], path: str) -> datetime | None:
    value: Any = payload
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    return None


def _approvers(steps: Sequence[StepRecord]) -> set[str]:
    """Everyone named as an approver on one of the run's approval steps."""
    return {name for s in steps if s.approval for name in s.approval.get("approvers", [])}


def _steps_to_reset(
    steps: Sequence[StepRecord], target: StepRecord, mode: ResumeMode
) -> list[StepRecord]:
    """The steps that run again: the target, and with `from_step` every later one too.
    Iterations are kept, so a for_each step retries only the items that did not finish."""
    if mode == ResumeMode.SKIP:
        return []
    if mode == ResumeMode.STEP_ONLY:
        return [target]
    return [s for s in steps if s.position >= target.position]


def _failed(message: str) -> _Outcome:
    return _Outcome(StepStatus.FAILED, message=message)


def _may_have_happened(exc: Exception) -> bool:
    if isinstance(exc, TimeoutError):
        return True
    return isinstance(exc, TransientError) and exc.request_may_have_been_sent


def _input_problems(action: Action | None, exc: ValidationError) -> str:
    name = action.key if action else "the step"
    details = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'inputs'}: "
        f"{str(e['msg']).removeprefix('Value error, ')}"
        for e in exc.errors(include_url=False)
    )
    return f"the inputs of {name} are not valid after rendering: {details}"


def _with_decision(
    approval: dict[str, Any], approver: str, approve: bool, now: datetime
) -> dict[str, Any]:
    decision = {"approver": approver, "approved": approve, "at": now.isoformat()}
    return {**approval, "decisions": [*approval["decisions"], decision]}


def _items(step: Step, context: dict[str, Any], index: int) -> list[Any]:
    path = f"steps[{index}].for_each"
    if isinstance(step.for_each, list):
        items = render(step.for_each, context, path)
    else:
        items = evaluate(step.for_each or "", context, path)
    if not isinstance(items, list):
        raise TemplateError(f"for_each must give a list, not {type(items).__name__}", path)
    if len(items) > MAX_FOR_EACH_ITEMS:
        raise TemplateError(
            f"for_each gave {len(items)} items; at most {MAX_FOR_EACH_ITEMS} are allowed", path
        )
    return items
