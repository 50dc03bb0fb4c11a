"""A GitHub REST API v3 emulator: repositories, issues, pull requests, labels, comments.

It speaks api.github.com's wire format for the operations ATOM uses (GitHub's published
OpenAPI description): `Authorization: Bearer` tokens with classic OAuth scopes
(`repo` for private repositories and writes, `public_repo` for writes to public ones),
`X-GitHub-Api-Version` checking, `X-RateLimit-*` headers on every response and a 403
once the budget is spent, `per_page`/`page` pagination with a `Link` header, and
GitHub's error bodies (`{"message", "documentation_url", "status"}`, plus `errors` on a
422 "Validation Failed").

It starts with demo data for `atom shell` and `atom execute --sandbox`: the repository
`acme/api` (DEMO_REPO), where the sandbox user may push, with GitHub's default labels
and three open issues. Tests seed and inspect state directly (in repositories of their
own, so the demo data does not matter to them):

    github = GitHubEmulator().start()
    github.add_repo("acme/web", collaborators={"octocat"}, labels=["bug"])
    github.add_issue("acme/web", "Crash on start", labels=["bug"])
    github.repo("acme/web").issues[1].state

`webhook_delivery()` builds the signed `issues` / `pull_request` delivery GitHub would
POST to a repository webhook.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import itertools
import json
import math
import secrets
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.emulator import SANDBOX_USER, Emulator, EmulatorError, Grant
from sandbox.wire import iso_seconds, parse_iso

DOCS = "https://docs.github.com/rest"
SUPPORTED_API_VERSIONS = ("2022-11-28", "2026-03-10")
MAX_TITLE_LENGTH = 256
MAX_BODY_LENGTH = 65536
MAX_LABEL_NAME_LENGTH = 50
DEFAULT_LABEL_COLOR = "ededed"
DEMO_REPO = "acme/api"
# The labels GitHub gives every new repository: name -> (color, description).
DEFAULT_LABELS = {
    "bug": ("d73a4a", "Something isn't working"),
    "documentation": ("0075ca", "Improvements or additions to documentation"),
    "duplicate": ("cfd3d7", "This issue or pull request already exists"),
    "enhancement": ("a2eeef", "New feature or request"),
    "good first issue": ("7057ff", "Good for newcomers"),
    "help wanted": ("008672", "Extra attention is needed"),
    "invalid": ("e4e669", "This doesn't seem right"),
    "question": ("d876e3", "Further information is requested"),
    "wontfix": ("ffffff", "This will not be worked on"),
}

_REPO_URL_SUFFIXES = {
    "archive_url": "/{archive_format}{/ref}",
    "assignees_url": "/assignees{/user}",
    "blobs_url": "/git/blobs{/sha}",
    "branches_url": "/branches{/branch}",
    "collaborators_url": "/collaborators{/collaborator}",
    "comments_url": "/comments{/number}",
    "commits_url": "/commits{/sha}",
    "compare_url": "/compare/{base}...{head}",
    "contents_url": "/contents/{+path}",
    "contributors_url": "/contributors",
    "deployments_url": "/deployments",
    "downloads_url": "/downloads",
    "events_url": "/events",
    "forks_url": "/forks",
    "git_commits_url": "/git/commits{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "hooks_url": "/hooks",
    "issue_comment_url": "/issues/comments{/number}",
    "issue_events_url": "/issues/events{/number}",
    "issues_url": "/issues{/number}",
    "keys_url": "/keys{/key_id}",
    "labels_url": "/labels{/name}",
    "languages_url": "/languages",
    "merges_url": "/merges",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "pulls_url": "/pulls{/number}",
    "releases_url": "/releases{/id}",
    "stargazers_url": "/stargazers",
    "statuses_url": "/statuses/{sha}",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "tags_url": "/tags",
    "teams_url": "/teams",
    "trees_url": "/git/trees{/sha}",
}


# --- state ---------------------------------------------------------------------------


@dataclass
class User:
    login: str
    id: int


@dataclass
class Label:
    id: int
    name: str
    color: str = DEFAULT_LABEL_COLOR
    description: str | None = None
    default: bool = False


@dataclass
class Comment:
    id: int
    body: str
    user: User
    created_at: datetime


@dataclass
class PullRequestInfo:
    head: str
    base: str
    draft: bool
    sha: str


@dataclass
class Issue:
    """An issue, or a pull request (`pull` set): GitHub numbers both in one sequence."""

    number: int
    id: int
    title: str
    body: str | None
    user: User
    labels: list[Label]
    assignees: list[User]
    created_at: datetime
    updated_at: datetime
    state: str = "open"
    state_reason: str | None = None
    locked: bool = False
    closed_at: datetime | None = None
    closed_by: User | None = None
    comments: list[Comment] = field(default_factory=list)
    pull: PullRequestInfo | None = None

    def label_names(self) -> list[str]:
        return [label.name for label in self.labels]


@dataclass
class Repo:
    id: int
    owner: User
    name: str
    private: bool
    collaborators: set[str]
    created_at: datetime
    default_branch: str = "main"
    labels: dict[str, Label] = field(default_factory=dict)  # lower-cased name -> label
    issues: dict[int, Issue] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        return f"{self.owner.login}/{self.name}"

    def has_push_access(self, login: str) -> bool:
        return login == self.owner.login or login in self.collaborators

    def can_see(self, login: str) -> bool:
        return not self.private or self.has_push_access(login)


@dataclass
class RateLimit:
    """The `core` REST budget GitHub reports in X-RateLimit-* headers."""

    limit: int = 5000
    remaining: int = 5000
    reset_at: int = 0  # epoch seconds

    def refresh(self) -> None:
        now = time.time()
        if now >= self.reset_at:
            self.remaining = self.limit
            self.reset_at = math.ceil(now + 3600)

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_at),
            "X-RateLimit-Used": str(self.limit - self.remaining),
            "X-RateLimit-Resource": "core",
        }


@dataclass(frozen=True)
class WebhookDelivery:
    """A webhook POST as GitHub sends it: headers (incl. X-Hub-Signature-256) and body."""

    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class _Access:
    repo: Repo
    user: User


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _timestamp(moment: datetime | None) -> str | None:
    return iso_seconds(moment) if moment else None


def _node_id(kind: str, number: int) -> str:
    return base64.b64encode(f"{len(kind):02d}:{kind}{number}".encode()).decode()


def _validation_failed(*errors: dict[str, Any]) -> EmulatorError:
    return EmulatorError(422, "Validation Failed", errors=list(errors))


def _invalid_request(detail: str) -> EmulatorError:
    """GitHub's answer to a body that breaks the operation's JSON schema."""
    return EmulatorError(422, f"Invalid request.\n\n{detail}")


# --- the emulator --------------------------------------------------------------------


class GitHubEmulator(Emulator):
    name = "github"

    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        self.repos: dict[str, Repo] = {}  # lower-cased full name -> repo
        self.rate_limit = RateLimit()
        self._ids = itertools.count(1001)
        super().__init__()
        self.app = _GitHubHeaders(self.app, self)
        self._seed_demo()

    def settings_overrides(self) -> dict[str, str]:
        return {"github_base_url": self.url}

    def error_body(self, status: int, message: str, **extra: Any) -> Any:
        return {"message": message, **extra, "documentation_url": DOCS, "status": str(status)}

    def issue_token(
        self, user: str = SANDBOX_USER, scopes: set[str] | None = None
    ) -> dict[str, Any]:
        """An OAuth token shaped like GitHub's (`gho_…`) for `user`."""
        token = "gho_" + secrets.token_hex(18)
        self.grant(token, user, scopes)
        self.user(user)
        return {"access_token": token, "extra": {}}

    # --- seeding and inspection ---------------------------------------------------------

    def _seed_demo(self) -> None:
        """DEMO_REPO with GitHub's default labels and a few open issues, so a sandbox
        session has something to list, label, comment on and close."""
        repo = self.add_repo(DEMO_REPO, collaborators={SANDBOX_USER})
        for name, (color, description) in DEFAULT_LABELS.items():
            repo.labels[name] = Label(next(self._ids), name, color, description, default=True)
        now = _now()
        self.add_issue(
            DEMO_REPO,
            "Login fails when the session cookie has expired",
            body="Steps: sign in, wait an hour, reload. Expected the login page; got a 500.",
            labels=["bug"],
            user="octocat",
            created_at=now - timedelta(days=3),
        )
        self.add_issue(
            DEMO_REPO,
            "Send rate-limit headers with every API response",
            body="Clients need X-RateLimit-Remaining to back off before they hit a 429.",
            labels=["enhancement"],
            user=SANDBOX_USER,
            created_at=now - timedelta(days=1),
        )
        self.add_issue(
            DEMO_REPO,
            "Document the webhook payloads",
            labels=["documentation", "good first issue"],
            created_at=now - timedelta(hours=5),
        )

    def user(self, login: str) -> User:
        with self.lock:
            if login not in self.users:
                self.users[login] = User(login=login, id=next(self._ids))
            return self.users[login]

    def add_repo(
        self,
        full_name: str,
        *,
        private: bool = False,
        collaborators: Iterable[str] = (),
        labels: Iterable[str] = (),
    ) -> Repo:
        """A new repository (ValueError if `full_name` exists: pick another name)."""
        owner, name = full_name.split("/")
        with self.lock:
            if full_name.lower() in self.repos:
                raise ValueError(f"the emulator already has a repository {full_name}")
            repo = Repo(
                id=next(self._ids),
                owner=self.user(owner),
                name=name,
                private=private,
                collaborators=set(collaborators),
                created_at=_now(),
            )
            for label in labels:
                self._label(repo, label)
            self.repos[full_name.lower()] = repo
            return repo

    def repo(self, full_name: str) -> Repo:
        return self.repos[full_name.lower()]

    def add_issue(
        self,
        full_name: str,
        title: str,
        *,
        body: str | None = None,
        labels: Iterable[str] = (),
        user: str | None = None,
        created_at: datetime | None = None,
    ) -> Issue:
        repo = self.repo(full_name)
        with self.lock:
            return self._open(
                repo, title, body, self.user(user or repo.owner.login), labels, (), created_at
            )

    def add_pull_request(
        self,
        full_name: str,
        title: str,
        *,
        head: str,
        base: str = "main",
        body: str | None = None,
        user: str | None = None,
        draft: bool = False,
        created_at: datetime | None = None,
    ) -> Issue:
        with self.lock:
            issue = self.add_issue(full_name, title, body=body, user=user, created_at=created_at)
            issue.pull = PullRequestInfo(
                head=head, base=base, draft=draft, sha=secrets.token_hex(20)
            )
            return issue

    def exhaust_rate_limit(self, reset_in: float) -> None:
        """Spend the whole budget; it resets `reset_in` seconds from now."""
        with self.lock:
            self.rate_limit.remaining = 0
            self.rate_limit.reset_at = math.ceil(time.time() + reset_in)

    def webhook_delivery(
        self, full_name: str, number: int, secret: str | None, action: str = "opened"
    ) -> WebhookDelivery:
        """The `issues` or `pull_request` delivery for issue/PR `number`, signed with
        `secret` the way GitHub signs (`X-Hub-Signature-256: sha256=<hmac>`)."""
        repo = self.repo(full_name)
        issue = repo.issues[number]
        payload: dict[str, Any] = {"action": action}
        if issue.pull:
            event = "pull_request"
            payload |= {"number": number, "pull_request": self.pull_full_json(repo, issue)}
        else:
            event = "issues"
            payload["issue"] = self.issue_json(repo, issue)
        payload |= {"repository": self.repo_json(repo), "sender": self.user_json(issue.user)}
        body = json.dumps(payload).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/emulator",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-GitHub-Hook-ID": str(repo.id),
            "X-GitHub-Hook-Installation-Target-ID": str(repo.id),
            "X-GitHub-Hook-Installation-Target-Type": "repository",
        }
        if secret is not None:
            digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            headers["X-Hub-Signature-256"] = f"sha256={digest}"
        return WebhookDelivery(headers=headers, body=body)

    # --- routes -------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        repo_path = "/repos/{owner}/{repo}"
        issue_path = repo_path + "/issues/{number:int}"
        return [
            Route("/user/repos", self.list_own_repos, methods=["GET"]),
            Route(repo_path + "/issues", self.list_issues, methods=["GET"]),
            Route(repo_path + "/issues", self.create_issue, methods=["POST"]),
            Route(issue_path, self.update_issue, methods=["PATCH"]),
            Route(issue_path + "/comments", self.create_comment, methods=["POST"]),
            Route(issue_path + "/labels", self.add_labels, methods=["POST"]),
            Route(repo_path + "/pulls", self.list_pulls, methods=["GET"]),
            Route("/{owner}/{repo}/issues/{number:int}", self.web_page, methods=["GET"]),
            Route("/{owner}/{repo}/pull/{number:int}", self.web_page, methods=["GET"]),
            Route("/{path:path}", self.not_found),
        ]

    async def not_found(self, _request: Request) -> Response:
        raise EmulatorError(404, "Not Found")

    async def list_issues(self, request: Request) -> Response:
        access = self._access(request, write=False)
        query = request.query_params
        state = _choice(query, "state", ("open", "closed", "all"), "open")
        sort = _choice(query, "sort", ("created", "updated", "comments"), "created")
        direction = _choice(query, "direction", ("asc", "desc"), "desc")
        wanted = [
            name.strip().lower() for name in query.get("labels", "").split(",") if name.strip()
        ]
        since = _since(query.get("since"))
        assignee = query.get("assignee")
        with self.lock:
            if assignee not in (None, "*", "none"):
                self._require_assignable(access.repo, [assignee], field="assignee")
            issues = [
                issue
                for issue in access.repo.issues.values()
                if state in ("all", issue.state)
                and all(w in {n.lower() for n in issue.label_names()} for w in wanted)
                and (since is None or issue.updated_at >= since)
                and _assigned(issue, assignee)
                and query.get("creator") in (None, issue.user.login)
            ]
            issues.sort(key=_sort_key(sort), reverse=direction == "desc")
            page, link = _paginate(request, issues)
            return JSONResponse([self.issue_json(access.repo, issue) for issue in page], 200, link)

    async def list_own_repos(self, request: Request) -> Response:
        """`GET /user/repos`: repositories the token's user owns or collaborates on
        (`affiliation` owner,collaborator), sorted by `full_name` unless `sort` says
        otherwise; private ones only with the `repo` scope."""
        grant, user = self._caller(request)
        query = request.query_params
        sort = _choice(query, "sort", ("created", "updated", "pushed", "full_name"), "full_name")
        default_direction = "asc" if sort == "full_name" else "desc"
        direction = _choice(query, "direction", ("asc", "desc"), default_direction)
        affiliation = set(query.get("affiliation", "owner,collaborator").split(","))
        see_private = grant.scopes is None or "repo" in grant.scopes
        with self.lock:
            repos = [
                repo
                for repo in self.repos.values()
                if (see_private or not repo.private)
                and (
                    ("owner" in affiliation and repo.owner.login == user.login)
                    or ("collaborator" in affiliation and user.login in repo.collaborators)
                )
            ]
            if sort == "full_name":
                repos.sort(key=lambda repo: repo.full_name.lower(), reverse=direction == "desc")
            else:
                repos.sort(key=lambda repo: repo.created_at, reverse=direction == "desc")
            page, link = _paginate(request, repos)
            return JSONResponse([self.repo_json(repo) for repo in page], 200, link)

    async def create_issue(self, request: Request) -> Response:
        access = self._access(request, write=True)
        data = await self._body(request)
        if "title" not in data:
            raise _invalid_request('"title" wasn\'t supplied.')
        title = _scalar_text(data["title"], "title")
        body = _optional_text(data, "body")
        _check_lengths(title=title, body=body)
        if data.get("milestone") is not None:
            raise _validation_failed(
                {
                    "resource": "Issue",
                    "code": "invalid",
                    "field": "milestone",
                    "value": data["milestone"],
                }
            )
        labels = _label_names(_string_list(data, "labels", allow_objects=True))
        assignees = _string_list(data, "assignees")
        if data.get("assignee"):
            assignees.append(_scalar_text(data["assignee"], "assignee"))
        with self.lock:
            repo = access.repo
            if not repo.has_push_access(access.user.login):
                labels, assignees = [], []  # GitHub silently drops them
            self._require_assignable(repo, assignees, field="assignees")
            issue = self._open(repo, title, body, access.user, labels, assignees, None)
            location = {"Location": self.api(f"/repos/{repo.full_name}/issues/{issue.number}")}
            return JSONResponse(self.issue_json(repo, issue), 201, location)

    async def update_issue(self, request: Request) -> Response:
        access = self._access(request, write=True)
        data = await self._body(request)
        with self.lock:
            repo, issue = access.repo, self._issue(access.repo, request)
            if not (repo.has_push_access(access.user.login) or issue.user == access.user):
                raise EmulatorError(403, "Must have push access to update this issue.")
            self._apply_update(repo, issue, data, access.user)
            return JSONResponse(self.issue_json(repo, issue), 200)

    async def create_comment(self, request: Request) -> Response:
        access = self._access(request, write=True)
        data = await self._body(request)
        if "body" not in data:
            raise _invalid_request('"body" wasn\'t supplied.')
        text = _scalar_text(data["body"], "body", integer_ok=False)
        if not text.strip():
            raise _validation_failed(
                {"resource": "IssueComment", "code": "missing_field", "field": "body"}
            )
        if len(text) > MAX_BODY_LENGTH:
            raise _validation_failed(_too_long("IssueComment", "body", MAX_BODY_LENGTH))
        with self.lock:
            repo, issue = access.repo, self._issue(access.repo, request)
            if issue.locked and not repo.has_push_access(access.user.login):
                raise EmulatorError(403, "Unable to create comment because issue is locked.")
            comment = Comment(id=next(self._ids), body=text, user=access.user, created_at=_now())
            issue.comments.append(comment)
            issue.updated_at = comment.created_at
            url = self.api(f"/repos/{repo.full_name}/issues/comments/{comment.id}")
            return JSONResponse(self.comment_json(repo, issue, comment), 201, {"Location": url})

    async def add_labels(self, request: Request) -> Response:
        access = self._access(request, write=True)
        data = await self._body(request, allow_array=True)
        items = data if isinstance(data, list) else data.get("labels")
        if not isinstance(items, list) or not items:
            raise _invalid_request("For 'properties/labels', a non-empty array is required.")
        names = _label_names(_string_list({"labels": items}, "labels", allow_objects=True))
        with self.lock:
            repo, issue = access.repo, self._issue(access.repo, request)
            if not repo.has_push_access(access.user.login):
                raise EmulatorError(403, "Must have push access to add labels.")
            for name in names:
                label = self._label(repo, name)
                if label not in issue.labels:
                    issue.labels.append(label)
            issue.updated_at = _now()
            return JSONResponse([self.label_json(repo, label) for label in issue.labels], 200)

    async def list_pulls(self, request: Request) -> Response:
        access = self._access(request, write=False)
        query = request.query_params
        state = _choice(query, "state", ("open", "closed", "all"), "open")
        sort = _choice(
            query, "sort", ("created", "updated", "popularity", "long-running"), "created"
        )
        default_direction = "desc" if sort == "created" else "asc"
        direction = _choice(query, "direction", ("asc", "desc"), default_direction)
        with self.lock:
            repo = access.repo
            pulls = [
                issue
                for issue in repo.issues.values()
                if issue.pull is not None
                and state in ("all", issue.state)
                and query.get("base") in (None, issue.pull.base)
                and query.get("head") in (None, f"{issue.user.login}:{issue.pull.head}")
            ]
            pulls.sort(key=_sort_key(sort), reverse=direction == "desc")
            page, link = _paginate(request, pulls)
            return JSONResponse([self.pull_json(repo, pull) for pull in page], 200, link)

    async def web_page(self, request: Request) -> Response:
        """The html_url of an issue or pull request, so links shown in Slack resolve."""
        repo = self.repos.get(
            f"{request.path_params['owner']}/{request.path_params['repo']}".lower()
        )
        issue = (
            repo.issues.get(request.path_params["number"]) if repo and not repo.private else None
        )
        if issue is None:
            return HTMLResponse("<h1>404</h1>", 404)
        title = html.escape(issue.title)
        labels = html.escape(", ".join(issue.label_names()))
        page = (
            f"<!doctype html><title>{title} · #{issue.number}</title>"
            f"<h1>{title} <span>#{issue.number}</span></h1><p>{issue.state} · {labels}</p>"
            f"<pre>{html.escape(issue.body or '')}</pre>"
        )
        return HTMLResponse(page)

    # --- request handling helpers -------------------------------------------------------

    def _access(self, request: Request, *, write: bool) -> _Access:
        """Check headers, token, rate limit, visibility and scopes, as GitHub does."""
        grant, user = self._caller(request)
        with self.lock:
            name = f"{request.path_params['owner']}/{request.path_params['repo']}"
            repo = self.repos.get(name.lower())
            if repo is None or not repo.can_see(user.login):
                raise EmulatorError(404, "Not Found")
        accepted = ("repo",) if repo.private or not write else ("repo", "public_repo")
        request.state.accepted_scopes = ", ".join(accepted)
        needs_scope = repo.private or write
        if needs_scope and grant.scopes is not None and not grant.scopes & set(accepted):
            raise EmulatorError(403, "Resource not accessible by personal access token")
        return _Access(repo=repo, user=user)

    def _caller(self, request: Request) -> tuple[Grant, User]:
        """Check headers, token and rate limit; the token's grant and user."""
        if not request.headers.get("user-agent"):
            raise EmulatorError(
                403,
                "Request forbidden by administrative rules. "
                "Please make sure your request has a User-Agent header.",
            )
        version = request.headers.get("x-github-api-version")
        if version is not None and version not in SUPPORTED_API_VERSIONS:
            raise EmulatorError(400, f"API version {version} is not supported.")
        grant = self._grant(request)
        with self.lock:
            user = self.user(grant.user)
            self._spend_rate_limit(user)
        return grant, user

    def _grant(self, request: Request) -> Grant:
        grant = self.bearer_grant(request)
        request.state.granted_scopes = (
            "repo, public_repo" if grant.scopes is None else ", ".join(sorted(grant.scopes))
        )
        return grant

    def _spend_rate_limit(self, user: User) -> None:
        self.rate_limit.refresh()
        if self.rate_limit.remaining <= 0:
            raise EmulatorError(403, f"API rate limit exceeded for user ID {user.id}.")
        self.rate_limit.remaining -= 1

    async def _body(self, request: Request, *, allow_array: bool = False) -> Any:
        raw = await request.body()
        try:
            data = json.loads(raw) if raw else {}
        except ValueError as exc:
            raise EmulatorError(400, "Problems parsing JSON") from exc
        if isinstance(data, dict) or (allow_array and isinstance(data, list)):
            return data
        raise _invalid_request(f"For 'links/0/schema', {json.dumps(data)} is not an object.")

    def _issue(self, repo: Repo, request: Request) -> Issue:
        issue = repo.issues.get(request.path_params["number"])
        if issue is None:
            raise EmulatorError(404, "Not Found")
        return issue

    def _require_assignable(self, repo: Repo, logins: list[str], *, field: str) -> None:
        unknown = [login for login in logins if not repo.has_push_access(login)]
        if unknown:
            raise _validation_failed(
                {
                    "resource": "Issue",
                    "code": "invalid",
                    "field": field,
                    "value": unknown[0],
                    "message": f"{field} {', '.join(unknown)} cannot be assigned to this issue",
                }
            )

    def _label(self, repo: Repo, name: str) -> Label:
        """The repository's label `name` (case-insensitive), created if new."""
        key = name.lower()
        if key not in repo.labels:
            repo.labels[key] = Label(id=next(self._ids), name=name)
        return repo.labels[key]

    def _open(
        self,
        repo: Repo,
        title: str,
        body: str | None,
        user: User,
        labels: Iterable[str],
        assignees: Iterable[str],
        created_at: datetime | None,
    ) -> Issue:
        moment = created_at or _now()
        number = max(repo.issues, default=0) + 1
        issue = Issue(
            number=number,
            id=next(self._ids),
            title=title,
            body=body,
            user=user,
            labels=[self._label(repo, name) for name in dict.fromkeys(labels)],
            assignees=[self.user(login) for login in dict.fromkeys(assignees)],
            created_at=moment,
            updated_at=moment,
        )
        repo.issues[number] = issue
        return issue

    def _apply_update(self, repo: Repo, issue: Issue, data: dict[str, Any], user: User) -> None:
        if "title" in data and data["title"] is not None:
            issue.title = _scalar_text(data["title"], "title")
        if "body" in data:
            issue.body = (
                None
                if data["body"] is None
                else _scalar_text(data["body"], "body", integer_ok=False)
            )
        _check_lengths(title=issue.title, body=issue.body)
        if "labels" in data:
            names = _label_names(_string_list(data, "labels", allow_objects=True))
            issue.labels = [self._label(repo, name) for name in dict.fromkeys(names)]
        if "assignees" in data:
            logins = _string_list(data, "assignees")
            self._require_assignable(repo, logins, field="assignees")
            issue.assignees = [self.user(login) for login in dict.fromkeys(logins)]
        state = data.get("state", issue.state)
        reason = data.get("state_reason")
        if state not in ("open", "closed"):
            raise _validation_failed(
                {"resource": "Issue", "code": "invalid", "field": "state", "value": state}
            )
        if reason not in (None, "completed", "not_planned", "duplicate", "reopened"):
            raise _validation_failed(
                {"resource": "Issue", "code": "invalid", "field": "state_reason", "value": reason}
            )
        if state != issue.state:
            issue.state = state
            issue.closed_at = _now() if state == "closed" else None
            issue.closed_by = user if state == "closed" else None
            issue.state_reason = reason or ("completed" if state == "closed" else "reopened")
        elif reason is not None and state == "closed":
            issue.state_reason = reason
        issue.updated_at = _now()

    # --- JSON shapes --------------------------------------------------------------------

    def api(self, path: str) -> str:
        return f"{self.url}{path}"

    def web(self, path: str) -> str:
        return f"{self.url}{path}"

    def user_json(self, user: User) -> dict[str, Any]:
        api = self.api(f"/users/{user.login}")
        return {
            "login": user.login,
            "id": user.id,
            "node_id": _node_id("User", user.id),
            "avatar_url": self.web(f"/avatars/u/{user.id}"),
            "gravatar_id": "",
            "url": api,
            "html_url": self.web(f"/{user.login}"),
            "followers_url": f"{api}/followers",
            "following_url": f"{api}/following{{/other_user}}",
            "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/subscriptions",
            "organizations_url": f"{api}/orgs",
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events{{/privacy}}",
            "received_events_url": f"{api}/received_events",
            "type": "User",
            "user_view_type": "public",
            "site_admin": False,
        }

    def label_json(self, repo: Repo, label: Label) -> dict[str, Any]:
        return {
            "id": label.id,
            "node_id": _node_id("Label", label.id),
            "url": self.api(f"/repos/{repo.full_name}/labels/{quote(label.name)}"),
            "name": label.name,
            "description": label.description,
            "color": label.color,
            "default": label.default,
        }

    def repo_json(self, repo: Repo) -> dict[str, Any]:
        api = self.api(f"/repos/{repo.full_name}")
        web = self.web(f"/{repo.full_name}")
        open_issues = sum(1 for issue in repo.issues.values() if issue.state == "open")
        return {
            "id": repo.id,
            "node_id": _node_id("Repository", repo.id),
            "name": repo.name,
            "full_name": repo.full_name,
            "owner": self.user_json(repo.owner),
            "private": repo.private,
            "html_url": web,
            "description": None,
            "fork": False,
            "url": api,
            **{key: api + suffix for key, suffix in _REPO_URL_SUFFIXES.items()},
            "git_url": f"git://{web.split('://', 1)[1]}.git",
            "ssh_url": f"git@emulator:{repo.full_name}.git",
            "clone_url": f"{web}.git",
            "svn_url": web,
            "mirror_url": None,
            "homepage": None,
            "language": None,
            "forks": 0,
            "forks_count": 0,
            "stargazers_count": 0,
            "watchers_count": 0,
            "watchers": 0,
            "size": 0,
            "default_branch": repo.default_branch,
            "open_issues": open_issues,
            "open_issues_count": open_issues,
            "has_issues": True,
            "has_projects": True,
            "has_wiki": True,
            "has_pages": False,
            "has_downloads": True,
            "archived": False,
            "disabled": False,
            "visibility": "private" if repo.private else "public",
            "license": None,
            "pushed_at": _timestamp(repo.created_at),
            "created_at": _timestamp(repo.created_at),
            "updated_at": _timestamp(repo.created_at),
        }

    def issue_json(self, repo: Repo, issue: Issue) -> dict[str, Any]:
        api = self.api(f"/repos/{repo.full_name}/issues/{issue.number}")
        kind = "pull" if issue.pull else "issues"
        data: dict[str, Any] = {
            "id": issue.id,
            "node_id": _node_id("Issue", issue.id),
            "url": api,
            "repository_url": self.api(f"/repos/{repo.full_name}"),
            "labels_url": f"{api}/labels{{/name}}",
            "comments_url": f"{api}/comments",
            "events_url": f"{api}/events",
            "timeline_url": f"{api}/timeline",
            "html_url": self.web(f"/{repo.full_name}/{kind}/{issue.number}"),
            "number": issue.number,
            "state": issue.state,
            "state_reason": issue.state_reason,
            "title": issue.title,
            "body": issue.body,
            "user": self.user_json(issue.user),
            "labels": [self.label_json(repo, label) for label in issue.labels],
            "assignee": self.user_json(issue.assignees[0]) if issue.assignees else None,
            "assignees": [self.user_json(user) for user in issue.assignees],
            "milestone": None,
            "locked": issue.locked,
            "active_lock_reason": None,
            "comments": len(issue.comments),
            "closed_at": _timestamp(issue.closed_at),
            "created_at": _timestamp(issue.created_at),
            "updated_at": _timestamp(issue.updated_at),
            "closed_by": self.user_json(issue.closed_by) if issue.closed_by else None,
            "author_association": self._association(repo, issue.user),
            "reactions": _reactions(api),
        }
        if issue.pull:
            pull_api = self.api(f"/repos/{repo.full_name}/pulls/{issue.number}")
            data["draft"] = issue.pull.draft
            data["pull_request"] = {
                "url": pull_api,
                "html_url": data["html_url"],
                "diff_url": data["html_url"] + ".diff",
                "patch_url": data["html_url"] + ".patch",
                "merged_at": None,
            }
        return data

    def comment_json(self, repo: Repo, issue: Issue, comment: Comment) -> dict[str, Any]:
        api = self.api(f"/repos/{repo.full_name}/issues/comments/{comment.id}")
        kind = "pull" if issue.pull else "issues"
        return {
            "id": comment.id,
            "node_id": _node_id("IssueComment", comment.id),
            "url": api,
            "html_url": self.web(
                f"/{repo.full_name}/{kind}/{issue.number}#issuecomment-{comment.id}"
            ),
            "issue_url": self.api(f"/repos/{repo.full_name}/issues/{issue.number}"),
            "body": comment.body,
            "user": self.user_json(comment.user),
            "created_at": _timestamp(comment.created_at),
            "updated_at": _timestamp(comment.created_at),
            "author_association": self._association(repo, comment.user),
            "reactions": _reactions(api),
        }

    def pull_json(self, repo: Repo, issue: Issue) -> dict[str, Any]:
        """A `pull-request-simple`, as `GET /repos/{owner}/{repo}/pulls` lists them."""
        assert issue.pull is not None
        api = self.api(f"/repos/{repo.full_name}/pulls/{issue.number}")
        issue_api = self.api(f"/repos/{repo.full_name}/issues/{issue.number}")
        html_url = self.web(f"/{repo.full_name}/pull/{issue.number}")
        statuses = self.api(f"/repos/{repo.full_name}/statuses/{issue.pull.sha}")
        links = {
            "self": api,
            "html": html_url,
            "issue": issue_api,
            "comments": f"{issue_api}/comments",
            "review_comments": f"{api}/comments",
            "review_comment": self.api(f"/repos/{repo.full_name}/pulls/comments{{/number}}"),
            "commits": f"{api}/commits",
            "statuses": statuses,
        }
        return {
            "url": api,
            "id": issue.id,
            "node_id": _node_id("PullRequest", issue.id),
            "html_url": html_url,
            "diff_url": f"{html_url}.diff",
            "patch_url": f"{html_url}.patch",
            "issue_url": issue_api,
            "commits_url": links["commits"],
            "review_comments_url": links["review_comments"],
            "review_comment_url": links["review_comment"],
            "comments_url": links["comments"],
            "statuses_url": statuses,
            "number": issue.number,
            "state": issue.state,
            "locked": issue.locked,
            "title": issue.title,
            "user": self.user_json(issue.user),
            "body": issue.body,
            "labels": [self.label_json(repo, label) for label in issue.labels],
            "milestone": None,
            "active_lock_reason": None,
            "created_at": _timestamp(issue.created_at),
            "updated_at": _timestamp(issue.updated_at),
            "closed_at": _timestamp(issue.closed_at),
            "merged_at": None,
            "merge_commit_sha": None,
            "assignee": self.user_json(issue.assignees[0]) if issue.assignees else None,
            "assignees": [self.user_json(user) for user in issue.assignees],
            "requested_reviewers": [],
            "requested_teams": [],
            "head": self._branch(repo, issue.user, issue.pull.head, issue.pull.sha),
            "base": self._branch(repo, repo.owner, issue.pull.base, secrets.token_hex(20)),
            "_links": {name: {"href": href} for name, href in links.items()},
            "author_association": self._association(repo, issue.user),
            "auto_merge": None,
            "draft": issue.pull.draft,
        }

    def pull_full_json(self, repo: Repo, issue: Issue) -> dict[str, Any]:
        """A full `pull-request` (what webhook deliveries carry)."""
        return self.pull_json(repo, issue) | {
            "merged": False,
            "mergeable": None,
            "mergeable_state": "unknown",
            "merged_by": None,
            "comments": len(issue.comments),
            "review_comments": 0,
            "maintainer_can_modify": False,
            "commits": 1,
            "additions": 0,
            "deletions": 0,
            "changed_files": 0,
        }

    def _branch(self, repo: Repo, user: User, ref: str, sha: str) -> dict[str, Any]:
        return {
            "label": f"{user.login}:{ref}",
            "ref": ref,
            "sha": sha,
            "user": self.user_json(user),
            "repo": self.repo_json(repo),
        }

    def _association(self, repo: Repo, user: User) -> str:
        if user == repo.owner:
            return "OWNER"
        return "COLLABORATOR" if user.login in repo.collaborators else "NONE"


