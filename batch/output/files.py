"""Writing the files a run leaves behind: whole or not at all, and safe to open in a spreadsheet.

`atomic_target` gives a temporary path beside the target; the file appears under its name only
once it is fully written and fsynced (the rename is then fsynced too), so a reader never sees
half a ledger and a crash leaves the previous file. The formula guard neutralises a cell that a
spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR at the start) with a leading `'`.
"""

from __future__ import annotations

import operator
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import reduce
from pathlib import Path

import polars as pl

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@contextmanager
def atomic_target(path: Path) -> Iterator[Path]:
    """A temporary path beside `path`, renamed onto it (durably) only if the block succeeds.

    A missing folder is created (a definition's `ledgers/{date}.csv`, a new `--metrics-file`).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_file(path: Path) -> None:
    with path.open("rb+") as f:
        os.fsync(f.fileno())


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a directory; the rename has still happened
    finally:
        os.close(fd)


def neutralise(text: str) -> str:
    """`text`, with a leading `'` when a spreadsheet would take it for a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def neutralised(column: str) -> pl.Expr:
    """Vectorised `neutralise` over a text column (keeps the column's name)."""
    cell = pl.col(column)
    # Prefix tests, not a regex: a regex call per cell costs more than writing the cell.
    formula = reduce(operator.or_, (cell.str.starts_with(c) for c in FORMULA_STARTS))
    return pl.when(formula).then(pl.lit("'") + cell).otherwise(cell).alias(column)
