"""One path for every request, however it arrived (typed DM, mention, `/atom <text>`,
transcribed voice note): plan it (or revise the thread's pending plan, or continue after
the planner's question) and show the preview or the question in the conversation's
thread."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.answers import answer_options
from bot.blocks.changes import change_blocks
from bot.blocks.help import HELP_TEXT, help_blocks
from bot.blocks.kit import Block, actions, button, context, fallback_text, fit, section
from bot.blocks.plan import MissingConnection, answer_block, plan_blocks, question_blocks
from bot.pending import PENDING, QUESTION, PendingPlan
from bot.plans import supersede
from bot.services import BotServices
from workflows.model import EventTrigger, ScheduleTrigger, Workflow
from workflows.planning.results import Choice, Plan, PlanContext, PlannerError, Question, Slot
from workflows.planning.words import unused_line
from workflows.store import WorkflowNotFound, WorkflowRecord, WorkflowState

GREETINGS = {"", "help", "hi", "hello", "hey", "?", "what can you do", "what can you do?"}
CHOICE = "question_choice"
NO_AUTH_SERVICES = {"slack", "http", "approval"}


@dataclass(frozen=True)
class Conversation:
    """Where a request came from and where the answer goes. `thread_ts` is the thread the
    conversation lives in; None starts a new thread at the bot's answer."""

    team_id: str
    user_id: str
    channel_id: str
    thread_ts: str | None = None


async def handle_request(
    text: str, where: Conversation, services: BotServices, client: AsyncWebClient
) -> None:
    """Answer `text`: a new request, a follow-up to the thread's pending plan, the answer
    to the planner's question, or a change to the workflow approved in the thread."""
    text = text.strip()
    if text.lower() in GREETINGS:
        await client.chat_postMessage(
            channel=where.channel_id,
            thread_ts=where.thread_ts,
            text=HELP_TEXT,
            blocks=help_blocks("Hi! Here is what I can do — describe a workflow and I'll plan it."),
        )
        return
    open_plan = where.thread_ts and await services.pending.open_in_thread(
        where.team_id, where.channel_id, where.thread_ts
    )
    if open_plan:
        await continue_plan(open_plan, text, where, services, client)
        return
    approved = await workflow_of_thread(services, where) if where.thread_ts else None
    if isinstance(approved, str):
        await say(client, where, approved)
        return
    if approved is not None:
        await change_workflow(text, approved, where, services, client)
        return
    context = await planning_context(services, client, where)
    try:
        result = await services.planner.plan(text, context)
    except PlannerError as exc:
        await say(client, where, f":warning: I couldn't plan that: {exc}")
        return
    await show_result(services, client, where, text, result, context.connected)


async def continue_plan(
    open_plan: PendingPlan,
    text: str,
    where: Conversation,
    services: BotServices,
    client: AsyncWebClient,
) -> None:
    """Revise the thread's pending plan by `text`, or answer its question with it; the
    result replaces it (and still changes the stored workflow the plan changes)."""
    context = await planning_context(services, client, where)
    try:
        if open_plan.status == PENDING and open_plan.document:
            request = f"{open_plan.request}\n{text}"
            result = await services.planner.revise(
                Workflow.model_validate(open_plan.document), text, context
            )
        else:
            request = f"{open_plan.request} {text}"
            result = await services.planner.answer(saved_question(open_plan), text, context)
    except PlannerError as exc:
        await say(client, where, f":warning: I couldn't plan that: {exc}")
        return
    await supersede(services, client, open_plan)
    await show_result(
        services, client, where, request, result, context.connected, open_plan.workflow_id
    )


async def workflow_of_thread(
    services: BotServices, where: Conversation
) -> WorkflowRecord | str | None:
    """The stored workflow approved in this thread, which a reply there changes; a
    sentence for the person when they may not change it; None when the thread has none
    (any more): then the reply is a new request."""
    approved = await services.pending.approved_in_thread(
        where.team_id, where.channel_id, where.thread_ts or ""
    )
    if approved is None or approved.workflow_id is None:
        return None
    try:
        record = await services.workflows.get(where.team_id, approved.workflow_id)
    except WorkflowNotFound:
        return None
    if record.state == WorkflowState.DELETED:
        return None
    if record.owner != where.user_id:
        return f"Only <@{record.owner}> can change “{record.name}” (`{record.id}`)."
    return record


async def change_workflow(
    text: str,
    record: WorkflowRecord,
    where: Conversation,
    services: BotServices,
    client: AsyncWebClient,
) -> None:
    """Revise the stored workflow `record` by `text` into a preview showing what changes;
    approving it stores the workflow's next version."""
    context = await planning_context(services, client, where)
    try:
        result = await services.planner.revise(record.workflow, text, context)
    except PlannerError as exc:
        await say(client, where, f":warning: I couldn't change it: {exc}")
        return
    await show_result(services, client, where, text, result, context.connected, record.id)


async def planning_context(
    services: BotServices, client: AsyncWebClient, where: Conversation
) -> PlanContext:
    connected = await connected_services(services, where.team_id, where.user_id)
    profile = await services.people.profile(client, where.user_id)
    return PlanContext(
        user=where.user_id,
        timezone=(await services.people.zone(client, where.team_id, where.user_id)).name,
        now=datetime.now(UTC),
        connected=connected,
        email=profile.email,
    )


async def connected_services(services: BotServices, team_id: str, user_id: str) -> frozenset[str]:
    """The services the person can use now (their own connections, plus those that need
    none)."""
    connections = await services.connections.list(team_id, user_id)
    return frozenset({c.service for c in connections if c.status == "connected"} | NO_AUTH_SERVICES)


async def say(client: AsyncWebClient, where: Conversation, text: str) -> None:
    await client.chat_postMessage(channel=where.channel_id, thread_ts=where.thread_ts, text=text)


