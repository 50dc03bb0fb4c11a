"""Trello: cards on the lists of a board.

Trello authenticates every call with two query parameters, the app's API `key` and the
user's `token` (from Trello's `1/authorize` flow), not a bearer header. Errors are
mostly plain-text bodies ("invalid id", "invalid token"); the default error reader
passes them through.

Lists and boards can be named the way people name them ("Inbox" on "Roadmap"): a name
is resolved to an id with `GET /boards/{id}/lists` when the board is given by id, and
with `GET /members/me/boards?lists=open` otherwise (which also finds the board by name
or short link, or the only board that has such a list).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any, Literal, Self
from urllib.parse import quote

import httpx
from pydantic import BaseModel, Field, model_validator

from connectors.base import (
    ActionContext,
    AuthExpired,
    Connector,
    Credentials,
    EventItem,
    InvalidInput,
    NotFound,
    PollResult,
    TokenAuth,
)
from connectors.cursors import TimeCursor, cursor_scope

TRELLO_ID = re.compile(r"[0-9a-fA-F]{24}")
SHORT_LINK = re.compile(r"[0-9A-Za-z]{8}")
CARD_ID_DESCRIPTION = "The card: its 24-character id or the 8-character short link in its URL."


def sign_with_key_and_token(request: httpx.Request, credentials: Credentials) -> None:
    """Add Trello's `key` (the app's API key, kept with the connection) and `token`."""
    api_key = credentials.extra.get("api_key")
    if not api_key:
        raise AuthExpired("trello", "the connection has no Trello API key")
    request.url = request.url.copy_merge_params({"key": api_key, "token": credentials.access_token})


connector = Connector(
    name="trello",
    title="Trello",
    description="Create, move and comment on cards; react to new cards.",
    auth=TokenAuth(
        authorize_url="https://trello.com/1/authorize", api_key_setting="trello_api_key"
    ),
    base_url_setting="trello_base_url",
    sign_request=sign_with_key_and_token,
)


# --- models --------------------------------------------------------------------------


class CardOutput(BaseModel):
    id: str
    name: str
    url: str = Field(description="The card's full URL.")
    short_url: str
    description: str = ""
    list_id: str
    board_id: str
    due: str | None = None

    @classmethod
    def from_api(cls, card: dict[str, Any]) -> Self:
        return cls(
            id=card["id"],
            name=card.get("name", ""),
            url=card.get("url", ""),
            short_url=card.get("shortUrl", ""),
            description=card.get("desc") or "",
            list_id=card.get("idList", ""),
            board_id=card.get("idBoard", ""),
            due=card.get("due"),
        )


class CreateCardInput(BaseModel):
    name: str = Field(min_length=1, description="The card's title.")
    list: str = Field(
        min_length=1, description="The list to add the card to: its name (e.g. Inbox) or its id."
    )
    board: str | None = Field(
        None,
        description="The board holding the list: its name, id or short link. Needed only "
        "when the list is given by name and several boards have a list with that name.",
    )
    description: str = Field("", description="The card's description.")
    due: datetime | date | None = Field(None, description="When the card is due.")
    position: Literal["top", "bottom"] = Field("bottom", description="Where in the list.")


class MoveCardInput(BaseModel):
    card: str = Field(min_length=1, description=CARD_ID_DESCRIPTION)
    list: str = Field(min_length=1, description="The list to move the card to: its name or id.")
    board: str | None = Field(
        None,
        description="The board of the target list (name, id or short link); by default the "
        "card's own board.",
    )
    position: Literal["top", "bottom"] | None = Field(None, description="Where in the list.")


class CommentOnCardInput(BaseModel):
    card: str = Field(min_length=1, description=CARD_ID_DESCRIPTION)
    text: str = Field(min_length=1, description="The comment.")


class CommentOutput(BaseModel):
    id: str = Field(description="The id of the comment (a Trello action).")
    text: str
    card_id: str
    date: str


class CardCreatedConfig(BaseModel):
    board: str | None = Field(
        None,
        min_length=1,
        description="The board to watch: its name, id or short link (may be left out when "
        "a list is given: the list's name is looked up across your boards).",
    )
    list: str | None = Field(None, description="Only cards created in this list (name or id).")

    @model_validator(mode="after")
    def _board_or_list(self) -> Self:
        if self.board is None and self.list is None:
            raise ValueError("give the board to watch, or a list")
        return self


class CardCreatedPayload(CardOutput):
    created_at: str = Field(description="When the card was created (ISO 8601, UTC).")


# --- resolving names -----------------------------------------------------------------


def _is_id(value: str) -> bool:
    return TRELLO_ID.fullmatch(value) is not None


def _card_path(card: str, suffix: str = "") -> str:
    return f"/cards/{quote(card.strip(), safe='')}{suffix}"


def _same_name(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


@dataclass(frozen=True)
class ListRef:
    id: str
    board_id: str | None = None


async def _get(ctx: ActionContext, path: str, **params: str) -> Any:
    return await ctx.http.json("GET", path, idempotent=True, params=params)


async def my_boards(ctx: ActionContext) -> list[dict[str, Any]]:
    """The user's open boards, each with its open lists."""
    return await _get(
        ctx, "/members/me/boards", filter="open", fields="name,shortLink,url", lists="open"
    )


