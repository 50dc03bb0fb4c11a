"""What every service emulator shares: a Starlette app served over real HTTP, a log of the
requests it received, bearer tokens it accepts, and fault injection for tests.

A subclass declares its routes and how the service spells an error: `error_body` for
services that answer errors as JSON, `error_response` for those that answer some of
them in another shape (Trello's and Dropbox's plain-text 400s):

    class GitHubEmulator(Emulator):
        name = "github"
        def routes(self) -> list[Route]: ...
        def error_body(self, status, message) -> dict: return {"message": message, ...}

Routes raise `EmulatorError(status, message, **extra)`; injected faults answer through
the same hook, so they look like the service's own errors.

Tests seed and inspect state on the emulator object directly (it is in-process), while
the code under test only ever talks to `emulator.url` over HTTP.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from starlette.types import Message, Receive, Scope, Send

from sandbox.server import EmulatorServer

SANDBOX_USER = "sandbox-user"  # who `issue_token` and the seeded demo data belong to


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode()))


@dataclass
class Fault:
    """One injected failure, applied to the next `times` matching requests.

    kind "status": answer `status` (with `retry_after` as Retry-After) without processing,
      in the service's error shape, or with `body` as the JSON body when it is given
      (e.g. Google's 403 whose reason is `rateLimitExceeded`).
    kind "delay": sleep `delay` seconds, then process normally.
    kind "drop": process the request, then cut the connection before the response.
    """

    kind: str
    path_prefix: str = ""
    method: str | None = None
    status: int = 500
    retry_after: float | None = None
    delay: float = 0.0
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None

    def matches(self, method: str, path: str) -> bool:
        return (
            self.times > 0
            and path.startswith(self.path_prefix)
            and (self.method is None or self.method == method)
        )


@dataclass
class Grant:
    """A token the emulator accepts: who it belongs to and what it may do."""

    user: str
    scopes: set[str] | None = None  # None: every scope

    def allows(self, scope: str | None) -> bool:
        return scope is None or self.scopes is None or scope in self.scopes


class EmulatorError(Exception):
    """Raised inside a route to answer with the service's own error shape."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


class Emulator(ABC):
    name: str = "service"

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self.grants: dict[str, Grant] = {}
        self.lock = threading.RLock()
        self.app = Starlette(
            routes=self.routes(), exception_handlers={EmulatorError: self._on_error}
        )
        self.server = EmulatorServer(self._asgi)

    # --- to override -------------------------------------------------------------------

    @abstractmethod
    def routes(self) -> list[BaseRoute]:
        """The service's endpoints."""

    @abstractmethod
    def settings_overrides(self) -> dict[str, str]:
        """ATOM settings that point the connector at this emulator,
        e.g. {"github_base_url": self.url}."""

    def error_body(self, status: int, message: str, **extra: Any) -> Any:
        """The JSON body the real service sends with an error status."""
        return {"message": message, **extra}

    def error_response(self, status: int, message: str, **extra: Any) -> Response:
        """The response the real service sends with an error status: `error_body` as
        JSON, unless a subclass knows the service answers (some) errors otherwise."""
        return JSONResponse(self.error_body(status, message, **extra), status)

    # --- lifecycle ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> str:
        return self.server.start()

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- tokens ------------------------------------------------------------------------

    def grant(self, token: str, user: str, scopes: set[str] | None = None) -> None:
        """Accept `token` as `user`; `scopes` None grants every scope."""
        self.grants[token] = Grant(user=user, scopes=None if scopes is None else set(scopes))

    def issue_token(
        self, user: str = SANDBOX_USER, scopes: set[str] | None = None
    ) -> dict[str, Any]:
        """A fresh token for `user`, as the connector's credentials:
        {"access_token": …, "extra": {…}}. Subclasses add service specifics to `extra`."""
        token = f"{self.name}-{secrets.token_hex(12)}"
        self.grant(token, user, scopes)
        return {"access_token": token, "extra": {}}

    def revoke(self, token: str) -> None:
        self.grants.pop(token, None)

    def bearer_grant(self, request: Request, scope: str | None = None) -> Grant:
        """The grant for the request's `Authorization: Bearer` token, or a 401/403."""
        return self.check_token(bearer_token(request), scope)

    def check_token(self, token: str, scope: str | None = None) -> Grant:
        grant = self.grants.get(token)
        if grant is None:
            raise EmulatorError(401, "Bad credentials")
        if not grant.allows(scope):
            raise EmulatorError(403, f"The token is missing the required scope {scope!r}")
        return grant

    # --- faults and inspection ----------------------------------------------------------

    def fail(self, path_prefix: str = "", *, kind: str = "status", **options: Any) -> Fault:
        fault = Fault(kind=kind, path_prefix=path_prefix, **options)
        with self.lock:
            self.faults.append(fault)
        return fault

    def received(self, path: str | None = None, method: str | None = None) -> list[RecordedRequest]:
        with self.lock:
            return [
                r
                for r in self.requests
                if (path is None or r.path == path) and (method is None or r.method == method)
            ]

    # --- ASGI plumbing -----------------------------------------------------------------

    async def _on_error(self, _request: Request, exc: Exception) -> Response:
        assert isinstance(exc, EmulatorError)
        return self.error_response(exc.status, exc.message, **exc.extra)

    def _fault_response(self, fault: Fault) -> Response:
        if fault.body is not None:
            response: Response = JSONResponse(fault.body, fault.status)
        else:
            message = "API rate limit exceeded" if fault.status == 429 else "Internal error"
            response = self.error_response(fault.status, message)
        response.headers.update(fault.headers)
        if fault.retry_after is not None:
            response.headers["Retry-After"] = str(int(fault.retry_after))
        return response

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    return fault
        return None

    async def _asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        body = await _read_body(receive)
        recorded = RecordedRequest(
            method=scope["method"],
            path=scope["path"],
            query=dict(parse_qsl(scope["query_string"].decode(), keep_blank_values=True)),
            headers={k.decode().lower(): v.decode() for k, v in scope["headers"]},
            body=body,
        )
        with self.lock:
            self.requests.append(recorded)
        replay = _replay(body)
        fault = self._take_fault(recorded.method, recorded.path)
        if fault is None:
            return await self.app(scope, replay, send)
        if fault.kind == "delay":
            await asyncio.sleep(fault.delay)
            return await self.app(scope, replay, send)
        if fault.kind == "drop":
            await self.app(scope, replay, _discard)
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-length", b"1000")],
                }
            )
            return None
        return await self._fault_response(fault)(scope, replay, send)


def bearer_token(request: Request) -> str:
    """The token of the request's `Authorization: Bearer …` header ("" if none)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()  # no more messages: the client is still connected
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _discard(_message: Message) -> None:
    return None
