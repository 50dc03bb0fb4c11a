"""GitHub (REST API v3): issues, comments and labels; new issues and pull requests.

Every request carries `Authorization: Bearer`, `Accept: application/vnd.github+json` and
`X-GitHub-Api-Version`; lists follow the `Link` header. Both events can be polled (the
newest items first; the cursor is the highest issue/PR number seen, which GitHub
allocates in one increasing sequence per repository) or delivered by a repository
webhook (`issues` / `pull_request` deliveries with action "opened", verified with
`X-Hub-Signature-256`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

import httpx
from pydantic import BaseModel, ConfigDict, Field

from connectors.base import (
    ActionContext,
    Connector,
    Credentials,
    EventItem,
    OAuth2Auth,
    PollResult,
    WebhookRejected,
    WebhookRequest,
    bearer,
    read_error_message,
)

API_VERSION = "2022-11-28"
MEDIA_TYPE = "application/vnd.github+json"
REPO_SCOPES = ("repo",)
POLL_MAX_PAGES = 5  # after a long outage, at most this many pages of new items per poll


def sign_github(request: httpx.Request, credentials: Credentials) -> None:
    bearer(request, credentials)
    request.headers["Accept"] = MEDIA_TYPE
    request.headers["X-GitHub-Api-Version"] = API_VERSION
    request.headers["User-Agent"] = "atom-chatops"  # GitHub rejects requests without one


_ERROR_CODES = {
    "missing": "does not exist",
    "missing_field": "is required",
    "invalid": "is invalid",
    "already_exists": "already exists",
    "unprocessable": "could not be processed",
}


def read_github_error(response: httpx.Response) -> str:
    """GitHub's message, with each 422 `errors[]` entry spelled out
    ("Validation Failed: assignees 'nobody' is invalid")."""
    try:
        body = response.json()
    except ValueError:
        body = None
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list) or not errors:
        return read_error_message(response)
    return f"{body.get('message', 'Validation Failed')}: " + "; ".join(
        _describe_error(error) for error in errors
    )


def _describe_error(error: Any) -> str:
    if not isinstance(error, dict):
        return str(error)
    if error.get("message"):
        return str(error["message"])
    subject = str(error.get("field") or error.get("resource") or "input")
    if "value" in error:
        subject += f" {error['value']!r}"
    code = str(error.get("code", "invalid"))
    return f"{subject} {_ERROR_CODES.get(code, code.replace('_', ' '))}"


connector = Connector(
    name="github",
    title="GitHub",
    description="Issues, comments and labels in GitHub repositories; new issues and PRs.",
    auth=OAuth2Auth(
        authorize_url="https://github.com/login/oauth/authorize",
        token_url="https://github.com/login/oauth/access_token",
        client_id_setting="github_client_id",
        client_secret_setting="github_client_secret",
    ),
    base_url_setting="github_base_url",
    sign_request=sign_github,
    read_error=read_github_error,
)


# --- models --------------------------------------------------------------------------

RepoName = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$",
        description='The repository as "owner/name", e.g. "acme/api".',
        examples=["acme/api"],
    ),
]
IssueNumber = Annotated[int, Field(ge=1, description="The issue (or pull request) number.")]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Numbered(BaseModel):
    """What issues and pull requests share (GitHub numbers both in one sequence)."""

    repo: str = Field(description='"owner/name" of the repository.')
    number: int
    title: str
    body: str | None = None
    state: Literal["open", "closed"]
    url: str = Field(description="Web link to it (the same as html_url).")
    html_url: str
    labels: list[str] = Field(description="Label names.")
    author: str | None = Field(description="Login of the person who opened it.")
    created_at: datetime


class Issue(_Numbered):
    assignees: list[str] = Field(description="Logins of the assignees.")
    comments: int = 0
    closed_at: datetime | None = None


class PullRequest(_Numbered):
    head: str = Field(description="The branch with the changes.")
    base: str = Field(description="The branch the changes would be merged into.")
    draft: bool = False


class Repository(BaseModel):
    full_name: str
    html_url: str


class CreateIssueInput(_Input):
    repo: RepoName
    title: str = Field(min_length=1, description="The issue's title.")
    body: str | None = Field(None, description="The issue's text (Markdown).")
    labels: list[str] = Field(default_factory=list, description="Label names to apply.")
    assignees: list[str] = Field(default_factory=list, description="Logins to assign.")


class CommentInput(_Input):
    repo: RepoName
    issue_number: IssueNumber
    body: str = Field(min_length=1, description="The comment (Markdown).")


class Comment(BaseModel):
    repo: str
    issue_number: int
    id: int
    url: str = Field(description="Web link to the comment.")
    body: str
    author: str | None
    created_at: datetime


class AddLabelsInput(_Input):
    repo: RepoName
    issue_number: IssueNumber
    labels: list[str] = Field(min_length=1, description="Label names to add (created if new).")


class IssueLabels(BaseModel):
    repo: str
    issue_number: int
    labels: list[str] = Field(description="Every label now on the issue.")


class CloseIssueInput(_Input):
    repo: RepoName
    issue_number: IssueNumber
    reason: Literal["completed", "not_planned"] = Field(
        "completed", description="Why it is closed."
    )
    comment: str | None = Field(None, description="A comment to post before closing.")


class ListIssuesInput(_Input):
    repo: RepoName
    state: Literal["open", "closed", "all"] = Field("open", description="Which issues to list.")
    labels: list[str] = Field(
        default_factory=list, description="Only issues carrying all these labels."
    )
    assignee: str | None = Field(
        None, description='Only issues assigned to this login ("none": unassigned).'
    )
    limit: int = Field(30, ge=1, le=500, description="At most this many issues, newest first.")


class IssueList(BaseModel):
    repo: str
    issues: list[Issue]
    count: int


class RepoTrigger(_Input):
    repo: RepoName


class IssueOpened(BaseModel):
    issue: Issue
    repository: Repository
    sender: str | None = Field(description="Login of who opened it.")


class PullRequestOpened(BaseModel):
    pull_request: PullRequest
    repository: Repository
    sender: str | None


# --- conversions from GitHub's JSON --------------------------------------------------


def _login(user: Any) -> str | None:
    return user.get("login") if isinstance(user, dict) else None


def _label_names(raw: list[Any]) -> list[str]:
    return [label["name"] if isinstance(label, dict) else str(label) for label in raw]


def _numbered(repo: str, raw: dict[str, Any]) -> dict[str, Any]:
    """The `_Numbered` fields of an issue or pull request as GitHub sends it."""
    return {
        "repo": repo,
        "number": raw["number"],
        "title": raw["title"],
        "body": raw.get("body"),
        "state": raw["state"],
        "url": raw["html_url"],
        "html_url": raw["html_url"],
        "labels": _label_names(raw.get("labels", [])),
        "author": _login(raw.get("user")),
        "created_at": raw["created_at"],
    }


def _issue(repo: str, raw: dict[str, Any]) -> Issue:
    return Issue(
        **_numbered(repo, raw),
        assignees=[login for u in raw.get("assignees") or [] if (login := _login(u))],
        comments=raw.get("comments", 0),
        closed_at=raw.get("closed_at"),
    )


def _pull_request(repo: str, raw: dict[str, Any]) -> PullRequest:
    return PullRequest(
        **_numbered(repo, raw),
        head=raw["head"]["ref"],
        base=raw["base"]["ref"],
        draft=bool(raw.get("draft")),
    )


def _repository_of(html_url: str, repo: str) -> Repository:
    """The repository of an issue/PR web link (`…/owner/name/issues/7`)."""
    return Repository(full_name=repo, html_url=html_url.rsplit("/", 2)[0])


def _delivered_repository(payload: dict[str, Any]) -> Repository:
    raw = payload["repository"]
    return Repository(full_name=raw["full_name"], html_url=raw["html_url"])


# --- actions -------------------------------------------------------------------------


@connector.action(scopes=REPO_SCOPES, idempotent=False)
async def create_issue(ctx: ActionContext, data: CreateIssueInput) -> Issue:
    """Open a new issue in a repository."""
    body = data.model_dump(exclude={"repo"}, exclude_none=True)
    raw = await ctx.http.json("POST", f"/repos/{data.repo}/issues", json=body, idempotent=False)
    return _issue(data.repo, raw)


@connector.action(scopes=REPO_SCOPES, idempotent=False)
async def comment_on_issue(ctx: ActionContext, data: CommentInput) -> Comment:
    """Add a comment to an issue or pull request."""
    return await _comment(ctx, data.repo, data.issue_number, data.body)


@connector.action(scopes=REPO_SCOPES, idempotent=True)
async def add_labels(ctx: ActionContext, data: AddLabelsInput) -> IssueLabels:
    """Add labels to an issue or pull request (keeping the ones it has)."""
    raw = await ctx.http.json(
        "POST",
        f"/repos/{data.repo}/issues/{data.issue_number}/labels",
        json={"labels": data.labels},
        idempotent=True,
    )
    return IssueLabels(repo=data.repo, issue_number=data.issue_number, labels=_label_names(raw))


@connector.action(scopes=REPO_SCOPES, idempotent=False)
async def close_issue(ctx: ActionContext, data: CloseIssueInput) -> Issue:
    """Close an issue, optionally posting a closing comment first."""
    if data.comment:
        await _comment(ctx, data.repo, data.issue_number, data.comment)
    raw = await ctx.http.json(
        "PATCH",
        f"/repos/{data.repo}/issues/{data.issue_number}",
        json={"state": "closed", "state_reason": data.reason},
        idempotent=True,
    )
    return _issue(data.repo, raw)


@connector.action(scopes=REPO_SCOPES, idempotent=True)
async def list_issues(ctx: ActionContext, data: ListIssuesInput) -> IssueList:
    """List a repository's issues (not pull requests), newest first."""
    params: dict[str, Any] = {"state": data.state, "sort": "created", "direction": "desc"}
    if data.labels:
        params["labels"] = ",".join(data.labels)
    if data.assignee:
        params["assignee"] = data.assignee
    issues: list[Issue] = []
    async for raw in _items(ctx, f"/repos/{data.repo}/issues", params):
        if "pull_request" not in raw:
            issues.append(_issue(data.repo, raw))
        if len(issues) == data.limit:
            break
    return IssueList(repo=data.repo, issues=issues, count=len(issues))


