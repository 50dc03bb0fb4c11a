"""Inbound webhooks: deliveries that start runs of the workflows waiting for them.

Two kinds of endpoint (served by oauth_app/routes/webhooks.py):

- `/webhooks/{service}` for services that sign deliveries with one shared secret
  (GitHub: `X-Hub-Signature-256`, the secret in ATOM_GITHUB_WEBHOOK_SECRET). Each of the
  connector's events parses and verifies the delivery; a bad signature raises
  `WebhookRejected` before anything starts. Every active workflow waiting for the
  event whose trigger configuration matches (e.g. the repository) gets one run per item.
- `/webhooks/{service}/{token}` for everything else (the generic
  `http.webhook_received`): the unguessable token, made when the workflow is activated
  and kept for its life, names one workflow.

Items are deduplicated per workflow with the same receipts as polling, so a delivery
that GitHub retries, or an issue seen by both a webhook and a poll, starts one run.
"""

from __future__ import annotations

import logging

from pydantic import ValidationError

from connectors.base import Event, EventItem, WebhookRequest
from connectors.registry import Registry
from core.db import Database
from core.settings import Settings
from workflows.model import EventTrigger
from workflows.scheduling.reconcile import SIGNED_WEBHOOK_SERVICES
from workflows.scheduling.runs import RunQueue, item_key
from workflows.store import WorkflowNotFound, WorkflowRepo, WorkflowState
from workflows.subscriptions import TriggerState, TriggerStore

log = logging.getLogger(__name__)


class UnknownWebhook(LookupError):
    """Nothing receives deliveries at this address; the message says why."""


class WebhookInbox:
    def __init__(
        self, database: Database, registry: Registry, settings: Settings, runs: RunQueue
    ) -> None:
        self.registry = registry
        self.settings = settings
        self.runs = runs
        self.states = TriggerStore(database)
        self.workflows = WorkflowRepo(database)

    def url(self, state: TriggerState) -> str | None:
        """The address to give the sender of a workflow's deliveries."""
        if state.event is None:
            return None
        service = state.event.split(".", 1)[0]
        base = self.settings.public_url.rstrip("/")
        if state.webhook_token:
            return f"{base}/webhooks/{service}/{state.webhook_token}"
        return f"{base}/webhooks/{service}" if service in SIGNED_WEBHOOK_SERVICES else None

    async def deliver_signed(self, service: str, request: WebhookRequest) -> list[str]:
        """A delivery to the shared endpoint of `service`. Raises WebhookRejected (bad
        signature or body) or UnknownWebhook. Returns the ids of the runs started."""
        connector = self.registry.connectors.get(service)
        setting = SIGNED_WEBHOOK_SERVICES.get(service)
        if connector is None or setting is None:
            raise UnknownWebhook(
                f"ATOM has no shared webhook endpoint for {service!r}; use the webhook URL "
                "ATOM showed for your workflow."
            )
        secret = getattr(self.settings, setting)
        started: list[str] = []
        for event in connector.events.values():
            if event.webhook is None:
                continue
            items = event.webhook(request, secret.get_secret_value() if secret else None)
            if items:
                subscribers = await self.states.subscribers(event.key)
                started += await self._deliver(event, items, subscribers)
        return started

    async def deliver_to_workflow(
        self, service: str, token: str, request: WebhookRequest
    ) -> list[str]:
        """A delivery to one workflow's own URL. Raises UnknownWebhook or WebhookRejected."""
        state = await self.states.by_token(token)
        event = self.registry.event(state.event) if state and state.event else None
        if (
            state is None
            or not state.active
            or event is None
            or event.connector != service
            or event.webhook is None
        ):
            raise UnknownWebhook("No active workflow has this webhook URL.")
        return await self._deliver(event, event.webhook(request, None), [state])

    async def _deliver(
        self, event: Event, items: list[EventItem], subscribers: list[TriggerState]
    ) -> list[str]:
        started: list[str] = []
        for state in subscribers:
            try:
                record = await self.workflows.get(state.team_id, state.workflow_id)
            except WorkflowNotFound:
                continue
            trigger = record.workflow.trigger
            if (
                record.state != WorkflowState.ACTIVE
                or not isinstance(trigger, EventTrigger)
                or trigger.event != event.key
            ):
                continue
            try:
                config = event.config_model.model_validate(trigger.with_)
            except ValidationError:
                log.warning("workflow %s: its trigger does not fit %s", record.id, event.key)
                continue
            for item in items:
                if not event.matches(config, item.payload):
                    continue
                run_id = await self.runs.start_once(
                    record.team_id,
                    record.id,
                    item_key(item.id),
                    item.payload,
                    record.owner,
                    "event",
                )
                if run_id:
                    started.append(run_id)
        return started
