"""Slack mrkdwn for a terminal: what a person would see in the Slack client, in plain text.

Mentions become names (`<@U0ALICE001>` → `@alice`), channel links become `#name`, links show
their label and address, emoji shortcodes become the characters Slack draws, and `*bold*`
becomes bold when the terminal can show it. Code spans and blocks are left as they are.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

BOLD_ON = "\033[1m"
BOLD_OFF = "\033[22m"

EMOJI = {
    "white_check_mark": "✅",
    "heavy_check_mark": "✔️",
    "warning": "⚠️",
    "no_entry_sign": "🚫",
    "x": "❌",
    "repeat": "🔁",
    "arrows_counterclockwise": "🔄",
    "wastebasket": "🗑️",
    "thinking_face": "🤔",
    "raised_hand": "✋",
    "link": "🔗",
    "hourglass_flowing_sand": "⏳",
    "hourglass": "⌛",
    "fast_forward": "⏩",
    "rewind": "⏪",
    "double_vertical_bar": "⏸️",
    "arrow_forward": "▶️",
    "white_circle": "⚪",
    "large_green_circle": "🟢",
    "red_circle": "🔴",
    "grey_question": "❔",
    "question": "❓",
    "eyes": "👀",
    "electric_plug": "🔌",
    "ear": "👂",
    "alarm_clock": "⏰",
    "calendar": "📆",
    "email": "📧",
    "memo": "📝",
    "tada": "🎉",
    "wave": "👋",
    "rocket": "🚀",
    "bulb": "💡",
    "mag": "🔍",
    "clock1": "🕐",
    "bell": "🔔",
    "lock": "🔒",
    "gear": "⚙️",
    "thumbsup": "👍",
    "+1": "👍",
    "pencil2": "✏️",
    "inbox_tray": "📥",
    "outbox_tray": "📤",
    "page_facing_up": "📄",
    "file_folder": "📁",
}

_SPECIAL = re.compile(r"<([^<>]+)>")
_EMOJI = re.compile(r":([a-z0-9_+\-]+):")
_CODE = re.compile(r"(```.*?```|`[^`\n]*`)", re.DOTALL)
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")


@dataclass(frozen=True)
class Directory:
    """Names for the ids a message mentions: people and channels of the workspace."""

    people: Mapping[str, str] = field(default_factory=dict)
    channels: Mapping[str, str] = field(default_factory=dict)


def to_terminal(text: str, directory: Directory, *, styled: bool = False) -> str:
    """`text` (Slack mrkdwn) as a terminal shows it; `styled` adds ANSI bold."""
    parts = _CODE.split(text)
    return "".join(
        part if index % 2 else _render_plain(part, directory, styled)
        for index, part in enumerate(parts)
    )


def _render_plain(text: str, directory: Directory, styled: bool) -> str:
    text = _SPECIAL.sub(lambda match: _special(match.group(1), directory), text)
    text = _EMOJI.sub(lambda match: EMOJI.get(match.group(1), match.group(0)), text)
    bold = (BOLD_ON + r"\1" + BOLD_OFF) if styled else r"\1"
    text = _BOLD.sub(bold, text)
    return html.unescape(text)


def _special(inner: str, directory: Directory) -> str:
    """One `<…>` element: a mention, a channel, a special mention or a link."""
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        user = target[1:]
        return "@" + (label or directory.people.get(user, user))
    if target.startswith("#"):
        channel = target[1:]
        return "#" + (label or directory.channels.get(channel, channel))
    if target.startswith("!"):
        keyword = target[1:].split("^", 1)[0]
        return label or ("@" + keyword if keyword in {"here", "channel", "everyone"} else keyword)
    if label and label != target:
        return f"{label} ({target})"
    return target
