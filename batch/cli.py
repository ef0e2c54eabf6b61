"""`uom-batch` (and `python -m batch`): parse arguments, wire the pieces, map failures to exit codes."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from batch import __version__
from batch.errors import BatchError

# Each command module has `register(subparsers)`, which sets `func(args) -> int` on its parser.
COMMAND_MODULES = (
    "batch.commands.demo",
    "batch.commands.run",
    "batch.commands.validate",
    "batch.commands.emulator",
)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: one subcommand per module in COMMAND_MODULES."""
    parser = argparse.ArgumentParser(
        prog="uom-batch",
        description="Bulk operations on IIJ UOM tickets: validate, run, resume; and a UOM emulator.",
    )
    parser.add_argument("--version", action="version", version=f"uom-batch {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: run one subcommand and turn a BatchError into a message and exit code 2."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except BatchError as exc:
        print(f"uom-batch: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("uom-batch: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
