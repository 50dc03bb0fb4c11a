"""Slack's HTTP endpoint: events, slash commands and interactions all arrive here."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp


def slack_router(bolt_app: AsyncApp) -> APIRouter:
    router = APIRouter(tags=["slack"])
    handler = AsyncSlackRequestHandler(bolt_app)

    @router.post("/slack/events")
    async def slack_events(request: Request) -> Response:
        return await handler.handle(request)

    return router
