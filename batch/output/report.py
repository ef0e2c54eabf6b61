"""What `uom-batch report` tells about a ledger: the summaries, on a terminal or as an HTML page.

`summarise` is pure: from a ledger frame (Parquet typed, or CSV read as text) and its audit facts to
a `LedgerSummary` (counts by outcome and error type, changed fields, latency, slowest rows,
conflicts, and a timeline in fixed buckets). `print_summary` puts it on a rich console; the page
(batch.output.report_page) draws the same summary as inline SVG.

A ledger's changed fields are drift when it comes from a plan or a reconcile (its audit fact
`mode`, or predicted outcomes in its rows); for a run they are the fields it changed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import polars as pl
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from batch.errors import JobFileError
from batch.outcome import PREDICTIONS, Outcome

__all__ = ["LedgerSummary", "print_summary", "summarise", "typed_ledger"]

TOP = 10  # rows shown in the slowest and most-conflicted lists
LATENCY_BINS = 20
MAX_BUCKETS = 120  # timeline buckets at most: wider buckets for longer runs
_WIDTHS_S = (
    0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200,
    21600, 86400,
)
_DRIFT_MODES = frozenset({"plan", "reconcile"})
_STAMP = pl.Datetime("us", "UTC")
_ISO_Z = "%Y-%m-%dT%H:%M:%S%.fZ"  # the CSV ledger's stamps
SHOWN_FACTS = ("job_file", "kind", "mode", "run_id", "started_at", "ended_at", "tool_version")


class ErrorCount(NamedTuple):
    error_type: str
    rows: int
    example: str  # the first message of this type, in row order


class SlowRow(NamedTuple):
    row: int
    ticket_id: str
    outcome: str
    attempts: int
    seconds: float


class ConflictRow(NamedTuple):
    row: int
    ticket_id: str
    outcome: str
    conflicts: int


@dataclass(frozen=True)
class Latency:
    """Finished minus started, per row that has both: percentiles and a histogram."""

    rows: int
    p50_s: float
    p90_s: float
    p99_s: float
    max_s: float
    bins: tuple[tuple[float, int], ...]  # (bin start in s, rows); bins are `bin_s` wide
    bin_s: float


@dataclass(frozen=True)
class Timeline:
    """Rows finished per bucket of `width_s` from `start`, and rows with an error, by error type."""

    start: datetime | None
    width_s: float
    finished: tuple[int, ...]
    errors: Mapping[str, tuple[int, ...]]

    @property
    def rows_per_s(self) -> tuple[float, ...]:
        """Throughput per bucket."""
        return tuple(n / self.width_s for n in self.finished)


@dataclass(frozen=True)
class LedgerSummary:
    """Everything the terminal and the page show about one ledger."""

    rows: int
    facts: Mapping[str, str]  # the audit facts worth showing (SHOWN_FACTS that are present)
    outcomes: tuple[tuple[str, int], ...]
    errors: tuple[ErrorCount, ...]
    fields: tuple[tuple[str, int], ...]  # field → rows that change it
    drift: bool  # `fields` is what a plan or reconcile found, not what a run changed
    latency: Latency
    slowest: tuple[SlowRow, ...]
    conflicts: int  # EXCLUSION_FAILURE retries over all rows
    conflict_rows: int
    most_conflicts: tuple[ConflictRow, ...]
    timeline: Timeline


def summarise(frame: pl.DataFrame, audit: Mapping[str, str]) -> LedgerSummary:
    """The summary of a ledger frame and its audit facts."""
    ledger = typed_ledger(frame)
    outcomes = _outcomes(ledger)
    conflicted = ledger.filter(pl.col("conflicts") > 0)
    return LedgerSummary(
        rows=ledger.height,
        facts={k: audit[k] for k in SHOWN_FACTS if k in audit},
        outcomes=outcomes,
        errors=_errors(ledger),
        fields=_fields(ledger),
        drift=audit.get("mode") in _DRIFT_MODES or any(o in PREDICTIONS for o, _ in outcomes),
        latency=_latency(_seconds(ledger)),
        slowest=_slowest(ledger),
        conflicts=int(conflicted["conflicts"].sum()),
        conflict_rows=conflicted.height,
        most_conflicts=_most_conflicts(conflicted),
        timeline=_timeline(ledger),
    )


def typed_ledger(frame: pl.DataFrame) -> pl.DataFrame:
    """The columns a summary needs, typed (a CSV ledger is text); JobFileError when one is missing."""
    needed = ("row", "ticket_id", "outcome", "attempts", "conflicts", "error_type", "error_message",
              "changed_fields", "started_at", "finished_at")
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise JobFileError(f"not a ledger: no column {', '.join(missing)}")
    try:
        return frame.select(
            *(pl.col(c).cast(pl.Int64).fill_null(0) for c in ("row", "attempts", "conflicts")),
            *(pl.col(c).cast(pl.String) for c in ("ticket_id", "outcome", "error_type", "error_message")),
            _fields_list(frame.schema["changed_fields"]),
            *(_stamp(c, frame.schema[c]) for c in ("started_at", "finished_at")),
        )
    except pl.exceptions.PolarsError as exc:
        raise JobFileError(f"not a ledger uom-batch wrote: {exc}") from exc


def _fields_list(dtype: pl.DataType) -> pl.Expr:
    column = pl.col("changed_fields")
    if dtype == pl.String:  # CSV: joined by ";"
        column = column.fill_null("").str.split(";")
    return column.list.filter(pl.element() != "").fill_null([])


def _stamp(name: str, dtype: pl.DataType) -> pl.Expr:
    column = pl.col(name)
    if dtype == pl.String:
        return column.str.to_datetime(_ISO_Z, time_unit="us", time_zone="UTC")
    return column.cast(_STAMP)


def _outcomes(ledger: pl.DataFrame) -> tuple[tuple[str, int], ...]:
    """Counts by outcome, in the vocabulary's order (anything else after, by count)."""
    counts = dict(ledger.group_by("outcome").len().iter_rows())
    order = [o.value for o in Outcome if o.value in counts]
    order += sorted((o for o in counts if o not in order), key=lambda o: (-counts[o], str(o)))
    return tuple((str(o), int(counts[o])) for o in order)


