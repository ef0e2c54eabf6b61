"""`uom-batch validate JOBFILE`: check a job file, row by row, without sending anything.

Prints the job's kind and how it was decided, a summary (rows, valid, invalid, problems by rule
and column) and the first problems; writes the rejected rows with their reasons beside the job.
Exit 0 when every row is valid, 1 when some are not, 2 when the file cannot be used at all.
"""

from __future__ import annotations

import argparse
import gc
import importlib
from pathlib import Path
from typing import Any

from batch.commands.arguments import add_job_arguments
from batch.exit_codes import ExitCode


def register(subparsers: Any) -> None:
    """Add the `validate` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "validate",
        help="check a job file row by row; nothing is sent",
        description="Check every row of JOBFILE (CSV or Parquet) against the job kind's rules and "
        "write the rejected rows, with their reasons, to <job>.rejects.csv. Exit 0 when every row "
        "is valid, 1 when some are not, 2 when the file cannot be used.",
    )
    add_job_arguments(parser)
    parser.add_argument(
        "--rejects", type=Path, metavar="PATH", help="rejected rows file (default: <job>.rejects.csv)"
    )
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Validate, report, write the rejects; the exit code."""
    # Off for the command: it would walk polars' modules and the rules' expression objects
    # several times over (40 ms of CPU, 3 % of a 1M-row validation), and what this short command
    # allocates is freed by reference counting anyway.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _validate(args)
    finally:
        if collecting:
            gc.enable()


def _validate(args: argparse.Namespace) -> int:
    """Load, check, report, write the rejects (the collector off)."""
    # Imported here: `uom-batch --help` should not pay for polars and rich.
    from concurrent.futures import ThreadPoolExecutor

    from batch.output.rejects import default_rejects_path, write_rejects
    from jobs.registry import check_job_file

    rejects = args.rejects or default_rejects_path(args.job)
    # Two overlaps, for wall time: rich is imported while polars reads the file, and the rejects
    # file is written (by polars) while rich prints the report; polars leaves the interpreter free.
    with ThreadPoolExecutor(max_workers=1) as pool:
        importing = pool.submit(importlib.import_module, "batch.output.validation_report")
        checked = check_job_file(args.job, args.action, encoding=args.encoding)
        importing.result()
        from rich.text import Text

        from batch.output.validation_report import console_for_stdout, report

        result = checked.result
        writing = pool.submit(write_rejects, result, rejects) if result.invalid_rows else None
        console = console_for_stdout()
        report(console, checked.job, checked.kind.name, checked.how, result)
        if writing is not None:
            console.print(Text(f"{writing.result()} rejected rows, with reasons: {rejects}"))
            return ExitCode.ROWS_FAILED
    if args.rejects is None and rejects.exists():
        rejects.unlink()  # our own output from an earlier check, now out of date
        console.print(Text(f"removed the out-of-date {rejects.name}"))
    return ExitCode.OK
