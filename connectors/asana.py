"""Asana: tasks in projects.

Every request and response body is wrapped in `{"data": …}`; errors are
`{"errors": [{"message", "help"}]}`; lists page with `limit` + `offset` and answer
`next_page: {offset, path, uri}` (null on the last page). Responses carry only the
fields asked for with `opt_fields`.

Projects and workspaces may be given by name: a project name is looked up with
`GET /projects?workspace=…` in the given workspace, or in the first workspace of
`GET /workspaces`.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Self
from urllib.parse import quote

from pydantic import BaseModel, Field

from connectors.base import (
    ActionContext,
    Connector,
    EventItem,
    InvalidInput,
    NotFound,
    OAuth2Auth,
    PollResult,
)
from connectors.cursors import TimeCursor, cursor_scope, parse_rfc3339, rfc3339

ASANA_GID = re.compile(r"\d+")
TASK_FIELDS = "name,permalink_url,completed,due_on,notes,created_at,assignee.name,projects.name"
PAGE_SIZE = 100
MAX_LOOKUP_PAGES = 50  # 5,000 projects
MAX_POLL_PAGES = 10

connector = Connector(
    name="asana",
    title="Asana",
    description="Create, complete and comment on tasks; react to new tasks in a project.",
    auth=OAuth2Auth(
        authorize_url="https://app.asana.com/-/oauth_authorize",
        token_url="https://app.asana.com/-/oauth_token",
        revoke_url="https://app.asana.com/-/oauth_revoke",
        pkce=True,
        client_id_setting="asana_client_id",
        client_secret_setting="asana_client_secret",
    ),
    base_url_setting="asana_base_url",
)


# --- models --------------------------------------------------------------------------

GID_DESCRIPTION = "The task's gid (the long number in its URL)."


class TaskOutput(BaseModel):
    gid: str
    name: str
    url: str = Field(description="The task's permalink in Asana.")
    completed: bool = False
    due_on: str | None = None
    notes: str = ""
    assignee: str | None = Field(None, description="The assignee's name.")
    assignee_gid: str | None = None
    projects: list[str] = Field(default_factory=list, description="The projects' names.")
    created_at: str | None = None

    @classmethod
    def from_api(cls, task: dict[str, Any]) -> Self:
        assignee = task.get("assignee") or {}
        return cls(
            gid=task["gid"],
            name=task.get("name") or "",
            url=task.get("permalink_url") or "",
            completed=bool(task.get("completed")),
            due_on=task.get("due_on"),
            notes=task.get("notes") or "",
            assignee=assignee.get("name"),
            assignee_gid=assignee.get("gid"),
            projects=[p.get("name", "") for p in task.get("projects") or []],
            created_at=task.get("created_at"),
        )


class CreateTaskInput(BaseModel):
    name: str = Field(min_length=1, description="The task's name.")
    project: str | None = Field(
        None, description="The project to add the task to: its name or gid."
    )
    workspace: str | None = Field(
        None, description="The workspace (name or gid); by default your first workspace."
    )
    assignee: str | None = Field(None, description='"me", an e-mail address or a user gid.')
    due_on: date | None = Field(None, description="The day the task is due.")
    notes: str = Field("", description="The task's description.")


class CompleteTaskInput(BaseModel):
    task: str = Field(min_length=1, description=GID_DESCRIPTION)


class CommentOnTaskInput(BaseModel):
    task: str = Field(min_length=1, description=GID_DESCRIPTION)
    text: str = Field(min_length=1, description="The comment.")


class StoryOutput(BaseModel):
    gid: str = Field(description="The comment's gid (an Asana story).")
    text: str
    created_at: str | None = None
    task_gid: str


class TaskCreatedConfig(BaseModel):
    project: str = Field(min_length=1, description="The project to watch: its name or gid.")
    workspace: str | None = Field(
        None, description="The project's workspace (name or gid) when given by name."
    )


class TaskCreatedPayload(TaskOutput):
    """A new task, described like the tasks the actions return."""


# --- helpers -------------------------------------------------------------------------


def _task_path(task: str, suffix: str = "") -> str:
    return f"/tasks/{quote(task.strip(), safe='')}{suffix}"


async def _data(
    ctx: ActionContext,
    method: str,
    path: str,
    *,
    idempotent: bool,
    params: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
) -> Any:
    """The `data` of a call; `body` goes out wrapped in `{"data": …}`."""
    answer = await ctx.http.json(
        method,
        path,
        idempotent=idempotent,
        params=params,
        json=None if body is None else {"data": body},
    )
    return answer["data"]


async def list_all(
    ctx: ActionContext, path: str, params: dict[str, str], *, max_pages: int
) -> list[dict[str, Any]]:
    """GET a list, following `next_page.offset` for up to `max_pages` pages."""
    items: list[dict[str, Any]] = []
    offset: str | None = None
    for _ in range(max_pages):
        query = {**params, "limit": str(PAGE_SIZE)}
        if offset:
            query["offset"] = offset
        page = await ctx.http.json("GET", path, idempotent=True, params=query)
        items.extend(page.get("data") or [])
        offset = (page.get("next_page") or {}).get("offset")
        if not offset:
            break
    return items


def _named(items: list[dict[str, Any]], name: str, kind: str, where: str) -> str:
    matches = [i for i in items if (i.get("name") or "").strip().casefold() == name.casefold()]
    if not matches:
        known = ", ".join(repr(i.get("name")) for i in items[:20]) or "none"
        raise NotFound(
            f"Asana: {where} has no {kind} called {name!r} ({kind}s: {known}).", service="asana"
        )
    if len(matches) > 1:
        gids = ", ".join(i["gid"] for i in matches)
        raise InvalidInput(
            f"Asana: {where} has several {kind}s called {name!r} ({gids}); use the gid.",
            service="asana",
        )
    return str(matches[0]["gid"])


async def resolve_workspace(ctx: ActionContext, workspace: str | None) -> str:
    """A workspace gid: as given, by name, or the first of the user's workspaces."""
    if workspace and ASANA_GID.fullmatch(workspace):
        return workspace
    workspaces = await list_all(
        ctx, "/workspaces", {"opt_fields": "name"}, max_pages=MAX_LOOKUP_PAGES
    )
    if not workspaces:
        raise NotFound("Asana: your account has no workspace.", service="asana")
    if workspace is None:
        return str(workspaces[0]["gid"])
    return _named(workspaces, workspace, "workspace", "your account")


