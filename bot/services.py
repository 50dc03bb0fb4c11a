"""What the Slack layer needs from the rest of ATOM, handed in by the composition root
(cli/runtime.py). Listeners receive it through Bolt's context as `services`.

The scheduler side (triggers, job queue) and the account connections are seams with a
small protocol each, so the bot never depends on how they are implemented."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from slack_sdk.web.async_client import AsyncWebClient

from bot.dedupe import EventDeduplicator
from bot.pending import PendingPlans
from bot.people import PersonSettings
from connectors.registry import Registry
from core.db import Database
from core.settings import Settings
from workflows.engine import Engine
from workflows.model import Workflow
from workflows.planning.results import Plan, PlanContext, Question
from workflows.store import AuditLog, RunRepo, WorkflowRepo
from workflows.subscriptions import TriggerState


class Triggers(Protocol):
    """Keeps a workflow's schedule or event subscription in line with its stored state
    (active version, paused, deleted) — the scheduler side implements it."""

    async def apply(self, team_id: str, workflow_id: str) -> TriggerState | None: ...


class RunLauncher(Protocol):
    """Starts runs as jobs that any worker node may take."""

    async def start(
        self,
        team_id: str,
        workflow_id: str,
        trigger_payload: dict[str, Any] | None,
        requested_by: str,
        trigger_kind: str = "manual",
        version: int | None = None,
    ) -> str: ...

    async def enqueue(self, run_id: str) -> None: ...


class Connection(Protocol):
    service: str
    status: str  # "connected" | "expired"
    account: str | None


class Connections(Protocol):
    """The user's accounts at the services (the token vault behind it)."""

    async def connect_url(
        self, team_id: str, user_id: str, service: str, scopes: list[str] | None = None
    ) -> str: ...

    async def list(self, team_id: str, user_id: str) -> list[Connection]: ...

    async def disconnect(self, team_id: str, user_id: str, service: str) -> bool: ...


class SlackClients(Protocol):
    """A Web API client authorised for a workspace (for work outside a Slack request:
    run status updates, approval requests)."""

    async def for_team(self, team_id: str) -> AsyncWebClient: ...


class Planner(Protocol):
    async def plan(self, text: str, context: PlanContext) -> Plan | Question: ...

    async def revise(
        self, workflow: Workflow, text: str, context: PlanContext
    ) -> Plan | Question: ...

    async def answer(
        self, question: Question, text: str, context: PlanContext
    ) -> Plan | Question: ...


@dataclass
class BotServices:
    settings: Settings
    database: Database
    dedupe: EventDeduplicator
    registry: Registry
    workflows: WorkflowRepo
    runs: RunRepo
    audit: AuditLog
    engine: Engine
    pending: PendingPlans
    planner: Planner
    triggers: Triggers
    launcher: RunLauncher
    connections: Connections
    slack: SlackClients
    people: PersonSettings

    def service_titles(self) -> dict[str, str]:
        return service_titles(self.registry)


def service_titles(registry: Registry) -> dict[str, str]:
    """Connector name -> title, for messages ("GitHub · create issue")."""
    return {**{c.name: c.title for c in registry.connectors.values()}, "approval": "Approval"}
