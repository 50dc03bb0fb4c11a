"""Answers to offer with the planner's question when it asks for one of the person's own
things: the Slack channels ATOM sees, or — through the connected account — their Asana
projects, Trello lists and boards, GitHub repositories (connectors/choices.py). What is
asked comes from the question's first slot: the input it fills (`steps[0].with.project`)
of the action or event it belongs to. Clicking an option answers exactly as typing it
would; a listing that fails (not connected, the service is down) just offers nothing."""

from __future__ import annotations

import asyncio
import logging
import re

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.services import BotServices
from connectors.base import ConnectorError
from connectors.choices import LISTERS, MAX_OPTIONS, Option
from workflows.model import EventTrigger, Workflow
from workflows.planning.results import Question

log = logging.getLogger(__name__)

LIST_TIMEOUT_SECONDS = 5.0
_STEP_INPUT = re.compile(r"^steps\[(\d+)\]\.with\.(\w+)$")
_TRIGGER_INPUT = re.compile(r"^trigger\.with\.(\w+)$")


def asked_input(workflow: Workflow, path: str) -> tuple[str, str] | None:
    """(connector, input name) of the value at `path`, when it is an action's or an
    event's input."""
    if match := _STEP_INPUT.match(path):
        index = int(match.group(1))
        if index < len(workflow.steps):
            return workflow.steps[index].action.split(".")[0], match.group(2)
    if (match := _TRIGGER_INPUT.match(path)) and isinstance(workflow.trigger, EventTrigger):
        return workflow.trigger.event.split(".")[0], match.group(1)
    return None


async def slack_channels(client: AsyncWebClient) -> list[Option]:
    """The workspace's public channels, as `#name` (what a typed answer says)."""
    listed = await client.conversations_list(
        types="public_channel", exclude_archived=True, limit=MAX_OPTIONS
    )
    names = sorted(c["name"] for c in listed.get("channels", []) if c.get("name"))
    return [Option(f"#{name}", f"#{name}") for name in names]


async def answer_options(
    services: BotServices, client: AsyncWebClient, team_id: str, user_id: str, question: Question
) -> list[Option]:
    """What to offer as answers to `question` (none when it asks for something else)."""
    if not question.answerable or not question.slots or question.partial is None:
        return []
    asked = asked_input(question.partial, question.slots[0].path)
    try:
        async with asyncio.timeout(LIST_TIMEOUT_SECONDS):
            if asked == ("slack", "channel"):
                return await slack_channels(client)
            lister = LISTERS.get(asked) if asked else None
            connector = services.registry.connectors.get(asked[0]) if asked else None
            if lister is None or connector is None:
                return []
            context = await services.engine.action_context(team_id, user_id, connector)
            return await lister(context)
    except (ConnectorError, SlackApiError, TimeoutError) as exc:
        log.info("no answers to offer for %s: %s", asked, exc)
        return []
