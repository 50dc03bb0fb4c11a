"""Serve an ASGI app with uvicorn inside the current event loop (the app shares the loop,
and so the database engine, with everything else in the process)."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import uvicorn


class WebServer:
    def __init__(self, app: Any = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def bind(self) -> str:
        """Take the port now (port 0: any free one) so the URL is known before the app
        that must know it is built."""
        if self._socket is None:
            self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._socket.bind((self.host, self.port))
            self.port = self._socket.getsockname()[1]
        return self.url

    async def start(self) -> str:
        self.bind()
        sock = self._socket
        config = uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=30
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError(f"web server on port {self.port} stopped during start-up")
            await asyncio.sleep(0.005)
        return self.url

    async def serve_forever(self) -> None:
        if self._task is None:
            await self.start()
        assert self._task is not None
        await self._task

    async def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            await self._task
            self._task = None
