"""The run history kept in a job's journal: one record per run, plan, reconcile, retry or revert.

A record says what was done (mode), to which job (its SHA-256), when, how it ended, its counts by
outcome, the drift found (plan, reconcile), the requests sent and the rate achieved, and where
its ledger (or plan, or undo job) is. `uom-batch history` lists them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from batch.journal.journal_file import Journal
from batch.journal.run_state import sqlite_errors

MODES = ("run", "plan", "apply-plan", "reconcile", "retry", "revert")


@dataclass(frozen=True)
class HistoryRecord:
    """One entry of a journal's run history."""

    mode: str
    job_sha256: str
    started_at: str
    ended_at: str
    end_status: str
    counts: Mapping[str, int] = field(default_factory=dict)
    drift: int | None = None
    requests: int = 0
    rate_per_s: float = 0.0
    output_path: str = ""
    record_id: int | None = None

    @classmethod
    def finished(
        cls,
        mode: str,
        job_sha256: str,
        *,
        ended_at: datetime,
        duration_s: float,
        requests: int,
        counts: Mapping[str, int],
        end_status: str,
        output_path: str,
        drift: int | None = None,
    ) -> HistoryRecord:
        """The record of something that just ended: its start and rate derived from its duration."""
        return cls(
            mode=mode,
            job_sha256=job_sha256,
            started_at=(ended_at - timedelta(seconds=duration_s)).isoformat(),
            ended_at=ended_at.isoformat(),
            end_status=end_status,
            counts=counts,
            drift=drift,
            requests=requests,
            rate_per_s=round(requests / duration_s, 2) if duration_s > 0 else 0.0,
            output_path=output_path,
        )

    def as_json(self) -> dict[str, Any]:
        """The record as plain JSON values."""
        return {**asdict(self), "counts": dict(self.counts)}


def append_history(journal_path: Path, record: HistoryRecord) -> int:
    """Append `record` to the history of the journal at `journal_path` (created if missing)."""
    with Journal.open(journal_path) as journal:
        return record_history(journal, record)


def record_history(journal: Journal, record: HistoryRecord) -> int:
    """Append `record` to the history of an open journal; its id."""
    if record.mode not in MODES:
        raise ValueError(f"unknown history mode {record.mode!r}; expected one of {MODES}")
    with sqlite_errors(journal.path, "recording the run history"):
        cur = journal.connection.execute(
            "INSERT INTO history (mode, job_sha256, started_at, ended_at, end_status, counts_json, drift,"
            " requests, rate_per_s, output_path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.mode,
                record.job_sha256,
                record.started_at,
                record.ended_at,
                record.end_status,
                json.dumps(dict(record.counts), sort_keys=True),
                record.drift,
                record.requests,
                record.rate_per_s,
                record.output_path,
            ),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid


def read_history(journal_path: Path) -> list[HistoryRecord]:
    """Every history record of the journal, oldest first."""
    with Journal.open(journal_path) as journal, sqlite_errors(journal.path, "reading the run history"):
        rows = journal.connection.execute(
            "SELECT history_id, mode, job_sha256, started_at, ended_at, end_status, counts_json, drift,"
            " requests, rate_per_s, output_path FROM history ORDER BY history_id"
        ).fetchall()
    return [
        HistoryRecord(
            record_id=r[0],
            mode=r[1],
            job_sha256=r[2],
            started_at=r[3],
            ended_at=r[4],
            end_status=r[5],
            counts=json.loads(r[6]),
            drift=r[7],
            requests=r[8],
            rate_per_s=r[9],
            output_path=r[10],
        )
        for r in rows
    ]
