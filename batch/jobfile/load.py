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
The file is parsed once by polars; a CSV also gets one streamed pass that checks and hashes its
bytes (batch.jobfile.encoding) and one over its lines that checks its shape (batch.jobfile.csv_shape), since
polars pads short rows silently and reports a long one without its row number.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from batch.errors import JobFileError
from batch.jobfile.csv_shape import check_shape
from batch.jobfile.encoding import CHUNK_BYTES, decode_file

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
    sha256: str  # of the file's bytes
    frame: pl.DataFrame  # `row` (Int64) first, then the file's columns, all String, no nulls
    columns: tuple[str, ...]  # the file's columns, without `row`
    rows: int  # data rows, blank rows not counted
    blank_rows: int = 0  # rows skipped because every cell was empty


def load_job(path: str | Path, *, encoding: str | None = None) -> LoadedJob:
    """Read a CSV or Parquet job file; JobFileError with the exact problem when it cannot be used."""
    path = Path(path)
    if not path.is_file():
        raise JobFileError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise JobFileError(f"{path.name}: the file is empty")
    if _is_parquet(path):
        return _load_parquet(path)
    return _load_csv(path, encoding)


def _is_parquet(path: Path) -> bool:
    if path.suffix.lower() in PARQUET_SUFFIXES:
        return True
    with path.open("rb") as f:
        return f.read(len(PARQUET_MAGIC)) == PARQUET_MAGIC


def _load_csv(path: Path, encoding: str | None) -> LoadedJob:
    decoded = decode_file(path, encoding)
    try:
        header = _header(path, decoded.data)
        check_shape(path.name, decoded.data, len(header))
        frame = _read_csv(path, decoded.data, header)
    finally:
        if decoded.scratch is not None:
            decoded.scratch.unlink(missing_ok=True)
    return _finish(path, "csv", decoded.encoding, decoded.sha256, frame)


def _header(path: Path, data: Path) -> list[str]:
    """The first CSV record, checked: present, every column named, no name twice."""
    try:
        with data.open(encoding="utf-8-sig", newline="") as f:
            header = next(csv.reader(f), None)
    except csv.Error as exc:
        raise JobFileError(f"{path.name}: cannot read the header: {exc}") from None
    if header is None or not any(header):
        what = "the file is empty" if header is None else "the first line (the header) is empty"
        raise JobFileError(f"{path.name}: {what}")
    _check_names(path, header)
    return header


def _check_names(path: Path, names: list[str]) -> None:
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
        return pl.scan_csv(
            data,
            has_header=True,
            new_columns=header,
            infer_schema=False,  # every column is text
            empty_string_is_null=False,  # an empty cell is "", never null
            row_index_name=ROW,
            row_index_offset=FIRST_DATA_ROW,
        ).collect()
    except pl.exceptions.PolarsError as exc:
        raise JobFileError(f"{path.name}: cannot read as CSV: {_first_line(exc)}") from None


def _load_parquet(path: Path) -> LoadedJob:
    sha = _sha256(path)
    try:
        frame = pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise JobFileError(
            f"{path.name}: not a readable Parquet file (truncated or damaged?): {_first_line(exc)}"
        ) from None
    if frame.width == 0:
        raise JobFileError(f"{path.name}: the Parquet file has no columns")
    _check_names(path, frame.columns)
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
    frame = frame.with_columns(pl.col(ROW).cast(pl.Int64), pl.col(columns).fill_null(""))
    kept = frame.filter(pl.any_horizontal(pl.col(c) != "" for c in columns))
    if kept.height == 0:
        what = "a header but no data rows" if frame.height == 0 else "no row with any value"
        raise JobFileError(f"{path.name}: the file has {what}")
    return LoadedJob(path, fmt, encoding, sha, kept, columns, kept.height, frame.height - kept.height)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
