"""A generic HTTP target for the `http` connector, in the spirit of httpbin.org, plus a
small JSON resource that validates its input the way a typical REST API does.

    ANY  /anything[/…]      echo: method, url, args, headers, json, data (httpbin's shape)
    ANY  /status/{code}     answer with that status
    GET  /html              a small HTML page (a non-JSON answer)
    GET  /bearer            200 with a token the emulator issued, else 401
    GET  /items             list the items
    POST /items             create {"name": str, "tags"?: [str]} -> 201, else 400
    GET|PUT|DELETE /items/{id}

Errors are JSON: {"error": "<reason>", "message": "<what is wrong>"}.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.emulator import Emulator, EmulatorError

HTML_PAGE = "<!doctype html><title>Echo</title><h1>Hello from the HTTP emulator</h1>"
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@dataclass
class Item:
    id: int
    name: str
    tags: list[str] = field(default_factory=list)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))


class HttpEchoEmulator(Emulator):
    name = "http"

    def __init__(self) -> None:
        self.items: dict[int, Item] = {}
        self._ids = itertools.count(1)
        super().__init__()

    def settings_overrides(self) -> dict[str, str]:
        return {"http_base_url": self.url}

    def error_body(self, status: int, message: str, **extra: Any) -> Any:
        reason = HTTPStatus(status).phrase.lower().replace(" ", "_")
        return {"error": extra.pop("error", reason), "message": message, **extra}

    # --- seeding ------------------------------------------------------------------------

    def add_item(self, name: str, tags: list[str] | None = None) -> Item:
        with self.lock:
            item = Item(id=next(self._ids), name=name, tags=list(tags or []))
            self.items[item.id] = item
            return item

    # --- routes -------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/anything", self.anything, methods=ALL_METHODS),
            Route("/anything/{rest:path}", self.anything, methods=ALL_METHODS),
            Route("/status/{code:int}", self.status, methods=ALL_METHODS),
            Route("/html", self.html_page, methods=["GET"]),
            Route("/bearer", self.bearer, methods=["GET"]),
            Route("/items", self.list_items, methods=["GET"]),
            Route("/items", self.create_item, methods=["POST"]),
            Route("/items/{item_id:int}", self.get_item, methods=["GET"]),
            Route("/items/{item_id:int}", self.replace_item, methods=["PUT"]),
            Route("/items/{item_id:int}", self.delete_item, methods=["DELETE"]),
        ]

    async def anything(self, request: Request) -> Response:
        raw = await request.body()
        text = raw.decode(errors="replace")
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return JSONResponse(
            {
                "method": request.method,
                "url": str(request.url),
                "path": request.url.path,
                "args": dict(request.query_params),
                "headers": dict(request.headers),
                "json": parsed,
                "data": text,
            }
        )

    async def status(self, request: Request) -> Response:
        code = request.path_params["code"]
        if not 200 <= code <= 599:
            raise EmulatorError(400, f"{code} is not an HTTP status code")
        if code >= 400:
            raise EmulatorError(code, HTTPStatus(code).phrase)
        return JSONResponse({"status": code}, code) if code != 204 else Response(status_code=204)

    async def html_page(self, _request: Request) -> Response:
        return HTMLResponse(HTML_PAGE)

    async def bearer(self, request: Request) -> Response:
        grant = self.bearer_grant(request)
        return JSONResponse({"authenticated": True, "user": grant.user})

    async def list_items(self, _request: Request) -> Response:
        with self.lock:
            return JSONResponse([asdict(item) for item in self.items.values()])

    async def create_item(self, request: Request) -> Response:
        name, tags = _item_fields(await request.body())
        item = self.add_item(name, tags)
        headers = {"Location": f"{self.url}/items/{item.id}"}
        return JSONResponse(asdict(item), 201, headers)

    async def get_item(self, request: Request) -> Response:
        return JSONResponse(asdict(self._item(request)))

    async def replace_item(self, request: Request) -> Response:
        name, tags = _item_fields(await request.body())
        with self.lock:
            item = self._item(request)
            item.name, item.tags = name, tags
            return JSONResponse(asdict(item))

    async def delete_item(self, request: Request) -> Response:
        with self.lock:
            self.items.pop(self._item(request).id)
        return Response(status_code=204)

    def _item(self, request: Request) -> Item:
        item_id = request.path_params["item_id"]
        item = self.items.get(item_id)
        if item is None:
            raise EmulatorError(404, f"item {item_id} does not exist")
        return item


def _item_fields(raw: bytes) -> tuple[str, list[str]]:
    """The validated `name` and `tags` of an item body, or a 400 naming the problem."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise EmulatorError(400, "the body must be a JSON object", error="invalid_json") from exc
    if not isinstance(data, dict):
        raise EmulatorError(400, "the body must be a JSON object", error="invalid_item")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise EmulatorError(
            400, '"name" is required and must be a non-empty string', error="invalid_item"
        )
    tags = data.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise EmulatorError(400, '"tags" must be a list of strings', error="invalid_item")
    return name, tags
