"""The final summary: counts, errors, rate, and how to finish a stopped run."""

from __future__ import annotations

from pathlib import Path

from batch.engine.pool import StopState
from batch.outcome import Outcome
from batch.runs.run_job import RunReport
from batch.runs.summary import summary_lines


def report(counts: dict[Outcome, int], stop: StopState) -> RunReport:
    return RunReport(counts, {"NO_TICKET_ID": 1}, 2, 40, 4.0, Path("job.ledger.csv"), False, stop)


def test_summary_counts_errors_and_rate() -> None:
    """Every outcome is counted, error types listed, and the request rate computed."""
    lines = summary_lines(report({Outcome.UPDATED: 9, Outcome.FAILED: 1}, StopState()))
    assert "rows: 10" in lines
    assert any("updated=9" in line and "failed=1" in line for line in lines)
    assert "errors: NO_TICKET_ID=1" in lines
    assert "requests: 40 in 4.0 s (10.0 requests/s)" in lines
    assert not any("to finish" in line for line in lines)


def test_stopped_run_says_how_to_finish() -> None:
    """A run that left skipped rows tells the operator that re-running resumes it."""
    stop = StopState(interrupted=True, message="interrupted")
    lines = summary_lines(report({Outcome.UPDATED: 3, Outcome.SKIPPED: 7}, stop))
    assert "stopped early: interrupted" in lines
    assert any(line.startswith("to finish: run the same command again") for line in lines)
