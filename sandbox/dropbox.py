"""Dropbox on 127.0.0.1: files, folders, folder cursors and shared links under `/2/…`.

Like Dropbox API v2: RPC routes take a JSON body; `files/upload` takes raw bytes as
`application/octet-stream` with its arguments as (ASCII) JSON in the `Dropbox-API-Arg`
header; one server stands in for both api.dropboxapi.com and content.dropboxapi.com.
Calls Dropbox cannot parse (bad Content-Type, bad JSON, a missing field, a path that
does not match the route's pattern) get HTTP 400 with a plain-text explanation; route
errors get HTTP 409 `{"error_summary": "path/not_found/...", "error": {".tag": …}}`;
token problems get 401 `invalid_access_token` / `missing_scope` (with
`required_scope`). Folder cursors follow the real semantics: `list_folder` pages with
`has_more`, `list_folder/continue` then returns what changed, and
`list_folder/get_latest_cursor` starts from now.

Tests seed with `add_file`/`add_folder`/`remove` and inspect `entries`, `read` and
`links`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.emulator import Emulator, EmulatorError, bearer_token
from sandbox.wire import decode_token, encode_token, iso_seconds

# Path patterns of the route arguments, as the Stone definitions spell them.
WRITE_PATH = r"(/(.|[\r\n])*)|(ns:[0-9]+(/(.|[\r\n])*)?)"
WRITE_PATH_OR_ID = r"(/(.|[\r\n])*)|(ns:[0-9]+(/(.|[\r\n])*)?)|(id:.*)"
PATH_R_OR_ID = r"(/(.|[\r\n])*)?|id:.*|(ns:[0-9]+(/(.|[\r\n])*)?)"
READ_PATH = r"(/(.|[\r\n])*|id:.*)|(rev:[0-9a-f]{9,})|(ns:[0-9]+(/(.|[\r\n])*)?)"
TIMESTAMP = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"
UPLOAD_LIMIT = 150 * 1024 * 1024
HASH_BLOCK = 4 * 1024 * 1024
MAX_LIST_LIMIT = 2000
CORS_HACK = "text/plain; charset=dropbox-cors-hack"  # what browsers may send instead
UPLOAD_TYPES = {"application/octet-stream", CORS_HACK}

Arg = dict[str, Any]


def dropbox_timestamp() -> str:
    """Now, as Dropbox writes times (UTC, whole seconds)."""
    return iso_seconds(datetime.now(UTC))


def content_hash(content: bytes) -> str:
    """Dropbox's content hash: SHA-256 over the SHA-256 digests of 4 MiB blocks."""
    blocks = (content[i : i + HASH_BLOCK] for i in range(0, len(content), HASH_BLOCK))
    return hashlib.sha256(b"".join(hashlib.sha256(b).digest() for b in blocks)).hexdigest()


def _parent(path_lower: str) -> str:
    return path_lower.rsplit("/", 1)[0]


class RouteError(EmulatorError):
    """A 409 route error: its summary tags and the route's error union value."""

    def __init__(self, tags: list[str], error: dict[str, Any]) -> None:
        super().__init__(409, "/".join(tags) + "/...", error=error)


class _WriteFailed(Exception):
    """A WriteError (files.WriteError) before it is wrapped in the route's error type."""

    def __init__(self, tags: list[str], error: dict[str, Any]) -> None:
        super().__init__("/".join(tags))
        self.tags = tags
        self.error = error


def _malformed() -> _WriteFailed:
    return _WriteFailed(["malformed_path"], {".tag": "malformed_path"})


def _conflict(kind: str) -> _WriteFailed:
    return _WriteFailed(["conflict", kind], {".tag": "conflict", "conflict": {".tag": kind}})


def _lookup_error(tag: str) -> RouteError:
    """A files.LookupError under the route's `path` member."""
    return RouteError(["path", tag], {".tag": "path", "path": {".tag": tag}})


