"""`/atom <subcommand>`: each subcommand answers the person alone (ephemeral); anything
that is not a subcommand is a request and gets a plan in their DM with ATOM."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from difflib import get_close_matches
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot import operations
from bot.blocks.help import HELP_TEXT, help_blocks
from bot.blocks.kit import Block, button, section
from bot.blocks.lists import (
    history_blocks,
    runs_blocks,
    workflow_detail_blocks,
    workflow_list_blocks,
)
from bot.blocks.plan import CONNECT
from bot.home import connectable, connection_blocks, next_runs
from bot.operations import NotAllowed
from bot.people import UnknownTimezone, canonical_zone
from bot.requests import Conversation, change_workflow, handle_request
from bot.run_status import dm_channel
from bot.services import BotServices
from workflows.store import WorkflowRecord, WorkflowState


@dataclass
class Reply:
    text: str
    blocks: list[Block] = field(default_factory=list)


@dataclass(frozen=True)
class Invocation:
    team_id: str
    user_id: str
    channel_id: str
    args: list[str]
    services: BotServices
    client: AsyncWebClient


Handler = Callable[[Invocation], Awaitable[Reply]]


def _needs(count: int, usage: str) -> Callable[[Handler], Handler]:
    """Check a subcommand got its arguments; otherwise answer with its usage."""

    def wrap(handler: Handler) -> Handler:
        async def checked(call: Invocation) -> Reply:
            if len(call.args) < count:
                return Reply(f"Usage: `/atom {usage}`")
            return await handler(call)

        return checked

    return wrap


async def _zone(call: Invocation) -> str:
    return (await call.services.people.zone(call.client, call.team_id, call.user_id)).name


async def _help(_call: Invocation) -> Reply:
    return Reply(HELP_TEXT, help_blocks())


async def _list(call: Invocation) -> Reply:
    records = await call.services.workflows.list_for(call.team_id, owner=call.user_id)
    zone = await _zone(call)
    blocks = workflow_list_blocks(records, await next_runs(call.services, records), zone)
    return Reply(f"You have {len(records)} workflow(s).", blocks)


@_needs(1, "show <workflow id>")
async def _show(call: Invocation) -> Reply:
    record = await operations.owned_workflow(
        call.services, call.team_id, call.user_id, call.args[0]
    )
    return Reply(
        record.name,
        workflow_detail_blocks(record, call.services.service_titles(), call.services.registry),
    )


async def _runs(call: Invocation) -> Reply:
    services = call.services
    if call.args:
        record = await operations.owned_workflow(services, call.team_id, call.user_id, call.args[0])
        names = {record.id: record.name}
        runs = await services.runs.list_for_workflow(call.team_id, record.id)
    else:
        # Deleted workflows too: `/atom delete` keeps their runs in the history.
        records = await services.workflows.list_for(
            call.team_id, owner=call.user_id, states=list(WorkflowState)
        )
        names = {r.id: _listed_name(r) for r in records}
        runs = [
            r for r in await services.runs.list_for_team(call.team_id) if r.workflow_id in names
        ]
    zone = await _zone(call)
    return Reply(f"{len(runs)} recent run(s).", runs_blocks(runs, names, zone))


def _listed_name(record: WorkflowRecord) -> str:
    return f"{record.name} (deleted)" if record.state == WorkflowState.DELETED else record.name


def _workflow_operation(operation: Callable[..., Awaitable[str]], usage: str) -> Handler:
    @_needs(1, usage)
    async def handler(call: Invocation) -> Reply:
        return Reply(await operation(call.services, call.team_id, call.user_id, call.args[0]))

    return handler


@_needs(1, "history <workflow id>")
async def _history(call: Invocation) -> Reply:
    record = await operations.owned_workflow(
        call.services, call.team_id, call.user_id, call.args[0]
    )
    versions = await call.services.workflows.versions(call.team_id, record.id)
    zone = await _zone(call)
    return Reply(f"History of {record.name}", history_blocks(record, versions, zone))


@_needs(2, "edit <workflow id> <what to change>")
async def _edit(call: Invocation) -> Reply:
    record = await operations.owned_workflow(
        call.services, call.team_id, call.user_id, call.args[0]
    )
    dm = await dm_channel(call.client, call.user_id)
    where = Conversation(call.team_id, call.user_id, dm)
    await change_workflow(" ".join(call.args[1:]), record, where, call.services, call.client)
    return Reply(
        f"I sent you the changed plan for “{record.name}” in our DM; approving it makes "
        f"version {record.latest_version + 1}."
    )


@_needs(2, "rollback <workflow id> <version>")
async def _rollback(call: Invocation) -> Reply:
    if not call.args[1].lstrip("v").isdigit():
        return Reply(
            "The version is a number: `/atom rollback <workflow id> <version>` — "
            f"`/atom history {call.args[0]}` lists them."
        )
    return Reply(
        await operations.rollback(
            call.services, call.team_id, call.user_id, call.args[0], int(call.args[1].lstrip("v"))
        )
    )


def _service(call: Invocation) -> str | None:
    name = call.args[0].lower().replace("-", "_").replace(" ", "_")
    aliases = {"calendar": "google_calendar", "drive": "google_drive", "gcal": "google_calendar"}
    return (
        aliases.get(name, name)
        if aliases.get(name, name) in call.services.registry.connectors
        else None
    )


@_needs(1, "connect <service>")
async def _connect(call: Invocation) -> Reply:
    names = sorted(connectable(call.services))
    service = _service(call)
    if service not in names:
        return Reply(f"I can connect: {', '.join(names)}. For example `/atom connect {names[0]}`.")
    title = call.services.service_titles()[service]
    url = await call.services.connections.connect_url(call.team_id, call.user_id, service)
    return Reply(
        f"Connect {title}",
        [
            section(
                f"Open this to connect your {title} account to ATOM:",
                accessory=button(
                    f"Connect {title}", f"{CONNECT}_{service}", value=service, url=url
                ),
            )
        ],
    )


async def _connections(call: Invocation) -> Reply:
    return Reply(
        "Your connections", await connection_blocks(call.services, call.team_id, call.user_id)
    )


@_needs(1, "disconnect <service>")
async def _disconnect(call: Invocation) -> Reply:
    service = _service(call)
    if service is None:
        return Reply(f"There is no service “{call.args[0]}”. `/atom connections` lists yours.")
    title = call.services.service_titles()[service]
    if await call.services.connections.disconnect(call.team_id, call.user_id, service):
        return Reply(
            f":electric_plug: Disconnected {title}. Workflows that use it will ask "
            "you to connect it again."
        )
    return Reply(f"{title} was not connected.")


@_needs(1, "cancel <run id>")
async def _cancel(call: Invocation) -> Reply:
    return Reply(
        await operations.cancel_run(call.services, call.team_id, call.user_id, call.args[0])
    )


SETTINGS_USAGE = "settings timezone <zone>` (for example `/atom settings timezone Europe/Berlin`"


async def _settings(call: Invocation) -> Reply:
    """`/atom settings` shows the person's settings; `/atom settings timezone <zone>` sets the
    zone their times are read and shown in (instead of their Slack profile's)."""
    if not call.args:
        zone = await call.services.people.zone(call.client, call.team_id, call.user_id)
        return Reply(
            f"Your time zone: *{zone.name}* ({zone.source}). Change it with "
            f"`/atom {SETTINGS_USAGE})."
        )
    if call.args[0].lower() not in {"timezone", "tz", "time-zone"} or len(call.args) < 2:
        return Reply(f"Usage: `/atom {SETTINGS_USAGE})")
    try:
        zone = canonical_zone(" ".join(call.args[1:]))
    except UnknownTimezone as exc:
        return Reply(str(exc))
    await call.services.people.set_zone(call.team_id, call.user_id, zone)
    return Reply(
        f":white_check_mark: Your time zone is now *{zone}*. New plans read times in it; "
        "existing schedules keep the zone they were approved with (edit one to change it)."
    )


SUBCOMMANDS: dict[str, Handler] = {
    "help": _help,
    "list": _list,
    "show": _show,
    "runs": _runs,
    "pause": _workflow_operation(operations.pause, "pause <workflow id>"),
    "resume": _workflow_operation(operations.resume, "resume <workflow id>"),
    "delete": _workflow_operation(operations.delete, "delete <workflow id>"),
    "edit": _edit,
    "history": _history,
    "rollback": _rollback,
    "connect": _connect,
    "connections": _connections,
    "disconnect": _disconnect,
    "cancel": _cancel,
    "settings": _settings,
}


async def run_command(
    text: str, command: dict[str, Any], services: BotServices, client: AsyncWebClient
) -> Reply | None:
    """The reply to `/atom text`, or None when the text was a request (its plan goes to
    the person's DM)."""
    words = text.split()
    team, user = command["team_id"], command["user_id"]
    if not words:
        return await _help(Invocation(team, user, command["channel_id"], [], services, client))
    handler = SUBCOMMANDS.get(words[0].lower())
    if handler is None and len(words) == 1:
        close = get_close_matches(words[0].lower(), SUBCOMMANDS, n=1)
        hint = f" Did you mean `/atom {close[0]}`?" if close else ""
        return Reply(HELP_TEXT, help_blocks(f"I don't know the command `{words[0]}`.{hint}"))
    if handler is not None:
        call = Invocation(team, user, command["channel_id"], words[1:], services, client)
        try:
            return await handler(call)
        except NotAllowed as exc:
            return Reply(str(exc))
    dm = await dm_channel(client, user)
    await handle_request(text, Conversation(team, user, dm), services, client)
    if command["channel_id"] != dm:
        return Reply("I sent you the plan in our DM.")
    return None
