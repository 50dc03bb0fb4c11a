"""The shared HTTP client under faults, driven through the GitHub connector against the
GitHub emulator (and the echo emulator for per-host circuits): rate limits are waited
out, 5xx open the circuit, tokens that expired surface as AuthExpired, and requests
that may have taken effect are never repeated."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from connectors.base import (
    ActionContext,
    AuthExpired,
    Credentials,
    RateLimited,
    StaticCredentials,
    Unavailable,
)
from connectors.client import HttpPool
from connectors.github import connector
from connectors.http import connector as http_connector
from core.settings import Settings
from sandbox.github import GitHubEmulator
from sandbox.http_echo import HttpEchoEmulator
from tests.connectors.cases.github import REPO, seed_repo
from tests.connectors.contract_case import connector_context

ISSUES = "/repos/acme/billing/issues"


@pytest.fixture
def github() -> Iterator[GitHubEmulator]:
    with GitHubEmulator() as emulator:
        seed_repo(emulator)
        yield emulator


async def run(ctx: ActionContext, action: str, **inputs: Any) -> Any:
    return await connector.actions[action].run(ctx, inputs)


async def test_429_with_retry_after_is_waited_out(github: GitHubEmulator) -> None:
    github.fail(ISSUES, method="POST", status=429, retry_after=1)
    async with connector_context(connector, github) as ctx:
        started = time.monotonic()
        issue = await run(ctx, "create_issue", repo=REPO, title="After the wait")
    assert time.monotonic() - started >= 0.9
    assert len(github.received(ISSUES, "POST")) == 2
    assert [i.title for i in github.repo(REPO).issues.values()] == ["Crash on start", issue.title]


async def test_429_beyond_the_longest_wait_is_rate_limited(github: GitHubEmulator) -> None:
    github.fail(ISSUES, method="POST", status=429, retry_after=120)
    async with connector_context(connector, github, http_max_retry_wait_seconds=60) as ctx:
        with pytest.raises(RateLimited) as limited:
            await run(ctx, "create_issue", repo=REPO, title="x")
    assert limited.value.retry_after == 120


async def test_spent_github_budget_waits_for_x_ratelimit_reset(github: GitHubEmulator) -> None:
    github.exhaust_rate_limit(reset_in=1)
    async with connector_context(connector, github) as ctx:
        started = time.monotonic()
        listed = await run(ctx, "list_issues", repo=REPO)
    assert listed.count == 1
    assert time.monotonic() - started >= 0.5
    assert len(github.received(ISSUES, "GET")) == 2  # refused once (403), then served


async def test_repeated_500s_open_the_circuit(github: GitHubEmulator) -> None:
    github.fail(ISSUES, status=500, times=100)
    async with connector_context(
        connector, github, circuit_failure_threshold=3, http_max_retries=0
    ) as ctx:
        for _ in range(3):
            with pytest.raises(Unavailable, match="Internal error"):
                await run(ctx, "create_issue", repo=REPO, title="x")
        sent = len(github.received())
        started = time.monotonic()
        with pytest.raises(Unavailable, match="paused calls") as paused:
            await run(ctx, "list_issues", repo=REPO)
        assert time.monotonic() - started < 0.1
    assert len(github.received()) == sent  # failed fast: nothing was sent
    assert paused.value.retry_after is not None


async def test_a_500_on_an_idempotent_call_is_retried(github: GitHubEmulator) -> None:
    github.fail(ISSUES, method="GET", status=502)
    async with connector_context(connector, github) as ctx:
        assert (await run(ctx, "list_issues", repo=REPO)).count == 1
    assert len(github.received(ISSUES, "GET")) == 2


async def test_a_500_on_a_create_is_not_repeated(github: GitHubEmulator) -> None:
    github.fail(ISSUES, method="POST", status=500)
    async with connector_context(connector, github) as ctx:
        with pytest.raises(Unavailable) as failed:
            await run(ctx, "create_issue", repo=REPO, title="x")
    assert failed.value.request_may_have_been_sent
    assert len(github.received(ISSUES, "POST")) == 1


async def test_a_dropped_connection_after_a_create_is_not_repeated(
    github: GitHubEmulator,
) -> None:
    github.fail(ISSUES, kind="drop", method="POST")
    async with connector_context(connector, github) as ctx:
        with pytest.raises(Unavailable, match="may or may not have taken effect") as dropped:
            await run(ctx, "create_issue", repo=REPO, title="Created once")
    assert dropped.value.request_may_have_been_sent
    titles = [i.title for i in github.repo(REPO).issues.values()]
    assert titles.count("Created once") == 1  # it did take effect: a retry would duplicate


async def test_a_dropped_connection_on_an_idempotent_call_is_retried(
    github: GitHubEmulator,
) -> None:
    github.fail(f"{ISSUES}/1/labels", kind="drop")
    async with connector_context(connector, github) as ctx:
        labels = await run(ctx, "add_labels", repo=REPO, issue_number=1, labels=["p1"])
    assert labels.labels == ["bug", "p1"]
    assert len(github.received(f"{ISSUES}/1/labels")) == 2


async def test_a_slow_answer_times_out_and_is_retried_when_safe(github: GitHubEmulator) -> None:
    github.fail(ISSUES, kind="delay", delay=1.0, method="GET")
    async with connector_context(connector, github, http_timeout_seconds=0.3) as ctx:
        assert (await run(ctx, "list_issues", repo=REPO)).count == 1
    assert len(github.received(ISSUES, "GET")) == 2


async def test_an_expired_token_surfaces_as_auth_expired(github: GitHubEmulator) -> None:
    credentials = Credentials(**github.issue_token())
    github.revoke(credentials.access_token)
    async with connector_context(connector, github, StaticCredentials(credentials)) as ctx:
        with pytest.raises(
            AuthExpired, match="Reconnect it with `/atom connect github`"
        ) as expired:
            await run(ctx, "list_issues", repo=REPO)
    assert "(Bad credentials)" in str(expired.value)  # GitHub's own words
    assert len(github.received(ISSUES)) == 1  # a static token cannot be refreshed


@dataclass
class RefreshingCredentials:
    """A credential source that can refresh once, like the vault with a refresh token."""

    stale: Credentials
    fresh: Credentials
    refreshed_from: list[str] = field(default_factory=list)

    async def current(self) -> Credentials:
        return self.stale

    async def refreshed(self, stale: Credentials) -> Credentials | None:
        self.refreshed_from.append(stale.access_token)
        return self.fresh


async def test_a_rejected_token_is_refreshed_once(github: GitHubEmulator) -> None:
    stale = Credentials(**github.issue_token())
    github.revoke(stale.access_token)
    source = RefreshingCredentials(stale, Credentials(**github.issue_token()))
    async with connector_context(connector, github, source) as ctx:
        assert (await run(ctx, "list_issues", repo=REPO)).count == 1
    assert source.refreshed_from == [stale.access_token]
    tokens = [r.headers["authorization"] for r in github.received(ISSUES)]
    assert tokens == [f"Bearer {stale.access_token}", f"Bearer {source.fresh.access_token}"]


async def test_each_target_host_has_its_own_circuit() -> None:
    with HttpEchoEmulator() as failing, HttpEchoEmulator() as healthy:
        settings = Settings(_env_file=None, circuit_failure_threshold=2, http_max_retries=0)
        pool = HttpPool(settings)
        http = pool.for_connector(http_connector, StaticCredentials(Credentials("unused")))
        ctx = ActionContext(team_id="T0HTTP", user_id=None, http=http)
        request = http_connector.actions["request"]
        try:
            for _ in range(2):
                with pytest.raises(Unavailable):
                    await request.run(ctx, {"method": "POST", "url": f"{failing.url}/status/503"})
            with pytest.raises(Unavailable, match="paused calls"):
                await request.run(ctx, {"url": f"{failing.url}/anything"})
            answer = await request.run(ctx, {"url": f"{healthy.url}/anything"})
            assert answer.status == 200
        finally:
            await pool.aclose()
