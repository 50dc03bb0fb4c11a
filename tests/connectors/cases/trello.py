"""Contract cases for the Trello connector: a "Roadmap" board (lists Backlog, Doing,
Done) with one card, beside the emulator's own "ATOM Sandbox" board.

`connector_context` is the ActionContext every sandboxed connector test uses (the Asana
and Dropbox tests too)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from connectors.base import (
    ActionContext,
    Connector,
    Credentials,
    CredentialSource,
    StaticCredentials,
)
from connectors.client import HttpPool
from core.settings import Settings
from sandbox.emulator import Emulator
from sandbox.trello import TrelloEmulator
from tests.connectors.contract_case import ActionCase

CARD_ID = "5f1e2d3c4b5a697887766554"
TOO_LONG = "x" * 16_385  # Trello caps names, descriptions and comments at 16384 characters


@asynccontextmanager
async def connector_context(
    connector: Connector,
    emulator: Emulator,
    credentials: CredentialSource | None = None,
    **settings: Any,
) -> AsyncIterator[ActionContext]:
    """An ActionContext for `connector` pointed at `emulator`, authenticated as the
    sandbox user unless `credentials` say otherwise; `settings` override the defaults."""
    pool = HttpPool(Settings(_env_file=None, **emulator.settings_overrides(), **settings))
    source = credentials or StaticCredentials(Credentials(**emulator.issue_token()))
    try:
        yield ActionContext(
            team_id="T0SANDBOX", user_id="U0SANDBOX", http=pool.for_connector(connector, source)
        )
    finally:
        await pool.aclose()


def seed_roadmap(emulator: Emulator) -> None:
    assert isinstance(emulator, TrelloEmulator)
    board = emulator.add_board("Roadmap", lists=("Backlog", "Doing", "Done"))
    emulator.add_card(emulator.list_named(board.id, "Doing").id, "Fix login", card_id=CARD_ID)


CASES = [
    ActionCase(
        "trello.create_card",
        {"list": "Backlog", "name": "Write release notes", "description": "For 2.4"},
        {"list": "Backlog", "name": TOO_LONG},
        seed=seed_roadmap,
        notes='Trello answers 400 "invalid value for name" (plain text) for a long name',
    ),
    ActionCase(
        "trello.move_card",
        {"card": CARD_ID, "list": "Done"},
        {"card": "not-a-card", "list": "Done"},
        seed=seed_roadmap,
        notes='Trello answers 400 "invalid id" for a malformed card id',
    ),
    ActionCase(
        "trello.comment_on_card",
        {"card": CARD_ID, "text": "Deployed to staging."},
        {"card": CARD_ID, "text": TOO_LONG},
        seed=seed_roadmap,
        notes='Trello answers 400 "invalid value for text" for a long comment',
    ),
]
