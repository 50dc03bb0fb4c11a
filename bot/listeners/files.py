"""Files shared with ATOM (voice notes) and the voice notes' Try again button.

A share arrives as a `message` event with subtype `file_share` (and as `file_shared`, and
as `app_mention` when the message names ATOM); `bot.voice` answers each file once. In a
DM every share is for ATOM; in a channel only a share that mentions ATOM is. Register
these listeners before `messages`, whose catch-all `message` listener would take
`file_share` events first.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot import voice
from bot.blocks.voice import RETRY_ACTION, parse_retry_value
from bot.listeners.messages import MENTION
from bot.requests import Conversation
from bot.services import BotServices

DM_CHANNEL_PREFIX = "D"  # Slack's direct-message conversation ids start with D


def register(app: AsyncApp) -> None:
    @app.event({"type": "message", "subtype": "file_share"})
    async def file_share(
        event: dict[str, Any],
        body: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
        services: BotServices,
    ) -> None:
        if event.get("bot_id") or not _for_bot(event, context.bot_user_id):
            return
        await _answer_message(event, body, client, services)

    @app.event("app_mention", matchers=[_has_files])
    async def mention_with_files(
        event: dict[str, Any],
        body: dict[str, Any],
        client: AsyncWebClient,
        services: BotServices,
    ) -> None:
        await _answer_message(event, body, client, services)

    @app.event("file_shared")
    async def file_shared(
        event: dict[str, Any],
        body: dict[str, Any],
        client: AsyncWebClient,
        services: BotServices,
    ) -> None:
        """Carries only the file id. Channel shares are answered from their `message`
        event, which says whether ATOM was mentioned; DM shares are always for ATOM."""
        channel = str(event.get("channel_id", ""))
        if not channel.startswith(DM_CHANNEL_PREFIX):
            return
        where = Conversation(body.get("team_id", ""), event["user_id"], channel)
        await voice.answer_files([{"id": event["file_id"]}], where, services, client)

    @app.action(RETRY_ACTION)
    async def retry(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        services: BotServices,
    ) -> None:
        await ack()
        file_id, thread_ts = parse_retry_value(action.get("value", ""))
        where = Conversation(
            body["team"]["id"], body["user"]["id"], body["channel"]["id"], thread_ts
        )
        await voice.retry_clip(file_id, where, body["message"]["ts"], services, client)


async def _has_files(event: dict[str, Any]) -> bool:
    return bool(event.get("files"))


def _for_bot(event: dict[str, Any], bot_user_id: str | None) -> bool:
    return event.get("channel_type") == "im" or f"<@{bot_user_id}>" in event.get("text", "")


async def _answer_message(
    event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, services: BotServices
) -> None:
    """Answer a message's files in its thread (a new thread under the message if none)."""
    where = Conversation(
        event.get("team") or body.get("team_id", ""),
        event["user"],
        event["channel"],
        event.get("thread_ts") or event["ts"],
    )
    text = MENTION.sub("", event.get("text", ""))
    await voice.answer_files(event.get("files", []), where, services, client, text)