class _GitHubHeaders:
    """Adds the headers api.github.com puts on every response: the rate-limit budget,
    the media type, the API version, and the token's / endpoint's OAuth scopes."""

    def __init__(self, app: ASGIApp, emulator: GitHubEmulator) -> None:
        self.app = app
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        state: dict[str, Any] = scope.setdefault("state", {})

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = self.emulator.rate_limit.headers() | {
                    "X-GitHub-Media-Type": "github.v3; format=json",
                    "X-GitHub-Api-Version-Selected": SUPPORTED_API_VERSIONS[0],
                    "X-OAuth-Scopes": state.get("granted_scopes", ""),
                    "X-Accepted-OAuth-Scopes": state.get("accepted_scopes", ""),
                }
                headers = list(message.get("headers", []))
                headers += [(k.lower().encode(), v.encode()) for k, v in extra.items()]
                message = {**message, "headers": headers}
            await send(message)

        return await self.app(scope, receive, send_with_headers)


# --- small pure helpers --------------------------------------------------------------


def _choice(query: Any, name: str, allowed: tuple[str, ...], default: str) -> str:
    value = query.get(name, default)
    if value not in allowed:
        raise _validation_failed(
            {"resource": "Issue", "code": "invalid", "field": name, "value": value}
        )
    return value


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    moment = parse_iso(value)
    if moment is None:
        raise _validation_failed(
            {"resource": "Issue", "code": "invalid", "field": "since", "value": value}
        )
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _reactions(api: str) -> dict[str, Any]:
    kinds = ("+1", "-1", "laugh", "confused", "heart", "hooray", "eyes", "rocket")
    return {"url": f"{api}/reactions", "total_count": 0, **dict.fromkeys(kinds, 0)}


