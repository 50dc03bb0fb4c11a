"""Direct messages and @mentions: each becomes a request (bot/requests.py), answered in
its thread."""

from __future__ import annotations

import logging
import re

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.requests import Conversation, handle_request
from bot.services import BotServices

log = logging.getLogger(__name__)
MENTION = re.compile(r"<@[UW][A-Z0-9]+>\s*")


def register(app: AsyncApp) -> None:
    @app.event({"type": "message", "channel_type": "im", "subtype": None})
    async def direct_message(
        event: dict, body: dict, client: AsyncWebClient, services: BotServices
    ) -> None:
        if event.get("bot_id") or not await services.dedupe.first_delivery_of(body):
            return
        where = Conversation(
            body["team_id"], event["user"], event["channel"], event.get("thread_ts") or event["ts"]
        )
        await handle_request(event.get("text", ""), where, services, client)

    @app.event("app_mention")
    async def mention(
        event: dict, body: dict, client: AsyncWebClient, services: BotServices
    ) -> None:
        if not await services.dedupe.first_delivery_of(body):
            return
        where = Conversation(
            body["team_id"], event["user"], event["channel"], event.get("thread_ts") or event["ts"]
        )
        await handle_request(MENTION.sub("", event.get("text", "")), where, services, client)

    @app.event("message")
    async def other_messages(event: dict) -> None:
        """Channel messages, edits and bot echoes are not requests: acknowledged (so Slack
        does not retry them) and left alone."""
        log.debug("ignoring message event subtype=%s", event.get("subtype"))
