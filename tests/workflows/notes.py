"""A small test service for the workflow engine: the `notes` connector and its emulator.

It talks real HTTP through connectors/client.py to a real loopback server, so retries,
429 + Retry-After, dropped connections and timeouts are the real thing:

- `notes.create_note`  POST /notes        not idempotent (honours `Idempotency-Key`)
- `notes.update_note`  PUT  /notes/{id}   idempotent
- `notes.list_notes`   GET  /notes        idempotent
- event `notes.note_created` (config: folder; payload: note, folder)
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from connectors.base import ActionContext, Connector, EventItem, OAuth2Auth, PollResult
from core.settings import Settings
from sandbox.emulator import Emulator, EmulatorError


class NotesSettings(Settings):
    notes_base_url: str = ""


# --- the connector -----------------------------------------------------------------------

connector = Connector(
    name="notes",
    title="Notes",
    auth=OAuth2Auth(
        authorize_url="https://notes.invalid/oauth/authorize",
        token_url="https://notes.invalid/oauth/token",
    ),
    base_url_setting="notes_base_url",
    description="A notes service used by the engine tests.",
)


class NewNote(BaseModel):
    title: str = Field(description="Title of the note.")
    body: str = ""
    labels: list[str] = Field(default_factory=list)


class Note(BaseModel):
    id: str
    title: str
    body: str
    labels: list[str]
    url: str


class NoteChange(BaseModel):
    id: str
    title: str


class NoteQuery(BaseModel):
    label: str | None = None


class NoteList(BaseModel):
    notes: list[Note]
    count: int


@connector.action(idempotent=False, scopes=("notes:write",))
async def create_note(ctx: ActionContext, data: NewNote) -> Note:
    """Create a note."""
    headers = {"Idempotency-Key": ctx.idempotency_key} if ctx.idempotency_key else {}
    body = await ctx.http.json(
        "POST", "/notes", idempotent=False, json=data.model_dump(), headers=headers
    )
    return Note.model_validate(body)


@connector.action(idempotent=True, scopes=("notes:write",))
async def update_note(ctx: ActionContext, data: NoteChange) -> Note:
    """Rename a note."""
    body = await ctx.http.json(
        "PUT", f"/notes/{data.id}", idempotent=True, json={"title": data.title}
    )
    return Note.model_validate(body)


@connector.action(idempotent=True, scopes=("notes:read",))
async def list_notes(ctx: ActionContext, data: NoteQuery) -> NoteList:
    """List notes, optionally with one label."""
    params = {"label": data.label} if data.label else {}
    body = await ctx.http.json("GET", "/notes", idempotent=True, params=params)
    notes = [Note.model_validate(item) for item in body["notes"]]
    return NoteList(notes=notes, count=len(notes))


class FolderConfig(BaseModel):
    folder: str


class NoteCreated(BaseModel):
    note: Note
    folder: str


async def poll_created(ctx: ActionContext, config: FolderConfig, cursor: str | None) -> PollResult:
    body = await ctx.http.json("GET", "/notes", idempotent=True)
    seen = int(cursor or len(body["notes"]))
    fresh = body["notes"][seen:]
    return PollResult(
        items=[EventItem(n["id"], {"note": n, "folder": config.folder}) for n in fresh],
        cursor=str(len(body["notes"])),
    )


connector.event(
    name="note_created",
    description="A note was created.",
    config_model=FolderConfig,
    payload_model=NoteCreated,
    poll=poll_created,
)


# --- the emulator --------------------------------------------------------------------------


class NotesEmulator(Emulator):
    name = "notes"

    def __init__(self) -> None:
        self.notes: dict[str, dict[str, Any]] = {}
        self.by_idempotency_key: dict[str, str] = {}
        self.ids = itertools.count(1)
        self.in_flight = 0
        super().__init__()

    async def _asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        with self.lock:
            self.in_flight += 1
        try:
            await super()._asgi(scope, receive, send)
        finally:
            with self.lock:
                self.in_flight -= 1

    def reset(self, settle_seconds: float = 5.0) -> None:
        """Forget everything, after letting requests still in flight (a delayed one
        whose client gave up) finish, so they cannot leak into the next test."""
        deadline = time.monotonic() + settle_seconds
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.01)
        with self.lock:
            self.requests.clear()
            self.faults.clear()
            self.notes.clear()
            self.by_idempotency_key.clear()
            self.ids = itertools.count(1)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/notes", self.create, methods=["POST"]),
            Route("/notes", self.list_all, methods=["GET"]),
            Route("/notes/{note_id}", self.rename, methods=["PUT"]),
        ]

    def settings_overrides(self) -> dict[str, str]:
        return {"notes_base_url": self.url}

    def error_body(self, status: int, message: str, **extra: Any) -> Any:
        return {"error": {"code": status, "message": message}}

    async def create(self, request: Request) -> JSONResponse:
        self.bearer_grant(request, "notes:write")
        data = await request.json()
        if not str(data.get("title") or "").strip():
            raise EmulatorError(422, "title must not be empty")
        key = request.headers.get("idempotency-key")
        with self.lock:
            if key and key in self.by_idempotency_key:
                return JSONResponse(self.notes[self.by_idempotency_key[key]], 200)
            note_id = f"n{next(self.ids)}"
            note = {
                "id": note_id,
                "title": data["title"],
                "body": data.get("body", ""),
                "labels": list(data.get("labels") or []),
                "url": f"{self.url}/n/{note_id}",
            }
            self.notes[note_id] = note
            if key:
                self.by_idempotency_key[key] = note_id
        return JSONResponse(note, 201)

    async def list_all(self, request: Request) -> JSONResponse:
        self.bearer_grant(request, "notes:read")
        label = request.query_params.get("label")
        with self.lock:
            notes = [n for n in self.notes.values() if label is None or label in n["labels"]]
        return JSONResponse({"notes": notes})

    async def rename(self, request: Request) -> JSONResponse:
        self.bearer_grant(request, "notes:write")
        data = await request.json()
        with self.lock:
            note = self.notes.get(request.path_params["note_id"])
            if note is None:
                raise EmulatorError(404, "no such note")
            note["title"] = data["title"]
            return JSONResponse(dict(note))

    def titles(self) -> list[str]:
        with self.lock:
            return [n["title"] for n in self.notes.values()]
