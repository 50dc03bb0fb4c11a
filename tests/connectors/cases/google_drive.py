"""Contract cases for Google Drive: a "Reports" folder and a plain file in My Drive."""

from sandbox.emulator import Emulator
from sandbox.google import GoogleDriveEmulator
from tests.connectors.contract_case import ActionCase

FOLDER_ID = "1ReportsFolder00000000000000000"
FILE_ID = "1BudgetSheet0000000000000000000"


def seed_drive(emulator: Emulator) -> None:
    assert isinstance(emulator, GoogleDriveEmulator)
    emulator.add_file("Reports", mime_type="application/vnd.google-apps.folder", file_id=FOLDER_ID)
    emulator.add_file("budget.csv", mime_type="text/csv", content=b"a,b\n1,2\n", file_id=FILE_ID)


CASES = [
    ActionCase(
        "google_drive.upload_file",
        {"name": "notes.txt", "content": "Minutes of the meeting", "folder_id": FOLDER_ID},
        {"name": "notes.txt", "content": "Minutes", "folder_id": FILE_ID},
        seed=seed_drive,
        notes="Drive answers 400 'The specified parent is not a folder.'",
    ),
    ActionCase(
        "google_drive.download_file",
        {"name": "budget.csv"},
        {"file_id": FOLDER_ID},
        seed=seed_drive,
        notes="a folder has no content to download: refused before asking Drive for it",
    ),
    ActionCase(
        "google_drive.create_folder",
        {"name": "2030", "parent_id": FOLDER_ID},
        {"name": "2030", "parent_id": FILE_ID},
        seed=seed_drive,
        notes="Drive answers 400 'The specified parent is not a folder.'",
    ),
    ActionCase(
        "google_drive.share_file",
        {"file_id": FILE_ID, "email": "bob@example.com", "role": "writer"},
        {"file_id": FILE_ID, "email": "bob at example.com"},
        seed=seed_drive,
        notes="Drive answers 400 for a malformed e-mail address",
    ),
]
