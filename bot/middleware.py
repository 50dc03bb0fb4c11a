"""Global Bolt middleware. One middleware, one concern."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

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
