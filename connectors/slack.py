"""Slack as a workflow step: post to channels, DM people, react; and a poll for new
messages in a channel. ATOM acts as its bot user (the workspace's bot token).

Slack's Web API answers HTTP 200 with `{"ok": false, "error": "…"}` for most failures, so
`call` maps those error codes onto the ConnectorError family.
"""

from __future__ import annotations

import re
import time
from typing import Any

from pydantic import BaseModel, Field

from connectors.base import (
    ActionContext,
    AuthExpired,
    Connector,
    ConnectorError,
    EventItem,
    InvalidInput,
    NotFound,
    OAuth2Auth,
    PermissionDenied,
    PollResult,
)

connector = Connector(
    name="slack",
    title="Slack",
    description="Post messages, send direct messages and react in your Slack workspace.",
    auth=OAuth2Auth(
        authorize_url="https://slack.com/oauth/v2/authorize",
        token_url="https://slack.com/api/oauth.v2.access",
        revoke_url="https://slack.com/api/auth.revoke",
        pkce=False,
        client_id_setting="slack_client_id",
        client_secret_setting="slack_client_secret",
    ),
    base_url_setting="slack_api_url",
)

_AUTH_ERRORS = {"not_authed", "invalid_auth", "token_revoked", "token_expired", "account_inactive"}
_NOT_FOUND = {
    "channel_not_found",
    "user_not_found",
    "users_not_found",
    "message_not_found",
    "file_not_found",
}
_PERMISSION = {
    "missing_scope",
    "not_in_channel",
    "is_archived",
    "restricted_action",
    "not_allowed_token_type",
}
_MESSAGES = {
    "channel_not_found": "There is no channel {channel} that ATOM can see. Check the name, "
    "or invite ATOM to it (/invite @atom).",
    "not_in_channel": "ATOM is not a member of {channel}: invite it with /invite @atom.",
    "users_not_found": "No Slack user has the e-mail address {user}.",
    "user_not_found": "There is no Slack user {user}.",
    "message_not_found": "That message no longer exists.",
    "missing_scope": "ATOM's Slack app lacks the permission {needed}; reinstall it with that "
    "scope.",
}


async def call(ctx: ActionContext, method: str, *, idempotent: bool, **args: Any) -> dict:
    """Call a Web API method and return the `ok: true` body. Arguments go form-encoded,
    which every method accepts (read methods such as conversations.history reject JSON)."""
    form = {k: str(v) for k, v in args.items() if v is not None}
    body = await ctx.http.json("POST", f"/{method}", idempotent=idempotent, data=form)
    if body.get("ok"):
        return body
    raise _error(body, args)


def _error(body: dict[str, Any], args: dict[str, Any]) -> ConnectorError:
    code = str(body.get("error", "unknown_error"))
    template = _MESSAGES.get(code, "Slack said: {code}")
    message = template.format(
        code=code,
        needed=body.get("needed", ""),
        channel=args.get("channel", ""),
        user=args.get("user", args.get("email", "")),
    )
    if code in _AUTH_ERRORS:
        return AuthExpired("slack", code)
    if code in _NOT_FOUND:
        return NotFound(message, service="slack")
    if code in _PERMISSION:
        return PermissionDenied(message, service="slack")
    return InvalidInput(message, service="slack")


# --- actions ---------------------------------------------------------------------------


class PostMessageInput(BaseModel):
    channel: str = Field(description="Channel name (#dev) or ID (C0123…)", min_length=1)
    text: str = Field(description="Message text (Slack mrkdwn)", min_length=1)
    thread_ts: str | None = Field(None, description="Reply in this thread (a message ts)")


class MessageOutput(BaseModel):
    channel: str = Field(description="Channel ID the message was posted in")
    ts: str = Field(description="Message timestamp (its ID)")
    text: str


@connector.action(scopes=("chat:write",), idempotent=False)
async def post_message(ctx: ActionContext, data: PostMessageInput) -> MessageOutput:
    """Post a message to a channel."""
    body = await call(
        ctx,
        "chat.postMessage",
        idempotent=False,
        channel=data.channel,
        text=data.text,
        thread_ts=data.thread_ts,
    )
    return MessageOutput(channel=body["channel"], ts=body["ts"], text=data.text)


class SendDmInput(BaseModel):
    user: str = Field(
        description="The person: a user ID (U0123…), @name or e-mail address", min_length=1
    )
    text: str = Field(description="Message text (Slack mrkdwn)", min_length=1)