def _errors(ledger: pl.DataFrame) -> tuple[ErrorCount, ...]:
    grouped = (
        ledger.filter(pl.col("error_type").is_not_null())
        .group_by("error_type", maintain_order=True)
        .agg(pl.len().alias("rows"), pl.col("error_message").drop_nulls().first().fill_null(""))
        .sort("rows", "error_type", descending=[True, False])
    )
    return tuple(ErrorCount(*r) for r in grouped.iter_rows())


def _fields(ledger: pl.DataFrame) -> tuple[tuple[str, int], ...]:
    found = ledger.select(pl.col("changed_fields").explode().drop_nulls().alias("field"))
    counts = found.group_by("field").len().sort("len", "field", descending=[True, False])
    return tuple((str(f), int(n)) for f, n in counts.iter_rows())


def _seconds(ledger: pl.DataFrame) -> pl.DataFrame:
    """Rows that have both stamps, with `seconds` = finished - started."""
    # Rounded to the microsecond: polars may divide by multiplying (400000 µs → 0.39999999999999997 s).
    spent = ((pl.col("finished_at") - pl.col("started_at")).dt.total_microseconds() / 1e6).round(6)
    return ledger.drop_nulls(["started_at", "finished_at"]).with_columns(spent.alias("seconds"))


def _latency(timed: pl.DataFrame) -> Latency:
    seconds = timed["seconds"]
    if seconds.is_empty():
        return Latency(0, 0.0, 0.0, 0.0, 0.0, (), 1.0)
    top = float(seconds.max())  # type: ignore[arg-type]
    bin_s = top / LATENCY_BINS if top > 0 else 1.0
    index = (seconds / bin_s).floor().cast(pl.Int64).clip(0, LATENCY_BINS - 1)
    counts = dict(index.value_counts().iter_rows())
    bins = tuple((i * bin_s, int(counts.get(i, 0))) for i in range(LATENCY_BINS if top > 0 else 1))
    p50, p90, p99 = (_quantile(seconds, q) for q in (0.5, 0.9, 0.99))
    return Latency(seconds.len(), p50, p90, p99, top, bins, bin_s)


def _quantile(seconds: pl.Series, q: float) -> float:
    return float(seconds.quantile(q, interpolation="nearest") or 0.0)