async def _board_by_ref(ctx: ActionContext, board: str) -> dict[str, Any]:
    """A board (with its open lists) by name or short link, among the user's boards."""
    boards = await my_boards(ctx)
    matches = [
        b for b in boards if b.get("shortLink") == board or _same_name(b.get("name", ""), board)
    ]
    if not matches:
        raise NotFound(f"Trello: none of your open boards is called {board!r}.", service="trello")
    if len(matches) > 1:
        ids = ", ".join(b["id"] for b in matches)
        raise InvalidInput(
            f"Trello: several of your boards are called {board!r} ({ids}); give the board's id.",
            service="trello",
        )
    return matches[0]


def _list_named(lists: list[dict[str, Any]], name: str, where: str) -> dict[str, Any]:
    matches = [lst for lst in lists if _same_name(lst.get("name", ""), name)]
    if not matches:
        known = ", ".join(repr(lst.get("name")) for lst in lists) or "none"
        raise NotFound(
            f"Trello: {where} has no open list called {name!r} (its lists: {known}).",
            service="trello",
        )
    return matches[0]


async def resolve_list(ctx: ActionContext, list_ref: str, board_ref: str | None) -> ListRef:
    """The id (and board, when known) of a list given by id, or by name on a board given
    by id, name or short link, or by name alone when exactly one board has it."""
    if _is_id(list_ref):
        return ListRef(list_ref)
    if board_ref and _is_id(board_ref):
        lists = await _get(ctx, f"/boards/{board_ref}/lists", filter="open", fields="name")
        return ListRef(_list_named(lists, list_ref, f"board {board_ref}")["id"], board_ref)
    if board_ref:
        board = await _board_by_ref(ctx, board_ref)
        found = _list_named(board.get("lists", []), list_ref, f"board {board['name']!r}")
        return ListRef(found["id"], board["id"])
    holders = [
        (board, lst)
        for board in await my_boards(ctx)
        for lst in board.get("lists", [])
        if _same_name(lst.get("name", ""), list_ref)
    ]
    if not holders:
        raise NotFound(
            f"Trello: none of your open boards has a list called {list_ref!r}.", service="trello"
        )
    if len(holders) > 1:
        names = ", ".join(repr(board["name"]) for board, _ in holders)
        raise InvalidInput(
            f"Trello: several boards have a list called {list_ref!r} ({names}); say which board.",
            service="trello",
        )
    board, found = holders[0]
    return ListRef(found["id"], board["id"])


async def _resolve_board_id(ctx: ActionContext, board_ref: str) -> str:
    return board_ref if _is_id(board_ref) else (await _board_by_ref(ctx, board_ref))["id"]


def _card_params(**values: Any) -> dict[str, str]:
    """Query parameters for a card, without the unset ones."""
    params: dict[str, str] = {}
    for key, value in values.items():
        if value is None:
            continue
        params[key] = value.isoformat() if isinstance(value, date | datetime) else str(value)
    return params


# --- actions -------------------------------------------------------------------------


@connector.action(scopes=("read", "write"), idempotent=False)
async def create_card(ctx: ActionContext, data: CreateCardInput) -> CardOutput:
    """Create a card in a list (given by name or id) on a Trello board."""
    target = await resolve_list(ctx, data.list, data.board)
    params = _card_params(
        idList=target.id,
        name=data.name,
        desc=data.description or None,
        due=data.due,
        pos=data.position,
    )
    card = await ctx.http.json("POST", "/cards", idempotent=False, params=params)
    return CardOutput.from_api(card)


@connector.action(scopes=("read", "write"), idempotent=True)
async def move_card(ctx: ActionContext, data: MoveCardInput) -> CardOutput:
    """Move a Trello card to another list (on its board or another one)."""
    board_ref = data.board
    if board_ref is None and not _is_id(data.list):
        card = await _get(ctx, _card_path(data.card), fields="idBoard")
        board_ref = card["idBoard"]
    target = await resolve_list(ctx, data.list, board_ref)
    params = _card_params(idList=target.id, idBoard=target.board_id, pos=data.position)
    card = await ctx.http.json("PUT", _card_path(data.card), idempotent=True, params=params)
    return CardOutput.from_api(card)