@dataclass
class Entry:
    tag: str  # "file" | "folder"
    path_display: str
    id: str
    content: bytes = b""
    rev: str = ""
    modified: str = ""

    @property
    def path_lower(self) -> str:
        return self.path_display.lower()

    @property
    def name(self) -> str:
        return self.path_display.rsplit("/", 1)[-1]

    def revision(self) -> dict[str, Any]:
        """What file metadata and file link metadata both say of a file's version."""
        return {
            "client_modified": self.modified,
            "server_modified": self.modified,
            "rev": self.rev,
            "size": len(self.content),
        }

    def metadata(self, *, tagged: bool) -> dict[str, Any]:
        """FileMetadata / FolderMetadata; `tagged` adds the ".tag" Metadata carries."""
        meta: dict[str, Any] = {
            "name": self.name,
            "path_lower": self.path_lower,
            "path_display": self.path_display,
            "id": self.id,
        }
        if self.tag == "file":
            meta.update(
                self.revision(), is_downloadable=True, content_hash=content_hash(self.content)
            )
        return {".tag": self.tag, **meta} if tagged else meta


@dataclass
class Change:
    seq: int
    path_lower: str
    metadata: dict[str, Any]  # tagged: file, folder or deleted


@dataclass
class FolderCursor:
    """What a list_folder cursor encodes: the folder, options, the change sequence the
    listing started at, and — while the first listing is paged — its offset."""

    epoch: str
    folder: str  # lower-cased; "" is the root
    recursive: bool
    limit: int
    seq: int
    offset: int | None = None

    def encode(self) -> str:
        return encode_token(asdict(self))

    @classmethod
    def decode(cls, token: str) -> FolderCursor:
        return cls(**decode_token(token))


