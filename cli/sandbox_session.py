"""ATOM wired to the sandbox: every service emulator (Slack, GitHub, Google, Trello, Asana,
Dropbox, HTTP), Deepgram (voice notes) and the sandbox OAuth provider run on 127.0.0.1,
and the Slack emulator delivers to ATOM's real HTTP endpoint. Used by `atom shell`, by
`atom run` without Slack tokens, and by the scenario tests.

The sandbox's people (Alice, Bob, Carol) start with every service connected, so a
newcomer can approve a plan and watch it run; `/atom connect` still goes through the
sandbox OAuth provider like the real thing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from cli.runtime import Runtime, open_runtime
from connectors.providers import TokenSet
from connectors.vault import ConnectionKey, Vault
from core.settings import Settings
from oauth_app.server import WebServer
from sandbox.deepgram import DeepgramEmulator
from sandbox.emulator import Emulator
from sandbox.harness import SlackHarness
from sandbox.oauth_provider import OAuthProviderEmulator
from sandbox.services import Sandbox
from sandbox.slack import TEAM_ID, SlackEmulator

GOOGLE_SERVICES = {"google_calendar", "gmail", "google_drive"}
SECRET_SETTINGS = {"slack_bot_token", "slack_signing_secret"}


@dataclass
class SandboxSession:
    sandbox: Sandbox
    oauth: OAuthProviderEmulator
    deepgram: DeepgramEmulator
    slack: SlackEmulator
    harness: SlackHarness
    runtime: Runtime
    web_url: str

    def emulator(self, service: str) -> Emulator:
        return self.sandbox.emulators[service]


def wire(settings: Settings, overrides: dict[str, str]) -> Settings:
    values: dict[str, Any] = {
        name: SecretStr(value)
        if name in SECRET_SETTINGS or isinstance(getattr(settings, name, None), SecretStr)
        else value
        for name, value in overrides.items()
    }
    return settings.model_copy(update=values)


async def connect_everyone(vault: Vault, sandbox: Sandbox, slack: SlackEmulator) -> None:
    """Connect every sandbox person to every service (tokens issued by the emulators)."""
    for person in (u for u in slack.users.values() if not u.is_bot):
        for service, emulator in sandbox.emulators.items():
            if service in {"slack", "http"}:
                continue
            token = (
                emulator.issue_token(person.email)
                if service in GOOGLE_SERVICES
                else emulator.issue_token()
            )
            await vault.store(
                ConnectionKey(TEAM_ID, person.id, service),
                TokenSet(access_token=token["access_token"]),
                account=person.email,
                extra=dict(token.get("extra") or {}),
            )


@asynccontextmanager
async def sandbox_session(settings: Settings) -> AsyncIterator[SandboxSession]:
    """Start the emulators and ATOM (web app, bot, worker node) against them. The database
    at `settings.database_url` must already have its tables."""
    sandbox = Sandbox().start()
    oauth = OAuthProviderEmulator()
    oauth.attach_all(sandbox.emulators)
    oauth.start()
    deepgram = DeepgramEmulator()
    deepgram.start()
    slack = sandbox.emulators["slack"]
    assert isinstance(slack, SlackEmulator)
    server = WebServer()
    try:
        url = server.bind()
        wired = wire(
            settings,
            {**sandbox.settings_overrides(), **oauth.settings_overrides(), "public_url": url},
        )
        async with open_runtime(wired) as runtime:
            await connect_everyone(runtime.accounts.vault, sandbox, slack)
            server.app = runtime.web
            await server.start()
            slack.request_url = f"{url}/slack/events"
            try:
                yield SandboxSession(
                    sandbox, oauth, deepgram, slack, SlackHarness(slack), runtime, url
                )
            finally:
                await server.stop()
    finally:
        deepgram.stop()
        oauth.stop()
        sandbox.stop()
