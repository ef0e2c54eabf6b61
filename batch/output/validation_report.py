"""What `uom-batch validate` prints: the job's kind, a summary, problems by rule, the first problems."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from batch.jobfile.load import LoadedJob
    from batch.jobfile.parquet_scan import ScannedJob
    from batch.validation.check import InvalidRows, ValidationResult

SHOWN_PROBLEMS = 20


def console_for_stdout() -> Console:
    """A plain console on stdout (no markup or highlighting of the job's own text)."""
    # Wide when piped, so table cells (rule names, excerpts) are not wrapped into pieces.
    width = None if sys.stdout.isatty() else 160
    return Console(file=sys.stdout, width=width, highlight=False, markup=False, emoji=False)


def report(
    console: Console,
    job: LoadedJob | ScannedJob,
    kind: str,
    how: str,
    result: ValidationResult | InvalidRows,
) -> None:
    """Kind (and how it was decided), summary, counts by rule, and the first problems."""
    encoding = f", {job.encoding}" if job.encoding else ""
    digest = f", sha256 {job.sha256[:12]}…" if job.sha256 else ""
    console.print(Text(f"job file: {job.path} ({job.format}{encoding}){digest}"))
    console.print(Text(f"kind: {kind} ({how})"))
    blank = f", {job.blank_rows} blank rows skipped" if job.blank_rows else ""
    console.print(
        Text(
            f"rows: {result.rows}  valid: {result.valid_rows}  invalid: {result.invalid_rows}"
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
