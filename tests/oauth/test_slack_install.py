"""Installing ATOM into a Slack workspace over real HTTP (Bolt's OAuth flow against the
Slack emulator), with the bot token encrypted in the installation store; and the one
workspace of SLACK_BOT_TOKEN when ATOM is not installed per workspace."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import text

from bot.slack_install import (
    EncryptedInstallationStore,
    bot_token_lookup,
    multi_workspace,
    oauth_settings,
)
from cli.runtime import open_accounts
from connectors.client import HttpPool
from connectors.registry import load_registry
from core.db import Database
from core.security import TokenCipher, generate_key
from core.settings import Settings
from oauth_app.app import create_web_app
from oauth_app.server import WebServer
from sandbox.slack import TEAM_ID, SlackEmulator
from tests.oauth.conftest import ALICE, TEAM_B, free_port

STATE_COOKIE = "slack-app-oauth-state"


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator() as running:
        yield running  # type: ignore[misc]


@dataclass
class Installable:
    settings: Settings
    bolt: AsyncApp
    store: EncryptedInstallationStore
    url: str
    commands_seen: list[str | None]


@pytest.fixture
async def installable(database: Database, slack: SlackEmulator) -> AsyncIterator[Installable]:
    port = free_port()
    settings = Settings(
        _env_file=None,
        database_url=database.url,
        public_url=f"http://127.0.0.1:{port}",
        slack_api_url=f"{slack.url}/api/",
        slack_signing_secret=SecretStr(slack.signing_secret),
        **slack.install_settings(),
    )
    oauth = oauth_settings(settings, database, TokenCipher([generate_key()]))
    assert oauth is not None
    bolt = AsyncApp(
        client=AsyncWebClient(base_url=settings.slack_api_url),
        signing_secret=slack.signing_secret,
        oauth_settings=oauth,
    )
    seen: list[str | None] = []

    @bolt.command("/atom")
    async def atom_command(ack: AsyncAck, context: AsyncBoltContext) -> None:
        await ack()
        seen.append(context.bot_token)

    server = WebServer(create_web_app(settings, database, bolt), port=port)
    url = await server.start()
    slack.request_url = f"{url}/slack/events"
    assert isinstance(oauth.installation_store, EncryptedInstallationStore)
    try:
        yield Installable(settings, bolt, oauth.installation_store, url, seen)
    finally:
        await server.stop()


async def install(url: str) -> httpx.Response:
    """Open /slack/install, click "Add to Slack", consent, come back (the state cookie
    kept as a browser keeps it for 127.0.0.1)."""
    async with httpx.AsyncClient(timeout=10) as browser:
        page = await browser.get(f"{url}/slack/install")
        assert page.status_code == 200
        cookie = page.cookies.get(STATE_COOKIE) or _cookie(page.headers.get_list("set-cookie"))
        link = re.search(r'href="([^"]+/oauth/v2/authorize[^"]+)"', page.text)
        assert link, page.text
        consent = await browser.get(link.group(1).replace("&amp;", "&"))
        assert consent.status_code == 302
        return await browser.get(
            consent.headers["location"], headers={"Cookie": f"{STATE_COOKIE}={cookie}"}
        )


def _cookie(headers: list[str]) -> str:
    for header in headers:
        if header.startswith(f"{STATE_COOKIE}="):
            return header.split("=", 1)[1].split(";", 1)[0]
    raise AssertionError("no state cookie")


async def raw_installation_rows(database: Database) -> list[Any]:
    async with database.engine.connect() as connection:
        rows = []
        for table in ("slack_installations", "slack_bots"):
            rows.extend((await connection.execute(text(f"SELECT * FROM {table}"))).all())
    return rows


async def test_install_stores_an_encrypted_bot_token_that_authorizes_requests(
    installable: Installable, slack: SlackEmulator, database: Database
) -> None:
    done = await install(installable.url)

    assert done.status_code == 200, done.text
    token = slack.install.bot_tokens[-1]
    rows = await raw_installation_rows(database)
    assert rows and token not in repr(rows)
    bot = await installable.store.async_find_bot(enterprise_id=None, team_id=TEAM_ID)
    assert bot is not None and bot.bot_token == token

    lookup = bot_token_lookup(installable.settings, installable.store)
    assert await lookup(TEAM_ID) == token
    assert await lookup(TEAM_B) is None

    # a slash command from the workspace is authorised with its installed token
    channel = slack.channel_by_name("general")
    delivery = await slack.deliver_form(slack.command_form(ALICE, channel, "/atom", "help"))
    assert delivery.status == 200
    assert installable.commands_seen == [token]


async def test_a_callback_without_the_browsers_state_cookie_installs_nothing(
    installable: Installable, slack: SlackEmulator, database: Database
) -> None:
    async with httpx.AsyncClient(timeout=10) as browser:
        page = await browser.get(f"{installable.url}/slack/install")
        link = re.search(r'href="([^"]+/oauth/v2/authorize[^"]+)"', page.text)
        assert link
        consent = await browser.get(link.group(1).replace("&amp;", "&"))
    async with httpx.AsyncClient(timeout=10) as another_browser:
        done = await another_browser.get(consent.headers["location"])
    assert done.status_code >= 400
    assert await raw_installation_rows(database) == []


async def test_single_workspace_token_serves_only_its_workspace(slack: SlackEmulator) -> None:
    settings = Settings(
        _env_file=None, slack_api_url=f"{slack.url}/api/", slack_bot_token=slack.bot_token
    )
    assert not multi_workspace(settings)
    lookup = bot_token_lookup(settings, None)
    assert await lookup(TEAM_ID) == slack.bot_token
    assert await lookup(TEAM_B) is None


async def test_open_accounts_wires_one_or_many_workspaces(
    database: Database, slack: SlackEmulator, tmp_path: Path
) -> None:
    base = {
        "database_url": database.url,
        "data_dir": str(tmp_path),
        "slack_api_url": f"{slack.url}/api/",
    }
    registry = load_registry(["connectors.github"])
    single = Settings(_env_file=None, slack_bot_token=slack.bot_token, **base)
    many = Settings(_env_file=None, **base, **slack.install_settings())
    http = HttpPool(single)
    try:
        one = await open_accounts(single, database, registry, http)
        assert one.slack_oauth is None
        assert await one.vault.for_service(TEAM_ID, ALICE, "slack") is not None
        multi = await open_accounts(many, database, registry, http)
        assert multi.slack_oauth is not None
        assert await multi.vault.for_service(TEAM_ID, ALICE, "slack") is None  # not installed
    finally:
        await http.aclose()
    assert (tmp_path / "encryption.key").exists()  # no ATOM_ENCRYPTION_KEYS: generated once
