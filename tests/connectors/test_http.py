"""The generic HTTP connector against the echo emulator, and its webhook parser."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from connectors import http as http_module
from connectors.base import (
    ActionContext,
    Credentials,
    InvalidInput,
    NotFound,
    PermissionDenied,
    StaticCredentials,
    Unavailable,
    WebhookRejected,
    WebhookRequest,
)
from connectors.client import HttpPool
from connectors.http import WebhookReceived, connector
from core.logging import REDACTED
from core.settings import Settings
from sandbox.http_echo import HTML_PAGE, HttpEchoEmulator

REQUEST = connector.actions["request"]
WEBHOOK = connector.events["webhook_received"]


@pytest.fixture
def echo() -> Iterator[HttpEchoEmulator]:
    with HttpEchoEmulator() as emulator:
        yield emulator


async def context(pool: HttpPool) -> ActionContext:
    credentials = StaticCredentials(Credentials("not-used-by-http"))
    return ActionContext(
        team_id="T0HTTP", user_id="U0HTTP", http=pool.for_connector(connector, credentials)
    )


@pytest.fixture
async def ctx(echo: HttpEchoEmulator) -> AsyncIterator[ActionContext]:
    pool = HttpPool(Settings(_env_file=None, http_max_retries=1, **echo.settings_overrides()))
    yield await context(pool)
    await pool.aclose()


@pytest.fixture
async def absolute_only() -> AsyncIterator[ActionContext]:
    """The production default: no base URL, every URL absolute."""
    pool = HttpPool(Settings(_env_file=None, http_base_url=""))
    yield await context(pool)
    await pool.aclose()


async def send(ctx: ActionContext, **inputs: Any) -> Any:
    return await REQUEST.run(ctx, inputs)


async def test_get_with_query_and_headers(echo: HttpEchoEmulator, ctx: ActionContext) -> None:
    out = await send(ctx, url="/anything/report", query={"week": "12"}, headers={"X-Team": "ops"})
    assert out.status == 200 and out.ok
    assert out.body["method"] == "GET" and out.body["path"] == "/anything/report"
    assert out.body["args"] == {"week": "12"}
    assert out.body["headers"]["x-team"] == "ops"
    assert out.headers["content-type"] == "application/json"
    sent = echo.received("/anything/report")[0]
    assert sent.query == {"week": "12"} and "authorization" not in sent.headers


async def test_post_json(echo: HttpEchoEmulator, ctx: ActionContext) -> None:
    out = await send(ctx, method="POST", url="/items", body={"name": "Widget", "tags": ["a"]})
    assert out.status == 201 and out.body["name"] == "Widget"
    assert out.headers["location"].endswith(f"/items/{out.body['id']}")
    sent = echo.received("/items", "POST")[0]
    assert sent.headers["content-type"] == "application/json"
    assert sent.json() == {"name": "Widget", "tags": ["a"]}
    assert [item.name for item in echo.items.values()] == ["Widget"]


async def test_absolute_urls_text_bodies_and_head(
    echo: HttpEchoEmulator, absolute_only: ActionContext
) -> None:
    page = await send(absolute_only, url=f"{echo.url}/html")
    assert page.body == HTML_PAGE and page.headers["content-type"].startswith("text/html")
    head = await send(absolute_only, method="HEAD", url=f"{echo.url}/anything")
    assert head.status == 200 and head.body is None
    deleted = await send(absolute_only, method="DELETE", url=f"{echo.url}/status/204")
    assert deleted.status == 204 and deleted.body == ""


async def test_relative_urls_need_a_base_url(absolute_only: ActionContext) -> None:
    with pytest.raises(InvalidInput, match="absolute http:// or https:// URL"):
        await send(absolute_only, url="/anything")
    with pytest.raises(InvalidInput, match="absolute"):
        await send(absolute_only, url="ftp://example.com/file")


async def test_error_statuses_carry_the_targets_message(
    echo: HttpEchoEmulator, ctx: ActionContext
) -> None:
    with pytest.raises(InvalidInput, match='"name" is required'):
        await send(ctx, method="POST", url="/items", body={"tags": []})
    with pytest.raises(NotFound, match="item 42 does not exist"):
        await send(ctx, url="/items/42")
    with pytest.raises(Unavailable):
        await send(ctx, method="POST", url="/status/500")
    assert len(echo.received("/status/500")) == 1  # a POST that may have worked: no retry
    with pytest.raises(Unavailable):
        await send(ctx, method="GET", url="/status/503")
    assert len(echo.received("/status/503")) == 2  # a GET: retried once (http_max_retries=1)


async def test_headers_reach_the_target(echo: HttpEchoEmulator, ctx: ActionContext) -> None:
    token = echo.issue_token("robot")["access_token"]
    out = await send(ctx, url="/bearer", headers={"Authorization": f"Bearer {token}"})
    assert out.body == {"authenticated": True, "user": "robot"}
    with pytest.raises(PermissionDenied, match="http: Bad credentials"):
        await send(ctx, url="/bearer", headers={"Authorization": "Bearer wrong"})


def test_long_text_bodies_are_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_module, "MAX_TEXT_CHARS", 5)
    assert http_module._decode("text/plain", "abcdefgh") == ("abcde", True)
    assert http_module._decode("application/json", '{"a": 1}') == ({"a": 1}, False)
    assert http_module._decode("application/json", "not json") == ("not j", True)


# --- webhook_received ----------------------------------------------------------------


def delivery(body: bytes, **headers: str) -> WebhookRequest:
    return WebhookRequest(
        headers={"content-type": "application/json", **headers}, body=body, query={"src": "ci"}
    )


def test_webhook_accepts_any_json() -> None:
    (item,) = WEBHOOK.webhook(
        delivery(b'{"build": 7, "ok": true}', authorization="Bearer s3cr3t-value"), None
    )
    payload = WebhookReceived.model_validate(item.payload)
    assert payload.body == {"build": 7, "ok": True}
    assert payload.query == {"src": "ci"}
    assert payload.headers["authorization"] == REDACTED  # credentials never reach a run
    (listed,) = WEBHOOK.webhook(delivery(b"[1, 2]"), None)
    assert listed.payload["body"] == [1, 2] and listed.id != item.id


def test_webhook_ids_follow_the_senders_idempotency_key() -> None:
    first = WEBHOOK.webhook(delivery(b"{}", **{"idempotency-key": "evt-1"}), None)
    again = WEBHOOK.webhook(delivery(b"{}", **{"idempotency-key": "evt-1"}), None)
    assert first[0].id == again[0].id == "evt-1"


@pytest.mark.parametrize(("body", "reason"), [(b"", "empty"), (b"name=x", "not valid JSON")])
def test_webhook_rejects_what_is_not_json(body: bytes, reason: str) -> None:
    with pytest.raises(WebhookRejected, match=reason):
        WEBHOOK.webhook(delivery(body), None)


def test_webhook_payload_is_json_serialisable() -> None:
    (item,) = WEBHOOK.webhook(delivery(b'{"nested": {"a": [1, null]}}'), None)
    assert json.loads(json.dumps(item.payload))["body"] == {"nested": {"a": [1, None]}}
