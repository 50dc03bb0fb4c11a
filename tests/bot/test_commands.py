"""Every `/atom` subcommand, as a person types it, with its ephemeral answer."""

from __future__ import annotations

import re

from cli.sandbox_session import SandboxSession
from sandbox.harness import BotMessage, SlackHarness
from tests.bot.test_plans import ALICE, BOB, run_finished
from tests.bot.test_runs import TEAM, approved
from workflows.store import RunStatus, WorkflowState


async def say(harness: SlackHarness, text: str, user: str = ALICE) -> BotMessage:
    await harness.command(text, user=user)
    reply = await harness.reply(user=user)
    assert reply.kind == "ephemeral"
    return reply


async def standup(session: SandboxSession) -> str:
    """Approve a schedule workflow and return its id."""
    done = await approved(session.harness, 'every weekday at 9am post "Stand-up!" in #team')
    return re.search(r"as `(wf_[0-9a-f]+)`", done.content).group(1)


async def test_list_show_history_and_rollback(session: SandboxSession) -> None:
    harness = session.harness
    assert "You have no workflows yet" in (await say(harness, "list")).content
    workflow_id = await standup(session)
    listed = await say(harness, "list")
    assert workflow_id in listed.content and "Every weekday at 09:00" in listed.content
    assert "next run" in listed.content
    shown = await say(harness, f"show {workflow_id}")
    assert "1. Slack · post message" in shown.content and "version 1 of 1" in shown.content

    services = session.runtime.services
    record = await services.workflows.get(TEAM, workflow_id)
    changed = record.workflow.model_copy(update={"name": "Stand-up v2"})
    await services.workflows.update(TEAM, workflow_id, changed, ALICE)
    history = await say(harness, f"history {workflow_id}")
    assert "v1" in history.content and "v2 “Stand-up v2”" in history.content
    rolled = await say(harness, f"rollback {workflow_id} 1")
    assert "is back at version 1" in rolled.content and "Next run:" in rolled.content
    assert (await services.workflows.get(TEAM, workflow_id)).version == 1
    assert "has versions 1 to 2" in (await say(harness, f"rollback {workflow_id} 9")).content


async def test_pause_resume_delete_and_ownership(session: SandboxSession) -> None:
    harness, services = session.harness, session.runtime.services
    workflow_id = await standup(session)
    refused = await say(harness, f"pause {workflow_id}", user=BOB)
    assert f"belongs to <@{ALICE}>" in refused.content
    assert "Paused" in (await say(harness, f"pause {workflow_id}")).content
    assert (await services.workflows.get(TEAM, workflow_id)).state == WorkflowState.PAUSED
    resumed = await say(harness, f"resume {workflow_id}")
    assert "Resumed" in resumed.content and "Next run:" in resumed.content
    assert "Deleted" in (await say(harness, f"delete {workflow_id}")).content
    assert "was deleted" in (await say(harness, f"show {workflow_id}")).content
    assert "There is no workflow `wf_nope`" in (await say(harness, "show wf_nope")).content
    assert "Usage: `/atom pause <workflow id>`" in (await say(harness, "pause")).content


async def test_deleting_a_workflow_keeps_its_runs_in_the_history(
    session: SandboxSession,
) -> None:
    harness = session.harness
    done = await approved(harness, 'post "Ping" in #dev')
    workflow_id = re.search(r"`(wf_[0-9a-f]+)`", done.content).group(1)
    await run_finished(harness)
    deleted = await say(harness, f"delete {workflow_id}")
    assert "Its runs stay in the history" in deleted.content

    runs = await say(harness, "runs")
    assert "1 recent run(s)" in runs.content
    assert "(deleted)" in runs.content


async def test_runs_and_cancel(session: SandboxSession) -> None:
    harness = session.harness
    await approved(harness, 'post "Ping" in #dev')
    await run_finished(harness)
    runs = await say(harness, "runs")
    run_id = re.search(r"`(run_[0-9a-f]+)`", runs.content).group(1)
    assert "done" in runs.content
    assert "already succeeded" in (await say(harness, f"cancel {run_id}")).content
    assert "There is no run `run_nope`" in (await say(harness, "cancel run_nope")).content
    run = await session.runtime.services.runs.get(TEAM, run_id)
    assert run.status == RunStatus.SUCCEEDED


async def test_connect_connections_and_disconnect(session: SandboxSession) -> None:
    harness = session.harness
    connections = await say(harness, "connections")
    assert "GitHub* connected" in connections.content
    assert "Disconnected GitHub" in (await say(harness, "disconnect github")).content
    assert "GitHub was not connected" in (await say(harness, "disconnect github")).content
    after = await say(harness, "connections")
    assert "GitHub* not connected" in after.content
    connect = await say(harness, "connect github")
    button = next(b["accessory"] for b in connect.blocks if b.get("accessory"))
    assert button["url"].startswith(f"{session.web_url}/oauth/github/start?state=")
    unknown = await say(harness, "connect myspace")
    assert "I can connect:" in unknown.content and "github" in unknown.content


async def test_help_and_empty_command(session: SandboxSession) -> None:
    for text in ("help", ""):
        reply = await say(session.harness, text)
        assert "rollback <id> <version>" in reply.content and "/atom list" in reply.content
