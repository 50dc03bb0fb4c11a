"""`atom plan TEXT`: turn a request into a workflow, the way the bot does, and print it.

Exit codes: 0 a plan (in plain words, or with --json the workflow document), 2 a
question (printed on standard output, so scripts can show it), 1 an error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cli.errors import CommandError
from connectors.registry import load_registry
from core.settings import Settings
from workflows.planner import Plan, PlanContext, PlannerError, Question, build_planner
from workflows.planning.words import unused_line

EXIT_PLAN = 0
EXIT_QUESTION = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    plan = subparsers.add_parser(
        "plan",
        help="turn a request into a workflow (LLM with OPENAI_API_KEY, else the offline planner)",
    )
    plan.add_argument("text", nargs="+", help='the request, e.g. "every weekday at 9am post …"')
    plan.add_argument("--json", action="store_true", help="print the workflow document as JSON")
    plan.add_argument(
        "--timezone",
        default=os.environ.get("TZ") or "UTC",
        help="your IANA time zone, for schedules and calendar times (default: $TZ or UTC)",
    )
    plan.add_argument(
        "--now",
        help="plan as if it were this ISO date-time (default: the clock), e.g. 2026-03-02T09:00",
    )
    plan.set_defaults(handler=command_plan)


def _context(args: argparse.Namespace) -> PlanContext:
    try:
        zone = ZoneInfo(args.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise CommandError(
            f"unknown time zone {args.timezone!r}: use an IANA name such as Europe/Berlin"
        ) from None
    now = None
    if args.now:
        try:
            now = datetime.fromisoformat(args.now)
        except ValueError:
            raise CommandError(
                f"--now {args.now!r} is not an ISO date-time (e.g. 2026-03-02T09:00)"
            ) from None
        if now.tzinfo is None:
            now = now.replace(tzinfo=zone)
    return PlanContext(timezone=args.timezone, now=now)


def _print_plan(plan: Plan, as_json: bool) -> None:
    if as_json:
        print(json.dumps(plan.workflow.to_document(), indent=2, ensure_ascii=False))
        return
    print(plan.workflow.name)
    print()
    print(plan.summary)
    if plan.assumptions:
        print()
        print("Assumed: " + "; ".join(plan.assumptions) + ".")
    if plan.unused:
        print()
        print(unused_line(plan.unused))


def _print_question(question: Question) -> None:
    print(question.text)
    for choice in question.choices:
        print(f"  - {choice.label}")


def command_plan(args: argparse.Namespace) -> int:
    context = _context(args)
    planner = build_planner(Settings(), load_registry())
    try:
        result = asyncio.run(planner.plan(" ".join(args.text), context))
    except PlannerError as exc:
        raise CommandError(str(exc)) from None
    if isinstance(result, Question):
        _print_question(result)
        return EXIT_QUESTION
    _print_plan(result, args.json)
    return EXIT_PLAN
