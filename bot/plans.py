"""Deciding plans: Approve (store, activate, say what happens next), Cancel, and a revised
plan replacing the previous preview. Each returns an error for the person who clicked
(shown to them alone) or None."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.plan import decided_blocks
from bot.pending import APPROVED, CANCELLED, PENDING, PendingPlan
from bot.services import BotServices
from workflows.model import ManualTrigger, ScheduleTrigger, Workflow
from workflows.schedules import next_fire_time
from workflows.store import WorkflowNotFound, WorkflowState

CHANGE_HINT = "Reply in this thread to change it."

log = logging.getLogger(__name__)


async def supersede(services: BotServices, client: AsyncWebClient, plan: PendingPlan) -> None:
    """A revised plan replaces the old preview: its buttons go, so only the newest can be
    approved."""
    if not await services.pending.decide(plan.team_id, plan.id, CANCELLED, plan.user_id):
        return
    if plan.message_ts and plan.status == PENDING and plan.document:
        workflow = Workflow.model_validate(plan.document)
        await client.chat_update(
            channel=plan.channel_id,
            ts=plan.message_ts,
            text="Replaced by a newer plan",
            blocks=decided_blocks(
                workflow,
                services.service_titles(),
                ":arrows_counterclockwise: Replaced by the revised plan below.",
            ),
        )


class PlanRefused(Exception):
    """Why the clicker may not decide this plan (shown to them alone)."""


async def claim(
    services: BotServices, team_id: str, plan_id: str, user_id: str, status: str, verb: str
) -> PendingPlan:
    """Decide the plan as `status` on behalf of its requester, or raise PlanRefused."""
    plan = await services.pending.get(team_id, plan_id)
    if plan is None or plan.document is None:
        raise PlanRefused("This plan no longer exists. Ask me again and I'll make a new one.")
    if plan.user_id != user_id:
        raise PlanRefused(f"Only <@{plan.user_id}>, who asked for this plan, can {verb} it.")
    if not await services.pending.decide(team_id, plan_id, status, user_id):
        current = await services.pending.get(team_id, plan_id)
        raise PlanRefused(f"This plan was already {current.status if current else 'removed'}.")
    return plan


async def approve(
    services: BotServices,
    client: AsyncWebClient,
    team_id: str,
    plan_id: str,
    user_id: str,
    where: tuple[str, str],
) -> None:
    """Approve, store and activate a plan; `where` is the clicked preview (channel, ts).
    A plan that changes a stored workflow becomes that workflow's next version."""
    plan = await claim(services, team_id, plan_id, user_id, APPROVED, "approve")
    workflow = Workflow.model_validate(plan.document)
    if plan.workflow_id is None:
        outcome = await _store_new(services, team_id, plan_id, workflow, user_id)
    else:
        outcome = await _store_revision(services, team_id, plan, workflow, user_id)
    await client.chat_update(
        channel=where[0],
        ts=where[1],
        text=f"Approved: {workflow.name}",
        blocks=decided_blocks(workflow, services.service_titles(), outcome),
    )


async def _store_new(
    services: BotServices, team_id: str, plan_id: str, workflow: Workflow, user_id: str
) -> str:
    workflow_id, version = await services.workflows.create(team_id, user_id, workflow)
    await services.audit.record(
        team_id, user_id, "plan.approved", workflow_id, {"plan": plan_id, "version": version}
    )
    await services.pending.save(team_id, plan_id, workflow_id=workflow_id)
    next_step = await activate(services, team_id, workflow_id, user_id)
    return (
        f":white_check_mark: Approved by <@{user_id}> as `{workflow_id}`. {next_step}\n"
        f"_{CHANGE_HINT}_"
    )


async def _store_revision(
    services: BotServices, team_id: str, plan: PendingPlan, workflow: Workflow, user_id: str
) -> str:
    """Store `workflow` as the next version of the workflow the plan changes, and move its
    schedule or subscription over to it (a paused workflow stays paused; a completed one
    becomes active again, its new version due to run)."""
    workflow_id = plan.workflow_id or ""
    try:
        before = await services.workflows.get(team_id, workflow_id)
        version = await services.workflows.update(team_id, workflow_id, workflow, user_id)
    except WorkflowNotFound:
        return f":warning: `{workflow_id}` was deleted meanwhile, so nothing was stored."
    await services.audit.record(
        team_id, user_id, "plan.approved", workflow_id, {"plan": plan.id, "version": version}
    )
    if before.state == WorkflowState.PAUSED:
        await services.triggers.apply(team_id, workflow_id)
        next_step = f"It stays paused; `/atom resume {workflow_id}` starts it again."
    else:
        if before.state == WorkflowState.COMPLETED:
            await services.workflows.set_state(team_id, workflow_id, WorkflowState.ACTIVE, user_id)
        next_step = await activate(services, team_id, workflow_id, user_id)
    return (
        f":white_check_mark: Approved by <@{user_id}>: `{workflow_id}` is now at version "
        f"{version} (`/atom rollback {workflow_id} {before.version}` goes back). {next_step}"
    )


async def activate(services: BotServices, team_id: str, workflow_id: str, user_id: str) -> str:
    """Make the workflow's trigger live (a manual one runs now); returns what happens
    next, in words."""
    record = await services.workflows.get(team_id, workflow_id)
    trigger = record.workflow.trigger
    if isinstance(trigger, ManualTrigger):
        await services.launcher.start(team_id, workflow_id, {}, user_id, "manual")
        return "Running it now — I'll keep you posted in our DM."
    state = await services.triggers.apply(team_id, workflow_id)
    if isinstance(trigger, ScheduleTrigger):
        after = state.fires_after if state else datetime.now(UTC)
        next_fire = next_fire_time(trigger, after, anchor=state.anchor if state else None)
        if next_fire is None:
            return "Its schedule has no future time left, so it will not run."
        local = next_fire.astimezone(ZoneInfo(trigger.timezone or "UTC"))
        return f"Next run: {local:%a %-d %b %Y at %H:%M} ({trigger.timezone or 'UTC'})."
    if state is not None and state.webhook_token:
        url = f"{services.settings.public_url.rstrip('/')}/webhooks/http/{state.webhook_token}"
        return f"Send requests to {url} to run it (keep this address secret)."
    return "I'm watching for it now; each time it happens I'll run the steps."


async def cancel(
    services: BotServices,
    client: AsyncWebClient,
    team_id: str,
    plan_id: str,
    user_id: str,
    where: tuple[str, str],
) -> None:
    plan = await claim(services, team_id, plan_id, user_id, CANCELLED, "cancel")
    await client.chat_update(
        channel=where[0],
        ts=where[1],
        text="Plan cancelled",
        blocks=decided_blocks(
            Workflow.model_validate(plan.document),
            services.service_titles(),
            f":no_entry_sign: Cancelled by <@{user_id}>. Nothing was stored.",
        ),
    )
