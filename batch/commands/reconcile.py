"""`uom-batch reconcile DESIRED`: bring tickets to a desired state, on a timer, safely.

DESIRED is an update-ticket job file of desired field values (`expect.` allowed, memo columns
refused: a memo is an action, not a state). The tickets are read and compared (a plan); the
default reports the drift (ticket, field, live value, desired value) and writes nothing.
`--check` exits 3 when there is drift (for monitoring); `--apply` corrects only the drifted rows
by applying the plan it just made (a ticket changed in between ends `stale`), unless more rows
would change than `--max-changes` allows (default 10 % of the rows, at least 10): then nothing
changes and the exit code is 4.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import TYPE_CHECKING, Any

from batch.commands.arguments import (
    add_engine_arguments,
    add_job_arguments,
    loop_options,
)
from batch.exit_codes import ExitCode

if TYPE_CHECKING:
    import polars as pl

    from batch.runs.plan_job import PlanResult
    from batch.runs.run_job import RunReport
    from batch.runs.settings import RunSettings
    from batch.uom.credentials import Credentials

DRIFT_COLUMNS = ("row", "ticket_id", "field", "live", "desired")


def register(subparsers: Any) -> None:
    """Add the `reconcile` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "reconcile",
        help="compare tickets with a desired state; report the drift, or correct it with --apply",
        description="Read the tickets DESIRED names and compare them with its values. Without "
        "options, report the drift; --check exits 3 when there is some; --apply corrects the "
        "drifted rows (at most --max-changes of them) by applying exactly the plan just made.",
    )
    add_job_arguments(parser)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="exit 3 when there is drift, 0 when none")
    mode.add_argument("--apply", action="store_true", help="correct the drifted rows")
    parser.add_argument(
        "--max-changes",
        type=max_changes_arg,
        default=None,
        metavar="N|all",
        help="with --apply: change nothing when more rows would change (default 10%% of rows, at least 10)",
    )
    add_engine_arguments(parser)
    parser.set_defaults(func=_main)


def max_changes_arg(text: str) -> float:
    """`all` (no cap) or a whole number >= 0 (argparse type)."""
    if text.strip().lower() == "all":
        return math.inf
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of rows, or 'all'")
    return int(text)


def max_changes(given: float | None, rows: int) -> float:
    """The cap: as given (`all`: none), else 10 % of the rows, at least 10."""
    return max(10, math.ceil(rows / 10)) if given is None else given


def _main(args: argparse.Namespace) -> int:
    import anyio

    from batch.commands.run import credentials_from, settings_from
    from batch.output.logs import configure_logging

    configure_logging(json_lines=args.log_json, level=args.log_level)
    credentials = credentials_from(args)
    # Each apply follows a fresh plan: a new run, never the resume of an older plan's apply.
    settings = settings_from(args, new_run=True, mode="reconcile")
    return int(
        anyio.run(
            _reconcile, args, credentials, settings, backend_options=loop_options(no_uvloop=args.no_uvloop)
        )
    )


async def _reconcile(args: argparse.Namespace, credentials: Credentials, settings: RunSettings) -> int:
    from batch.clock import SystemClock
    from batch.commands.plan import save_plan
    from batch.commands.prepare import prepare_job
    from batch.output.plan_file import default_plan_path
    from batch.runs.plan_job import plan_job
    from batch.uom.client import UomClient
    from jobs.planning import PlanningKind
    from jobs.update_ticket import refuse_actions

    job, kind = prepare_job(args.job, action=args.action or "update-ticket", encoding=args.encoding)
    refuse_actions(job.columns, args.job.name)
    async with UomClient(credentials, max_connections=settings.concurrency) as client:
        result = await plan_job(job, PlanningKind(kind), client, settings, SystemClock())
        if result.stop.interrupted or result.stop.auth_stopped:
            print(f"uom-batch reconcile: {result.stop.message}; nothing changed", file=sys.stderr)
            return ExitCode.INTERRUPTED if result.stop.interrupted else ExitCode.ROWS_FAILED
        plan_path = default_plan_path(job.path)
        rows = save_plan(job, result, credentials, plan_path, settings.group_size)
        drifted = _report(result, rows)
        if not args.apply:
            return _finish(args, job, result, ExitCode.DRIFT if args.check and drifted else result.exit_code)
        cap = max_changes(args.max_changes, job.total_rows)
        if drifted > cap:
            print(f"{drifted} rows would change, more than --max-changes {cap:.0f}: nothing changed")
            return _finish(args, job, result, ExitCode.TOO_MANY_CHANGES, end_status="capped")
        if not drifted:
            print("no drift: nothing to change")
            return _finish(args, job, result, result.exit_code)
        report = await _apply(plan_path, client, credentials, settings)
        return _finish(args, job, result, report.exit_code, report)


def _finish(
    args: argparse.Namespace,
    job: Any,
    result: PlanResult,
    code: int,
    report: RunReport | None = None,
    **extra: Any,
) -> int:
    """Record the reconcile in the run history and the metrics file; its exit code."""
    from batch.commands.plan import record_plan
    from batch.commands.scheduling import write_run_metrics
    from batch.output.plan_file import default_plan_path

    counts = {o.value: n for o, n in (report.counts if report else result.counts).items() if n}
    requests = result.requests + (report.requests if report else 0)
    output = report.ledger_path if report else default_plan_path(job.path)
    record_plan(job, result, output, "reconcile", counts=counts, requests=requests, **extra)
    duration = result.duration_s + (report.duration_s if report else 0.0)
    write_run_metrics(
        args,
        args.job,
        "reconcile",
        exit_code=code,
        duration_s=duration,
        requests=requests,
        counts=counts,
        retries=report.retries if report else None,
        drift=result.drift,
    )
    return code


def _report(result: PlanResult, rows: pl.DataFrame) -> int:
    """Print the drift (live vs desired per field); the number of rows that drifted."""
    from batch.outcome import PREDICTIONS
    from batch.output.plan_report import print_plan_report
    from jobs.plan_diff import diff_lines

    counts = {o.value: n for o, n in result.counts.items()}
    print_plan_report(
        counts, result.changed_fields, diff_lines(rows), rows, columns=DRIFT_COLUMNS, title="drift"
    )
    drifted = sum(n for o, n in result.counts.items() if o in PREDICTIONS)
    print(f"drift: {drifted} of {len(result.outcomes)} rows differ from the desired state")
    return drifted


async def _apply(plan_path: Any, client: Any, credentials: Credentials, settings: RunSettings) -> RunReport:
    """Apply exactly the plan just made (a ticket changed since it was read ends `stale`)."""
    from batch.clock import SystemClock
    from batch.commands.prepare import prepare_plan
    from batch.output.plan_file import read_plan
    from batch.runs.run_job import run_job
    from batch.runs.summary import print_summary

    prepared, kind = prepare_plan(read_plan(plan_path))
    report = await run_job(prepared, kind, client, credentials.audit(), settings, SystemClock())
    print_summary(report, sys.stdout)
    return report
