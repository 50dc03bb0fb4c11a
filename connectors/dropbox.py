"""Dropbox: upload files, create folders and shared links; react to new files.

Dropbox API v2 has two kinds of routes. RPC routes take a JSON body at
`POST {dropbox_base_url}/<route>`; upload routes take the raw bytes
(`application/octet-stream`) at `POST {dropbox_content_url}/<route>`, with their
arguments as JSON in the `Dropbox-API-Arg` header. Route errors are HTTP 409 with
`{"error_summary": "path/not_found/..", "error": {".tag": …}}`, calls Dropbox cannot
parse get a 400 with a plain-text explanation, and token problems a 401
(`invalid_access_token/…`, `missing_scope/…`).
"""

from __future__ import annotations

import json
from typing import Any, Literal, Self

import httpx
from pydantic import BaseModel, Field, model_validator

from connectors.base import (
    ActionContext,
    Connector,
    ConnectorError,
    Destroys,
    EventItem,
    InvalidInput,
    NotFound,
    OAuth2Auth,
    PollResult,
    read_error_message,
)

MAX_POLL_PAGES = 10
UPLOAD_LIMIT = 150 * 1024 * 1024  # files/upload takes at most 150 MiB

# What an error summary's tags mean, most specific first ("path/conflict/folder/..").
EXPLANATIONS = {
    "conflict/file": "a file already exists at that path",
    "conflict/folder": "a folder already exists at that path",
    "conflict/file_ancestor": "a file is in the way of that path's folders",
    "malformed_path": "the path is malformed (it starts with / and does not end with /)",
    "not_found": "there is nothing at that path",
    "not_folder": "that path is a file, not a folder",
    "not_file": "that path is a folder, not a file",
    "no_write_permission": "you may not write to that path",
    "insufficient_space": "the Dropbox is full",
    "disallowed_name": "Dropbox does not allow that name",
    "payload_too_large": "the file is larger than 150 MiB",
    "shared_link_already_exists": "that path already has a shared link",
    "email_not_verified": "the Dropbox account's e-mail address is not verified",
    "access_denied": "you may not share that path",
    "reset": "the folder listing expired",
    "invalid_access_token": "the access token is not valid",
    "expired_access_token": "the access token has expired",
}


def summary_tags(summary: str) -> list[str]:
    """`path/conflict/folder/...` -> ["path", "conflict", "folder"]."""
    return [tag for tag in summary.split("/") if tag.strip(".")]


def read_dropbox_error(response: httpx.Response) -> str:
    """Dropbox's error summary in words, followed by its tags, e.g.
    "there is nothing at that path (path/not_found)"."""
    try:
        body = response.json()
    except ValueError:
        return read_error_message(response)  # a 400's plain-text explanation
    if not isinstance(body, dict) or not body.get("error_summary"):
        return read_error_message(response)
    tags = summary_tags(str(body["error_summary"]))
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    if tags[:1] == ["missing_scope"]:
        scope = error.get("required_scope", "?")
        return (
            f"the connection lacks the Dropbox permission {scope!r}; reconnect Dropbox to grant it"
        )
    explanation = next(
        (
            EXPLANATIONS["/".join(tags[i:])]
            for i in range(len(tags))
            if "/".join(tags[i:]) in EXPLANATIONS
        ),
        "Dropbox refused the request",
    )
    return f"{explanation} ({'/'.join(tags)})"


class RouteError(InvalidInput):
    """A Dropbox route error (HTTP 409) other than a failed lookup: its summary `tags`
    and the route's `error` union, for callers that handle particular cases."""

    def __init__(self, message: str, tags: list[str], error: dict[str, Any]) -> None:
        super().__init__(message, service="dropbox")
        self.tags = tags
        self.error = error


def route_error(response: httpx.Response) -> ConnectorError:
    """The error for a 409: NotFound when a lookup failed (path/not_found), else a
    RouteError (conflicts, malformed paths, …) carrying Dropbox's words."""
    try:
        body = response.json()
    except ValueError:
        body = None
    body = body if isinstance(body, dict) else {}
    tags = summary_tags(str(body.get("error_summary", "")))
    message = f"dropbox: {read_dropbox_error(response)}"
    if "not_found" in tags:
        return NotFound(message, service="dropbox")
    error = body.get("error")
    return RouteError(message, tags, error if isinstance(error, dict) else {})


connector = Connector(
    name="dropbox",
    title="Dropbox",
    description="Upload files, create folders and shared links; react to new files.",
    auth=OAuth2Auth(
        authorize_url="https://www.dropbox.com/oauth2/authorize",
        token_url="https://api.dropboxapi.com/oauth2/token",
        pkce=True,
        # offline: Dropbox then issues a refresh token with the short-lived access token.
        extra_authorize_params={"token_access_type": "offline"},
        client_id_setting="dropbox_app_key",
        client_secret_setting="dropbox_app_secret",
    ),
    base_url_setting="dropbox_base_url",
    read_error=read_dropbox_error,
)


# --- models --------------------------------------------------------------------------


