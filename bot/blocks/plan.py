"""The plan preview: header, trigger in plain words, numbered steps with their inputs, the
side effects, Connect buttons for services not yet connected, and Approve / Edit / Cancel.
Pure functions: model in, Block Kit out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.blocks.describe import describe_effects, describe_trigger
from bot.blocks.kit import (
    MAX_BUTTON_TEXT,
    Block,
    actions,
    button,
    clip,
    context,
    divider,
    fit,
    header,
    section,
    show_value,
)
from connectors.choices import MAX_OPTIONS, Option
from connectors.registry import Registry
from workflows.model import Step, Workflow
from workflows.planning.hazards import step_hazards

APPROVE = "plan_approve"
EDIT = "plan_edit"
CANCEL = "plan_cancel"
CONNECT = "plan_connect"
ANSWER = "question_answer"  # an offered answer: ANSWER_<n> (buttons) or ANSWER_MENU
ANSWER_MENU = f"{ANSWER}_menu"
MAX_ANSWER_BUTTONS = 5
MAX_OPTION_VALUE = 150  # Slack's limit for an option's value
MAX_INPUTS_SHOWN = 8


@dataclass(frozen=True)
class MissingConnection:
    service: str
    title: str
    url: str | None  # where to connect, None when connecting is not available here


def step_title(step: Step, titles: Mapping[str, str]) -> str:
    service, _, action = step.action.partition(".")
    return f"{titles.get(service, service)} · {action.replace('_', ' ')}"


def step_lines(step: Step, limit: int = MAX_INPUTS_SHOWN, catalog: Registry | None = None) -> str:
    lines = [f"`{name}`: {show_value(value, 200)}" for name, value in step.with_.items()]
    if len(lines) > limit:
        lines = [*lines[:limit], f"… and {len(lines) - limit} more"]
    if step.if_:
        lines.append(f"_only if_ `{show_value(step.if_, 200)}`")
    if step.for_each is not None:
        lines.append(f"_for each of_ `{show_value(step.for_each, 200)}`")
    if catalog is not None:
        lines += [f":warning: *{hazard}*" for hazard in step_hazards(step, catalog)]
    return "\n".join(lines)


def workflow_blocks(
    workflow: Workflow, titles: Mapping[str, str], catalog: Registry | None = None
) -> list[Block]:
    """The body every view of a workflow shares: name, trigger, steps, effects. With the
    `catalog`, a step that can overwrite or delete data says so in bold."""
    blocks = [header(workflow.name), section(f":alarm_clock: *{describe_trigger(workflow)}*")]
    for number, step in enumerate(workflow.steps, start=1):
        body = step_lines(step, catalog=catalog)
        blocks.append(
            section(f"*{number}. {step_title(step, titles)}*" + (f"\n{body}" if body else ""))
        )
    hazards = [h for step in workflow.steps for h in step_hazards(step, catalog)] if catalog else []
    warning = "".join(f" *{hazard}.*" for hazard in hazards)
    blocks.append(context(f"This workflow {describe_effects(workflow.steps)}.{warning}"))
    return blocks


def plan_blocks(
    plan_id: str,
    workflow: Workflow,
    titles: Mapping[str, str],
    missing: list[MissingConnection],
    requester: str,
    catalog: Registry | None = None,
) -> list[Block]:
    blocks = workflow_blocks(workflow, titles, catalog)
    for connection in missing:
        connect = button(
            f"Connect {connection.title}",
            f"{CONNECT}_{connection.service}",
            value=connection.service,
            url=connection.url,
        )
        blocks.append(
            section(
                f":link: {connection.title} is not connected yet — ATOM needs it to run this.",
                accessory=connect,
            )
        )
    blocks += [
        divider(),
        context(
            f"Only <@{requester}> can approve this plan. Reply in this "
            'thread to change it ("make it 10am").'
        ),
        actions(
            button("Approve", APPROVE, plan_id, style="primary"),
            button("Edit", EDIT, plan_id),
            button("Cancel", CANCEL, plan_id, style="danger"),
            block_id=f"plan_{plan_id}",
        ),
    ]
    return fit(blocks)


def decided_blocks(workflow: Workflow, titles: Mapping[str, str], outcome: str) -> list[Block]:
    """The preview after a decision: same content, no buttons, what happened."""
    return fit([*workflow_blocks(workflow, titles), divider(), section(outcome)])


def question_blocks(question: str, answerable: bool = True) -> list[Block]:
    if not answerable:
        return [section(f":thinking_face: {question}"), context("Send me a new request any time.")]
    return [
        section(f":thinking_face: {question}"),
        context("Answer in this thread and I'll continue the plan."),
    ]


def answered_blocks(question: str, answer: str) -> list[Block]:
    """A question once answered by a click: the options go, the choice stays in view."""
    return [section(f":thinking_face: {question}"), context(answer)]


def answer_block(plan_id: str, options: Sequence[Option]) -> Block:
    """The answers to click: buttons for a few, a select menu for more. The block id
    names the question's plan."""
    block_id = f"{ANSWER}_{plan_id}"
    if len(options) <= MAX_ANSWER_BUTTONS:
        return actions(
            *[button(o.label, f"{ANSWER}_{i}", o.answer) for i, o in enumerate(options)],
            block_id=block_id,
        )
    menu = {
        "type": "static_select",
        "action_id": ANSWER_MENU,
        "placeholder": {"type": "plain_text", "text": "Choose…"},
        "options": [
            {
                "text": {"type": "plain_text", "text": clip(o.label, MAX_BUTTON_TEXT)},
                "value": clip(o.answer, MAX_OPTION_VALUE),
            }
            for o in options[:MAX_OPTIONS]
        ],
    }
    return actions(menu, block_id=block_id)
