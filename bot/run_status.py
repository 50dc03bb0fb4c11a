"""The engine's Slack observer: one status message per run, updated in place as steps
start and finish, and an approval request to each approver.

Updates are coalesced (at most one `chat.update` per run per `min_interval` seconds; the
final state is always sent), which keeps a fast run well inside Slack's rate limits
(about one update per second per message). Slack errors are logged, never raised into
the engine: a run must not fail because Slack is slow."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.run import approval_request_blocks, run_blocks, run_text
from bot.clients import WorkspaceNotInstalled
from bot.posts import SlackPosts
from bot.services import SlackClients
from core.db import Database
from workflows.store import RunRecord, RunStatus, StepRecord, StepStatus, WorkflowRepo

log = logging.getLogger(__name__)


@dataclass
class _RunState:
    last_sent: float = 0.0
    latest: tuple[RunRecord, list[StepRecord]] | None = None
    flush: asyncio.Task[None] | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class SlackRunReporter:
    """Built before the worker node starts taking jobs, so no run misses its updates: it
    needs only the store, the workspace clients and the service titles."""

    def __init__(
        self,
        database: Database,
        slack: SlackClients,
        titles: Mapping[str, str],
        min_interval: float = 1.0,
    ) -> None:
        self.workflows = WorkflowRepo(database)
        self.slack = slack
        self.titles = titles
        self.posts = SlackPosts(database)
        self.min_interval = min_interval
        self.runs: dict[str, _RunState] = {}

    async def on_run_update(self, run: RunRecord, steps: list[StepRecord]) -> None:
        state = self.runs.setdefault(run.id, _RunState())
        state.latest = (run, steps)
        final = run.status.finished or run.status in (
            RunStatus.NEEDS_ATTENTION,
            RunStatus.WAITING_APPROVAL,
        )
        wait = self.min_interval - (time.monotonic() - state.last_sent)
        if final or wait <= 0:
            await self._send(run.id, state)
        elif state.flush is None or state.flush.done():
            state.flush = asyncio.create_task(self._send_later(run.id, state, wait))

    async def _send_later(self, run_id: str, state: _RunState, wait: float) -> None:
        await asyncio.sleep(wait)
        await self._send(run_id, state)

    async def _send(self, run_id: str, state: _RunState) -> None:
        async with state.lock:
            if state.latest is None:
                return
            run, steps = state.latest
            state.latest = None
            state.last_sent = time.monotonic()
            try:
                await self._publish(run, steps)
            except (SlackApiError, OSError, WorkspaceNotInstalled) as exc:
                log.warning("could not update the status of run %s in Slack: %s", run_id, exc)
        if run.status.finished:
            self.runs.pop(run_id, None)

    async def _publish(self, run: RunRecord, steps: list[StepRecord]) -> None:
        record = await self.workflows.get(run.team_id, run.workflow_id, run.version)
        client = await self.slack.for_team(run.team_id)
        titles = self.titles
        blocks = run_blocks(run, steps, record.name, titles)
        text = run_text(run, record.name)
        key = f"run:{run.id}"
        post = await self.posts.find(run.team_id, key)
        if post is None:
            channel = await dm_channel(client, record.owner)
            sent = await client.chat_postMessage(channel=channel, text=text, blocks=blocks)
            await self.posts.remember(run.team_id, key, sent["channel"], sent["ts"])
        else:
            await client.chat_update(channel=post.channel, ts=post.ts, text=text, blocks=blocks)
        if run.status == RunStatus.WAITING_APPROVAL:
            await self._ask_approvers(client, run, steps, record.name)

    async def _ask_approvers(
        self, client: AsyncWebClient, run: RunRecord, steps: list[StepRecord], workflow_name: str
    ) -> None:
        for step in steps:
            if step.status != StepStatus.RUNNING or not step.approval:
                continue
            decided = {d["approver"] for d in step.approval.get("decisions", [])}
            for approver in step.approval.get("approvers", []):
                key = f"approval:{run.id}:{step.step_id}:{approver}"
                if approver in decided or await self.posts.find(run.team_id, key):
                    continue
                channel = await dm_channel(client, approver)
                sent = await client.chat_postMessage(
                    channel=channel,
                    text=f"Approval needed: {workflow_name}",
                    blocks=approval_request_blocks(run, step, workflow_name),
                )
                await self.posts.remember(run.team_id, key, sent["channel"], sent["ts"])


async def dm_channel(client: AsyncWebClient, user_id: str) -> str:
    opened = await client.conversations_open(users=user_id)
    return opened["channel"]["id"]
