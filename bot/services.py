"""What the Slack layer needs from the rest of ATOM, handed in by the composition root
(cli/). Listeners receive it through Bolt's context as `services`."""

from __future__ import annotations

from dataclasses import dataclass

from bot.dedupe import EventDeduplicator
from core.db import Database
from core.settings import Settings


@dataclass
class BotServices:
    settings: Settings
    database: Database
    dedupe: EventDeduplicator
