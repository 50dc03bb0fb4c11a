"""Changing a stored workflow from chat: a reply in the thread of its approved plan, or
`/atom edit`, gives a preview of what changes; approving it stores version N+1 of the same
workflow and moves its schedule over; `/atom history` and `/atom rollback` then see it."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.blocks.lists import WORKFLOW_EDIT
from bot.blocks.plan import APPROVE, EDIT
from cli.sandbox_session import SandboxSession
from sandbox.harness import BotMessage, SlackHarness
from tests.bot.test_commands import say
from tests.bot.test_plans import ALICE, BOB, preview_for
from tests.bot.test_runs import TEAM
from workflows.scheduling.reconcile import SCHEDULE_PREFIX

BERLIN = ZoneInfo("Europe/Berlin")


async def next_fire(session: SandboxSession, workflow_id: str) -> datetime:
    """When the scheduler will fire the workflow's schedule next, in Berlin time."""
    scheduler = session.runtime.triggers.triggers.scheduler
    (held,) = await scheduler.schedules([SCHEDULE_PREFIX + workflow_id])
    assert held.next_fire_time is not None
    return held.next_fire_time.astimezone(BERLIN)


async def approved_standup(harness: SlackHarness) -> tuple[BotMessage, BotMessage, str]:
    """An approved weekday 09:00 schedule: its preview, the approved message, its id."""
    preview = await preview_for(harness, 'every weekday at 9am post "Stand-up!" in #team')
    await harness.click(preview, APPROVE)
    approved = await harness.next_update(preview)
    return preview, approved, re.search(r"as `(wf_[0-9a-f]+)`", approved.content).group(1)


def as_filled(modal: dict[str, Any], changes: dict[str, str]) -> dict[str, dict[str, Any]]:
    """What Slack submits: every field of the modal (as shown, unless changed)."""
    return {
        block["block_id"]: {
            "value": {
                "value": changes.get(block["block_id"], block["element"].get("initial_value", ""))
            }
        }
        for block in modal["blocks"]
        if block["type"] == "input"
    }


async def test_reply_in_the_thread_makes_version_two_and_rollback_moves_the_schedule_back(
    session: SandboxSession,
) -> None:
    harness, services = session.harness, session.runtime.services
    preview, approved, workflow_id = await approved_standup(harness)
    assert "Reply in this thread to change it" in approved.content
    assert (await next_fire(session, workflow_id)).hour == 9

    await harness.dm("make it 11am instead", thread_ts=preview.thread_ts)
    change = await harness.reply(contains="Approve")
    assert change.thread_ts == preview.thread_ts
    assert "Changes to" in change.content and "(version 1 → 2)" in change.content
    assert (
        "When: Every weekday at 09:00 (Europe/Berlin) → Every weekday at 11:00 (Europe/Berlin)"
        in change.content
    )
    assert (await services.workflows.get(TEAM, workflow_id)).version == 1  # not yet

    await harness.click(change, APPROVE)
    stored = await harness.next_update(change)
    assert f"`{workflow_id}` is now at version 2" in stored.content
    assert "Next run:" in stored.content and "11:00 (Europe/Berlin)" in stored.content
    records = await services.workflows.list_for(TEAM, owner=ALICE)
    assert [(r.id, r.version) for r in records] == [(workflow_id, 2)]  # same workflow
    assert (await next_fire(session, workflow_id)).hour == 11

    history = await say(harness, f"history {workflow_id}")
    assert "v1" in history.content and "*→* v2" in history.content
    rolled = await say(harness, f"rollback {workflow_id} 1")
    assert "is back at version 1" in rolled.content and "09:00 (Europe/Berlin)" in rolled.content
    assert (await next_fire(session, workflow_id)).hour == 9


