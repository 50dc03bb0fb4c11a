"""Listing the person's own things to offer as answers (connectors/choices.py), against
the emulators over real HTTP, and the emulators' list endpoints behind them (GitHub
`GET /user/repos`, Slack `conversations.list`). Requests are checked against the official
API descriptions where those hold the operation (Asana's does; the trimmed Trello, GitHub
and Slack ones do not have these list operations)."""

from __future__ import annotations

import httpx

from connectors import asana, github, trello
from connectors.choices import (
    Option,
    asana_projects,
    github_repositories,
    trello_boards,
    trello_lists,
)
from sandbox.asana import AsanaEmulator
from sandbox.github import DEMO_REPO, GitHubEmulator
from sandbox.slack import SlackEmulator
from sandbox.trello import TrelloEmulator
from tests.connectors.cases.asana import seed_launch
from tests.connectors.cases.github import REPO, seed_repo
from tests.connectors.cases.trello import seed_roadmap
from tests.connectors.contract_case import connector_context
from tests.specs import assert_request_matches


async def test_asana_projects_are_the_unarchived_ones() -> None:
    with AsanaEmulator() as emulator:
        seed_launch(emulator)
        workspace = next(iter(emulator.workspaces.values()))
        emulator.add_project(workspace.gid, "Archived", archived=True)
        async with connector_context(asana.connector, emulator) as ctx:
            options = await asana_projects(ctx)
        for request in emulator.received():
            assert_request_matches("asana", request)
    answers = [o.answer for o in options]
    assert "Launch" in answers and "Archived" not in answers


async def test_trello_lists_name_their_board_and_boards_are_listed() -> None:
    with TrelloEmulator() as emulator:
        seed_roadmap(emulator)
        async with connector_context(trello.connector, emulator) as ctx:
            lists, boards = await trello_lists(ctx), await trello_boards(ctx)
    # (GET /1/members/me/boards is not in the Trello description at hand, so unchecked)
    assert Option("Backlog (Roadmap)", "Backlog") in lists
    assert Option("Roadmap", "Roadmap") in boards


async def test_github_repositories_are_the_users_own_and_documented() -> None:
    with GitHubEmulator() as emulator:
        seed_repo(emulator)
        emulator.add_repo("someone/else")  # neither owned nor shared: not listed
        async with connector_context(github.connector, emulator) as ctx:
            options = await github_repositories(ctx)
        (sent,) = emulator.received("/user/repos", "GET")
        assert sent.query == {"sort": "full_name", "per_page": "100", "page": "1"}
        token = emulator.issue_token()["access_token"]
        async with httpx.AsyncClient(base_url=emulator.url) as client:
            answer = await client.get(
                "/user/repos",
                params={"per_page": 1},
                headers={"Authorization": f"Bearer {token}", "User-Agent": "test"},
            )
    names = [o.answer for o in options]
    assert REPO in names and DEMO_REPO in names and "someone/else" not in names
    assert names == sorted(names, key=str.lower)
    (first,) = answer.json()
    assert first["full_name"] == min(names, key=str.lower) and "owner" in first
    assert 'rel="next"' in answer.headers["link"]


async def test_slack_conversations_list_pages_public_channels() -> None:
    with SlackEmulator() as slack:
        headers = {"Authorization": f"Bearer {slack.bot_token}"}
        async with httpx.AsyncClient(base_url=f"{slack.url}/api") as client:
            first = (
                await client.get(
                    "/conversations.list",
                    headers=headers,
                    params={"types": "public_channel", "limit": 2},
                )
            ).json()
            rest = (
                await client.get(
                    "/conversations.list",
                    headers=headers,
                    params={"limit": 100, "cursor": first["response_metadata"]["next_cursor"]},
                )
            ).json()
    assert first["ok"] is True and all(c["is_channel"] for c in first["channels"])
    names = [c["name"] for c in first["channels"] + rest["channels"]]
    assert len(first["channels"]) == 2 and {"general", "dev", "team"} <= set(names)
    assert rest["response_metadata"]["next_cursor"] == ""
