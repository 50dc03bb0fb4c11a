"""Drive a conversation with the bot through the Slack emulator, over real HTTP.

    harness = SlackHarness(slack)                    # slack.request_url points at the bot
    await harness.dm("every weekday at 9 post standup in #team")
    preview = await harness.reply()                  # the bot's next message in that DM
    await harness.click(preview, "approve")
    done = await harness.next_update(preview)        # the same message, updated in place

Like errbot's test backend: push what a user does in, pop what the bot said out. Every
wait has a timeout and fails with what the bot did say, so a test never hangs silently.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.blocktext import buttons, plain
from sandbox.slack import APP_ID, TEAM_DOMAIN, TEAM_ID, Delivery, Posted, SlackEmulator, SlackFile

DEFAULT_USER = "U0ALICE001"


@dataclass
class BotMessage:
    """Something the bot posted (or updated), as the harness saw it."""

    kind: str
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    user: str | None  # for ephemeral messages: who sees it
    raw: dict[str, Any]

    @property
    def content(self) -> str:
        """Every word in the message, for `in` checks."""
        return plain(self.text, self.blocks)

    @property
    def action_ids(self) -> list[str]:
        return [b.get("action_id", "") for b in buttons(self.blocks)]

    @property
    def thread_ts(self) -> str | None:
        return self.raw.get("thread_ts")


class HarnessTimeout(AssertionError):
    """The bot did not say what a test waited for; the message quotes what it did say."""


class SlackHarness:
    def __init__(self, slack: SlackEmulator, user: str = DEFAULT_USER) -> None:
        self.slack = slack
        self.user = user
        self.cursor = len(slack.posted)

    # --- what a user does --------------------------------------------------------------

    async def dm(
        self, text: str, user: str | None = None, thread_ts: str | None = None
    ) -> Delivery:
        """`user` writes `text` to the bot in their DM (in a thread if `thread_ts`)."""
        user = user or self.user
        event = self.slack.user_message(user, text, self.slack.im_with(user), thread_ts)
        return await self.slack.deliver_event(event)

    async def mention(
        self, text: str, channel: str = "general", user: str | None = None
    ) -> Delivery:
        user = user or self.user
        target = self.slack.channel_by_name(channel)
        event = self.slack.user_message(user, f"<@{self.bot_user()}> {text}", target)
        return await self.slack.deliver_event({**event, "type": "app_mention"})

    async def command(
        self, text: str, user: str | None = None, channel: str | None = None, command: str = "/atom"
    ) -> Delivery:
        user = user or self.user
        target = self.slack.channel_by_name(channel) if channel else self.slack.im_with(user)
        return await self.slack.deliver_form(self.slack.command_form(user, target, command, text))

    async def upload(
        self,
        name: str,
        content: bytes,
        mimetype: str,
        *,
        subtype: str | None = None,
        text: str = "",
        user: str | None = None,
    ) -> Delivery:
        """`user` shares a file in their DM with the bot (a voice clip: subtype
        `slack_audio`)."""
        user = user or self.user
        file = SlackFile(
            id="F0" + str(len(self.slack.files) + 1).zfill(8),
            name=name,
            mimetype=mimetype,
            content=content,
            user=user,
            subtype=subtype,
        )
        with self.slack.lock:
            self.slack.files[file.id] = file
        event = self.slack.user_message(user, text, self.slack.im_with(user), files=[file])
        return await self.slack.deliver_event(event)

    async def open_home(self, user: str | None = None) -> Delivery:
        user = user or self.user
        ts = self.slack.next_ts()
        return await self.slack.deliver_event(
            {
                "type": "app_home_opened",
                "user": user,
                "channel": self.slack.im_with(user).id,
                "tab": "home",
                "event_ts": ts,
            }
        )

    async def click(
        self,
        message: BotMessage | dict[str, Any],
        action_id: str,
        user: str | None = None,
        value: str | None = None,
    ) -> Delivery:
        """Press the button `action_id` in a message (or in a view: pass the view dict)."""
        user = user or self.user
        if isinstance(message, BotMessage):
            blocks, container, extra = message.blocks, self._message_container(message, user), {}
        else:
            blocks, container = (
                message.get("blocks", []),
                {"type": "view", "view_id": message["id"]},
            )
            extra = {"view": message}
        element = next((b for b in buttons(blocks) if b.get("action_id") == action_id), None)
        if element is None:
            raise AssertionError(
                f"no button {action_id!r}; the message has "
                f"{[b.get('action_id') for b in buttons(blocks)]}"
            )
        payload = {
            "type": "block_actions",
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "user": self._user_ref(user),
            "api_app_id": APP_ID,
            "token": "sandbox-verification-token",
            "container": container,
            "trigger_id": self.slack.new_trigger_id(),
            "state": {"values": {}},
            "actions": [_action(element, value)],
            **extra,
        }
        if isinstance(message, BotMessage):
            payload["channel"] = {"id": message.channel, "name": self._channel_name(message)}
            payload["message"] = {
                "type": "message",
                "ts": message.ts,
                "text": message.text,
                "blocks": message.blocks,
                "user": self.bot_user(),
            }
            payload["response_url"] = self.slack.new_response_url(message.channel, user, message.ts)
        return await self.slack.deliver_interaction(payload)

    async def submit(
        self, view: dict[str, Any], values: dict[str, dict[str, Any]], user: str | None = None
    ) -> Delivery:
        """Submit a modal. `values` is {block_id: {action_id: value}}; plain strings become
        plain_text_input values. The delivery's `json()` holds the bot's response_action."""
        user = user or self.user
        state = {
            block_id: {action_id: _input_value(value) for action_id, value in actions.items()}
            for block_id, actions in values.items()
        }
        submitted = {**view, "state": {"values": state}}
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "user": self._user_ref(user),
            "api_app_id": APP_ID,
            "token": "sandbox-verification-token",
            "trigger_id": self.slack.new_trigger_id(),
            "view": submitted,
            "response_urls": [],
            "is_enterprise_install": False,
        }
        return await self.slack.deliver_interaction(payload)

    # --- what the bot did -------------------------------------------------------------

    async def next(
        self,
        predicate: Callable[[BotMessage], bool] = lambda _m: True,
        timeout: float = 10.0,
        kinds: tuple[str, ...] | None = None,
    ) -> BotMessage:
        """The next thing the bot posted/updated (after the cursor) matching `predicate`.
        Everything up to it is consumed."""
        deadline = time.monotonic() + timeout
        while True:
            posted = self.slack.posted
            while self.cursor < len(posted):
                item = posted[self.cursor]
                self.cursor += 1
                message = _as_message(item)
                if message and (kinds is None or message.kind in kinds) and predicate(message):
                    return message
            if time.monotonic() > deadline:
                raise HarnessTimeout(
                    f"the bot said nothing matching within {timeout}s; it said: {self.transcript()}"
                )
            await asyncio.sleep(0.01)

    async def reply(
        self, user: str | None = None, contains: str | None = None, timeout: float = 10.0
    ) -> BotMessage:
        """The bot's next new message or ephemeral reply to `user` (in their DM, or an
        ephemeral one wherever they are), optionally containing `contains`."""
        user = user or self.user
        dm = self.slack.im_with(user).id

        def matches(m: BotMessage) -> bool:
            to_user = m.channel == dm if m.kind == "message" else m.user == user
            return to_user and (contains is None or contains in m.content)

        return await self.next(matches, timeout, kinds=("message", "ephemeral"))

    async def next_update(self, message: BotMessage, timeout: float = 10.0) -> BotMessage:
        """The next version of `message` (edited in place)."""
        return await self.next(lambda m: m.ts == message.ts, timeout, kinds=("update",))

    async def next_view(self, timeout: float = 10.0) -> dict[str, Any]:
        """The next modal opened or updated."""
        deadline = time.monotonic() + timeout
        while True:
            posted = self.slack.posted
            while self.cursor < len(posted):
                item = posted[self.cursor]
                self.cursor += 1
                if item.kind in {"view_open", "view_update"}:
                    return item.data
            if time.monotonic() > deadline:
                raise HarnessTimeout(
                    f"no modal opened within {timeout}s; the bot said: {self.transcript()}"
                )
            await asyncio.sleep(0.01)

    async def home(self, user: str | None = None, timeout: float = 10.0) -> dict[str, Any]:
        user = user or self.user
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for item in self.slack.posted[self.cursor :]:
                if item.kind == "home" and item.data["user"] == user:
                    self.cursor = item.seq + 1
                    return item.data
            await asyncio.sleep(0.01)
        raise HarnessTimeout(f"no App Home published for {user} within {timeout}s")

    def transcript(self, last: int = 8) -> str:
        items = [m for m in (_as_message(p) for p in self.slack.posted[-last:]) if m]
        return " | ".join(f"{m.kind}: {m.content[:200]!r}" for m in items) or "(nothing)"

    # --- helpers ---------------------------------------------------------------------

    def bot_user(self) -> str:
        from sandbox.slack import BOT_USER_ID

        return BOT_USER_ID

    def _user_ref(self, user: str) -> dict[str, Any]:
        name = self.slack.users[user].name
        return {"id": user, "username": name, "name": name, "team_id": TEAM_ID}

    def _channel_name(self, message: BotMessage) -> str:
        channel = self.slack.channels.get(message.channel)
        return channel.name if channel and not channel.is_im else "directmessage"

    def _message_container(self, message: BotMessage, user: str) -> dict[str, Any]:
        return {
            "type": "message",
            "message_ts": message.ts,
            "channel_id": message.channel,
            "is_ephemeral": message.kind == "ephemeral",
        }


def _as_message(item: Posted) -> BotMessage | None:
    if item.kind not in {"message", "update", "ephemeral"}:
        return None
    data = item.data
    return BotMessage(
        kind=item.kind,
        channel=data["channel"],
        ts=data["ts"],
        text=data.get("text", ""),
        blocks=data.get("blocks") or [],
        user=data.get("user") if item.kind == "ephemeral" else None,
        raw=data,
    )


def _action(element: dict[str, Any], value: str | None) -> dict[str, Any]:
    """The `actions[0]` of a click on `element`: a button sends its value, a select menu
    the option picked (`value`: the option's value; default its first option)."""
    action = {
        "action_id": element["action_id"],
        "block_id": element["block_id"],
        "type": element.get("type", "button"),
        "action_ts": f"{time.time():.6f}",
    }
    if action["type"] == "static_select":
        options = element.get("options") or []
        picked = next((o for o in options if o["value"] == value), options[0] if options else None)
        if picked is None or (value is not None and picked["value"] != value):
            raise AssertionError(f"the menu {element['action_id']!r} has no option {value!r}")
        return {**action, "selected_option": picked, "placeholder": element.get("placeholder")}
    return {
        **action,
        "value": value if value is not None else element.get("value", ""),
        "text": element.get("text"),
    }


def _input_value(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    return {
        "type": "plain_text_input",
        "value": value if isinstance(value, str) else json.dumps(value),
    }
