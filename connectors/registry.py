"""The registry: every connector ATOM ships, and the catalog built from their declarations.

The catalog is data (names, descriptions, JSON Schemas of inputs, outputs and event
configs/payloads): the validator, the planner, the Block Kit renderer and
`atom connectors` all read it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from connectors.base import Action, Connector, Event

CONNECTOR_MODULES = [
    # each module defines a module-level `connector: Connector`
    "connectors.slack",
    "connectors.github",
    "connectors.http",
    "connectors.google_calendar",
    "connectors.gmail",
    "connectors.google_drive",
    "connectors.trello",
    "connectors.asana",
    "connectors.dropbox",
]


@dataclass
class Registry:
    connectors: dict[str, Connector] = field(default_factory=dict)

    def add(self, connector: Connector) -> None:
        if connector.name in self.connectors:
            raise ValueError(f"connector {connector.name!r} registered twice")
        self.connectors[connector.name] = connector

    @property
    def actions(self) -> dict[str, Action]:
        return {a.key: a for c in self.connectors.values() for a in c.actions.values()}

    @property
    def events(self) -> dict[str, Event]:
        return {e.key: e for c in self.connectors.values() for e in c.events.values()}

    def action(self, key: str) -> Action | None:
        return self.actions.get(key)

    def event(self, key: str) -> Event | None:
        return self.events.get(key)

    def catalog(self) -> dict[str, Any]:
        """The JSON-serialisable catalog of every connector, action and event."""
        return {
            "connectors": [
                {
                    "name": c.name,
                    "title": c.title,
                    "description": c.description,
                    "auth": c.auth.kind,
                    "base_url_setting": c.base_url_setting,
                    "actions": [describe_action(a) for a in c.actions.values()],
                    "events": [describe_event(e) for e in c.events.values()],
                }
                for c in self.connectors.values()
            ]
        }


def describe_action(action: Action) -> dict[str, Any]:
    return {
        "key": action.key,
        "description": action.description,
        "idempotent": action.idempotent,
        "scopes": list(action.scopes),
        "destroys": [
            {"effect": d.effect, "target": d.target, "when": dict(d.when)} for d in action.destroys
        ],
        "input": action.input_model.model_json_schema(),
        "output": action.output_model.model_json_schema(),
    }


def describe_event(event: Event) -> dict[str, Any]:
    return {
        "key": event.key,
        "description": event.description,
        "delivery": [kind for kind, fn in (("poll", event.poll), ("webhook", event.webhook)) if fn],
        "scopes": list(event.scopes),
        "config": event.config_model.model_json_schema(),
        "payload": event.payload_model.model_json_schema(),
    }


def load_registry(modules: list[str] | None = None) -> Registry:
    registry = Registry()
    for module_name in CONNECTOR_MODULES if modules is None else modules:
        registry.add(importlib.import_module(module_name).connector)
    return registry
