"""Block Kit as plain text, for the terminal shell and for tests that read what the bot
said. Buttons are listed in order so a person (or a test) can press them by number."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def text_of(element: Any) -> str:
    if isinstance(element, dict):
        if element.get("type") in {"plain_text", "mrkdwn"}:
            return str(element.get("text", ""))
        if "text" in element:
            return text_of(element["text"])
        if element.get("type") == "rich_text":
            return "".join(_rich_text(element))
    if isinstance(element, str):
        return element
    return ""


def _rich_text(element: dict[str, Any]) -> Iterator[str]:
    for child in element.get("elements", []):
        if child.get("type") == "text":
            yield child.get("text", "")
        elif "elements" in child:
            yield from _rich_text(child)


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every interactive element of `blocks`, each with its `block_id`."""
    found: list[dict[str, Any]] = []
    for block in blocks:
        elements = list(block.get("elements", [])) if block.get("type") == "actions" else []
        if isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
        for element in elements:
            if element.get("type") in {"button", "static_select", "overflow"}:
                found.append({**element, "block_id": block.get("block_id", "")})
    return found


def render(text: str, blocks: list[dict[str, Any]] | None, address: str = "") -> str:
    """A readable rendering; buttons appear as `[n] Label` (`[<address>n]` with an address,
    e.g. `[3.1]` for the first button of the shell's message 3)."""
    if not blocks:
        return text
    lines: list[str] = []
    number = 0
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(f"== {text_of(block.get('text'))} ==")
        elif kind == "divider":
            lines.append("-" * 40)
        elif kind == "section":
            if block.get("text"):
                lines.append(text_of(block["text"]))
            lines.extend(f"  {text_of(f)}" for f in block.get("fields", []))
        elif kind == "context":
            lines.append("  " + "  ".join(text_of(e) for e in block.get("elements", [])))
        elif kind in {"rich_text", "image"}:
            lines.append(text_of(block) or block.get("alt_text", ""))
        elif kind == "input":
            lines.append(f"[input] {text_of(block.get('label'))}")
        for element in buttons([block]):
            number += 1
            lines.append(f"  [{address}{number}] {_label(element)}")
    return "\n".join(line for line in lines if line is not None)


def _label(element: dict[str, Any]) -> str:
    """A button's text; a select menu's placeholder and its options (pressing it picks the
    first; answering in words picks any)."""
    if element.get("type") == "static_select":
        options = ", ".join(text_of(o.get("text")) for o in element.get("options", []))
        return f"{text_of(element.get('placeholder')) or 'Choose'} {options}"
    return text_of(element.get("text")) or element["action_id"]


def plain(text: str, blocks: list[dict[str, Any]] | None) -> str:
    """All the words of a message, for `in` checks."""
    return "\n".join([text, render("", blocks)]) if blocks else text
