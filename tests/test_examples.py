"""The example workflows in examples/ stay valid as the connectors and the model evolve."""

from __future__ import annotations

from pathlib import Path

import pytest

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
