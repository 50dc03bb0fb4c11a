"""Small Block Kit builders that keep every message inside Slack's limits, so a long plan
or a big output is truncated sensibly instead of being rejected (`invalid_blocks`)."""

from __future__ import annotations

import json
from typing import Any

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_VALUE = 2000
MAX_FALLBACK_TEXT = 3000
ELLIPSIS = "…"

Block = dict[str, Any]


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def header(text: str) -> Block:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": clip(text, MAX_HEADER_TEXT), "emoji": True},
    }


def section(text: str, block_id: str | None = None, accessory: Block | None = None) -> Block:
    block: Block = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": clip(text, MAX_SECTION_TEXT)},
    }
    if block_id:
        block["block_id"] = block_id
    if accessory:
        block["accessory"] = accessory
    return block


def context(*texts: str) -> Block:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": clip(t, MAX_SECTION_TEXT)} for t in texts[:10]],
    }


def divider() -> Block:
    return {"type": "divider"}


def button(
    text: str,
    action_id: str,
    value: str = "",
    style: str | None = None,
    url: str | None = None,
    confirm: Block | None = None,
) -> Block:
    element: Block = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": clip(text, MAX_BUTTON_TEXT)},
    }
    if value:
        element["value"] = clip(value, MAX_VALUE)
    if style:
        element["style"] = style
    if url:
        element["url"] = url
    if confirm:
        element["confirm"] = confirm
    return element


def actions(*elements: Block, block_id: str | None = None) -> Block:
    block: Block = {"type": "actions", "elements": list(elements)[:25]}
    if block_id:
        block["block_id"] = block_id
    return block


def fit(
    blocks: list[Block], note: str = "Some details were left out to fit in Slack."
) -> list[Block]:
    """At most MAX_BLOCKS blocks; the trailing actions block (the buttons) always survives."""
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    tail = [blocks[-1]] if blocks[-1].get("type") == "actions" else []
    keep = MAX_BLOCKS - len(tail) - 1
    return [*blocks[:keep], context(note), *tail]


def fallback_text(text: str) -> str:
    """The notification text shown where blocks are not (push notifications, search)."""
    return clip(text, MAX_FALLBACK_TEXT)


def show_value(value: Any, limit: int = 300) -> str:
    """A workflow value as one short line for a message."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return clip(" ".join(text.split()), limit)
