"""The example workflows in examples/ stay valid as the connectors and the model evolve."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.main import main
from connectors.registry import load_registry
from workflows.validate import check_document

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.yaml"))


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_is_a_valid_workflow(path: Path) -> None:
    workflow, problems = check_document(path.read_text(), load_registry())
    assert problems == []
    assert workflow is not None and workflow.steps


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs_in_the_sandbox_as_the_readme_shows(
    path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`atom execute examples/<name>.yaml --sandbox --approve`, with no --trigger: an
    event workflow runs on its event's sample payload and says so."""
    monkeypatch.chdir(path.parents[1])

    code = main(["execute", f"examples/{path.name}", "--sandbox", "--approve"])

    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert code == 0, report
    assert report["status"] == "succeeded"
    assert all(step["status"] == "succeeded" for step in report["steps"])
    if "type: event" in path.read_text():
        assert "using the sample payload of" in captured.err


def test_execute_outside_the_sandbox_asks_for_an_event_payload(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = next(p for p in EXAMPLES if "type: event" in p.read_text())

    assert main(["execute", str(path)]) == 2
    assert "pass its payload with --trigger" in capsys.readouterr().err


def test_events_sample_prints_a_payload(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["events", "sample", "github.issue_opened"]) == 0
    assert json.loads(capsys.readouterr().out)["issue"]["repo"] == "acme/api"
    assert main(["events", "sample", "github.nothing"]) == 1
    assert "known: " in capsys.readouterr().err