class DropboxEmulator(Emulator):
    name = "dropbox"

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}  # by lower-cased path
        self.changes: list[Change] = []
        self.links: dict[str, dict[str, Any]] = {}  # by lower-cased path
        self.seq = 0
        self.epoch = secrets.token_hex(4)
        self._revs = itertools.count(1)
        super().__init__()

    def routes(self) -> list[BaseRoute]:
        rpc = [
            ("files/create_folder_v2", "files.content.write", self._create_folder),
            ("files/list_folder", "files.metadata.read", self._list_folder),
            ("files/list_folder/continue", "files.metadata.read", self._list_folder_continue),
            ("files/list_folder/get_latest_cursor", "files.metadata.read", self._latest_cursor),
            ("sharing/create_shared_link_with_settings", "sharing.write", self._create_link),
            ("sharing/list_shared_links", "sharing.read", self._list_links),
        ]
        return [
            Route("/2/files/upload", self._upload, methods=["POST"]),
            Route("/2/files/download", self._download, methods=["POST"]),
            *(
                Route(f"/2/{route}", self._rpc_endpoint(route, scope, handler), methods=["POST"])
                for route, scope, handler in rpc
            ),
        ]

    def settings_overrides(self) -> dict[str, str]:
        return {"dropbox_base_url": f"{self.url}/2", "dropbox_content_url": f"{self.url}/2"}

    def error_response(self, status: int, message: str, **extra: Any) -> Response:
        """Calls Dropbox cannot parse get a 400 with a plain-text explanation; the rest
        of its errors are JSON."""
        if status == 400:
            return PlainTextResponse(message, status)
        return super().error_response(status, message, **extra)

    def error_body(self, status: int, message: str, **extra: Any) -> Any:
        if "error" in extra:
            return {"error_summary": message, "error": extra["error"]}
        if status == 429:
            return {
                "error_summary": "too_many_requests/...",
                "error": {"reason": {".tag": "too_many_requests"}, "retry_after": 1},
            }
        return {"error_summary": "other/...", "error": {".tag": "other"}}

    # --- seeding and inspection ----------------------------------------------------------

    def add_folder(self, path: str) -> Entry:
        with self.lock:
            return self._make_folder(path, autorename=False)

    def add_file(self, path: str, content: bytes | str = b"") -> Entry:
        data = content.encode() if isinstance(content, str) else content
        with self.lock:
            return self._write_file(path, data, mode="overwrite", rev=None, autorename=False)

    def remove(self, path: str) -> None:
        """Delete a file or folder (and everything in it), as another client might."""
        with self.lock:
            doomed = path.lower()
            for key in [k for k in self.entries if k == doomed or k.startswith(doomed + "/")]:
                entry = self.entries.pop(key)
                self._log(
                    key,
                    {
                        ".tag": "deleted",
                        "name": entry.name,
                        "path_lower": key,
                        "path_display": entry.path_display,
                    },
                )

    def read(self, path: str) -> bytes:
        return self.entries[path.lower()].content

    # --- the file tree ---------------------------------------------------------------------

    def _log(self, path_lower: str, metadata: dict[str, Any]) -> None:
        self.seq += 1
        self.changes.append(Change(self.seq, path_lower, metadata))

    def _store(self, entry: Entry) -> Entry:
        self.entries[entry.path_lower] = entry
        self._log(entry.path_lower, entry.metadata(tagged=True))
        return entry

    def _new_id(self) -> str:
        return "id:" + secrets.token_urlsafe(16)[:22]

    def _checked_path(self, path: str) -> str:
        """A path to write to, or a malformed_path failure (Dropbox: no trailing slash, no
        empty component, not the root)."""
        if path.startswith("id:"):
            entry = next((e for e in self.entries.values() if e.id == path), None)
            if entry is None:
                raise _malformed()
            return entry.path_display
        if not path.startswith("/") or path == "/" or path.endswith("/") or "//" in path:
            raise _malformed()
        return path

    def _ensure_parents(self, path: str) -> None:
        """Create missing parent folders; a file among them is a `file_ancestor` conflict."""
        parts = path.split("/")[1:-1]
        for depth in range(1, len(parts) + 1):
            ancestor = "/" + "/".join(parts[:depth])
            existing = self.entries.get(ancestor.lower())
            if existing is None:
                self._store(Entry("folder", ancestor, self._new_id()))
            elif existing.tag == "file":
                raise _conflict("file_ancestor")

    def _free_name(self, path: str) -> str:
        """Dropbox's autorename: "report.txt" -> "report (1).txt", "(2)", …"""
        folder, _, name = path.rpartition("/")
        stem, dot, extension = name.rpartition(".") if "." in name.lstrip(".") else (name, "", "")
        candidates = (f"{folder}/{stem} ({n}){dot}{extension}" for n in itertools.count(1))
        return next(c for c in candidates if c.lower() not in self.entries)

    def _write_file(
        self, path: str, content: bytes, *, mode: str, rev: str | None, autorename: bool
    ) -> Entry:
        target = self._checked_path(path)
        self._ensure_parents(target)
        existing = self.entries.get(target.lower())
        now = dropbox_timestamp()
        new_rev = f"{next(self._revs):05x}{secrets.token_hex(4)}"
        if existing is not None and existing.tag == "folder":
            if not autorename:
                raise _conflict("folder")
            target = self._free_name(target)
        elif existing is not None:
            replace = mode == "overwrite" or (mode == "update" and rev == existing.rev)
            if replace or existing.content == content:
                if existing.content != content:
                    existing.content, existing.rev, existing.modified = content, new_rev, now
                    self._log(existing.path_lower, existing.metadata(tagged=True))
                return existing
            if not autorename:
                raise _conflict("file")
            target = self._free_name(target)
        return self._store(Entry("file", target, self._new_id(), content, new_rev, now))

    def _make_folder(self, path: str, *, autorename: bool) -> Entry:
        target = self._checked_path(path)
        self._ensure_parents(target)
        existing = self.entries.get(target.lower())
        if existing is not None:
            if not autorename:
                raise _conflict(existing.tag)
            target = self._free_name(target)
        return self._store(Entry("folder", target, self._new_id()))

    def _lookup(self, path: str) -> Entry | None:
        """The entry at a path or `id:`; a malformed path raises path/malformed_path."""
        if path.startswith("id:"):
            return next((e for e in self.entries.values() if e.id == path), None)
        if path.startswith(("ns:", "rev:")):
            return None
        if path.endswith("/") or "//" in path:
            raise _lookup_error("malformed_path")
        return self.entries.get(path.lower())

    def _folder(self, route: str, path: str) -> str:
        """The lower-cased folder a list_folder-style path names ("" is the root)."""
        if path == "/":
            raise _text(
                route, 'path: Specify the root folder as an empty string rather than as "/".'
            )
        if path == "":
            return ""
        entry = self._lookup(path)
        if entry is None:
            raise _lookup_error("not_found")
        if entry.tag != "folder":
            raise _lookup_error("not_folder")
        return entry.path_lower

    # --- request plumbing -----------------------------------------------------------------

    def _authorize(self, request: Request, route: str, scope: str) -> None:
        if "authorization" not in request.headers:
            raise _text(
                route, 'Must provide HTTP header "Authorization" or URL parameter "authorization".'
            )
        token = bearer_token(request)
        if not token:
            raise _text(route, "The given OAuth 2 access token is malformed.")
        grant = self.grants.get(token)
        if grant is None:
            raise EmulatorError(
                401, "invalid_access_token/...", error={".tag": "invalid_access_token"}
            )
        if not grant.allows(scope):
            raise EmulatorError(
                401, "missing_scope/...", error={".tag": "missing_scope", "required_scope": scope}
            )

    def _rpc_endpoint(
        self, route: str, scope: str, handler: Callable[[str, Arg], dict[str, Any]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            self._authorize(request, route, scope)
            content_type = request.headers.get("content-type", "")
            media = content_type.split(";")[0].strip().lower()
            if media != "application/json" and content_type != CORS_HACK:
                raise _text(
                    route,
                    f'Bad HTTP "Content-Type" header: "{content_type}".  Expecting one of '
                    '"application/json", "application/json; charset=utf-8", '
                    '"text/plain; charset=dropbox-cors-hack".',
                )
            arg = _decode_arg(route, await request.body() or b"null", "request body")
            with self.lock:
                return JSONResponse(handler(route, arg))

        return endpoint

    # --- routes ---------------------------------------------------------------------------

    async def _upload(self, request: Request) -> Response:
        route = "files/upload"
        self._authorize(request, route, "files.content.write")
        raw = _header_arg(request, route)
        content_type = request.headers.get("content-type", "")
        if content_type not in UPLOAD_TYPES:
            raise _text(
                route,
                f'Bad HTTP "Content-Type" header: "{content_type}".  Expecting one of '
                '"application/octet-stream", "text/plain; charset=dropbox-cors-hack".',
            )
        where = 'HTTP header "Dropbox-API-Arg"'
        arg = _decode_arg(route, raw.encode(), where)
        fields = _Fields(route, arg, where)
        path = fields.string("path", required=True, pattern=WRITE_PATH_OR_ID)
        mode, rev = fields.write_mode()
        autorename = fields.boolean("autorename")
        fields.boolean("mute")
        fields.boolean("strict_conflict")
        fields.string("client_modified", pattern=TIMESTAMP)
        expected_hash = fields.string("content_hash", pattern=r"[0-9a-f]{64}")
        content = await request.body()
        if len(content) > UPLOAD_LIMIT:
            raise RouteError(["payload_too_large"], {".tag": "payload_too_large"})
        if expected_hash and expected_hash != content_hash(content):
            raise RouteError(["content_hash_mismatch"], {".tag": "content_hash_mismatch"})
        with self.lock:
            try:
                entry = self._write_file(path, content, mode=mode, rev=rev, autorename=autorename)
            except _WriteFailed as failed:
                session = secrets.token_urlsafe(12)
                error = {".tag": "path", "reason": failed.error, "upload_session_id": session}
                raise RouteError(["path", *failed.tags], error) from failed
            return JSONResponse(entry.metadata(tagged=False))

    async def _download(self, request: Request) -> Response:
        """files/download: the bytes as the body, the file's metadata as JSON in the
        Dropbox-API-Result header."""
        route = "files/download"
        self._authorize(request, route, "files.content.read")
        where = 'HTTP header "Dropbox-API-Arg"'
        arg = _decode_arg(route, _header_arg(request, route).encode(), where)
        path = _Fields(route, arg, where).string("path", required=True, pattern=READ_PATH)
        with self.lock:
            entry = self._lookup(path)
            if entry is None:
                raise _lookup_error("not_found")
            if entry.tag != "file":
                raise _lookup_error("not_file")
            result = json.dumps(entry.metadata(tagged=False), ensure_ascii=True)
            return Response(
                entry.content,
                media_type="application/octet-stream",
                headers={"Dropbox-API-Result": result},
            )

    def _create_folder(self, route: str, arg: Arg) -> dict[str, Any]:
        fields = _Fields(route, arg)
        path = fields.string("path", required=True, pattern=WRITE_PATH)
        autorename = fields.boolean("autorename")
        try:
            folder = self._make_folder(path, autorename=autorename)
        except _WriteFailed as failed:
            raise RouteError(
                ["path", *failed.tags], {".tag": "path", "path": failed.error}
            ) from failed
        return {"metadata": folder.metadata(tagged=False)}

    def _folder_cursor(self, route: str, arg: Arg) -> FolderCursor:
        fields = _Fields(route, arg)
        path = fields.string("path", required=True, pattern=PATH_R_OR_ID)
        recursive = fields.boolean("recursive")
        for flag in (
            "include_deleted",
            "include_media_info",
            "include_has_explicit_shared_members",
            "include_mounted_folders",
            "include_non_downloadable_files",
            "include_restorable_info",
        ):
            fields.boolean(flag)
        limit = fields.integer("limit", 1, MAX_LIST_LIMIT) or MAX_LIST_LIMIT
        folder = self._folder(route, path)
        return FolderCursor(self.epoch, folder, recursive, limit, self.seq)

    def _in_scope(self, cursor: FolderCursor, path_lower: str) -> bool:
        if cursor.recursive:
            return cursor.folder == "" or path_lower.startswith(cursor.folder + "/")
        return _parent(path_lower) == cursor.folder

    def _list_folder(self, route: str, arg: Arg) -> dict[str, Any]:
        return self._listing_page(self._folder_cursor(route, arg), 0)

    def _listing_page(self, cursor: FolderCursor, offset: int) -> dict[str, Any]:
        """A page of the folder's current entries (the first listing)."""
        listing = sorted(
            (e for key, e in self.entries.items() if self._in_scope(cursor, key)),
            key=lambda e: e.path_lower,
        )
        page = listing[offset : offset + cursor.limit]
        has_more = offset + cursor.limit < len(listing)
        cursor.offset = offset + cursor.limit if has_more else None
        return {
            "entries": [e.metadata(tagged=True) for e in page],
            "cursor": cursor.encode(),
            "has_more": has_more,
        }

    def _list_folder_continue(self, route: str, arg: Arg) -> dict[str, Any]:
        token = _Fields(route, arg).string("cursor", required=True, pattern=r".+")
        try:
            cursor = FolderCursor.decode(token)
        except (ValueError, TypeError) as exc:
            raise _text(route, f'request body: cursor: invalid cursor "{token[:40]}"') from exc
        if cursor.epoch != self.epoch:
            raise RouteError(["reset"], {".tag": "reset"})
        if cursor.folder and cursor.folder not in self.entries:
            raise _lookup_error("not_found")
        if cursor.offset is not None:
            return self._listing_page(cursor, cursor.offset)
        return self._changes_page(cursor)

    def _changes_page(self, cursor: FolderCursor) -> dict[str, Any]:
        """What changed in the folder since the cursor, one entry per path (its latest
        state), oldest change first."""
        latest: dict[str, Change] = {}
        for change in self.changes:
            if change.seq > cursor.seq and self._in_scope(cursor, change.path_lower):
                latest.pop(change.path_lower, None)
                latest[change.path_lower] = change
        pending = list(latest.values())
        page = pending[: cursor.limit]
        has_more = len(pending) > cursor.limit
        cursor.seq = page[-1].seq if has_more else self.seq
        return {
            "entries": [change.metadata for change in page],
            "cursor": cursor.encode(),
            "has_more": has_more,
        }

    def _latest_cursor(self, route: str, arg: Arg) -> dict[str, Any]:
        return {"cursor": self._folder_cursor(route, arg).encode()}

    def _create_link(self, route: str, arg: Arg) -> dict[str, Any]:
        fields = _Fields(route, arg)
        path = fields.string("path", required=True, pattern=READ_PATH)
        settings = _link_settings(route, arg.get("settings"))
        entry = self._lookup(path)
        if entry is None:
            raise _lookup_error("not_found")
        existing = self.links.get(entry.path_lower)
        if existing is not None:
            error: dict[str, Any] = {".tag": "shared_link_already_exists"}
            if not settings:
                error["shared_link_already_exists"] = {".tag": "metadata", "metadata": existing}
            raise RouteError(["shared_link_already_exists"], error)
        link = self._link(entry, settings)
        self.links[entry.path_lower] = link
        return link

    def _link(self, entry: Entry, settings: dict[str, Any]) -> dict[str, Any]:
        """sharing.SharedLinkMetadata: FileLinkMetadata or FolderLinkMetadata."""
        kind = "fi" if entry.tag == "file" else "fo"
        link: dict[str, Any] = {
            ".tag": entry.tag,
            "url": f"https://www.dropbox.com/scl/{kind}/{secrets.token_hex(12)}/"
            f"{quote(entry.name)}?rlkey={secrets.token_hex(13)}&dl=0",
            "id": entry.id,
            "name": entry.name,
            "path_lower": entry.path_lower,
            "link_permissions": _link_permissions(),
        }
        if entry.tag == "file":
            link.update(entry.revision())
        if settings.get("expires"):
            link["expires"] = settings["expires"]
        return link

    def _list_links(self, route: str, arg: Arg) -> dict[str, Any]:
        fields = _Fields(route, arg)
        path = fields.string("path", pattern=READ_PATH)
        fields.string("cursor")
        direct_only = fields.boolean("direct_only")
        if path is None:
            return {"links": list(self.links.values()), "has_more": False}
        entry = self._lookup(path)
        if entry is None:
            raise _lookup_error("not_found")
        key = entry.path_lower
        links = [
            link
            for linked, link in self.links.items()
            if linked == key or (not direct_only and key.startswith(linked + "/"))
        ]
        return {"links": links, "has_more": False}


# --- argument decoding --------------------------------------------------------------------


def _text(route: str, detail: str) -> EmulatorError:
    """A 400 "bad input" error, which Dropbox explains in plain text."""
    return EmulatorError(400, f'Error in call to API function "{route}": {detail}')


def _header_arg(request: Request, route: str) -> str:
    """A content route's argument: the Dropbox-API-Arg header, ASCII as Dropbox demands."""
    raw = request.headers.get("dropbox-api-arg")
    if raw is None:
        raise _text(route, 'Must provide HTTP header "Dropbox-API-Arg" or URL parameter "arg".')
    if not raw.isascii() or "\x7f" in raw:
        raise _text(
            route,
            'HTTP header "Dropbox-API-Arg": non-ASCII characters must be escaped as \\uXXXX.',
        )
    return raw


def _decode_arg(route: str, raw: bytes, where: str) -> Arg:
    try:
        arg = json.loads(raw)
    except ValueError as exc:
        raise _text(route, f"{where}: could not decode input as JSON") from exc
    if arg is None:
        return {}
    if not isinstance(arg, dict):
        raise _text(route, f"{where}: expected object, got {_json_type(arg)}")
    return arg


def _json_type(value: Any) -> str:
    names = {bool: "boolean", int: "integer", float: "float", str: "string", list: "list"}
    return "null" if value is None else names.get(type(value), "object")


class _Fields:
    """Reads a route argument's fields the way Dropbox checks them (400 on mismatch)."""

    def __init__(self, route: str, arg: Arg, where: str = "request body") -> None:
        self.route, self.arg, self.where = route, arg, where

    def _fail(self, detail: str) -> EmulatorError:
        return _text(self.route, f"{self.where}: {detail}")

    def string(self, name: str, *, required: bool = False, pattern: str | None = None) -> Any:
        value = self.arg.get(name)
        if value is None:
            if required:
                raise self._fail(f"missing required field '{name}'")
            return None
        if not isinstance(value, str):
            raise self._fail(f"{name}: expected string, got {_json_type(value)}")
        if pattern is not None and not re.fullmatch(pattern, value):
            raise self._fail(f"{name}: '{value}' did not match pattern '{pattern}'")
        return value

    def boolean(self, name: str) -> bool:
        value = self.arg.get(name, False)
        if not isinstance(value, bool):
            raise self._fail(f"{name}: expected boolean, got {_json_type(value)}")
        return value

    def integer(self, name: str, low: int, high: int) -> int | None:
        value = self.arg.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._fail(f"{name}: expected integer, got {_json_type(value)}")
        if not low <= value <= high:
            raise self._fail(f"{name}: {value} is not within [{low}, {high}]")
        return value

    def write_mode(self) -> tuple[str, str | None]:
        """files.WriteMode: "add" / "overwrite", or {".tag": …} with `update: <rev>`."""
        mode = self.arg.get("mode", "add")
        tag = mode.get(".tag") if isinstance(mode, dict) else mode
        if tag == "update" and isinstance(mode, dict):
            rev = mode.get("update")
            if not isinstance(rev, str) or not re.fullmatch(r"[0-9a-f]{9,}", rev):
                raise self._fail(f"mode: update: '{rev}' did not match pattern '[0-9a-f]+'")
            return "update", rev
        if tag not in ("add", "overwrite"):
            raise self._fail(f'mode: unknown tag "{tag}"')
        return tag, None


def _link_settings(route: str, settings: Any) -> dict[str, Any]:
    if settings is None:
        return {}
    if not isinstance(settings, dict):
        raise _text(route, f"request body: settings: expected object, got {_json_type(settings)}")
    fields = _Fields(route, settings, "request body: settings")
    expires = fields.string("expires", pattern=TIMESTAMP)
    if expires and expires <= dropbox_timestamp():
        raise RouteError(
            ["settings_error", "invalid_settings"],
            {".tag": "settings_error", "settings_error": {".tag": "invalid_settings"}},
        )
    return {key: value for key, value in settings.items() if value is not None}


def _link_permissions() -> dict[str, Any]:
    def policy(name: str) -> dict[str, Any]:
        return {
            "policy": {".tag": name},
            "resolved_policy": {".tag": name},
            "allowed": True,
        }

    return {
        "resolved_visibility": {".tag": "public"},
        "requested_visibility": {".tag": "public"},
        "can_revoke": True,
        "visibility_policies": [policy("public"), policy("password")],
        "can_set_expiry": True,
        "can_remove_expiry": True,
        "allow_download": True,
        "can_allow_download": True,
        "can_disallow_download": True,
        "allow_comments": True,
        "team_restricts_comments": False,
        "audience_options": [],
        "can_set_password": True,
        "can_remove_password": True,
        "require_password": False,
        "can_use_extended_sharing_controls": False,
        "effective_audience": {".tag": "public"},
        "link_access_level": {".tag": "viewer"},
    }
