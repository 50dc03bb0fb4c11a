"""ATOM's connect flow over real HTTP: the web app (in this loop), the sandbox OAuth
provider, the service emulators it grants tokens on, and Slack for the DMs.

`atom.connect(team, user, service)` does what a person does: open the connect link in a
browser, which follows the redirects to the provider and back (running the Trello relay
page's script by hand), and returns the last page.
"""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import unescape
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import httpx
import pytest
from pydantic import BaseModel, SecretStr
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import text

from bot.notifications import SlackConnectionNotifier
from bot.slack_install import bot_token_lookup
from connectors.base import ActionContext
from connectors.client import HttpPool
from connectors.connections import Connections
from connectors.registry import Registry, load_registry
from connectors.vault import Vault
from core.db import Database, utcnow
from core.security import TokenCipher, generate_key
from core.settings import Settings
from oauth_app.app import create_web_app
from oauth_app.server import WebServer
from sandbox.asana import AsanaEmulator
from sandbox.emulator import Emulator
from sandbox.github import GitHubEmulator
from sandbox.google import GoogleCalendarEmulator
from sandbox.oauth_provider import OAuthProviderEmulator
from sandbox.slack import TEAM_ID, SlackEmulator
from sandbox.trello import TrelloEmulator
from workflows.store import AuditLog

TEAM_A = TEAM_ID  # the sandbox Slack workspace: the bot can DM its users
TEAM_B = "T0OTHERTEAM"  # another workspace (no bot token here: no DMs)
ALICE = "U0ALICE001"
BOB = "U0BOB00001"
REPO = "octocat/hello"
CONNECTORS = [
    "connectors.github",
    "connectors.trello",
    "connectors.asana",
    "connectors.google_calendar",
]
SECRET_KEY = "test-secret-key-for-state-signing"


@dataclass
class Emulators:
    provider: OAuthProviderEmulator
    slack: SlackEmulator
    github: GitHubEmulator
    trello: TrelloEmulator
    asana: AsanaEmulator
    google_calendar: GoogleCalendarEmulator

    def all(self) -> list[Emulator]:
        return [
            self.provider,
            self.slack,
            self.github,
            self.trello,
            self.asana,
            self.google_calendar,
        ]

    def settings(self) -> dict[str, Any]:
        overrides: dict[str, Any] = {}
        for emulator in (self.github, self.trello, self.asana, self.google_calendar):
            overrides.update(emulator.settings_overrides())
        overrides.update(self.provider.settings_overrides())
        overrides.update(
            slack_api_url=f"{self.slack.url}/api/", slack_bot_token=self.slack.bot_token
        )
        return overrides


@pytest.fixture(scope="session")
def emulators() -> Iterator[Emulators]:
    running = Emulators(
        OAuthProviderEmulator(),
        SlackEmulator(),
        GitHubEmulator(),
        TrelloEmulator(),
        AsanaEmulator(),
        GoogleCalendarEmulator(),
    )
    for emulator in running.all():
        emulator.start()
    for service in ("github", "trello", "asana", "google_calendar"):
        running.provider.attach(service, getattr(running, service))
    running.github.add_repo(REPO, collaborators={"octocat"})
    try:
        yield running
    finally:
        for emulator in running.all():
            emulator.stop()


@pytest.fixture(autouse=True)
def fresh_provider_rules(emulators: Emulators) -> Iterator[None]:
    """Each test starts with consenting users and non-expiring GitHub tokens."""
    yield
    emulators.provider.deny.clear()
    emulators.provider.expiring["github"] = False
    emulators.provider.faults.clear()


