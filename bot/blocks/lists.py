"""Lists for `/atom list | show | runs | history | connections` and the App Home."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.blocks.describe import describe_trigger
from bot.blocks.kit import Block, actions, button, context, fit, header, section
from bot.blocks.plan import CONNECT, workflow_blocks
from bot.blocks.run import RUN_WORDS
from bot.services import Connection
from connectors.registry import Registry
from workflows.store import RunRecord, VersionRecord, WorkflowRecord, WorkflowState

WORKFLOW_EDIT = "workflow_edit"
STATE_ICONS = {
    WorkflowState.ACTIVE: ":large_green_circle:",
    WorkflowState.PAUSED: ":double_vertical_bar:",
    WorkflowState.COMPLETED: ":checkered_flag:",
    WorkflowState.DELETED: ":wastebasket:",
}


def when(moment: datetime | None, zone: str = "UTC") -> str:
    if moment is None:
        return "—"
    return f"{moment.astimezone(ZoneInfo(zone)):%a %-d %b %H:%M}"


def workflow_line(record: WorkflowRecord, next_run: datetime | None, zone: str) -> str:
    line = (
        f"{STATE_ICONS[record.state]} *{record.name}* `{record.id}` · v{record.version} · "
        f"{record.state}\n{describe_trigger(record.workflow)}"
    )
    if next_run is not None and record.state == WorkflowState.ACTIVE:
        line += f" · next run {when(next_run, zone)}"
    return line


def workflow_list_blocks(
    records: Sequence[WorkflowRecord], next_runs: Mapping[str, datetime | None], zone: str
) -> list[Block]:
    if not records:
        return [
            section(
                "You have no workflows yet. DM me what should happen — for example "
                "_every weekday at 9am post “Stand-up!” in #team_."
            )
        ]
    return fit(
        [
            header("Your workflows"),
            *[section(workflow_line(r, next_runs.get(r.id), zone)) for r in records],
        ]
    )


def workflow_detail_blocks(
    record: WorkflowRecord, titles: Mapping[str, str], catalog: Registry | None = None
) -> list[Block]:
    """One workflow, with an Edit button: the changed plan is shown for approval as its
    next version."""
    return fit(
        [
            *workflow_blocks(record.workflow, titles, catalog),
            context(
                f"`{record.id}` · {record.state} · version {record.version} of "
                f"{record.latest_version} · owner <@{record.owner}>"
            ),
            actions(button("Edit", WORKFLOW_EDIT, record.id)),
        ]
    )


def run_line(run: RunRecord, names: Mapping[str, str], zone: str) -> str:
    icon, words = RUN_WORDS[run.status]
    name = names.get(run.workflow_id, run.workflow_id)
    return (
        f"{icon} `{run.id}` *{name}* — {words} · {run.trigger_kind} · {when(run.created_at, zone)}"
    )


def runs_blocks(runs: Sequence[RunRecord], names: Mapping[str, str], zone: str) -> list[Block]:
    if not runs:
        return [section("No runs yet.")]
    return fit(
        [header("Recent runs"), section("\n".join(run_line(r, names, zone) for r in runs[:30]))]
    )


def history_blocks(
    record: WorkflowRecord, versions: Sequence[VersionRecord], zone: str
) -> list[Block]:
    lines = [
        f"{'*→*' if v.active else '•'} v{v.version} “{v.name}” by <@{v.created_by}> on "
        f"{when(v.created_at, zone)}"
        for v in versions
    ]
    return fit(
        [
            header(f"History of {record.name}"),
            section("\n".join(lines)),
            context(f"`/atom rollback {record.id} <version>` re-activates a version."),
        ]
    )


def connection_block(
    title: str, service: str, connection: Connection | None, connect_url: str | None
) -> Block:
    """One service's line: connected (as whom), or a Connect / Reconnect button."""
    if connection and connection.status == "connected":
        account = f" as {connection.account}" if connection.account else ""
        return section(f":white_check_mark: *{title}* connected{account}")
    words = "expired — reconnect it" if connection else "not connected"
    return section(
        f":link: *{title}* {words}",
        accessory=button(
            "Reconnect" if connection else "Connect",
            f"{CONNECT}_{service}",
            value=service,
            url=connect_url,
        ),
    )
