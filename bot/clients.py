"""Web API clients per workspace, for work that happens outside a Slack request (run
status updates, approval requests): authorised with that workspace's bot token."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack_install import BotTokenLookup, api_url
from core.settings import Settings


class WorkspaceNotInstalled(LookupError):
    def __init__(self, team_id: str) -> None:
        super().__init__(f"ATOM is not installed in workspace {team_id}")


class TeamClients:
    def __init__(self, settings: Settings, bot_token: BotTokenLookup) -> None:
        self.base_url = api_url(settings)
        self.bot_token = bot_token
        self._clients: dict[tuple[str, str], AsyncWebClient] = {}

    async def for_team(self, team_id: str) -> AsyncWebClient:
        token = await self.bot_token(team_id)
        if token is None:
            raise WorkspaceNotInstalled(team_id)
        key = (team_id, token)
        if key not in self._clients:
            self._clients[key] = AsyncWebClient(token=token, base_url=self.base_url)
        return self._clients[key]
