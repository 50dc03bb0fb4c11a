"""Direct messages to a user about their connections: "GitHub connected as @octocat", a
connect that failed, and "your GitHub connection expired" with a Reconnect button.

`SlackConnectionNotifier` implements `connectors.connections.ConnectionNotifier`. It posts
as the bot of the user's workspace (a bot token per team, see bot/slack_install.py), to the
user's ID, which Slack delivers in the user's DM with the app.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack_install import BotTokenLookup
from connectors.vault import ConnectionKey

log = logging.getLogger(__name__)

# The Reconnect button opens its URL; Slack still sends the click, which is acknowledged.
RECONNECT_ACTION_ID = "atom_reconnect"


def escape(text: str) -> str:
    """Slack mrkdwn escaping for text that came from elsewhere (provider messages)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def connected_message(title: str, account: str | None) -> tuple[str, list[dict[str, Any]]]:
    who = f" as {escape(account)}" if account else ""
    outcome = "Workflows you approve can now use it."
    return (
        f"{title} connected{who}. {outcome}",
        [_section(f":white_check_mark: *{title}* connected{who}. {outcome}")],
    )


def failed_message(title: str, reason: str) -> tuple[str, list[dict[str, Any]]]:
    text = f"Could not connect {title}: {reason}"
    return text, [_section(f":warning: *Could not connect {title}.* {escape(reason)}")]


def expired_message(
    title: str, service: str, reconnect_url: str | None
) -> tuple[str, list[dict[str, Any]]]:
    sentence = (
        "connection has expired or was revoked, so workflows that use it will fail until "
        "you reconnect."
    )
    text = f"Your {title} {sentence}"
    blocks = [_section(f":warning: Your *{title}* {sentence}")]
    if reconnect_url:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": RECONNECT_ACTION_ID,
                        "text": {"type": "plain_text", "text": f"Reconnect {title}"},
                        "style": "primary",
                        "url": reconnect_url,
                        "value": service,
                    }
                ],
            }
        )
        note = f"The button works for 10 minutes; after that, type `/atom connect {service}`."
    else:
        note = f"{title} is no longer set up on this ATOM; ask an administrator."
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": note}]})
    return text, blocks


class SlackConnectionNotifier:
    def __init__(self, client: AsyncWebClient, bot_token: BotTokenLookup) -> None:
        self.client = client
        self.bot_token = bot_token

    async def connected(self, key: ConnectionKey, title: str, account: str | None) -> None:
        await self._dm(key, *connected_message(title, account))

    async def connection_failed(self, key: ConnectionKey, title: str, reason: str) -> None:
        await self._dm(key, *failed_message(title, reason))

    async def connection_expired(
        self, key: ConnectionKey, title: str, reconnect_url: str | None
    ) -> None:
        await self._dm(key, *expired_message(title, key.service, reconnect_url))

    async def _dm(self, key: ConnectionKey, text: str, blocks: list[dict[str, Any]]) -> None:
        token = await self.bot_token(key.team_id)
        if token is None:
            log.warning("no bot token for team %s: cannot DM %s", key.team_id, key.user_id)
            return
        await self.client.chat_postMessage(
            token=token, channel=key.user_id, text=text, blocks=blocks
        )


def register(app: AsyncApp) -> None:
    """Acknowledge clicks on the link buttons these messages carry."""

    @app.action(RECONNECT_ACTION_ID)
    async def reconnect_clicked(ack: AsyncAck) -> None:
        await ack()
