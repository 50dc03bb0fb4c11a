"""The foundation's conversation: help, DMs, and Slack's delivery rules, over real HTTP."""

from __future__ import annotations

import asyncio
import json
import time

import httpx

from cli.sandbox_session import SandboxSession


async def test_atom_help_is_ephemeral_usage(session: SandboxSession) -> None:
    harness = session.harness
    delivery = await harness.command("help")
    assert delivery.status == 200
    reply = await harness.reply()
    assert reply.kind == "ephemeral"
    assert "/atom list" in reply.content
    assert "Try:" in reply.content


async def test_dm_round_trip(session: SandboxSession) -> None:
    harness = session.harness
    await harness.dm("hello")
    reply = await harness.reply()
    assert reply.kind == "message"
    assert reply.channel == session.slack.im_with(harness.user).id
    assert "what I can do" in reply.content


async def test_unknown_subcommand_gets_help_not_silence(session: SandboxSession) -> None:
    await session.harness.command("lsit")
    reply = await session.harness.reply()
    assert reply.kind == "ephemeral"
    assert "I don't know the command `lsit`. Did you mean `/atom list`?" in reply.content
    assert "/atom help" in reply.content


async def test_request_nobody_can_map_gets_a_question_not_silence(session: SandboxSession) -> None:
    await session.harness.dm("frobnicate the widgets")
    reply = await session.harness.reply()
    assert "I can't do “frobnicate the widgets” yet" in reply.content
    assert "`/atom connectors` lists everything" in reply.content
    assert "Answer in this thread" not in reply.content  # no answer can help
    assert reply.thread_ts is not None


async def test_refusal_offers_the_nearest_actions(session: SandboxSession) -> None:
    await session.harness.dm("archive the trello card for the launch")
    reply = await session.harness.reply()
    assert "The nearest things I can do:" in reply.content
    assert "(Trello)" in reply.content


async def test_bad_signature_is_rejected_and_not_handled(session: SandboxSession) -> None:
    slack = session.slack
    event = slack.user_message("U0ALICE001", "hi", slack.im_with("U0ALICE001"))
    body = json.dumps(slack.event_envelope(event))
    good = slack.sign(body)
    bad = {**good, "X-Slack-Signature": "v0=" + "0" * 64}
    for headers in (bad, {"X-Slack-Request-Timestamp": good["X-Slack-Request-Timestamp"]}):
        async with httpx.AsyncClient() as client:
            response = await client.post(
                slack.request_url,
                content=body,
                headers={"Content-Type": "application/json", **headers},
            )
        assert response.status_code == 401
    assert not [p for p in slack.posted if p.kind == "message"]


async def test_stale_timestamp_is_rejected(session: SandboxSession) -> None:
    slack = session.slack
    event = slack.user_message("U0ALICE001", "hi", slack.im_with("U0ALICE001"))
    body = json.dumps(slack.event_envelope(event))
    headers = slack.sign(body, timestamp=int(time.time()) - 6 * 60)
    async with httpx.AsyncClient() as client:
        response = await client.post(
            slack.request_url, content=body, headers={"Content-Type": "application/json", **headers}
        )
    assert response.status_code == 401
    assert not [p for p in slack.posted if p.kind == "message"]


async def test_retried_event_is_handled_once(session: SandboxSession) -> None:
    slack = session.slack
    event = slack.user_message("U0ALICE001", "hi", slack.im_with("U0ALICE001"))
    body = json.dumps(slack.event_envelope(event))
    async with httpx.AsyncClient() as client:
        for retry in range(3):
            headers = {"Content-Type": "application/json", **slack.sign(body)}
            if retry:
                headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
            response = await client.post(slack.request_url, content=body, headers=headers)
            assert response.status_code == 200
    await session.harness.reply()
    await asyncio.sleep(0.3)
    assert len([p for p in slack.posted if p.kind == "message"]) == 1


async def test_acks_fast(session: SandboxSession) -> None:
    delivery = await session.harness.dm("hello")
    await session.harness.reply()
    assert delivery.status == 200
    assert delivery.attempts == 1
    assert delivery.ack_seconds < 3.0


async def test_preview_names_what_the_plan_does_not_use(session: SandboxSession) -> None:
    await session.harness.dm("post 'hello' to #general and pin it")
    reply = await session.harness.reply()
    assert "I did not use: “pin it”" in reply.content
    assert "Reply in this thread" in reply.content


async def test_email_me_uses_the_address_on_the_slack_profile(session: SandboxSession) -> None:
    harness = session.harness
    address = session.slack.users[harness.user].email
    await harness.dm("email me 'stand up' every day at 3pm")
    reply = await harness.reply()
    assert address and address in reply.content
    assert "the address on your Slack profile" in reply.content
