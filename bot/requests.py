"""One path for every request, however it arrived (typed DM, mention, `/atom <text>`,
transcribed voice note): this is where a request becomes a reply."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.help import HELP_TEXT, help_blocks
from bot.services import BotServices

CAPABILITIES = "Hi! Here is what I can do — describe a workflow and I'll plan it."


@dataclass(frozen=True)
class Conversation:
    """Where a request came from and where the answer goes."""

    team_id: str
    user_id: str
    channel_id: str
    thread_ts: str | None = None


async def handle_request(
    text: str, where: Conversation, services: BotServices, client: AsyncWebClient
) -> None:
    """Answer `text` said by `where.user_id` in `where.channel_id`."""
    await client.chat_postMessage(
        channel=where.channel_id,
        thread_ts=where.thread_ts,
        text=HELP_TEXT,
        blocks=help_blocks(CAPABILITIES),
    )
