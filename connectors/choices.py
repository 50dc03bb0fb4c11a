"""The person's own things at a service — Asana projects, Trello lists and boards, GitHub
repositories — listed through their connected account, so that a question asking for one
can offer them as answers to click.

Each lister returns `Option`s: a label to show and the answer clicking it gives, which is
exactly what typing it would say (a name the connector resolves, or `owner/name`).
`LISTERS` says which lister fills which input of which connector's actions and events.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from connectors.asana import open_projects, resolve_workspace
from connectors.base import ActionContext
from connectors.trello import my_boards

MAX_OPTIONS = 100  # a Slack select menu holds at most 100 options
GITHUB_PAGES = 3  # 300 repositories


@dataclass(frozen=True)
class Option:
    label: str
    answer: str


Lister = Callable[[ActionContext], Awaitable[list[Option]]]


def _distinct(options: list[Option]) -> list[Option]:
    """Each answer once (the first label wins), at most MAX_OPTIONS."""
    seen: dict[str, Option] = {}
    for option in options:
        if option.answer and option.answer not in seen:
            seen[option.answer] = option
    return list(seen.values())[:MAX_OPTIONS]


async def asana_projects(ctx: ActionContext) -> list[Option]:
    """The unarchived projects of the person's (first) workspace."""
    projects = await open_projects(ctx, await resolve_workspace(ctx, None))
    return _distinct([Option(p["name"], p["name"]) for p in projects if p.get("name")])


async def trello_lists(ctx: ActionContext) -> list[Option]:
    """The open lists of the person's open boards, labelled with their board (the
    connector finds a list by its name across the boards)."""
    return _distinct(
        [
            Option(f"{lst['name']} ({board['name']})", lst["name"])
            for board in await my_boards(ctx)
            for lst in board.get("lists") or []
            if lst.get("name")
        ]
    )


async def trello_boards(ctx: ActionContext) -> list[Option]:
    return _distinct([Option(b["name"], b["name"]) for b in await my_boards(ctx) if b.get("name")])


async def github_repositories(ctx: ActionContext) -> list[Option]:
    """Repositories the person owns or collaborates on, by full name (`GET /user/repos`,
    following pages for a few hundred)."""
    names: list[str] = []
    for page in range(1, GITHUB_PAGES + 1):
        repos = await ctx.http.json(
            "GET",
            "/user/repos",
            params={"sort": "full_name", "per_page": 100, "page": page},
            idempotent=True,
        )
        names += [repo["full_name"] for repo in repos]
        if len(repos) < 100:
            break
    return _distinct([Option(name, name) for name in names])


LISTERS: dict[tuple[str, str], Lister] = {
    ("asana", "project"): asana_projects,
    ("trello", "list"): trello_lists,
    ("trello", "board"): trello_boards,
    ("github", "repo"): github_repositories,
}
"""(connector, input name) -> the lister of the things that input names."""
