"""The result ledger as CSV (batch.output.ledger chooses the format; its docstring says the layout).

A chunk of a UTF-8 ledger goes through polars, in the bytes the csv module's cell writer gives;
a chunk with a cell UTF-8 cannot hold, or a stamp not in the journal's form, and any other
encoding, go through the cell writer, which maps CP932's variants and counts what it replaces.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import IO

import polars as pl

from batch.outcome import LEDGER_FIELDS, ORIGINAL_ROW, LedgerRow
from batch.output.files import atomic_target, neutralise, neutralised

__all__ = ["write_csv"]

# JIS X 0208 code points that CP932 spells with its own (fullwidth) variants.
_CP932_VARIANTS = str.maketrans({
    "\u301c": "\uff5e", "\u2016": "\u2225", "\u2212": "\uff0d", "\u00a2": "\uffe0",
    "\u00a3": "\uffe1", "\u00ac": "\uffe2", "\u2014": "\u2015",
})


def write_csv(path: Path, chunks: Iterator[list[LedgerRow]], audit: Mapping[str, str],
               encoding: str, original_rows: Mapping[int, int] | None) -> None:
    cells = _CellWriter(encoding)
    header: tuple[str, ...] = LEDGER_FIELDS
    row_cells = cells.row
    if original_rows is not None:
        header = (LEDGER_FIELDS[0], ORIGINAL_ROW, *LEDGER_FIELDS[1:])
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
    c: pl.Int64() if c in ("row", "attempts", "conflicts") else pl.String() for c in LEDGER_FIELDS
}
_JOURNAL_STAMP = len("2026-01-01T00:00:00.000000+00:00")  # utc_iso's text; without micros: 25


def _write_csv_chunk(f: IO[bytes], chunk: list[LedgerRow], original_rows: Mapping[int, int] | None) -> bool:
    """Write a chunk of a UTF-8 ledger through polars (the bytes `_CellWriter` gives, at a
    fraction of its cost); False, writing nothing, when a cell needs the cell writer: text that
    is no UTF-8 (a lone surrogate) or a stamp not in the journal's UTC form."""
    columns = dict(zip(LEDGER_FIELDS, zip(*chunk, strict=True), strict=True))
    columns["changed_fields"] = tuple(";".join(fields) for fields in columns["changed_fields"])
    try:
        frame = pl.DataFrame(columns, schema=_CSV_SCHEMA)
    except UnicodeEncodeError:
        return False
    cells = [_csv_cell(c) for c in LEDGER_FIELDS]
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
    if len(stamp) == _JOURNAL_STAMP and stamp.endswith("+00:00"):
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
