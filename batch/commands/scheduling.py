"""What a scheduled command adds around its work: the job's lock, and the metrics file at the end.

The lock is the kernel's (flock) on `<journal>.lock`, so two runs of one job (or of one
definition, which names the job) never overlap: the second exits 75 at once, or waits
`--wait-lock SECONDS`; a killed run's lock goes with its process.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from pathlib import Path

from batch.clock import SystemClock
from batch.journal.journal_file import journal_path_for
from batch.journal.lock import lock_path_for, run_lock

METRIC_MODES = {"run": "run", "apply-plan": "run", "plan": "plan", "reconcile": "reconcile", "retry": "retry"}


def job_lock(args: argparse.Namespace, target: Path) -> AbstractAsyncContextManager[Path]:
    """The lock of the job (or plan) `target`: beside its journal (`--journal`, if given)."""
    journal = getattr(args, "journal", None) or journal_path_for(target)
    return run_lock(lock_path_for(journal), wait_s=args.wait_lock, clock=SystemClock())


def write_run_metrics(
    args: argparse.Namespace,
    job: Path,
    mode: str,
    *,
    exit_code: int,
    duration_s: float,
    requests: int,
    counts: Mapping[str, int],
    retries: Mapping[str, int] | None = None,
    drift: int = 0,
) -> None:
    """With `--metrics-file PATH`, write the run's metrics there (atomically); else nothing."""
    if args.metrics_file is None:
        return
    from batch.output.metrics import RunMetrics, write_metrics

    facts = RunMetrics(
        job=job.name,
        mode=METRIC_MODES[mode],
        exit_code=exit_code,
        finished_at=datetime.now(UTC),
        duration_s=duration_s,
        requests=requests,
        rows_by_outcome=dict(counts),
        retries_by_class=dict(retries or {}),
        drift_rows=drift,
    )
    args.metrics_file.parent.mkdir(parents=True, exist_ok=True)
    write_metrics(args.metrics_file, facts)
