"""Inbound webhooks that start workflow runs (workflows/scheduling/webhooks.py decides).

- `POST /webhooks/{service}`: services that sign every delivery with one shared secret
  (GitHub, `X-Hub-Signature-256`). A bad signature is 401 and starts nothing.
- `POST /webhooks/{service}/{token}`: one workflow's own unguessable URL (the generic
  `http.webhook_received`). An unknown token is 404; a body that cannot be read, 400.

A delivery that was accepted is 202 with the ids of the runs it started (none when no
workflow wanted it, or it was seen before). The process serving this app must have the
trigger services: `create_web_app(…, webhooks=…)` sets `app.state.webhook_inbox`.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from connectors.base import WebhookRejected, WebhookRequest
from workflows.scheduling.webhooks import UnknownWebhook, WebhookInbox

router = APIRouter(tags=["webhooks"])
log = logging.getLogger(__name__)

MAX_BODY_BYTES = 5 * 1024 * 1024


def get_inbox(request: Request) -> WebhookInbox:
    inbox: WebhookInbox | None = getattr(request.app.state, "webhook_inbox", None)
    if inbox is None:
        raise HTTPException(503, "This ATOM process does not take webhooks.")
    return inbox


InboxDep = Annotated[WebhookInbox, Depends(get_inbox)]


async def _delivery(request: Request) -> WebhookRequest:
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise HTTPException(413, f"Webhook bodies are limited to {MAX_BODY_BYTES} bytes.")
    return WebhookRequest(
        headers={name.lower(): value for name, value in request.headers.items()},
        body=body,
        query=dict(request.query_params),
    )


@router.post("/webhooks/{service}")
async def signed_delivery(service: str, request: Request, inbox: InboxDep) -> JSONResponse:
    """A delivery signed with the service's shared webhook secret."""
    delivery = await _delivery(request)
    try:
        run_ids = await inbox.deliver_signed(service, delivery)
    except UnknownWebhook as exc:
        return JSONResponse({"error": str(exc)}, 404)
    except WebhookRejected as exc:
        log.warning("rejected a %s webhook delivery: %s", service, exc)
        return JSONResponse({"error": str(exc)}, 401)
    return JSONResponse({"runs": run_ids}, 202)


@router.post("/webhooks/{service}/{token}")
async def workflow_delivery(
    service: str, token: str, request: Request, inbox: InboxDep
) -> JSONResponse:
    """A delivery to one workflow's own URL."""
    delivery = await _delivery(request)
    try:
        run_ids = await inbox.deliver_to_workflow(service, token, delivery)
    except UnknownWebhook as exc:
        return JSONResponse({"error": str(exc)}, 404)
    except WebhookRejected as exc:
        return JSONResponse({"error": str(exc)}, 400)
    return JSONResponse({"runs": run_ids}, 202)
