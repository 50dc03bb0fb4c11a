"""`/atom`: ack at once, then run the subcommand (bot/commands.py) and answer ephemerally."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands import run_command
from bot.services import BotServices


def register(app: AsyncApp) -> None:
    @app.command("/atom")
    async def atom_command(
        ack: AsyncAck,
        command: dict,
        respond: AsyncRespond,
        client: AsyncWebClient,
        services: BotServices,
    ) -> None:
        await ack()
        reply = await run_command((command.get("text") or "").strip(), command, services, client)
        if reply is not None:
            await respond(text=reply.text, blocks=reply.blocks or None, response_type="ephemeral")
