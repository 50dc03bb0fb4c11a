"""What planning takes and gives: `PlanContext` in; a `Plan` (a valid workflow and its
summary) or a `Question` (one clear question, with whatever could be planned so far) out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from workflows.model import Workflow


class PlannerError(Exception):
    """Planning failed for a reason the person cannot fix by rephrasing (the LLM is
    unreachable, rejected the key, …). `str(err)` is safe to show them."""


@dataclass(frozen=True)
class PlanContext:
    """Who asks, where and when.

    `user` is the requester's Slack user ID ("me" in a request); `timezone` their IANA
    zone (schedules and calendar times are in it); `now` the current time (default: the
    clock); `connected` the services they have connected (None: unknown — then no
    missing connections are reported); `editing` the pending workflow a follow-up
    revises; `email` the requester's address from their Slack profile ("email me"), None
    when unknown."""

    user: str | None = None
    timezone: str = "UTC"
    now: datetime | None = None
    connected: frozenset[str] | None = None
    editing: Workflow | None = None
    email: str | None = None

    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")

    def current_time(self) -> datetime:
        """`now` (or the clock) as an aware datetime in the user's zone."""
        moment = self.now or datetime.now(UTC)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.zone())
        return moment.astimezone(self.zone())


@dataclass(frozen=True)
class Plan:
    """A workflow that passed validation, described in plain words.

    `summary` is a few lines a person can check ("When a new issue is opened in
    acme/api: 1. …"); `assumptions` lists defaults the planner chose (a time of day, an
    event length) so the person can correct them; `missing_connections` names services
    the workflow uses that the person has not connected yet; `unused` the parts of the
    request the plan does not use ("with a red label"), so nothing is dropped silently."""

    workflow: Workflow
    summary: str
    assumptions: tuple[str, ...] = ()
    missing_connections: tuple[str, ...] = ()
    unused: tuple[str, ...] = ()
    planner: str = "offline"


@dataclass(frozen=True)
class Choice:
    """A ready answer to a Question: its `label` ("Dropbox"), and the request that
    answering with it stands for."""

    label: str
    request: str


@dataclass(frozen=True)
class Slot:
    """A value the partial workflow lacks: where it goes in the document
    (`steps[0].with.list`, `trigger.with.repo`, `trigger.at`) and the question for it."""

    path: str
    question: str


@dataclass(frozen=True)
class Question:
    """One clear question. `request` is the text that led to it; `partial` the workflow
    planned so far and `slots` the values it still lacks (the first is the one asked),
    so the answer can complete it; `choices` answers to offer as buttons. `answerable`
    is False for a refusal that no answer can help (the bot then invites none)."""

    text: str
    request: str = ""
    partial: Workflow | None = None
    slots: tuple[Slot, ...] = ()
    choices: tuple[Choice, ...] = field(default_factory=tuple)
    planner: str = "offline"
    answerable: bool = True