class FileOutput(BaseModel):
    id: str = Field(description='The file\'s stable id ("id:…").')
    name: str
    path: str = Field(description="The file's path, as displayed.")
    path_lower: str = ""
    size: int = 0
    rev: str = ""
    server_modified: str = ""
    content_hash: str | None = None

    @classmethod
    def from_api(cls, entry: dict[str, Any]) -> Self:
        return cls(
            id=entry["id"],
            name=entry.get("name", ""),
            path=entry.get("path_display") or entry.get("path_lower") or "",
            path_lower=entry.get("path_lower") or "",
            size=entry.get("size", 0),
            rev=entry.get("rev", ""),
            server_modified=entry.get("server_modified", ""),
            content_hash=entry.get("content_hash"),
        )


class UploadFileInput(BaseModel):
    path: str = Field(min_length=1, description="Where to save the file, e.g. /Reports/weekly.txt.")
    content: str | None = Field(
        None, description="The file's text (saved as UTF-8); give this or file."
    )
    file: str | None = Field(
        None, description='A file from an earlier step, e.g. "{{ steps.download.file }}".'
    )
    mode: Literal["add", "overwrite"] = Field(
        "add", description="add: keep an existing file (see autorename); overwrite: replace it."
    )
    autorename: bool = Field(
        False, description='On a clash, save as "name (1).txt" instead of failing.'
    )

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.content is None) == (self.file is None):
            raise ValueError("give exactly one of content (text) or file (an earlier step's file)")
        return self


class DownloadFileInput(BaseModel):
    path: str = Field(min_length=1, description="The file to read, e.g. /report.pdf.")


class DownloadedFile(BaseModel):
    file: str = Field(description="The stored file, for a later step's file input.")
    name: str
    path: str
    size: int
    content_hash: str | None = None


class CreateFolderInput(BaseModel):
    path: str = Field(min_length=1, description="The folder to create, e.g. /Projects/Atlas.")
    autorename: bool = Field(False, description='If it exists, create "Atlas (1)" instead.')


class FolderOutput(BaseModel):
    id: str
    name: str
    path: str


class CreateSharedLinkInput(BaseModel):
    path: str = Field(min_length=1, description="The file or folder to share.")


class SharedLinkOutput(BaseModel):
    url: str = Field(description="The shared link.")
    name: str
    path: str
    expires: str | None = None


class FileAddedConfig(BaseModel):
    folder: str = Field(
        "", description='The folder to watch, e.g. /Invoices ("" or "/" for the whole Dropbox).'
    )
    recursive: bool = Field(False, description="Also watch the folder's subfolders.")


class FileAddedPayload(FileOutput):
    """A new file, described like the files upload_file returns."""


# --- calls ---------------------------------------------------------------------------


def dropbox_path(path: str) -> str:
    """A path as Dropbox wants it: absolute ("reports/x" -> "/reports/x"); ids as given."""
    path = path.strip()
    return path if path.startswith(("/", "id:", "ns:", "rev:")) else f"/{path}"


def folder_path(folder: str) -> str:
    """A folder argument for list_folder routes, where the root is "" (not "/")."""
    return dropbox_path(folder).rstrip("/")


def api_arg_header(arg: dict[str, Any]) -> str:
    """JSON for the Dropbox-API-Arg header: HTTP headers must be ASCII, so non-ASCII
    characters (and DEL) are escaped as \\uXXXX, as Dropbox documents."""
    return json.dumps(arg, ensure_ascii=True).replace("\x7f", "\\u007f")


async def _call(ctx: ActionContext, path: str, *, idempotent: bool, **kwargs: Any) -> Any:
    """POST to a route; its result, or its 409 route error raised as a ConnectorError."""
    response = await ctx.http.request(
        "POST", path, idempotent=idempotent, allow_status=(409,), **kwargs
    )
    if response.status_code == 409:
        raise route_error(response)
    return response.json()


async def rpc(ctx: ActionContext, route: str, arg: dict[str, Any], *, idempotent: bool) -> Any:
    """Call an RPC route with its JSON argument."""
    return await _call(ctx, f"/{route}", idempotent=idempotent, json=arg)


# --- actions -------------------------------------------------------------------------


@connector.action(
    scopes=("files.content.write",),
    idempotent=False,
    destroys=(Destroys("overwrites", "path", when=(("mode", "overwrite"),)),),
)
async def upload_file(ctx: ActionContext, data: UploadFileInput) -> FileOutput:
    """Save text, or a file from an earlier step, as a file in Dropbox."""
    content = (
        data.content.encode() if data.content is not None else ctx.artifact_store().read(data.file)
    )
    if len(content) > UPLOAD_LIMIT:
        raise InvalidInput("Dropbox: the file is larger than 150 MiB.", service="dropbox")
    arg = {"path": dropbox_path(data.path), "mode": data.mode, "autorename": data.autorename}
    upload_url = ctx.http.settings.dropbox_content_url.rstrip("/") + "/files/upload"
    entry = await _call(
        ctx,
        upload_url,
        idempotent=False,
        content=content,
        headers={
            "Dropbox-API-Arg": api_arg_header(arg),
            "Content-Type": "application/octet-stream",
        },
    )
    return FileOutput.from_api(entry)


