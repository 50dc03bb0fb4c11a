"""Global Bolt middleware. One middleware, one concern."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

from bot.services import BotServices

log = logging.getLogger(__name__)


def install_middleware(app: AsyncApp, services: BotServices) -> None:
    @app.middleware
    async def provide_services(
        context: dict[str, Any], next: Callable[[], Awaitable[None]]
    ) -> None:
        """Listeners get the services as an injected `services` argument via context."""
        context["services"] = services
        await next()

    @app.middleware
    async def drop_duplicate_events(
        body: dict[str, Any], next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        """Slack redelivers an event (same event_id) when it got no 2xx in 3 s; Bolt
        would run the listener again. The first delivery wins, across processes."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not await services.dedupe.first_delivery(event_id, body.get("team_id", "")):
            log.info("dropping duplicate delivery of %s", event_id)
            return BoltResponse(status=200, body="")
        await next()
        return None
