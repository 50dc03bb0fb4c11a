"""One clause, read into its parts: the head ("create a Trello card") and the phrases that
follow it, each introduced by a marker ("in the Inbox list", "titled 'Fix login'",
"with alice@example.com", "saying …").

    Phrases.read("create a card titled X in the Inbox list on the Roadmap board")
      head "create a card", [("titled", "X"), ("in", "the Inbox list"), ("on", "the Roadmap board")]

Names that contain a marker word need quotes ("create a card 'Meet in the lobby'").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from workflows.planning.text import PLACEHOLDER, Request, clean_name

MARKER = re.compile(
    r"(?:(?<=\s)|^)(?P<marker>"
    r"titled|entitled|called|named|saying|that\s+says|which\s+says|that\s+reads|reading"
    r"|with\s+(?:the\s+|a\s+)?(?:title|name|subject(?:\s+line)?|text|message|body|content"
    r"|description|notes?|labels?|tags?|comment|agenda)|containing"
    r"|and\s+(?:the\s+|a\s+)?(?:body|text|message|description)|know(?:\s+that)?"
    r"|with|about|regarding|into|inside|in|to(?!\s+-?\s*do\b)|onto|on|for|due(?:\s+on|\s+by)?"
    r"|assigned\s+to|assign(?:ed)?\s+(?:it\s+)?to|from|under|labell?ed|tagged|as|that|:)"
    r"(?=\s|$)",
    re.IGNORECASE,
)
SERVICE_WORDS = {
    "trello",
    "asana",
    "slack",
    "github",
    "git hub",
    "gmail",
    "email",
    "e-mail",
    "mail",
    "google drive",
    "drive",
    "my drive",
    "my google drive",
    "gdrive",
    "dropbox",
    "my dropbox",
    "calendar",
    "my calendar",
    "google calendar",
    "my google calendar",
    "the calendar",
    "it",
    "them",
    "me",
    "us",
}


@dataclass(frozen=True)
class Phrases:
    head: str
    parts: tuple[tuple[str, str], ...]  # (marker in lower case, phrase)

    @classmethod
    def read(cls, clause: str) -> Phrases:
        clause = re.sub(r"(?<=\S):(?=\s)", " :", clause)  # "Notify #support: the …"
        markers = list(MARKER.finditer(clause))
        head_end = markers[0].start() if markers else len(clause)
        parts = []
        for index, match in enumerate(markers):
            end = markers[index + 1].start() if index + 1 < len(markers) else len(clause)
            marker = re.sub(r"\s+", " ", match.group("marker").lower())
            marker = re.sub(r"\b(?:the|a) ", "", marker)  # "with the title" -> "with title"
            phrase = clause[match.end() : end].strip(" ,;")
            parts.append((marker, phrase))
        return cls(clause[:head_end].strip(" ,;"), tuple(parts))

    def after(self, *markers: str) -> list[str]:
        """Phrases introduced by any of `markers` (articles left out: "with title"; a
        trailing `*` matches a prefix)."""
        found = []
        for marker, phrase in self.parts:
            for wanted in markers:
                if marker == wanted or (wanted.endswith("*") and marker.startswith(wanted[:-1])):
                    found.append(phrase)
                    break
        return found

    def first(self, *markers: str) -> str | None:
        found = self.after(*markers)
        return found[0] if found else None


def is_service_word(phrase: str) -> bool:
    """Whether the phrase is only a service or a pronoun ("Trello", "my drive", "it") —
    not a name written in capitals ("IT", "US")."""
    name = clean_name(phrase)
    return name.lower() in SERVICE_WORDS and not _acronym(name)


def _acronym(name: str) -> bool:
    return len(name) > 1 and name.isupper()


def named(phrase: str, request: Request, noun: str, prefixes: str = "") -> str | None:
    """The name in "the Inbox list", "list Inbox", "Trello list 'To do'", "Operations":
    the phrase without articles, service words and the `noun` itself."""
    text = clean_name(phrase)
    pattern = (
        rf"^(?:(?:{prefixes})\s+)?(?:{noun}\s+(?:called\s+|named\s+)?)?(?P<name>.+?)"
        rf"(?:\s+{noun})?(?:\s+(?:in|on)\s+(?:{prefixes}))?$"
    )
    match = re.match(pattern, text, re.IGNORECASE) if prefixes else None
    if match is None:
        match = re.match(
            rf"^(?:{noun}\s+(?:called\s+|named\s+)?)?(?P<name>.+?)(?:\s+{noun})?$",
            text,
            re.IGNORECASE,
        )
    name = match.group("name") if match else text
    name = request.restore(clean_name(name))
    if not name or is_service_word(name) or name.lower() == noun:
        return None
    return name


def restore_text(phrase: str | None, request: Request) -> str | None:
    """A phrase as a value: quotes restored, filler trimmed; None when empty."""
    if phrase is None:
        return None
    text = request.restore(phrase).strip(" ,;:")
    return text or None


def only_quote(phrase: str | None, request: Request) -> str | None:
    """The quoted words when the phrase is a quotation ('X' or "X"), alone or followed
    only by an aside ("'X' (project IT)", "'X', list Office"), else None."""
    if phrase is None:
        return None
    match = re.fullmatch(
        rf"({PLACEHOLDER.pattern})(?:\s*(?:\(.*\)|,.*))?", phrase.strip(" ,;:."), re.S
    )
    return request.quotes[int(match.group(2))] if match else None
