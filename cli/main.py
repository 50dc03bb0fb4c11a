"""The `atom` command: the composition root. Each command module registers its
subcommands; `main` parses, runs, and turns errors into a message and an exit code."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from cli.errors import CommandError

COMMAND_MODULES = [
    # each module has `register(subparsers)`; a subcommand sets `handler=fn(args) -> int`
    "cli.app_commands",
    "cli.connector_commands",
    "cli.workflow_commands",
    "cli.keys_commands",
    "cli.worker_commands",
    "cli.planner_commands",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="atom", description="ATOM: chat-ops for Slack.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
