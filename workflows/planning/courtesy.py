"""Words that ask nicely but ask for nothing: "hey", "can you please", "quick one:",
"if it's not too much trouble", "thanks!". They are taken out of a request before it is
read, so they are neither part of a message nor an action the planner cannot do."""

from __future__ import annotations

import re

GREETING = r"(?:hey|hi|hello|ok|okay|yo|so|um|hmm|btw|quick\s+one|quick\s+question|one\s+thing)"
ASKING = (
    r"(?:(?:can|could|would|will)\s+you\s+(?:please\s+|pls\s+|kindly\s+)?|please\s+|kindly\s+"
    r"|(?:i|we)\s*(?:want|need|would\s+like|'d\s+like|’d\s+like)\s+(?:you\s+)?to\s+|let'?s\s+"
    r"|go\s+ahead\s+and\s+|(?:can|could)\s+(?:i|we)\s+(?:please\s+)?(?:get|have)\s+(?=an?\s))"
)
LEADING = re.compile(
    rf"^(?:{GREETING}\b[\s,!:.-]*(?:atom\b[\s,!:.-]*)?)*(?:{ASKING}(?:please\b[\s,]*)?)?",
    re.IGNORECASE,
)
# Asides that may stand anywhere, set off by commas or at either end.
ASIDE = (
    r"(?:if\s+it'?s\s+not\s+too\s+much\s+trouble|if\s+possible|if\s+you\s+can|if\s+you\s+could"
    r"|if\s+you\s+don'?t\s+mind|when\s+you\s+get\s+a\s+(?:chance|minute)|please|pls|plz|thanks?"
    r"|thank\s+you(?:\s+so\s+much|\s+very\s+much)?|thx|ty|cheers|much\s+appreciated)"
)
ASIDE_BETWEEN_COMMAS = re.compile(rf",\s*{ASIDE}\s*,", re.IGNORECASE)
TRAILING = re.compile(rf"(?:[\s,.!?]+(?:{ASIDE}|:\)|🙏))*[\s,.!?]*$", re.IGNORECASE)


# "I need a Trello card …", "can I get a task …": asking for a thing is asking to create it
WANTING = re.compile(
    r"^(?:(?:i|we)\s*(?:need|want|would\s+like|'d\s+like|’d\s+like)|(?:can|could)\s+(?:i|we)"
    r"\s+(?:please\s+)?(?:get|have)|give\s+me)\s+(?=(?:an?|one|another)\s)",
    re.IGNORECASE,
)


def strip_courtesy(text: str) -> str:
    """`text` without greetings, polite openings, asides and thanks; the request itself
    unchanged ("Could you please, if possible, post 'hi' in #ci? thanks" -> "post 'hi'
    in #ci")."""
    text = ASIDE_BETWEEN_COMMAS.sub(",", text)
    previous = None
    while previous != text:
        previous = text
        text = LEADING.sub("", text, count=1).lstrip(" ,")
        text = re.sub(rf"^{ASIDE}\s*,\s*", "", text, flags=re.IGNORECASE)
    return WANTING.sub("create ", TRAILING.sub("", text), count=1)