async def _comment(ctx: ActionContext, repo: str, number: int, text: str) -> Comment:
    raw = await ctx.http.json(
        "POST", f"/repos/{repo}/issues/{number}/comments", json={"body": text}, idempotent=False
    )
    return Comment(
        repo=repo,
        issue_number=number,
        id=raw["id"],
        url=raw["html_url"],
        body=raw["body"],
        author=_login(raw.get("user")),
        created_at=raw["created_at"],
    )


async def _items(
    ctx: ActionContext, path: str, params: dict[str, Any], *, max_pages: int | None = None
) -> AsyncIterator[dict[str, Any]]:
    """Every item of a paginated list, following `Link: <…>; rel="next"` (only to the
    API's own origin, so the token never leaves it)."""
    url: str | None = path
    query: dict[str, Any] | None = {"per_page": 100, **params}
    pages = 0
    while url is not None and (max_pages is None or pages < max_pages):
        response = await ctx.http.request("GET", url, params=query, idempotent=True)
        pages += 1
        for item in response.json():
            yield item
        next_url = response.links.get("next", {}).get("url")
        url = next_url if next_url and next_url.startswith(ctx.http.base_url + "/") else None
        query = None  # the next link carries the query


# --- events --------------------------------------------------------------------------


def _cursor_number(cursor: str) -> int | None:
    return int(cursor) if cursor.isdigit() else None


