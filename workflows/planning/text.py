"""Reading a request: normalising Slack markup, protecting quoted text, finding the
values people name (channels, people, e-mail addresses, repositories, paths, URLs) and
cutting the request into clauses.

Quoted text ("…", '…', “…”) is replaced by a placeholder before anything else reads
the request, so a message like 'meet at 5pm and post the notes' is never parsed as a
time or a second action; `Request.restore` puts the words back into values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_REQUEST_CHARS = 4000
_OPEN, _CLOSE = "\ue000", "\ue001"
PLACEHOLDER = re.compile(f"{_OPEN}(\\d+){_CLOSE}")

EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9][\w.+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?<!\.)")
CHANNEL = re.compile(r"(?<![\w&#])#([a-z0-9][a-z0-9._-]{0,79})(?<![._-])", re.IGNORECASE)
SLACK_ID_CHANNEL = re.compile(r"(?<!\w)([CG][A-Z0-9]{8,})(?!\w)")
MENTION = re.compile(r"(?<![\w.@])@([A-Za-z0-9][\w.-]*[A-Za-z0-9_]|[A-Za-z0-9])(?![\w@])")
SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)]")
REPO = re.compile(
    r"(?<![\w/.:@-])([A-Za-z0-9][A-Za-z0-9-]{0,38})/([A-Za-z0-9._-]{1,100})(?<!\.)(?![\w/])"
)
PATH = re.compile(r"(?<![\w/:.-])(/[^\s,;\"'<>]*[^\s,;\"'<>.!?])|(?<![\w/:.-])/(?=[\s,.;]|$)")

# Slack's own markup in message text: <@U123|name>, <#C123|name>, <mailto:a@b|a@b>, <url|label>.
_SLACK_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_SLACK_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^>]*))?>")
_SLACK_MAILTO = re.compile(r"<mailto:([^|>]+)(?:\|[^>]*)?>")
_SLACK_LINK = re.compile(r"<(https?://[^|>]+)(?:\|[^>]*)?>")
_QUOTES = re.compile(
    r"\"([^\"]+)\"|“([^”]+)”|‘([^’]+)’|`([^`]+)`|(?<![\w])'((?:[^']|'(?=\w))+)'(?![\w])"
)


def normalize(text: str) -> str:
    """One line of plain text: Slack markup unwrapped, whitespace collapsed, the
    placeholder characters this module uses removed, at most MAX_REQUEST_CHARS long."""
    text = text.replace(_OPEN, "").replace(_CLOSE, "")[:MAX_REQUEST_CHARS]
    text = _SLACK_USER.sub(lambda m: f"@{m.group(1)}", text)
    text = _SLACK_CHANNEL.sub(lambda m: f"#{m.group(2)}" if m.group(2) else m.group(1), text)
    text = _SLACK_MAILTO.sub(lambda m: m.group(1), text)
    text = _SLACK_LINK.sub(lambda m: m.group(1), text)
    text = text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    return re.sub(r"\s+", " ", text).strip()


@dataclass(frozen=True)
class Request:
    """A request with its quoted parts replaced by placeholders (`masked`)."""

    masked: str
    quotes: tuple[str, ...]

    @classmethod
    def read(cls, text: str) -> Request:
        quotes: list[str] = []

        def hide(match: re.Match[str]) -> str:
            quotes.append(next(g for g in match.groups() if g is not None).strip())
            return f"{_OPEN}{len(quotes) - 1}{_CLOSE}"

        return cls(_QUOTES.sub(hide, normalize(text)), tuple(quotes))

    def restore(self, text: str) -> str:
        """`text` (a piece of `masked`) with the quoted words back, without quote marks."""
        return PLACEHOLDER.sub(lambda m: self.quotes[int(m.group(1))], text).strip()


def quoted_in(text: str, request: Request) -> list[str]:
    """The quoted strings inside a piece of masked text, in order."""
    return [request.quotes[int(m.group(1))] for m in PLACEHOLDER.finditer(text)]


# --- values -----------------------------------------------------------------------------


def emails(text: str) -> list[str]:
    return list(dict.fromkeys(m.group() for m in EMAIL.finditer(text)))


def channels(text: str) -> list[str]:
    """Channels as written (`#dev`), and bare Slack channel IDs."""
    names = [f"#{m.group(1).lower()}" for m in CHANNEL.finditer(text) if not m.group(1).isdigit()]
    ids = [m.group(1) for m in SLACK_ID_CHANNEL.finditer(text)]
    return list(dict.fromkeys(names + ids))


def mentions(text: str) -> list[str]:
    """People named with @: Slack user IDs (from Slack markup) stay IDs, names keep @."""
    found = []
    for match in MENTION.finditer(text):
        name = match.group(1)
        found.append(name if SLACK_USER_ID.match(name) else f"@{name}")
    return list(dict.fromkeys(found))


def urls(text: str) -> list[str]:
    return list(dict.fromkeys(m.group() for m in URL.finditer(text)))


def repos(text: str) -> list[str]:
    """`owner/name` repositories (not paths, dates, URLs or e-mail parts)."""
    found = []
    without_urls = URL.sub(" ", text)
    for match in REPO.finditer(without_urls):
        owner, name = match.group(1), match.group(2)
        if owner.isdigit() and name.isdigit():
            continue  # 3/4, a fraction or a date
        if owner.lower() in ("and", "or") or name.lower() in ("or", "and"):
            continue
        found.append(f"{owner}/{name}")
    return list(dict.fromkeys(found))


def paths(text: str) -> list[str]:
    without_urls = URL.sub(" ", text)
    return [m.group(1) or "/" for m in PATH.finditer(without_urls)]


def blank_values(text: str) -> str:
    """`text` with URLs, paths, addresses, channels and mentions blanked out (same length),
    so words inside them ("/Reports/Daily", "#bugs", "todo.txt") are not read as keywords
    or times."""
    for pattern in (URL, EMAIL, PATH, CHANNEL, MENTION):
        text = pattern.sub(lambda m: " " * len(m.group()), text)
    return text


def has_keyword(pattern: str, text: str) -> bool:
    """Whether a keyword pattern occurs in `text` outside the values (#channels, paths,
    URLs, …), in any case."""
    return re.search(pattern, blank_values(text), re.IGNORECASE) is not None


# --- clauses ------------------------------------------------------------------------------

ACTION_VERBS = (
    "create",
    "make",
    "add",
    "open",
    "file",
    "raise",
    "log",
    "post",
    "send",
    "tell",
    "notify",
    "message",
    "ping",
    "alert",
    "let",
    "dm",
    "email",
    "e-mail",
    "mail",
    "schedule",
    "book",
    "set up",
    "arrange",
    "invite",
    "block",
    "label",
    "tag",
    "comment",
    "reply",
    "respond",
    "upload",
    "save",
    "put",
    "store",
    "copy",
    "back up",
    "share",
    "move",
    "close",
    "complete",
    "finish",
    "mark",
    "remind",
    "draft",
    "write",
    "request",
    "ask",
    "call",
    "hit",
    "trigger",
    "fire",
    "list",
    "fetch",
    "react",
    "announce",
    "assign",
    "get",
    "wait",
    "forward",
    "check",
    "monitor",
    "poll",
    "show",
    "drop",
    "shoot",
    "shout",
    "broadcast",
    "inform",
    "warn",
    "give",
)
UNSUPPORTED_VERBS = (
    "archive",
    "delete",
    "remove",
    "update",
    "edit",
    "translate",
    "summarize",
    "summarise",
    "print",
    "buy",
    "order",
    "tweet",
    "text",
    "sms",
    "merge",
    "deploy",
    "approve",
    "reject",
    "download",
    "rename",
    "cancel",
    "pay",
    "sign",
    "publish",
    "star",
)
TAIL_WHEN_WORDS = r"(?:whenever|when|every\s+time|each\s+time|as\s+soon\s+as)"
WHEN_WORDS = (
    rf"(?:{TAIL_WHEN_WORDS}|once|if|for\s+(?:each|every|all)\s+new|on\s+(?:each|every|any)\s+new"
    r"|on\s+new)"
)
# Verbs that open the actions even without "," / "and" before them ("When an issue is
# opened in acme/api create a card"); the others are too often nouns ("the Inbox list").
STRONG_VERBS = frozenset(
    {
        "open",
        "raise",
        "create",
        "make",
        "add",
        "send",
        "tell",
        "notify",
        "post",
        "dm",
        "schedule",
        "book",
        "upload",
        "save",
        "move",
        "close",
        "remind",
        "ping",
        "invite",
        "email",
        "label",
        "comment",
        "store",
        "call",
        "hit",
        "fetch",
        "draft",
        "share",
        "message",
        "alert",
        "announce",
        "mark",
        "complete",
        "react",
        "assign",
        "copy",
        "check",
        "monitor",
        "shout",
        "broadcast",
        "inform",
        "warn",
    }
)
_NOUN_BEFORE = re.compile(
    r"\b(?:a|an|the|new|any|every|each|some|my|our|your|their|his|her|its|this|that|one|"
    r"important|urgent|unread|starred|flagged|incoming|i|we|you|someone|somebody|anyone|they|he|she|"
    r"is|are|was|were|be|been|gets?|got|receive[sd]?|to|of|for|no)\s+$",
    re.IGNORECASE,
)
_VERB = re.compile(
    r"\b(?:please\s+)?(?P<verb>"
    + "|".join(re.escape(v).replace(r"\ ", r"\s+") for v in ACTION_VERBS + UNSUPPORTED_VERBS)
    + r")\b(?![-'])",
    re.IGNORECASE,
)
# Verbs that are actions only when what they list follows ("list the open issues of
# acme/api", "show my calendar"); otherwise they are nouns or names.
LISTING_ONLY = frozenset({"list", "show"})
_LISTED = re.compile(
    r"(?:\s+\S+){0,4}?\s+(?:issues|events|meetings|calendar|agenda|prs|pull\s+requests|"
    r"schedule|what)\b|\s+me\b",
    re.IGNORECASE,
)
# Verbs that are actions only before what they call ("call https://…", "hit the webhook").
CALLING_ONLY = frozenset({"call", "hit"})
_CALLED = re.compile(
    r"(?:\s+\S+){0,3}?\s+(?:https?://|(?:the\s+|my\s+|our\s+)?(?:webhook|endpoint|api|url)\b)",
    re.IGNORECASE,
)
_BOUNDARY = re.compile(
    r"(?:^|[,;.:!?]|\b(?:and|then|also|plus|&|after\s+that|afterwards|next|finally))"
    r"(?:\s*(?:,|and|then|also|please|after\s+that))*\s*$",
    re.IGNORECASE,
)
_WHEN_START = re.compile(rf"^\s*{WHEN_WORDS}\b", re.IGNORECASE)
_WHEN_INSIDE = re.compile(rf"(?:,\s*|\s+)(?P<when>{TAIL_WHEN_WORDS})\s+(?=\w)", re.IGNORECASE)
_JOINERS = re.compile(
    r"^(?:[\s,;.:!?&]|\b(?:and|then|also|plus|please|after\s+that|afterwards|next|finally)\b)+|"
    r"(?:[\s,;.:!?&]|\b(?:and|then|also|plus|after\s+that)\b)+$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Clause:
    text: str  # masked text of the clause, trimmed of joiners ("and", "then", commas)
    start: int
    verb: str | None  # the action verb it starts with (lower case), None for a preamble

    @property
    def is_when(self) -> bool:
        return _WHEN_START.match(self.text) is not None


def strip_joiners(text: str) -> str:
    previous = None
    while previous != text:
        previous, text = text, _JOINERS.sub("", text).strip()
    return text


def _verb_starts(masked: str) -> list[tuple[int, str]]:
    """(position, verb) of every verb that starts a clause."""
    starts: list[tuple[int, str]] = []
    for match in _VERB.finditer(masked):
        before = masked[: match.start()]
        if _NOUN_BEFORE.search(before):
            continue
        verb = re.sub(r"\s+", " ", match.group("verb").lower())
        if verb in LISTING_ONLY and not _LISTED.match(masked, match.end()):
            continue  # ", list Office": a Trello list, not "list the open issues"
        if verb in CALLING_ONLY and not _CALLED.match(masked, match.end()):
            continue  # "the client call": a meeting, not "call https://…"
        at_boundary = _BOUNDARY.search(before) is not None
        opens_actions = not starts and verb in STRONG_VERBS
        if at_boundary or opens_actions:
            starts.append((match.start(), verb))
    return starts


def split_clauses(masked: str) -> list[Clause]:
    """Cut a request into a leading preamble (a trigger or time, possibly empty) and
    clauses that each start with an action verb. A trailing "whenever …" part becomes its
    own clause (with verb None)."""
    tail_start = len(masked)
    tail_match = None
    for match in _WHEN_INSIDE.finditer(masked):
        if match.start() > 0 and not _WHEN_START.match(masked):
            tail_match, tail_start = match, match.start()
            break
    body = masked[:tail_start]
    starts = _verb_starts(body)
    clauses: list[Clause] = []
    first = starts[0][0] if starts else len(body)
    preamble = strip_joiners(body[:first])
    if preamble:
        clauses.append(Clause(preamble, 0, None))
    for index, (position, verb) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else len(body)
        text = strip_joiners(body[position:end])
        text = re.sub(r"^please\s+", "", text, flags=re.IGNORECASE)
        if text:
            clauses.append(Clause(text, position, verb))
    if tail_match is not None:
        tail = strip_joiners(masked[tail_match.start("when") :])
        clauses.insert(0, Clause(tail, tail_match.start("when"), None))
    return clauses


def clean_name(text: str) -> str:
    """A name as a person wrote it, without articles and filler ("the Inbox" -> "Inbox")."""
    text = strip_joiners(text)
    text = re.sub(r"^(?:the|my|our|a|an)\s+", "", text, flags=re.IGNORECASE)
    return text.strip(" .,:;!?\"'")


def sentence(text: str) -> str:
    """Text as a message: first letter upper case, trailing joiners removed."""
    text = strip_joiners(text).strip()
    return text[:1].upper() + text[1:] if text else text
