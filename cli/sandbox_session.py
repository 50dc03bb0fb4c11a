"""ATOM wired to the sandbox: the Slack emulator delivers to ATOM's real HTTP endpoint.
Used by `atom shell`, by `atom run` without Slack tokens, and by the scenario tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from pydantic import SecretStr

from cli.runtime import Runtime, open_runtime
from core.settings import Settings
from oauth_app.server import WebServer
from sandbox.harness import SlackHarness
from sandbox.slack import SlackEmulator


@dataclass
class SandboxSession:
    slack: SlackEmulator
    harness: SlackHarness
    runtime: Runtime
    web_url: str


@asynccontextmanager
async def sandbox_session(settings: Settings) -> AsyncIterator[SandboxSession]:
    """Start the Slack emulator and ATOM (web app + bot) against it. The database at
    `settings.database_url` must already have its tables."""
    slack = SlackEmulator()
    slack.start()
    try:
        wired = settings.model_copy(
            update={
                "slack_api_url": f"{slack.url}/api/",
                "slack_bot_token": SecretStr(slack.bot_token),
                "slack_signing_secret": SecretStr(slack.signing_secret),
            }
        )
        async with open_runtime(wired) as runtime:
            server = WebServer(runtime.web)
            url = await server.start()
            slack.request_url = f"{url}/slack/events"
            try:
                yield SandboxSession(slack, SlackHarness(slack), runtime, url)
            finally:
                await server.stop()
    finally:
        slack.stop()
