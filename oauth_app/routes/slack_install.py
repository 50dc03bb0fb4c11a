"""Installing ATOM into a Slack workspace: `GET /slack/install` (the "Add to Slack" page)
and `GET /slack/oauth_redirect` (Slack's redirect back), both run by Bolt's OAuth flow
(bot/slack_install.py). Present only when ATOM is set up for many workspaces."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp


def slack_install_router(bolt_app: AsyncApp) -> APIRouter:
    flow = bolt_app.oauth_flow
    if flow is None:
        raise ValueError("the Bolt app has no OAuth flow: it serves one workspace")
    router = APIRouter(tags=["slack"])
    handler = AsyncSlackRequestHandler(bolt_app)

    async def oauth_step(request: Request) -> Response:
        return await handler.handle(request)

    router.add_api_route(flow.install_path, oauth_step, methods=["GET"], name="slack_install")
    router.add_api_route(
        flow.redirect_uri_path, oauth_step, methods=["GET"], name="slack_oauth_redirect"
    )
    return router
