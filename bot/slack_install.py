"""Installing ATOM into many Slack workspaces (`/slack/install`, `/slack/oauth_redirect`).

With `SLACK_CLIENT_ID` and `SLACK_CLIENT_SECRET` set, Bolt runs its OAuth flow and finds
each workspace's bot token in the installation store; without them, ATOM serves the one
workspace whose `SLACK_BOT_TOKEN` is in the environment.

The stores are slack_sdk's async SQLAlchemy ones, on ATOM's engine and on tables declared
in ATOM's metadata (so Alembic creates them, not a call at start-up). Every token they keep
is encrypted with the token cipher: the columns that hold one are TEXT here, since a
ciphertext is longer than the token.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import urljoin

import aiohttp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Table, Text

from connectors.vault import rotate_column
from core.db import Base, Database
from core.security import TokenCipher
from core.settings import Settings

log = logging.getLogger(__name__)

# What ATOM's bot needs (manifest.yml lists the same).
BOT_SCOPES = (
    "app_mentions:read",
    "channels:history",
    "channels:read",
    "chat:write",
    "chat:write.public",
    "commands",
    "files:read",
    "groups:history",
    "im:history",
    "im:read",
    "im:write",
    "reactions:write",
    "users:read",
    "users:read.email",
)
STATE_EXPIRATION_SECONDS = 600
SEALED_FIELDS = (
    "bot_token",
    "bot_refresh_token",
    "user_token",
    "user_refresh_token",
    "incoming_webhook_url",
)


def _with_text_secrets(table: Table) -> Table:
    for name in SEALED_FIELDS:
        if name in table.c:
            table.c[name].type = Text()
    return table


SLACK_INSTALLATIONS = _with_text_secrets(
    AsyncSQLAlchemyInstallationStore.build_installations_table(Base.metadata, "slack_installations")
)
SLACK_BOTS = _with_text_secrets(
    AsyncSQLAlchemyInstallationStore.build_bots_table(Base.metadata, "slack_bots")
)
SLACK_OAUTH_STATES = AsyncSQLAlchemyOAuthStateStore.build_oauth_states_table(
    Base.metadata, "slack_oauth_states"
)


class _InstallationTables(AsyncSQLAlchemyInstallationStore):
    """slack_sdk's store on ATOM's tables."""

    def __init__(self, client_id: str, database: Database) -> None:
        super().__init__(client_id=client_id, engine=database.engine)
        self.metadata = Base.metadata
        self.installations = SLACK_INSTALLATIONS
        self.bots = SLACK_BOTS


class _StateTables(AsyncSQLAlchemyOAuthStateStore):
    """slack_sdk's OAuth state store on ATOM's table."""

    def __init__(self, database: Database) -> None:
        super().__init__(expiration_seconds=STATE_EXPIRATION_SECONDS, engine=database.engine)
        self.metadata = Base.metadata
        self.oauth_states = SLACK_OAUTH_STATES


Sealable = TypeVar("Sealable", Installation, Bot)


class EncryptedInstallationStore(AsyncInstallationStore):
    """The installation store with every token encrypted at rest."""

    def __init__(self, client_id: str, database: Database, cipher: TokenCipher) -> None:
        self._tables = _InstallationTables(client_id, database)
        self._cipher = cipher

    @property
    def logger(self) -> logging.Logger:
        return self._tables.logger

    def _sealed(self, item: Sealable) -> Sealable:
        sealed = copy.copy(item)
        for name in SEALED_FIELDS:
            value = getattr(item, name, None)
            if value:
                setattr(sealed, name, self._cipher.encrypt(value))
        return sealed

    def _opened(self, item: Sealable | None) -> Sealable | None:
        if item is None:
            return None
        for name in SEALED_FIELDS:
            value = getattr(item, name, None)
            if value:
                setattr(item, name, self._cipher.decrypt(value))
        return item

    async def async_save(self, installation: Installation) -> None:
        await self._tables.async_save(self._sealed(installation))

    async def async_save_bot(self, bot: Bot) -> None:
        await self._tables.async_save_bot(self._sealed(bot))

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        return self._opened(
            await self._tables.async_find_bot(
                enterprise_id=enterprise_id,
                team_id=team_id,
                is_enterprise_install=is_enterprise_install,
            )
        )

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        return self._opened(
            await self._tables.async_find_installation(
                enterprise_id=enterprise_id,
                team_id=team_id,
                user_id=user_id,
                is_enterprise_install=is_enterprise_install,
            )
        )

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self._tables.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await self._tables.async_delete_installation(
            enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
        )

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self._tables.async_delete_all(enterprise_id=enterprise_id, team_id=team_id)


def multi_workspace(settings: Settings) -> bool:
    return bool(settings.slack_client_id and settings.slack_client_secret)


def authorization_url(settings: Settings) -> str:
    """Slack's consent page, next to the Web API (`…/api/` -> `…/oauth/v2/authorize`),
    so the sandbox's Slack serves it too."""
    return urljoin(api_url(settings), "../oauth/v2/authorize")