def _assigned(issue: Issue, assignee: str | None) -> bool:
    if assignee is None:
        return True
    if assignee == "none":
        return not issue.assignees
    if assignee == "*":
        return bool(issue.assignees)
    return assignee in {user.login for user in issue.assignees}


def _sort_key(sort: str) -> Callable[[Issue], tuple[Any, int]]:
    if sort == "updated":
        return lambda issue: (issue.updated_at, issue.number)
    if sort == "comments":
        return lambda issue: (len(issue.comments), issue.number)
    return lambda issue: (issue.created_at, issue.number)


def _paginate(request: Request, items: list[Any]) -> tuple[list[Any], dict[str, str]]:
    """GitHub's `per_page` (default 30, at most 100) / `page` slicing and Link header."""
    per_page = min(100, max(1, _int_param(request, "per_page", 30)))
    page = max(1, _int_param(request, "page", 1))
    last = max(1, math.ceil(len(items) / per_page))
    chosen = items[(page - 1) * per_page : page * per_page]
    targets = {"prev": page - 1, "next": page + 1, "last": last, "first": 1}
    relations = (["prev", "first"] if page > 1 else []) + (["next", "last"] if page < last else [])
    links = [
        f'<{request.url.include_query_params(page=targets[rel], per_page=per_page)}>; rel="{rel}"'
        for rel in relations
    ]
    return chosen, ({"Link": ", ".join(links)} if links else {})