async def test_a_second_reply_makes_version_three(session: SandboxSession) -> None:
    harness, services = session.harness, session.runtime.services
    preview, _, workflow_id = await approved_standup(harness)
    for version, change in ((2, "make it 10am"), (3, "post to #dev instead")):
        await harness.dm(change, thread_ts=preview.thread_ts)
        revised = await harness.reply(contains="Approve")
        await harness.click(revised, APPROVE)
        assert f"now at version {version}" in (await harness.next_update(revised)).content
    record = await services.workflows.get(TEAM, workflow_id)
    assert record.version == 3 and record.workflow.steps[0].with_["channel"] == "#dev"


async def test_atom_edit_previews_the_change_in_the_dm(session: SandboxSession) -> None:
    harness, services = session.harness, session.runtime.services
    *_, workflow_id = await approved_standup(harness)

    await harness.command(f"edit {workflow_id} post to #dev instead")
    change = await harness.reply(contains="Approve")
    assert "Step 1 (Slack · post message): `channel`: “#team” → “#dev”" in change.content
    told = await harness.reply()
    assert "approving it makes version 2" in told.content
    await harness.click(change, APPROVE)
    assert "now at version 2" in (await harness.next_update(change)).content
    assert (await services.workflows.get(TEAM, workflow_id)).workflow.steps[0].with_[
        "channel"
    ] == "#dev"


async def test_only_the_owner_can_edit(session: SandboxSession) -> None:
    harness = session.harness
    *_, workflow_id = await approved_standup(harness)
    refused = await say(harness, f"edit {workflow_id} make it 10am", user=BOB)
    assert f"belongs to <@{ALICE}>" in refused.content
    assert "Usage: `/atom edit" in (await say(harness, f"edit {workflow_id}")).content


async def test_the_edit_modal_of_an_active_workflow_makes_the_next_version(
    session: SandboxSession,
) -> None:
    harness, services = session.harness, session.runtime.services
    *_, workflow_id = await approved_standup(harness)
    shown = await say(harness, f"show {workflow_id}")
    await harness.click(shown, WORKFLOW_EDIT)
    modal = await harness.next_view()
    assert modal["submit"]["text"] == "Preview"

    bad = await harness.submit(modal, as_filled(modal, {"step:0:channel": ""}))
    assert bad.json()["response_action"] == "errors"
    await harness.submit(modal, as_filled(modal, {"step:0:text": "Stand-up in 5!"}))
    change = await harness.reply(contains="Approve")
    assert "`text`: “Stand-up!” → “Stand-up in 5!”" in change.content
    await harness.click(change, APPROVE)
    assert "now at version 2" in (await harness.next_update(change)).content
    record = await services.workflows.get(TEAM, workflow_id)
    assert (record.version, record.workflow.steps[0].with_["text"]) == (2, "Stand-up in 5!")
    assert (await next_fire(session, workflow_id)).hour == 9  # the schedule is unchanged


async def test_someone_else_cannot_open_the_edit_modal(session: SandboxSession) -> None:
    harness = session.harness
    *_, workflow_id = await approved_standup(harness)
    shown = await say(harness, f"show {workflow_id}")
    await harness.click(shown, WORKFLOW_EDIT, user=BOB)
    refusal = await harness.reply(user=BOB)
    assert f"belongs to <@{ALICE}>" in refusal.content


async def test_editing_a_change_in_the_modal_keeps_what_changes_in_view(
    session: SandboxSession,
) -> None:
    harness = session.harness
    preview, *_ = await approved_standup(harness)
    await harness.dm("make it 11am instead", thread_ts=preview.thread_ts)
    change = await harness.reply(contains="Approve")
    await harness.click(change, EDIT)
    modal = await harness.next_view()
    await harness.submit(modal, as_filled(modal, {"step:0:text": "Stand-up at 11!"}))
    updated = await harness.next_update(change)
    assert "(version 1 → 2)" in updated.content and "→ Every weekday at 11:00" in updated.content
    assert "`text`: “Stand-up!” → “Stand-up at 11!”" in updated.content
