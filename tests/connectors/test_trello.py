"""The Trello connector against the Trello emulator. What the connector sends and what
the emulator answers are checked against Trello's official REST description."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from connectors.base import (
    ActionContext,
    AuthExpired,
    Credentials,
    InvalidInput,
    NotFound,
    StaticCredentials,
)
from connectors.trello import CardCreatedConfig, connector, created_at, poll_card_created
from sandbox.trello import TrelloEmulator
from tests.connectors.cases.trello import CARD_ID, seed_roadmap
from tests.connectors.contract_case import connector_context
from tests.specs import assert_request_matches, validate_response, validate_schema


@pytest.fixture
def trello() -> Iterator[TrelloEmulator]:
    with TrelloEmulator() as emulator:
        seed_roadmap(emulator)
        yield emulator


@pytest.fixture
async def ctx(trello: TrelloEmulator) -> AsyncIterator[ActionContext]:
    async with connector_context(connector, trello) as context:
        yield context


async def run(ctx: ActionContext, action: str, **inputs: Any) -> Any:
    return await connector.actions[action].run(ctx, inputs)


def board_id(trello: TrelloEmulator, name: str) -> str:
    return next(b.id for b in trello.boards.values() if b.name == name)


def assert_documented(trello: TrelloEmulator, path: str, method: str = "GET") -> None:
    """The last request to `path` is one the description documents."""
    assert_request_matches("trello", trello.received(path, method)[-1])


# --- create_card ---------------------------------------------------------------------


async def test_create_card_by_list_name_sends_the_documented_request(
    trello: TrelloEmulator, ctx: ActionContext
) -> None:
    card = await run(
        ctx,
        "create_card",
        list="Backlog",
        name="Release notes",
        description="For 2.4",
        due="2026-12-01T09:00:00Z",
    )
    backlog = trello.list_named(board_id(trello, "Roadmap"), "Backlog")
    sent = trello.received("/1/cards", "POST")[-1]
    assert_request_matches("trello", sent)
    assert sent.query["idList"] == backlog.id
    assert sent.query["name"] == "Release notes"
    assert sent.query["desc"] == "For 2.4"
    assert sent.query["pos"] == "bottom"
    assert sent.query["key"] == trello.api_key and sent.query["token"]
    assert "authorization" not in sent.headers
    stored = trello.cards[card.id]
    assert (stored.name, stored.list_id, stored.desc) == ("Release notes", backlog.id, "For 2.4")
    assert stored.due == "2026-12-01T09:00:00.000Z"
    assert card.url.startswith("https://trello.com/c/") and card.list_id == backlog.id
    validate_schema("trello", "Card", stored.to_api())


async def test_create_card_answer_matches_the_description(trello: TrelloEmulator) -> None:
    token = trello.issue_token()
    backlog = trello.list_named(board_id(trello, "Roadmap"), "Backlog")
    params = {"key": trello.api_key, "token": token["access_token"], "idList": backlog.id}
    async with httpx.AsyncClient(base_url=trello.url) as client:
        answer = await client.post("/1/cards", params={**params, "name": "Direct"})
        lists = await client.get(f"/1/boards/{backlog.board_id}/lists", params=params)
        cards = await client.get(f"/1/lists/{backlog.id}/cards", params=params)
    validate_response("trello", "/1/cards", "POST", answer.status_code, answer.json())
    validate_response("trello", f"/1/boards/{backlog.board_id}/lists", "GET", 200, lists.json())
    validate_response("trello", f"/1/lists/{backlog.id}/cards", "GET", 200, cards.json())
    assert [c["name"] for c in cards.json()] == ["Direct"]


async def test_create_card_on_a_board_given_by_id_reads_its_lists(
    trello: TrelloEmulator, ctx: ActionContext
) -> None:
    roadmap = board_id(trello, "Roadmap")
    card = await run(ctx, "create_card", list="doing", board=roadmap, name="Case-insensitive")
    assert card.list_id == trello.list_named(roadmap, "Doing").id
    assert_documented(trello, f"/1/boards/{roadmap}/lists")
    assert not trello.received("/1/members/me/boards")


async def test_create_card_with_a_list_id_needs_no_lookup(
    trello: TrelloEmulator, ctx: ActionContext
) -> None:
    done = trello.list_named(board_id(trello, "Roadmap"), "Done")
    card = await run(ctx, "create_card", list=done.id, name="Straight in", position="top")
    assert card.list_id == done.id
    assert [r.path for r in trello.received()] == ["/1/cards"]


async def test_a_list_name_on_several_boards_needs_the_board(
    trello: TrelloEmulator, ctx: ActionContext
) -> None:
    with pytest.raises(InvalidInput, match="several boards have a list called 'Doing'"):
        await run(ctx, "create_card", list="Doing", name="Which one?")
    card = await run(ctx, "create_card", list="Doing", board="roadmap", name="This one")
    assert card.board_id == board_id(trello, "Roadmap")


async def test_unknown_list_names_say_which_lists_exist(ctx: ActionContext) -> None:
    with pytest.raises(NotFound, match="'Backlog', 'Doing', 'Done'"):
        await run(ctx, "create_card", list="Icebox", board="Roadmap", name="Lost")
    with pytest.raises(NotFound, match="none of your open boards is called 'Nope'"):
        await run(ctx, "create_card", list="Inbox", board="Nope", name="Lost")


async def test_other_members_boards_are_invisible(trello: TrelloEmulator) -> None:
    trello.add_board("Private", lists=("Secrets",), members=("someone-else",))
    async with connector_context(connector, trello) as ctx:
        with pytest.raises(NotFound, match="none of your open boards has a list called"):
            await run(ctx, "create_card", list="Secrets", name="Peek")


async def test_service_rejections_carry_trellos_words(ctx: ActionContext) -> None:
    with pytest.raises(InvalidInput, match="trello: invalid value for name"):
        await run(ctx, "create_card", list="Backlog", name="x" * 16_385)
    with pytest.raises(NotFound, match="could not find the board that the card belongs to"):
        await run(ctx, "create_card", list="0123456789abcdef01234567", name="Nowhere")


# --- authentication ------------------------------------------------------------------


async def test_bad_tokens_and_keys_mean_reconnect(trello: TrelloEmulator) -> None:
    bad_token = StaticCredentials(Credentials("0" * 64, {"api_key": trello.api_key}))
    async with connector_context(connector, trello, bad_token) as ctx:
        with pytest.raises(AuthExpired, match="Reconnect it"):
            await run(ctx, "comment_on_card", card=CARD_ID, text="hi")
    real = trello.issue_token()
    bad_key = StaticCredentials(Credentials(real["access_token"], {"api_key": "wrong"}))
    async with connector_context(connector, trello, bad_key) as ctx:
        with pytest.raises(AuthExpired, match=r"\(invalid key\)"):
            await run(ctx, "comment_on_card", card=CARD_ID, text="hi")
    no_key = StaticCredentials(Credentials(real["access_token"]))
    async with connector_context(connector, trello, no_key) as ctx:
        with pytest.raises(AuthExpired, match="no Trello API key"):
            await run(ctx, "comment_on_card", card=CARD_ID, text="hi")
    assert len(trello.received()) == 2  # the key-less call never left


async def test_a_read_only_token_cannot_write(trello: TrelloEmulator) -> None:
    read_only = StaticCredentials(Credentials(**trello.issue_token(scopes={"read"})))
    async with connector_context(connector, trello, read_only) as ctx:
        # Trello answers 401 for a missing permission
        with pytest.raises(AuthExpired, match="unauthorized permission requested"):
            await run(ctx, "comment_on_card", card=CARD_ID, text="hi")
    sent = trello.received(f"/1/cards/{CARD_ID}/actions/comments", "POST")[-1]
    assert sent.query["token"] == read_only.credentials.access_token


async def test_errors_are_plain_text_except_rate_limits(trello: TrelloEmulator) -> None:
    async with httpx.AsyncClient(base_url=trello.url) as client:
        no_key = await client.get("/1/members/me/boards")
        trello.fail("/1/members", status=429, retry_after=3)
        limited = await client.get(
            "/1/members/me/boards",
            params={"key": trello.api_key, "token": trello.issue_token()["access_token"]},
        )
    assert (no_key.status_code, no_key.text) == (401, "invalid key")
    assert no_key.headers["content-type"].startswith("text/plain")
    assert limited.status_code == 429 and limited.headers["retry-after"] == "3"
    assert limited.json() == {"error": "API_TOKEN_LIMIT_EXCEEDED", "message": "Rate limit exceeded"}


async def test_rate_limits_are_waited_out(trello: TrelloEmulator, ctx: ActionContext) -> None:
    trello.fail("/1/cards", method="POST", status=429, retry_after=0)
    card = await run(ctx, "create_card", list="Backlog", name="Patience")
    assert len(trello.received("/1/cards", "POST")) == 2
    assert trello.cards[card.id].name == "Patience"


# --- move_card and comment_on_card ---------------------------------------------------


async def test_move_card_by_list_name_uses_the_cards_board(
    trello: TrelloEmulator, ctx: ActionContext
) -> None:
    moved = await run(ctx, "move_card", card=CARD_ID, list="Done")
    again = await run(ctx, "move_card", card=CARD_ID, list="Done")
    roadmap = board_id(trello, "Roadmap")
    done = trello.list_named(roadmap, "Done")
    assert moved.list_id == again.list_id == done.id == trello.cards[CARD_ID].list_id
    sent = trello.received(f"/1/cards/{CARD_ID}", "PUT")[-1]
    assert_request_matches("trello", sent)
    assert (sent.query["idList"], sent.query["idBoard"]) == (done.id, roadmap)
    assert connector.actions["move_card"].idempotent


async def test_move_card_to_another_board(trello: TrelloEmulator, ctx: ActionContext) -> None:
    card = trello.cards[CARD_ID]
    moved = await run(ctx, "move_card", card=card.short_link, list="Inbox", board="ATOM Sandbox")
    assert moved.board_id == board_id(trello, "ATOM Sandbox") == trello.cards[CARD_ID].board_id


async def test_comment_on_card(trello: TrelloEmulator, ctx: ActionContext) -> None:
    comment = await run(ctx, "comment_on_card", card=CARD_ID, text="Deployed 🚀")
    assert (comment.card_id, comment.text) == (CARD_ID, "Deployed 🚀")
    assert trello.comments[comment.id].text == "Deployed 🚀"
    path = f"/1/cards/{CARD_ID}/actions/comments"
    sent = trello.received(path, "POST")[-1]
    assert_request_matches("trello", sent)
    token = trello.issue_token()
    async with httpx.AsyncClient(base_url=trello.url) as client:
        answer = await client.post(
            path,
            params={"key": trello.api_key, "token": token["access_token"], "text": "Direct"},
        )
    validate_response("trello", path, "POST", 200, answer.json())
    with pytest.raises(InvalidInput, match="trello: invalid id"):
        await run(ctx, "comment_on_card", card="not a card", text="Where?")


# --- card_created --------------------------------------------------------------------


async def test_card_created_starts_from_now_and_reports_each_card_once(
    trello: TrelloEmulator, ctx: ActionContext
) -> None:
    config = CardCreatedConfig(board="Roadmap")
    first = await poll_card_created(ctx, config, None)
    assert first.items == []  # the card already on the board is not news
    doing = trello.list_named(board_id(trello, "Roadmap"), "Doing")
    new = trello.add_card(doing.id, "Fresh")
    older = trello.add_card(doing.id, "Backdated", created=time.time() - 3600)
    second = await poll_card_created(ctx, config, first.cursor)
    assert [item.id for item in second.items] == [new.id]
    assert second.items[0].payload["name"] == "Fresh"
    assert second.items[0].payload["created_at"] == created_at(new.id).isoformat()
    third = await poll_card_created(ctx, config, second.cursor)
    assert third.items == []
    assert older.id not in {item.id for item in second.items}
    assert_documented(trello, f"/1/boards/{doing.board_id}/lists")


async def test_card_created_in_one_list(trello: TrelloEmulator, ctx: ActionContext) -> None:
    roadmap = board_id(trello, "Roadmap")
    config = CardCreatedConfig(board=roadmap, list="Backlog")
    start = await poll_card_created(ctx, config, None)
    backlog, done = trello.list_named(roadmap, "Backlog"), trello.list_named(roadmap, "Done")
    wanted = [trello.add_card(backlog.id, f"Idea {n}") for n in range(3)]
    trello.add_card(done.id, "Elsewhere")
    polled = await poll_card_created(ctx, config, start.cursor)
    assert [item.id for item in polled.items] == [card.id for card in wanted]
    assert_documented(trello, f"/1/lists/{backlog.id}/cards")


async def test_card_created_in_a_list_named_without_its_board(
    trello: TrelloEmulator, ctx: ActionContext
) -> None:
    """A list name alone is enough when one board has it: no question about the board."""
    config = CardCreatedConfig(list="Backlog")
    start = await poll_card_created(ctx, config, None)
    roadmap = board_id(trello, "Roadmap")
    backlog, done = trello.list_named(roadmap, "Backlog"), trello.list_named(roadmap, "Done")
    wanted = trello.add_card(backlog.id, "Idea")
    trello.add_card(done.id, "Elsewhere")
    polled = await poll_card_created(ctx, config, start.cursor)
    assert [item.id for item in polled.items] == [wanted.id]


def test_card_created_needs_a_board_or_a_list() -> None:
    with pytest.raises(ValueError, match="board to watch, or a list"):
        CardCreatedConfig()


# --- the catalog ---------------------------------------------------------------------


def test_declarations() -> None:
    actions = connector.actions
    assert not actions["create_card"].idempotent and not actions["comment_on_card"].idempotent
    assert actions["move_card"].idempotent
    assert connector.scopes() == ["read", "write"]
    assert connector.auth.kind == "token"
    output = actions["create_card"].output_model.model_json_schema()["properties"]
    assert {"id", "name", "url"} <= set(output)
