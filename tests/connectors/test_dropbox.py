"""The Dropbox connector against the Dropbox emulator. What the connector sends and what
the emulator answers are checked against Dropbox's official Stone route definitions."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from connectors.base import (
    ActionContext,
    AuthExpired,
    Credentials,
    InvalidInput,
    NotFound,
    StaticCredentials,
)
from connectors.dropbox import FileAddedConfig, connector, poll_file_added
from sandbox.dropbox import DropboxEmulator, content_hash
from tests.connectors.cases.dropbox import seed_files
from tests.connectors.contract_case import connector_context
from tests.specs import assert_request_matches, validate_response


@pytest.fixture
def dropbox() -> Iterator[DropboxEmulator]:
    with DropboxEmulator() as emulator:
        seed_files(emulator)
        yield emulator


@pytest.fixture
async def ctx(dropbox: DropboxEmulator) -> AsyncIterator[ActionContext]:
    async with connector_context(connector, dropbox) as context:
        yield context


async def run(ctx: ActionContext, action: str, **inputs: Any) -> Any:
    return await connector.actions[action].run(ctx, inputs)


async def rpc(dropbox: DropboxEmulator, route: str, arg: Any, **headers: str) -> httpx.Response:
    """Call a route directly, as the sandbox user."""
    token = dropbox.issue_token()["access_token"]
    async with httpx.AsyncClient(base_url=f"{dropbox.url}/2") as client:
        return await client.post(
            f"/{route}",
            content=json.dumps(arg),
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                **headers,
            },
        )


# --- upload_file ---------------------------------------------------------------------


async def test_upload_sends_the_arguments_in_the_header(
    dropbox: DropboxEmulator, ctx: ActionContext
) -> None:
    uploaded = await run(ctx, "upload_file", path="Reports/Zürich.txt", content="Grüezi")
    sent = dropbox.received("/2/files/upload", "POST")[-1]
    assert_request_matches("dropbox", sent)
    assert sent.headers["content-type"] == "application/octet-stream"
    assert sent.headers["dropbox-api-arg"].isascii()
    assert json.loads(sent.headers["dropbox-api-arg"]) == {
        "path": "/Reports/Zürich.txt",
        "mode": "add",
        "autorename": False,
    }
    assert sent.body == "Grüezi".encode()
    assert dropbox.read("/reports/zürich.txt") == "Grüezi".encode()
    assert (uploaded.path, uploaded.size) == ("/Reports/Zürich.txt", len("Grüezi".encode()))
    assert uploaded.content_hash == content_hash("Grüezi".encode())
    assert uploaded.id.startswith("id:")


async def test_upload_answers_match_the_description(dropbox: DropboxEmulator) -> None:
    token = dropbox.issue_token()["access_token"]

    async def upload(path: str) -> httpx.Response:
        async with httpx.AsyncClient(base_url=f"{dropbox.url}/2") as client:
            return await client.post(
                "/files/upload",
                content=b"raw bytes",
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "application/octet-stream",
                    "Dropbox-API-Arg": json.dumps({"path": path, "mode": "add"}),
                },
            )

    created, clash = await upload("/Reports/raw.bin"), await upload("/Reports/q3.txt")
    validate_response("dropbox", "/2/files/upload", "POST", 200, created.json())
    validate_response("dropbox", "/2/files/upload", "POST", 409, clash.json())
    assert clash.json()["error_summary"].startswith("path/conflict/file/")
    assert created.json()["content_hash"] == content_hash(b"raw bytes")


async def test_upload_conflicts_autorename_and_overwrite(
    dropbox: DropboxEmulator, ctx: ActionContext
) -> None:
    original = dropbox.entries["/reports/q3.txt"]
    with pytest.raises(InvalidInput, match=r"a file already exists .*\(path/conflict/file\)"):
        await run(ctx, "upload_file", path="/Reports/q3.txt", content="corrected")
    renamed = await run(
        ctx, "upload_file", path="/Reports/q3.txt", content="corrected", autorename=True
    )
    assert renamed.path == "/Reports/q3 (1).txt"
    replaced = await run(
        ctx, "upload_file", path="/Reports/q3.txt", content="corrected", mode="overwrite"
    )
    assert replaced.id == original.id and replaced.rev != renamed.rev
    assert dropbox.read("/Reports/q3.txt") == b"corrected"
    same = await run(ctx, "upload_file", path="/Reports/q3.txt", content="corrected")
    assert same.rev == replaced.rev  # identical content: nothing written, no conflict


async def test_malformed_calls_get_plain_text_400s(dropbox: DropboxEmulator) -> None:
    wrong_type = await rpc(
        dropbox, "files/create_folder_v2", {"path": "/A"}, **{"Content-Type": "text/csv"}
    )
    no_field = await rpc(dropbox, "files/create_folder_v2", {"autorename": True})
    bad_pattern = await rpc(dropbox, "files/create_folder_v2", {"path": "relative"})
    root_slash = await rpc(dropbox, "files/list_folder", {"path": "/"})
    for answer in (wrong_type, no_field, bad_pattern, root_slash):
        assert answer.status_code == 400
        assert answer.headers["content-type"].startswith("text/plain")
        assert answer.text.startswith('Error in call to API function "files/')
    assert "missing required field 'path'" in no_field.text
    assert "did not match pattern" in bad_pattern.text


async def test_service_rejections_carry_dropboxs_words(ctx: ActionContext) -> None:
    with pytest.raises(InvalidInput, match=r"malformed .*\(path/malformed_path\)"):
        await run(ctx, "upload_file", path="/Reports/", content="x")
    with pytest.raises(InvalidInput, match=r"file is in the way .*\(path/conflict/file_ancestor\)"):
        await run(ctx, "create_folder", path="/Reports/q3.txt/inside")


# --- create_folder -------------------------------------------------------------------


async def test_create_folder(dropbox: DropboxEmulator, ctx: ActionContext) -> None:
    folder = await run(ctx, "create_folder", path="/Projects/Atlas/Design")
    assert (folder.name, folder.path) == ("Design", "/Projects/Atlas/Design")
    assert dropbox.entries["/projects/atlas"].tag == "folder"  # parents are created too
    sent = dropbox.received("/2/files/create_folder_v2", "POST")[-1]
    assert_request_matches("dropbox", sent)
    with pytest.raises(InvalidInput, match=r"a folder already exists .*\(path/conflict/folder\)"):
        await run(ctx, "create_folder", path="/projects/atlas")
    again = await run(ctx, "create_folder", path="/Projects/Atlas", autorename=True)
    assert again.path == "/Projects/Atlas (1)"
    answer = await rpc(dropbox, "files/create_folder_v2", {"path": "/Fresh"})
    validate_response("dropbox", "/2/files/create_folder_v2", "POST", 200, answer.json())
    clash = await rpc(dropbox, "files/create_folder_v2", {"path": "/Fresh"})
    validate_response("dropbox", "/2/files/create_folder_v2", "POST", 409, clash.json())


# --- create_shared_link --------------------------------------------------------------


async def test_create_shared_link_returns_the_same_link_twice(
    dropbox: DropboxEmulator, ctx: ActionContext
) -> None:
    first = await run(ctx, "create_shared_link", path="/Reports/q3.txt")
    second = await run(ctx, "create_shared_link", path="reports/Q3.txt")
    assert first.url == second.url == dropbox.links["/reports/q3.txt"]["url"]
    assert first.url.startswith("https://www.dropbox.com/scl/fi/") and first.name == "q3.txt"
    for sent in dropbox.received("/2/sharing/create_shared_link_with_settings"):
        assert_request_matches("dropbox", sent)
    assert connector.actions["create_shared_link"].idempotent
    route = "/2/sharing/create_shared_link_with_settings"
    answer = await rpc(dropbox, route.removeprefix("/2/"), {"path": "/Projects"})
    validate_response("dropbox", route, "POST", 200, answer.json())
    exists = await rpc(dropbox, route.removeprefix("/2/"), {"path": "/Projects"})
    validate_response("dropbox", route, "POST", 409, exists.json())


async def test_shared_link_to_nothing_is_not_found(ctx: ActionContext) -> None:
    with pytest.raises(NotFound, match=r"nothing at that path \(path/not_found\)"):
        await run(ctx, "create_shared_link", path="/Reports/q5.txt")


# --- authentication and faults -------------------------------------------------------


async def test_tokens_and_scopes(dropbox: DropboxEmulator) -> None:
    bad = StaticCredentials(Credentials("sl.not-a-token"))
    async with connector_context(connector, dropbox, bad) as ctx:
        with pytest.raises(AuthExpired, match=r"token is not valid \(invalid_access_token\)"):
            await run(ctx, "create_folder", path="/Nope")
    reader = StaticCredentials(Credentials(**dropbox.issue_token(scopes={"files.metadata.read"})))
    async with connector_context(connector, dropbox, reader) as ctx:
        with pytest.raises(AuthExpired, match=r"Dropbox permission 'files\.content\.write'"):
            await run(ctx, "upload_file", path="/x.txt", content="x")
    missing = await rpc(
        dropbox, "files/create_folder_v2", {"path": "/X"}, Authorization="Bearer sl.expired"
    )
    assert missing.status_code == 401
    assert missing.json() == {
        "error_summary": "invalid_access_token/...",
        "error": {".tag": "invalid_access_token"},
    }
    token = dropbox.issue_token(scopes={"files.metadata.read"})["access_token"]
    scoped = await rpc(
        dropbox, "files/create_folder_v2", {"path": "/X"}, Authorization=f"Bearer {token}"
    )
    assert scoped.json()["error"] == {
        ".tag": "missing_scope",
        "required_scope": "files.content.write",
    }


async def test_rate_limits_are_waited_out(dropbox: DropboxEmulator, ctx: ActionContext) -> None:
    dropbox.fail("/2/files/create_folder_v2", status=429, retry_after=0)
    folder = await run(ctx, "create_folder", path="/Later")
    assert folder.path == "/Later"
    assert len(dropbox.received("/2/files/create_folder_v2")) == 2


# --- file_added ----------------------------------------------------------------------


async def test_file_added_starts_from_now(dropbox: DropboxEmulator, ctx: ActionContext) -> None:
    config = FileAddedConfig(folder="/Reports/")
    first = await poll_file_added(ctx, config, None)
    assert first.items == []  # q3.txt was there before
    sent = dropbox.received("/2/files/list_folder/get_latest_cursor")[-1]
    assert sent.json() == {"path": "/Reports", "recursive": False}
    q4 = dropbox.add_file("/Reports/q4.txt", "Q4")
    dropbox.add_file("/Reports/2026/jan.txt", "in a subfolder")
    dropbox.add_file("/Elsewhere/x.txt", "other folder")
    second = await poll_file_added(ctx, config, first.cursor)
    assert [item.id for item in second.items] == [q4.id]
    assert second.items[0].payload["path"] == "/Reports/q4.txt"
    third = await poll_file_added(ctx, config, second.cursor)
    assert third.items == []
    for sent in dropbox.received("/2/files/list_folder/continue"):
        assert_request_matches("dropbox", sent)


async def test_file_added_recursively_over_pages(
    dropbox: DropboxEmulator, ctx: ActionContext
) -> None:
    config = FileAddedConfig(folder="", recursive=True)
    start = await poll_file_added(ctx, config, None)
    listed = await rpc(dropbox, "files/list_folder", {"path": "", "recursive": True, "limit": 1})
    added = [dropbox.add_file(f"/Inbox/{n}.txt", str(n)) for n in range(3)]
    dropbox.remove("/Reports/q3.txt")
    polled = await poll_file_added(ctx, config, start.cursor)
    assert [item.id for item in polled.items] == [file.id for file in added]
    page = listed.json()
    validate_response("dropbox", "/2/files/list_folder", "POST", 200, page)
    assert page["has_more"] and len(page["entries"]) == 1
    rest = await rpc(dropbox, "files/list_folder/continue", {"cursor": page["cursor"]})
    validate_response("dropbox", "/2/files/list_folder/continue", "POST", 200, rest.json())


async def test_an_expired_cursor_starts_again_from_now(
    dropbox: DropboxEmulator, ctx: ActionContext
) -> None:
    config = FileAddedConfig(folder="/Reports")
    start = await poll_file_added(ctx, config, None)
    dropbox.epoch = "restarted"  # Dropbox invalidated every cursor
    dropbox.add_file("/Reports/lost.txt", "x")
    polled = await poll_file_added(ctx, config, start.cursor)
    assert polled.items == [] and polled.cursor != start.cursor
    dropbox.add_file("/Reports/found.txt", "y")
    again = await poll_file_added(ctx, config, polled.cursor)
    assert [item.payload["name"] for item in again.items] == ["found.txt"]
    with pytest.raises(NotFound):
        await poll_file_added(ctx, FileAddedConfig(folder="/Missing"), None)


def test_declarations() -> None:
    actions = connector.actions
    assert not actions["upload_file"].idempotent and not actions["create_folder"].idempotent
    assert connector.auth.kind == "oauth2"
    assert connector.auth.extra_authorize_params == {"token_access_type": "offline"}
    assert {"path", "id"} <= set(
        actions["upload_file"].output_model.model_json_schema()["properties"]
    )
    assert "url" in actions["create_shared_link"].output_model.model_json_schema()["properties"]


# --- download_file and passing files on ------------------------------------------------


async def test_download_then_upload_copies_the_bytes_and_leaves_the_original(
    ctx: ActionContext, dropbox: DropboxEmulator
) -> None:
    original = bytes(range(256)) * 40  # binary, not text
    dropbox.add_file("/report.pdf", original)
    before = dropbox.entries["/report.pdf"].metadata(tagged=False)

    downloaded = await run(ctx, "download_file", path="/report.pdf")
    assert downloaded.file.startswith("artifact:")
    assert (downloaded.name, downloaded.path, downloaded.size) == (
        "report.pdf",
        "/report.pdf",
        len(original),
    )
    assert downloaded.content_hash == content_hash(original)

    copy = await run(ctx, "upload_file", path="/Backup/report.pdf", file=downloaded.file)
    assert dropbox.read("/Backup/report.pdf") == original
    assert copy.content_hash == downloaded.content_hash
    assert dropbox.entries["/report.pdf"].metadata(tagged=False) == before


async def test_download_of_a_missing_file_is_not_found(ctx: ActionContext) -> None:
    with pytest.raises(NotFound, match="nothing at that path"):
        await run(ctx, "download_file", path="/nope.pdf")


async def test_download_larger_than_the_limit_keeps_nothing(dropbox: DropboxEmulator) -> None:
    dropbox.add_file("/big.bin", b"x" * 2048)
    async with connector_context(connector, dropbox, artifact_max_bytes=1024) as small:
        with pytest.raises(InvalidInput, match="ATOM_ARTIFACT_MAX_BYTES"):
            await run(small, "download_file", path="/big.bin")
        assert small.artifacts is not None
        assert os.listdir(small.artifacts.root) == []


async def test_upload_takes_exactly_one_of_content_and_file(ctx: ActionContext) -> None:
    with pytest.raises(ValidationError, match="exactly one of content"):
        await run(ctx, "upload_file", path="/a.txt")
    with pytest.raises(ValidationError, match="exactly one of content"):
        await run(ctx, "upload_file", path="/a.txt", content="x", file="artifact:" + "0" * 32)


async def test_upload_of_a_file_that_is_not_stored_says_what_to_pass(ctx: ActionContext) -> None:
    with pytest.raises(InvalidInput, match=r"steps\.download\.file"):
        await run(ctx, "upload_file", path="/a.txt", file="/etc/passwd")
    with pytest.raises(NotFound, match="is gone"):
        await run(ctx, "upload_file", path="/a.txt", file="artifact:" + "0" * 32)


def test_download_wire_format_matches_the_route_definition(dropbox: DropboxEmulator) -> None:
    dropbox.add_file("/report.pdf", b"%PDF-1.7")
    token = dropbox.issue_token()["access_token"]
    response = httpx.post(
        f"{dropbox.url}/2/files/download",
        headers={
            "Authorization": f"Bearer {token}",
            "Dropbox-API-Arg": json.dumps({"path": "/report.pdf"}),
        },
    )
    assert response.status_code == 200
    assert response.content == b"%PDF-1.7"
    metadata = json.loads(response.headers["Dropbox-API-Result"])
    # Stone: `route download (DownloadArg, FileMetadata, …)`, the same FileMetadata result
    # as files/upload; our spec excerpt documents it under upload only.
    validate_response("dropbox", "/2/files/upload", "POST", 200, metadata)
