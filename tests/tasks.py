"""Hold an async context manager open from a pytest fixture.

pytest-asyncio may run an async fixture's setup and teardown in different tasks, and
anyio task groups (inside APScheduler) refuse to be exited from another task than the
one that entered them. So the context is entered and exited by one dedicated task."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TypeVar

T = TypeVar("T")


@asynccontextmanager
async def held(manager: AbstractAsyncContextManager[T]) -> AsyncIterator[T]:
    entered: asyncio.Future[T] = asyncio.get_running_loop().create_future()
    release = asyncio.Event()

    async def keep() -> None:
        try:
            async with manager as value:
                entered.set_result(value)
                await release.wait()
        except BaseException as exc:
            if not entered.done():
                entered.set_exception(exc)
            raise

    task = asyncio.create_task(keep())
    try:
        yield await entered
    finally:
        release.set()
        await task
