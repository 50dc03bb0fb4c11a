"""The offline planner over tests/planner_cases_typed.yaml (requests typed as people type,
with a held-out third nobody tunes on): the split is fixed and the held-out score does not
fall below the floor measured before any tuning on the file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from connectors.registry import load_registry
from workflows.planner import Planner
from workflows.planning.evaluation import CaseResult, accuracy_by_split, evaluate, load_cases

TYPED_CASES = Path(__file__).resolve().parents[1] / "planner_cases_typed.yaml"
HOLDOUT_FLOOR = 20 / 27  # measured before tuning (see bench/README.md)


@pytest.fixture(scope="module")
def results() -> list[CaseResult]:
    return asyncio.run(evaluate(Planner(load_registry()), TYPED_CASES))


def test_a_third_of_the_typed_cases_is_held_out() -> None:
    _, cases = load_cases(TYPED_CASES)
    splits = [case["split"] for case in cases]
    assert len(cases) >= 80
    assert set(splits) == {"train", "holdout"}
    assert splits.count("holdout") * 3 >= len(cases) - 2
    assert len({case["text"].lower() for case in cases}) == len(cases)


def test_held_out_score_stays_above_the_floor(results: list[CaseResult]) -> None:
    passed, total = accuracy_by_split(results)["holdout"]
    failures = "\n".join(
        f"{r.id}: {r.reason}" for r in results if r.split == "holdout" and not r.passed
    )
    assert passed / total >= HOLDOUT_FLOOR, failures
