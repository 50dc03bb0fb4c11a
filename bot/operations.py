"""What people do to their workflows and runs from Slack (commands, App Home, buttons):
pause, resume, delete, roll back, retry, cancel, decide an approval. Each checks who is
asking, records it in the audit log, keeps triggers in step, and returns one sentence for
the person."""

from __future__ import annotations

from bot.plans import activate
from bot.services import BotServices
from workflows.engine import ApprovalNotOpen, EngineError, NotAnApprover, ResumeMode
from workflows.store import (
    RunNotFound,
    RunRecord,
    RunStatus,
    WorkflowNotFound,
    WorkflowRecord,
    WorkflowState,
)


class NotAllowed(Exception):
    """The person may not do this; the message says why (shown to them alone)."""


async def owned_workflow(
    services: BotServices, team_id: str, user_id: str, workflow_id: str
) -> WorkflowRecord:
    try:
        record = await services.workflows.get(team_id, workflow_id)
    except WorkflowNotFound:
        raise NotAllowed(
            f"There is no workflow `{workflow_id}` — `/atom list` shows yours."
        ) from None
    if record.state == WorkflowState.DELETED:
        raise NotAllowed(f"Workflow `{workflow_id}` was deleted.")
    if record.owner != user_id:
        raise NotAllowed(
            f"Workflow `{workflow_id}` belongs to <@{record.owner}>; only they can change it."
        )
    return record


def _not_completed(record: WorkflowRecord) -> None:
    """A completed workflow made its one run: pausing or resuming means nothing."""
    if record.state == WorkflowState.COMPLETED:
        raise NotAllowed(
            f"“{record.name}” already ran and is completed. To run it again, change it: "
            f"reply in its thread or `/atom edit {record.id} <change>`."
        )


async def pause(services: BotServices, team_id: str, user_id: str, workflow_id: str) -> str:
    record = await owned_workflow(services, team_id, user_id, workflow_id)
    _not_completed(record)
    if record.state == WorkflowState.PAUSED:
        return f"“{record.name}” is already paused."
    await services.workflows.set_state(team_id, workflow_id, WorkflowState.PAUSED, user_id)
    await services.triggers.apply(team_id, workflow_id)
    return (
        f":double_vertical_bar: Paused “{record.name}”. `/atom resume {workflow_id}` "
        "starts it again."
    )


async def resume(services: BotServices, team_id: str, user_id: str, workflow_id: str) -> str:
    record = await owned_workflow(services, team_id, user_id, workflow_id)
    _not_completed(record)
    if record.state == WorkflowState.ACTIVE:
        return f"“{record.name}” is already active."
    await services.workflows.set_state(team_id, workflow_id, WorkflowState.ACTIVE, user_id)
    if record.workflow.trigger.type == "manual":
        return f":arrow_forward: Resumed “{record.name}”."
    return f":arrow_forward: Resumed “{record.name}”. " + await activate(
        services, team_id, workflow_id, user_id
    )


async def delete(services: BotServices, team_id: str, user_id: str, workflow_id: str) -> str:
    record = await owned_workflow(services, team_id, user_id, workflow_id)
    await services.workflows.set_state(team_id, workflow_id, WorkflowState.DELETED, user_id)
    await services.triggers.apply(team_id, workflow_id)
    return f":wastebasket: Deleted “{record.name}”. Its runs stay in the history."


async def rollback(
    services: BotServices, team_id: str, user_id: str, workflow_id: str, version: int
) -> str:
    record = await owned_workflow(services, team_id, user_id, workflow_id)
    if not 1 <= version <= record.latest_version:
        raise NotAllowed(
            f"“{record.name}” has versions 1 to {record.latest_version}; "
            f"`/atom history {workflow_id}` lists them."
        )
    await services.workflows.rollback(team_id, workflow_id, version, user_id)
    outcome = ""
    if record.state == WorkflowState.ACTIVE and record.workflow.trigger.type != "manual":
        outcome = " " + await activate(services, team_id, workflow_id, user_id)
    return f":rewind: “{record.name}” is back at version {version}.{outcome}"


