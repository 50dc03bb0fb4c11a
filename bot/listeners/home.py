"""App Home: rendered fresh each time it is opened."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.home import publish_home
from bot.services import BotServices


def register(app: AsyncApp) -> None:
    @app.event("app_home_opened")
    async def home_opened(
        event: dict, body: dict, client: AsyncWebClient, services: BotServices
    ) -> None:
        if event.get("tab", "home") == "home" and await services.dedupe.first_delivery_of(body):
            await publish_home(services, client, body["team_id"], event["user"])
