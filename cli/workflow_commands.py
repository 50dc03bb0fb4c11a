"""`atom validate`, `atom execute`, `atom schema`: check a workflow document, run it once
outside Slack, and print the document's JSON Schema."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cli.connector_commands import event_sample
from cli.errors import CommandError
from connectors.base import CredentialProvider, StaticCredentialProvider
from connectors.client import HttpPool
from connectors.registry import Registry, load_registry
from core.db import Database
from core.logging import configure_logging
from core.settings import Settings
from migrations.metadata import load_metadata
from sandbox.services import Sandbox
from workflows.engine import Engine
from workflows.model import Workflow, document_json_schema, strict_json_schema
from workflows.store import RunRecord, RunRepo, RunStatus, StepRecord, WorkflowRepo
from workflows.validate import check_document

CLI_TEAM = "T0CLI"
CLI_USER = "U0CLI"


def register(subparsers: argparse._SubParsersAction) -> None:
    validate = subparsers.add_parser("validate", help="check a workflow document (YAML or JSON)")
    validate.add_argument(
        "files", nargs="+", metavar="FILE", help="documents to check (- reads standard input)"
    )
    validate.add_argument(
        "--timezone", default="UTC", help="zone for schedules that name none (default UTC)"
    )
    validate.set_defaults(handler=command_validate)

    execute = subparsers.add_parser(
        "execute", help="run a workflow document once and print the run as JSON"
    )
    execute.add_argument("file", help="the document, or - to read standard input")
    execute.add_argument(
        "--trigger",
        help="the trigger payload: a JSON object, or @FILE (default: none for a manual or "
        "scheduled workflow; with --sandbox, the event's sample payload)",
    )
    execute.add_argument(
        "--sandbox", action="store_true", help="use the sandbox emulators, not the real services"
    )
    execute.add_argument(
        "--approve",
        action="store_true",
        help="approve every approval step on behalf of its approvers",
    )
    execute.add_argument(
        "--credentials",
        metavar="FILE",
        help='tokens for the real services: {"github": {"access_token": "…", "extra": {}}}',
    )
    execute.add_argument("--verbose", action="store_true", help="log the engine's progress")
    execute.set_defaults(handler=command_execute)

    schema = subparsers.add_parser("schema", help="print the JSON Schema of workflow documents")
    schema.add_argument(
        "--strict",
        action="store_true",
        help="the wire form for OpenAI strict structured outputs (inputs as name/value pairs)",
    )
    schema.set_defaults(handler=command_schema)


# --- validate and schema ---------------------------------------------------------------------


def command_validate(args: argparse.Namespace) -> int:
    """Check each file and report each; exit 1 when any of them has a problem."""
    registry = load_registry()
    results = [_validate_one(name, registry, args.timezone) for name in args.files]
    return 0 if all(results) else 1


def _validate_one(name: str, registry: Registry, timezone: str) -> bool:
    try:
        text = _read(name)
    except CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return False
    workflow, problems = check_document(text, registry, default_timezone=timezone)
    prefix = f"{name}: " if name != "-" else ""
    for problem in problems:
        print(f"{prefix}{problem}")
    if problems or workflow is None:
        return False
    print(f"{name}: “{workflow.name}” is valid ({len(workflow.steps)} step(s))")
    return True


def command_schema(args: argparse.Namespace) -> int:
    print(json.dumps(strict_json_schema() if args.strict else document_json_schema(), indent=2))
    return 0


# --- execute ------------------------------------------------------------------------------


def command_execute(args: argparse.Namespace) -> int:
    settings = Settings()
    configure_logging("INFO" if args.verbose else "WARNING", json_output=False)
    registry = load_registry()
    workflow, problems = check_document(_read(args.file), registry)
    if problems or workflow is None:
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1
    trigger = _trigger(args.trigger) if args.trigger else _default_trigger(workflow, args)
    with _services(args, settings) as (wired, credentials):
        report = asyncio.run(
            execute_once(workflow, trigger, registry, wired, credentials, approve=args.approve)
        )
    print(json.dumps(report, indent=2, ensure_ascii=False))
    if report["status"] == RunStatus.WAITING_APPROVAL:
        print("the run is waiting for approval; pass --approve to approve it", file=sys.stderr)
    return 0 if report["status"] == RunStatus.SUCCEEDED else 1


@contextmanager
def _services(
    args: argparse.Namespace, settings: Settings
) -> Iterator[tuple[Settings, CredentialProvider]]:
    """Settings and credentials for the run: the sandbox's, or the real services'."""
    if args.sandbox and args.credentials:
        raise CommandError(
            "--credentials is for the real services; leave it out with --sandbox", exit_code=2
        )
    if not args.sandbox:
        tokens = json.loads(_read(args.credentials)) if args.credentials else {}
        if not isinstance(tokens, dict):
            raise CommandError("--credentials must hold a JSON object {service: {access_token}}")
        yield settings, StaticCredentialProvider.from_tokens(tokens)
        return
    with Sandbox() as sandbox:
        wired = settings.model_copy(update=sandbox.settings_overrides())
        yield wired, StaticCredentialProvider.from_tokens(sandbox.credentials())


async def execute_once(
    workflow: Workflow,
    trigger: dict[str, Any],
    registry: Registry,
    settings: Settings,
    credentials: CredentialProvider,
    *,
    approve: bool = False,
) -> dict[str, Any]:
    """Run `workflow` once on a throwaway SQLite database; the run as JSON data."""
    with tempfile.TemporaryDirectory(prefix="atom-execute-") as directory:
        database = Database(f"sqlite+aiosqlite:///{Path(directory) / 'atom.db'}")
        pool = HttpPool(settings)
        try:
            async with database.engine.begin() as connection:
                await connection.run_sync(load_metadata().create_all)
            engine = Engine(database, registry, pool, credentials, settings, worker_id="execute")
            workflow_id, _ = await WorkflowRepo(database).create(CLI_TEAM, CLI_USER, workflow)
            run_id = await engine.start_run(CLI_TEAM, workflow_id, trigger, CLI_USER)
            await engine.execute(run_id)
            if approve:
                await _approve_all(engine, run_id)
            run, steps = await RunRepo(database).snapshot(CLI_TEAM, run_id)
            return run_report(workflow, run, steps)
        finally:
            await pool.aclose()
            await database.dispose()


async def _approve_all(engine: Engine, run_id: str) -> None:
    runs = RunRepo(engine.database)
    run = await runs.get(CLI_TEAM, run_id)
    while run.status == RunStatus.WAITING_APPROVAL:
        waiting = next(s for s in await runs.steps(CLI_TEAM, run_id) if s.approval)
        approval = waiting.approval or {}
        decided = {d["approver"] for d in approval["decisions"]}
        approver = next(a for a in approval["approvers"] if a not in decided)
        run = await engine.decide_approval(CLI_TEAM, run_id, waiting.step_id, approver, True)


def run_report(workflow: Workflow, run: RunRecord, steps: list[StepRecord]) -> dict[str, Any]:
    """The run as JSON data: its record and every step's (inputs, output, error, …)."""
    return {"workflow": workflow.name, **run.to_json(), "steps": [s.to_json() for s in steps]}


# --- input --------------------------------------------------------------------------------


def _read(name: str) -> str:
    if name == "-":
        return sys.stdin.read()
    path = Path(name)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CommandError(f"no such file: {name}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read {name}: {exc}") from None


def _default_trigger(workflow: Workflow, args: argparse.Namespace) -> dict[str, Any]:
    """No --trigger: nothing for manual and scheduled workflows; for an event workflow
    in the sandbox the event's sample payload (said on stderr), elsewhere an error."""
    if workflow.trigger.type != "event":
        return {}
    key = workflow.trigger.event
    if not args.sandbox:
        raise CommandError(
            f"this workflow runs when {key} happens: pass its payload with --trigger JSON|@FILE "
            f"(`atom events sample {key}` prints an example)",
            exit_code=2,
        )
    print(
        f"no --trigger given: using the sample payload of {key} (`atom events sample {key}`)",
        file=sys.stderr,
    )
    return event_sample(key)


def _trigger(text: str) -> dict[str, Any]:
    raw = _read(text[1:]) if text.startswith("@") else text
    try:
        payload = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CommandError(f"--trigger is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise CommandError('--trigger must be a JSON object, e.g. \'{"title": "Hello"}\'')
    return payload
