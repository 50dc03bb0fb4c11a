"""When a listener fails after its ack (a database outage, a service error nobody
expected), the person still gets an answer: an ephemeral note with a reference that
matches the log line. Never silence, never a stack trace in Slack."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)


def where_to_answer(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """(user, channel) of whoever caused the request, for any payload shape."""
    event = body.get("event") or {}
    user = body.get("user_id") or (body.get("user") or {}).get("id") or event.get("user")
    channel = (
        body.get("channel_id")
        or (body.get("channel") or {}).get("id")
        or (body.get("container") or {}).get("channel_id")
        or event.get("channel")
    )
    return user, channel


def register(app: AsyncApp) -> None:
    @app.error
    async def tell_the_person(
        error: Exception, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        reference = secrets.token_hex(4)
        log.error("request failed (ref %s): %s", reference, type(error).__name__, exc_info=error)
        user, channel = where_to_answer(body)
        if not user:
            return
        text = (
            f":warning: Sorry — something went wrong on my side (ref `{reference}`). "
            "Nothing you asked for was lost: please try again in a minute, and if it "
            "keeps failing, give your Slack admin that reference."
        )
        try:
            if not channel:
                channel = (await client.conversations_open(users=user))["channel"]["id"]
            await client.chat_postEphemeral(channel=channel, user=user, text=text)
        except SlackApiError as exc:
            log.warning("could not tell %s about error %s: %s", user, reference, exc)
