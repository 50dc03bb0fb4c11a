"""Score a planner on the case file and print its accuracy per category.

.venv/bin/python bench/planner_eval.py                 # the offline planner
.venv/bin/python bench/planner_eval.py --llm           # the LLM planner (OPENAI_API_KEY,
                                                       # OPENAI_BASE_URL, ATOM_LLM_MODEL)
.venv/bin/python bench/planner_eval.py --failures      # also list what went wrong
.venv/bin/python bench/planner_eval.py --cases tests/planner_cases_typed.yaml
                                      # the typed cases, scored per split (train, holdout)
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from connectors.registry import load_registry
from core.settings import Settings
from workflows.planner import Planner, PlannerError, build_planner
from workflows.planning.evaluation import (
    CaseResult,
    accuracy_by_category,
    accuracy_by_split,
    evaluate,
)

CASES = Path(__file__).resolve().parents[1] / "tests" / "planner_cases.yaml"


def report(results: list[CaseResult], show_failures: bool) -> str:
    lines = [f"{'category':<12} {'passed':>6} {'total':>6} {'accuracy':>9}"]
    for category, (passed, total) in accuracy_by_category(results).items():
        lines.append(f"{category:<12} {passed:>6} {total:>6} {passed / total:>9.0%}")
    passed = sum(r.passed for r in results)
    lines.append(f"{'all':<12} {passed:>6} {len(results):>6} {passed / len(results):>9.0%}")
    splits = accuracy_by_split(results)
    if len(splits) > 1:
        for split, (passed, total) in splits.items():
            lines.append(f"{'split ' + split:<12} {passed:>6} {total:>6} {passed / total:>9.0%}")
    if show_failures:
        lines += ["", *(f"FAIL {r.id}: {r.reason}" for r in results if not r.passed)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=CASES, help="the case file (YAML)")
    parser.add_argument("--llm", action="store_true", help="score the configured LLM planner")
    parser.add_argument("--failures", action="store_true", help="list the failed cases")
    args = parser.parse_args(argv)
    settings = Settings()
    if args.llm and settings.openai_api_key is None:
        print(
            "--llm needs OPENAI_API_KEY (and OPENAI_BASE_URL for a local server)", file=sys.stderr
        )
        return 1
    planner = build_planner(settings) if args.llm else Planner(load_registry())
    started = time.perf_counter()
    try:
        results = asyncio.run(evaluate(planner, args.cases))
    except PlannerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"planner: {planner.name}, {len(results)} cases in {time.perf_counter() - started:.1f}s")
    print(report(results, args.failures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
