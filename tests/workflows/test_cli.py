"""`atom validate`, `atom execute` and `atom schema` as a person runs them."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.main import main

GOOD = """
name: Note and rename
trigger: {type: manual}
steps:
  - id: ok
    action: approval.request
    with: {approvers: [U1ALICE], message: "Create {{ trigger.title }}?"}
  - id: make
    action: notes.create_note
    with: {title: "{{ trigger.title }}"}
  - id: rename
    action: notes.update_note
    with: {id: "{{ steps.make.id }}", title: "{{ steps.make.title }} (approved)"}
"""

BAD = """
name: Broken
trigger: {type: schedule, cron: "0 9 * *"}
steps:
  - id: make
    action: notes.create_nte
  - id: make
    action: notes.update_note
    with: {id: "{{ steps.later.id }}", title: x}
"""


@pytest.fixture(autouse=True)
def notes_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The CLI's registry and sandbox hold just the test `notes` service; the root
    logger the command configures is put back afterwards."""
    monkeypatch.setattr("connectors.registry.CONNECTOR_MODULES", ["tests.workflows.notes"])
    monkeypatch.setattr(
        "sandbox.services.EMULATORS", {"notes": "tests.workflows.notes:NotesEmulator"}
    )
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def write(tmp_path: Path, text: str, name: str = "workflow.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_validate_accepts_a_good_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, GOOD)

    assert main(["validate", path]) == 0
    assert "“Note and rename” is valid (3 step(s))" in capsys.readouterr().out


def test_validate_prints_each_problem_on_its_own_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, BAD)

    assert main(["validate", path]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"{path}: " + problem
        for problem in [
            "trigger.cron: cron needs 5 fields (minute hour day-of-month month day-of-week), "
            "got 4: '0 9 * *'",
            "steps[1].id: duplicate step id `make` (steps[0] has it too); "
            "give each step its own id",
            "steps[0].action: unknown action `notes.create_nte`; did you mean `notes.create_note`?",
            "steps[1].with.id: `steps.later`: there is no step with id `later`",
        ]
    ]


def test_validate_reports_each_of_several_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(tmp_path, GOOD, "good.yaml")
    bad = write(tmp_path, BAD, "bad.yaml")

    assert main(["validate", good, bad, "/nonexistent/workflow.yaml"]) == 1
    captured = capsys.readouterr()
    assert f"{good}: “Note and rename” is valid (3 step(s))" in captured.out
    assert f"{bad}: trigger.cron: cron needs 5 fields" in captured.out
    assert "error: no such file: /nonexistent/workflow.yaml" in captured.err
    assert main(["validate", good, good]) == 0


def test_execute_refuses_credentials_with_the_sandbox(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, GOOD)

    assert main(["execute", path, "--sandbox", "--credentials", path]) == 2
    assert "--credentials is for the real services" in capsys.readouterr().err


def test_validate_reports_a_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "/nonexistent/workflow.yaml"]) == 1
    assert "error: no such file: /nonexistent/workflow.yaml" in capsys.readouterr().err


def test_execute_runs_once_in_the_sandbox_and_prints_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, GOOD)

    code = main(["execute", path, "--sandbox", "--approve", "--trigger", '{"title": "Hi"}'])

    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report["status"] == "succeeded" and report["workflow"] == "Note and rename"
    steps = {step["step_id"]: step for step in report["steps"]}
    assert steps["ok"]["output"]["approved_by"] == ["U1ALICE"]
    assert steps["make"]["output"]["title"] == "Hi"
    assert steps["rename"]["inputs"] == {
        "id": steps["make"]["output"]["id"],
        "title": "Hi (approved)",
    }
    assert steps["rename"]["status"] == "succeeded"


def test_execute_stops_at_an_approval_unless_told_to_approve(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trigger = write(tmp_path, '{"title": "Later"}', "trigger.json")

    code = main(["execute", write(tmp_path, GOOD), "--sandbox", "--trigger", f"@{trigger}"])

    captured = capsys.readouterr()
    assert code == 1
    assert json.loads(captured.out)["status"] == "waiting_approval"
    assert "pass --approve" in captured.err


def test_execute_refuses_an_invalid_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["execute", write(tmp_path, BAD), "--sandbox"]) == 1
    assert "trigger.cron: cron needs 5 fields" in capsys.readouterr().err


def test_execute_needs_a_json_object_trigger(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["execute", write(tmp_path, GOOD), "--trigger", "[1]"]) == 1
    assert "--trigger must be a JSON object" in capsys.readouterr().err


@pytest.mark.parametrize(("flag", "with_kind"), [([], "object"), (["--strict"], "array")])
def test_schema_prints_the_document_or_the_strict_schema(
    flag: list[str], with_kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema", *flag]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "Workflow"
    assert schema["$defs"]["Step"]["properties"]["with"]["type"] == with_kind
