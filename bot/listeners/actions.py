"""Buttons and modals: thin listeners that ack first and then call bot/plans.py or
bot/operations.py. A refusal is told to the clicker alone."""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from pydantic import ValidationError
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import operations, plans
from bot.blocks.edit import (
    CALLBACK,
    NAME_BLOCK,
    WORKFLOW_CALLBACK,
    apply_edit,
    edit_modal,
    field_for,
)
from bot.blocks.lists import WORKFLOW_EDIT
from bot.blocks.plan import ANSWER, APPROVE, CANCEL, CONNECT, EDIT, answered_blocks
from bot.blocks.run import (
    APPROVE_STEP,
    CANCEL_RUN,
    REJECT_STEP,
    RETRY,
    RETRY_FROM_STEP,
    RETRY_STEP_ONLY,
)
from bot.home import HOME_PAUSE, HOME_RESUME, publish_home
from bot.operations import NotAllowed
from bot.pending import CANCELLED, PENDING
from bot.requests import (
    CHOICE,
    Conversation,
    connected_services,
    continue_plan,
    handle_request,
    preview_blocks,
    show_result,
)
from bot.run_status import dm_channel
from bot.services import BotServices
from workflows.engine import ResumeMode
from workflows.model import Workflow
from workflows.planning.results import Plan
from workflows.validate import problems_from_error, validate


async def tell(client: AsyncWebClient, body: dict[str, Any], text: str) -> None:
    """An ephemeral note to the person who clicked, where they clicked (or in their DM)."""
    user = body["user"]["id"]
    channel = (body.get("channel") or {}).get("id") or (
        await client.conversations_open(users=user)
    )["channel"]["id"]
    await client.chat_postEphemeral(channel=channel, user=user, text=text)


def _clicked(body: dict[str, Any]) -> tuple[str, str, str]:
    """(team_id, user_id, value) of a button click."""
    return body["team"]["id"], body["user"]["id"], body["actions"][0].get("value", "")


def _message(body: dict[str, Any]) -> tuple[str, str]:
    """(channel, ts) of the message whose button was clicked."""
    return body["container"]["channel_id"], body["container"]["message_ts"]


OPERATIONS = {
    RETRY: operations.retry_run,
    CANCEL_RUN: operations.cancel_run,
    RETRY_FROM_STEP: partial(operations.continue_run, mode=ResumeMode.FROM_STEP),
    RETRY_STEP_ONLY: partial(operations.continue_run, mode=ResumeMode.STEP_ONLY),
    HOME_PAUSE: operations.pause,
    HOME_RESUME: operations.resume,
}


