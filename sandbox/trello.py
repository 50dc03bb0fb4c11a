"""Trello on 127.0.0.1: boards, lists, cards and comments under `/1/…`.

Like the real API: every call carries the app's API `key` and the member's `token` as
query parameters (or body fields); parameters come as a query string, a form or a JSON
body; ids are 24 hex digits whose first 8 are the creation time in seconds; and errors
are mostly plain text — "invalid key" / "invalid token" / "unauthorized permission
requested" (401), "invalid id" / "invalid value for idList" (400), "The requested
resource was not found." (404) — except rate limiting, which is JSON
`{"error": "API_TOKEN_LIMIT_EXCEEDED", "message": "Rate limit exceeded"}`.

A token's scopes are Trello's `read` and `write`. A member sees only the boards they
belong to. Tests seed with `add_board`/`add_list`/`add_card` and inspect `boards`,
`lists`, `cards` and `comments`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import secrets
import string
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.emulator import SANDBOX_USER, Emulator, EmulatorError
from sandbox.wire import iso_millis, parse_iso

TRELLO_ID = re.compile(r"[0-9a-fA-F]{24}")
SHORT_LINK = re.compile(r"[0-9A-Za-z]{8}")
MAX_TEXT = 16384
NOT_FOUND = "The requested resource was not found."
NO_PERMISSION = "unauthorized permission requested"
POSITION_STEP = 16384.0
RATE_LIMITED = {"error": "API_TOKEN_LIMIT_EXCEEDED", "message": "Rate limit exceeded"}


def iso_now() -> str:
    return iso_millis(datetime.now(UTC))


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _short_link() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(8))


class IdMaker:
    """Trello (MongoDB) ids: 8 hex digits of creation time, 10 of machine, 6 of counter."""

    def __init__(self) -> None:
        self.machine = secrets.token_hex(5)
        self.counter = itertools.count(secrets.randbelow(1 << 20))

    def __call__(self, at: float | None = None) -> str:
        seconds = int(time.time() if at is None else at)
        return f"{seconds:08x}{self.machine}{next(self.counter) & 0xFFFFFF:06x}"


@dataclass
class Member:
    id: str
    username: str

    def to_api(self) -> dict[str, Any]:
        avatar = hashlib.md5(self.username.encode()).hexdigest()
        return {
            "id": self.id,
            "activityBlocked": False,
            "avatarHash": avatar,
            "avatarUrl": f"https://trello-members.s3.amazonaws.com/{self.id}/{avatar}",
            "fullName": self.username.replace("-", " ").title(),
            "idMemberReferrer": None,
            "initials": self.username[:2].upper(),
            "username": self.username,
        }


@dataclass
class Board:
    id: str
    name: str
    short_link: str
    members: set[str] = field(default_factory=set)  # usernames
    desc: str = ""
    closed: bool = False
    next_short_id: int = 1

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "desc": self.desc,
            "descData": None,
            "closed": self.closed,
            "idOrganization": None,
            "idEnterprise": None,
            "pinned": False,
            "url": f"https://trello.com/b/{self.short_link}/{_slug(self.name)}",
            "shortUrl": f"https://trello.com/b/{self.short_link}",
            "shortLink": self.short_link,
        }


@dataclass
class TrelloList:
    id: str
    name: str
    board_id: str
    pos: float
    closed: bool = False

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "closed": self.closed,
            "pos": self.pos,
            "idBoard": self.board_id,
            "subscribed": False,
            "limits": {},
        }


@dataclass
class Card:
    id: str
    name: str
    list_id: str
    board_id: str
    short_link: str
    id_short: int
    pos: float
    desc: str = ""
    due: str | None = None
    closed: bool = False
    comments: int = 0
    last_activity: str = field(default_factory=iso_now)

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "address": None,
            "badges": {
                "attachmentsByType": {"trello": {"board": 0, "card": 0}},
                "location": False,
                "votes": 0,
                "viewingMemberVoted": False,
                "subscribed": False,
                "fogbugz": "",
                "checkItems": 0,
                "checkItemsChecked": 0,
                "comments": self.comments,
                "attachments": 0,
                "description": bool(self.desc),
                "due": self.due,
                "start": None,
                "dueComplete": False,
            },
            "checkItemStates": [],
            "closed": self.closed,
            "coordinates": None,
            "creationMethod": None,
            "dateLastActivity": self.last_activity,
            "desc": self.desc,
            "descData": {"emoji": {}},
            "due": self.due,
            "dueReminder": None,
            "dueComplete": False,
            "idBoard": self.board_id,
            "idChecklists": [],
            "idLabels": [],
            "idList": self.list_id,
            "idMembers": [],
            "idMembersVoted": [],
            "idShort": self.id_short,
            "idAttachmentCover": None,
            "labels": [],
            "limits": {},
            "locationName": None,
            "manualCoverAttachment": False,
            "name": self.name,
            "pos": self.pos,
            "shortLink": self.short_link,
            "shortUrl": f"https://trello.com/c/{self.short_link}",
            "start": None,
            "subscribed": False,
            "url": f"https://trello.com/c/{self.short_link}/{self.id_short}-{_slug(self.name)}",
            "cover": {
                "idAttachment": None,
                "color": None,
                "idUploadedBackground": None,
                "size": "normal",
                "brightness": "dark",
                "isTemplate": False,
            },
        }


@dataclass
class Comment:
    id: str
    card_id: str
    text: str
    member_id: str
    date: str = field(default_factory=iso_now)


def _pick(obj: dict[str, Any], fields: str | None) -> dict[str, Any]:
    """Trello's `fields` parameter: `all` (the default) or a comma-separated list; `id`
    always comes back."""
    if not fields or fields == "all":
        return obj
    wanted = {"id", *(f.strip() for f in fields.split(","))}
    return {key: value for key, value in obj.items() if key in wanted}


def _choice(params: dict[str, str], name: str, allowed: set[str], default: str) -> str:
    value = params.get(name, default)
    if value not in allowed:
        raise EmulatorError(400, f"invalid value for {name}")
    return value


def _bool_param(params: dict[str, str], name: str) -> bool | None:
    if name not in params:
        return None
    value = params[name].lower()
    if value not in ("true", "false"):
        raise EmulatorError(400, f"invalid value for {name}")
    return value == "true"


def _text_param(params: dict[str, str], name: str) -> str | None:
    value = params.get(name)
    if value is not None and len(value) > MAX_TEXT:
        raise EmulatorError(400, f"invalid value for {name}")
    return value


def _due_param(params: dict[str, str]) -> tuple[bool, str | None]:
    """(given, value): `due` as an ISO date or date-time, or "null" to clear it."""
    if "due" not in params:
        return False, None
    raw = params["due"]
    if raw in ("", "null"):
        return True, None
    parsed = parse_iso(raw)
    if parsed is None:
        raise EmulatorError(400, "invalid value for due")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return True, iso_millis(parsed)


class TrelloEmulator(Emulator):
    name = "trello"

    def __init__(self) -> None:
        self.api_key = secrets.token_hex(16)
        self.new_id = IdMaker()
        self.members: dict[str, Member] = {}  # by username
        self.boards: dict[str, Board] = {}
        self.lists: dict[str, TrelloList] = {}
        self.cards: dict[str, Card] = {}
        self.comments: dict[str, Comment] = {}
        super().__init__()
        self.add_board("ATOM Sandbox", lists=("Inbox", "Doing", "Done"))

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/1/cards", self._create_card, methods=["POST"]),
            Route("/1/cards/{id}", self._get_card, methods=["GET"]),
            Route("/1/cards/{id}", self._update_card, methods=["PUT"]),
            Route("/1/cards/{id}/actions/comments", self._comment, methods=["POST"]),
            Route("/1/boards/{id}/lists", self._board_lists, methods=["GET"]),
            Route("/1/lists/{id}/cards", self._list_cards, methods=["GET"]),
            Route("/1/members/me/boards", self._my_boards, methods=["GET"]),
        ]

    def settings_overrides(self) -> dict[str, str]:
        return {"trello_base_url": f"{self.url}/1", "trello_api_key": self.api_key}

    def error_response(self, status: int, message: str, **extra: Any) -> Response:
        """Trello answers errors in plain text ("invalid id"), except rate limits (JSON)."""
        if status == 429:
            return JSONResponse(RATE_LIMITED, status)
        return PlainTextResponse(message, status)

    def issue_token(
        self, user: str = SANDBOX_USER, scopes: set[str] | None = None
    ) -> dict[str, Any]:
        """A member token (`read`/`write` scopes; None: both) plus the app's API key."""
        token = secrets.token_hex(32)
        self.grant(token, user, scopes)
        self.member(user)
        return {"access_token": token, "extra": {"api_key": self.api_key}}

    # --- seeding and inspection ----------------------------------------------------------

    def member(self, username: str) -> Member:
        with self.lock:
            if username not in self.members:
                self.members[username] = Member(self.new_id(), username)
            return self.members[username]

    def add_board(
        self,
        name: str,
        *,
        lists: tuple[str, ...] = ("To Do", "Doing", "Done"),
        members: tuple[str, ...] = (SANDBOX_USER,),
        board_id: str | None = None,
    ) -> Board:
        with self.lock:
            board = Board(board_id or self.new_id(), name, _short_link(), set(members))
            self.boards[board.id] = board
            for list_name in lists:
                self.add_list(board.id, list_name)
            return board

    def add_list(self, board_id: str, name: str, *, list_id: str | None = None) -> TrelloList:
        with self.lock:
            siblings = [lst.pos for lst in self.lists.values() if lst.board_id == board_id]
            pos = max(siblings, default=0.0) + POSITION_STEP
            trello_list = TrelloList(list_id or self.new_id(), name, board_id, pos)
            self.lists[trello_list.id] = trello_list
            return trello_list

    def add_card(
        self,
        list_id: str,
        name: str,
        *,
        card_id: str | None = None,
        desc: str = "",
        created: float | None = None,
    ) -> Card:
        """A card as if created at `created` (epoch seconds; default now)."""
        with self.lock:
            return self._new_card(
                self.lists[list_id], name, card_id=card_id or self.new_id(created), desc=desc
            )

    def _new_card(
        self,
        trello_list: TrelloList,
        name: str,
        *,
        card_id: str | None = None,
        desc: str = "",
        due: str | None = None,
        where: str = "bottom",
    ) -> Card:
        board = self.boards[trello_list.board_id]
        card = Card(
            id=card_id or self.new_id(),
            name=name,
            list_id=trello_list.id,
            board_id=board.id,
            short_link=_short_link(),
            id_short=board.next_short_id,
            pos=self._position(trello_list.id, where),
            desc=desc,
            due=due,
        )
        board.next_short_id += 1
        self.cards[card.id] = card
        return card

    def cards_in(self, list_id: str) -> list[Card]:
        with self.lock:
            cards = [c for c in self.cards.values() if c.list_id == list_id and not c.closed]
        return sorted(cards, key=lambda c: c.pos)

    def list_named(self, board_id: str, name: str) -> TrelloList:
        with self.lock:
            return next(
                lst for lst in self.lists.values() if lst.board_id == board_id and lst.name == name
            )

    # --- request plumbing -----------------------------------------------------------------

    async def _params(self, request: Request) -> dict[str, str]:
        """Query parameters merged with form or JSON body fields (Trello takes both)."""
        params = dict(request.query_params)
        body = await request.body()
        if not body:
            return params
        content_type = request.headers.get("content-type", "")
        if "application/json" in content_type:
            try:
                data = json.loads(body)
            except ValueError as exc:
                raise EmulatorError(400, "Invalid JSON body") from exc
            if not isinstance(data, dict):
                raise EmulatorError(400, "Invalid JSON body")
            params.update({k: _as_param(v) for k, v in data.items()})
        elif "application/x-www-form-urlencoded" in content_type:
            params.update(parse_qsl(body.decode(), keep_blank_values=True))
        return params

    def _authorize(self, params: dict[str, str], scope: str) -> Member:
        if params.get("key") != self.api_key:
            raise EmulatorError(401, "invalid key")
        token = params.get("token")
        if not token:
            raise EmulatorError(401, NO_PERMISSION)
        grant = self.grants.get(token)
        if grant is None:
            raise EmulatorError(401, "invalid token")
        if not grant.allows(scope):
            raise EmulatorError(401, NO_PERMISSION)
        return self.member(grant.user)

    def _board(self, ref: str, member: Member) -> Board:
        if TRELLO_ID.fullmatch(ref):
            board = self.boards.get(ref)
        elif SHORT_LINK.fullmatch(ref):
            board = next((b for b in self.boards.values() if b.short_link == ref), None)
        else:
            raise EmulatorError(400, "invalid id")
        if board is None:
            raise EmulatorError(404, NOT_FOUND)
        if member.username not in board.members:
            raise EmulatorError(401, NO_PERMISSION)
        return board

    def _list(self, ref: str, member: Member) -> TrelloList:
        if not TRELLO_ID.fullmatch(ref):
            raise EmulatorError(400, "invalid id")
        trello_list = self.lists.get(ref)
        if trello_list is None:
            raise EmulatorError(404, NOT_FOUND)
        self._board(trello_list.board_id, member)
        return trello_list

    def _card(self, ref: str, member: Member) -> Card:
        if TRELLO_ID.fullmatch(ref):
            card = self.cards.get(ref)
        elif SHORT_LINK.fullmatch(ref):
            card = next((c for c in self.cards.values() if c.short_link == ref), None)
        else:
            raise EmulatorError(400, "invalid id")
        if card is None:
            raise EmulatorError(404, NOT_FOUND)
        self._board(card.board_id, member)
        return card

    def _target_list(self, params: dict[str, str], member: Member, *, creating: bool) -> TrelloList:
        """The list named by `idList` ("could not find the board…" when creating into an
        unknown list, as Trello says)."""
        ref = params.get("idList", "")
        if not TRELLO_ID.fullmatch(ref):
            raise EmulatorError(400, "invalid value for idList")
        trello_list = self.lists.get(ref)
        if trello_list is None:
            if creating:
                raise EmulatorError(404, "could not find the board that the card belongs to")
            raise EmulatorError(400, "invalid value for idList")
        self._board(trello_list.board_id, member)
        return trello_list

    def _position(self, list_id: str, where: str) -> float:
        positions = [c.pos for c in self.cards.values() if c.list_id == list_id and not c.closed]
        if where == "top":
            return min(positions, default=POSITION_STEP * 2) / 2
        if where == "bottom":
            return max(positions, default=0.0) + POSITION_STEP
        try:
            pos = float(where)
        except ValueError:
            pos = -1.0
        if pos < 0:
            raise EmulatorError(400, "invalid value for pos")
        return pos

    # --- routes ---------------------------------------------------------------------------

    async def _create_card(self, request: Request) -> Response:
        params = await self._params(request)
        member = self._authorize(params, "write")
        with self.lock:
            trello_list = self._target_list(params, member, creating=True)
            _, due = _due_param(params)
            card = self._new_card(
                trello_list,
                _text_param(params, "name") or "",
                desc=_text_param(params, "desc") or "",
                due=due,
                where=params.get("pos", "bottom"),
            )
            return JSONResponse(card.to_api())

    async def _get_card(self, request: Request) -> Response:
        params = await self._params(request)
        member = self._authorize(params, "read")
        card = self._card(request.path_params["id"], member)
        return JSONResponse(_pick(card.to_api(), params.get("fields")))

    async def _update_card(self, request: Request) -> Response:
        params = await self._params(request)
        member = self._authorize(params, "write")
        with self.lock:
            card = self._card(request.path_params["id"], member)
            if "idList" in params:
                target = self._target_list(params, member, creating=False)
                if params.get("idBoard", target.board_id) != target.board_id:
                    raise EmulatorError(400, "invalid value for idBoard")
                if target.id != card.list_id:
                    card.list_id, card.board_id = target.id, target.board_id
                    card.pos = self._position(target.id, params.get("pos", "bottom"))
            if "pos" in params and "idList" not in params:
                card.pos = self._position(card.list_id, params["pos"])
            if "name" in params:
                card.name = _text_param(params, "name") or card.name
            if "desc" in params:
                card.desc = _text_param(params, "desc") or ""
            closed = _bool_param(params, "closed")
            if closed is not None:
                card.closed = closed
            given, due = _due_param(params)
            if given:
                card.due = due
            card.last_activity = iso_now()
            return JSONResponse(card.to_api())

    async def _comment(self, request: Request) -> Response:
        params = await self._params(request)
        member = self._authorize(params, "write")
        with self.lock:
            card = self._card(request.path_params["id"], member)
            text = params.get("text", "")
            if not text.strip() or len(text) > MAX_TEXT:
                raise EmulatorError(400, "invalid value for text")
            comment = Comment(self.new_id(), card.id, text, member.id)
            self.comments[comment.id] = comment
            card.comments += 1
            card.last_activity = comment.date
            return JSONResponse(self._comment_action(comment, card, member))

    def _comment_action(self, comment: Comment, card: Card, member: Member) -> dict[str, Any]:
        board = self.boards[card.board_id]
        trello_list = self.lists[card.list_id]
        return {
            "id": comment.id,
            "idMemberCreator": member.id,
            "data": {
                "text": comment.text,
                "textData": {"emoji": {}},
                "card": {
                    "id": card.id,
                    "name": card.name,
                    "idShort": card.id_short,
                    "shortLink": card.short_link,
                },
                "board": {"id": board.id, "name": board.name, "shortLink": board.short_link},
                "list": {"id": trello_list.id, "name": trello_list.name},
            },
            "type": "commentCard",
            "date": comment.date,
            "limits": {
                "reactions": {
                    "perAction": {"status": "ok", "disableAt": 900, "warnAt": 720},
                    "uniquePerAction": {"status": "ok", "disableAt": 17, "warnAt": 14},
                }
            },
            "display": {
                "translationKey": "action_comment_on_card",
                "entities": {
                    "contextOn": {
                        "type": "translatable",
                        "translationKey": "action_on",
                        "hideIfContext": True,
                        "idContext": card.id,
                    },
                    "card": {
                        "type": "card",
                        "hideIfContext": True,
                        "id": card.id,
                        "shortLink": card.short_link,
                        "text": card.name,
                    },
                    "comment": {"type": "comment", "text": comment.text},
                    "memberCreator": {
                        "type": "member",
                        "id": member.id,
                        "username": member.username,
                        "text": member.to_api()["fullName"],
                    },
                },
            },
            "memberCreator": member.to_api(),
        }

    async def _board_lists(self, request: Request) -> Response:
        params = await self._params(request)
        member = self._authorize(params, "read")
        board = self._board(request.path_params["id"], member)
        which = _choice(params, "filter", {"all", "closed", "none", "open"}, "open")
        with_cards = _choice(params, "cards", {"all", "closed", "none", "open"}, "none")
        lists = sorted(
            (lst for lst in self.lists.values() if lst.board_id == board.id),
            key=lambda lst: lst.pos,
        )
        answer = []
        for trello_list in lists:
            if not _matches_filter(trello_list.closed, which):
                continue
            item = _pick(trello_list.to_api(), params.get("fields"))
            if with_cards != "none":
                item["cards"] = [
                    _pick(card.to_api(), params.get("card_fields"))
                    for card in self._cards_of(trello_list.id)
                    if _matches_filter(card.closed, with_cards)
                ]
            answer.append(item)
        return JSONResponse(answer)

    def _cards_of(self, list_id: str) -> list[Card]:
        return sorted((c for c in self.cards.values() if c.list_id == list_id), key=lambda c: c.pos)

    async def _list_cards(self, request: Request) -> Response:
        params = await self._params(request)
        member = self._authorize(params, "read")
        trello_list = self._list(request.path_params["id"], member)
        cards = [c for c in self._cards_of(trello_list.id) if not c.closed]
        return JSONResponse([_pick(c.to_api(), params.get("fields")) for c in cards])

    async def _my_boards(self, request: Request) -> Response:
        params = await self._params(request)
        member = self._authorize(params, "read")
        which = _choice(params, "filter", {"all", "closed", "open", "members"}, "all")
        with_lists = _choice(params, "lists", {"all", "closed", "none", "open"}, "none")
        answer = []
        for board in self.boards.values():
            if member.username not in board.members or not _matches_filter(board.closed, which):
                continue
            item = _pick(board.to_api(), params.get("fields"))
            if with_lists != "none":
                item["lists"] = [
                    lst.to_api()
                    for lst in sorted(self.lists.values(), key=lambda lst: lst.pos)
                    if lst.board_id == board.id and _matches_filter(lst.closed, with_lists)
                ]
            answer.append(item)
        return JSONResponse(answer)


def _matches_filter(closed: bool, which: str) -> bool:
    """Trello's `filter`-style parameters: all, open, closed or none."""
    return {"all": True, "members": True, "open": not closed, "closed": closed}.get(which, False)


def _as_param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)
