"""App Home and the listings behind `/atom list | runs | connections`: gathered from the
store, the scheduler's view of the next run, and the user's connections."""

from __future__ import annotations

from datetime import UTC, datetime

from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.kit import Block, button, context, divider, fit, header, section
from bot.blocks.lists import connection_block, run_line, workflow_line
from bot.services import BotServices
from connectors.base import NoAuth
from workflows.model import ScheduleTrigger
from workflows.schedules import ScheduleError, next_fire_time
from workflows.store import WorkflowRecord, WorkflowState
from workflows.subscriptions import TriggerState, TriggerStore

HOME_PAUSE = "home_pause"
HOME_RESUME = "home_resume"


def next_run(
    record: WorkflowRecord, state: TriggerState | None, now: datetime | None = None
) -> datetime | None:
    """When the schedule fires next, in the phase the scheduler uses (its anchor)."""
    trigger = record.workflow.trigger
    if record.state != WorkflowState.ACTIVE or not isinstance(trigger, ScheduleTrigger):
        return None
    moment = now or datetime.now(UTC)
    after = max(moment, state.fires_after) if state else moment
    try:
        return next_fire_time(trigger, after, anchor=state.anchor if state else None)
    except ScheduleError:
        return None


async def next_runs(
    services: BotServices, records: list[WorkflowRecord]
) -> dict[str, datetime | None]:
    states = await TriggerStore(services.database).many([r.id for r in records])
    return {r.id: next_run(r, states.get(r.id)) for r in records}


def connectable(services: BotServices) -> list[str]:
    """The services a person connects with their own account."""
    return [
        name
        for name, connector in services.registry.connectors.items()
        if name != "slack" and not isinstance(connector.auth, NoAuth)
    ]


async def connection_blocks(services: BotServices, team_id: str, user_id: str) -> list[Block]:
    """The person's connections; a connect link (single-use state) is made only for the
    services that need one."""
    status = {c.service: c for c in await services.connections.list(team_id, user_id)}
    titles = services.service_titles()
    blocks = []
    for service in connectable(services):
        connection = status.get(service)
        url = (
            None
            if connection and connection.status == "connected"
            else await services.connections.connect_url(team_id, user_id, service)
        )
        blocks.append(connection_block(titles[service], service, connection, url))
    return blocks


def _toggle(record: WorkflowRecord) -> Block | None:
    """Pause an active workflow, resume a paused one; a completed one has nothing left."""
    if record.state == WorkflowState.ACTIVE:
        return button("Pause", HOME_PAUSE, record.id)
    if record.state == WorkflowState.PAUSED:
        return button("Resume", HOME_RESUME, record.id, style="primary")
    return None


async def home_blocks(services: BotServices, team_id: str, user_id: str, zone: str) -> list[Block]:
    records = await services.workflows.list_for(team_id, owner=user_id)
    upcoming = await next_runs(services, records[:15])
    blocks: list[Block] = [header("Your workflows")]
    if not records:
        blocks.append(
            section("None yet — DM me what should happen and when, and I'll plan it for you.")
        )
    for record in records[:15]:
        blocks.append(
            section(workflow_line(record, upcoming[record.id], zone), accessory=_toggle(record))
        )
    blocks += [
        divider(),
        header("Your connections"),
        *await connection_blocks(services, team_id, user_id),
    ]
    names = {r.id: r.name for r in records}
    runs = [
        r for r in await services.runs.list_for_team(team_id, limit=50) if r.workflow_id in names
    ][:10]
    blocks += [
        divider(),
        header("Recent runs"),
        section("\n".join(run_line(r, names, zone) for r in runs) if runs else "No runs yet."),
    ]
    blocks.append(context("`/atom help` lists everything I can do."))
    return fit(blocks)


async def publish_home(
    services: BotServices, client: AsyncWebClient, team_id: str, user_id: str
) -> None:
    zone = (await services.people.zone(client, team_id, user_id)).name
    await client.views_publish(
        user_id=user_id,
        view={"type": "home", "blocks": await home_blocks(services, team_id, user_id, zone)},
    )
