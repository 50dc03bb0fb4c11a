"""Direct messages and @mentions."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp, AsyncSay

from bot.blocks.help import HELP_TEXT, help_blocks

log = logging.getLogger(__name__)

CAPABILITIES = "Hi! Here is what I can do — describe a workflow and I'll plan it."


def register(app: AsyncApp) -> None:
    @app.event({"type": "message", "channel_type": "im"})
    async def direct_message(event: dict, say: AsyncSay) -> None:
        if event.get("subtype") or event.get("bot_id"):
            return
        await say(
            text=HELP_TEXT, blocks=help_blocks(CAPABILITIES), thread_ts=event.get("thread_ts")
        )

    @app.event("app_mention")
    async def mention(event: dict, say: AsyncSay) -> None:
        await say(
            text=HELP_TEXT,
            blocks=help_blocks(CAPABILITIES),
            thread_ts=event.get("thread_ts") or event["ts"],
        )

    @app.event("message")
    async def other_messages(event: dict) -> None:
        """Channel messages, edits and bot echoes are not requests: acknowledged (so Slack
        does not retry them) and left alone."""
        log.debug("ignoring message event subtype=%s", event.get("subtype"))
