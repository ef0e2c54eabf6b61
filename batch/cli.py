"""`uom-batch` (and `python -m batch`): parse arguments, wire the pieces, map failures to exit codes."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from batch import __version__
from batch.errors import BatchError
from batch.exit_codes import ExitCode
from batch.uom.errors import ClientSetupError, UomError

# What a command reports to its user as a message (exit 2), not a traceback: our own errors, and
# the wire layer's, which has a root of its own so that batch/uom imports nothing of the rest.
REPORTED = (BatchError, UomError, ClientSetupError)

# Each command module has `register(subparsers)`, which sets `func(args) -> int` on its parser.
COMMAND_MODULES = (
    "batch.commands.demo",
    "batch.commands.validate",
    "batch.commands.plan",
    "batch.commands.run",
    "batch.commands.retry",
    "batch.commands.revert",
    "batch.commands.reconcile",
    "batch.commands.history",
    "batch.commands.report",
    "batch.commands.split",
    "batch.commands.merge",
    "batch.commands.budget",
    "batch.commands.emulator",
)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: one subcommand per module in COMMAND_MODULES."""
    parser = argparse.ArgumentParser(
        prog="uom-batch",
        description="Bulk operations on IIJ UOM tickets: validate, plan, run (and resume), retry, revert, "
        "reconcile, report, history; shards (split, merge, budget); and a UOM emulator.",
    )
    parser.add_argument("--version", action="version", version=f"uom-batch {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: run one subcommand and turn a reported error into a message and exit code 2."""
    args = build_parser().parse_args(argv)
    import_structlog_without_rich()
    return run_command(args.func, args)


def import_structlog_without_rich() -> None:
    """Import structlog as uom-batch uses it: without rich, which structlog loads (40 ms of every
    start) only to draw tracebacks, and uom-batch logs none. rich still loads where it is used
    (a progress bar on a terminal, the reports)."""
    if "structlog" in sys.modules or "rich" in sys.modules:
        return
    sys.modules["rich"] = None  # type: ignore[assignment]  # `import rich` raises ImportError
    try:
        import structlog  # noqa: F401
    finally:
        del sys.modules["rich"]


def run_command(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a subcommand; a reported error (even wrapped by a task group) is a message and exit 2."""
    try:
        return int(func(args))
    except REPORTED as exc:
        return _fail(exc)
    except BaseExceptionGroup as group:
        # An error raised inside a task group (a broken journal mid-run) arrives wrapped.
        reported, rest = group.split(REPORTED)
        if rest is not None or reported is None:
            raise
        return _fail(*_leaves(reported))
    except KeyboardInterrupt:
        print("uom-batch: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED


def _fail(*errors: BaseException) -> int:
    for exc in errors:
        print(f"uom-batch: error: {exc}", file=sys.stderr)
    # A BatchError names its exit code (2, or 75 for a busy lock); the wire layer's errors mean 2.
    return int(getattr(errors[0], "exit_code", ExitCode.USAGE))


def _leaves(group: BaseExceptionGroup[Exception]) -> list[BaseException]:
    found: list[BaseException] = []
    for exc in group.exceptions:
        found.extend(_leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc])
    return found


if __name__ == "__main__":
    sys.exit(main())
