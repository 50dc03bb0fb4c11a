"""`/atom`: thin listeners — ack first, then answer."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.blocks.help import HELP_TEXT, help_blocks


def register(app: AsyncApp) -> None:
    @app.command("/atom")
    async def atom_command(ack: AsyncAck, command: dict, respond: AsyncRespond) -> None:
        await ack()
        text = (command.get("text") or "").strip()
        intro = None
        if text and text.split()[0].lower() != "help":
            intro = (
                f"I can't plan “{text}” yet — workflow planning is being switched on. "
                "Here is what I will do:"
            )
        await respond(text=HELP_TEXT, blocks=help_blocks(intro), response_type="ephemeral")