async def _poll_newest(
    ctx: ActionContext,
    repo: str,
    cursor: str | None,
    kind: Literal["issues", "pulls"],
    to_item: Callable[[dict[str, Any]], EventItem | None],
) -> PollResult:
    """Items numbered above the cursor, oldest first. The first poll (no cursor, or one
    that cannot be read) only records the newest number: no backfill of old items."""
    path = f"/repos/{repo}/{kind}"
    params = {"state": "all", "sort": "created", "direction": "desc"}
    seen = _cursor_number(cursor) if cursor is not None else None
    if seen is None:
        newest = await ctx.http.json("GET", path, params={**params, "per_page": 1}, idempotent=True)
        return PollResult(items=[], cursor=str(newest[0]["number"] if newest else 0))
    fresh: list[dict[str, Any]] = []
    async for raw in _items(ctx, path, params, max_pages=POLL_MAX_PAGES):
        if raw["number"] <= seen:
            break
        fresh.append(raw)
    items = [item for raw in reversed(fresh) if (item := to_item(raw)) is not None]
    return PollResult(items=items, cursor=str(max([seen, *(raw["number"] for raw in fresh)])))


def _issue_item(
    repo: str, raw: dict[str, Any], repository: Repository | None = None, sender: str | None = None
) -> EventItem:
    issue = _issue(repo, raw)
    payload = IssueOpened(
        issue=issue,
        repository=repository or _repository_of(issue.html_url, repo),
        sender=sender or issue.author,
    )
    return EventItem(id=str(raw["id"]), payload=payload.model_dump(mode="json"))


def _pull_item(
    repo: str, raw: dict[str, Any], repository: Repository | None = None, sender: str | None = None
) -> EventItem:
    pull = _pull_request(repo, raw)
    payload = PullRequestOpened(
        pull_request=pull,
        repository=repository or _repository_of(pull.html_url, repo),
        sender=sender or pull.author,
    )
    return EventItem(id=str(raw["id"]), payload=payload.model_dump(mode="json"))


