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
import csv
import io
import json
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import islice
from pathlib import Path
from typing import IO, Any

import polars as pl

from batch.outcome import LedgerRow, RowOutcome, ledger_row
from batch.output.files import atomic_target, neutralise, neutralised

__all__ = ["CHUNK_ROWS", "COLUMNS", "ORIGINAL_ROW", "default_ledger_path", "write_ledger"]

CHUNK_ROWS = 50_000
COLUMNS = (
    "row", "action", "ticket_id", "outcome", "attempts", "conflicts", "error_type",
    "error_message", "error_detail", "request_id", "changed_fields", "started_at", "finished_at",
)
ORIGINAL_ROW = "original_row"
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
# JIS X 0208 code points that CP932 spells with its own (fullwidth) variants.
_CP932_VARIANTS = str.maketrans({
    "\u301c": "\uff5e", "\u2016": "\u2225", "\u2212": "\uff0d", "\u00a2": "\uffe0",
    "\u00a3": "\uffe1", "\u00ac": "\uffe2", "\u2014": "\u2015",
})


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
        _write_csv(path, chunks, audit, csv_encoding, original_rows)
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


# --- CSV ---------------------------------------------------------------------------------


def _write_csv(path: Path, chunks: Iterator[list[LedgerRow]], audit: Mapping[str, str],
               encoding: str, original_rows: Mapping[int, int] | None) -> None:
    cells = _CellWriter(encoding)
    header: tuple[str, ...] = COLUMNS
    row_cells = cells.row
    if original_rows is not None:
        header = (COLUMNS[0], ORIGINAL_ROW, *COLUMNS[1:])
        row_cells = partial(_with_original_cell, cells.row, original_rows)
    # One encoder for the whole file: utf-8-sig writes its BOM once, before the header.
    encode = codecs.getincrementalencoder(encoding)().encode
    utf8 = codecs.lookup(encoding).name in _UTF8
    rows = 0
    with atomic_target(path) as tmp, tmp.open("wb") as f:
        f.write(encode(_csv_text([header])))
        for chunk in chunks:
            if not (utf8 and _write_csv_chunk(f, chunk, original_rows)):
                f.write(encode(_csv_text(map(row_cells, chunk))))
            rows += len(chunk)
    meta = {**audit, "ledger.format": "csv", "ledger.encoding": encoding,
            "ledger.rows": str(rows), "ledger.replaced_characters": str(cells.replaced)}
    _write_sidecar(path.with_name(path.name + ".meta.json"), meta)


def _csv_text(records: Iterable[Sequence[str]]) -> str:
    """Records as Python's csv module writes them (minimal quoting, CRLF)."""
    out = io.StringIO()
    csv.writer(out).writerows(records)
    return out.getvalue()


_UTF8 = frozenset({"utf-8", "utf-8-sig"})
_CSV_TEXT = ("action", "ticket_id", "outcome", "error_type", "error_message", "error_detail",
             "request_id", "changed_fields")
_CSV_SCHEMA: dict[str, pl.DataType] = {
    c: pl.Int64() if c in ("row", "attempts", "conflicts") else pl.String() for c in COLUMNS
}
_JOURNAL_STAMP = len("2026-01-01T00:00:00.000000+00:00")  # utc_iso's text; without micros: 25


def _write_csv_chunk(f: IO[bytes], chunk: list[LedgerRow], original_rows: Mapping[int, int] | None) -> bool:
    """Write a chunk of a UTF-8 ledger through polars (the bytes `_CellWriter` gives, at a
    fraction of its cost); False, writing nothing, when a cell needs the cell writer: text that
    is no UTF-8 (a lone surrogate) or a stamp not in the journal's UTC form."""
    columns = dict(zip(COLUMNS, zip(*chunk, strict=True), strict=True))
    columns["changed_fields"] = tuple(";".join(fields) for fields in columns["changed_fields"])
    try:
        frame = pl.DataFrame(columns, schema=_CSV_SCHEMA)
    except UnicodeEncodeError:
        return False
    cells = [_csv_cell(c) for c in COLUMNS]
    typed = frame.select(cells)
    if any(typed[c].null_count() != frame[c].null_count() for c in ("started_at", "finished_at")):
        return False
    if original_rows is not None:
        numbers = pl.Series(ORIGINAL_ROW, [original_rows.get(r) for r in columns["row"]], pl.Int64())
        typed.insert_column(1, numbers)
    typed.write_csv(f, include_header=False, line_terminator="\r\n")
    return True


def _csv_cell(column: str) -> pl.Expr:
    if column in _CSV_TEXT:
        return _empty_as_null(neutralised(column))
    return _csv_stamps(column) if column.endswith("_at") else pl.col(column)


def _journal_form(stamp: pl.Expr) -> pl.Expr:
    """`utc_iso` text as the CSV shows it (`_csv_stamp`'s fast path, sliced); null for another form."""
    utc, length = stamp.str.ends_with("+00:00"), stamp.str.len_bytes()
    return (
        pl.when(utc & (length == _JOURNAL_STAMP)).then(stamp.str.slice(0, 23) + "Z")
        .when(utc & (length == _JOURNAL_STAMP - 7)).then(stamp.str.slice(0, 19) + ".000Z")
    )


def _csv_stamps(column: str) -> pl.Expr:
    return _journal_form(pl.col(column)).alias(column)


def _empty_as_null(cell: pl.Expr) -> pl.Expr:
    """An empty text as the csv module writes it (nothing), not as polars does (`""`)."""
    return pl.when(cell != "").then(cell)


def _write_sidecar(path: Path, meta: Mapping[str, str]) -> None:
    with atomic_target(path) as tmp:
        tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _with_original_cell(row_cells: Callable[[LedgerRow], list[str]],
                        original_rows: Mapping[int, int], o: LedgerRow) -> list[str]:
    first, *rest = row_cells(o)
    original = original_rows.get(o.row)
    return [first, "" if original is None else str(original), *rest]


def _csv_stamp(stamp: str | None) -> str:
    """`utc_iso` text as the CSV shows it: milliseconds (truncated, as `isoformat` does) and Z."""
    if stamp is None:
        return ""
    if len(stamp) == len("2026-01-01T00:00:00.000000+00:00") and stamp.endswith("+00:00"):
        return stamp[:23] + "Z"  # the journal's usual form: sliced, not parsed
    parsed = datetime.fromisoformat(stamp).astimezone(UTC)
    return parsed.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _CellWriter:
    """Turns an outcome into CSV cells: neutralised and encodable, counting replacements."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self.replaced = 0

    def row(self, o: LedgerRow) -> list[str]:
        text = self._text
        return [str(o.row), text(o.action), text(o.ticket_id), text(o.outcome), str(o.attempts),
                str(o.conflicts), text(o.error_type), text(o.error_message), text(o.error_detail),
                text(o.request_id), text(";".join(o.changed_fields)), _csv_stamp(o.started_at),
                _csv_stamp(o.finished_at)]

    def _text(self, text: str | None) -> str:
        if not text:
            return ""
        text = neutralise(text)
        return text if text.isascii() else self._encodable(text)

    def _encodable(self, text: str) -> str:
        if self._fits(text):
            return text
        text = text.translate(_CP932_VARIANTS)
        if self._fits(text):
            return text
        out = [ch if self._fits(ch) else "?" for ch in text]
        self.replaced += sum(1 for a, b in zip(text, out, strict=True) if a != b)
        return "".join(out)

    def _fits(self, text: str) -> bool:
        try:
            text.encode(self.encoding)
        except UnicodeEncodeError:
            return False
        return True
