"""Contract cases for the Dropbox connector: a /Reports folder with q3.txt in it and an
empty /Projects folder."""

from __future__ import annotations

from sandbox.dropbox import DropboxEmulator
from sandbox.emulator import Emulator
from tests.connectors.contract_case import ActionCase


def seed_files(emulator: Emulator) -> None:
    assert isinstance(emulator, DropboxEmulator)
    emulator.add_file("/Reports/q3.txt", "Q3: revenue up 4%")
    emulator.add_folder("/Projects")


CASES = [
    ActionCase(
        "dropbox.upload_file",
        {"path": "/Reports/q4.txt", "content": "Q4: revenue up 6%"},
        {"path": "/Reports/q3.txt", "content": "Q3, corrected"},
        seed=seed_files,
        notes="Dropbox answers 409 path/conflict/file: mode add keeps the existing file",
    ),
    ActionCase(
        "dropbox.download_file",
        {"path": "/Reports/q3.txt"},
        {"path": "/Projects"},
        seed=seed_files,
        notes="Dropbox answers 409 path/not_file: a folder has no content to download",
    ),
    ActionCase(
        "dropbox.create_folder",
        {"path": "/Projects/Atlas"},
        {"path": "/Projects"},
        seed=seed_files,
        notes="Dropbox answers 409 path/conflict/folder",
    ),
    ActionCase(
        "dropbox.create_shared_link",
        {"path": "/Reports/q3.txt"},
        {"path": "/Reports/"},
        seed=seed_files,
        notes="Dropbox answers 409 path/malformed_path for a trailing slash",
    ),
]