@connector.action(scopes=("files.content.read",), idempotent=True)
async def download_file(ctx: ActionContext, data: DownloadFileInput) -> DownloadedFile:
    """Read a file from Dropbox (it stays unchanged) and keep it for a later step."""
    download_url = ctx.http.settings.dropbox_content_url.rstrip("/") + "/files/download"
    response = await ctx.http.request(
        "POST",
        download_url,
        idempotent=True,
        allow_status=(409,),
        stream=True,
        headers={"Dropbox-API-Arg": api_arg_header({"path": dropbox_path(data.path)})},
    )
    if response.status_code == 409:
        raise route_error(response)
    entry = json.loads(response.headers["Dropbox-API-Result"])
    file, size = await ctx.artifact_store().write_response(response, service="dropbox")
    return DownloadedFile(
        file=file,
        name=entry.get("name", ""),
        path=entry.get("path_display") or entry.get("path_lower") or data.path,
        size=size,
        content_hash=entry.get("content_hash"),
    )


@connector.action(scopes=("files.content.write",), idempotent=False)
async def create_folder(ctx: ActionContext, data: CreateFolderInput) -> FolderOutput:
    """Create a folder in Dropbox."""
    arg = {"path": dropbox_path(data.path), "autorename": data.autorename}
    result = await rpc(ctx, "files/create_folder_v2", arg, idempotent=False)
    folder = result["metadata"]
    return FolderOutput(id=folder["id"], name=folder["name"], path=folder["path_display"])


def _link_output(link: dict[str, Any], path: str) -> SharedLinkOutput:
    return SharedLinkOutput(
        url=link["url"],
        name=link.get("name", ""),
        path=link.get("path_lower") or path,
        expires=link.get("expires"),
    )


@connector.action(scopes=("sharing.write", "sharing.read"), idempotent=True)
async def create_shared_link(ctx: ActionContext, data: CreateSharedLinkInput) -> SharedLinkOutput:
    """Get a shared link to a Dropbox file or folder (the existing one if it has one)."""
    path = dropbox_path(data.path)
    try:
        link = await rpc(
            ctx, "sharing/create_shared_link_with_settings", {"path": path}, idempotent=True
        )
    except RouteError as err:
        if err.tags[:1] != ["shared_link_already_exists"]:
            raise
        link = await _existing_link(ctx, path, err)
    return _link_output(link, path)


async def _existing_link(ctx: ActionContext, path: str, err: RouteError) -> dict[str, Any]:
    """The link Dropbox says already exists: from the error when it includes it, else
    from sharing/list_shared_links."""
    existing = err.error.get("shared_link_already_exists") or {}
    if existing.get(".tag") == "metadata":
        return existing["metadata"]
    answer = await rpc(
        ctx, "sharing/list_shared_links", {"path": path, "direct_only": True}, idempotent=True
    )
    if not answer.get("links"):
        raise err
    return answer["links"][0]


# --- events --------------------------------------------------------------------------


async def _latest_cursor(ctx: ActionContext, config: FileAddedConfig) -> str:
    arg = {"path": folder_path(config.folder), "recursive": config.recursive}
    answer = await rpc(ctx, "files/list_folder/get_latest_cursor", arg, idempotent=True)
    return answer["cursor"]


async def poll_file_added(
    ctx: ActionContext, config: FileAddedConfig, cursor: str | None
) -> PollResult:
    """Files added to the folder since the cursor (Dropbox's own list_folder cursor);
    the first call takes the folder's latest cursor, so only later files count."""
    if cursor is None:
        return PollResult(items=[], cursor=await _latest_cursor(ctx, config))
    files: dict[str, dict[str, Any]] = {}
    for _ in range(MAX_POLL_PAGES):
        try:
            page = await rpc(ctx, "files/list_folder/continue", {"cursor": cursor}, idempotent=True)
        except RouteError as err:
            if err.tags[:1] != ["reset"]:
                raise
            # Dropbox invalidated the cursor: start again from now rather than replay.
            return PollResult(items=[], cursor=await _latest_cursor(ctx, config))
        for entry in page.get("entries", []):
            if entry.get(".tag") == "file":
                files[entry["id"]] = entry
        cursor = page["cursor"]
        if not page.get("has_more"):
            break
    items = [
        EventItem(id=file_id, payload=FileAddedPayload.from_api(entry).model_dump())
        for file_id, entry in files.items()
    ]
    return PollResult(items=items, cursor=cursor)


connector.event(
    name="file_added",
    description="A file is added to a Dropbox folder.",
    config_model=FileAddedConfig,
    payload_model=FileAddedPayload,
    poll=poll_file_added,
    scopes=("files.metadata.read",),
    sample={
        "id": "id:a4ayc_80_OEAAAAAAAAAXw",
        "name": "invoice-1042.pdf",
        "path": "/Invoices/invoice-1042.pdf",
        "path_lower": "/invoices/invoice-1042.pdf",
        "size": 48213,
        "rev": "a1c10ce0dd78",
        "server_modified": "2026-12-04T08:55:00Z",
        "content_hash": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    },
)
