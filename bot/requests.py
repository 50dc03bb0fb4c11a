"""One path for every request, however it arrived (typed DM, mention, `/atom <text>`,
transcribed voice note): plan it (or revise the thread's pending plan, or continue after
the planner's question) and show the preview or the question in the conversation's
thread."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.help import HELP_TEXT, help_blocks
from bot.blocks.kit import actions, button, context, fallback_text, section
from bot.blocks.plan import MissingConnection, plan_blocks, question_blocks
from bot.pending import PENDING, QUESTION, PendingPlan
from bot.plans import supersede
from bot.services import BotServices
from workflows.model import EventTrigger, ScheduleTrigger, Workflow
from workflows.planning.results import Choice, Plan, PlanContext, PlannerError, Question, Slot
from workflows.planning.words import unused_line

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
    """Answer `text`: a new request, a follow-up to the thread's pending plan, or the
    answer to the planner's question."""
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
    context = await planning_context(services, client, where)
    try:
        if open_plan and open_plan.status == PENDING and open_plan.document:
            request = f"{open_plan.request}\n{text}"
            result = await services.planner.revise(
                Workflow.model_validate(open_plan.document), text, context
            )
        elif open_plan and open_plan.status == QUESTION:
            request = f"{open_plan.request} {text}"
            result = await services.planner.answer(saved_question(open_plan), text, context)
        else:
            request = text
            result = await services.planner.plan(text, context)
    except PlannerError as exc:
        await say(client, where, f":warning: I couldn't plan that: {exc}")
        return
    if open_plan:
        await supersede(services, client, open_plan)
    await show_result(services, client, where, request, result, context.connected or frozenset())


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
    connected: frozenset[str],
) -> None:
    """Post the plan preview (or the question) in the thread and remember it there."""
    if isinstance(result, Question):
        plan = await _remember(
            services,
            where,
            request,
            status=QUESTION,
            question=result.text,
            question_state=question_state(result),
            document=result.partial.to_document() if result.partial else None,
        )
        blocks = question_blocks(result.text, result.answerable)
        if result.choices:
            blocks.append(
                actions(
                    *[
                        button(c.label, f"{CHOICE}_{i}", f"{plan.id}|{c.request}")
                        for i, c in enumerate(result.choices[:5])
                    ]
                )
            )
        text = result.text
    else:
        plan = await _remember(
            services, where, request, status=PENDING, document=result.workflow.to_document()
        )
        blocks = plan_blocks(
            plan.id,
            result.workflow,
            services.service_titles(),
            await missing_connections(services, where, result.workflow, connected),
            where.user_id,
            services.registry,
        )
        if result.assumptions:
            blocks.insert(-2, section("_I assumed:_ " + "; ".join(result.assumptions)))
        if _has_times(result.workflow) and await services.people.first_time_told(
            where.team_id, where.user_id
        ):
            blocks.insert(-2, context(await _zone_notice(services, client, where)))
        if result.unused:
            blocks.insert(-2, section(f":warning: {unused_line(result.unused)}"))
        text = f"Plan: {result.workflow.name}"
    sent = await client.chat_postMessage(
        channel=where.channel_id, thread_ts=where.thread_ts, text=fallback_text(text), blocks=blocks
    )
    await services.pending.save(
        where.team_id, plan.id, message_ts=sent["ts"], thread_ts=where.thread_ts or sent["ts"]
    )


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
