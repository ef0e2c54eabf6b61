"""The files a revert writes: the undo job (an ordinary job file) and what cannot be undone."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

from batch.output.files import atomic_target, neutralise

NOT_REVERTIBLE_COLUMNS = ("row", "ticket_id", "what", "reason")


def not_revertible_path(undo: Path) -> Path:
    """`<undo stem>.not-revertible.csv` beside the undo job."""
    return undo.with_name(f"{undo.stem}.not-revertible.csv")


def write_job_csv(path: Path, rows: Sequence[Mapping[str, str]], first: Sequence[str] = ()) -> None:
    """A UTF-8 (BOM) CSV job file: the union of the rows' columns, `first` ones first, cells as given.

    No formula guard here: this is a job file, read back by uom-batch as exact text.
    """
    columns = list(dict.fromkeys([*first, *(c for r in rows for c in r)]))
    with atomic_target(path) as tmp, tmp.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.DictWriter(out, columns, restval="")
        writer.writeheader()
        writer.writerows(rows)


def write_not_revertible(path: Path, items: Sequence[tuple[int, str, str, str]]) -> None:
    """What a revert cannot put back, one line each (row, ticket_id, what, reason), spreadsheet-safe."""
    with atomic_target(path) as tmp, tmp.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(NOT_REVERTIBLE_COLUMNS)
        writer.writerows([row, *(neutralise(str(cell)) for cell in rest)] for row, *rest in items)