@connector.action(
    scopes=("chat:write", "im:write", "users:read", "users:read.email"), idempotent=False
)
async def send_dm(ctx: ActionContext, data: SendDmInput) -> MessageOutput:
    """Send a direct message to a person."""
    user_id = await resolve_user(ctx, data.user)
    opened = await call(ctx, "conversations.open", idempotent=True, users=user_id)
    body = await call(
        ctx, "chat.postMessage", idempotent=False, channel=opened["channel"]["id"], text=data.text
    )
    return MessageOutput(channel=body["channel"], ts=body["ts"], text=data.text)


async def resolve_user(ctx: ActionContext, user: str) -> str:
    """A user ID from an ID, an e-mail address or an @name."""
    if re.fullmatch(r"[UW][A-Z0-9]{2,}", user):
        return user
    if "@" in user.strip("@"):
        found = await call(ctx, "users.lookupByEmail", idempotent=True, email=user)
        return found["user"]["id"]
    name = user.lstrip("@").lower()
    cursor: str | None = None
    while True:
        page = await call(ctx, "users.list", idempotent=True, limit=200, cursor=cursor)
        for member in page.get("members", []):
            names = {
                member.get("name", "").lower(),
                member.get("profile", {}).get("display_name", "").lower(),
            }
            if name in names:
                return member["id"]
        cursor = page.get("response_metadata", {}).get("next_cursor")
        if not cursor:
            raise NotFound(f"There is no Slack user @{name}.", service="slack")


class AddReactionInput(BaseModel):
    channel: str = Field(description="Channel name or ID of the message", min_length=1)
    timestamp: str = Field(description="The message's ts", min_length=1)
    name: str = Field(description="Emoji name without colons, e.g. white_check_mark", min_length=1)


class ReactionOutput(BaseModel):
    channel: str
    timestamp: str
    name: str


@connector.action(scopes=("reactions:write",), idempotent=True)
async def add_reaction(ctx: ActionContext, data: AddReactionInput) -> ReactionOutput:
    """Add an emoji reaction to a message."""
    try:
        await call(
            ctx,
            "reactions.add",
            idempotent=True,
            channel=data.channel,
            timestamp=data.timestamp,
            name=data.name.strip(":"),
        )
    except InvalidInput as exc:
        if "already_reacted" not in str(exc):
            raise
    return ReactionOutput(channel=data.channel, timestamp=data.timestamp, name=data.name.strip(":"))


# --- events ----------------------------------------------------------------------------


class MessagePostedConfig(BaseModel):
    channel: str = Field(description="Channel name (#support) or ID to watch", min_length=1)
    pattern: str | None = Field(
        None, description="Only messages containing this text (case-insensitive)"
    )


class MessagePostedPayload(BaseModel):
    channel: str
    user: str | None
    text: str
    ts: str


async def poll_messages(
    ctx: ActionContext, config: MessagePostedConfig, cursor: str | None
) -> PollResult:
    """New messages since `cursor` (a message ts), oldest first; the first poll starts now."""
    if cursor is None:
        return PollResult(items=[], cursor=f"{time.time():.6f}")
    messages: list[dict[str, Any]] = []
    page_cursor: str | None = None
    while True:
        page = await call(
            ctx,
            "conversations.history",
            idempotent=True,
            channel=config.channel,
            oldest=cursor,
            limit=200,
            cursor=page_cursor,
        )
        messages.extend(page.get("messages", []))
        page_cursor = page.get("response_metadata", {}).get("next_cursor")
        if not page.get("has_more") or not page_cursor:
            break
    messages = [m for m in messages if float(m["ts"]) > float(cursor)]
    messages.sort(key=lambda m: float(m["ts"]))
    items = [
        EventItem(
            id=m["ts"],
            payload=MessagePostedPayload(
                channel=config.channel, user=m.get("user"), text=m.get("text", ""), ts=m["ts"]
            ).model_dump(),
        )
        for m in messages
        if not m.get("bot_id") and _matches_pattern(config, m.get("text", ""))
    ]
    newest = max((m["ts"] for m in messages), key=float, default=cursor)
    return PollResult(items=items, cursor=newest)


def _matches_pattern(config: MessagePostedConfig, text: str) -> bool:
    return not config.pattern or config.pattern.lower() in text.lower()


connector.event(
    name="message_posted",
    description="A message is posted in a channel (optionally containing some text).",
    config_model=MessagePostedConfig,
    payload_model=MessagePostedPayload,
    poll=poll_messages,
    scopes=("channels:history",),
    sample={
        "channel": "C0DEV00001",
        "user": "U0BOB00001",
        "text": "Deploy of api v2.3 finished :rocket:",
        "ts": "1764864000.000100",
    },
)
