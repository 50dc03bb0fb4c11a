"""The Google Drive connector against its emulator, with what it sends and what the
emulator answers checked against Drive's discovery document."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import ValidationError

from connectors.base import (
    ActionContext,
    InvalidInput,
    NotFound,
)
from connectors.google import DRIVE_FILE
from connectors.google_drive import (
    FOLDER_MIME_TYPE,
    FileCreatedConfig,
    ShareFileInput,
    connector,
    poll_created_files,
)
from sandbox.emulator import EmulatorError
from sandbox.google import (
    GoogleDriveEmulator,
    ShareNotification,
    drive_search,
    select_fields,
    split_multipart,
)
from tests.connectors.contract_case import connector_context
from tests.specs import assert_request_matches, validate_response, validate_schema

UPLOAD = "/upload/drive/v3/files"
FILES = "/drive/v3/files"


@pytest.fixture
def drive() -> Iterator[GoogleDriveEmulator]:
    with GoogleDriveEmulator() as emulator:
        yield emulator


@pytest.fixture
async def ctx(drive: GoogleDriveEmulator) -> AsyncIterator[ActionContext]:
    async with connector_context(connector, drive) as context:
        yield context


async def run(ctx: ActionContext, action: str, **inputs: object):
    return await connector.actions[action].run(ctx, inputs)


# --- upload_file and create_folder ---------------------------------------------------------


async def test_upload_file_sends_a_multipart_upload(
    drive: GoogleDriveEmulator, ctx: ActionContext
) -> None:
    folder = await run(ctx, "create_folder", name="Reports")
    out = await run(
        ctx, "upload_file", name="q3.csv", content="region,total\nEU,12\n", folder_id=folder.id
    )
    assert drive.file_contents[out.id] == b"region,total\nEU,12\n"
    record = drive.drive_files[out.id]
    assert (record["name"], record["mimeType"], record["parents"]) == (
        "q3.csv",
        "text/csv",
        [folder.id],
    )
    assert out.url == record["webViewLink"] and out.parents == [folder.id]
    assert folder.is_folder and folder.url == f"https://drive.google.com/drive/folders/{folder.id}"

    request = drive.received(UPLOAD, "POST")[-1]
    assert request.query["uploadType"] == "multipart"
    assert request.headers["content-type"].startswith("multipart/related; boundary=")
    assert_request_matches("google_drive", request)
    (metadata_headers, metadata), (media_headers, media) = split_multipart(
        request.body, request.headers["content-type"]
    )
    assert metadata_headers["content-type"].startswith("application/json")
    assert json.loads(metadata) == {
        "name": "q3.csv",
        "mimeType": "text/csv",
        "parents": [folder.id],
    }
    assert (media_headers["content-type"], media) == ("text/csv", b"region,total\nEU,12\n")
    assert_request_matches("google_drive", drive.received(FILES, "POST")[-1])


async def test_binary_content_survives_the_upload(
    drive: GoogleDriveEmulator, ctx: ActionContext
) -> None:
    data = bytes(range(256)) * 4 + b"\r\n--not-a-boundary\r\n"
    out = await run(ctx, "upload_file", name="blob", content_base64=base64.b64encode(data).decode())
    assert drive.file_contents[out.id] == data
    assert out.mime_type == "application/octet-stream"


async def test_drive_responses_match_the_discovery_document(drive: GoogleDriveEmulator) -> None:
    token = drive.issue_token()["access_token"]
    async with httpx.AsyncClient(
        base_url=drive.url, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        folder = await client.post(FILES, json={"name": "F", "mimeType": FOLDER_MIME_TYPE})
        media = await client.post(
            UPLOAD,
            params={"uploadType": "media", "fields": "*"},
            content=b"hi",
            headers={"Content-Type": "text/plain"},
        )
        listed = await client.get(FILES, params={"fields": "*"})
        shared = await client.post(
            f"{FILES}/{folder.json()['id']}/permissions", json={"role": "reader", "type": "anyone"}
        )
    assert folder.json().keys() == {"kind", "id", "name", "mimeType"}  # Drive's default fields
    validate_response("google_drive", FILES, "POST", 200, folder.json())
    validate_response("google_drive", UPLOAD, "POST", 200, media.json())
    validate_response("google_drive", FILES, "GET", 200, listed.json())
    validate_response("google_drive", f"{FILES}/x/permissions", "POST", 200, shared.json())
    assert media.json()["name"] == "Untitled" and media.json()["size"] == "2"


@pytest.mark.parametrize(
    ("parent", "error", "message"),
    [
        ("1nosuchfolder", NotFound, "File not found: 1nosuchfolder."),
        ("1plainfile", InvalidInput, "The specified parent is not a folder."),
    ],
)
async def test_a_parent_must_be_an_existing_folder(
    drive: GoogleDriveEmulator, ctx: ActionContext, parent: str, error: type, message: str
) -> None:
    drive.add_file("notes.txt", file_id="1plainfile")
    with pytest.raises(error, match=message):
        await run(ctx, "create_folder", name="x", parent_id=parent)


async def test_uploads_over_five_megabytes_go_through_a_resumable_session(
    drive: GoogleDriveEmulator, ctx: ActionContext
) -> None:
    content = "x" * (5 * 1024 * 1024 + 1)
    out = await run(ctx, "upload_file", name="big.txt", content=content)
    assert drive.file_contents[out.id] == content.encode()
    assert drive.drive_files[out.id]["name"] == "big.txt"
    started, sent = drive.received(UPLOAD, "POST")[-1], drive.received(UPLOAD, "PUT")[-1]
    assert started.query["uploadType"] == "resumable"
    assert started.headers["x-upload-content-length"] == str(len(content))
    assert json.loads(started.body) == {"name": "big.txt", "mimeType": "text/plain"}
    assert sent.query["uploadType"] == "resumable" and sent.query["upload_id"]
    assert drive.upload_sessions == {}


def test_upload_needs_exactly_one_kind_of_content() -> None:
    for inputs in (
        {},
        {"content": "a", "content_base64": "YQ=="},
        {"content": "a", "file": "artifact:" + "0" * 32},
        {"content_base64": "%%"},
    ):
        with pytest.raises(ValidationError):
            connector.actions["upload_file"].input_model.model_validate({"name": "a", **inputs})


# --- share_file ----------------------------------------------------------------------------


async def test_share_with_a_user_notifies_them_and_repeating_is_harmless(
    drive: GoogleDriveEmulator, ctx: ActionContext
) -> None:
    file = await run(ctx, "upload_file", name="plan.md", content="# Plan")
    first = await run(
        ctx, "share_file", file_id=file.id, email="bob@example.com", role="writer", message="FYI"
    )
    again = await run(ctx, "share_file", file_id=file.id, email="bob@example.com", role="writer")
    assert first.permission_id == again.permission_id
    assert (first.role, first.type, first.email) == ("writer", "user", "bob@example.com")
    grants = [p for p in drive.drive_files[file.id]["permissions"] if p["role"] != "owner"]
    assert len(grants) == 1
    assert drive.share_notifications == [
        ShareNotification(file.id, "bob@example.com", "writer", "FYI"),
        ShareNotification(file.id, "bob@example.com", "writer", None),
    ]
    request = drive.received(f"{FILES}/{file.id}/permissions", "POST")[0]
    assert request.query["sendNotificationEmail"] == "true"
    assert_request_matches("google_drive", request)


async def test_share_with_anyone_sends_no_mail(
    drive: GoogleDriveEmulator, ctx: ActionContext
) -> None:
    file = await run(ctx, "upload_file", name="public.txt", content="hello")
    out = await run(ctx, "share_file", file_id=file.id, type="anyone", notify=False)
    assert (out.permission_id, out.type, out.email) == ("anyoneWithLink", "anyone", None)
    assert drive.share_notifications == []
    request = drive.received(f"{FILES}/{file.id}/permissions", "POST")[0]
    assert "sendNotificationEmail" not in request.query  # not allowed for anyone


async def test_share_rejections(drive: GoogleDriveEmulator, ctx: ActionContext) -> None:
    file = await run(ctx, "upload_file", name="a.txt", content="a")
    with pytest.raises(InvalidInput, match="Invalid email address"):
        await run(ctx, "share_file", file_id=file.id, email="bob at example.com")
    with pytest.raises(NotFound, match="File not found"):
        await run(ctx, "share_file", file_id="1missing", email="bob@example.com")
    for inputs in ({"type": "anyone", "email": "a@b.co"}, {"type": "user"}):
        with pytest.raises(ValidationError):
            ShareFileInput.model_validate({"file_id": file.id, **inputs})


async def test_drive_file_scope_only_reaches_files_atom_created(drive: GoogleDriveEmulator) -> None:
    theirs = drive.add_file("their.txt")
    async with connector_context(connector, drive, scopes={DRIVE_FILE}) as ctx:
        ours = await run(ctx, "upload_file", name="ours.txt", content="x")
        await run(ctx, "share_file", file_id=ours.id, type="anyone")
        with pytest.raises(NotFound):
            await run(ctx, "share_file", file_id=theirs["id"], type="anyone")


# --- file_created --------------------------------------------------------------------------


async def test_file_created_starts_now_and_can_watch_one_folder(
    drive: GoogleDriveEmulator, ctx: ActionContext
) -> None:
    yesterday = datetime.now(UTC) - timedelta(days=1)
    # Made well before the trigger starts: an item stamped in the very millisecond it
    # starts at would count as new (the boundary is inclusive).
    inbox_id = drive.add_file("Inbox", mime_type=FOLDER_MIME_TYPE, created_time=yesterday)["id"]
    drive.add_file("before.txt", parents=[inbox_id], created_time=yesterday)
    everywhere, in_inbox = FileCreatedConfig(), FileCreatedConfig(folder_id=inbox_id)
    cursor_all = (await poll_created_files(ctx, everywhere, None)).cursor
    cursor_inbox = (await poll_created_files(ctx, in_inbox, None)).cursor

    inside = drive.add_file("scan.pdf", mime_type="application/pdf", parents=[inbox_id])
    outside = await run(ctx, "upload_file", name="elsewhere.txt", content="x")
    anywhere = await poll_created_files(ctx, everywhere, cursor_all)
    assert [item.id for item in anywhere.items] == [inside["id"], outside.id]
    folder_only = await poll_created_files(ctx, in_inbox, cursor_inbox)
    assert [item.payload["name"] for item in folder_only.items] == ["scan.pdf"]
    assert folder_only.items[0].payload["url"] == inside["webViewLink"]

    assert (await poll_created_files(ctx, in_inbox, folder_only.cursor)).items == []
    request = drive.received(FILES, "GET")[-1]
    assert f"'{inbox_id}' in parents" in request.query["q"]
    assert_request_matches("google_drive", request)


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("", ["a.txt", "b.pdf", "Folder"]),
        ("name = 'a.txt'", ["a.txt"]),
        (
            "name contains 'B' or mimeType = 'application/vnd.google-apps.folder'",
            ["b.pdf", "Folder"],
        ),
        ("not trashed = false", []),
        ("createdTime > '2030-01-01T00:00:00' and 'root' in parents", []),
        (r"name = 'it\'s'", []),
    ],
)
def test_the_emulator_understands_drive_queries(query: str, names: list[str]) -> None:
    files = [
        {
            "name": "a.txt",
            "mimeType": "text/plain",
            "trashed": False,
            "parents": ["p"],
            "createdTime": "2029-01-01T00:00:00.000Z",
        },
        {
            "name": "b.pdf",
            "mimeType": "application/pdf",
            "trashed": False,
            "parents": ["p"],
            "createdTime": "2029-06-01T00:00:00.000Z",
        },
        {
            "name": "Folder",
            "mimeType": FOLDER_MIME_TYPE,
            "trashed": False,
            "parents": ["p"],
            "createdTime": "2029-09-01T00:00:00.000Z",
        },
    ]
    matches = drive_search(query)
    assert [f["name"] for f in files if matches(f)] == names


@pytest.mark.parametrize("query", ["name = ", "name ~ 'x'", "color = 'red'", "(name = 'x'"])
def test_malformed_drive_queries_are_invalid(query: str) -> None:
    with pytest.raises(EmulatorError, match="Invalid Value"):
        drive_search(query)


def test_partial_responses_follow_the_fields_selector() -> None:
    body = {"kind": "k", "nextPageToken": "t", "files": [{"id": "1", "name": "n", "size": "3"}]}
    assert select_fields(body, "nextPageToken,files(id,name)") == {
        "nextPageToken": "t",
        "files": [{"id": "1", "name": "n"}],
    }
    assert select_fields(body, "*") == body


def test_stored_files_match_the_file_schema(drive: GoogleDriveEmulator) -> None:
    validate_schema("google_drive", "File", drive.add_file("x.txt", content=b"x"))


# --- download_file -------------------------------------------------------------------------

PDF = bytes(range(256)) * 8  # binary, not text


async def test_download_by_name_then_upload_copies_the_bytes_and_keeps_the_original(
    drive: GoogleDriveEmulator, ctx: ActionContext
) -> None:
    original = drive.add_file("report.pdf", mime_type="application/pdf", content=PDF)
    before = dict(original)
    downloaded = await run(ctx, "download_file", name="report.pdf")
    assert downloaded.file.startswith("artifact:")
    assert (downloaded.id, downloaded.name, downloaded.mime_type, downloaded.size) == (
        original["id"],
        "report.pdf",
        "application/pdf",
        len(PDF),
    )
    copy = await run(ctx, "upload_file", name="report.pdf", file=downloaded.file)
    assert copy.id != original["id"] and drive.file_contents[copy.id] == PDF
    assert (
        drive.drive_files[original["id"]] == before and drive.file_contents[original["id"]] == PDF
    )
    media = drive.received(f"{FILES}/{original['id']}", "GET")[-1]
    assert media.query == {"alt": "media"}


async def test_download_by_path_walks_the_folders_and_by_id(
    drive: GoogleDriveEmulator, ctx: ActionContext
) -> None:
    folder = drive.add_file("Reports", mime_type=FOLDER_MIME_TYPE, parents=["root"])
    drive.add_file("q3.pdf", mime_type="application/pdf", content=b"other")
    inside = drive.add_file(
        "q3.pdf", mime_type="application/pdf", parents=[folder["id"]], content=PDF
    )
    by_path = await run(ctx, "download_file", name="Reports/q3.pdf")
    assert by_path.id == inside["id"] and ctx.artifact_store().read(by_path.file) == PDF
    by_id = await run(ctx, "download_file", file_id=inside["id"])
    assert by_id.name == "q3.pdf" and ctx.artifact_store().read(by_id.file) == PDF


async def test_a_name_several_files_share_or_no_file_has_is_an_error(
    drive: GoogleDriveEmulator, ctx: ActionContext
) -> None:
    drive.add_file("q3.pdf", content=b"1")
    drive.add_file("q3.pdf", content=b"2")
    with pytest.raises(InvalidInput, match=r"2 files named 'q3\.pdf'"):
        await run(ctx, "download_file", name="q3.pdf")
    with pytest.raises(NotFound, match=r"no file named 'q4\.pdf'"):
        await run(ctx, "download_file", name="q4.pdf")
    with pytest.raises(NotFound, match="no folder named 'Nope'"):
        await run(ctx, "download_file", name="Nope/q3.pdf")


async def test_google_docs_are_exported_as_pdf_and_sheets_as_csv(
    drive: GoogleDriveEmulator, ctx: ActionContext
) -> None:
    drive.add_file("Plan", mime_type="application/vnd.google-apps.document", content=b"Q1 goals")
    drive.add_file("Budget", mime_type="application/vnd.google-apps.spreadsheet", content=b"a,b\n")
    doc = await run(ctx, "download_file", name="Plan")
    assert (doc.name, doc.mime_type) == ("Plan.pdf", "application/pdf")
    pdf = ctx.artifact_store().read(doc.file)
    assert pdf.startswith(b"%PDF-1.4") and b"(Q1 goals)" in pdf and pdf.rstrip().endswith(b"%%EOF")
    sheet = await run(ctx, "download_file", name="Budget")
    assert (sheet.name, ctx.artifact_store().read(sheet.file)) == ("Budget.csv", b"a,b\n")
    text = await run(ctx, "download_file", name="Plan", export_as="text/plain")
    assert (text.name, ctx.artifact_store().read(text.file)) == ("Plan.txt", b"Q1 goals")


async def test_download_larger_than_the_limit_keeps_nothing(drive: GoogleDriveEmulator) -> None:
    drive.add_file("big.bin", content=b"x" * 2048)
    async with connector_context(connector, drive, artifact_max_bytes=1024) as small:
        with pytest.raises(InvalidInput, match="ATOM_ARTIFACT_MAX_BYTES"):
            await run(small, "download_file", name="big.bin")
        assert small.artifacts is not None and list(small.artifacts.root.iterdir()) == []


async def test_reading_the_users_own_files_needs_drive_readonly(
    drive: GoogleDriveEmulator,
) -> None:
    drive.add_file("report.pdf", content=PDF)
    async with connector_context(connector, drive, scopes=[DRIVE_FILE]) as file_only:
        with pytest.raises(NotFound, match="no file named"):
            await run(file_only, "download_file", name="report.pdf")
    assert (
        "https://www.googleapis.com/auth/drive.readonly"
        in connector.actions["download_file"].scopes
    )


def test_download_wire_format(drive: GoogleDriveEmulator) -> None:
    record = drive.add_file("Plan", mime_type="application/vnd.google-apps.document", content=b"x")
    token = drive.issue_token()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    media = httpx.get(
        f"{drive.url}{FILES}/{record['id']}", params={"alt": "media"}, headers=headers
    )
    assert media.status_code == 403
    assert media.json()["error"]["errors"][0]["reason"] == "fileNotDownloadable"
    unsupported = httpx.get(
        f"{drive.url}{FILES}/{record['id']}/export",
        params={"mimeType": "image/gif"},
        headers=headers,
    )
    assert unsupported.status_code == 400
    metadata = httpx.get(f"{drive.url}{FILES}/{record['id']}", headers=headers)
    assert metadata.json() == {
        "kind": "drive#file",
        "id": record["id"],
        "name": "Plan",
        "mimeType": "application/vnd.google-apps.document",
    }
