"""The FastAPI side app: health and metrics, Slack's HTTP endpoint, OAuth callbacks and
webhooks (routers per resource, added as those parts land)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from slack_bolt.async_app import AsyncApp

from connectors.connections import Connections
from core.db import Database
from core.settings import Settings
from oauth_app.metrics import Metrics
from oauth_app.routes import health, oauth
from oauth_app.routes import webhooks as webhook_routes
from oauth_app.routes.slack import slack_router
from oauth_app.routes.slack_install import slack_install_router
from workflows.scheduling.webhooks import WebhookInbox


def create_web_app(
    settings: Settings,
    database: Database,
    bolt_app: AsyncApp | None = None,
    connections: Connections | None = None,
    webhooks: WebhookInbox | None = None,
) -> FastAPI:
    app = FastAPI(title="ATOM", docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.database = database
    app.state.metrics = Metrics()
    app.include_router(health.router)
    app.state.webhook_inbox = webhooks
    app.include_router(webhook_routes.router)
    if bolt_app is not None:
        app.include_router(slack_router(bolt_app))
    # --- connecting accounts and installing into workspaces ---
    if bolt_app is not None and bolt_app.oauth_flow is not None:
        app.include_router(slack_install_router(bolt_app))
    if connections is not None:
        app.state.connections = connections
        app.include_router(oauth.router)

    @app.middleware("http")
    async def measure(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        name = getattr(route, "path", "unmatched")
        app.state.metrics.requests.labels(name, str(response.status_code)).inc()
        app.state.metrics.latency.labels(name).observe(time.perf_counter() - started)
        return response

    return app
