"""Contract cases for the Asana connector: a "Launch" project with one task in the
emulator's "ATOM Sandbox" workspace, and a second user, Ada."""

from __future__ import annotations

from sandbox.asana import AsanaEmulator
from sandbox.emulator import Emulator
from tests.connectors.contract_case import ActionCase

TASK_GID = "1209999999999001"
ADA = "ada@example.com"


def seed_launch(emulator: Emulator) -> None:
    assert isinstance(emulator, AsanaEmulator)
    workspace = next(iter(emulator.workspaces.values()))
    project = emulator.add_project(workspace.gid, "Launch")
    emulator.add_task(project.gid, "Draft the announcement", gid=TASK_GID)
    emulator.add_user("Ada Lovelace", ADA)


CASES = [
    ActionCase(
        "asana.create_task",
        {"name": "Book the venue", "project": "Launch", "assignee": ADA, "due_on": "2026-12-01"},
        {"name": "Book the venue", "project": "Launch", "assignee": "nobody@example.com"},
        seed=seed_launch,
        notes='Asana answers 400 "assignee: Not a recognized ID: …" for an unknown user',
    ),
    ActionCase(
        "asana.complete_task",
        {"task": TASK_GID},
        {"task": "draft-announcement"},
        seed=seed_launch,
        notes='Asana answers 400 "task: Not a Long: …" for a gid that is not a number',
    ),
    ActionCase(
        "asana.comment_on_task",
        {"task": TASK_GID, "text": "First draft is in the doc."},
        {"task": "draft-announcement", "text": "First draft is in the doc."},
        seed=seed_launch,
    ),
]
