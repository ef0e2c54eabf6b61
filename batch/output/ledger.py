"""The result ledger: one line per input row, as Parquet or CSV, written atomically.

Columns, in order: see `COLUMNS`; with `original_rows` given (a job written by `retry`), an
`original_row` column follows `row`: the row number in the first job file (Int64 in Parquet, an
empty CSV cell for a row that has none). The format follows the extension:

* ``.parquet``: exact values; ``changed_fields`` is a list of strings, timestamps are
  ``Datetime(us, UTC)``; audit facts go in the file's key-value metadata.
* ``.csv``: UTF-8 with BOM by default (``cp932`` on request); ``changed_fields`` joined by ``;``,
  timestamps ISO 8601 UTC (``2026-01-01T00:00:00.000Z``), empty cell for none. A cell starting
  with ``=`` ``+`` ``-`` ``@``, TAB or CR gets a leading ``'`` so a spreadsheet shows it as text.
  Audit facts go in the sidecar ``<ledger>.meta.json``.

Characters the CSV encoding cannot represent never stop the write (it happens after the run,
and the journal keeps the exact values): each such cell is first mapped through the usual
JIS/CP932 variants (WAVE DASH → FULLWIDTH TILDE, MINUS SIGN → FULLWIDTH HYPHEN-MINUS, ...),
and what still does not fit becomes ``?``. The sidecar's ``ledger.replaced_characters`` counts
the characters replaced by ``?``, so a replacement is never silent.

Both formats stream: rows are taken in chunks of `CHUNK_ROWS` (``chunk_rows``); Parquet chunks are spilled to
Arrow IPC files beside the target and then streamed into one Parquet file. The ledger (and the
sidecar) appear by rename of a fully written, fsynced temporary file, never half-written.
"""

from __future__ import annotations

import codecs
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

import polars as pl

from batch.outcome import LEDGER_FIELDS, ORIGINAL_ROW, LedgerRow, RowOutcome, ledger_row
from batch.output.files import atomic_target
from batch.output.ledger_csv import write_csv

__all__ = ["CHUNK_ROWS", "COLUMNS", "ORIGINAL_ROW", "default_ledger_path", "write_ledger"]

CHUNK_ROWS = 50_000
COLUMNS = LEDGER_FIELDS
_STAMP = pl.Datetime("us", "UTC")
_SCHEMA: dict[str, pl.DataType] = {
    "row": pl.Int64(), "action": pl.String(), "ticket_id": pl.String(), "outcome": pl.String(),
    "attempts": pl.Int64(), "conflicts": pl.Int64(), "error_type": pl.String(),
    "error_message": pl.String(), "error_detail": pl.String(), "request_id": pl.String(),
    "changed_fields": pl.List(pl.String), "started_at": _STAMP, "finished_at": _STAMP,
}
_PLAIN = tuple(c for c in COLUMNS if c not in {"outcome", "changed_fields"} and _SCHEMA[c] != _STAMP)
_LIST_SEP = "\x1f"  # ASCII unit separator: never part of a field name
_FLAT_SCHEMA: dict[str, pl.DataType] = {
    **_SCHEMA, "changed_fields": pl.String(), "started_at": pl.Int64(), "finished_at": pl.Int64()
}
_TYPED = [
    pl.col(c).str.split(_LIST_SEP).list.filter(pl.element() != "") if c == "changed_fields"
    else pl.col(c).cast(_SCHEMA[c]) for c in COLUMNS
]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def default_ledger_path(job_path: Path) -> Path:
    """``<job stem>.ledger.csv`` beside the job file."""
    return job_path.with_name(f"{job_path.stem}.ledger.csv")


