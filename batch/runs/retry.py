"""Retry what did not end well: a new job file of a run's rows, taken again from its job file.

A ledger names its job file and that file's SHA-256 in its audit facts (the CSV's sidecar
``<ledger>.meta.json``, or Parquet key-value metadata). The rows whose outcome (and, if asked,
error type) matches are copied from that file, as it was run, into a new job file of the same
format and encoding: CSV cells exactly as written (multi-line cells quoted, the original's line
ends), Parquet columns with their own types. `OriginalRow` comes first: the row's number in the
first job file, so that a retry of a retry still names the row a person knows.

Nothing here talks to UOM. Loading the job file is the caller's (`load`): runs/ does not import
jobfile/, and any object with the `JobText` attributes will do.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Protocol, TypeVar

import polars as pl

from batch.engine.backoff import RetryPolicy
from batch.errors import ConfigError, JobFileError
from batch.output.files import atomic_target
from batch.runs.settings import RunSettings

RETRYABLE = ("failed", "invalid", "stale", "precondition_failed", "skipped")
DEFAULT_ONLY = ("failed", "stale", "skipped")  # invalid and precondition_failed need a person first
ORIGINAL_ROW = "OriginalRow"  # jobs.fields.ORIGINAL_ROW (runs/ may not import jobs/)
ROW = "row"
FIRST_DATA_ROW = 2
PARQUET_SUFFIXES = (".parquet", ".pq")
_LEDGER_COLUMNS = ("row", "outcome", "error_type")
_NEEDED_FACTS = ("job_file", "job_sha256", "kind")
_WRITE_ROWS = 50_000


class JobText(Protocol):
    """What `write_retry_job` needs of a loaded job file (batch.jobfile.load.LoadedJob has it)."""

    @property
    def path(self) -> Path: ...
    @property
    def format(self) -> str: ...
    @property
    def encoding(self) -> str | None: ...
    @property
    def sha256(self) -> str: ...
    @property
    def frame(self) -> pl.DataFrame: ...
    @property
    def columns(self) -> tuple[str, ...]: ...


JobT = TypeVar("JobT", bound=JobText)


@dataclass(frozen=True)
class Ledger:
    """A ledger's audit facts and, per row, its outcome and error type ("" for none)."""

    path: Path
    audit: dict[str, str]
    rows: pl.DataFrame  # row (Int64), outcome, error_type (String, no nulls)

    @property
    def kind(self) -> str:
        """The job kind the run used."""
        return self.audit["kind"]


@dataclass(frozen=True)
class Selection:
    """The rows to retry (in file order), counted by outcome, and error types that matched none."""

    rows: tuple[int, ...]
    by_outcome: dict[str, int]
    unmatched_error_types: tuple[str, ...] = ()


# --- what to retry -------------------------------------------------------------------------


def parse_names(text: str) -> tuple[str, ...]:
    """`a,b, c` as names, in order, without repeats or empty ones."""
    return tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))