def _slowest(ledger: pl.DataFrame) -> tuple[SlowRow, ...]:
    timed = _seconds(ledger).sort("seconds", "row", descending=[True, False]).head(TOP)
    picked = timed.select("row", pl.col("ticket_id").fill_null(""), "outcome", "attempts", "seconds")
    return tuple(SlowRow(*r) for r in picked.iter_rows())


def _most_conflicts(conflicted: pl.DataFrame) -> tuple[ConflictRow, ...]:
    top = conflicted.sort("conflicts", "row", descending=[True, False]).head(TOP)
    return tuple(ConflictRow(*r) for r in top.select("row", "ticket_id", "outcome", "conflicts").iter_rows())


def _timeline(ledger: pl.DataFrame) -> Timeline:
    """Finished rows (and errors) per bucket; buckets start at the first stamp of the ledger."""
    done = ledger.drop_nulls("finished_at")
    if done.is_empty():
        return Timeline(None, 1.0, (), {})
    first = pl.min_horizontal(pl.col("started_at").min(), pl.col("finished_at").min())
    start: datetime = ledger.select(first).item()
    span_s = float(done.select((pl.col("finished_at").max() - start).dt.total_microseconds()).item()) / 1e6
    width = next((w for w in _WIDTHS_S if span_s / w < MAX_BUCKETS), float(math.ceil(span_s / MAX_BUCKETS)))
    # Whole microseconds, so that a row finishing on a bucket's edge falls in the bucket it opens.
    offset_us = (pl.col("finished_at") - pl.lit(start)).dt.total_microseconds()
    bucketed = done.with_columns((offset_us // round(width * 1e6)).alias("bucket"))
    buckets = int(bucketed["bucket"].max()) + 1  # type: ignore[arg-type]
    errors = bucketed.filter(pl.col("error_type").is_not_null()).partition_by("error_type", as_dict=True)
    return Timeline(start, width, _per_bucket(bucketed, buckets),
                    {str(k[0]): _per_bucket(f, buckets) for k, f in sorted(errors.items())})


def _per_bucket(frame: pl.DataFrame, buckets: int) -> tuple[int, ...]:
    counts = dict(frame.group_by("bucket").len().iter_rows())
    return tuple(int(counts.get(b, 0)) for b in range(buckets))


# --- the terminal ------------------------------------------------------------------------


def print_summary(console: Console, name: str, s: LedgerSummary) -> None:
    """The summary as text and tables (plain columns when not on a terminal); no markup is read."""
    plain = not console.is_terminal
    console.print(Text(f"ledger: {name}: {s.rows} rows"))
    for key, value in s.facts.items():
        console.print(Text(f"  {key}: {value}"))
    console.print(_table(plain, "outcomes", ("outcome", "rows"), s.outcomes))
    if s.errors:
        console.print(_table(plain, "error types", ("error_type", "rows", "first message"), s.errors))
    title = "drift per field (rows)" if s.drift else "changed fields (rows)"
    console.print(_table(plain, title, ("field", "rows"), s.fields) if s.fields else Text(f"{title}: none"))
    console.print(Text(_latency_line(s.latency)))
    if s.slowest:
        slow = [(*r[:4], f"{r.seconds:.3f}") for r in s.slowest]
        slow_columns = ("row", "ticket_id", "outcome", "attempts", "seconds")
        console.print(_table(plain, "slowest rows", slow_columns, slow))
    console.print(Text(f"conflicts: {s.conflicts} retried, on {s.conflict_rows} rows"))
    if s.most_conflicts:
        columns = ("row", "ticket_id", "outcome", "conflicts")
        console.print(_table(plain, "most conflicts", columns, s.most_conflicts))


def _latency_line(latency: Latency) -> str:
    if not latency.rows:
        return "latency per row: no row was sent"
    return (f"latency per row ({latency.rows} rows): p50 {latency.p50_s:.3f} s, p90 {latency.p90_s:.3f} s, "
            f"p99 {latency.p99_s:.3f} s, max {latency.max_s:.3f} s")


def _table(plain: bool, title: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> Table:
    table = Table(title=title, title_justify="left", box=None if plain else box.HEAVY_HEAD, pad_edge=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for values in rows:
        table.add_row(*(Text("" if v is None else str(v)) for v in values))
    return table