def _int_param(request: Request, name: str, default: int) -> int:
    try:
        return int(request.query_params.get(name, default))
    except ValueError:
        return default


def _scalar_text(value: Any, name: str, *, integer_ok: bool = True) -> str:
    if isinstance(value, str):
        return value
    if integer_ok and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise _invalid_request(f"For 'properties/{name}', {json.dumps(value)} is not a string.")


def _optional_text(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    return None if value is None else _scalar_text(value, name, integer_ok=False)


def _string_list(data: dict[str, Any], name: str, *, allow_objects: bool = False) -> list[Any]:
    value = data.get(name) or []
    if not isinstance(value, list):
        raise _invalid_request(f"For 'properties/{name}', {json.dumps(value)} is not an array.")
    for item in value:
        if not (isinstance(item, str) or (allow_objects and isinstance(item, dict))):
            raise _invalid_request(
                f"For 'items', {json.dumps(item)} is not a string"
                + (" or an object." if allow_objects else ".")
            )
    return list(value)


def _label_names(items: list[Any]) -> list[str]:
    names = [item if isinstance(item, str) else str(item.get("name", "")) for item in items]
    for name in names:
        if not name.strip():
            raise _validation_failed(
                {"resource": "Label", "code": "missing_field", "field": "name"}
            )
        if len(name) > MAX_LABEL_NAME_LENGTH:
            raise _validation_failed(_too_long("Label", "name", MAX_LABEL_NAME_LENGTH))
    return names


def _check_lengths(*, title: str, body: str | None) -> None:
    if not title.strip():
        raise _validation_failed({"resource": "Issue", "code": "missing_field", "field": "title"})
    if len(title) > MAX_TITLE_LENGTH:
        raise _validation_failed(_too_long("Issue", "title", MAX_TITLE_LENGTH))
    if body is not None and len(body) > MAX_BODY_LENGTH:
        raise _validation_failed(_too_long("Issue", "body", MAX_BODY_LENGTH))


def _too_long(resource: str, name: str, maximum: int) -> dict[str, Any]:
    return {
        "resource": resource,
        "code": "custom",
        "field": name,
        "message": f"{name} is too long (maximum is {maximum} characters)",
    }