def register(app: AsyncApp) -> None:
    @app.action(APPROVE)
    @app.action(CANCEL)
    async def decide_plan(
        ack: AsyncAck, body: dict, client: AsyncWebClient, services: BotServices
    ) -> None:
        await ack()
        team, user, plan_id = _clicked(body)
        decide = plans.approve if body["actions"][0]["action_id"] == APPROVE else plans.cancel
        try:
            await decide(services, client, team, plan_id, user, _message(body))
        except plans.PlanRefused as exc:
            await tell(client, body, str(exc))

    @app.action(EDIT)
    async def edit_plan(
        ack: AsyncAck, body: dict, client: AsyncWebClient, services: BotServices
    ) -> None:
        await ack()
        team, user, plan_id = _clicked(body)
        plan = await services.pending.get(team, plan_id)
        if plan is None or plan.status != PENDING or plan.document is None:
            await tell(client, body, "This plan can no longer be edited.")
        elif plan.user_id != user:
            await tell(client, body, f"Only <@{plan.user_id}> can edit this plan.")
        else:
            await client.views_open(
                trigger_id=body["trigger_id"],
                view=edit_modal(plan_id, Workflow.model_validate(plan.document)),
            )

    @app.view(CALLBACK)
    async def save_edit(
        ack: AsyncAck, body: dict, view: dict, client: AsyncWebClient, services: BotServices
    ) -> None:
        team, plan_id = body["team"]["id"], view["private_metadata"]
        plan = await services.pending.get(team, plan_id)
        if plan is None or plan.status != PENDING or plan.document is None:
            await ack(
                response_action="errors",
                errors={"name": "This plan was decided meanwhile; it can't be edited."},
            )
            return
        workflow = Workflow.model_validate(plan.document)
        edited, errors = edited_workflow(services, workflow, view["state"]["values"])
        if edited is None:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        await services.pending.save(team, plan_id, document=edited.to_document())
        await services.audit.record(team, body["user"]["id"], "plan.edited", plan_id)
        where = Conversation(team, plan.user_id, plan.channel_id, plan.thread_ts)
        blocks, text = await preview_blocks(
            services,
            client,
            where,
            plan_id,
            Plan(edited, summary=edited.name),
            await connected_services(services, team, plan.user_id),
            plan.workflow_id,
        )
        await client.chat_update(
            channel=plan.channel_id, ts=plan.message_ts, text=text, blocks=blocks
        )

    @app.action(WORKFLOW_EDIT)
    async def edit_workflow(
        ack: AsyncAck, body: dict, client: AsyncWebClient, services: BotServices
    ) -> None:
        """The Edit modal of a stored workflow (from `/atom show`)."""
        await ack()
        team, user, workflow_id = _clicked(body)
        try:
            record = await operations.owned_workflow(services, team, user, workflow_id)
        except NotAllowed as exc:
            await tell(client, body, str(exc))
            return
        await client.views_open(
            trigger_id=body["trigger_id"],
            view=edit_modal(record.id, record.workflow, WORKFLOW_CALLBACK, submit="Preview"),
        )

    @app.view(WORKFLOW_CALLBACK)
    async def preview_workflow_edit(
        ack: AsyncAck, body: dict, view: dict, client: AsyncWebClient, services: BotServices
    ) -> None:
        """The edited workflow becomes a preview of what changes, in the person's DM;
        approving it there stores the next version."""
        team, user = body["team"]["id"], body["user"]["id"]
        try:
            record = await operations.owned_workflow(services, team, user, view["private_metadata"])
        except NotAllowed as exc:
            await ack(response_action="errors", errors={NAME_BLOCK: str(exc)})
            return
        edited, errors = edited_workflow(services, record.workflow, view["state"]["values"])
        if edited is None:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        where = Conversation(team, user, await dm_channel(client, user))
        await show_result(
            services,
            client,
            where,
            "(edited in the form)",
            Plan(edited, summary=edited.name),
            await connected_services(services, team, user),
            edits=record.id,
        )

    @app.action(re.compile(rf"^{CHOICE}_\d+$"))
    async def answer_question(
        ack: AsyncAck, body: dict, client: AsyncWebClient, services: BotServices
    ) -> None:
        await ack()
        team, user, value = _clicked(body)
        plan_id, _, request = value.partition("|")
        plan = await services.pending.get(team, plan_id)
        if plan is None or plan.user_id != user:
            await tell(client, body, "Only the person who asked can answer this question.")
            return
        if await services.pending.decide(team, plan_id, CANCELLED, user):
            where = Conversation(team, user, plan.channel_id, plan.thread_ts)
            await handle_request(request, where, services, client)

    @app.action(re.compile(rf"^{ANSWER}_(\d+|menu)$"))
    async def answer_by_choosing(
        ack: AsyncAck, body: dict, client: AsyncWebClient, services: BotServices
    ) -> None:
        """An offered answer was clicked (a button, or picked in the menu): it answers the
        question exactly as typing it in the thread would."""
        await ack()
        team, user = body["team"]["id"], body["user"]["id"]
        clicked = body["actions"][0]
        answer = clicked.get("value") or (clicked.get("selected_option") or {}).get("value", "")
        plan = await services.pending.get(team, clicked["block_id"].removeprefix(f"{ANSWER}_"))
        if plan is None or plan.user_id != user:
            await tell(client, body, "Only the person who asked can answer this question.")
            return
        if not await services.pending.decide(team, plan.id, CANCELLED, user):
            await tell(client, body, "This question was already answered.")
            return
        await client.chat_update(
            channel=plan.channel_id,
            ts=plan.message_ts,
            text=plan.question or "Answered",
            blocks=answered_blocks(plan.question or "", f"<@{user}> chose *{answer}*."),
        )
        where = Conversation(team, user, plan.channel_id, plan.thread_ts)
        await continue_plan(plan, answer, where, services, client)

    @app.action(re.compile(rf"^{CONNECT}_.+$"))
    async def connect_link(ack: AsyncAck) -> None:
        """A link button: Slack opens the URL; the click itself needs only an ack."""
        await ack()

    @app.action(RETRY)
    @app.action(RETRY_FROM_STEP)
    @app.action(RETRY_STEP_ONLY)
    @app.action(CANCEL_RUN)
    @app.action(HOME_PAUSE)
    @app.action(HOME_RESUME)
    async def operate(
        ack: AsyncAck, body: dict, client: AsyncWebClient, services: BotServices
    ) -> None:
        """Retry (whole, from a step, one step) or cancel a run (its status message),
        pause or resume a workflow (Home)."""
        await ack()
        team, user, subject = _clicked(body)
        action_id = body["actions"][0]["action_id"]
        try:
            outcome = await OPERATIONS[action_id](services, team, user, subject)
        except NotAllowed as exc:
            outcome = str(exc)
        await tell(client, body, outcome)
        if action_id in (HOME_PAUSE, HOME_RESUME):
            await publish_home(services, client, team, user)

    @app.action(APPROVE_STEP)
    @app.action(REJECT_STEP)
    async def decide_step(
        ack: AsyncAck, body: dict, client: AsyncWebClient, services: BotServices
    ) -> None:
        await ack()
        team, user, value = _clicked(body)
        run_id, _, step_id = value.partition("|")
        approve = body["actions"][0]["action_id"] == APPROVE_STEP
        try:
            outcome = await operations.decide_approval(
                services, team, user, run_id, step_id, approve
            )
        except NotAllowed as exc:
            await tell(client, body, str(exc))
            return
        message = body.get("message") or {}
        await client.chat_update(
            channel=body["channel"]["id"],
            ts=message.get("ts"),
            text=outcome,
            blocks=[
                *message.get("blocks", [])[:2],
                {"type": "context", "elements": [{"type": "mrkdwn", "text": outcome}]},
            ],
        )


def edited_workflow(
    services: BotServices, workflow: Workflow, values: dict[str, Any]
) -> tuple[Workflow | None, dict[str, str]]:
    """The workflow with the modal's values, or None and the validator's problems keyed
    by the modal field they concern."""
    try:
        edited = Workflow.model_validate(apply_edit(workflow, values))
    except ValidationError as exc:
        problems = problems_from_error(exc)
    else:
        problems = validate(edited, services.registry)
        if not problems:
            return edited, {}
    errors: dict[str, str] = {}
    for problem in problems:
        field = field_for(problem.path, workflow)
        errors[field] = "; ".join(filter(None, [errors.get(field), problem.message]))[:2000]
    return None, errors
