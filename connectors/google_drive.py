"""Google Drive: read and upload files, create folders, share; trigger on new files.

API: https://developers.google.com/workspace/drive/api/reference/rest/v3 — the base
URL setting is the API host (`https://www.googleapis.com`): metadata calls go to
`/drive/v3/…`, content to `/upload/drive/v3/files`.

Actions that write use the `drive.file` scope, so they reach the files ATOM created (or
the user opened with it). Reading a file the user made (`download_file`) needs
`drive.readonly`; watching a folder for new files needs to see other people's files
too, so `file_created` asks for `drive.metadata.readonly`.

Uploads never replace a file: Drive keeps files with the same name side by side, so
`upload_file` always creates a new one. Files up to 5 MB go in one multipart request,
larger ones through a resumable session (metadata first, then the bytes to the session
URI Drive answers with). Downloads stream into the artifact store; Google Docs, Sheets
and Slides have no bytes of their own and are exported (PDF, CSV for Sheets).
"""

from __future__ import annotations

import base64
import binascii
import json
import mimetypes
import secrets
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from connectors.base import ActionContext, EventItem, InvalidInput, NotFound, PollResult
from connectors.cursors import TimeCursor, parse_rfc3339, rfc3339
from connectors.google import (
    DRIVE_FILE,
    DRIVE_METADATA_READONLY,
    DRIVE_READONLY,
    MAX_POLL_PAGES,
    google_connector,
    list_pages,
    segment,
)

connector = google_connector(
    name="google_drive",
    title="Google Drive",
    description="Read and upload files, create folders and share them in Google Drive; "
    "react to new files.",
    base_url_setting="google_drive_base_url",
)

FOLDER_MIME_TYPE = "application/vnd.google-apps.folder"
GOOGLE_APPS = "application/vnd.google-apps."
FILE_FIELDS = "id,name,mimeType,webViewLink,parents,createdTime"
MULTIPART_LIMIT = 5 * 1024 * 1024  # Drive's limit for uploadType=multipart
LIST_PAGE_SIZE = 100
# What a Docs Editors file is exported to by default, and the extension its copy gets.
EXPORT_DEFAULTS = {
    GOOGLE_APPS + "document": ("application/pdf", ".pdf"),
    GOOGLE_APPS + "spreadsheet": ("text/csv", ".csv"),
    GOOGLE_APPS + "presentation": ("application/pdf", ".pdf"),
    GOOGLE_APPS + "drawing": ("application/pdf", ".pdf"),
}


# --- models --------------------------------------------------------------------------


