"""Scoring a planner against a case file (tests/planner_cases.yaml): each request, the
workflow it must yield (trigger, ordered actions, key inputs) or the question it must
ask, and follow-up turns. Used by the planner tests and `bench/planner_eval.py`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import yaml

from workflows.model import Workflow
from workflows.planning.results import Plan, PlanContext, Question


class ConversationalPlanner(Protocol):
    async def plan(self, text: str, context: PlanContext) -> Plan | Question: ...

    async def answer(
        self, question: Question, text: str, context: PlanContext
    ) -> Plan | Question: ...

    async def revise(
        self, workflow: Workflow, text: str, context: PlanContext
    ) -> Plan | Question: ...


@dataclass(frozen=True)
class CaseResult:
    id: str
    category: str
    passed: bool
    reason: str = ""
    result: Plan | Question | None = None
    split: str = "train"


def load_cases(path: Path) -> tuple[PlanContext, list[dict[str, Any]]]:
    document = yaml.safe_load(path.read_text())
    raw = document.get("context", {})
    context = PlanContext(
        user=raw.get("user"),
        timezone=raw.get("timezone", "UTC"),
        now=datetime.fromisoformat(raw["now"]) if raw.get("now") else None,
        email=raw.get("email"),
    )
    return context, list(document["cases"])


# --- matching ------------------------------------------------------------------------------


def value_matches(expected: Any, actual: Any) -> bool:
    """Equality, except that "~text" matches any string containing text (any case)."""
    if isinstance(expected, str) and expected.startswith("~"):
        return isinstance(actual, str) and expected[1:].lower() in actual.lower()
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(
            key in actual and value_matches(value, actual[key]) for key, value in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(value_matches(e, a) for e, a in zip(expected, actual, strict=True))
        )
    return bool(expected == actual)


def _mismatch(expected: Mapping[str, Any], result: Plan | Question) -> str:
    """Why `result` does not meet `expected` ("" when it does)."""
    if "question" in expected:
        if not isinstance(result, Question):
            return f"expected a question about {expected['question']!r}, got a plan"
        if expected["question"].lower() not in result.text.lower():
            return f"the question {result.text!r} does not mention {expected['question']!r}"
        return ""
    if isinstance(result, Question):
        return f"expected a plan, got the question {result.text!r}"
    document = result.workflow.to_document()
    trigger = expected.get("trigger")
    if trigger is not None and not value_matches(trigger, document["trigger"]):
        return f"trigger {document['trigger']} does not match {trigger}"
    unused = expected.get("unused")
    if unused is not None and not any(value_matches(unused, part) for part in result.unused):
        return f"the plan does not name {unused!r} as unused (unused: {list(result.unused)})"
    steps = expected.get("steps")
    if steps is None:
        return ""
    actions = [step["action"] for step in document["steps"]]
    if actions != [step["action"] for step in steps]:
        return f"actions {actions} are not {[step['action'] for step in steps]}"
    for want, have in zip(steps, document["steps"], strict=True):
        for key in ("with", "if"):
            if key in want and not value_matches(want[key], have.get(key)):
                return f"step {have['id']} {key} {have.get(key)} does not match {want[key]}"
    return ""


# --- running -------------------------------------------------------------------------------


async def _continue(
    planner: ConversationalPlanner, previous: Plan | Question, text: str, context: PlanContext
) -> Plan | Question:
    if isinstance(previous, Question):
        return await planner.answer(previous, text, context)
    return await planner.revise(previous.workflow, text, context)


async def run_case(
    planner: ConversationalPlanner, case: Mapping[str, Any], context: PlanContext
) -> CaseResult:
    identity, category = str(case["id"]), str(case.get("category", "other"))
    split = str(case.get("split", "train"))
    result = await planner.plan(case["text"], context)
    turns = [("", case.get("expect"))] + [
        (turn["text"], turn["expect"]) for turn in case.get("follow_up", [])
    ]
    for index, (text, expected) in enumerate(turns):
        if index > 0:
            result = await _continue(planner, result, text, context)
        if expected is None:
            continue
        reason = _mismatch(expected, result)
        if reason:
            where = f"after {text!r}: " if index > 0 else ""
            return CaseResult(identity, category, False, where + reason, result, split)
    return CaseResult(identity, category, True, "", result, split)


async def evaluate(planner: ConversationalPlanner, path: Path) -> list[CaseResult]:
    context, cases = load_cases(path)
    return [await run_case(planner, case, context) for case in cases]


def accuracy_by_split(results: list[CaseResult]) -> dict[str, tuple[int, int]]:
    """split ("train", "holdout") -> (passed, total); cases without a split are "train"."""
    scores: dict[str, tuple[int, int]] = {}
    for result in results:
        passed, total = scores.get(result.split, (0, 0))
        scores[result.split] = (passed + result.passed, total + 1)
    return scores


def accuracy_by_category(results: list[CaseResult]) -> dict[str, tuple[int, int]]:
    """category -> (passed, total), in the order categories first appear."""
    scores: dict[str, tuple[int, int]] = {}
    for result in results:
        passed, total = scores.get(result.category, (0, 0))
        scores[result.category] = (passed + result.passed, total + 1)
    return scores
