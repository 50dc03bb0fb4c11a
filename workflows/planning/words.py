"""Workflow values and times in words people read (summaries, questions, assumptions)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

MAX_QUOTE = 120
TEMPLATE = re.compile(r"\{\{\s*(.*?)\s*\}\}", re.S)


def format_moment(moment: datetime) -> str:
    """ "Tuesday 1 December 2026 at 10:00" """
    return f"{moment:%A} {moment.day} {moment:%B %Y} at {moment:%H:%M}"


def readable(value: Any) -> str:
    """A value for people: templates as ‹issue title›, lists joined, long text cut."""
    if isinstance(value, list):
        return ", ".join(readable(item) for item in value)
    text = TEMPLATE.sub(lambda m: f"‹{_template_words(m.group(1))}›", str(value))
    text = text.replace("\n", " / ")
    return text if len(text) <= MAX_QUOTE else text[: MAX_QUOTE - 1] + "…"


def _template_words(expression: str) -> str:
    path = re.split(r"[\s|(]", expression.strip(), maxsplit=1)[0]
    parts = [p for p in path.split(".") if p not in ("trigger", "steps", "workflow")]
    return " ".join(p.replace("_", " ") for p in parts) or "trigger data"


def unused_line(parts: tuple[str, ...] | list[str]) -> str:
    """The preview's line for what a plan leaves out, with the question it raises."""
    quoted = ", ".join(f"“{part}”" for part in parts)
    them = "it" if len(parts) == 1 else "them"
    return (
        f"I did not use: {quoted}. How should the workflow use {them}? Reply in this thread "
        f"to change the plan, or approve it without {them}."
    )