def parse_only(text: str) -> tuple[str, ...]:
    """The outcomes named by `--only`; ConfigError naming an unknown one and the valid ones."""
    names = parse_names(text)
    if not names:
        raise ConfigError(f"--only names no outcome; the outcomes to retry are {', '.join(RETRYABLE)}")
    for name in names:
        if name not in RETRYABLE:
            close = difflib.get_close_matches(name.lower(), RETRYABLE, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(
                f"--only: {name!r} is not an outcome to retry{hint}; use {', '.join(RETRYABLE)}"
            )
    return names


def select_rows(rows: pl.DataFrame, only: Collection[str], error_types: Collection[str] = ()) -> Selection:
    """The ledger rows whose outcome is in `only` and, when given, whose error type is in `error_types`."""
    by_outcome = rows.filter(pl.col("outcome").is_in(pl.lit(list(only), pl.List(pl.String))))
    types = pl.lit(list(error_types), pl.List(pl.String))
    chosen = by_outcome.filter(pl.col("error_type").is_in(types)) if error_types else by_outcome
    seen = set(by_outcome.get_column("error_type").unique().to_list())
    counts = dict(chosen.group_by("outcome").len().iter_rows())
    return Selection(
        rows=tuple(chosen.get_column(ROW).sort().to_list()),
        by_outcome={o: counts[o] for o in RETRYABLE if o in counts},
        unmatched_error_types=tuple(t for t in error_types if t not in seen),
    )


# --- the ledger and its job file -----------------------------------------------------------


def read_ledger(path: Path) -> Ledger:
    """A ledger's rows and audit facts; JobFileError when it is not a ledger uom-batch wrote."""
    if not path.is_file():
        raise JobFileError(f"{path}: no such ledger")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise JobFileError(f"{path}: a ledger ends in .csv or .parquet")
    try:
        audit, frame = _read_parquet_ledger(path) if suffix == ".parquet" else _read_csv_ledger(path)
        rows = frame.select(
            pl.col(ROW).cast(pl.Int64), pl.col("outcome").fill_null(""), pl.col("error_type").fill_null("")
        )
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise JobFileError(f"{path}: cannot read it as a ledger: {_first_line(exc)}") from None
    missing = [k for k in _NEEDED_FACTS if k not in audit]
    if missing:
        lacking = ", ".join(missing)
        raise JobFileError(f"{path}: the ledger's audit facts lack {lacking}; is it a run's ledger?")
    return Ledger(path, audit, rows)


def _read_parquet_ledger(path: Path) -> tuple[dict[str, str], pl.DataFrame]:
    return pl.read_parquet_metadata(path), pl.read_parquet(path, columns=list(_LEDGER_COLUMNS))


def _read_csv_ledger(path: Path) -> tuple[dict[str, str], pl.DataFrame]:
    sidecar = path.with_name(path.name + ".meta.json")
    if not sidecar.is_file():
        raise JobFileError(f"{path}: its audit facts ({sidecar.name}) are missing: which job file?")
    audit = json.loads(sidecar.read_text(encoding="utf-8"))
    if not isinstance(audit, dict):
        raise ValueError(f"{sidecar.name} is not a JSON object")
    # A CP932 ledger: the columns read here are ASCII, and CP932 never hides , " or a line break
    # in a multi-byte character, so a lossy UTF-8 read parses it right.
    utf8 = str(audit.get("ledger.encoding", "utf-8-sig")).lower().replace("_", "-") in ("utf-8", "utf-8-sig")
    frame = pl.read_csv(
        path, columns=list(_LEDGER_COLUMNS), infer_schema=False, encoding="utf8" if utf8 else "utf8-lossy"
    )
    return {str(k): str(v) for k, v in audit.items()}, frame


def job_candidates(ledger: Path, job_file: str, cwd: Path) -> list[Path]:
    """Where a ledger's job file may be: as given; relative ones from `cwd`, then beside the ledger."""
    given = Path(job_file)
    if given.is_absolute():
        return [given]
    return list(dict.fromkeys([cwd / given, ledger.parent / given, ledger.parent / given.name]))


def open_job(ledger: Ledger, load: Callable[[Path], JobT], cwd: Path) -> JobT:
    """The ledger's job file, loaded, exactly as it was run; JobFileError if missing or changed."""
    want = ledger.audit["job_sha256"]
    found = [p for p in job_candidates(ledger.path, ledger.audit["job_file"], cwd) if p.is_file()]
    for path in found:
        if _sha256(path) == want:
            loaded = load(path)
            if loaded.sha256 == want:  # a file replaced between the hash and the load
                return loaded
    name = ledger.audit["job_file"]
    if not found:
        where = ", ".join(map(str, job_candidates(ledger.path, name, cwd)))
        raise JobFileError(f"{ledger.path}: its job file {name} is missing (looked for {where})")
    raise JobFileError(
        f"{ledger.path}: its job file {found[0]} has changed since the run (SHA-256 no longer "
        f"{want[:12]}…); retry copies rows from the file as it was run"
    )


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


# --- the new job file ----------------------------------------------------------------------


def default_retry_path(job: Path, fmt: str) -> Path:
    """`<stem>.retry<suffix>` beside the job; a retry of `x.retry` is `x.retry2`, then `x.retry3`."""
    suffix = job.suffix if _suffix_fits(job.suffix, fmt) and job.suffix else f".{fmt}"
    stem, _, count = job.stem.rpartition(".retry")
    if stem and (count == "" or count.isdigit()):
        return job.with_name(f"{stem}.retry{int(count or 1) + 1}{suffix}")
    return job.with_name(f"{job.stem}.retry{suffix}")


def check_target(out: Path, job: JobText, ledger: Path) -> None:
    """JobFileError when `out` is the job file or the ledger, or its suffix names another format."""
    for path, what in ((job.path, "the original job file"), (ledger, "the ledger")):
        if out.resolve() == path.resolve():
            raise JobFileError(f"{out}: that is {what}; give another --out")
    if not _suffix_fits(out.suffix, job.format):
        raise JobFileError(f"{out}: the job file is {job.format}, so the retry file must be {job.format} too")


def _suffix_fits(suffix: str, fmt: str) -> bool:
    return (suffix.lower() in PARQUET_SUFFIXES) == (fmt == "parquet")


def write_retry_job(job: JobText, rows: Sequence[int], out: Path) -> int:
    """Write `rows` of `job` to `out` (same format and encoding), `OriginalRow` first; the row count."""
    wanted = pl.Series(ROW, rows, pl.Int64)
    if job.format == "parquet":
        return _write_parquet(job.path, wanted, out)
    chosen = job.frame.filter(pl.col(ROW).is_in(wanted.implode()))
    _check_all_found(job.path, wanted, chosen)
    columns = [c for c in job.columns if c != ORIGINAL_ROW]
    table = chosen.select(_original_row(job.columns), *columns)
    _write_csv(table, out, job.encoding or "utf-8", _line_end(job.path))
    return table.height


def _write_csv(table: pl.DataFrame, out: Path, encoding: str, line_end: str) -> None:
    """`table` as CSV text in `encoding`, written in slices; an empty cell as nothing, as Excel does."""
    cells = table.select(pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) for c in table.columns)
    with atomic_target(out) as tmp, tmp.open("w", encoding=encoding, newline="") as f:
        f.write(cells.clear().write_csv(line_terminator=line_end))
        for start in range(0, cells.height, _WRITE_ROWS):
            part = cells.slice(start, _WRITE_ROWS)
            f.write(part.write_csv(include_header=False, line_terminator=line_end, quote_style="necessary"))


