"""`uom-batch validate JOBFILE`: check a job file, row by row, without sending anything.

Prints the job's kind and how it was decided, a summary (rows, valid, invalid, problems by rule
and column) and the first problems; writes the rejected rows with their reasons beside the job.
Exit 0 when every row is valid, 1 when some are not, 2 when the file cannot be used at all.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from batch.commands.prepare import add_job_arguments
from batch.jobfile.load import load_job
from batch.output.rejects import default_rejects_path, write_rejects
from jobs.registry import CheckedJob, check_job

SHOWN_PROBLEMS = 20


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
    checked = check_job(load_job(args.job, encoding=args.encoding), args.action)
    console = _console()
    report(console, checked)
    rejects = args.rejects or default_rejects_path(args.job)
    if checked.result.invalid.height:
        written = write_rejects(checked.result, rejects)
        console.print(Text(f"{written} rejected rows, with reasons: {rejects}"))
        return 1
    if args.rejects is None and rejects.exists():
        rejects.unlink()  # our own output from an earlier check, now out of date
        console.print(Text(f"removed the out-of-date {rejects.name}"))
    return 0


def _console() -> Console:
    # Wide when piped, so table cells (rule names, excerpts) are not wrapped into pieces.
    width = None if sys.stdout.isatty() else 160
    return Console(file=sys.stdout, width=width, highlight=False, markup=False, emoji=False)


def report(console: Console, checked: CheckedJob) -> None:
    """Kind, summary, counts by rule, and the first problems."""
    job, result = checked.job, checked.result
    encoding = f", {job.encoding}" if job.encoding else ""
    console.print(Text(f"job file: {job.path} ({job.format}{encoding}), sha256 {job.sha256[:12]}…"))
    console.print(Text(f"kind: {checked.kind.name} ({checked.how})"))
    blank = f", {job.blank_rows} blank rows skipped" if job.blank_rows else ""
    console.print(
        Text(
            f"rows: {result.rows}  valid: {result.valid.height}  invalid: {result.invalid.height}"
            f"  problems: {result.problems.height}{blank}"
        )
    )
    if result.problems.height:
        console.print(_table("problems by rule", result.by_rule()))
        first = result.problems.head(SHOWN_PROBLEMS).drop("message")
        title = f"first {first.height} of {result.problems.height} problems"
        console.print(_table(title, first))


def _table(title: str, frame: Any) -> Table:
    table = Table(title=title, title_justify="left")
    for column in frame.columns:
        table.add_column(column, overflow="fold")
    for values in frame.iter_rows():
        table.add_row(*(Text(str(v)) for v in values))
    return table
