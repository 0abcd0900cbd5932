# SPDX-License-Identifier: Apache-2.0
"""`llmledger` console script: one sub-command per module under `commands/`.

Each command module exposes `register(subparsers)`, which adds its parser and sets `func` to a callable
taking the parsed arguments and returning the exit code. Commands import their heavy dependencies inside
`func`, so `llmledger --help` stays fast; and when the command line names a command, only that command's module
is imported and registered (`llmledger sql …` does not load the report's, the collector's or the UI's modules).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

_COMMANDS = ("collector", "clickhouse", "schema", "sql", "report", "budget", "prices", "reprice", "whatif", "ui")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or of command `only` alone (the one the command line names)."""
    parser = argparse.ArgumentParser(prog="llmledger", description="LLM cost collection and reports.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in (only,) if only else _COMMANDS:
        try:
            module = importlib.import_module(f"llmledger.collector.commands.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"llmledger.collector.commands.{name}":
                raise
            continue  # command not built yet
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    named = argv[0] if argv and argv[0] in _COMMANDS else None
    args = build_parser(named).parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
