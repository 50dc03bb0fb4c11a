"""Event triggers: polling starts one run per new item, from activation on; webhooks
start runs when their signature (GitHub) or their URL (generic) is right."""

from __future__ import annotations

import json

import httpx

from core.db import utcnow
from oauth_app.app import create_web_app
from sandbox.github import GitHubEmulator
from tests.scheduler.conftest import GITHUB_SECRET, Node, World, job_for
from workflows.store import RunStatus
from workflows.subscriptions import ReceiptOutcome, TriggerStore

REPO = "acme/scheduler-tests"
ISSUE_OPENED = {"type": "event", "event": "github.issue_opened", "with": {"repo": REPO}}


async def test_three_new_issues_start_three_runs_and_the_next_poll_none(
    world: World, github: GitHubEmulator
) -> None:
    github.add_repo(REPO)
    github.add_issue(REPO, "Opened before the workflow existed")
    async with world.node() as node:
        state = await world.activate(node, ISSUE_OPENED)
        await world.cursor_set(state.workflow_id)
        assert await world.runs(state.workflow_id) == []
        titles = ["Crash on start", "Typo in README", "Slow search"]
        for title in titles:
            github.add_issue(REPO, title)

        await node.jobs.poll_events(job_for(state), None)
        runs = await world.wait_for_runs(state.workflow_id, 3)
        await node.jobs.poll_events(job_for(state), None)
        assert len(await world.runs(state.workflow_id)) == 3

    assert all(run.status == RunStatus.SUCCEEDED for run in runs)
    assert {run.trigger_kind for run in runs} == {"event"}
    assert sorted(run.trigger_payload["issue"]["title"] for run in runs) == sorted(titles)
    receipts = await TriggerStore(world.database).receipts(state.workflow_id)
    assert [r.outcome for r in receipts] == [ReceiptOutcome.STARTED] * 3


async def test_a_failing_poll_keeps_its_cursor_and_records_why(world: World) -> None:
    async with world.node() as node:
        state = await world.activate(
            node, {**ISSUE_OPENED, "with": {"repo": "acme/does-not-exist"}}
        )
        failed = await world.state_when(state.workflow_id, lambda s: bool(s.last_error))
    assert failed.cursor is None
    assert "Not Found" in (failed.last_error or "")


async def _post(
    node: Node, world: World, path: str, body: bytes, headers: dict[str, str]
) -> httpx.Response:
    app = create_web_app(world.settings, world.database, webhooks=node.services.webhooks)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://atom.test") as client:
        return await client.post(path, content=body, headers=headers)


async def test_a_signed_github_delivery_starts_a_run_once(
    world: World, github: GitHubEmulator
) -> None:
    github.add_repo(REPO)
    async with world.node() as node:
        state = await world.activate(node, ISSUE_OPENED)
        other_repo = await world.activate(node, {**ISSUE_OPENED, "with": {"repo": "acme/web"}})
        await world.cursor_set(state.workflow_id)
        issue = github.add_issue(REPO, "Delivered by webhook")
        delivery = github.webhook_delivery(REPO, issue.number, GITHUB_SECRET)

        answer = await _post(node, world, "/webhooks/github", delivery.body, delivery.headers)
        assert answer.status_code == 202
        [run_id] = answer.json()["runs"]
        again = await _post(node, world, "/webhooks/github", delivery.body, delivery.headers)
        assert again.json() == {"runs": []}  # GitHub redelivered it
        await node.jobs.poll_events(job_for(state), None)  # the poll sees the same issue
        [run] = await world.wait_for_runs(state.workflow_id, 1)

    assert run.id == run_id and run.status == RunStatus.SUCCEEDED
    assert run.trigger_payload["issue"]["title"] == "Delivered by webhook"
    assert await world.runs(other_repo.workflow_id) == []


async def test_a_delivery_with_a_bad_signature_is_refused_and_starts_nothing(
    world: World, github: GitHubEmulator
) -> None:
    github.add_repo(REPO)
    async with world.node() as node:
        state = await world.activate(node, ISSUE_OPENED)
        issue = github.add_issue(REPO, "Forged")
        forged = github.webhook_delivery(REPO, issue.number, "not-the-secret")
        answer = await _post(node, world, "/webhooks/github", forged.body, forged.headers)
        unsigned = {k: v for k, v in forged.headers.items() if k.lower() != "x-hub-signature-256"}
        bare = await _post(node, world, "/webhooks/github", forged.body, unsigned)

    assert answer.status_code == bare.status_code == 401
    assert "X-Hub-Signature-256" in answer.json()["error"]
    assert await world.runs(state.workflow_id) == []
    assert await TriggerStore(world.database).receipts(state.workflow_id) == []


async def test_the_generic_webhook_url_starts_its_workflow(world: World) -> None:
    async with world.node() as node:
        state = await world.activate(node, {"type": "event", "event": "http.webhook_received"})
        url = node.services.webhooks.url(state)
        assert url == f"{world.settings.public_url}/webhooks/http/{state.webhook_token}"
        path = f"/webhooks/http/{state.webhook_token}"
        body = json.dumps({"deploy": "api", "sha": "abc123"}).encode()
        headers = {"content-type": "application/json", "idempotency-key": "deploy-1"}

        answer = await _post(node, world, path, body, headers)
        retried = await _post(node, world, path, body, headers)
        unknown = await _post(node, world, "/webhooks/http/not-a-token", body, headers)
        empty = await _post(node, world, path, b"", headers)
        [run] = await world.wait_for_runs(state.workflow_id, 1)

    assert answer.status_code == 202 and len(answer.json()["runs"]) == 1
    assert retried.json() == {"runs": []}
    assert unknown.status_code == 404
    assert empty.status_code == 400
    assert run.trigger_payload["body"] == {"deploy": "api", "sha": "abc123"}
    assert run.created_at <= utcnow()
