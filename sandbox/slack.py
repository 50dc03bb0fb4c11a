"""A Slack workspace on 127.0.0.1: the Web API methods ATOM uses, private file downloads,
`response_url`s, and delivery of signed events, slash commands and interactions to the
bot's request URL — the way Slack does it.

Web API: every method answers HTTP 200 with `{"ok": true, …}` or `{"ok": false,
"error": "…"}`; arguments come as a query string, a form body or a JSON body; the token
comes as `Authorization: Bearer` or a `token` argument. A bad token on a private file
download gets Slack's HTML sign-in page with status 200, not JSON.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import httpx
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.emulator import Emulator, EmulatorError

TEAM_ID = "T0SANDBOX1"
TEAM_DOMAIN = "atom-sandbox"
APP_ID = "A0ATOMAPP1"
BOT_USER_ID = "U0ATOMBOT1"
BOT_ID = "B0ATOMBOT1"
BOT_SCOPES = {
    "channels:read",
    "chat:write",
    "im:write",
    "im:history",
    "channels:history",
    "groups:history",
    "users:read",
    "users:read.email",
    "files:read",
    "reactions:write",
    "commands",
    "app_mentions:read",
}
METHOD_SCOPES = {
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.delete": "chat:write",
    "conversations.open": "im:write",
    "conversations.history": "channels:history",
    "conversations.list": "channels:read",
    "users.info": "users:read",
    "users.list": "users:read",
    "users.lookupByEmail": "users:read.email",
    "files.info": "files:read",
    "reactions.add": "reactions:write",
}
EMOJI = {
    "+1",
    "thumbsup",
    "-1",
    "thumbsdown",
    "tada",
    "white_check_mark",
    "heavy_check_mark",
    "eyes",
    "rocket",
    "heart",
    "fire",
    "ok_hand",
    "warning",
    "x",
    "smile",
    "pray",
    "clap",
    "100",
    "raised_hands",
    "wave",
    "memo",
    "calendar",
    "bug",
    "hourglass",
    "sparkles",
}
MAX_TEXT = 40_000
MAX_BLOCKS = 50
LOGIN_PAGE = (
    "<!DOCTYPE html><html><head><title>Slack</title></head><body>"
    "<h1>Sign in to your workspace</h1></body></html>"
)


@dataclass
class SlackUser:
    id: str
    name: str
    real_name: str
    email: str
    tz: str = "Europe/Berlin"
    tz_offset: int = 3600
    is_bot: bool = False

    def to_api(self) -> dict[str, Any]:
        profile = {
            "real_name": self.real_name,
            "real_name_normalized": self.real_name,
            "display_name": self.name,
            "display_name_normalized": self.name,
            "avatar_hash": "g0000000000",
            "title": "",
            "phone": "",
            "skype": "",
            "status_text": "",
            "status_emoji": "",
            "fields": {},
            "email": self.email,
            "team": TEAM_ID,
        }
        return {
            "id": self.id,
            "team_id": TEAM_ID,
            "name": self.name,
            "real_name": self.real_name,
            "deleted": False,
            "tz": self.tz,
            "tz_label": self.tz,
            "tz_offset": self.tz_offset,
            "is_bot": self.is_bot,
            "is_admin": False,
            "is_owner": False,
            "is_app_user": False,
            "updated": 1700000000,
            "profile": profile,
        }


@dataclass
class Channel:
    id: str
    name: str
    is_im: bool = False
    user: str | None = None  # the other member of an IM
    messages: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class SlackFile:
    id: str
    name: str
    mimetype: str
    content: bytes
    user: str
    subtype: str | None = None  # "slack_audio" for recorded clips
    created: int = field(default_factory=lambda: int(time.time()))

    def to_api(self, base_url: str) -> dict[str, Any]:
        path = f"/files-pri/{TEAM_ID}-{self.id}/{quote(self.name)}"
        info: dict[str, Any] = {
            "id": self.id,
            "created": self.created,
            "name": self.name,
            "title": self.name,
            "mimetype": self.mimetype,
            "filetype": self.name.rsplit(".", 1)[-1],
            "pretty_type": self.mimetype,
            "user": self.user,
            "size": len(self.content),
            "mode": "hosted",
            "is_external": False,
            "is_public": False,
            "url_private": base_url + path,
            "url_private_download": base_url + path.replace("/files-pri/", "/files-pri-dl/"),
            "permalink": f"{base_url}/archives/{self.id}",
        }
        if self.subtype:
            info["subtype"] = self.subtype
        return info


@dataclass
class Delivery:
    """What the bot answered to one delivered request, and how fast."""

    status: int
    body: str
    ack_seconds: float
    attempts: int

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Posted:
    """Something the bot made appear in Slack, in the order it happened."""

    kind: str  # message | update | delete | ephemeral | response | view_open | view_update | home
    data: dict[str, Any]
    seq: int = 0


class SlackEmulator(Emulator):
    name = "slack"

    def __init__(self, signing_secret: str | None = None) -> None:
        self.signing_secret = signing_secret or secrets.token_hex(16)
        self.request_url: str | None = None  # where events/commands/interactions go
        self.bot_token = "xoxb-sandbox-" + secrets.token_hex(10)
        self.users: dict[str, SlackUser] = {}
        self.channels: dict[str, Channel] = {}
        self.files: dict[str, SlackFile] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.home_views: dict[str, dict[str, Any]] = {}
        self.trigger_ids: dict[str, float] = {}
        self.response_urls: dict[str, dict[str, Any]] = {}
        self.posted: list[Posted] = []
        self.deliveries: list[Delivery] = []
        self.ack_timeout = 3.0
        self.max_retries = 3
        self._clock = itertools.count(1)
        self._last_ts = 0.0
        self._changed = threading.Condition()
        super().__init__()
        self.grant(self.bot_token, BOT_USER_ID, set(BOT_SCOPES))
        self._seed_workspace()

    # --- workspace state ---------------------------------------------------------------

    def _seed_workspace(self) -> None:
        for user in (
            SlackUser("U0ALICE001", "alice", "Alice Example", "alice@example.com"),
            SlackUser(
                "U0BOB00001", "bob", "Bob Example", "bob@example.com", "America/New_York", -18000
            ),
            SlackUser("U0CAROL001", "carol", "Carol Example", "carol@example.com", "UTC", 0),
            SlackUser(BOT_USER_ID, "atom", "ATOM", "", "UTC", 0, is_bot=True),
        ):
            self.users[user.id] = user
        for name in ("general", "dev", "team", "ops", "random"):
            self.add_channel(name)

    def add_channel(self, name: str) -> Channel:
        channel_id = "C0" + name.upper().ljust(8, "0")[:8]
        channel = self.channels.setdefault(channel_id, Channel(channel_id, name))
        return channel

    def add_user(self, user: SlackUser) -> SlackUser:
        self.users[user.id] = user
        return user

    def im_with(self, user_id: str) -> Channel:
        """The bot's direct-message channel with `user_id` (created on first use)."""
        channel_id = "D0" + user_id[1:].ljust(8, "0")[:8]
        if channel_id not in self.channels:
            self.channels[channel_id] = Channel(channel_id, user_id, is_im=True, user=user_id)
        return self.channels[channel_id]

    def channel_by_name(self, name: str) -> Channel:
        name = name.lstrip("#")
        for channel in self.channels.values():
            if channel.name == name and not channel.is_im:
                return channel
        raise KeyError(name)

    def next_ts(self) -> str:
        """Slack message timestamps: wall-clock seconds with 6 decimals, unique and rising."""
        with self.lock:
            self._last_ts = max(round(time.time(), 6), self._last_ts + 0.000001)
            return f"{self._last_ts:.6f}"

    def settings_overrides(self) -> dict[str, str]:
        return {
            "slack_api_url": f"{self.url}/api/",
            "slack_bot_token": self.bot_token,
            "slack_signing_secret": self.signing_secret,
        }

    def issue_token(self, user: str = "sandbox-user", scopes: set[str] | None = None) -> dict:
        """The bot token: ATOM acts in Slack as its bot user."""
        return {"access_token": self.bot_token, "extra": {"team_id": TEAM_ID}}

    def error_body(self, status: int, message: str, **extra: Any) -> Any:
        error = "ratelimited" if status == 429 else extra.pop("error", "internal_error")
        return {"ok": False, "error": error, **extra}

    # --- what the bot did -------------------------------------------------------------

    def _record(self, kind: str, data: dict[str, Any]) -> None:
        with self._changed:
            self.posted.append(Posted(kind, data, seq=len(self.posted)))
            self._changed.notify_all()

    def messages(self, channel_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.channels[channel_id].messages)

    def find_message(self, channel_id: str, ts: str) -> dict[str, Any]:
        for message in self.channels[channel_id].messages:
            if message["ts"] == ts:
                return message
        raise KeyError(ts)

    # --- routes ------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.delete": self._chat_delete,
            "conversations.open": self._conversations_open,
            "conversations.history": self._conversations_history,
            "conversations.list": self._conversations_list,
            "users.info": self._users_info,
            "users.list": self._users_list,
            "users.lookupByEmail": self._users_lookup_by_email,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.push": self._views_open,
            "views.publish": self._views_publish,
            "files.info": self._files_info,
            "reactions.add": self._reactions_add,
        }

        async def web_api(request: Request) -> Response:
            method = request.path_params["method"]
            handler = methods.get(method)
            if handler is None:
                return JSONResponse({"ok": False, "error": "unknown_method"}, 404)
            args = await _arguments(request)
            error = self._authorise(request, args, METHOD_SCOPES.get(method))
            if error:
                return JSONResponse(error)
            try:
                with self.lock:
                    return JSONResponse({"ok": True, **handler(args)})
            except SlackApiError as exc:
                return JSONResponse({"ok": False, "error": exc.error, **exc.extra})

        return [
            *self.install_routes(),  # before /api/{method}: oauth.v2.access takes no token
            Route("/api/{method}", web_api, methods=["GET", "POST"]),
            Route("/files-pri/{file_ref}/{name}", self._download, methods=["GET"]),
            Route("/files-pri-dl/{file_ref}/{name}", self._download, methods=["GET"]),
            Route("/response/{response_id}", self._response_url, methods=["POST"]),
        ]

    def _authorise(self, request: Request, args: dict[str, Any], scope: str | None) -> dict | None:
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ").strip() if header else args.get("token", "")
        if not token:
            return {"ok": False, "error": "not_authed"}
        grant = self.grants.get(token)
        if grant is None:
            return {"ok": False, "error": "invalid_auth"}
        if not grant.allows(scope):
            return {
                "ok": False,
                "error": "missing_scope",
                "needed": scope,
                "provided": ",".join(sorted(grant.scopes or ())),
            }
        return None

    # --- Web API methods -----------------------------------------------------------------

    def _auth_test(self, _args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": "ATOM Sandbox",
            "user": "atom",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _resolve_channel(self, value: str | None) -> Channel:
        if not value:
            raise SlackApiError("channel_not_found")
        if value in self.channels:
            return self.channels[value]
        if value in self.users:
            return self.im_with(value)
        try:
            return self.channel_by_name(value)
        except KeyError:
            raise SlackApiError("channel_not_found") from None

    def _message_body(self, args: dict[str, Any]) -> dict[str, Any]:
        text = args.get("text") or ""
        blocks = _json_arg(args.get("blocks"))
        if not text and not blocks:
            raise SlackApiError("no_text")
        if len(text) > MAX_TEXT:
            raise SlackApiError("msg_too_long")
        if blocks is not None:
            _check_blocks(blocks)
        body: dict[str, Any] = {"type": "message", "text": text}
        if blocks:
            body["blocks"] = blocks
        return body

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(args.get("channel"))
        message = {
            **self._message_body(args),
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "ts": self.next_ts(),
            "team": TEAM_ID,
        }
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        channel.messages.append(message)
        self._record("message", {"channel": channel.id, **message})
        return {"channel": channel.id, "ts": message["ts"], "message": message}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(args.get("channel"))
        try:
            message = self.find_message(channel.id, args.get("ts", ""))
        except KeyError:
            raise SlackApiError("message_not_found") from None
        if message.get("user") != BOT_USER_ID:
            raise SlackApiError("cant_update_message")
        message.update(self._message_body(args))
        if _json_arg(args.get("blocks")) == []:
            message.pop("blocks", None)
        message["edited"] = {"user": BOT_USER_ID, "ts": self.next_ts()}
        self._record("update", {"channel": channel.id, **message})
        public = {k: v for k, v in message.items() if k != "edited"}
        return {
            "channel": channel.id,
            "ts": message["ts"],
            "text": message["text"],
            "message": public,
        }

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(args.get("channel"))
        user = args.get("user")
        if user not in self.users:
            raise SlackApiError("user_not_found")
        body = self._message_body(args)
        ts = self.next_ts()
        self._record("ephemeral", {"channel": channel.id, "user": user, "ts": ts, **body})
        return {"message_ts": ts}

    def _chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(args.get("channel"))
        try:
            message = self.find_message(channel.id, args.get("ts", ""))
        except KeyError:
            raise SlackApiError("message_not_found") from None
        channel.messages.remove(message)
        self._record("delete", {"channel": channel.id, "ts": message["ts"]})
        return {"channel": channel.id, "ts": message["ts"]}

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = [u for u in str(args.get("users") or "").split(",") if u]
        if not users:
            raise SlackApiError("users_list_not_supplied")
        if len(users) > 1:
            raise SlackApiError("method_not_supported_for_channel_type")
        if users[0] not in self.users:
            raise SlackApiError("user_not_found")
        return {"channel": {"id": self.im_with(users[0]).id}}

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(args.get("channel"))
        oldest = float(args.get("oldest") or 0)
        limit = min(int(args.get("limit") or 100), 999)
        newest_first = [m for m in reversed(channel.messages) if float(m["ts"]) > oldest]
        start = int(args.get("cursor") or 0)
        page = newest_first[start : start + limit]
        more = start + limit < len(newest_first)
        return {
            "messages": page,
            "has_more": more,
            "pin_count": 0,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _conversations_list(self, args: dict[str, Any]) -> dict[str, Any]:
        """Public channels (the only `types` this workspace has besides IMs), by name,
        paged with `limit` (default 100, at most 1000) and `cursor`."""
        types = set((args.get("types") or "public_channel").split(","))
        limit = min(int(args.get("limit") or 100), 1000)
        start = int(args.get("cursor") or 0)
        listed = [
            channel
            for channel in self.channels.values()
            if ("im" if channel.is_im else "public_channel") in types
        ]
        page = listed[start : start + limit]
        more = start + limit < len(listed)
        return {
            "channels": [_conversation_json(channel) for channel in page],
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(args.get("user", ""))
        if user is None:
            raise SlackApiError("user_not_found")
        return {"user": user.to_api()}

    def _users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        limit = min(int(args.get("limit") or 200), 1000)
        start = int(args.get("cursor") or 0)
        users = list(self.users.values())
        page = users[start : start + limit]
        more = start + limit < len(users)
        return {
            "members": [u.to_api() for u in page],
            "cache_ts": int(time.time()),
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _users_lookup_by_email(self, args: dict[str, Any]) -> dict[str, Any]:
        email = (args.get("email") or "").lower()
        for user in self.users.values():
            if user.email and user.email.lower() == email:
                return {"user": user.to_api()}
        raise SlackApiError("users_not_found")

    def _new_view(self, view: Any, view_id: str | None = None) -> dict[str, Any]:
        if not isinstance(view, dict) or view.get("type") not in {"modal", "home"}:
            raise SlackApiError("invalid_arguments")
        _check_blocks(view.get("blocks", []), limit=100)
        return {
            **view,
            "id": view_id or "V0" + secrets.token_hex(5).upper(),
            "team_id": TEAM_ID,
            "state": {"values": {}},
            "hash": secrets.token_hex(8),
            "app_id": APP_ID,
            "bot_id": BOT_ID,
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
        }

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        issued = self.trigger_ids.pop(args.get("trigger_id", ""), None)
        if issued is None or time.monotonic() - issued > 3.0:
            raise SlackApiError("expired_trigger_id")
        view = self._new_view(_json_arg(args.get("view")))
        self.views[view["id"]] = view
        self._record("view_open", view)
        return {"view": view}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = args.get("view_id", "")
        if view_id not in self.views:
            raise SlackApiError("not_found")
        if args.get("hash") and args["hash"] != self.views[view_id]["hash"]:
            raise SlackApiError("hash_conflict")
        view = self._new_view(_json_arg(args.get("view")), view_id)
        self.views[view_id] = view
        self._record("view_update", view)
        return {"view": view}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = args.get("user_id", "")
        if user not in self.users:
            raise SlackApiError("user_not_found")
        view = self._new_view(_json_arg(args.get("view")))
        if view["type"] != "home":
            raise SlackApiError("invalid_arguments")
        self.home_views[user] = view
        self._record("home", {"user": user, **view})
        return {"view": view}

    def _files_info(self, args: dict[str, Any]) -> dict[str, Any]:
        file = self.files.get(args.get("file", ""))
        if file is None:
            raise SlackApiError("file_not_found")
        return {"file": file.to_api(self.url), "comments": []}

    def _reactions_add(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(args.get("channel"))
        name = args.get("name")
        if name not in EMOJI:
            raise SlackApiError("invalid_name")
        try:
            message = self.find_message(channel.id, args.get("timestamp", ""))
        except KeyError:
            raise SlackApiError("message_not_found") from None
        reactions = message.setdefault("reactions", [])
        for reaction in reactions:
            if reaction["name"] == name:
                if BOT_USER_ID in reaction["users"]:
                    raise SlackApiError("already_reacted")
                reaction["users"].append(BOT_USER_ID)
                reaction["count"] += 1
                break
        else:
            reactions.append({"name": name, "users": [BOT_USER_ID], "count": 1})
        self._record("reaction", {"channel": channel.id, "ts": message["ts"], "name": name})
        return {}

    async def _download(self, request: Request) -> Response:
        file_id = request.path_params["file_ref"].removeprefix(f"{TEAM_ID}-")
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ").strip()
        grant = self.grants.get(token)
        if grant is None or not grant.allows("files:read"):
            return HTMLResponse(LOGIN_PAGE, 200)
        file = self.files.get(file_id)
        if file is None:
            return HTMLResponse("<html><body>File not found</body></html>", 404)
        return Response(file.content, media_type=file.mimetype)

    async def _response_url(self, request: Request) -> Response:
        context = self.response_urls.get(request.path_params["response_id"])
        if context is None:
            return Response("Used url or not found", 404, media_type="text/plain")
        try:
            payload = json.loads(await request.body())
        except ValueError:
            return Response("invalid_payload", 400, media_type="text/plain")
        if (
            not payload.get("text")
            and not payload.get("blocks")
            and not payload.get("delete_original")
        ):
            return Response("no_text", 400, media_type="text/plain")
        with self.lock:
            context["uses"] = context.get("uses", 0) + 1
            if context["uses"] > 5:
                return Response("used_url", 404, media_type="text/plain")
            self._apply_response(context, payload)
        return JSONResponse({"ok": True})

    def _apply_response(self, context: dict[str, Any], payload: dict[str, Any]) -> None:
        """A response_url post: ephemeral by default, or it replaces/deletes the original."""
        channel = self.channels[context["channel"]]
        original_ts = context.get("message_ts")
        if payload.get("delete_original") and original_ts:
            channel.messages[:] = [m for m in channel.messages if m["ts"] != original_ts]
            self._record("delete", {"channel": channel.id, "ts": original_ts})
            return
        body = {"type": "message", "text": payload.get("text", "")}
        if payload.get("blocks"):
            body["blocks"] = payload["blocks"]
        if payload.get("replace_original") and original_ts:
            try:
                message = self.find_message(channel.id, original_ts)
            except KeyError:  # the original was ephemeral: the user sees a new version
                self._record(
                    "ephemeral",
                    {
                        "channel": channel.id,
                        "user": context["user"],
                        "ts": original_ts,
                        "replaces": original_ts,
                        **body,
                    },
                )
                return
            message.update(body)
            if not payload.get("blocks"):
                message.pop("blocks", None)
            self._record("update", {"channel": channel.id, **message})
        elif payload.get("response_type") == "in_channel":
            message = {**body, "user": BOT_USER_ID, "bot_id": BOT_ID, "ts": self.next_ts()}
            channel.messages.append(message)
            self._record("message", {"channel": channel.id, **message})
        else:
            self._record(
                "ephemeral",
                {"channel": channel.id, "user": context["user"], "ts": self.next_ts(), **body},
            )

    # --- delivering to the bot --------------------------------------------------------

    def sign(self, body: str, timestamp: int | None = None) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        digest = hmac.new(
            self.signing_secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256
        ).hexdigest()
        return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}

    def new_trigger_id(self) -> str:
        trigger_id = f"{next(self._clock)}.{TEAM_ID}.{secrets.token_hex(8)}"
        self.trigger_ids[trigger_id] = time.monotonic()
        return trigger_id

    def new_response_url(self, channel: str, user: str, message_ts: str | None = None) -> str:
        response_id = secrets.token_urlsafe(12)
        self.response_urls[response_id] = {
            "channel": channel,
            "user": user,
            "message_ts": message_ts,
        }
        return f"{self.url}/response/{response_id}"

    def event_envelope(self, event: dict[str, Any]) -> dict[str, Any]:
        return {
            "token": "sandbox-verification-token",
            "team_id": TEAM_ID,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": "Ev0" + secrets.token_hex(6).upper(),
            "event_time": int(time.time()),
            "authed_users": [BOT_USER_ID],
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": TEAM_ID,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": secrets.token_hex(10),
        }

    def user_message(
        self,
        user: str,
        text: str,
        channel: Channel,
        thread_ts: str | None = None,
        files: list[SlackFile] | None = None,
    ) -> dict[str, Any]:
        """Store a message `user` wrote and return its `message` event."""
        ts = self.next_ts()
        message: dict[str, Any] = {
            "type": "message",
            "user": user,
            "text": text,
            "ts": ts,
            "team": TEAM_ID,
        }
        if thread_ts:
            message["thread_ts"] = thread_ts
        if files:
            message["subtype"] = "file_share"
            message["files"] = [f.to_api(self.url) for f in files]
        with self.lock:
            channel.messages.append(message)
        return {
            **message,
            "channel": channel.id,
            "event_ts": ts,
            "channel_type": "im" if channel.is_im else "channel",
        }

    def command_form(self, user: str, channel: Channel, command: str, text: str) -> dict:
        return {
            "token": "sandbox-verification-token",
            "team_id": TEAM_ID,
            "team_domain": TEAM_DOMAIN,
            "channel_id": channel.id,
            "channel_name": channel.name,
            "user_id": user,
            "user_name": self.users[user].name,
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": self.new_response_url(channel.id, user),
            "trigger_id": self.new_trigger_id(),
        }

    async def deliver(self, body: str, content_type: str, retry: bool = True) -> Delivery:
        """POST a signed request to the bot as Slack would. Slack retries (up to 3 times,
        with X-Slack-Retry-Num) when it gets no 2xx within 3 seconds."""
        if not self.request_url:
            raise RuntimeError("SlackEmulator.request_url is not set")
        attempts = 0
        async with httpx.AsyncClient(timeout=self.ack_timeout) as client:
            while True:
                headers = {"Content-Type": content_type, **self.sign(body)}
                if attempts:
                    headers.update(
                        {"X-Slack-Retry-Num": str(attempts), "X-Slack-Retry-Reason": "http_timeout"}
                    )
                attempts += 1
                started = time.perf_counter()
                try:
                    response = await client.post(self.request_url, content=body, headers=headers)
                    delivery = Delivery(
                        response.status_code, response.text, time.perf_counter() - started, attempts
                    )
                except httpx.TimeoutException:
                    delivery = Delivery(0, "", time.perf_counter() - started, attempts)
                if delivery.status // 100 == 2 or not retry or attempts > self.max_retries:
                    with self.lock:
                        self.deliveries.append(delivery)
                    return delivery

    async def deliver_event(self, event: dict[str, Any]) -> Delivery:
        return await self.deliver(json.dumps(self.event_envelope(event)), "application/json")

    async def deliver_form(self, form: dict[str, Any]) -> Delivery:
        return await self.deliver(urlencode(form), "application/x-www-form-urlencoded", retry=False)

    async def deliver_interaction(self, payload: dict[str, Any]) -> Delivery:
        return await self.deliver_form({"payload": json.dumps(payload)})

    def wait_for_change(self, seen: int, timeout: float) -> bool:
        """Block (in a thread) until more than `seen` things were posted."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self.posted) > seen, timeout)

    # --- installing the app (OAuth v2): /oauth/v2/authorize and oauth.v2.access --------

    def install_routes(self) -> list[BaseRoute]:
        """Slack's consent page and code exchange, for installing the app into this
        workspace with the client credentials of `install_settings()`."""
        self.install = AppInstall()
        return [
            Route("/oauth/v2/authorize", self._oauth_authorize, methods=["GET"]),
            Route("/api/oauth.v2.access", self._oauth_v2_access, methods=["GET", "POST"]),
        ]

    def install_settings(self) -> dict[str, str]:
        """The settings that switch ATOM to installing into workspaces via this Slack."""
        return {
            "slack_client_id": self.install.client_id,
            "slack_client_secret": self.install.client_secret,
        }

    async def _oauth_authorize(self, request: Request) -> Response:
        """Consent as `install.installer` (or refuse, with `install.deny`) and send the
        browser back to the app's redirect URI."""
        params = request.query_params
        redirect_uri = params.get("redirect_uri", "")
        if params.get("client_id") != self.install.client_id or not redirect_uri:
            return HTMLResponse("<html><body>Invalid client_id parameter</body></html>", 400)
        state = params.get("state", "")
        if self.install.deny:
            denied = urlencode({"error": "access_denied", "state": state})
            return RedirectResponse(f"{redirect_uri}?{denied}", 302)
        code = f"{TEAM_ID[1:]}.{secrets.randbelow(10**12)}.{secrets.token_hex(32)}"
        scopes = [s for s in params.get("scope", "").split(",") if s]
        with self.lock:
            self.install.codes[code] = {"redirect_uri": redirect_uri, "scopes": scopes}
        granted = urlencode({"code": code, "state": state})
        return RedirectResponse(f"{redirect_uri}?{granted}", 302)

    async def _oauth_v2_access(self, request: Request) -> Response:
        """Exchange a code for a bot token: client credentials as HTTP Basic or
        `client_id`/`client_secret` arguments; errors are `{"ok": false, …}` with 200."""
        args = await _arguments(request)
        client_id, client_secret = args.get("client_id"), args.get("client_secret")
        header = request.headers.get("authorization", "")
        if header.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(header[6:]).decode().partition(":")
        if client_id != self.install.client_id:
            return JSONResponse({"ok": False, "error": "invalid_client_id"})
        if client_secret != self.install.client_secret:
            return JSONResponse({"ok": False, "error": "bad_client_secret"})
        with self.lock:
            issued = self.install.codes.pop(args.get("code", ""), None)
        if issued is None:
            return JSONResponse({"ok": False, "error": "invalid_code"})
        if args.get("redirect_uri", issued["redirect_uri"]) != issued["redirect_uri"]:
            return JSONResponse({"ok": False, "error": "bad_redirect_uri"})
        numbers = "-".join(str(secrets.randbelow(10**12)) for _ in range(2))
        token = f"xoxb-{numbers}-{secrets.token_hex(12)}"
        self.grant(token, BOT_USER_ID, set(issued["scopes"]))
        self.install.bot_tokens.append(token)
        return JSONResponse(
            {
                "ok": True,
                "app_id": APP_ID,
                "authed_user": {"id": self.install.installer},
                "scope": ",".join(issued["scopes"]),
                "token_type": "bot",
                "access_token": token,
                "bot_user_id": BOT_USER_ID,
                "team": {"id": TEAM_ID, "name": "ATOM Sandbox"},
                "enterprise": None,
                "is_enterprise_install": False,
            }
        )


@dataclass
class AppInstall:
    """The app's OAuth client as this workspace knows it, and the installs so far."""

    client_id: str = field(
        default_factory=lambda: f"{secrets.randbelow(10**12)}.{secrets.randbelow(10**12)}"
    )
    client_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    installer: str = "U0ALICE001"
    deny: bool = False
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    bot_tokens: list[str] = field(default_factory=list)


class SlackApiError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


def _conversation_json(channel: Channel) -> dict[str, Any]:
    """A conversation object as `conversations.list` returns it."""
    if channel.is_im:
        return {"id": channel.id, "is_im": True, "user": channel.user, "is_user_deleted": False}
    return {
        "id": channel.id,
        "name": channel.name,
        "is_channel": True,
        "is_group": False,
        "is_im": False,
        "is_private": False,
        "is_archived": False,
        "is_general": channel.name == "general",
        "is_member": True,
        "name_normalized": channel.name,
    }


async def _arguments(request: Request) -> dict[str, Any]:
    """Slack accepts arguments in the query string, a form body or a JSON body."""
    args: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    if body and content_type.startswith("application/json"):
        try:
            parsed = json.loads(body)
        except ValueError:
            raise EmulatorError(200, "invalid_json", error="invalid_json") from None
        if isinstance(parsed, dict):
            args.update(parsed)
    elif body:
        args.update(dict(parse_qsl(body.decode())))
    return args


def _json_arg(value: Any) -> Any:
    """Blocks and views arrive as JSON strings in form bodies, as objects in JSON bodies."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise SlackApiError("invalid_blocks_format") from None
    return value


def _check_blocks(blocks: Any, limit: int = MAX_BLOCKS) -> None:
    if not isinstance(blocks, list) or not all(isinstance(b, dict) and "type" in b for b in blocks):
        raise SlackApiError("invalid_blocks")
    if len(blocks) > limit:
        raise SlackApiError(
            "invalid_blocks",
            response_metadata={
                "messages": [f"[ERROR] no more than {limit} items allowed [json-pointer:/blocks]"]
            },
        )
    for block in blocks:
        text = block.get("text")
        if isinstance(text, dict) and len(text.get("text", "")) > 3000:
            raise SlackApiError(
                "invalid_blocks",
                response_metadata={
                    "messages": [
                        "[ERROR] must be less than 3001 characters [json-pointer:/blocks/text/text]"
                    ]
                },
            )
