"""Asana on 127.0.0.1: workspaces, projects, tasks and comments under `/api/1.0`.

Like the real API: `Authorization: Bearer` tokens with Asana's OAuth scopes
(`tasks:read`, `tasks:write`, `stories:write`, `projects:read`, `workspaces:read`);
bodies and responses wrapped in `{"data": …}`; errors as
`{"errors": [{"message", "help"}]}` (401 "Not Authorized", 403 for a missing scope,
400 "workspace: Not a Long: …", 404 "… Not a recognized ID: …", 429 with Retry-After);
compact objects in lists unless `opt_fields` asks for more (dotted: `assignee.name`);
`limit`/`offset` pagination with `next_page: {offset, path, uri}`.

Tests seed with `add_workspace`/`add_project`/`add_user`/`add_task` and inspect
`workspaces`, `projects`, `tasks` and `stories`.
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.emulator import SANDBOX_USER, Emulator, EmulatorError, bearer_token
from sandbox.wire import decode_token, encode_token, iso_millis, parse_iso

API = "/api/1.0"
HELP = (
    "For more information on API status codes and how to handle them, "
    "read the docs on errors: https://developers.asana.com/docs/errors"
)
GID = re.compile(r"\d+")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_LIMIT = 100


def _parse_time(value: str, name: str) -> datetime:
    parsed = parse_iso(value)
    if parsed is None:
        raise EmulatorError(400, f"{name}: Invalid date-time: {value}")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass
class AsanaUser:
    gid: str
    name: str
    email: str
    login: str  # the emulator user a token is granted to

    def compact(self) -> dict[str, Any]:
        return {"gid": self.gid, "resource_type": "user", "name": self.name}


@dataclass
class Workspace:
    gid: str
    name: str

    def compact(self) -> dict[str, Any]:
        return {"gid": self.gid, "resource_type": "workspace", "name": self.name}


@dataclass
class Project:
    gid: str
    name: str
    workspace_gid: str
    archived: bool = False

    def compact(self) -> dict[str, Any]:
        return {"gid": self.gid, "resource_type": "project", "name": self.name}


@dataclass
class Task:
    gid: str
    name: str
    workspace_gid: str
    created_by: str  # user gid
    projects: list[str] = field(default_factory=list)
    notes: str = ""
    assignee: str | None = None  # user gid
    due_on: str | None = None
    completed: bool = False
    completed_at: str | None = None
    completed_by: str | None = None  # user gid
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    modified_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def compact(self) -> dict[str, Any]:
        return {
            "gid": self.gid,
            "resource_type": "task",
            "name": self.name,
            "resource_subtype": "default_task",
        }


@dataclass
class Story:
    gid: str
    task_gid: str
    text: str
    created_by: str
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def select(full: dict[str, Any], opt_fields: str | None, default: dict[str, Any]) -> dict[str, Any]:
    """Asana's `opt_fields`: without it the `default` form (compact in lists, full for a
    single object); with it the gid plus exactly the named fields, where `assignee.name`
    picks a field of a nested resource."""
    if not opt_fields:
        return default
    chosen: dict[str, Any] = {"gid": full["gid"]}
    for spec in (f.strip() for f in opt_fields.split(",") if f.strip()):
        head, _, rest = spec.partition(".")
        if head in full:
            chosen[head] = _nested(full[head], rest, chosen.get(head))
    return chosen


def _nested(value: Any, rest: str, chosen: Any) -> Any:
    """One opt_field applied to a value: a nested resource (or a list of them) keeps
    its gid plus the `rest` field (or its resource_type when `rest` is empty), merged
    into what earlier opt_fields already `chosen`."""
    if isinstance(value, list):
        previous = chosen if isinstance(chosen, list) else [None] * len(value)
        return [_nested(item, rest, prev) for item, prev in zip(value, previous, strict=True)]
    if not isinstance(value, dict) or "gid" not in value:
        return value
    picked = dict(chosen) if isinstance(chosen, dict) else {"gid": value["gid"]}
    if rest:
        key = rest.split(".")[0]
        picked[key] = value.get(key)
    else:
        picked.setdefault("resource_type", value.get("resource_type"))
    return picked


def _encode_offset(index: int) -> str:
    return encode_token({"typ": "offset", "i": index})


def _decode_offset(token: str) -> int:
    try:
        return int(decode_token(token)["i"])
    except (ValueError, KeyError, TypeError) as exc:
        raise EmulatorError(400, "offset: Your pagination token is invalid.") from exc


class AsanaEmulator(Emulator):
    name = "asana"

    def __init__(self) -> None:
        self._gids = itertools.count(1_200_000_000_000_000 + secrets.randbelow(10**12))
        self.users: dict[str, AsanaUser] = {}
        self.workspaces: dict[str, Workspace] = {}
        self.projects: dict[str, Project] = {}
        self.tasks: dict[str, Task] = {}
        self.stories: dict[str, Story] = {}
        super().__init__()
        workspace = self.add_workspace("ATOM Sandbox")
        self.add_project(workspace.gid, "Inbox")

    def routes(self) -> list[BaseRoute]:
        return [
            Route(f"{API}/workspaces", self._list_workspaces, methods=["GET"]),
            Route(f"{API}/projects", self._list_projects, methods=["GET"]),
            Route(f"{API}/projects/{{project_gid}}/tasks", self._project_tasks, methods=["GET"]),
            Route(f"{API}/tasks", self._list_tasks, methods=["GET"]),
            Route(f"{API}/tasks", self._create_task, methods=["POST"]),
            Route(f"{API}/tasks/{{task_gid}}", self._update_task, methods=["PUT"]),
            Route(f"{API}/tasks/{{task_gid}}/stories", self._create_story, methods=["POST"]),
        ]

    def settings_overrides(self) -> dict[str, str]:
        return {"asana_base_url": f"{self.url}{API}"}

    def error_body(self, status: int, message: str, **extra: Any) -> Any:
        error: dict[str, Any] = {"message": message, "help": HELP}
        if status == 429:
            error["message"] = "You have made too many requests recently. Please, be chill."
        elif status >= 500:
            error["message"] = "Server Error"
            error["phrase"] = "6 sad squid snuggle softly"
        return {"errors": [error]}

    # --- seeding and inspection ----------------------------------------------------------

    def new_gid(self) -> str:
        return str(next(self._gids))

    def add_workspace(self, name: str, *, gid: str | None = None) -> Workspace:
        with self.lock:
            workspace = Workspace(gid or self.new_gid(), name)
            self.workspaces[workspace.gid] = workspace
            return workspace

    def add_project(
        self, workspace_gid: str, name: str, *, gid: str | None = None, archived: bool = False
    ) -> Project:
        with self.lock:
            project = Project(gid or self.new_gid(), name, workspace_gid, archived)
            self.projects[project.gid] = project
            return project

    def add_user(
        self, name: str, email: str, *, login: str | None = None, gid: str | None = None
    ) -> AsanaUser:
        with self.lock:
            user = AsanaUser(gid or self.new_gid(), name, email, login or email)
            self.users[user.gid] = user
            return user

    def user(self, login: str) -> AsanaUser:
        """The user a token's grant names (created on first use)."""
        with self.lock:
            found = next((u for u in self.users.values() if u.login == login), None)
            name = login.replace("-", " ").title()
            return found or self.add_user(name, f"{login}@example.com", login=login)

    def add_task(
        self,
        project_gid: str,
        name: str,
        *,
        gid: str | None = None,
        created_at: datetime | None = None,
        creator: str = SANDBOX_USER,
    ) -> Task:
        with self.lock:
            project = self.projects[project_gid]
            moment = created_at or datetime.now(UTC)
            task = Task(
                gid=gid or self.new_gid(),
                name=name,
                workspace_gid=project.workspace_gid,
                created_by=self.user(creator).gid,
                projects=[project.gid],
                created_at=moment,
                modified_at=moment,
            )
            self.tasks[task.gid] = task
            return task

    # --- representations ------------------------------------------------------------------

    def task_full(self, task: Task) -> dict[str, Any]:
        workspace = self.workspaces[task.workspace_gid]
        projects = [self.projects[p] for p in task.projects]
        assignee = self.users.get(task.assignee) if task.assignee else None
        creator = self.users[task.created_by]
        first_project = projects[0].gid if projects else "0"
        return {
            "gid": task.gid,
            "resource_type": "task",
            "name": task.name,
            "resource_subtype": "default_task",
            "assignee": assignee.compact() if assignee else None,
            "assignee_status": "upcoming" if assignee else "inbox",
            "completed": task.completed,
            "completed_at": task.completed_at,
            "completed_by": self.users[task.completed_by].compact() if task.completed_by else None,
            "created_at": iso_millis(task.created_at),
            "created_by": {"gid": creator.gid, "resource_type": "user"},
            "due_at": None,
            "due_on": task.due_on,
            "followers": [creator.compact()],
            "hearted": False,
            "hearts": [],
            "liked": False,
            "likes": [],
            "memberships": [{"project": p.compact()} for p in projects],
            "modified_at": iso_millis(task.modified_at),
            "notes": task.notes,
            "num_hearts": 0,
            "num_likes": 0,
            "parent": None,
            "permalink_url": f"https://app.asana.com/0/{first_project}/{task.gid}",
            "projects": [p.compact() for p in projects],
            "start_at": None,
            "start_on": None,
            "tags": [],
            "workspace": workspace.compact(),
            "custom_fields": [],
        }

    def story_full(self, story: Story) -> dict[str, Any]:
        return {
            "gid": story.gid,
            "resource_type": "story",
            "created_at": iso_millis(story.created_at),
            "created_by": self.users[story.created_by].compact(),
            "resource_subtype": "comment_added",
            "text": story.text,
            "type": "comment",
            "is_pinned": False,
            "is_editable": True,
            "is_edited": False,
            "hearted": False,
            "hearts": [],
            "num_hearts": 0,
            "liked": False,
            "likes": [],
            "num_likes": 0,
            "reaction_summary": [],
            "previews": [],
            "source": "api",
            "target": self.tasks[story.task_gid].compact(),
        }

    # --- request plumbing -----------------------------------------------------------------

    def _caller(self, request: Request, scope: str) -> AsanaUser:
        grant = self.grants.get(bearer_token(request))
        if grant is None:
            raise EmulatorError(401, "Not Authorized")
        if not grant.allows(scope):
            raise EmulatorError(
                403, f"Forbidden: this request needs the OAuth scope {scope}, which the token lacks"
            )
        return self.user(grant.user)

    async def _data(self, request: Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.body() or b"null")
        except ValueError as exc:
            raise EmulatorError(400, "Could not parse request data, invalid JSON") from exc
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise EmulatorError(400, "data: Missing input")
        return data

    def _known(self, table: dict[str, Any], gid: Any, name: str, status: int = 400) -> Any:
        if not isinstance(gid, str) or not GID.fullmatch(gid):
            raise EmulatorError(400, f"{name}: Not a Long: {gid}")
        if gid not in table:
            raise EmulatorError(status, f"{name}: Not a recognized ID: {gid}")
        return table[gid]

    def _assignee(self, value: Any, caller: AsanaUser) -> str | None:
        if value is None:
            return None
        if value == "me":
            return caller.gid
        if isinstance(value, str) and EMAIL.fullmatch(value):
            user = next((u for u in self.users.values() if u.email == value), None)
        elif isinstance(value, str) and GID.fullmatch(value):
            user = self.users.get(value)
        else:
            raise EmulatorError(400, f'assignee: Not an email, a gid or "me": {value}')
        if user is None:
            raise EmulatorError(400, f"assignee: Not a recognized ID: {value}")
        return user.gid

    def _page(self, request: Request, items: list[dict[str, Any]]) -> Response:
        """One page of `items` when `limit` is given (all of them otherwise)."""
        params = request.query_params
        if "limit" not in params:
            return JSONResponse({"data": items})
        raw = params["limit"]
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
            raise EmulatorError(400, f"limit: Must be between 1 and {MAX_LIMIT}: {raw}")
        limit = int(raw)
        start = _decode_offset(params["offset"]) if params.get("offset") else 0
        next_page = None
        if start + limit < len(items):
            token = _encode_offset(start + limit)
            query = urlencode({**dict(params), "offset": token})
            path = f"{request.url.path.removeprefix(API)}?{query}"
            next_page = {"offset": token, "path": path, "uri": f"{self.url}{API}{path}"}
        return JSONResponse({"data": items[start : start + limit], "next_page": next_page})

    def _shaped_task(self, request: Request, task: Task) -> dict[str, Any]:
        """A single task: the full record, or the `opt_fields` asked for."""
        full = self.task_full(task)
        return select(full, request.query_params.get("opt_fields"), full)

    def _tasks_page(self, request: Request, tasks: Iterable[Task]) -> Response:
        params = request.query_params
        chosen = list(tasks)
        if "modified_since" in params:
            since = _parse_time(params["modified_since"], "modified_since")
            chosen = [t for t in chosen if t.modified_at >= since]
        if "completed_since" in params:
            chosen = [t for t in chosen if _open_or_completed_since(t, params["completed_since"])]
        fields = params.get("opt_fields")
        return self._page(request, [select(self.task_full(t), fields, t.compact()) for t in chosen])

    # --- routes ---------------------------------------------------------------------------

    async def _list_workspaces(self, request: Request) -> Response:
        self._caller(request, "workspaces:read")
        fields = request.query_params.get("opt_fields")
        items = [select(w.compact(), fields, w.compact()) for w in self.workspaces.values()]
        return self._page(request, items)

    async def _list_projects(self, request: Request) -> Response:
        self._caller(request, "projects:read")
        params = request.query_params
        projects: Iterable[Project] = self.projects.values()
        if "workspace" in params:
            workspace = self._known(self.workspaces, params["workspace"], "workspace", 404)
            projects = [p for p in projects if p.workspace_gid == workspace.gid]
        if "archived" in params:
            archived = params["archived"] == "true"
            projects = [p for p in projects if p.archived == archived]
        fields = params.get("opt_fields")
        return self._page(request, [select(p.compact(), fields, p.compact()) for p in projects])

    async def _list_tasks(self, request: Request) -> Response:
        caller = self._caller(request, "tasks:read")
        params = request.query_params
        scopes = [name for name in ("project", "tag", "section") if name in params]
        by_assignee = "assignee" in params and "workspace" in params
        if len(scopes) + by_assignee != 1:
            raise EmulatorError(
                400,
                "Must specify exactly one of project, tag, section, user task list, "
                "or assignee + workspace",
            )
        if scopes and scopes[0] != "project":
            raise EmulatorError(400, f"{scopes[0]}: Not a recognized ID: {params[scopes[0]]}")
        if scopes:
            project = self._known(self.projects, params["project"], "project", 404)
            return self._tasks_page(request, self._tasks_of(project))
        workspace = self._known(self.workspaces, params["workspace"], "workspace", 404)
        assignee = self._assignee(params["assignee"], caller)
        tasks = [
            t
            for t in self.tasks.values()
            if t.workspace_gid == workspace.gid and t.assignee == assignee
        ]
        return self._tasks_page(request, tasks)

    def _tasks_of(self, project: Project) -> list[Task]:
        return [t for t in self.tasks.values() if project.gid in t.projects]

    async def _project_tasks(self, request: Request) -> Response:
        self._caller(request, "tasks:read")
        project = self._known(self.projects, request.path_params["project_gid"], "project", 404)
        return self._tasks_page(request, self._tasks_of(project))

    async def _create_task(self, request: Request) -> Response:
        caller = self._caller(request, "tasks:write")
        data = await self._data(request)
        with self.lock:
            projects = data.get("projects") or []
            if not isinstance(projects, list):
                raise EmulatorError(400, "projects: Not an array")
            known = [
                self._known(self.projects, gid, f"projects: [{i}]")
                for i, gid in enumerate(projects)
            ]
            if known:
                workspace_gid = known[0].workspace_gid
            elif data.get("workspace") is not None:
                workspace_gid = self._known(self.workspaces, data["workspace"], "workspace").gid
            else:
                raise EmulatorError(400, "You should specify one of workspace, parent, projects")
            now = datetime.now(UTC)
            task = Task(
                gid=self.new_gid(),
                name=_string(data, "name"),
                workspace_gid=workspace_gid,
                created_by=caller.gid,
                projects=[p.gid for p in known],
                notes=_string(data, "notes"),
                assignee=self._assignee(data.get("assignee"), caller),
                due_on=_due_on(data.get("due_on")),
                created_at=now,
                modified_at=now,
            )
            self.tasks[task.gid] = task
            return JSONResponse({"data": self._shaped_task(request, task)}, 201)

    async def _update_task(self, request: Request) -> Response:
        caller = self._caller(request, "tasks:write")
        data = await self._data(request)
        with self.lock:
            task = self._known(self.tasks, request.path_params["task_gid"], "task", 404)
            if "completed" in data:
                if not isinstance(data["completed"], bool):
                    raise EmulatorError(400, f"completed: Not a boolean: {data['completed']}")
                if data["completed"] and not task.completed:
                    task.completed_at = iso_millis(datetime.now(UTC))
                    task.completed_by = caller.gid
                task.completed = data["completed"]
                if not task.completed:
                    task.completed_at = task.completed_by = None
            task.name = _string(data, "name") if "name" in data else task.name
            task.notes = _string(data, "notes") if "notes" in data else task.notes
            if "assignee" in data:
                task.assignee = self._assignee(data["assignee"], caller)
            if "due_on" in data:
                task.due_on = _due_on(data["due_on"])
            task.modified_at = datetime.now(UTC)
            return JSONResponse({"data": self._shaped_task(request, task)})

    async def _create_story(self, request: Request) -> Response:
        caller = self._caller(request, "stories:write")
        data = await self._data(request)
        with self.lock:
            task = self._known(self.tasks, request.path_params["task_gid"], "task", 404)
            text = data.get("text")
            if not isinstance(text, str) or not text.strip():
                raise EmulatorError(400, "text: Missing input")
            story = Story(self.new_gid(), task.gid, text, caller.gid)
            self.stories[story.gid] = story
            task.modified_at = story.created_at
            full = self.story_full(story)
            body = select(full, request.query_params.get("opt_fields"), full)
            return JSONResponse({"data": body}, 201)


def _string(data: dict[str, Any], name: str) -> str:
    value = data.get(name, "")
    if not isinstance(value, str):
        raise EmulatorError(400, f"{name}: Not a string: {value}")
    return value


def _due_on(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and DAY.fullmatch(value):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass  # 2026-02-30: well-formed but not a day
    raise EmulatorError(400, f"due_on: Not a valid date (YYYY-MM-DD): {value}")


def _open_or_completed_since(task: Task, completed_since: str) -> bool:
    if not task.completed:
        return True
    if completed_since == "now" or task.completed_at is None:
        return False
    return _parse_time(task.completed_at, "completed_at") >= _parse_time(
        completed_since, "completed_since"
    )
