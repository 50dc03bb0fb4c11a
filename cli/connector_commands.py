"""`atom connectors`: the catalog of every connector, action and event with its inputs,
as readable text (default) or as the JSON catalog the planner and validator read."""

from __future__ import annotations

import argparse
import json
from typing import Any

from cli.errors import CommandError
from connectors.registry import load_registry


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "connectors", help="list connectors, their actions and events, with their inputs"
    )
    parser.add_argument("name", nargs="?", help="show only this connector (e.g. github)")
    parser.add_argument("--json", action="store_true", help="print the JSON catalog")
    parser.set_defaults(handler=command_connectors)

    events = subparsers.add_parser("events", help="connector events: sample payloads")
    event_commands = events.add_subparsers(dest="events_command", metavar="COMMAND")
    sample = event_commands.add_parser(
        "sample", help="print an event's sample payload (what `trigger.*` holds in a run)"
    )
    sample.add_argument("event", help="the event, e.g. github.issue_opened")
    sample.set_defaults(handler=command_event_sample)


def command_connectors(args: argparse.Namespace) -> int:
    catalog = load_registry().catalog()
    connectors = catalog["connectors"]
    if args.name:
        connectors = [c for c in connectors if c["name"] == args.name]
        if not connectors:
            known = ", ".join(c["name"] for c in catalog["connectors"])
            raise CommandError(f"no connector named {args.name!r} (known: {known})")
    if args.json:
        print(json.dumps({"connectors": connectors}, indent=2))
    else:
        print("\n\n".join(render_connector(c) for c in connectors))
    return 0


def command_event_sample(args: argparse.Namespace) -> int:
    print(json.dumps(event_sample(args.event), indent=2, ensure_ascii=False))
    return 0


def event_sample(key: str) -> dict[str, Any]:
    """The declared sample payload of event `key`; a CommandError naming the known ones."""
    registry = load_registry()
    event = registry.event(key)
    if event is None or event.sample is None:
        known = ", ".join(sorted(registry.events))
        raise CommandError(f"no event named {key!r} (known: {known})")
    return event.sample


def render_connector(connector: dict[str, Any]) -> str:
    setting = "ATOM_" + connector["base_url_setting"].upper()
    lines = [
        f"{connector['title']} ({connector['name']})"
        + (f" — {connector['description']}" if connector["description"] else ""),
        f"  auth: {connector['auth']} · base URL setting: {setting}",
    ]
    if connector["actions"]:
        lines.append("  actions:")
    for action in connector["actions"]:
        lines.append(f"    {action['key']} — {action['description']}")
        safety = "idempotent" if action["idempotent"] else "not idempotent"
        lines.append(f"      {_scopes(action['scopes'])} · {safety}")
        lines += _fields("inputs", action["input"])
    if connector["events"]:
        lines.append("  events:")
    for event in connector["events"]:
        lines.append(f"    {event['key']} — {event['description']}")
        lines.append(f"      delivery: {', '.join(event['delivery'])} · {_scopes(event['scopes'])}")
        lines += _fields("config", event["config"])
    return "\n".join(lines)


def _scopes(scopes: list[str]) -> str:
    return f"scopes: {', '.join(scopes)}" if scopes else "no scopes"


def _fields(title: str, schema: dict[str, Any]) -> list[str]:
    properties = schema.get("properties", {})
    if not properties:
        return [f"      {title}: none"]
    required = set(schema.get("required", []))
    defs = schema.get("$defs", {})
    lines = [f"      {title}:"]
    for name, prop in properties.items():
        facts = [type_name(prop, defs)]
        if name in required:
            facts.append("required")
        elif prop.get("default") is not None:
            facts.append(f"default {json.dumps(prop['default'])}")
        description = prop.get("description", "")
        lines.append(
            f"        {name} ({', '.join(facts)})" + (f": {description}" if description else "")
        )
    return lines


def type_name(schema: dict[str, Any], defs: dict[str, Any]) -> str:
    """A JSON Schema type in words: `string`, `list of string`, `"open" | "closed"`, …"""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        target = defs.get(name, {})
        return type_name(target, defs) if "enum" in target else name
    if "enum" in schema:
        return " | ".join(json.dumps(value) for value in schema["enum"])
    if "const" in schema:
        return json.dumps(schema["const"])
    if "anyOf" in schema:
        return " or ".join(type_name(option, defs) for option in schema["anyOf"])
    kind = schema.get("type")
    if kind == "array":
        return f"list of {type_name(schema.get('items', {}), defs)}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"map of {type_name(schema['additionalProperties'], defs)}"
    return kind or "any JSON"
