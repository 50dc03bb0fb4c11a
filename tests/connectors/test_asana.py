"""The Asana connector against the Asana emulator. What the connector sends and what
the emulator answers are checked against Asana's official OpenAPI description."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from connectors.asana import TASK_FIELDS, TaskCreatedConfig, connector, poll_task_created
from connectors.base import (
    ActionContext,
    AuthExpired,
    Credentials,
    InvalidInput,
    NotFound,
    PermissionDenied,
    StaticCredentials,
)
from sandbox.asana import AsanaEmulator
from tests.connectors.cases.asana import ADA, TASK_GID, seed_launch
from tests.connectors.contract_case import connector_context
from tests.specs import assert_request_matches, validate_response


@pytest.fixture
def asana() -> Iterator[AsanaEmulator]:
    with AsanaEmulator() as emulator:
        seed_launch(emulator)
        yield emulator


@pytest.fixture
async def ctx(asana: AsanaEmulator) -> AsyncIterator[ActionContext]:
    async with connector_context(connector, asana) as context:
        yield context


async def run(ctx: ActionContext, action: str, **inputs: Any) -> Any:
    return await connector.actions[action].run(ctx, inputs)


def project_gid(asana: AsanaEmulator, name: str) -> str:
    return next(p.gid for p in asana.projects.values() if p.name == name)


def assert_all_requests_documented(asana: AsanaEmulator) -> None:
    for request in asana.received():
        assert_request_matches("asana", request)


async def api(asana: AsanaEmulator, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """Call the emulator directly, as the sandbox user."""
    token = asana.issue_token()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=f"{asana.url}/api/1.0", headers=headers) as client:
        return await client.request(method, path, **kwargs)


# --- create_task ---------------------------------------------------------------------


async def test_create_task_by_project_name(asana: AsanaEmulator, ctx: ActionContext) -> None:
    task = await run(
        ctx,
        "create_task",
        name="Book the venue",
        project="launch",
        assignee=ADA,
        due_on="2026-12-01",
        notes="Capacity 200",
    )
    launch = project_gid(asana, "Launch")
    sent = asana.received("/api/1.0/tasks", "POST")[-1]
    assert sent.json() == {
        "data": {
            "name": "Book the venue",
            "projects": [launch],
            "notes": "Capacity 200",
            "assignee": ADA,
            "due_on": "2026-12-01",
        }
    }
    assert sent.headers["authorization"].startswith("Bearer asana-")
    assert [r.path for r in asana.received()] == [
        "/api/1.0/workspaces",
        "/api/1.0/projects",
        "/api/1.0/tasks",
    ]
    assert_all_requests_documented(asana)
    stored = asana.tasks[task.gid]
    assert (stored.name, stored.projects, stored.due_on) == (
        "Book the venue",
        [launch],
        "2026-12-01",
    )
    assert asana.users[stored.assignee or ""].email == ADA
    assert (task.assignee, task.projects, task.due_on) == ("Ada Lovelace", ["Launch"], "2026-12-01")
    assert task.url == f"https://app.asana.com/0/{launch}/{task.gid}"


async def test_create_task_answers_match_the_description(asana: AsanaEmulator) -> None:
    # Answers as the connector asks for them (opt_fields), and the full task, whose
    # `parent` and `completed_by` are null (nullable beside readOnly in the description).
    body = {"data": {"name": "Direct", "projects": [project_gid(asana, "Launch")]}}
    fields = {"opt_fields": TASK_FIELDS}
    created = await api(asana, "POST", "/tasks", json=body, params=fields)
    full = await api(asana, "POST", "/tasks", json=body)
    completed = await api(
        asana, "PUT", f"/tasks/{full.json()['data']['gid']}", json={"data": {"completed": True}}
    )
    compact = await api(asana, "GET", "/tasks", params={"project": project_gid(asana, "Launch")})
    bad = await api(asana, "POST", "/tasks", json={"data": {"name": "Nowhere"}})
    validate_response("asana", "/api/1.0/tasks", "POST", 201, created.json())
    validate_response("asana", "/api/1.0/tasks", "POST", 201, full.json())
    assert (full.json()["data"]["parent"], full.json()["data"]["completed_by"]) == (None, None)
    validate_response("asana", "/api/1.0/tasks/{task_gid}", "PUT", 200, completed.json())
    assert completed.json()["data"]["completed"] is True
    assert completed.json()["data"]["completed_by"]["name"] == "Sandbox User"
    validate_response("asana", "/api/1.0/tasks", "GET", 200, compact.json())
    validate_response("asana", "/api/1.0/tasks", "POST", 400, bad.json())
    assert bad.json()["errors"][0]["message"] == (
        "You should specify one of workspace, parent, projects"
    )
    assert set(compact.json()["data"][0]) == {"gid", "name", "resource_type", "resource_subtype"}
    assert created.json()["data"]["projects"] == [
        {"gid": project_gid(asana, "Launch"), "name": "Launch"}
    ]


async def test_create_task_by_gid_needs_no_lookup(asana: AsanaEmulator, ctx: ActionContext) -> None:
    task = await run(ctx, "create_task", name="Quick", project=project_gid(asana, "Launch"))
    assert [r.path for r in asana.received()] == ["/api/1.0/tasks"]
    assert task.projects == ["Launch"]


async def test_create_task_without_project_goes_to_the_first_workspace(
    asana: AsanaEmulator, ctx: ActionContext
) -> None:
    task = await run(ctx, "create_task", name="Personal", assignee="me")
    workspace = next(iter(asana.workspaces.values()))
    assert asana.received("/api/1.0/tasks", "POST")[-1].json()["data"]["workspace"] == workspace.gid
    assert asana.tasks[task.gid].workspace_gid == workspace.gid
    assert task.assignee == "Sandbox User"


async def test_project_names_are_found_across_pages(
    asana: AsanaEmulator, ctx: ActionContext
) -> None:
    workspace = asana.add_workspace("Second")
    for n in range(150):
        asana.add_project(workspace.gid, f"Project {n:03d}")
    await run(ctx, "create_task", name="Late", project="Project 142", workspace="second")
    pages = asana.received("/api/1.0/projects")
    assert [p.query.get("offset") is None for p in pages] == [True, False]
    assert all(p.query["limit"] == "100" and p.query["workspace"] == workspace.gid for p in pages)
    assert_all_requests_documented(asana)
    first_page = await api(
        asana, "GET", "/projects", params={"workspace": workspace.gid, "limit": 100}
    )
    next_page = first_page.json()["next_page"]
    validate_response("asana", "/api/1.0/projects", "GET", 200, first_page.json())
    assert next_page["uri"] == f"{asana.url}/api/1.0{next_page['path']}"
    assert f"offset={next_page['offset']}" in next_page["path"]


async def test_project_name_problems(asana: AsanaEmulator, ctx: ActionContext) -> None:
    with pytest.raises(NotFound, match="has no project called 'Moonshot'"):
        await run(ctx, "create_task", name="x", project="Moonshot")
    workspace = next(iter(asana.workspaces.values()))
    asana.add_project(workspace.gid, "Launch")
    with pytest.raises(InvalidInput, match="several projects called 'Launch'"):
        await run(ctx, "create_task", name="x", project="Launch")
    asana.add_project(workspace.gid, "Retired", archived=True)
    with pytest.raises(NotFound):
        await run(ctx, "create_task", name="x", project="Retired")


async def test_service_rejections_carry_asanas_words(ctx: ActionContext) -> None:
    with pytest.raises(InvalidInput, match=r"asana: assignee: Not a recognized ID: x@y\.org"):
        await run(ctx, "create_task", name="x", project="Launch", assignee="x@y.org")
    with pytest.raises(InvalidInput, match=r"projects: \[0\]: Not a recognized ID: 42"):
        await run(ctx, "create_task", name="x", project="42")


# --- authentication and faults -------------------------------------------------------


async def test_tokens_and_scopes(asana: AsanaEmulator) -> None:
    bad = StaticCredentials(Credentials("asana-not-a-token"))
    async with connector_context(connector, asana, bad) as ctx:
        with pytest.raises(AuthExpired, match=r"\(Not Authorized\)"):
            await run(ctx, "complete_task", task=TASK_GID)
    reader = StaticCredentials(Credentials(**asana.issue_token(scopes={"tasks:read"})))
    async with connector_context(connector, asana, reader) as ctx:
        with pytest.raises(PermissionDenied, match="needs the OAuth scope tasks:write"):
            await run(ctx, "complete_task", task=TASK_GID)
    unauthorized = await api(asana, "GET", "/workspaces", headers={"Authorization": "Bearer no"})
    assert unauthorized.status_code == 401
    assert unauthorized.json()["errors"][0]["message"] == "Not Authorized"
    validate_response("asana", "/api/1.0/workspaces", "GET", 401, unauthorized.json())


async def test_rate_limits_are_waited_out(asana: AsanaEmulator, ctx: ActionContext) -> None:
    asana.fail("/api/1.0/tasks", method="PUT", status=429, retry_after=0)
    # A first attempt that is cut off after Asana applied it is safe to repeat: idempotent.
    asana.fail("/api/1.0/tasks", method="PUT", kind="drop")
    task = await run(ctx, "complete_task", task=TASK_GID)
    assert task.completed and asana.tasks[TASK_GID].completed
    assert len(asana.received(f"/api/1.0/tasks/{TASK_GID}", "PUT")) == 3
    asana.fail("/api/1.0/workspaces", status=429, retry_after=30)
    limited = await api(asana, "GET", "/workspaces")
    assert limited.headers["retry-after"] == "30"
    assert "be chill" in limited.json()["errors"][0]["message"]


# --- complete_task and comment_on_task -----------------------------------------------


async def test_complete_task_is_idempotent(asana: AsanaEmulator, ctx: ActionContext) -> None:
    first = await run(ctx, "complete_task", task=TASK_GID)
    second = await run(ctx, "complete_task", task=TASK_GID)
    assert first.completed and second.completed and asana.tasks[TASK_GID].completed
    sent = asana.received(f"/api/1.0/tasks/{TASK_GID}", "PUT")[-1]
    assert sent.json() == {"data": {"completed": True}}
    assert_all_requests_documented(asana)
    assert connector.actions["complete_task"].idempotent
    with pytest.raises(NotFound, match="task: Not a recognized ID: 1"):
        await run(ctx, "complete_task", task="1")


async def test_comment_on_task(asana: AsanaEmulator, ctx: ActionContext) -> None:
    story = await run(ctx, "comment_on_task", task=TASK_GID, text="Draft is in the doc.")
    assert (story.task_gid, story.text) == (TASK_GID, "Draft is in the doc.")
    assert asana.stories[story.gid].text == "Draft is in the doc."
    assert_all_requests_documented(asana)
    direct = await api(asana, "POST", f"/tasks/{TASK_GID}/stories", json={"data": {"text": "Hi"}})
    validate_response("asana", f"/api/1.0/tasks/{TASK_GID}/stories", "POST", 201, direct.json())
    assert not connector.actions["comment_on_task"].idempotent


# --- task_created --------------------------------------------------------------------


async def test_task_created_starts_from_now_and_reports_each_task_once(
    asana: AsanaEmulator, ctx: ActionContext
) -> None:
    config = TaskCreatedConfig(project="Launch")
    first = await poll_task_created(ctx, config, None)
    assert first.items == []  # the existing task is not news, and nothing was listed
    assert [r.path for r in asana.received()] == ["/api/1.0/workspaces", "/api/1.0/projects"]
    launch = project_gid(asana, "Launch")
    asana.add_task(launch, "Backdated", created_at=datetime.now(UTC) - timedelta(hours=1))
    fresh = [asana.add_task(launch, f"New {n}") for n in range(3)]
    second = await poll_task_created(ctx, config, first.cursor)
    assert [item.id for item in second.items] == [task.gid for task in fresh]
    assert second.items[0].payload["name"] == "New 0"
    assert second.items[0].payload["url"].endswith(fresh[0].gid)
    third = await poll_task_created(ctx, config, second.cursor)
    assert third.items == []
    listing = asana.received("/api/1.0/tasks", "GET")[-1]
    assert listing.query["project"] == launch and "modified_since" in listing.query
    assert_all_requests_documented(asana)


async def test_task_created_follows_pages(asana: AsanaEmulator, ctx: ActionContext) -> None:
    launch = project_gid(asana, "Launch")
    start = await poll_task_created(ctx, TaskCreatedConfig(project=launch), None)
    created = [asana.add_task(launch, f"Bulk {n}") for n in range(130)]
    polled = await poll_task_created(ctx, TaskCreatedConfig(project=launch), start.cursor)
    assert [item.id for item in polled.items] == [task.gid for task in created]
    assert len(asana.received("/api/1.0/tasks", "GET")) == 2


def test_declarations() -> None:
    actions = connector.actions
    assert not actions["create_task"].idempotent
    assert connector.auth.kind == "oauth2"
    output = actions["create_task"].output_model.model_json_schema()["properties"]
    assert {"gid", "name", "url"} <= set(output)
