"""What `uom-batch plan` shows: counts by predicted outcome and by changed field, and the diffs.

A diff line is one changed field of one row: (row, ticket, field, before, after), memo operations
included (the kind derives them: jobs.plan_diff). The first few go to the terminal, all of them
to `--diff-csv`, neutralised for spreadsheets like the ledger.
"""

from __future__ import annotations

import csv
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from itertools import islice
from pathlib import Path
from typing import TextIO

import polars as pl
from rich.console import Console
from rich.table import Table
from rich.text import Text

from batch.output.files import atomic_target, neutralise

SHOWN_DIFFS = 20
DIFF_COLUMNS = ("row", "ticket_id", "field", "before", "after")
DiffLine = tuple[int, str, str, str, str]


def write_diff_csv(path: Path, lines: Iterable[DiffLine]) -> int:
    """All diff lines as CSV (UTF-8 with BOM, formula-safe), atomically; the number of lines."""
    count = 0
    with atomic_target(path) as tmp, tmp.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(DIFF_COLUMNS)
        for line in lines:
            writer.writerow([line[0], *(neutralise(str(cell)) for cell in line[1:])])
            count += 1
    return count


def print_plan_report(
    counts: Mapping[str, int],
    fields: Counter[str],
    lines: Iterable[DiffLine],
    rows: pl.DataFrame,
    stream: TextIO | None = None,
    *,
    columns: tuple[str, ...] = DIFF_COLUMNS,
    title: str = "changes",
) -> None:
    """Counts by predicted outcome and by changed field, then the first diffs as a table.

    `columns` and `title` name them (a reconcile calls before/after "live"/"desired", and "drift").
    """
    stream = stream or sys.stdout  # looked up now: a test (or a caller) may have replaced it
    console = Console(file=stream, width=None if stream.isatty() else 160, highlight=False, markup=False)
    console.print(Text("predicted: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items()))))
    if fields:
        console.print(Text(f"{title} by field: " + ", ".join(f"{f}={n}" for f, n in fields.most_common())))
    shown = list(islice(lines, SHOWN_DIFFS))
    if shown:
        table = Table(title=f"the first {len(shown)} lines of the {title}", title_justify="left")
        for column in columns:
            table.add_column(column, overflow="fold")
        for line in shown:
            table.add_row(*(Text(str(cell)) for cell in line))
        console.print(table)
    failing = rows.filter(pl.col("predicted").is_in(["failed", "invalid"])).head(SHOWN_DIFFS)
    for r in failing.iter_rows(named=True):
        console.print(Text(f"row {r['row']} {r['ticket_id']}: {r['predicted']}: {r['error_message']}"))
