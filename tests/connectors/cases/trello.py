"""Contract cases for the Trello connector: a "Roadmap" board (lists Backlog, Doing,
Done) with one card, beside the emulator's own "ATOM Sandbox" board."""

from __future__ import annotations

from sandbox.emulator import Emulator
from sandbox.trello import TrelloEmulator
from tests.connectors.contract_case import ActionCase

CARD_ID = "5f1e2d3c4b5a697887766554"
TOO_LONG = "x" * 16_385  # Trello caps names, descriptions and comments at 16384 characters


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