async def poll_issues_opened(
    ctx: ActionContext, config: RepoTrigger, cursor: str | None
) -> PollResult:
    def to_item(raw: dict[str, Any]) -> EventItem | None:
        return None if "pull_request" in raw else _issue_item(config.repo, raw)

    return await _poll_newest(ctx, config.repo, cursor, "issues", to_item)


async def poll_pull_requests_opened(
    ctx: ActionContext, config: RepoTrigger, cursor: str | None
) -> PollResult:
    return await _poll_newest(
        ctx, config.repo, cursor, "pulls", lambda raw: _pull_item(config.repo, raw)
    )


def verified_delivery(request: WebhookRequest, secret: str | None) -> dict[str, Any]:
    """The JSON payload of a delivery whose X-Hub-Signature-256 matches `secret`."""
    if not secret:
        raise WebhookRejected(
            "GitHub webhooks need a secret: set ATOM_GITHUB_WEBHOOK_SECRET and use the same "
            "value in the repository's webhook settings.",
            service="github",
        )
    expected = "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(request.headers.get("x-hub-signature-256", ""), expected):
        raise WebhookRejected(
            "GitHub webhook signature (X-Hub-Signature-256) does not match the configured secret.",
            service="github",
        )
    body = request.body
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        body = parse_qs(body.decode()).get("payload", [""])[0].encode()
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise WebhookRejected("GitHub webhook body is not JSON.", service="github") from exc
    if not isinstance(payload, dict):
        raise WebhookRejected("GitHub webhook body is not a JSON object.", service="github")
    return payload


def _opened(request: WebhookRequest, secret: str | None, event: str) -> dict[str, Any] | None:
    payload = verified_delivery(request, secret)
    is_event = request.headers.get("x-github-event") == event
    return payload if is_event and payload.get("action") == "opened" else None


def issue_opened_webhook(request: WebhookRequest, secret: str | None) -> list[EventItem]:
    payload = _opened(request, secret, "issues")
    if payload is None:
        return []
    repository = _delivered_repository(payload)
    sender = _login(payload.get("sender"))
    return [_issue_item(repository.full_name, payload["issue"], repository, sender)]


def pull_request_opened_webhook(request: WebhookRequest, secret: str | None) -> list[EventItem]:
    payload = _opened(request, secret, "pull_request")
    if payload is None:
        return []
    repository = _delivered_repository(payload)
    sender = _login(payload.get("sender"))
    return [_pull_item(repository.full_name, payload["pull_request"], repository, sender)]


def same_repository(config: RepoTrigger, payload: dict[str, Any]) -> bool:
    return str(payload["repository"]["full_name"]).lower() == config.repo.lower()


connector.event(
    name="issue_opened",
    description="A new issue is opened in a repository.",
    config_model=RepoTrigger,
    payload_model=IssueOpened,
    poll=poll_issues_opened,
    occurred_at="issue.created_at",
    webhook=issue_opened_webhook,
    matches=same_repository,
    scopes=REPO_SCOPES,
    sample={
        "issue": {
            "repo": "acme/api",
            "number": 42,
            "title": "Login fails with a 500 after password reset",
            "body": "Steps: reset the password, sign in with the new one -> 500.",
            "state": "open",
            "url": "https://github.com/acme/api/issues/42",
            "html_url": "https://github.com/acme/api/issues/42",
            "labels": ["bug"],
            "author": "octocat",
            "created_at": "2026-12-04T09:30:00Z",
            "assignees": [],
            "comments": 0,
            "closed_at": None,
        },
        "repository": {"full_name": "acme/api", "html_url": "https://github.com/acme/api"},
        "sender": "octocat",
    },
)
connector.event(
    name="pull_request_opened",
    description="A new pull request is opened in a repository.",
    config_model=RepoTrigger,
    payload_model=PullRequestOpened,
    poll=poll_pull_requests_opened,
    occurred_at="pull_request.created_at",
    webhook=pull_request_opened_webhook,
    matches=same_repository,
    scopes=REPO_SCOPES,
    sample={
        "pull_request": {
            "repo": "acme/api",
            "number": 43,
            "title": "Fix the password-reset sign-in",
            "body": "Fixes #42.",
            "state": "open",
            "url": "https://github.com/acme/api/pull/43",
            "html_url": "https://github.com/acme/api/pull/43",
            "labels": [],
            "author": "octocat",
            "created_at": "2026-12-04T12:10:00Z",
            "head": "fix/reset-login",
            "base": "main",
            "draft": False,
        },
        "repository": {"full_name": "acme/api", "html_url": "https://github.com/acme/api"},
        "sender": "octocat",
    },
)