async def resolve_project(ctx: ActionContext, project: str, workspace: str | None) -> str:
    """A project gid: as given, or by name among the workspace's unarchived projects."""
    if ASANA_GID.fullmatch(project):
        return project
    workspace_gid = await resolve_workspace(ctx, workspace)
    projects = await open_projects(ctx, workspace_gid)
    return _named(projects, project, "project", f"workspace {workspace_gid}")


async def open_projects(ctx: ActionContext, workspace_gid: str) -> list[dict[str, Any]]:
    """The workspace's unarchived projects (gid and name)."""
    return await list_all(
        ctx,
        "/projects",
        {"workspace": workspace_gid, "archived": "false", "opt_fields": "name"},
        max_pages=MAX_LOOKUP_PAGES,
    )


# --- actions -------------------------------------------------------------------------


@connector.action(scopes=("tasks:write", "projects:read", "workspaces:read"), idempotent=False)
async def create_task(ctx: ActionContext, data: CreateTaskInput) -> TaskOutput:
    """Create an Asana task in a project (by name or gid), optionally assigned and due."""
    task: dict[str, Any] = {"name": data.name}
    if data.project:
        task["projects"] = [await resolve_project(ctx, data.project, data.workspace)]
    else:
        task["workspace"] = await resolve_workspace(ctx, data.workspace)
    if data.notes:
        task["notes"] = data.notes
    if data.assignee:
        task["assignee"] = data.assignee
    if data.due_on:
        task["due_on"] = data.due_on.isoformat()
    created = await _data(
        ctx, "POST", "/tasks", idempotent=False, params={"opt_fields": TASK_FIELDS}, body=task
    )
    return TaskOutput.from_api(created)


@connector.action(scopes=("tasks:write",), idempotent=True)
async def complete_task(ctx: ActionContext, data: CompleteTaskInput) -> TaskOutput:
    """Mark an Asana task as completed."""
    task = await _data(
        ctx,
        "PUT",
        _task_path(data.task),
        idempotent=True,
        params={"opt_fields": TASK_FIELDS},
        body={"completed": True},
    )
    return TaskOutput.from_api(task)


@connector.action(scopes=("stories:write",), idempotent=False)
async def comment_on_task(ctx: ActionContext, data: CommentOnTaskInput) -> StoryOutput:
    """Add a comment to an Asana task."""
    story = await _data(
        ctx,
        "POST",
        _task_path(data.task, "/stories"),
        idempotent=False,
        params={"opt_fields": "text,created_at"},
        body={"text": data.text},
    )
    return StoryOutput(
        gid=story["gid"],
        text=story.get("text") or data.text,
        created_at=story.get("created_at"),
        task_gid=data.task.strip(),
    )


# --- events --------------------------------------------------------------------------


def _task_gid(task: dict[str, Any]) -> str:
    return str(task["gid"])


def _task_created_at(task: dict[str, Any]) -> datetime:
    return parse_rfc3339(task["created_at"])


async def poll_task_created(
    ctx: ActionContext, config: TaskCreatedConfig, cursor: str | None
) -> PollResult:
    """Tasks created in the project since the cursor, oldest first; the first call
    resolves the project and starts from now."""
    if cursor is None:
        project_gid = await resolve_project(ctx, config.project, config.workspace)
        return PollResult(items=[], cursor=TimeCursor.start().encode(project=project_gid))
    project_gid = cursor_scope(cursor)["project"]
    time = TimeCursor.decode(cursor)
    tasks = await list_all(
        ctx,
        "/tasks",
        {
            "project": project_gid,
            "modified_since": rfc3339(time.since),
            "opt_fields": TASK_FIELDS,
        },
        max_pages=MAX_POLL_PAGES,
    )
    stamped = [task for task in tasks if task.get("created_at")]
    fresh, advanced = time.take(stamped, _task_gid, _task_created_at)
    items = [
        EventItem(id=task["gid"], payload=TaskCreatedPayload.from_api(task).model_dump())
        for task in fresh
    ]
    return PollResult(items=items, cursor=advanced.encode(project=project_gid))


connector.event(
    name="task_created",
    description="A task is created in an Asana project.",
    config_model=TaskCreatedConfig,
    payload_model=TaskCreatedPayload,
    poll=poll_task_created,
    scopes=("tasks:read", "projects:read", "workspaces:read"),
    sample={
        "gid": "1208765432101234",
        "name": "Renew the office lease",
        "url": "https://app.asana.com/0/1208765432100000/1208765432101234",
        "completed": False,
        "due_on": "2026-12-18",
        "notes": "The landlord needs the signed copy by the 18th.",
        "assignee": "Alice Example",
        "assignee_gid": "1208765432109999",
        "projects": ["Operations"],
        "created_at": "2026-12-04T09:00:00Z",
    },
)
