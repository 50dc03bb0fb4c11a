"""Generic HTTP: call any URL from a workflow step, or start a workflow from any JSON
POSTed to the workflow's webhook URL (the unguessable per-workflow URL itself belongs
to the scheduler and the web app; this module parses what arrives there).

A response with an error status fails the step like any connector error (4xx ->
InvalidInput / NotFound / PermissionDenied with the target's own message, 5xx ->
Unavailable). Only methods that are safe to repeat are retried.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from connectors.base import (
    ActionContext,
    Connector,
    EventItem,
    InvalidInput,
    NoAuth,
    WebhookRejected,
    WebhookRequest,
)
from core.logging import redact

MAX_TEXT_CHARS = 1_000_000  # longer bodies are cut (outputs are stored with the run)
REPEATABLE_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE"})

connector = Connector(
    name="http",
    title="HTTP",
    description="Call any HTTP API; start a workflow from any JSON webhook.",
    auth=NoAuth(),
    base_url_setting="http_base_url",
)


class RequestInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = Field(
        "GET", description="The HTTP method."
    )
    url: str = Field(min_length=1, description="An absolute http:// or https:// URL.")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra request headers.")
    query: dict[str, str] = Field(default_factory=dict, description="Query string parameters.")
    body: Any = Field(None, description="A JSON body (any JSON value), sent as application/json.")


class HttpResponse(BaseModel):
    url: str
    status: int
    ok: bool = Field(description="True for a 2xx status.")
    headers: dict[str, str] = Field(description="Response headers (lower-case names).")
    body: Any = Field(description="The parsed JSON body, or the body as text.")
    truncated: bool = Field(False, description=f"The text body was cut at {MAX_TEXT_CHARS} chars.")


class WebhookConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WebhookReceived(BaseModel):
    body: Any = Field(description="The JSON document that was POSTed.")
    headers: dict[str, str] = Field(description="Request headers (credentials masked).")
    query: dict[str, str] = Field(description="Query string parameters.")
    received_at: datetime


@connector.action(idempotent=False)
async def request(ctx: ActionContext, data: RequestInput) -> HttpResponse:
    """Send an HTTP request and return the response (status, headers, JSON or text body)."""
    url = _target(data.url, ctx.http.base_url)
    options: dict[str, Any] = {"headers": data.headers, "params": data.query or None}
    if data.body is not None:
        options["json"] = data.body
    response = await ctx.http.request(
        data.method,
        url,
        idempotent=data.method in REPEATABLE_METHODS,
        authenticated=False,
        **options,
    )
    body, truncated = _decode(response.headers.get("content-type", ""), response.text)
    return HttpResponse(
        url=str(response.url),
        status=response.status_code,
        ok=response.is_success,
        headers={name.lower(): value for name, value in response.headers.items()},
        body=None if data.method == "HEAD" else body,
        truncated=truncated,
    )


def _target(url: str, base_url: str) -> str:
    if url.startswith(("http://", "https://")):
        return url
    if base_url and url.startswith("/"):
        return url  # relative to ATOM_HTTP_BASE_URL
    raise InvalidInput(
        f'http: "url" must be an absolute http:// or https:// URL, not {url!r}.', service="http"
    )


def _decode(content_type: str, text: str) -> tuple[Any, bool]:
    if "json" in content_type:
        try:
            return json.loads(text), False
        except ValueError:
            pass  # mislabelled: hand it back as text
    return text[:MAX_TEXT_CHARS], len(text) > MAX_TEXT_CHARS


def parse_webhook(delivery: WebhookRequest, _secret: str | None) -> list[EventItem]:
    """Any JSON document. Its id is the sender's `Idempotency-Key` / `X-Request-Id`
    header when there is one (so retried deliveries run once), otherwise a fresh id."""
    if not delivery.body.strip():
        raise WebhookRejected("The webhook body is empty: POST a JSON document.", service="http")
    try:
        body = json.loads(delivery.body)
    except ValueError as exc:
        raise WebhookRejected(
            f"The webhook body is not valid JSON ({exc}).", service="http"
        ) from exc
    item_id = (
        delivery.headers.get("idempotency-key")
        or delivery.headers.get("x-request-id")
        or uuid.uuid4().hex
    )
    payload = WebhookReceived(
        body=body,
        headers=redact(dict(delivery.headers)),
        query=dict(delivery.query),
        received_at=datetime.now(UTC),
    )
    return [EventItem(id=item_id, payload=payload.model_dump(mode="json"))]


connector.event(
    name="webhook_received",
    description="A JSON document is POSTed to the workflow's webhook URL.",
    config_model=WebhookConfig,
    payload_model=WebhookReceived,
    webhook=parse_webhook,
    occurred_at="received_at",
    sample={
        "body": {
            "event": "invoice.paid",
            "invoice": {
                "id": "in_1042",
                "customer": "Acme Corp",
                "amount": 1250.0,
                "currency": "USD",
            },
        },
        "headers": {"content-type": "application/json", "user-agent": "Billing-Webhooks/1.0"},
        "query": {},
        "received_at": "2026-12-04T09:15:00Z",
    },
)
