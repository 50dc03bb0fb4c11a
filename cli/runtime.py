"""Wiring: build every long-lived object of one ATOM process from Settings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.web.async_client import AsyncWebClient

from bot import slack_install
from bot.app import build_app
from bot.clients import TeamClients
from bot.dedupe import EventDeduplicator
from bot.notifications import SlackConnectionNotifier
from bot.pending import PendingPlans
from bot.people import PersonSettings
from bot.run_status import SlackRunReporter
from bot.services import BotServices, service_titles
from connectors.client import HttpPool
from connectors.connections import AuditTrail, Connections
from connectors.registry import Registry, load_registry
from connectors.vault import Vault
from core.db import Database, is_sqlite
from core.security import TokenCipher, cipher_from_settings
from core.settings import Settings
from migrations.runner import upgrade
from oauth_app.app import create_web_app
from workflows.engine import Engine
from workflows.planner import build_planner
from workflows.scheduling.node import (
    DEFAULT_CONCURRENCY,
    TriggerServices,
    open_trigger_services,
    start_worker_node,
)
from workflows.store import AuditLog, RunRepo, WorkflowRepo


@dataclass
class Runtime:
    settings: Settings
    database: Database
    registry: Registry
    http: HttpPool
    accounts: Accounts
    engine: Engine
    triggers: TriggerServices
    services: BotServices
    bolt: AsyncApp | None  # None in a process that serves no Slack traffic (a worker)
    web: FastAPI | None


async def upgrade_database(settings: Settings) -> None:
    await asyncio.to_thread(upgrade, settings.database_url)


@asynccontextmanager
async def open_runtime(
    settings: Settings,
    *,
    worker: bool = True,
    serve: bool = True,
    worker_id: str | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> AsyncIterator[Runtime]:
    """Everything one ATOM process needs. With `worker` this process is also a worker
    node (fires schedules, polls events, executes runs) — always so on SQLite, where the
    scheduler lives in memory. With `serve` it builds the Bolt app and the web app."""
    database = Database(settings.database_url)
    registry = load_registry()
    http = HttpPool(settings)
    try:
        accounts = await open_accounts(settings, database, registry, http, AuditLog(database))
        engine = Engine(database, registry, http, accounts.vault, settings, worker_id=worker_id)
        slack_clients = TeamClients(settings, accounts.bot_tokens)
        engine.add_observer(SlackRunReporter(database, slack_clients, service_titles(registry)))
        node = (
            start_worker_node
            if worker or is_sqlite(settings.database_url)
            else open_trigger_services
        )
        async with node(settings, database, engine, registry) as triggers:
            services = BotServices(
                settings=settings,
                database=database,
                dedupe=EventDeduplicator(database),
                registry=registry,
                workflows=WorkflowRepo(database),
                runs=RunRepo(database),
                audit=AuditLog(database),
                engine=engine,
                pending=PendingPlans(database),
                planner=build_planner(settings, registry),
                triggers=triggers.triggers,
                launcher=triggers.runs,
                connections=accounts.connections,
                slack=slack_clients,
                people=PersonSettings(database),
            )
            bolt = build_app(services, accounts.slack_oauth) if serve else None
            web = (
                create_web_app(
                    settings, database, bolt, accounts.connections, webhooks=triggers.webhooks
                )
                if serve
                else None
            )
            yield Runtime(
                settings, database, registry, http, accounts, engine, triggers, services, bolt, web
            )
    finally:
        await http.aclose()
        await database.dispose()


# --- connecting accounts: the token vault, connect links, Slack installs ----------------


@dataclass
class Accounts:
    """What connecting accounts needs, built once per process. Wire it as:
    `build_app(services, accounts.slack_oauth)`, `create_web_app(…, connections=
    accounts.connections)`, `BotServices(connections=accounts.connections, …)` and the
    engine's `credentials=accounts.vault`."""

    cipher: TokenCipher
    slack_oauth: AsyncOAuthSettings | None  # None: one workspace, from SLACK_BOT_TOKEN
    vault: Vault
    connections: Connections
    bot_tokens: slack_install.BotTokenLookup


async def open_accounts(
    settings: Settings,
    database: Database,
    registry: Registry,
    http: HttpPool,
    audit: AuditTrail | None = None,
) -> Accounts:
    cipher = await asyncio.to_thread(cipher_from_settings, settings)  # may create the key file
    slack_oauth = slack_install.oauth_settings(settings, database, cipher)
    store = slack_oauth.installation_store if slack_oauth else None
    bot_tokens = slack_install.bot_token_lookup(settings, store)
    vault = Vault(database, cipher, settings, registry, workspace_tokens=bot_tokens)
    notifier = SlackConnectionNotifier(
        AsyncWebClient(base_url=slack_install.api_url(settings)), bot_tokens
    )
    return Accounts(
        cipher, slack_oauth, vault, Connections(vault, http, notifier, audit), bot_tokens
    )
