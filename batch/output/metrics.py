"""`--metrics-file PATH`: the end of every run as a Prometheus textfile-collector file.

Written with prometheus_client's own registry and `write_to_textfile` (which writes a temporary
file beside the target and renames it: a collector never reads half a file). Every metric is a
gauge named `uom_batch_*`, labelled `job` (the job file's name) and `mode` (run, plan, reconcile,
retry, revert): the file describes the last run, so its values fall as well as rise (a counter
would claim a reset at every run).

`uom_batch_last_success_timestamp_seconds` moves only when a run succeeds (exit 0); after a
failed run it keeps the value the previous file had for the same job and mode, read back with
prometheus_client's parser, so an alert on "no success for a day" keeps working.

A control character or line separator in the job's name becomes `?` in its label: the format
escapes only backslash, quote and newline, and a reader splitting lines on the others (Python's
parser does) would lose the file.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, write_to_textfile
from prometheus_client.parser import text_string_to_metric_families

from batch.exit_codes import ExitCode
from batch.outcome import Outcome

__all__ = [
    "LAST_SUCCESS", "MODES", "RETRY_CLASSES", "RunMetrics", "label_text", "last_success", "write_metrics",
]

MODES = frozenset({"run", "plan", "reconcile", "retry", "revert"})
RETRY_CLASSES = ("conflict", "transient", "rate")  # EXCLUSION_FAILURE; 5xx, timeouts; 429
PREFIX = "uom_batch_"
LAST_SUCCESS = PREFIX + "last_success_timestamp_seconds"
_LABELS = ("job", "mode")
_UNSAFE = frozenset({"Cc", "Zl", "Zp"})  # controls (C0, DEL, C1), U+2028, U+2029


@dataclass(frozen=True)
class RunMetrics:
    """The facts of one finished run (or plan, reconcile, retry, revert) that the file reports."""

    job: str  # the job file's name (or the definition's)
    mode: str  # one of MODES
    exit_code: int
    finished_at: datetime  # aware
    duration_s: float
    requests: int
    rows_by_outcome: Mapping[str, int] = field(default_factory=dict)
    retries_by_class: Mapping[str, int] = field(default_factory=dict)  # keys from RETRY_CLASSES
    drift_rows: int = 0  # rows whose ticket differs from the desired state (plan, reconcile)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {sorted(MODES)}, got {self.mode!r}")
        if self.finished_at.tzinfo is None:
            raise ValueError("finished_at must be timezone-aware")
        unknown = set(self.retries_by_class) - set(RETRY_CLASSES)
        if unknown:
            raise ValueError(f"unknown retry classes {sorted(unknown)}; known: {RETRY_CLASSES}")

    @property
    def succeeded(self) -> bool:
        """Exit 0: every row ended well."""
        return self.exit_code == ExitCode.OK


def write_metrics(path: Path, facts: RunMetrics) -> None:
    """Write the metrics file for `facts` at `path`, replacing it atomically."""
    registry = CollectorRegistry()
    labels = {"job": label_text(facts.job), "mode": facts.mode}
    rows = _gauge(registry, "rows", "Rows of the last run by outcome.", "outcome")
    for outcome, count in _all_outcomes(facts.rows_by_outcome).items():
        rows.labels(**labels, outcome=outcome).set(count)
    retries = _gauge(registry, "retries", "Retries of the last run by class (conflict, transient, rate).",
                     "class")
    for name in RETRY_CLASSES:
        retries.labels(**labels, **{"class": name}).set(facts.retries_by_class.get(name, 0))
    plain = {
        "drift_rows": ("Rows whose ticket differed from the desired state.", facts.drift_rows),
        "requests": ("API requests the last run made.", facts.requests),
        "duration_seconds": ("How long the last run took.", facts.duration_s),
        "exit_code": ("The last run's exit code (0 ok, 1 rows failed, 2 could not start, ...).",
                      facts.exit_code),
        "last_run_timestamp_seconds": ("When the last run ended (Unix time).", facts.finished_at.timestamp()),
    }
    for name, (doc, value) in plain.items():
        _gauge(registry, name, doc).labels(**labels).set(value)
    success = facts.finished_at.timestamp() if facts.succeeded else last_success(path, **labels)
    if success is not None:
        doc = "When a run last succeeded (exit 0; Unix time)."
        _gauge(registry, LAST_SUCCESS.removeprefix(PREFIX), doc).labels(**labels).set(success)
    write_to_textfile(str(path), registry)


def last_success(path: Path, job: str, mode: str) -> float | None:
    """The last success timestamp an existing metrics file holds for `job` and `mode`, if any."""
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    try:
        families = list(text_string_to_metric_families(text))
    except ValueError:
        return None  # not a metrics file we can read: the success is unknown, not "never"
    for family in families:
        for sample in family.samples:
            if sample.name == LAST_SUCCESS and sample.labels == {"job": job, "mode": mode}:
                return float(sample.value)
    return None


def label_text(text: str) -> str:
    """`text` with every control character and line or paragraph separator replaced by `?`."""
    return "".join("?" if unicodedata.category(c) in _UNSAFE else c for c in text)


def _gauge(registry: CollectorRegistry, name: str, doc: str, *extra: str) -> Gauge:
    return Gauge(PREFIX + name, doc, [*_LABELS, *extra], registry=registry)


def _all_outcomes(counts: Mapping[str, int]) -> dict[str, int]:
    """Every outcome of the vocabulary (0 when absent: an alert needs the series), then the rest."""
    return {**{o.value: 0 for o in Outcome}, **counts}
