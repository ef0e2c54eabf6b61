"""Does every CSV record have as many fields as the header? Counted first, then found by line.

polars pads a short record with empty cells without a word, and refuses a long one without
saying which. Read with missing cells as null, a record that ends early has no last field: when
the last column has a value in every record, no record is short (and polars refused any long
one), at no cost. Otherwise the fields are counted: every comma of the file is a separator or
inside a cell, so the separators are the file's commas less those in the header and in the
parsed cells, `width - 1` per record when every record is whole. Blank lines at the end of the
file are allowed for either way.

Only when the count does not add up (a short record, or a blank line inside the file), or when
polars refused the file, does `check_shape` find the rows: it reads the file's physical lines
(polars `scan_lines`, streamed) and counts, per record, the separators outside quotes: a record
ends on the line where the running count of quote characters is even; a line that starts inside
a quoted field gets a virtual opening quote; quoted spans are removed before counting commas. A
record's spreadsheet row is its index + 1 (the header is row 1). An empty line is a blank row,
not a ragged one; quotes still open at the end mean the file was cut off.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import polars as pl

from batch.errors import JobFileError

SHOWN = 3  # ragged rows named in the message
TAIL_BYTES = 4096  # enough of the file's end to count its blank last lines


def fields_complete(
    frame: pl.DataFrame, header: Sequence[str], data: Path, commas: Callable[[], int]
) -> bool:
    """True when every record of `data` (parsed as `frame`, missing cells null) has all fields.

    A record that ends early lacks the last field, so when the last column has a value in every
    record (blank lines at the end aside) nothing more is needed. Otherwise `commas()`, the
    file's commas, decides; False means "not shown", and `check_shape` then finds the rows.
    """
    blank_tail = _blank_tail(frame, header, data)
    body = frame.height - blank_tail
    if not frame.get_column(header[-1]).head(body).has_nulls():
        return True
    width = len(header)
    in_cells: int = frame.select(
        pl.sum_horizontal(pl.col(c).str.count_matches(",", literal=True).sum() for c in header)
    ).item()
    separators = commas() - (width - 1) - sum(name.count(",") for name in header) - in_cells
    return separators == (width - 1) * body


def _blank_tail(frame: pl.DataFrame, header: Sequence[str], data: Path) -> int:
    """The records at the end of the file that are blank lines (no field at all)."""
    with data.open("rb") as f:
        f.seek(max(0, data.stat().st_size - TAIL_BYTES))
        tail = f.read()
    breaks = tail[len(tail.rstrip(b"\r\n")) :].count(b"\n")
    blank = max(0, min(breaks - 1, frame.height))  # the last record's own line break is not blank
    last = frame.tail(blank).select(pl.all_horizontal(pl.col(c).is_null() for c in header))
    return blank if last.to_series().all() else 0


def _per_line() -> list[pl.Expr]:
    line = pl.col("line")
    quotes = line.str.count_matches('"', literal=True).cast(pl.Int64)
    before = quotes.cum_sum() - quotes
    text = pl.when(before % 2 == 1).then(pl.lit('"') + line).otherwise(line)
    # Both branches of a when/then are computed: blank out quote-free lines before the regexes.
    quoted = pl.when(quotes > 0).then(text).otherwise(pl.lit(""))
    outside = quoted.str.replace_all('"[^"]*"', "").str.replace('".*$', "")
    commas = pl.when(quotes == 0).then(line).otherwise(outside).str.count_matches(",", literal=True)
    return [
        (quotes.cum_sum() % 2 == 0).alias("ends"),
        commas.cast(pl.Int64).cum_sum().alias("commas"),
        (line == "").alias("empty"),
    ]


def _records(lines: pl.DataFrame) -> pl.DataFrame:
    """One row per complete record: its row number, field count, and whether it is blank."""
    ends = lines.with_row_index("line_no").filter(pl.col("ends")).with_row_index("record")
    first = pl.col("line_no").diff().fill_null(pl.col("line_no") + 1)
    return ends.select(
        (pl.col("record").cast(pl.Int64) + 1).alias("row"),
        (pl.col("commas").diff().fill_null(pl.col("commas")) + 1).alias("fields"),
        (pl.col("empty") & (first == 1)).alias("blank"),
    )


def check_shape(name: str, data: Path, width: int) -> None:
    """JobFileError naming the first ragged rows, or the row whose quoted field never closes."""
    try:
        # Three small columns per line; the lines' text itself is never held.
        lines = pl.scan_lines(data).select(_per_line()).collect()
    except pl.exceptions.PolarsError as exc:
        raise JobFileError(f"{name}: cannot read as CSV: {exc}") from None
    found = _problems(lines, width)
    if found:
        raise JobFileError(f"{name}: {found}")


def _problems(lines: pl.DataFrame, width: int) -> str | None:
    records = _records(lines)
    ragged = records.filter((pl.col("fields") != width) & ~pl.col("blank"))
    if ragged.height:
        shown = ragged.head(SHOWN).iter_rows()
        rows = "; ".join(f"row {r} has {f} field{'s' if f != 1 else ''}" for r, f, _ in shown)
        more = f" (and {ragged.height - SHOWN} more rows)" if ragged.height > SHOWN else ""
        return f"the header has {width} fields but {rows}{more}"
    if lines.height and not lines.get_column("ends")[-1]:
        return f"row {records.height + 1}: a quoted field is never closed (is the file cut off?)"
    return None