def oauth_settings(
    settings: Settings, database: Database, cipher: TokenCipher
) -> AsyncOAuthSettings | None:
    """Bolt's OAuth settings for installing into many workspaces, or None (single
    workspace) when SLACK_CLIENT_ID/SLACK_CLIENT_SECRET are not set."""
    if not multi_workspace(settings):
        return None
    assert settings.slack_client_id is not None and settings.slack_client_secret is not None
    return AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret.get_secret_value(),
        scopes=list(BOT_SCOPES),
        user_scopes=[],
        redirect_uri=f"{settings.public_url.rstrip('/')}/slack/oauth_redirect",
        authorization_url=authorization_url(settings),
        installation_store=EncryptedInstallationStore(settings.slack_client_id, database, cipher),
        state_store=_StateTables(database),
        state_expiration_seconds=STATE_EXPIRATION_SECONDS,
        logger=logging.getLogger("atom.slack_install"),
    )


BotTokenLookup = Callable[[str], Awaitable[str | None]]


def api_url(settings: Settings) -> str:
    """The Web API base URL with the trailing slash slack_sdk's urljoin needs."""
    url = settings.slack_api_url
    return url if url.endswith("/") else f"{url}/"


def bot_token_lookup(settings: Settings, store: AsyncInstallationStore | None) -> BotTokenLookup:
    """team_id -> that workspace's bot token: from the installation store when ATOM is
    installed per workspace, else SLACK_BOT_TOKEN for the one workspace it belongs to."""
    if store is None:
        return _EnvironmentBotToken(settings)

    async def installed(team_id: str) -> str | None:
        bot = await store.async_find_bot(enterprise_id=None, team_id=team_id)
        return bot.bot_token if bot else None

    return installed


class _EnvironmentBotToken:
    """SLACK_BOT_TOKEN, for its own workspace only (learnt once with `auth.test`)."""

    def __init__(self, settings: Settings) -> None:
        self._token = (
            settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
        )
        self._api_url = api_url(settings)
        self._team_id: str | None = None

    async def __call__(self, team_id: str) -> str | None:
        if self._token is None:
            return None
        if self._team_id is None:
            try:
                answer = await AsyncWebClient(token=self._token, base_url=self._api_url).auth_test()
            except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
                log.warning("auth.test failed, cannot tell the bot's workspace: %s", exc)
                return None
            self._team_id = answer.get("team_id")
        return self._token if team_id == self._team_id else None


async def rotate_installation_tokens(database: Database, cipher: TokenCipher) -> int:
    """Re-encrypt every Slack installation token with the newest key."""
    changed = 0
    for table in (SLACK_INSTALLATIONS, SLACK_BOTS):
        for name in SEALED_FIELDS:
            if name in table.c:
                changed += await rotate_column(database, cipher, table, name)
    return changed
