"""`atom run`, `atom shell`, `atom db upgrade`: start ATOM, or chat with it in the sandbox."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from bot.slack_install import multi_workspace
from cli.errors import CommandError
from core.db import is_sqlite
from core.logging import configure_logging
from core.settings import Settings
from migrations.runner import upgrade

log = logging.getLogger("atom")

NO_TOKENS = (
    "No Slack tokens are set, so ATOM is starting in the sandbox: a local Slack workspace "
    "where you are Alice.\nTo connect to a real workspace set SLACK_BOT_TOKEN and "
    "SLACK_APP_TOKEN (Socket Mode) or SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (HTTP) — see "
    "README.md.\n"
)


def register(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser("run", help="start ATOM (Slack bot + web app)")
    run.set_defaults(handler=command_run)

    web = subparsers.add_parser(
        "web", help="serve the web app only (OAuth, webhooks, Slack HTTP endpoint, health)"
    )
    web.set_defaults(handler=command_web)

    bot = subparsers.add_parser("bot", help="connect the bot to Slack over Socket Mode only")
    bot.set_defaults(handler=command_bot)

    shell = subparsers.add_parser("shell", help="chat with ATOM in the terminal (sandbox)")
    shell.set_defaults(handler=command_shell)

    db = subparsers.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db_upgrade = db_commands.add_parser("upgrade", help="apply migrations (Alembic)")
    db_upgrade.add_argument("--revision", default="head")
    db_upgrade.set_defaults(handler=command_db_upgrade)


def command_db_upgrade(args: argparse.Namespace) -> int:
    settings = Settings()
    upgrade(settings.database_url, args.revision)
    print(f"database is at revision {args.revision}")
    return 0


def command_run(_args: argparse.Namespace) -> int:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    if settings.slack_bot_token and settings.slack_app_token:
        asyncio.run(_serve(settings, web=True, socket_mode=True, worker=True))
    elif settings.slack_signing_secret and (settings.slack_bot_token or multi_workspace(settings)):
        asyncio.run(_serve(settings, web=True, socket_mode=False, worker=True))
    else:
        sys.stdout.write(NO_TOKENS)
        return command_shell(_args)
    return 0


def command_web(_args: argparse.Namespace) -> int:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    if not (
        settings.slack_signing_secret and (settings.slack_bot_token or multi_workspace(settings))
    ):
        raise CommandError(
            "`atom web` receives Slack's requests over HTTP and needs SLACK_SIGNING_SECRET with "
            "SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID + SLACK_CLIENT_SECRET (many "
            "workspaces). Without Slack credentials, `atom run` starts the sandbox instead."
        )
    asyncio.run(_serve(settings, web=True, socket_mode=False, worker=False))
    return 0


def command_bot(_args: argparse.Namespace) -> int:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    if not (settings.slack_bot_token and settings.slack_app_token):
        raise CommandError(
            "`atom bot` connects over Socket Mode and needs SLACK_BOT_TOKEN and SLACK_APP_TOKEN "
            "(an xapp- token with connections:write). For HTTP mode run `atom web` instead."
        )
    asyncio.run(_serve(settings, web=False, socket_mode=True, worker=False))
    return 0


def command_shell(_args: argparse.Namespace) -> int:
    settings = _sandbox_settings(Settings())
    configure_logging("WARNING", json_output=False)
    asyncio.run(_shell(settings))
    return 0


def _sandbox_settings(settings: Settings) -> Settings:
    """The sandbox keeps its own SQLite file, apart from a real workspace's data."""
    database = Path(settings.data_dir) / "sandbox.db"
    return settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{database}"})


async def _migrate_if_embedded(settings: Settings) -> None:
    if is_sqlite(settings.database_url):
        await asyncio.to_thread(upgrade, settings.database_url)


async def _shell(settings: Settings) -> None:
    from cli.sandbox_session import sandbox_session
    from cli.shell import run_in_terminal

    await _migrate_if_embedded(settings)
    async with sandbox_session(settings) as session:
        await run_in_terminal(session)


async def _serve(settings: Settings, *, web: bool, socket_mode: bool, worker: bool) -> None:
    """Serve the web app and/or hold a Socket Mode connection until interrupted; with
    `worker` (and always on SQLite) this process is a worker node too."""
    from cli.runtime import open_runtime
    from oauth_app.server import WebServer

    await _migrate_if_embedded(settings)
    async with open_runtime(settings, worker=worker) as runtime:
        server = WebServer(runtime.web, settings.http_host, settings.http_port)
        if web:
            await server.start()
            log.info("web app listening on %s", server.url)
        if socket_mode:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            assert settings.slack_app_token is not None
            handler = AsyncSocketModeHandler(
                runtime.bolt, settings.slack_app_token.get_secret_value()
            )
            await handler.connect_async()
            log.info("connected to Slack over Socket Mode")
        if web:
            await server.serve_forever()
        else:
            await asyncio.Event().wait()
