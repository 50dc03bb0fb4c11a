"""The GitHub connector against the GitHub emulator. What the connector sends and what
the emulator answers are both checked against GitHub's official REST description."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from connectors.base import (
    ActionContext,
    Credentials,
    InvalidInput,
    NotFound,
    PermissionDenied,
    StaticCredentials,
    WebhookRejected,
    WebhookRequest,
)
from connectors.github import (
    API_VERSION,
    IssueOpened,
    PullRequestOpened,
    RepoTrigger,
    connector,
)
from sandbox.github import DEFAULT_LABELS, DEMO_REPO, GitHubEmulator, WebhookDelivery
from tests.connectors.cases.github import REPO, seed_repo
from tests.connectors.contract_case import connector_context
from tests.specs import assert_request_matches, validate_response, validate_schema

SECRET = "webhook-secret"
ISSUE_OPENED = connector.events["issue_opened"]
PR_OPENED = connector.events["pull_request_opened"]


@pytest.fixture
def github() -> Iterator[GitHubEmulator]:
    with GitHubEmulator() as emulator:
        seed_repo(emulator)
        yield emulator


@pytest.fixture
async def ctx(github: GitHubEmulator) -> AsyncIterator[ActionContext]:
    async with connector_context(connector, github) as context:
        yield context


async def run(ctx: ActionContext, action: str, **inputs: Any) -> Any:
    return await connector.actions[action].run(ctx, inputs)


def assert_all_requests_documented(github: GitHubEmulator) -> None:
    for request in github.received():
        assert_request_matches("github", request)


# --- actions: what is sent, what comes back ------------------------------------------


async def test_create_issue_sends_the_documented_request(
    github: GitHubEmulator, ctx: ActionContext
) -> None:
    issue = await run(
        ctx, "create_issue", repo=REPO, title="Login fails", body="Steps…", labels=["bug"]
    )
    sent = github.received("/repos/acme/billing/issues", "POST")[-1]
    assert_request_matches("github", sent)
    assert sent.json() == {
        "title": "Login fails",
        "body": "Steps…",
        "labels": ["bug"],
        "assignees": [],
    }
    assert sent.headers["authorization"].startswith("Bearer gho_")
    assert sent.headers["accept"] == "application/vnd.github+json"
    assert sent.headers["x-github-api-version"] == API_VERSION
    assert issue.number == 2 and issue.title == "Login fails" and issue.labels == ["bug"]
    assert issue.url == issue.html_url == f"{github.url}/acme/billing/issues/2"
    assert issue.author == "sandbox-user" and issue.state == "open"
    assert github.repo(REPO).issues[2].body == "Steps…"


async def test_comment_label_and_close(github: GitHubEmulator, ctx: ActionContext) -> None:
    comment = await run(ctx, "comment_on_issue", repo=REPO, issue_number=1, body="On it")
    assert comment.url.endswith(f"/acme/billing/issues/1#issuecomment-{comment.id}")
    labels = await run(ctx, "add_labels", repo=REPO, issue_number=1, labels=["triage", "p1"])
    assert labels.labels == ["bug", "triage", "p1"]
    closed = await run(
        ctx, "close_issue", repo=REPO, issue_number=1, reason="not_planned", comment="Won't fix"
    )
    assert closed.state == "closed" and closed.closed_at is not None
    issue = github.repo(REPO).issues[1]
    assert issue.state_reason == "not_planned"
    assert [c.body for c in issue.comments] == ["On it", "Won't fix"]
    patch = github.received("/repos/acme/billing/issues/1", "PATCH")[-1]
    assert patch.json() == {"state": "closed", "state_reason": "not_planned"}
    assert github.received("/repos/acme/billing/issues/1/labels")[-1].json() == {
        "labels": ["triage", "p1"]
    }
    assert_all_requests_documented(github)


async def test_list_issues_follows_pages_and_skips_pull_requests(
    github: GitHubEmulator, ctx: ActionContext
) -> None:
    for n in range(2, 152):
        github.add_issue(REPO, f"Issue {n}", labels=["bug"] if n % 2 else [])
    github.add_pull_request(REPO, "Add caching", head="cache")
    listed = await run(ctx, "list_issues", repo=REPO, state="all", limit=120)
    assert listed.count == 120
    assert [i.number for i in listed.issues[:3]] == [151, 150, 149]
    assert all(i.number != 152 for i in listed.issues)  # the pull request
    pages = github.received("/repos/acme/billing/issues")
    assert [r.query.get("page", "1") for r in pages] == ["1", "2"]
    assert_all_requests_documented(github)

    only_bugs = await run(ctx, "list_issues", repo=REPO, labels=["bug"], limit=500)
    assert only_bugs.count == 76 and all("bug" in i.labels for i in only_bugs.issues)


async def test_errors_carry_githubs_own_words(github: GitHubEmulator, ctx: ActionContext) -> None:
    with pytest.raises(InvalidInput, match="nobody cannot be assigned"):
        await run(ctx, "create_issue", repo=REPO, title="x", assignees=["nobody"])
    with pytest.raises(InvalidInput, match=r"body is too long \(maximum is 65536"):
        await run(ctx, "comment_on_issue", repo=REPO, issue_number=1, body="x" * 65_537)
    with pytest.raises(NotFound, match="Not Found"):
        await run(ctx, "comment_on_issue", repo=REPO, issue_number=99, body="hi")
    with pytest.raises(NotFound):
        await run(ctx, "list_issues", repo="acme/missing")


async def test_private_repositories_and_scopes_are_enforced(github: GitHubEmulator) -> None:
    github.add_repo("acme/secret", private=True)
    async with connector_context(connector, github) as ctx:
        with pytest.raises(NotFound):  # GitHub hides private repositories from outsiders
            await run(ctx, "list_issues", repo="acme/secret")
    read_only = StaticCredentials(Credentials(**github.issue_token(scopes={"read:user"})))
    async with connector_context(connector, github, read_only) as ctx:
        await run(ctx, "list_issues", repo=REPO)  # public reads need no scope
        with pytest.raises(PermissionDenied, match="not accessible"):
            await run(ctx, "create_issue", repo=REPO, title="x")
    public_only = StaticCredentials(Credentials(**github.issue_token(scopes={"public_repo"})))
    async with connector_context(connector, github, public_only) as ctx:
        assert (await run(ctx, "create_issue", repo=REPO, title="ok")).number == 2


# --- the emulator's demo data --------------------------------------------------------


async def test_the_emulator_starts_with_a_demo_repository_to_act_on() -> None:
    with GitHubEmulator() as github:
        async with connector_context(connector, github) as ctx:
            listed = await run(ctx, "list_issues", repo=DEMO_REPO)
            created = await run(
                ctx, "create_issue", repo=DEMO_REPO, title="Try ATOM", labels=["question"]
            )
            answer = await ctx.http.request("GET", f"/repos/{DEMO_REPO}/issues", idempotent=True)
        repo = github.repo(DEMO_REPO)
    assert [issue.number for issue in listed.issues] == [3, 2, 1]
    assert listed.issues[-1].labels == ["bug"] and listed.issues[-1].author == "octocat"
    assert created.number == 4 and created.labels == ["question"]  # the sandbox user may push
    validate_response("github", f"/repos/{DEMO_REPO}/issues", "GET", 200, answer.json())
    assert set(repo.labels) == set(DEFAULT_LABELS)
    assert (repo.labels["bug"].color, repo.labels["bug"].default) == ("d73a4a", True)
    with pytest.raises(ValueError, match="already has a repository acme/api"):
        github.add_repo(DEMO_REPO)


# --- the emulator's answers against the description ----------------------------------


@pytest.fixture
def api(github: GitHubEmulator) -> Iterator[httpx.Client]:
    token = github.issue_token()["access_token"]
    headers = {"Authorization": f"Bearer {token}", "X-GitHub-Api-Version": API_VERSION}
    with httpx.Client(base_url=github.url, headers=headers) as client:
        yield client


def check(response: httpx.Response, path: str, method: str) -> Any:
    validate_response("github", path, method, response.status_code, response.json())
    return response.json()


def test_emulator_responses_match_the_description(
    github: GitHubEmulator, api: httpx.Client
) -> None:
    github.add_pull_request(REPO, "Add caching", head="cache", body="Faster")
    issues = "/repos/acme/billing/issues"
    created = api.post(issues, json={"title": "New", "labels": ["bug"], "assignees": ["acme"]})
    assert created.status_code == 201
    assert created.headers["location"].endswith("/repos/acme/billing/issues/3")
    check(created, issues, "POST")
    check(api.get(issues, params={"state": "all"}), issues, "GET")
    check(api.post(f"{issues}/1/comments", json={"body": "hi"}), f"{issues}/1/comments", "POST")
    check(api.post(f"{issues}/1/labels", json={"labels": ["x"]}), f"{issues}/1/labels", "POST")
    check(api.patch(f"{issues}/1", json={"state": "closed"}), f"{issues}/1", "PATCH")
    pulls = check(api.get("/repos/acme/billing/pulls"), "/repos/acme/billing/pulls", "GET")
    assert [p["head"]["ref"] for p in pulls] == ["cache"]


def test_emulator_errors_match_the_description(api: httpx.Client) -> None:
    issues = "/repos/acme/billing/issues"
    invalid = api.post(issues, json={"title": "x", "assignees": ["nobody"]})
    assert invalid.status_code == 422
    body = check(invalid, issues, "POST")
    assert body["message"] == "Validation Failed"
    assert body["errors"][0] | {"message": ""} == {
        "resource": "Issue",
        "code": "invalid",
        "field": "assignees",
        "value": "nobody",
        "message": "",
    }
    missing = api.post(issues, json={"body": "no title"})
    assert missing.status_code == 422 and "title" in check(missing, issues, "POST")["message"]
    gone = api.post("/repos/acme/nope/issues", json={"title": "x"})
    assert gone.status_code == 404
    check(gone, issues, "POST")
    closed_bad = api.patch(f"{issues}/1", json={"state": "done"})
    assert closed_bad.status_code == 422
    check(closed_bad, f"{issues}/1", "PATCH")


def test_emulator_authentication_and_headers(github: GitHubEmulator, api: httpx.Client) -> None:
    unauthenticated = httpx.get(f"{github.url}/repos/acme/billing/issues")
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["message"] == "Bad credentials"
    validate_schema("github", "basic-error", unauthenticated.json())
    future = api.get("/repos/acme/billing/issues", headers={"X-GitHub-Api-Version": "2099-01-01"})
    assert future.status_code == 400 and "2099-01-01" in future.json()["message"]
    ok = api.get("/repos/acme/billing/issues")
    assert int(ok.headers["x-ratelimit-remaining"]) < int(ok.headers["x-ratelimit-limit"])
    assert ok.headers["x-oauth-scopes"] == "repo, public_repo"


def test_emulator_paginates_with_a_link_header(github: GitHubEmulator, api: httpx.Client) -> None:
    for n in range(5):
        github.add_issue(REPO, f"Issue {n}")
    first = api.get("/repos/acme/billing/issues", params={"per_page": 2})
    assert [i["number"] for i in first.json()] == [6, 5]
    assert set(first.links) == {"next", "last"}
    last = api.get(first.links["last"]["url"])
    assert [i["number"] for i in last.json()] == [2, 1]
    assert set(last.links) == {"prev", "first"}
    assert "per_page=2" in last.links["prev"]["url"]


def test_html_urls_resolve(github: GitHubEmulator) -> None:
    page = httpx.get(f"{github.url}/acme/billing/issues/1")
    assert page.status_code == 200 and "Crash on start" in page.text


# --- events: polling -----------------------------------------------------------------


async def test_first_poll_starts_from_now(github: GitHubEmulator, ctx: ActionContext) -> None:
    config = RepoTrigger(repo=REPO)
    first = await ISSUE_OPENED.poll(ctx, config, None)
    assert first.items == [] and first.cursor == "1"
    again = await ISSUE_OPENED.poll(ctx, config, first.cursor)
    assert again.items == [] and again.cursor == "1"


async def test_poll_returns_new_issues_once_oldest_first(
    github: GitHubEmulator, ctx: ActionContext
) -> None:
    config = RepoTrigger(repo=REPO)
    cursor = (await ISSUE_OPENED.poll(ctx, config, None)).cursor
    base = datetime.now(UTC)
    github.add_issue(REPO, "Second", labels=["bug"], created_at=base + timedelta(seconds=1))
    github.add_pull_request(REPO, "A PR", head="x", created_at=base + timedelta(seconds=2))
    github.add_issue(REPO, "Third", created_at=base + timedelta(seconds=3))
    result = await ISSUE_OPENED.poll(ctx, config, cursor)
    payloads = [IssueOpened.model_validate(item.payload) for item in result.items]
    assert [p.issue.title for p in payloads] == ["Second", "Third"]
    assert payloads[0].issue.labels == ["bug"]
    assert payloads[0].issue.html_url == f"{github.url}/acme/billing/issues/2"
    assert payloads[0].repository.full_name == REPO
    assert payloads[0].repository.html_url == f"{github.url}/acme/billing"
    assert result.cursor == "4"
    assert (await ISSUE_OPENED.poll(ctx, config, result.cursor)).items == []
    assert_all_requests_documented(github)


async def test_poll_pull_requests(github: GitHubEmulator, ctx: ActionContext) -> None:
    config = RepoTrigger(repo=REPO)
    cursor = (await PR_OPENED.poll(ctx, config, None)).cursor
    assert cursor == "0"  # the repository has no pull request yet
    github.add_pull_request(REPO, "Add caching", head="cache", user="octocat")
    github.add_issue(REPO, "Not a PR")
    result = await PR_OPENED.poll(ctx, config, cursor)
    (item,) = result.items
    payload = PullRequestOpened.model_validate(item.payload)
    assert (payload.pull_request.title, payload.pull_request.head) == ("Add caching", "cache")
    assert payload.sender == "octocat" and result.cursor == "2"
    assert_all_requests_documented(github)


async def test_poll_after_a_burst_spans_pages(github: GitHubEmulator, ctx: ActionContext) -> None:
    config = RepoTrigger(repo=REPO)
    for n in range(130):
        github.add_issue(REPO, f"Burst {n}")
    result = await ISSUE_OPENED.poll(ctx, config, "1")
    assert [json.loads(json.dumps(i.payload))["issue"]["number"] for i in result.items] == list(
        range(2, 132)
    )
    assert result.cursor == "131"


# --- events: webhooks ----------------------------------------------------------------


def as_request(delivery: WebhookDelivery) -> WebhookRequest:
    return WebhookRequest(
        headers={k.lower(): v for k, v in delivery.headers.items()}, body=delivery.body
    )


def test_webhook_deliveries_match_the_description(github: GitHubEmulator) -> None:
    github.add_pull_request(REPO, "Add caching", head="cache")
    validate_schema(
        "github", "webhook-issues-opened", github.webhook_delivery(REPO, 1, SECRET).json()
    )
    validate_schema(
        "github", "webhook-pull-request-opened", github.webhook_delivery(REPO, 2, SECRET).json()
    )


async def test_webhook_and_poll_agree_on_the_item(
    github: GitHubEmulator, ctx: ActionContext
) -> None:
    delivered = ISSUE_OPENED.webhook(as_request(github.webhook_delivery(REPO, 1, SECRET)), SECRET)
    polled = (await ISSUE_OPENED.poll(ctx, RepoTrigger(repo=REPO), "0")).items
    assert [i.id for i in delivered] == [i.id for i in polled]
    assert delivered[0].payload["issue"] == polled[0].payload["issue"]
    payload = IssueOpened.model_validate(delivered[0].payload)
    assert payload.sender == "acme" and payload.issue.labels == ["bug"]
    assert ISSUE_OPENED.matches(RepoTrigger(repo="ACME/Billing"), delivered[0].payload)
    assert not ISSUE_OPENED.matches(RepoTrigger(repo="acme/web"), delivered[0].payload)


def test_pull_request_webhook(github: GitHubEmulator) -> None:
    github.add_pull_request(REPO, "Add caching", head="cache")
    delivery = as_request(github.webhook_delivery(REPO, 2, SECRET))
    (item,) = PR_OPENED.webhook(delivery, SECRET)
    assert PullRequestOpened.model_validate(item.payload).pull_request.number == 2
    assert ISSUE_OPENED.webhook(delivery, SECRET) == []  # not an `issues` delivery


def test_webhook_ignores_other_actions(github: GitHubEmulator) -> None:
    delivery = github.webhook_delivery(REPO, 1, SECRET, action="labeled")
    assert ISSUE_OPENED.webhook(as_request(delivery), SECRET) == []


def test_webhook_signature_is_verified(github: GitHubEmulator) -> None:
    genuine = github.webhook_delivery(REPO, 1, SECRET)
    with pytest.raises(WebhookRejected, match="X-Hub-Signature-256"):
        ISSUE_OPENED.webhook(as_request(genuine), "another-secret")
    unsigned = github.webhook_delivery(REPO, 1, None)
    with pytest.raises(WebhookRejected, match="does not match"):
        ISSUE_OPENED.webhook(as_request(unsigned), SECRET)
    tampered = WebhookDelivery(genuine.headers, genuine.body.replace(b"Crash", b"Boom!"))
    with pytest.raises(WebhookRejected):
        ISSUE_OPENED.webhook(as_request(tampered), SECRET)
    with pytest.raises(WebhookRejected, match="ATOM_GITHUB_WEBHOOK_SECRET"):
        ISSUE_OPENED.webhook(as_request(genuine), None)
