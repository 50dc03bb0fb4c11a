"""Runs as people see them in Slack: the live status message, a failing step with Retry,
N-of-M approvals with a rejection, and App Home."""

from __future__ import annotations

from bot.blocks.plan import APPROVE
from bot.blocks.run import APPROVE_STEP, REJECT_STEP, RETRY, RETRY_FROM_STEP, RETRY_STEP_ONLY
from bot.home import HOME_PAUSE, HOME_RESUME
from cli.sandbox_session import SandboxSession
from sandbox.harness import BotMessage, SlackHarness
from tests.bot.test_plans import ALICE, BOB, preview_for, run_finished
from workflows.model import Workflow
from workflows.store import RunStatus, WorkflowState

CAROL = "U0CAROL001"
TEAM = "T0SANDBOX1"


async def approved(harness: SlackHarness, text: str) -> BotMessage:
    preview = await preview_for(harness, text)
    await harness.click(preview, APPROVE)
    return await harness.next_update(preview)


async def test_failing_step_explains_and_retry_succeeds(session: SandboxSession) -> None:
    harness, slack = session.harness, session.slack
    await approved(harness, 'post "Deploy done" in #releases')
    failed = await run_finished(harness)
    assert "Run failed" in failed.content
    assert "There is no channel #releases that ATOM can see" in failed.content
    assert "What to do:" in failed.content
    assert RETRY in failed.action_ids

    channel = slack.add_channel("releases")
    await harness.click(failed, RETRY)
    confirmation = await harness.reply(contains="Retrying as run")
    assert confirmation.kind == "ephemeral"
    retried = await run_finished(harness)
    assert "Run done" in retried.content and retried.ts != failed.ts
    assert slack.messages(channel.id)[-1]["text"] == "Deploy done"


async def start_approval_run(session: SandboxSession) -> str:
    """A stored workflow whose first step asks Bob and Carol (both needed), then posts."""
    services = session.runtime.services
    workflow = Workflow.model_validate(
        {
            "name": "Release sign-off",
            "trigger": {"type": "manual"},
            "steps": [
                {
                    "id": "ok",
                    "action": "approval.request",
                    "with": {
                        "approvers": [BOB, CAROL],
                        "min_approvals": 2,
                        "message": "Ship release 2.0?",
                    },
                },
                {
                    "id": "post",
                    "action": "slack.post_message",
                    "with": {"channel": "#dev", "text": "Shipping 2.0"},
                },
            ],
        }
    )
    workflow_id, _ = await services.workflows.create(TEAM, ALICE, workflow)
    return await services.launcher.start(TEAM, workflow_id, {}, ALICE, "manual")


def approval_for(harness: SlackHarness, user: str) -> BotMessage:
    dm = harness.slack.im_with(user).id
    return harness.next(
        lambda m: m.channel == dm and "Approval needed" in m.content, kinds=("message",)
    )


async def test_two_of_two_approval_with_a_rejection_fails_the_run(session: SandboxSession) -> None:
    harness = session.harness
    run_id = await start_approval_run(session)
    bob_request = await approval_for(harness, BOB)
    assert "Ship release 2.0?" in bob_request.content
    assert {APPROVE_STEP, REJECT_STEP} <= set(bob_request.action_ids)
    carol_request = await approval_for(harness, CAROL)

    await harness.click(bob_request, APPROVE_STEP, user=ALICE)
    refusal = await harness.reply(user=ALICE, contains="someone else")
    assert "You started this run" in refusal.content

    await harness.click(bob_request, APPROVE_STEP, user=BOB)
    await harness.next_update(bob_request)
    waiting = await session.runtime.services.runs.get(TEAM, run_id)
    assert waiting.status == RunStatus.WAITING_APPROVAL

    mark = harness.cursor
    await harness.click(carol_request, REJECT_STEP, user=CAROL)
    final = await run_finished(harness)
    harness.cursor = mark  # Carol's own message is updated around the same time
    assert "You rejected this" in (await harness.next_update(carol_request)).content
    assert "Run failed" in final.content
    run = await session.runtime.services.runs.get(TEAM, run_id)
    assert run.status == RunStatus.FAILED
    audit = [e.action for e in await session.runtime.services.audit.entries(TEAM)]
    assert "approval.approved" in audit and "approval.rejected" in audit
    dev = session.slack.channel_by_name("dev")
    assert "Shipping 2.0" not in [m["text"] for m in session.slack.messages(dev.id)]


