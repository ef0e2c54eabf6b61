"""`uom-batch history [JOB | PLAN | JOURNAL]`: every run, plan, reconcile, retry and revert of a job.

The records live in the job's journal (`<job>.journal.sqlite`); a plan's applies in the plan's
journal. Prints a table (newest last), or JSON lines with `--json`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from batch.exit_codes import ExitCode

COLUMNS = ("id", "mode", "started", "ended", "status", "counts", "drift", "requests", "rate/s", "output")


def register(subparsers: Any) -> None:
    """Add the `history` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "history",
        help="list the runs, plans and reconciles of a job (from its journal)",
        description="List the run history kept in a job's journal: mode, job SHA-256, start, end, "
        "end status, counts by outcome, drift, requests, achieved rate, ledger.",
    )
    parser.add_argument(
        "target", type=Path, metavar="JOB|PLAN|JOURNAL", help="a job file, a plan or a journal"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per record")
    parser.set_defaults(func=_main)


def journal_of(target: Path) -> Path:
    """The journal a path names: itself (`.sqlite`), else the journal beside a job or plan file."""
    from batch.journal.journal_file import journal_path_for

    return target if target.suffix == ".sqlite" else journal_path_for(target)


def _main(args: argparse.Namespace) -> int:
    import json

    from batch.journal.history import read_history

    journal = journal_of(args.target)
    if not journal.is_file():
        print(f"no history: {journal} does not exist (has {args.target} ever run?)", file=sys.stderr)
        return ExitCode.OK
    records = read_history(journal)
    if args.json:
        for record in records:
            print(json.dumps(record.as_json(), ensure_ascii=False))
        return ExitCode.OK
    _table(records)
    return ExitCode.OK


def _table(records: list[Any]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title_justify="left")
    for column in COLUMNS:
        table.add_column(column, overflow="fold")
    for r in records:
        counts = ", ".join(f"{k}={v}" for k, v in sorted(r.counts.items()))
        drift = "" if r.drift is None else str(r.drift)
        cells = (
            r.record_id,
            r.mode,
            r.started_at[:19],
            r.ended_at[:19],
            r.end_status,
            counts,
            drift,
            r.requests,
            f"{r.rate_per_s:.1f}",
            r.output_path,
        )
        table.add_row(*(Text(str(c)) for c in cells))
    Console(file=sys.stdout, width=None if sys.stdout.isatty() else 200, highlight=False).print(table)
