"""What a trigger's payload or a step's output is *about*, read from its JSON Schema:
the template paths of its title, link, text and author.

    subject_of(IssueOpened schema, "trigger", prefer="issue")
      -> Subject(title="trigger.issue.title", link="trigger.issue.html_url", ...)

The planner uses these to let values flow into later steps ("{{ trigger.issue.title }}"
as the card's name) without a hand-written table per event, so a connector that renames
or adds fields is picked up from its models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ROLE_FIELDS = {
    "title": ("title", "subject", "summary", "name", "text"),
    "link": ("html_url", "url", "permalink", "permalink_url", "web_link", "link", "short_url"),
    "detail": ("snippet", "body", "notes", "description", "text"),
    "who": ("sender", "author", "user", "from", "organizer"),
    "ident": ("number", "id", "gid"),
    "path": ("path",),
}


@dataclass(frozen=True)
class Subject:
    """Template paths (without braces) of the roles a payload or output has, or None."""

    title: str | None = None
    link: str | None = None
    detail: str | None = None
    who: str | None = None
    ident: str | None = None
    path: str | None = None

    def template(self, role: str) -> str | None:
        path = getattr(self, role)
        return f"{{{{ {path} }}}}" if path else None


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow a `$ref` into `$defs`, and unwrap `X | None` (anyOf with null)."""
    for _ in range(10):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            node = schema.get("$defs", {}).get(ref.removeprefix("#/$defs/"), {})
            continue
        options = [o for o in node.get("anyOf", []) if o.get("type") != "null"]
        if len(options) == 1:
            node = options[0]
            continue
        return node
    return node


def _is_object(schema: dict[str, Any], node: dict[str, Any]) -> bool:
    return "properties" in _resolve(schema, node)


def _scalar_fields(schema: dict[str, Any], node: dict[str, Any]) -> list[str]:
    properties = _resolve(schema, node).get("properties", {})
    return [name for name, prop in properties.items() if not _is_object(schema, prop)]


def subject_of(schema: dict[str, Any], root: str, prefer: str = "") -> Subject:
    """The roles found in `schema` (a JSON Schema of an object) under template `root`
    ("trigger" or "steps.card"). Fields of a nested object whose name occurs in `prefer`
    (e.g. the event name "issue_opened" prefers `issue`) win over top-level fields;
    other nested objects are read last."""
    properties = _resolve(schema, schema).get("properties", {})
    nested = [name for name, prop in properties.items() if _is_object(schema, prop)]
    preferred = [name for name in nested if prefer and name in prefer]
    others = [name for name in nested if name not in preferred]
    layers: list[tuple[str, list[str]]] = [
        *((f"{root}.{name}", _scalar_fields(schema, properties[name])) for name in preferred),
        (root, _scalar_fields(schema, schema)),
        *((f"{root}.{name}", _scalar_fields(schema, properties[name])) for name in others),
    ]
    found: dict[str, str] = {}
    for role, candidates in ROLE_FIELDS.items():
        for prefix, fields in layers:
            match = next((name for name in candidates if name in fields), None)
            if match is not None:
                found[role] = f"{prefix}.{match}"
                break
    return Subject(**found)