@connector.action(scopes=("write",), idempotent=False)
async def comment_on_card(ctx: ActionContext, data: CommentOnCardInput) -> CommentOutput:
    """Add a comment to a Trello card."""
    action = await ctx.http.json(
        "POST",
        _card_path(data.card, "/actions/comments"),
        idempotent=False,
        params={"text": data.text},
    )
    card = action.get("data", {}).get("card", {})
    return CommentOutput(
        id=action["id"],
        text=action.get("data", {}).get("text", data.text),
        card_id=card.get("id", data.card),
        date=action.get("date", ""),
    )


# --- events --------------------------------------------------------------------------


def created_at(card_id: str) -> datetime:
    """When a card was created: Trello ids begin with the creation time in seconds."""
    return datetime.fromtimestamp(int(card_id[:8], 16), UTC)


def _start_time() -> TimeCursor:
    """The first cursor, "from now on" to the second: card ids carry whole seconds, so a
    finer `since` would miss cards created later in the same second."""
    return TimeCursor(since=datetime.now(UTC).replace(microsecond=0))


@dataclass(frozen=True)
class WatchedCards:
    """What a card_created poll watches (resolved to ids once, at activation) and how far
    it has read."""

    board_id: str | None  # None: one list given by id, its board not needed
    list_id: str | None
    time: TimeCursor

    def encode(self) -> str:
        return self.time.encode(board=self.board_id, list=self.list_id)

    @classmethod
    def decode(cls, cursor: str) -> WatchedCards:
        scope = cursor_scope(cursor)
        return cls(scope["board"], scope.get("list"), TimeCursor.decode(cursor))


async def _watched_cards(ctx: ActionContext, watch: WatchedCards) -> list[dict[str, Any]]:
    """The open cards watched, in creation order (ids begin with the creation time)."""
    if watch.list_id:
        cards = await _get(ctx, f"/lists/{watch.list_id}/cards")
    else:
        lists = await _get(ctx, f"/boards/{watch.board_id}/lists", filter="open", cards="open")
        cards = [card for lst in lists for card in lst.get("cards", [])]
    return sorted(cards, key=lambda card: card["id"])


def _card_id(card: dict[str, Any]) -> str:
    return card["id"]


def _card_created_at(card: dict[str, Any]) -> datetime:
    return created_at(card["id"])


async def _start_watching(ctx: ActionContext, config: CardCreatedConfig) -> WatchedCards:
    if config.list:
        target = await resolve_list(ctx, config.list, config.board)
        board_id = target.board_id
        if board_id is None and config.board is not None:
            board_id = await _resolve_board_id(ctx, config.board)
        return WatchedCards(board_id, target.id, _start_time())
    assert config.board is not None  # the config has a board or a list
    return WatchedCards(await _resolve_board_id(ctx, config.board), None, _start_time())


async def poll_card_created(
    ctx: ActionContext, config: CardCreatedConfig, cursor: str | None
) -> PollResult:
    """Cards created since the cursor, oldest first. The first call remembers the cards
    already there (so nothing older fires) and returns none."""
    if cursor is None:
        watch = await _start_watching(ctx, config)
        existing = await _watched_cards(ctx, watch)
        _, time = watch.time.take(existing, _card_id, _card_created_at)
        return PollResult(items=[], cursor=replace(watch, time=time).encode())
    watch = WatchedCards.decode(cursor)
    cards = await _watched_cards(ctx, watch)
    fresh, time = watch.time.take(cards, _card_id, _card_created_at)
    items = [
        EventItem(
            id=card["id"],
            payload=CardCreatedPayload(
                **CardOutput.from_api(card).model_dump(),
                created_at=created_at(card["id"]).isoformat(),
            ).model_dump(),
        )
        for card in fresh
    ]
    return PollResult(items=items, cursor=replace(watch, time=time).encode())


connector.event(
    name="card_created",
    description="A card is created on a Trello board (optionally in one list).",
    config_model=CardCreatedConfig,
    payload_model=CardCreatedPayload,
    poll=poll_card_created,
    scopes=("read",),
    sample={
        "id": "6750a1b2c3d4e5f601234567",
        "name": "Fix login redirect loop",
        "url": "https://trello.com/c/AbC123xY/42-fix-login-redirect-loop",
        "short_url": "https://trello.com/c/AbC123xY",
        "description": "Users on Safari get sent back to /login after signing in.",
        "list_id": "6750a1b2c3d4e5f600000001",
        "board_id": "6750a1b2c3d4e5f600000000",
        "due": None,
        "created_at": "2026-12-04T11:20:00Z",
    },
)