async def show_result(
    services: BotServices,
    client: AsyncWebClient,
    where: Conversation,
    request: str,
    result: Plan | Question,
    connected: frozenset[str] | None,
    edits: str | None = None,
) -> None:
    """Post the plan preview (or the question) in the thread and remember it there.
    `edits` is the stored workflow the plan changes (its preview says what changes)."""
    if isinstance(result, Question):
        plan, blocks, text = await _question_message(
            services, client, where, request, result, edits
        )
    else:
        plan = await _remember(
            services,
            where,
            request,
            status=PENDING,
            document=result.workflow.to_document(),
            workflow_id=edits,
        )
        blocks, text = await preview_blocks(
            services, client, where, plan.id, result, connected, edits
        )
    sent = await client.chat_postMessage(
        channel=where.channel_id, thread_ts=where.thread_ts, text=fallback_text(text), blocks=blocks
    )
    await services.pending.save(
        where.team_id, plan.id, message_ts=sent["ts"], thread_ts=where.thread_ts or sent["ts"]
    )


async def _question_message(
    services: BotServices,
    client: AsyncWebClient,
    where: Conversation,
    request: str,
    question: Question,
    edits: str | None,
) -> tuple[PendingPlan, list[Block], str]:
    """The question, with answers to click: the planner's own choices, or else the
    person's things the question asks for (their projects, lists, channels, …)."""
    plan = await _remember(
        services,
        where,
        request,
        workflow_id=edits,
        status=QUESTION,
        question=question.text,
        question_state=question_state(question),
        document=question.partial.to_document() if question.partial else None,
    )
    blocks = question_blocks(question.text, question.answerable)
    if question.choices:
        blocks.append(
            actions(
                *[
                    button(c.label, f"{CHOICE}_{i}", f"{plan.id}|{c.request}")
                    for i, c in enumerate(question.choices[:5])
                ]
            )
        )
    elif options := await answer_options(services, client, where.team_id, where.user_id, question):
        blocks[-1] = context("Choose one, or answer in this thread in your own words.")
        blocks.append(answer_block(plan.id, options))
    return plan, blocks, question.text


async def preview_blocks(
    services: BotServices,
    client: AsyncWebClient,
    where: Conversation,
    plan_id: str,
    result: Plan,
    connected: frozenset[str] | None,
    edits: str | None,
) -> tuple[list[Block], str]:
    """The preview's blocks and notification text; for a change to a stored workflow,
    what changes comes right below the name."""
    titles = services.service_titles()
    workflow = result.workflow
    blocks = plan_blocks(
        plan_id,
        workflow,
        titles,
        await missing_connections(services, where, workflow, connected or frozenset()),
        where.user_id,
        services.registry,
    )
    if result.assumptions:
        blocks.insert(-2, section("_I assumed:_ " + "; ".join(result.assumptions)))
    if _has_times(workflow) and await services.people.first_time_told(where.team_id, where.user_id):
        blocks.insert(-2, context(await _zone_notice(services, client, where)))
    if result.unused:
        blocks.insert(-2, section(f":warning: {unused_line(result.unused)}"))
    if edits is None:
        return blocks, f"Plan: {workflow.name}"
    record = await services.workflows.get(where.team_id, edits)
    blocks = fit([blocks[0], *change_blocks(record, workflow, titles), *blocks[1:]])
    return blocks, f"Change to {record.name}: approve to make version {record.latest_version + 1}"


def _has_times(workflow: Workflow) -> bool:
    """Whether the plan reads a time of day or a date in the person's zone."""
    return isinstance(workflow.trigger, ScheduleTrigger) or any(
        step.action.startswith("google_calendar.") for step in workflow.steps
    )


async def _zone_notice(services: BotServices, client: AsyncWebClient, where: Conversation) -> str:
    zone = await services.people.zone(client, where.team_id, where.user_id)
    return (
        f":clock1: Times are in *{zone.name}*, {zone.source}. Another zone? "
        "`/atom settings timezone <zone>`, for example `America/New_York`."
    )


async def _remember(
    services: BotServices, where: Conversation, request: str, **fields: Any
) -> PendingPlan:
    return await services.pending.create(
        team_id=where.team_id,
        user_id=where.user_id,
        channel_id=where.channel_id,
        thread_ts=where.thread_ts or "",
        request=request,
        **fields,
    )


async def missing_connections(
    services: BotServices, where: Conversation, workflow: Workflow, connected: frozenset[str]
) -> list[MissingConnection]:
    """The services `workflow` uses that the person has not connected, with connect links."""
    used = {step.action.split(".")[0] for step in workflow.steps}
    if isinstance(workflow.trigger, EventTrigger):
        used.add(workflow.trigger.event.split(".")[0])
    missing = sorted(used - connected)
    titles = services.service_titles()
    return [
        MissingConnection(
            service,
            titles.get(service, service),
            await services.connections.connect_url(where.team_id, where.user_id, service),
        )
        for service in missing
        if service in services.registry.connectors
    ]


def question_state(question: Question) -> dict[str, Any]:
    """What a Question needs besides its text, request and partial workflow, as JSON."""
    return {
        "slots": [[slot.path, slot.question] for slot in question.slots],
        "choices": [[choice.label, choice.request] for choice in question.choices],
        "planner": question.planner,
    }


def saved_question(plan: PendingPlan) -> Question:
    state = plan.question_state or {}
    return Question(
        text=plan.question or "",
        request=plan.request,
        partial=Workflow.model_validate(plan.document) if plan.document else None,
        slots=tuple(Slot(path, text) for path, text in state.get("slots", [])),
        choices=tuple(Choice(label, request) for label, request in state.get("choices", [])),
        planner=state.get("planner", "offline"),
    )
