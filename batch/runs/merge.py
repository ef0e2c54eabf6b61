"""Merging the ledgers of a split job's shards into one ledger, in the job's row order.

Each shard's ledger names its rows by the job's own numbers (`original_row`, from the shard's
OriginalRow column); the invalid rows were recorded once, at the split. The merge refuses when a
shard has not finished (no ledger, a ledger of another shard file, or rows still `skipped`) or
when a row has two final outcomes; `partial` writes what there is and lists what is pending.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from batch.outcome import Outcome, RowOutcome
from batch.output.ledger import write_ledger


@dataclass
class MergeResult:
    """The merged rows, and what stands in the way of a complete merge."""

    outcomes: list[RowOutcome] = field(default_factory=list)
    unfinished: list[str] = field(default_factory=list)  # shards, with why
    duplicates: dict[int, list[str]] = field(default_factory=dict)  # row -> the shards that gave it
    pending: list[int] = field(default_factory=list)  # rows with no final outcome yet

    @property
    def complete(self) -> bool:
        return not (self.unfinished or self.duplicates or self.pending)


def merge_ledgers(
    manifest: Mapping[str, Any],
    invalid: pl.DataFrame,
    shard_ledgers: Sequence[tuple[str, pl.DataFrame | None]],
) -> MergeResult:
    """One row per job row from the invalid rows and each shard's ledger (None: no ledger yet)."""
    result = MergeResult()
    seen: dict[int, str] = {}
    for name, frame in [("invalid rows", invalid), *shard_ledgers]:
        if frame is None:
            result.unfinished.append(f"{name}: no ledger yet")
            continue
        _take(name, frame, seen, result)
    expected = set(range(2, int(manifest["rows"]) + 2))
    result.pending = sorted(
        expected - set(seen) | {o.row for o in result.outcomes if o.outcome is Outcome.SKIPPED}
    )
    result.outcomes.sort(key=lambda o: o.row)
    return result


def _take(name: str, frame: pl.DataFrame, seen: dict[int, str], result: MergeResult) -> None:
    numbered = frame.with_columns(
        pl.col("original_row").alias("row") if "original_row" in frame.columns else pl.col("row")
    )
    for record in numbered.iter_rows(named=True):
        outcome = _outcome(record)
        if outcome.row in seen:
            result.duplicates.setdefault(outcome.row, [seen[outcome.row]]).append(name)
            continue
        seen[outcome.row] = name
        result.outcomes.append(outcome)


def _outcome(r: Mapping[str, Any]) -> RowOutcome:
    return RowOutcome(
        row=int(r["row"]),
        action=r["action"],
        ticket_id=r["ticket_id"] or "",
        outcome=Outcome(r["outcome"]),
        attempts=int(r["attempts"] or 0),
        conflicts=int(r["conflicts"] or 0),
        error_type=r["error_type"],
        error_message=r["error_message"],
        error_detail=r["error_detail"],
        request_id=r["request_id"],
        changed_fields=tuple(r["changed_fields"] or ()),
        started_at=_aware(r["started_at"]),
        finished_at=_aware(r["finished_at"]),
    )


def _aware(stamp: datetime | None) -> datetime | None:
    if stamp is None or stamp.tzinfo is not None:
        return stamp
    return stamp.replace(tzinfo=UTC)


def write_merged(out: Path, result: MergeResult, manifest: Mapping[str, Any]) -> Path:
    """The merged ledger (CSV or Parquet by `out`'s suffix), with the split's facts."""
    facts = {
        "job_file": str(manifest["job_file"]),
        "job_sha256": str(manifest["job_sha256"]),
        "kind": str(manifest["kind"]),
        "mode": "run",
        "shards": str(manifest["shards"]),
        "merged_at": datetime.now(UTC).isoformat(),
    }
    return write_ledger(out, result.outcomes, facts)