async def run_of(
    services: BotServices, team_id: str, user_id: str, run_id: str, verb: str
) -> RunRecord:
    """The run, if `user_id` owns its workflow or started it; else NotAllowed."""
    try:
        run = await services.runs.get(team_id, run_id)
    except RunNotFound:
        raise NotAllowed(f"There is no run `{run_id}` — `/atom runs` lists recent ones.") from None
    record = await services.workflows.get(team_id, run.workflow_id)
    if user_id not in (record.owner, run.requested_by):
        raise NotAllowed(f"Only <@{record.owner}> can {verb} runs of “{record.name}”.")
    return run


async def retry_run(services: BotServices, team_id: str, user_id: str, run_id: str) -> str:
    run = await run_of(services, team_id, user_id, run_id, "retry")
    try:
        new_run = await services.launcher.start(
            team_id, run.workflow_id, run.trigger_payload, user_id, "retry"
        )
    except EngineError as exc:
        raise NotAllowed(str(exc)) from None
    await services.audit.record(team_id, user_id, "run.retried", run_id, {"new_run": new_run})
    return f":repeat: Retrying as run `{new_run}`."


async def continue_run(
    services: BotServices,
    team_id: str,
    user_id: str,
    value: str,
    mode: ResumeMode,
    reason: str | None = None,
) -> str:
    """Retry a failed run from a step, retry the step alone, or skip it (`value` is
    "run_id|step_id"); the engine checks who may and audits it, the launcher runs it."""
    run_id, _, step_id = value.partition("|")
    try:
        await services.engine.continue_run(
            team_id, run_id, step_id, mode, user_id, reason=reason, resume=False
        )
    except RunNotFound:
        raise NotAllowed(f"There is no run `{run_id}` — `/atom runs` lists recent ones.") from None
    except EngineError as exc:
        raise NotAllowed(str(exc).capitalize() + ".") from None
    await services.launcher.enqueue(run_id)
    return CONTINUED[mode].format(step=step_id, run=run_id)


CONTINUED = {
    ResumeMode.FROM_STEP: ":repeat: Run `{run}` continues from step `{step}`; earlier steps "
    "are not run again.",
    ResumeMode.STEP_ONLY: ":repeat: Retrying step `{step}` of run `{run}`.",
    ResumeMode.SKIP: ":fast_forward: Skipped step `{step}`; run `{run}` continues.",
}


async def cancel_run(services: BotServices, team_id: str, user_id: str, run_id: str) -> str:
    run = await run_of(services, team_id, user_id, run_id, "cancel")
    if run.status.finished:
        return f"Run `{run_id}` already {run.status}."
    after = await services.engine.cancel(team_id, run_id, user_id)
    if after.status == RunStatus.CANCELLED:
        return f":no_entry_sign: Cancelled run `{run_id}`."
    return f":no_entry_sign: Run `{run_id}` stops before its next step."


async def decide_approval(
    services: BotServices, team_id: str, user_id: str, run_id: str, step_id: str, approve: bool
) -> str:
    try:
        run = await services.runs.get(team_id, run_id)
    except RunNotFound:
        raise NotAllowed("This run no longer exists.") from None
    if run.requested_by == user_id:
        raise NotAllowed("You started this run, so someone else has to approve it.")
    try:
        after = await services.engine.decide_approval(
            team_id, run_id, step_id, user_id, approve, resume=False
        )
    except (NotAnApprover, ApprovalNotOpen) as exc:
        raise NotAllowed(str(exc).capitalize() + ".") from None
    if after.status == RunStatus.QUEUED:
        await services.launcher.enqueue(run_id)
    return (
        ":white_check_mark: You approved this."
        if approve
        else ":x: You rejected this; the run stops."
    )