async def test_enough_approvals_resume_the_run(session: SandboxSession) -> None:
    harness = session.harness
    await start_approval_run(session)
    bob_request = await approval_for(harness, BOB)
    carol_request = await approval_for(harness, CAROL)
    await harness.click(bob_request, APPROVE_STEP, user=BOB)
    await harness.click(carol_request, APPROVE_STEP, user=CAROL)
    final = await run_finished(harness)
    assert "Run done" in final.content
    dev = session.slack.channel_by_name("dev")
    assert session.slack.messages(dev.id)[-1]["text"] == "Shipping 2.0"


async def test_app_home_lists_workflows_connections_and_runs(session: SandboxSession) -> None:
    harness = session.harness
    await approved(harness, 'every weekday at 9am post "Stand-up!" in #team')
    await harness.open_home()
    home = await harness.home()
    text = "\n".join(str(b) for b in home["blocks"])
    assert "Your workflows" in text and "Every weekday at 09:00" in text
    assert "next run" in text
    assert "Your connections" in text and "GitHub* connected" in text
    assert "Recent runs" in text

    pause = next(
        b["accessory"]
        for b in home["blocks"]
        if b.get("accessory", {}).get("action_id") == HOME_PAUSE
    )
    await harness.click(home, HOME_PAUSE, value=pause["value"])
    paused_home = await harness.home()
    assert any(
        b.get("accessory", {}).get("action_id") == HOME_RESUME for b in paused_home["blocks"]
    )
    record = (await session.runtime.services.workflows.list_for(TEAM, owner=ALICE))[0]
    assert record.state == WorkflowState.PAUSED


async def test_retry_from_the_failed_step_keeps_the_first_post(session: SandboxSession) -> None:
    """Issue 19: the second of three steps fails; Retry from this step does not post the
    first message again, a stranger's click is refused, and the run finishes."""
    harness, slack, services = session.harness, session.slack, session.runtime.services
    posts = [
        ("first", "#dev", "First"),
        ("second", "#launches", "Second"),
        ("third", "#dev", "Third"),
    ]
    workflow = Workflow.model_validate(
        {
            "name": "Three posts",
            "trigger": {"type": "manual"},
            "steps": [
                {"id": i, "action": "slack.post_message", "with": {"channel": c, "text": t}}
                for i, c, t in posts
            ],
        }
    )
    workflow_id, _ = await services.workflows.create(TEAM, ALICE, workflow)
    await services.launcher.start(TEAM, workflow_id, {}, ALICE, "manual")
    failed = await run_finished(harness)
    assert "Run failed" in failed.content
    assert RETRY_FROM_STEP in failed.action_ids and RETRY_STEP_ONLY in failed.action_ids

    await harness.click(failed, RETRY_FROM_STEP, user=CAROL)
    refusal = await harness.reply(user=CAROL, contains="approvers can retry")
    assert refusal.kind == "ephemeral"

    launches = slack.add_channel("launches")
    await harness.click(failed, RETRY_FROM_STEP, user=ALICE)
    await harness.reply(user=ALICE, contains="earlier steps are not run again")
    done = await run_finished(harness)
    assert "Run done" in done.content
    dev = slack.channel_by_name("dev").id
    assert [m["text"] for m in slack.messages(dev)].count("First") == 1
    assert slack.messages(launches.id)[-1]["text"] == "Second"
    actions = [(e.actor, e.action) for e in await services.audit.entries(TEAM)]
    assert (ALICE, "run.retry_from_step") in actions
    assert not any(actor == CAROL for actor, _ in actions)
