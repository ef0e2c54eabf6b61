"""`uom-batch plan JOBFILE`: what a run would change, read from the live tickets; nothing is written.

Loads and validates like `run`, reads every ticket the job touches (rate-limited, concurrent,
with progress), and writes a plan file: per row the outcome a run would give now, the changed
fields before and after, and the exact request with the timestamps as read. `run --plan` applies
exactly that. Exit 0 plan written, 1 some rows would fail or are invalid, 2 could not start.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
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
    from batch.runs.run_job import PreparedJob
    from batch.uom.credentials import Credentials


def register(subparsers: Any) -> None:
    """Add the `plan` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "plan",
        help="show what a run would change, and write a plan to apply exactly that; nothing is sent",
        description="Validate JOBFILE, read every ticket it touches, and predict each row's outcome "
        "with the rules `run` uses. Writes a plan file (default <job>.plan.parquet) that "
        "`uom-batch run --plan` applies exactly, one call per row.",
    )
    add_job_arguments(parser)
    parser.add_argument("--out", type=Path, metavar="PATH", help="plan file (default <job>.plan.parquet)")
    parser.add_argument(
        "--diff-csv",
        type=Path,
        metavar="PATH",
        help="also write every change as CSV: row, ticket, field, before, after",
    )
    add_engine_arguments(parser)
    parser.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    import anyio

    from batch.commands.run import credentials_from, settings_from
    from batch.commands.scheduling import write_run_metrics
    from batch.output.logs import configure_logging

    configure_logging(json_lines=args.log_json, level=args.log_level)
    credentials = credentials_from(args)
    settings = settings_from(args)
    options = loop_options(no_uvloop=args.no_uvloop)
    job, result = anyio.run(_plan, args, credentials, settings, backend_options=options)
    if result.stop.interrupted or result.stop.auth_stopped:
        print(f"uom-batch plan: {result.stop.message}; no plan written", file=sys.stderr)
        return ExitCode.INTERRUPTED if result.stop.interrupted else ExitCode.ROWS_FAILED
    _write(args, job, result, credentials)
    write_run_metrics(
        args,
        args.job,
        "plan",
        exit_code=result.exit_code,
        duration_s=result.duration_s,
        requests=result.requests,
        counts={o.value: n for o, n in result.counts.items()},
        drift=result.drift,
    )
    return result.exit_code


async def _plan(args: argparse.Namespace, credentials: Credentials, settings: Any) -> tuple[Any, PlanResult]:
    from batch.clock import SystemClock
    from batch.commands.prepare import prepare_job
    from batch.commands.scheduling import job_lock
    from batch.runs.plan_job import plan_job
    from batch.uom.client import UomClient
    from jobs.planning import PlanningKind

    async with job_lock(args, args.job):
        job, kind = prepare_job(args.job, action=args.action, encoding=args.encoding)
        async with UomClient(credentials, max_connections=settings.concurrency) as client:
            return job, await plan_job(job, PlanningKind(kind), client, settings, SystemClock())


def save_plan(
    job: PreparedJob[Any], result: PlanResult, credentials: Credentials, out: Path, group_size: int
) -> pl.DataFrame:
    """Write the plan file for `result` (its facts: job, kind, account, time); its rows."""
    from datetime import UTC, datetime

    from batch import __version__
    from batch.output.plan_file import plan_frame, write_plan

    rows = plan_frame(result.outcomes)
    facts = {
        "job_file": str(job.path),
        "job_sha256": job.sha256,
        "kind": job.kind_name,
        "endpoint": credentials.endpoint,
        "master_id": credentials.master_id,
        "tool_version": __version__,
        "created_at": datetime.now(UTC).isoformat(),
        "group_size": str(group_size),
    }
    write_plan(out, rows, facts)
    return rows


def record_plan(job: PreparedJob[Any], result: PlanResult, out: Path, mode: str, **extra: Any) -> None:
    """Append the plan (or a reconcile) to the run history in the job's journal."""
    from datetime import UTC, datetime

    from batch.journal.history import append_history
    from batch.journal.journal_file import journal_path_for

    append_history(
        journal_path_for(job.path), result.history(mode, job.sha256, out, datetime.now(UTC), **extra)
    )


def _write(
    args: argparse.Namespace, job: PreparedJob[Any], result: PlanResult, credentials: Credentials
) -> None:
    from batch.output.plan_file import default_plan_path
    from batch.output.plan_report import print_plan_report, write_diff_csv
    from jobs.plan_diff import diff_lines

    out = args.out or default_plan_path(job.path)
    rows = save_plan(job, result, credentials, out, args.group_size)
    record_plan(job, result, out, "plan")
    counts = {o.value: n for o, n in result.counts.items()}
    print_plan_report(counts, result.changed_fields, diff_lines(rows), rows)
    if args.diff_csv is not None:
        lines = write_diff_csv(args.diff_csv, diff_lines(rows))
        print(f"diff: {lines} changes in {args.diff_csv}")
    rps = result.requests / result.duration_s if result.duration_s > 0 else 0.0
    print(f"read {result.requests} tickets in {result.duration_s:.1f} s ({rps:.1f} requests/s)")
    print(f"plan: {out}\nto apply exactly this: uom-batch run --plan {out}")
