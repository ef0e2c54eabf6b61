"""Job files (CSV or Parquet) into one polars DataFrame of text columns plus a `row` number.

Every column is read as text: ids like `0012` and dates keep their exact form, and no value is a
command (`NA`, `null`, `-`, `0` stay text; there are no null markers). An empty cell is "", and
rows whose cells are all empty (a spreadsheet's blank lines) are skipped. `row` is what a
spreadsheet shows: header = 1, first data row = 2, a quoted multi-line cell is one row; for
Parquet, index + 2 as well. Nested Parquet columns (lists of structs) arrive as JSON text, the
form a CSV cell gives them, with nulls inside read as "".

Each failure is one JobFileError naming the file and the problem: missing or empty file, header
without rows, a column without a name or twice, a ragged or unterminated CSV row (with its row
number), bytes that do not decode (with their offset), an unreadable or truncated Parquet file.
A valid file costs about one read: polars parses it once and checks its UTF-8 and its long
records itself, a thread hashes its bytes meanwhile, the encoding is decided from the BOM and a
sample (batch.jobfile.encoding), and short records are ruled out from the parsed frame, or else
from a count of the file's commas (batch.jobfile.csv_shape). Only a file with a problem gets the
slower passes that locate it.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from batch.errors import JobFileError
from batch.jobfile.csv_shape import check_shape, fields_complete
from batch.jobfile.encoding import Source, after_bad_utf8, choose
from batch.jobfile.tally import commas_in, sha256_in_background

ROW = "row"
FIRST_DATA_ROW = 2
PARQUET_SUFFIXES = (".parquet", ".pq")
PARQUET_MAGIC = b"PAR1"


@dataclass(frozen=True)
class LoadedJob:
    """A job file as text columns, with what the journal needs to recognise it again."""

    path: Path
    format: str  # "csv" | "parquet"
    encoding: str | None  # the CSV's encoding (None for Parquet)
    sha256: str  # of the file's bytes ("" when loaded with digest=False: validate needs none)
    frame: pl.DataFrame  # `row` (Int64) first, then the file's columns, all String, no nulls
    columns: tuple[str, ...]  # the file's columns, without `row`
    rows: int  # data rows, blank rows not counted
    blank_rows: int = 0  # rows skipped because every cell was empty


def load_job(path: str | Path, *, encoding: str | None = None, digest: bool = True) -> LoadedJob:
    """Read a CSV or Parquet job file; JobFileError with the exact problem when it cannot be used.

    `digest=False` skips the SHA-256 (a run's journal needs it; a validation does not, and on a
    large file it costs as much CPU as a tenth of the parse).
    """
    path = Path(path)
    if not path.is_file():
        raise JobFileError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise JobFileError(f"{path.name}: the file is empty")
    if is_parquet(path):
        return _load_parquet(path, digest)
    return _load_csv(path, encoding, digest)


def is_parquet(path: Path) -> bool:
    """A Parquet file by its suffix, else by its first bytes."""
    if path.suffix.lower() in PARQUET_SUFFIXES:
        return True
    with path.open("rb") as f:
        return f.read(len(PARQUET_MAGIC)) == PARQUET_MAGIC


def _load_csv(path: Path, encoding: str | None, digest: bool) -> LoadedJob:
    source = choose(path, encoding)
    try:
        frame, sha256 = _parse(path, source, digest)
    except _NotUtf8 as refused:
        retry = after_bad_utf8(path, source)
        if retry is None:
            raise JobFileError(f"{path.name}: cannot read as CSV: {refused}") from None
        _delete_scratch(source)
        source = retry
        frame, sha256 = _parse(path, source, digest)
    finally:
        _delete_scratch(source)
    return _finish(path, "csv", source.encoding, sha256, frame)


class _NotUtf8(Exception):
    """polars (or the header's reader) refused the bytes as UTF-8."""


def _delete_scratch(source: Source) -> None:
    if source.scratch is not None:
        source.scratch.unlink(missing_ok=True)


def _parse(path: Path, source: Source, digest: bool) -> tuple[pl.DataFrame, str]:
    """The file's frame, its shape checked, and its SHA-256 (hashed beside polars' parse)."""
    sha256 = _start_sha256(path, source) if digest else (lambda: "")
    header = _header(path, source.data)
    frame = _read_csv(path, source.data, header)
    if not fields_complete(frame, header, source.data, lambda: _commas(source)):
        check_shape(path.name, source.data, len(header))  # names the short rows; blank lines pass
    return frame, sha256()


def _start_sha256(path: Path, source: Source) -> Callable[[], str]:
    known = source.sha256
    if known is not None:
        return lambda: known
    return sha256_in_background(path)


def _commas(source: Source) -> int:
    return source.commas if source.commas is not None else commas_in(source.data)


def _header(path: Path, data: Path) -> list[str]:
    """The first CSV record, checked: present, every column named, no name twice."""
    try:
        with data.open(encoding="utf-8-sig", newline="") as f:
            header = next(csv.reader(f), None)
    except csv.Error as exc:
        raise JobFileError(f"{path.name}: cannot read the header: {exc}") from None
    except UnicodeDecodeError as exc:
        raise _NotUtf8(str(exc)) from None
    if header is None or not any(header):
        what = "the file is empty" if header is None else "the first line (the header) is empty"
        raise JobFileError(f"{path.name}: {what}")
    check_names(path, header)
    return header


def check_names(path: Path, names: list[str]) -> None:
    """JobFileError unless every column has a name, none twice, none `row`."""
    unnamed = [str(i) for i, n in enumerate(names, 1) if not n.strip()]
    if unnamed:
        raise JobFileError(f"{path.name}: header column(s) {', '.join(unnamed)} have no name")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        where = "; ".join(f"{n!r} in columns {_positions(names, n)}" for n in twice)
        raise JobFileError(f"{path.name}: duplicate column names: {where}")
    if ROW in names:
        raise JobFileError(f"{path.name}: the column name {ROW!r} is reserved for row numbers")


def _positions(names: list[str], name: str) -> str:
    return ", ".join(str(i) for i, n in enumerate(names, 1) if n == name)


def _read_csv(path: Path, data: Path, header: list[str]) -> pl.DataFrame:
    try:
        frame = pl.scan_csv(
            data,
            has_header=True,
            new_columns=header,
            infer_schema=False,  # every column is text
            # Missing and empty cells are null here (the shape check tells them apart by the
            # last column); _finish makes them "".
            row_index_name=ROW,
            row_index_offset=FIRST_DATA_ROW,
        ).collect()
    except pl.exceptions.PolarsError as exc:
        problem = _first_line(exc)
    else:
        # Left in polars' parsed blocks (hundreds of chunks): the lazy rule pass takes them about
        # as fast as one chunk, and a rechunk would copy every cell's 16-byte view (0.1 CPU-s and
        # 100 MiB at 1M rows x 22 columns).
        return frame
    if re.search("utf-?8", problem, re.IGNORECASE):
        raise _NotUtf8(problem)
    # A long or unterminated record: name its row if it is one; else polars' own words.
    check_shape(path.name, data, len(header))
    raise JobFileError(f"{path.name}: cannot read as CSV: {problem}")


def _load_parquet(path: Path, digest: bool) -> LoadedJob:
    sha256 = sha256_in_background(path) if digest else (lambda: "")
    try:
        frame = pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise JobFileError(
            f"{path.name}: not a readable Parquet file (truncated or damaged?): {_first_line(exc)}"
        ) from None
    sha = sha256()
    if frame.width == 0:
        raise JobFileError(f"{path.name}: the Parquet file has no columns")
    check_names(path, frame.columns)
    text = _as_text(path, frame).with_row_index(ROW, offset=FIRST_DATA_ROW)
    return _finish(path, "parquet", None, sha, text)


def _as_text(path: Path, frame: pl.DataFrame) -> pl.DataFrame:
    """Every column as String: text stays, nested becomes JSON text; numbers etc. are refused."""
    converted, refused = [], []
    for name, dtype in frame.schema.items():
        if dtype == pl.String:
            continue
        if dtype == pl.Null or isinstance(dtype, pl.Categorical | pl.Enum):
            converted.append(pl.col(name).cast(pl.String))
        elif dtype.is_nested():
            converted.append(_json_text(name, dtype))
        else:
            refused.append(f"{name} ({dtype})")
    if refused:
        raise JobFileError(
            f"{path.name}: columns must hold text (strings), so that ids and dates keep their "
            f"exact form: {', '.join(refused)}"
        )
    return frame.with_columns(converted)


def _json_text(name: str, dtype: pl.DataType) -> pl.Expr:
    """A nested column as the JSON text a CSV cell would hold; nulls inside become ""."""
    column = pl.col(name)
    inner = getattr(dtype, "inner", None)
    if isinstance(dtype, pl.List) and isinstance(inner, pl.Struct):
        fields = [pl.element().struct.field(f.name) for f in inner.fields]
        texts = [
            f.fill_null("") if s.dtype in (pl.String, pl.Null) else f
            for f, s in zip(fields, inner.fields, strict=True)
        ]
        column = column.list.eval(pl.struct(texts))
    encoded = pl.struct(column.alias("v")).struct.json_encode()
    text = encoded.str.strip_prefix('{"v":').str.strip_suffix("}")
    return pl.when(text == "null").then(pl.lit("")).otherwise(text).alias(name)


def _finish(path: Path, fmt: str, encoding: str | None, sha: str, frame: pl.DataFrame) -> LoadedJob:
    """Row numbers as Int64, no nulls, blank rows dropped; JobFileError when no row is left."""
    columns = tuple(c for c in frame.columns if c != ROW)
    fullest = min(columns, key=lambda c: frame.get_column(c).null_count())  # null counts are known
    frame = frame.with_columns(pl.col(ROW).cast(pl.Int64), pl.col(columns).fill_null(""))
    kept = frame if _no_blank_rows(frame, fullest) else _without_blank_rows(frame, columns)
    if kept.height == 0:
        what = "a header but no data rows" if frame.height == 0 else "no row with any value"
        raise JobFileError(f"{path.name}: the file has {what}")
    return LoadedJob(path, fmt, encoding, sha, kept, columns, kept.height, frame.height - kept.height)


def _no_blank_rows(frame: pl.DataFrame, column: str) -> bool:
    """True when `column` has a value in every row: then no row is blank (one comparison instead of
    one per column)."""
    return not frame.select((pl.col(column).str.len_bytes() == 0).any()).item()


def _without_blank_rows(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    filled = frame.select(pl.any_horizontal(pl.col(c).str.len_bytes() > 0 for c in columns)).to_series()
    return frame if filled.all() else frame.filter(filled)  # a filter copies every column


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