def _original_row(columns: Iterable[str]) -> pl.Expr:
    """The first job's row number: the file's own OriginalRow where it has one, else `row`."""
    number = pl.col(ROW).cast(pl.String)
    if ORIGINAL_ROW in columns:
        given = pl.col(ORIGINAL_ROW).cast(pl.String).fill_null("")
        number = pl.when(given != "").then(given).otherwise(number)
    return number.alias(ORIGINAL_ROW)


def _write_parquet(path: Path, wanted: pl.Series, out: Path) -> int:
    """The rows from the Parquet file itself, so that every column keeps its type."""
    original = pl.scan_parquet(path)
    names = original.collect_schema().names()
    chosen = (
        original.with_row_index(ROW, offset=FIRST_DATA_ROW)
        .filter(pl.col(ROW).cast(pl.Int64).is_in(wanted.implode()))
        .select(_original_row(names), *(c for c in names if c != ORIGINAL_ROW))
        .collect()
    )
    _check_all_found(path, wanted, chosen)
    with atomic_target(out) as tmp:
        chosen.write_parquet(tmp)
    return chosen.height


def _check_all_found(path: Path, wanted: pl.Series, chosen: pl.DataFrame) -> None:
    if chosen.height != wanted.len():
        raise JobFileError(f"{path}: the ledger names rows this file does not have (is it its ledger?)")


def _line_end(path: Path) -> str:
    """The line end of the file's first line (CRLF as Excel writes it, or LF)."""
    with path.open("rb") as f:
        head = f.read(1 << 16)
    at = head.find(b"\n")
    if at < 0:
        return "\r\n"  # one line only: what Excel writes
    return "\r\n" if head[:at].endswith(b"\r") else "\n"


# --- the same settings ---------------------------------------------------------------------

_CARRIED = ("rate_per_s", "concurrency", "group_size", "auth_stop_after", "csv_encoding", "seed")


def run_settings_from(audit: dict[str, str]) -> RunSettings:
    """The original run's limits, retry budgets and ledger encoding, from its `settings.*` facts."""
    defaults = RunSettings()
    try:
        carried = {
            n: _fact(audit[f"settings.{n}"], int if n == "seed" else type(getattr(defaults, n)))
            for n in _CARRIED
            if f"settings.{n}" in audit
        }
        policy = {
            f.name: _fact(audit[key], type(getattr(defaults.policy, f.name)))
            for f in fields(RetryPolicy)
            if (key := f"settings.policy.{f.name}") in audit
        }
        return replace(defaults, policy=RetryPolicy(**policy), **carried)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"the ledger's settings.* facts cannot be used again: {exc}") from None


def _fact(text: str, kind: type[Any]) -> Any:
    """A setting written as text by RunSettings.audit(), back as its value."""
    return None if text == "None" else kind(text)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
