"""The Slack connector against the Slack emulator, with requests and responses checked
against Slack's official Web API description."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from connectors.base import ActionContext, Credentials, NotFound, StaticCredentials
from connectors.client import HttpPool
from connectors.slack import MessagePostedConfig, connector, poll_messages
from core.settings import Settings
from sandbox.slack import SlackEmulator
from tests.specs import validate_response


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        yield emulator


@pytest.fixture
async def ctx(slack: SlackEmulator) -> AsyncIterator[ActionContext]:
    pool = HttpPool(Settings(_env_file=None, **slack.settings_overrides()))
    credentials = StaticCredentials(Credentials(**slack.issue_token()))
    yield ActionContext(
        team_id="T0SANDBOX1", user_id="U0ALICE001", http=pool.for_connector(connector, credentials)
    )
    await pool.aclose()


async def run(ctx: ActionContext, action: str, **inputs: object):
    return await connector.actions[action].run(ctx, inputs)


async def test_post_message_lands_in_the_channel(slack: SlackEmulator, ctx: ActionContext) -> None:
    out = await run(ctx, "post_message", channel="#dev", text="Build green")
    dev = slack.channel_by_name("dev")
    assert out.channel == dev.id
    assert slack.messages(dev.id)[-1]["text"] == "Build green"
    sent = slack.received("/api/chat.postMessage")[-1]
    assert sent.headers["authorization"] == f"Bearer {slack.bot_token}"
    assert sent.form() == {"channel": "#dev", "text": "Build green"}


async def test_send_dm_by_name_and_email(slack: SlackEmulator, ctx: ActionContext) -> None:
    await run(ctx, "send_dm", user="@bob", text="one")
    await run(ctx, "send_dm", user="carol@example.com", text="two")
    assert slack.messages(slack.im_with("U0BOB00001").id)[-1]["text"] == "one"
    assert slack.messages(slack.im_with("U0CAROL001").id)[-1]["text"] == "two"


async def test_unknown_channel_and_user_are_not_found(ctx: ActionContext) -> None:
    with pytest.raises(NotFound, match="invite ATOM"):
        await run(ctx, "post_message", channel="#nope", text="hi")
    with pytest.raises(NotFound, match="@nobody"):
        await run(ctx, "send_dm", user="@nobody", text="hi")


async def test_message_posted_poll_starts_now_and_filters(
    slack: SlackEmulator, ctx: ActionContext
) -> None:
    config = MessagePostedConfig(channel="#ops", pattern="outage")
    first = await poll_messages(ctx, config, None)
    assert first.items == []
    ops = slack.channel_by_name("ops")
    slack.user_message("U0ALICE001", "small OUTAGE in eu-west", ops)
    slack.user_message("U0BOB00001", "lunch?", ops)
    second = await poll_messages(ctx, config, first.cursor)
    assert [i.payload["text"] for i in second.items] == ["small OUTAGE in eu-west"]
    third = await poll_messages(ctx, config, second.cursor)
    assert third.items == []


async def test_emulator_answers_match_slacks_description(
    slack: SlackEmulator, ctx: ActionContext
) -> None:
    headers = {"Authorization": f"Bearer {slack.bot_token}"}
    async with httpx.AsyncClient(base_url=f"{slack.url}/api") as client:
        posted = (
            await client.post(
                "/chat.postMessage", headers=headers, data={"channel": "#dev", "text": "hi"}
            )
        ).json()
        validate_response("slack", "/chat.postMessage", "POST", 200, posted)
        updated = (
            await client.post(
                "/chat.update",
                headers=headers,
                data={"channel": posted["channel"], "ts": posted["ts"], "text": "edited"},
            )
        ).json()
        validate_response("slack", "/chat.update", "POST", 200, updated)
        opened = (
            await client.post("/conversations.open", headers=headers, data={"users": "U0BOB00001"})
        ).json()
        validate_response("slack", "/conversations.open", "POST", 200, opened)
        user = (
            await client.get("/users.info", headers=headers, params={"user": "U0BOB00001"})
        ).json()
        validate_response("slack", "/users.info", "GET", 200, user)
        missing = (
            await client.post(
                "/chat.postMessage", headers=headers, data={"channel": "#nope", "text": "hi"}
            )
        ).json()
        assert missing == {"ok": False, "error": "channel_not_found"}
        # Slack's errors come with HTTP 200; the description files them under "default"
        validate_response("slack", "/chat.postMessage", "POST", "default", missing)
        unauthed = (await client.post("/chat.postMessage", data={"channel": "#dev"})).json()
        assert unauthed["error"] == "not_authed"
