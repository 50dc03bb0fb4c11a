"""A run as one Slack message (updated in place as it progresses), and the message an
approver gets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.blocks.kit import Block, actions, button, context, fit, header, section, show_value
from workflows.store import RunRecord, RunStatus, StepRecord, StepStatus

RETRY = "run_retry"
CANCEL_RUN = "run_cancel"
RETRY_FROM_STEP = "run_retry_from_step"
RETRY_STEP_ONLY = "run_retry_step_only"
APPROVE_STEP = "approval_approve"
REJECT_STEP = "approval_reject"

RUN_WORDS = {
    RunStatus.QUEUED: (":hourglass_flowing_sand:", "queued"),
    RunStatus.RUNNING: (":arrows_counterclockwise:", "running"),
    RunStatus.WAITING_APPROVAL: (":raised_hand:", "waiting for approval"),
    RunStatus.SUCCEEDED: (":white_check_mark:", "done"),
    RunStatus.FAILED: (":x:", "failed"),
    RunStatus.CANCELLED: (":no_entry_sign:", "cancelled"),
    RunStatus.NEEDS_ATTENTION: (":warning:", "needs your attention"),
}
STEP_ICONS = {
    StepStatus.PENDING: ":white_circle:",
    StepStatus.RUNNING: ":arrows_counterclockwise:",
    StepStatus.SUCCEEDED: ":white_check_mark:",
    StepStatus.FAILED: ":x:",
    StepStatus.SKIPPED: ":fast_forward:",
    StepStatus.UNKNOWN: ":grey_question:",
}
LINK_FIELDS = ("url", "html_url", "web_view_link", "permalink")


def created_link(output: Any) -> str | None:
    """A link to what a step created, if its output has one."""
    if isinstance(output, dict):
        for name in LINK_FIELDS:
            if isinstance(output.get(name), str) and output[name].startswith("http"):
                return output[name]
    return None


def step_line(step: StepRecord, number: int, titles: Mapping[str, str]) -> str:
    service, _, action = step.action.partition(".")
    text = (
        f"{STEP_ICONS[step.status]} *{number}. {titles.get(service, service)} · "
        f"{action.replace('_', ' ')}*"
    )
    link = created_link(step.output)
    if step.status == StepStatus.SUCCEEDED and link:
        text += f" — <{link}|open>"
    if step.iterations:
        done = sum(1 for i in step.iterations if i.get("status") == StepStatus.SUCCEEDED)
        text += f" ({done}/{len(step.iterations)} items)"
    if step.approval and step.status == StepStatus.RUNNING:
        text += "\n" + approval_progress(step.approval)
    if step.error and step.status in (StepStatus.FAILED, StepStatus.UNKNOWN):
        text += f"\n> {show_value(step.error, 500)}"
    return text


def approval_progress(approval: Mapping[str, Any]) -> str:
    approvals = [d for d in approval.get("decisions", []) if d.get("approved")]
    needed = approval.get("min_approvals", 1)
    waiting = [
        a
        for a in approval.get("approvers", [])
        if a not in {d["approver"] for d in approval.get("decisions", [])}
    ]
    who = ", ".join(f"<@{a}>" for a in waiting) or "nobody left"
    return f"Approved {len(approvals)} of {needed} needed · waiting for {who}"


def run_blocks(
    run: RunRecord, steps: list[StepRecord], workflow_name: str, titles: Mapping[str, str]
) -> list[Block]:
    icon, words = RUN_WORDS[run.status]
    blocks = [
        header(f"{workflow_name}"),
        context(
            f"{icon} *Run {words}* · {run.trigger_kind} run `{run.id}` · "
            f"started by <@{run.requested_by}>"
            if run.requested_by.startswith(("U", "W"))
            else f"{icon} *Run {words}* · {run.trigger_kind} run `{run.id}`"
        ),
    ]
    blocks += [section(step_line(step, n, titles)) for n, step in enumerate(steps, start=1)]
    blocks += _closing(run)
    blocks += _step_controls(run, steps)
    return fit(blocks)


def _step_controls(run: RunRecord, steps: list[StepRecord]) -> list[Block]:
    """Buttons to go on from the step that stopped a failed run, keeping what finished."""
    stopped = [s for s in steps if s.status in (StepStatus.FAILED, StepStatus.UNKNOWN)]
    if run.status not in (RunStatus.FAILED, RunStatus.NEEDS_ATTENTION) or not stopped:
        return []
    value = f"{run.id}|{stopped[0].step_id}"
    return [
        actions(
            button("Retry from this step", RETRY_FROM_STEP, value),
            button("Retry this step only", RETRY_STEP_ONLY, value),
            block_id=f"step_controls_{run.id}",
        )
    ]


def _closing(run: RunRecord) -> list[Block]:
    if run.status == RunStatus.FAILED:
        return [
            section(
                f"*What went wrong:* {show_value(run.message or 'a step failed', 1500)}"
                "\n*What to do:* fix the cause above (reconnect the service, correct the "
                "input with Edit), then press Retry."
            ),
            actions(button("Retry", RETRY, run.id, style="primary")),
        ]
    if run.status == RunStatus.NEEDS_ATTENTION:
        return [
            section(f"*Please check:* {show_value(run.message or '', 1500)}"),
            actions(button("Run it again", RETRY, run.id)),
        ]
    if run.status in (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.WAITING_APPROVAL):
        return [actions(button("Cancel run", CANCEL_RUN, run.id, style="danger"))]
    if run.status == RunStatus.CANCELLED and run.message:
        return [context(show_value(run.message, 500))]
    return []


def run_text(run: RunRecord, workflow_name: str) -> str:
    _, words = RUN_WORDS[run.status]
    return f"{workflow_name}: run {words}"


def approval_request_blocks(run: RunRecord, step: StepRecord, workflow_name: str) -> list[Block]:
    approval = step.approval or {}
    value = f"{run.id}|{step.step_id}"
    return [
        section(
            f":raised_hand: *Approval needed* — {workflow_name}\n"
            f"{show_value(approval.get('message', ''), 2500)}"
        ),
        context(
            f"Requested by <@{run.requested_by}> · run `{run.id}` · {approval_progress(approval)}"
        ),
        actions(
            button("Approve", APPROVE_STEP, value, style="primary"),
            button("Reject", REJECT_STEP, value, style="danger"),
            block_id=f"approval_{run.id}_{step.step_id}",
        ),
    ]


def approval_decided_blocks(workflow_name: str, message: str, outcome: str) -> list[Block]:
    return [section(f"*Approval* — {workflow_name}\n{show_value(message, 2500)}"), context(outcome)]