@dataclass
class Clock:
    """The vault's clock, moved forward by tests instead of waiting."""

    offset: timedelta = field(default_factory=timedelta)

    def now(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


class Browser:
    """Follows redirects across hosts like a browser, keeps the URL fragment out of
    requests, and does what the Trello relay page's script does."""

    def __init__(self) -> None:
        self.client = httpx.AsyncClient(timeout=10)
        self.visited: list[str] = []

    async def open(self, url: str) -> httpx.Response:
        fragment = ""
        for _ in range(10):
            url, _, new_fragment = url.partition("#")
            fragment = new_fragment or fragment
            self.visited.append(url)
            response = await self.client.get(url)
            if response.is_redirect:
                url = urljoin(url, response.headers["location"])
                continue
            if "id='relay'" in response.text:
                return await self._relay(url, response.text, fragment)
            return response
        raise AssertionError("too many redirects")

    async def _relay(self, url: str, page: str, fragment: str) -> httpx.Response:
        action = re.search(r"action='([^']+)'", page)
        state = re.search(r"name='state' value='([^']*)'", page)
        assert action and state
        answer = dict(parse_qsl(fragment))
        form = {"state": unescape(state.group(1))}
        form.update({"token": answer["token"]} if "token" in answer else {"error": "access_denied"})
        return await self.client.post(urljoin(url, action.group(1)), data=form)

    async def aclose(self) -> None:
        await self.client.aclose()


@dataclass
class Atom:
    settings: Settings
    database: Database
    registry: Registry
    cipher: TokenCipher
    vault: Vault
    connections: Connections
    http: HttpPool
    emulators: Emulators
    clock: Clock
    browser: Browser
    url: str

    async def connect(
        self, service: str, team: str = TEAM_A, user: str = ALICE, scopes: list[str] | None = None
    ) -> httpx.Response:
        return await self.browser.open(
            await self.connections.connect_url(team, user, service, scopes)
        )

    async def run(
        self, action_key: str, inputs: dict[str, Any], team: str = TEAM_A, user: str = ALICE
    ) -> BaseModel:
        """Run a connector action with the user's credentials from the vault."""
        action = self.registry.action(action_key)
        assert action is not None
        connector = self.registry.connectors[action.connector]
        source = await self.vault.for_service(team, user, connector.name)
        ctx = ActionContext(
            team_id=team,
            user_id=user,
            http=self.http.for_connector(connector, source),
            credentials=source,
        )
        return await action.run(ctx, inputs)

    def dms(self, user: str = ALICE) -> list[dict[str, Any]]:
        slack = self.emulators.slack
        return slack.messages(slack.im_with(user).id)

    async def raw_rows(self) -> str:
        """Every row of the tables that hold secrets, as the database has them."""
        dump = []
        async with self.database.engine.connect() as connection:
            for table in ("connections", "oauth_pending", "slack_installations", "slack_bots"):
                dump.append(repr((await connection.execute(text(f"SELECT * FROM {table}"))).all()))
        return "\n".join(dump)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build_vault(
    settings: Settings, database: Database, registry: Registry, cipher: TokenCipher, clock: Clock
) -> Vault:
    return Vault(
        database,
        cipher,
        settings,
        registry,
        workspace_tokens=bot_token_lookup(settings, None),
        clock=clock.now,
    )


@pytest.fixture
async def atom(database: Database, emulators: Emulators) -> AsyncIterator[Atom]:
    port = free_port()
    settings = Settings(
        _env_file=None,
        database_url=database.url,
        public_url=f"http://127.0.0.1:{port}",
        secret_key=SecretStr(SECRET_KEY),
        http_max_retries=0,
        log_json=False,
        **emulators.settings(),
    )
    registry = load_registry(CONNECTORS)
    cipher = TokenCipher([generate_key()])
    clock = Clock()
    http = HttpPool(settings)
    vault = build_vault(settings, database, registry, cipher, clock)
    bot_tokens = bot_token_lookup(settings, None)
    notifier = SlackConnectionNotifier(AsyncWebClient(base_url=settings.slack_api_url), bot_tokens)
    connections = Connections(vault, http, notifier, AuditLog(database))
    server = WebServer(create_web_app(settings, database, None, connections), port=port)
    url = await server.start()
    browser = Browser()
    try:
        yield Atom(
            settings,
            database,
            registry,
            cipher,
            vault,
            connections,
            http,
            emulators,
            clock,
            browser,
            url,
        )
    finally:
        await browser.aclose()
        await server.stop()
        await http.aclose()


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))
