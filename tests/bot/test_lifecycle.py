"""A one-time workflow is completed after its run: `/atom list`, `/atom show` and App Home
say so, it offers no Pause, and changing it from its thread runs the new version once."""

from __future__ import annotations

import re

from bot.blocks.plan import APPROVE
from cli.sandbox_session import SandboxSession
from tests.bot.test_commands import say
from tests.bot.test_plans import ALICE, preview_for, run_finished
from tests.bot.test_runs import TEAM, approved
from workflows.store import WorkflowState


async def test_a_one_time_workflow_is_completed_after_its_run(session: SandboxSession) -> None:
    harness, services = session.harness, session.runtime.services
    done = await approved(harness, 'post "Ping" in #dev')
    workflow_id = re.search(r"as `(wf_[0-9a-f]+)`", done.content).group(1)
    assert "Run done" in (await run_finished(harness)).content
    assert (await services.workflows.get(TEAM, workflow_id)).state == WorkflowState.COMPLETED

    listed = await say(harness, "list")
    assert f"`{workflow_id}` · v1 · completed" in listed.content and "active" not in listed.content
    assert "completed · version 1 of 1" in (await say(harness, f"show {workflow_id}")).content
    await harness.open_home()
    home = await harness.home()
    (line,) = [b for b in home["blocks"] if workflow_id in str(b.get("text"))]
    assert "completed" in line["text"]["text"] and "accessory" not in line
    refused = await say(harness, f"pause {workflow_id}")
    assert "already ran and is completed" in refused.content


async def test_changing_a_completed_workflow_runs_the_new_version(
    session: SandboxSession,
) -> None:
    harness, services, slack = session.harness, session.runtime.services, session.slack
    preview = await preview_for(harness, 'post "Ping" in #dev')
    await harness.click(preview, APPROVE)
    await run_finished(harness)
    await harness.dm("post to #ops instead", thread_ts=preview.thread_ts)
    change = await harness.reply(contains="Approve")
    assert "`channel`: “#dev” → “#ops”" in change.content
    await harness.click(change, APPROVE)
    assert "Running it now" in (await harness.next_update(change)).content
    assert "Run done" in (await run_finished(harness)).content
    (record,) = await services.workflows.list_for(TEAM, owner=ALICE)
    assert (record.version, record.state) == (2, WorkflowState.COMPLETED)
    ops = slack.channel_by_name("ops")
    assert [m["text"] for m in slack.messages(ops.id)] == ["Ping"]
