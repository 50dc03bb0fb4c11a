"""The DM → plan preview → approve → run → live status path, and everything a person can
do to a plan: follow-ups, questions, edits, cancelling, and what others may not do."""

from __future__ import annotations

import asyncio

from bot.blocks.plan import APPROVE, CANCEL, EDIT
from cli.sandbox_session import SandboxSession
from sandbox.harness import BotMessage, SlackHarness
from workflows.store import WorkflowRepo

ALICE, BOB = "U0ALICE001", "U0BOB00001"


async def preview_for(harness: SlackHarness, text: str) -> BotMessage:
    await harness.dm(text)
    return await harness.reply(contains="Approve")


async def run_finished(harness: SlackHarness, timeout: float = 20.0) -> BotMessage:
    """The run status message once it reached a final state."""
    return await harness.next(
        lambda m: any(
            w in m.content for w in ("Run done", "Run failed", "Run needs your attention")
        ),
        timeout,
        kinds=("message", "update"),
    )


async def test_dm_to_preview_to_approved_run(session: SandboxSession) -> None:
    harness, slack = session.harness, session.slack
    preview = await preview_for(harness, 'post "Deploy finished" in #dev')
    assert preview.thread_ts is not None
    assert {APPROVE, EDIT, CANCEL} <= set(preview.action_ids)
    assert "When you run it" in preview.content
    assert "1. Slack · post message" in preview.content
    assert "posts to #dev" in preview.content

    await harness.click(preview, APPROVE)
    approved = await harness.next_update(preview)
    assert approved.action_ids == []  # buttons gone: nobody can approve twice
    assert f"Approved by <@{ALICE}>" in approved.content
    assert "Running it now" in approved.content

    status = await run_finished(harness)
    assert "Run done" in status.content
    assert ":white_check_mark: *1. Slack · post message*" in status.content
    dev = slack.channel_by_name("dev")
    assert [m["text"] for m in slack.messages(dev.id)][-1] == "Deploy finished"
    records = await WorkflowRepo(session.runtime.database).list_for("T0SANDBOX1", owner=ALICE)
    assert [r.name for r in records] == [records[0].name] and records[0].version == 1


async def test_only_the_requester_can_approve(session: SandboxSession) -> None:
    harness = session.harness
    preview = await preview_for(harness, 'post "hello" in #dev')
    await harness.click(preview, APPROVE, user=BOB)
    refusal = await harness.reply(user=BOB)
    assert refusal.kind == "ephemeral"
    assert f"Only <@{ALICE}>, who asked for this plan, can approve it." in refusal.content
    assert await WorkflowRepo(session.runtime.database).list_for("T0SANDBOX1") == []


async def test_double_click_approves_once(session: SandboxSession) -> None:
    harness = session.harness
    preview = await preview_for(harness, 'post "once" in #dev')
    await asyncio.gather(harness.click(preview, APPROVE), harness.click(preview, APPROVE))
    status = await run_finished(harness)
    refusals = [p.data["text"] for p in session.slack.posted if p.kind == "ephemeral"]
    assert refusals == ["This plan was already approved."]
    assert len(await WorkflowRepo(session.runtime.database).list_for("T0SANDBOX1")) == 1
    assert "Run done" in status.content
    dev = session.slack.channel_by_name("dev")
    assert [m["text"] for m in session.slack.messages(dev.id)].count("once") == 1


async def test_cancel_discards_the_plan(session: SandboxSession) -> None:
    harness = session.harness
    preview = await preview_for(harness, 'post "never" in #dev')
    await harness.click(preview, CANCEL)
    cancelled = await harness.next_update(preview)
    assert "Cancelled by" in cancelled.content and cancelled.action_ids == []
    assert await WorkflowRepo(session.runtime.database).list_for("T0SANDBOX1") == []


async def test_follow_up_in_the_thread_revises_the_plan(session: SandboxSession) -> None:
    harness = session.harness
    first = await preview_for(harness, 'every weekday at 9am post "Stand-up!" in #team')
    assert "Every weekday at 09:00 (Europe/Berlin)" in first.content
    await harness.dm("make it 10am", thread_ts=first.thread_ts)
    replaced = await harness.next_update(first)
    assert "Replaced by the revised plan below" in replaced.content
    assert replaced.action_ids == []
    revised = await harness.reply(contains="Approve")
    assert revised.thread_ts == first.thread_ts
    assert "Every weekday at 10:00 (Europe/Berlin)" in revised.content

    await harness.click(revised, APPROVE)
    approved = await harness.next_update(revised)
    assert "Next run:" in approved.content and "10:00 (Europe/Berlin)" in approved.content


async def test_a_question_is_asked_and_the_answer_continues_the_plan(
    session: SandboxSession,
) -> None:
    harness = session.harness
    await harness.dm("post a message in #dev")
    question = await harness.reply()
    assert "What should the message to #dev say?" in question.content
    await harness.dm("Release 1.2 is out", thread_ts=question.thread_ts)
    preview = await harness.reply(contains="Approve")
    assert "Release 1.2 is out" in preview.content
    assert preview.thread_ts == question.thread_ts


async def test_edit_shows_validation_errors_next_to_the_field(session: SandboxSession) -> None:
    harness = session.harness
    preview = await preview_for(harness, 'post "v1" in #dev')
    await harness.click(preview, EDIT)
    modal = await harness.next_view()
    fields = {b["block_id"] for b in modal["blocks"] if b["type"] == "input"}
    assert {"name", "step:0:channel", "step:0:text"} <= fields

    bad = await harness.submit(modal, {"step:0:text": {"value": "{{ steps.nope.url }}"}})
    answer = bad.json()
    assert answer["response_action"] == "errors"
    assert "nope" in answer["errors"]["step:0:text"]

    good = await harness.submit(modal, {"step:0:text": {"value": "v2"}})
    assert good.body == ""
    updated = await harness.next_update(preview)
    assert "`text`: v2" in updated.content
    assert APPROVE in updated.action_ids


async def test_someone_else_cannot_edit(session: SandboxSession) -> None:
    harness = session.harness
    preview = await preview_for(harness, 'post "mine" in #dev')
    await harness.click(preview, EDIT, user=BOB)
    refusal = await harness.reply(user=BOB)
    assert f"Only <@{ALICE}> can edit this plan." in refusal.content
