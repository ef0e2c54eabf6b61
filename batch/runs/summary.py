"""The final summary of a run: counts by outcome and error type, conflicts, duration, request rate."""

from __future__ import annotations

from typing import TextIO

from batch.outcome import PREDICTIONS, Outcome
from batch.runs.run_job import RunReport


def summary_lines(report: RunReport) -> list[str]:
    """The summary as plain lines (the same on a terminal and in a log file)."""
    total = sum(report.counts.values())
    rps = report.requests / report.duration_s if report.duration_s > 0 else 0.0
    lines = [
        f"rows: {total}" + (" (resumed run)" if report.resumed else ""),
        "outcomes: " + ", ".join(f"{o.value}={report.counts.get(o, 0)}" for o in _shown(report)),
    ]
    if report.error_types:
        lines.append("errors: " + ", ".join(f"{t}={n}" for t, n in sorted(report.error_types.items())))
    lines += [
        f"conflicts retried: {report.conflicts}",
        f"requests: {report.requests} in {report.duration_s:.1f} s ({rps:.1f} requests/s)",
        f"ledger: {report.ledger_path}",
    ]
    if report.stop.message:
        lines.append(f"stopped early: {report.stop.message}")
    if report.counts.get(Outcome.SKIPPED, 0):
        lines.append("to finish: run the same command again; it resumes where this run stopped")
    if report.counts.get(Outcome.STALE, 0):
        lines.append(
            f"stale: {report.counts[Outcome.STALE]} tickets changed since the plan and were left as they are;"
            f" re-plan them: uom-batch retry {report.ledger_path} --only stale, then uom-batch plan on the"
            " job it writes"
        )
    return lines


def _shown(report: RunReport) -> list[Outcome]:
    """A run's outcomes (a plan's predictions only where they occur)."""
    return [o for o in Outcome if o not in PREDICTIONS or report.counts.get(o, 0)]


def print_summary(report: RunReport, stream: TextIO) -> None:
    """Print the summary."""
    for line in summary_lines(report):
        print(line, file=stream)
