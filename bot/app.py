"""build_app: the Bolt app with every listener and middleware, pointed at a Slack Web API
base URL from settings (the sandbox emulator in tests and `atom shell`)."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.web.async_client import AsyncWebClient

from bot import errors, notifications
from bot.listeners import actions, commands, files, home, messages
from bot.middleware import install_middleware
from bot.services import BotServices

log = logging.getLogger(__name__)


def _secret(value: object) -> str | None:
    return value.get_secret_value() if value is not None else None  # type: ignore[attr-defined]


def build_app(services: BotServices, oauth_settings: AsyncOAuthSettings | None = None) -> AsyncApp:
    """With `oauth_settings` (bot/slack_install.py: SLACK_CLIENT_ID/SECRET set) ATOM can be
    installed into many workspaces, each request authorised from the installation store;
    without, it serves the one workspace of SLACK_BOT_TOKEN."""
    settings = services.settings
    api_url = (
        settings.slack_api_url
        if settings.slack_api_url.endswith("/")
        else (settings.slack_api_url + "/")
    )
    token = None if oauth_settings else _secret(settings.slack_bot_token)
    client = AsyncWebClient(token=token, base_url=api_url)
    app = AsyncApp(
        client=client,
        signing_secret=_secret(settings.slack_signing_secret),
        oauth_settings=oauth_settings,
        logger=logging.getLogger("atom.bolt"),
    )
    install_middleware(app, services)
    errors.register(app)
    notifications.register(app)
    commands.register(app)
    actions.register(app)
    home.register(app)
    files.register(app)  # before messages: its catch-all `message` listener
    messages.register(app)
    return app