class UploadFileInput(BaseModel):
    name: str = Field(min_length=1, description="File name, e.g. report.csv.")
    content: str | None = Field(None, description="Text content (stored as UTF-8).")
    content_base64: str | None = Field(
        None, description="Binary content, base64-encoded (instead of `content`)."
    )
    file: str | None = Field(
        None, description='A file from an earlier step, e.g. "{{ steps.download.file }}".'
    )
    mime_type: str | None = Field(
        None, description="MIME type; guessed from the name when omitted."
    )
    folder_id: str | None = Field(None, description="Parent folder id (default: My Drive).")
    description: str | None = Field(None, description="A short description of the file.")

    @model_validator(mode="after")
    def _one_content(self) -> UploadFileInput:
        given = [v for v in (self.content, self.content_base64, self.file) if v is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of content (text), content_base64 or file "
                "(an earlier step's file)"
            )
        return self

    @field_validator("content_base64")
    @classmethod
    def _decodable(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise ValueError("content_base64 is not valid base64") from exc
        return value

    def data(self, ctx: ActionContext) -> bytes:
        if self.file is not None:
            return ctx.artifact_store().read(self.file)
        if self.content_base64 is not None:
            return base64.b64decode(self.content_base64)
        return (self.content or "").encode("utf-8")

    def media_type(self) -> str:
        if self.mime_type:
            return self.mime_type
        guessed = mimetypes.guess_type(self.name)[0]
        if guessed:
            return guessed
        return "text/plain" if self.content is not None else "application/octet-stream"


class DownloadFileInput(BaseModel):
    file_id: str | None = Field(None, description="The file's id (from its link).")
    name: str | None = Field(
        None,
        description="Or the file's name, e.g. report.pdf, or its path from My Drive, "
        "e.g. Reports/report.pdf.",
    )
    export_as: str | None = Field(
        None,
        description="For Google Docs, Sheets and Slides: the MIME type to export to "
        "(default: PDF; CSV for Sheets).",
    )

    @model_validator(mode="after")
    def _one_reference(self) -> DownloadFileInput:
        if (self.file_id is None) == (self.name is None):
            raise ValueError("give exactly one of file_id or name")
        return self


class DownloadedFile(BaseModel):
    file: str = Field(description="The stored file, for a later step's file input.")
    id: str
    name: str = Field(description="The file's name (an exported file gets the extension).")
    mime_type: str = Field(description="The MIME type of the stored bytes.")
    size: int


class CreateFolderInput(BaseModel):
    name: str = Field(min_length=1, description="Folder name.")
    parent_id: str | None = Field(None, description="Parent folder id (default: My Drive).")


class FileOutput(BaseModel):
    id: str
    name: str
    mime_type: str = ""
    url: str = Field("", description="Link that opens the file or folder in Drive.")
    parents: list[str] = Field(default_factory=list, description="Parent folder ids.")
    is_folder: bool = False
    created_time: datetime | None = None


class ShareFileInput(BaseModel):
    file_id: str = Field(min_length=1, description="Id of the file or folder to share.")
    role: Literal["reader", "commenter", "writer"] = Field(
        "reader", description="What the grantee may do."
    )
    type: Literal["user", "group", "anyone"] = Field(
        "user", description="user/group: one address; anyone: everyone with the link."
    )
    email: str | None = Field(None, description="The user's or group's e-mail address.")
    notify: bool = Field(True, description="E-mail the user or group about the share.")
    message: str | None = Field(None, description="A note to include in that e-mail.")

    @model_validator(mode="after")
    def _email_matches_type(self) -> ShareFileInput:
        if self.type == "anyone" and self.email:
            raise ValueError("email is only for type user or group, not anyone")
        if self.type != "anyone" and not self.email:
            raise ValueError(f"sharing with a {self.type} needs its email")
        return self


class ShareOutput(BaseModel):
    permission_id: str
    file_id: str
    role: str
    type: str
    email: str | None = None


class FileCreatedConfig(BaseModel):
    folder_id: str | None = Field(
        None, description="Only files created directly in this folder (default: anywhere)."
    )


# --- helpers -------------------------------------------------------------------------


def file_output(item: dict[str, Any]) -> FileOutput:
    return FileOutput(
        id=item["id"],
        name=item.get("name", ""),
        mime_type=item.get("mimeType", ""),
        url=item.get("webViewLink", ""),
        parents=item.get("parents", []),
        is_folder=item.get("mimeType") == FOLDER_MIME_TYPE,
        created_time=parse_rfc3339(item["createdTime"]) if item.get("createdTime") else None,
    )


def multipart_related(metadata: dict[str, Any], media: bytes, media_type: str) -> tuple[bytes, str]:
    """Drive's multipart upload body (RFC 2387): the JSON metadata part, then the
    content part. Returns the body and its Content-Type header."""
    boundary = f"atom-{secrets.token_hex(16)}"
    body = b"".join(
        [
            f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n".encode(),
            json.dumps(metadata).encode("utf-8"),
            f"\r\n--{boundary}\r\nContent-Type: {media_type}\r\n\r\n".encode(),
            media,
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )
    return body, f"multipart/related; boundary={boundary}"


def quoted(value: str) -> str:
    """A string literal for a Drive search query."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


# --- actions -------------------------------------------------------------------------


async def _resumable_upload(
    ctx: ActionContext, metadata: dict[str, Any], media: bytes, media_type: str
) -> dict[str, Any]:
    """A resumable upload: start a session with the metadata, then PUT the bytes to the
    session URI (one request: ATOM holds the whole file)."""
    started = await ctx.http.request(
        "POST",
        "/upload/drive/v3/files",
        idempotent=False,
        params={"uploadType": "resumable", "fields": FILE_FIELDS},
        json=metadata,
        headers={"X-Upload-Content-Type": media_type, "X-Upload-Content-Length": str(len(media))},
    )
    session = started.headers.get("location")
    if not session:
        raise InvalidInput("Drive started no upload session.", service=connector.name)
    return await ctx.http.json(
        "PUT", session, idempotent=False, content=media, headers={"Content-Type": media_type}
    )


@connector.action(scopes=(DRIVE_FILE,), idempotent=False)
async def upload_file(ctx: ActionContext, data: UploadFileInput) -> FileOutput:
    """Upload a file to Google Drive (always a new file: an existing one is kept)."""
    media = data.data(ctx)
    metadata: dict[str, Any] = {"name": data.name, "mimeType": data.media_type()}
    if data.folder_id:
        metadata["parents"] = [data.folder_id]
    if data.description:
        metadata["description"] = data.description
    if len(media) > MULTIPART_LIMIT:
        return file_output(await _resumable_upload(ctx, metadata, media, data.media_type()))
    body, content_type = multipart_related(metadata, media, data.media_type())
    item = await ctx.http.json(
        "POST",
        "/upload/drive/v3/files",
        idempotent=False,
        params={"uploadType": "multipart", "fields": FILE_FIELDS},
        content=body,
        headers={"Content-Type": content_type},
    )
    return file_output(item)


async def _named(ctx: ActionContext, name: str, parent: str | None, folder: bool) -> dict[str, Any]:
    """The one file (or folder) called `name` (in `parent`, if given); NotFound when
    none is, InvalidInput when several are (Drive allows that)."""
    kind = "=" if folder else "!="
    query = f"name = {quoted(name)} and mimeType {kind} {quoted(FOLDER_MIME_TYPE)}"
    query += " and trashed = false"
    if parent is not None:
        query += f" and {quoted(parent)} in parents"
    found = await list_pages(
        ctx.http,
        "/drive/v3/files",
        {"q": query, "pageSize": 10, "fields": "nextPageToken,files(id,name,mimeType)"},
        items_key="files",
        limit=10,
    )
    what = "folder" if folder else "file"
    if not found:
        raise NotFound(f"Google Drive has no {what} named {name!r}.", service=connector.name)
    if len(found) > 1:
        raise InvalidInput(
            f"Google Drive has {len(found)} {what}s named {name!r}; give the folder it is "
            "in (Folder/name) or the file's id.",
            service=connector.name,
        )
    return found[0]


async def find_file(ctx: ActionContext, name: str) -> dict[str, Any]:
    """The file a name or a path from My Drive ("Reports/q3.pdf") refers to."""
    *folders, leaf = [part for part in name.strip().split("/") if part]
    parent = "root" if folders else None
    for folder in folders:
        parent = (await _named(ctx, folder, parent, folder=True))["id"]
    return await _named(ctx, leaf, parent, folder=False)


def _export_target(data: DownloadFileInput, item: dict[str, Any]) -> tuple[str, str] | None:
    """(MIME type, extension) a Docs Editors file is exported as; None for other files."""
    mime_type = item.get("mimeType", "")
    if not mime_type.startswith(GOOGLE_APPS):
        return None
    if data.export_as:
        extension = mimetypes.guess_extension(data.export_as) or ""
        return data.export_as, extension
    default = EXPORT_DEFAULTS.get(mime_type)
    if default is None:
        raise InvalidInput(
            f"{item.get('name')} ({mime_type}) has no content to download.",
            service=connector.name,
        )
    return default


@connector.action(scopes=(DRIVE_READONLY,), idempotent=True)
async def download_file(ctx: ActionContext, data: DownloadFileInput) -> DownloadedFile:
    """Read a file from Google Drive (it stays unchanged) and keep it for a later step."""
    if data.file_id is not None:
        item = await ctx.http.json(
            "GET",
            f"/drive/v3/files/{segment(data.file_id)}",
            idempotent=True,
            params={"fields": "id,name,mimeType"},
        )
    else:
        item = await find_file(ctx, data.name or "")
    export = _export_target(data, item)
    path = f"/drive/v3/files/{segment(item['id'])}"
    url, params = (
        (f"{path}/export", {"mimeType": export[0]}) if export else (path, {"alt": "media"})
    )
    response = await ctx.http.request("GET", url, idempotent=True, stream=True, params=params)
    file, size = await ctx.artifact_store().write_response(response, service=connector.name)
    name = item.get("name", "")
    if export is not None and export[1] and not name.lower().endswith(export[1]):
        name += export[1]
    return DownloadedFile(
        file=file,
        id=item["id"],
        name=name,
        mime_type=export[0] if export else item.get("mimeType", ""),
        size=size,
    )


@connector.action(scopes=(DRIVE_FILE,), idempotent=False)
async def create_folder(ctx: ActionContext, data: CreateFolderInput) -> FileOutput:
    """Create a folder in Google Drive."""
    metadata: dict[str, Any] = {"name": data.name, "mimeType": FOLDER_MIME_TYPE}
    if data.parent_id:
        metadata["parents"] = [data.parent_id]
    item = await ctx.http.json(
        "POST", "/drive/v3/files", idempotent=False, params={"fields": FILE_FIELDS}, json=metadata
    )
    return file_output(item)


@connector.action(scopes=(DRIVE_FILE,), idempotent=True)
async def share_file(ctx: ActionContext, data: ShareFileInput) -> ShareOutput:
    """Share a Drive file or folder with a person, a group, or anyone with the link."""
    permission: dict[str, Any] = {"role": data.role, "type": data.type}
    params: dict[str, Any] = {"fields": "id,type,role,emailAddress"}
    if data.email:
        permission["emailAddress"] = data.email
        # Only allowed for users and groups; Drive defaults it to true.
        params["sendNotificationEmail"] = "true" if data.notify else "false"
        if data.notify and data.message:
            params["emailMessage"] = data.message
    created = await ctx.http.json(
        "POST",
        f"/drive/v3/files/{segment(data.file_id)}/permissions",
        idempotent=True,
        params=params,
        json=permission,
    )
    return ShareOutput(
        permission_id=created["id"],
        file_id=data.file_id,
        role=created.get("role", data.role),
        type=created.get("type", data.type),
        email=created.get("emailAddress", data.email),
    )


# --- events --------------------------------------------------------------------------


async def poll_created_files(ctx: ActionContext, config: Any, cursor: str | None) -> PollResult:
    """Files created since the cursor (in the folder, if one is set), oldest first."""
    if cursor is None:
        return PollResult(items=[], cursor=TimeCursor.start().encode())
    settings = FileCreatedConfig.model_validate(config)
    position = TimeCursor.decode(cursor)
    query = f"createdTime >= {quoted(rfc3339(position.since))} and trashed = false"
    if settings.folder_id:
        query += f" and {quoted(settings.folder_id)} in parents"
    files = await list_pages(
        ctx.http,
        "/drive/v3/files",
        {
            "q": query,
            "orderBy": "createdTime",
            "pageSize": LIST_PAGE_SIZE,
            "fields": f"nextPageToken,files({FILE_FIELDS})",
        },
        items_key="files",
        limit=LIST_PAGE_SIZE * MAX_POLL_PAGES,
    )
    new, advanced = position.take(
        files, lambda item: item["id"], lambda item: parse_rfc3339(item["createdTime"])
    )
    return PollResult(
        items=[
            EventItem(id=item["id"], payload=file_output(item).model_dump(mode="json"))
            for item in new
        ],
        cursor=advanced.encode(),
    )


connector.event(
    name="file_created",
    description="A new file or folder appears in Google Drive (optionally in one folder).",
    config_model=FileCreatedConfig,
    payload_model=FileOutput,
    poll=poll_created_files,
    scopes=(DRIVE_METADATA_READONLY,),
    sample={
        "id": "1A2b3C4d5E6f7G8h9I0j",
        "name": "Q4 report.pdf",
        "mime_type": "application/pdf",
        "url": "https://drive.google.com/file/d/1A2b3C4d5E6f7G8h9I0j/view",
        "parents": ["0B9z8Y7x6W5v"],
        "is_folder": False,
        "created_time": "2026-12-04T10:05:00Z",
    },
)
