"""The offline planner over tests/planner_cases.yaml: at least 90% of the cases right,
every must-plan request right, and every plan it returns valid."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from connectors.registry import load_registry
from workflows.catalog import full_catalog
from workflows.planner import Plan, Planner
from workflows.planning.evaluation import CaseResult, accuracy_by_category, evaluate, load_cases
from workflows.validate import validate

CASES = Path(__file__).resolve().parents[1] / "planner_cases.yaml"


@pytest.fixture(scope="module")
def results() -> list[CaseResult]:
    return asyncio.run(evaluate(Planner(load_registry()), CASES))


def _failures(results: list[CaseResult]) -> str:
    return "\n".join(f"{r.id}: {r.reason}" for r in results if not r.passed)


def test_the_case_file_is_big_enough() -> None:
    _, cases = load_cases(CASES)
    categories = {case["category"] for case in cases}
    assert len(cases) >= 80
    assert {"required", "question", "paraphrase", "follow_up"} <= categories
    assert len({case["id"] for case in cases}) == len(cases)


def test_offline_planner_scores_at_least_90_percent(results: list[CaseResult]) -> None:
    passed = sum(r.passed for r in results)
    assert passed / len(results) >= 0.9, _failures(results)


def test_every_required_request_is_planned_correctly(results: list[CaseResult]) -> None:
    required = [r for r in results if r.category == "required"]
    assert len(required) == 3
    assert all(r.passed for r in required), _failures(required)


def test_every_plan_passes_validation(results: list[CaseResult]) -> None:
    context, _ = load_cases(CASES)
    catalog = full_catalog(load_registry())
    plans = [r.result for r in results if isinstance(r.result, Plan)]
    assert len(plans) > 60
    for plan in plans:
        assert validate(plan.workflow, catalog, now=context.current_time()) == []


def test_scores_are_reported_per_category(results: list[CaseResult]) -> None:
    scores = accuracy_by_category(results)
    assert sum(total for _, total in scores.values()) == len(results)
    assert all(0 <= passed <= total for passed, total in scores.values())