def write_ledger(path: Path, outcomes: Iterable[RowOutcome | LedgerRow], audit: Mapping[str, str], *,
                 csv_encoding: str = "utf-8-sig", chunk_rows: int = CHUNK_ROWS,
                 original_rows: Mapping[int, int] | None = None) -> Path:
    """Write the ledger at `path` (format by extension) and return `path`.

    `outcomes` are outcomes or their ledger rows (what the journal streams, `RunState.ledger_rows`).
    `original_rows` (row → row number in the first job file) adds the `original_row` column.
    """
    _check_audit(audit)
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    chunks = _chunks(outcomes, chunk_rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        _write_parquet(path, chunks, audit, original_rows)
    elif suffix == ".csv":
        codecs.lookup(csv_encoding)  # unknown encoding: LookupError before anything is written
        write_csv(path, chunks, audit, csv_encoding, original_rows)
    else:
        raise ValueError(f"{path}: a ledger must end in .csv or .parquet")
    return path


def _check_audit(audit: Mapping[str, str]) -> None:
    for key, value in audit.items():
        if not (isinstance(key, str) and isinstance(value, str)):
            raise TypeError(f"audit facts must be str -> str, got {key!r}: {value!r}")
        if key.startswith("ledger."):
            raise ValueError(f"audit key {key!r}: the 'ledger.' prefix is the ledger's own")


def _chunks(outcomes: Iterable[RowOutcome | LedgerRow], size: int) -> Iterator[list[LedgerRow]]:
    it = iter(outcomes)
    while chunk := list(islice(it, size)):
        yield [o if isinstance(o, LedgerRow) else ledger_row(o) for o in chunk]


# --- Parquet -----------------------------------------------------------------------------


def _write_parquet(path: Path, chunks: Iterator[list[LedgerRow]], audit: Mapping[str, str],
                   original_rows: Mapping[int, int] | None) -> None:
    with tempfile.TemporaryDirectory(prefix=f".{path.name}.", dir=path.parent) as spill:
        files, rows = _spill(chunks, Path(spill), original_rows)
        metadata = {**audit, "ledger.format": "parquet", "ledger.rows": str(rows)}
        empty = pl.DataFrame(schema=_SCHEMA).lazy()
        if original_rows is not None:
            empty = empty.select(_with_original(pl.lit(None, pl.Int64())))
        frame = pl.scan_ipc(files) if files else empty
        with atomic_target(path) as tmp:
            frame.sink_parquet(tmp, metadata=metadata)


def _spill(chunks: Iterator[list[LedgerRow]], spill: Path,
           original_rows: Mapping[int, int] | None) -> tuple[list[Path], int]:
    """Write outcomes as Arrow IPC chunk files; return the files and the row count."""
    files: list[Path] = []
    rows = 0
    for i, chunk in enumerate(chunks):
        files.append(spill / f"{i:06d}.arrow")
        _frame(chunk, original_rows).write_ipc(files[-1])
        rows += len(chunk)
    return files, rows


def _frame(chunk: list[LedgerRow], original_rows: Mapping[int, int] | None) -> pl.DataFrame:
    """One chunk as a typed frame; lists and times go through fast flat columns first."""
    columns = dict(zip(COLUMNS, zip(*chunk, strict=True), strict=True))
    data: dict[str, Sequence[Any]] = {name: columns[name] for name in _PLAIN}
    data["outcome"] = columns["outcome"]
    data["changed_fields"] = [_LIST_SEP.join(fields) for fields in columns["changed_fields"]]
    for name in ("started_at", "finished_at"):
        data[name] = [_micros(stamp) for stamp in columns[name]]
    typed = pl.DataFrame(data, schema=_FLAT_SCHEMA).select(_TYPED)
    if original_rows is None:
        return typed
    numbers = pl.Series(ORIGINAL_ROW, [original_rows.get(o.row) for o in chunk], pl.Int64())
    return typed.select(_with_original(pl.lit(numbers)))


def _with_original(numbers: pl.Expr) -> list[pl.Expr]:
    """The ledger's columns with `original_row` right after `row`."""
    first, *rest = COLUMNS
    return [pl.col(first), numbers.alias(ORIGINAL_ROW), *map(pl.col, rest)]


def _micros(stamp: str | None) -> int | None:
    return None if stamp is None else (datetime.fromisoformat(stamp) - _EPOCH) // timedelta(microseconds=1)
