"""`uom-batch retry LEDGER`: a new job file of the run's rows that did not end well; `--run` runs it.

The rows come from the job file the ledger names, as it was run (a changed or missing file is
refused), in its format and encoding, with `OriginalRow` first. Exit 0 when the file is written
or nothing is to be retried, 2 when the ledger or its job file cannot be used; with `--run`, the
run's own exit code.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from batch.commands.arguments import add_connection_arguments, add_loop_argument, loop_options
from batch.exit_codes import ExitCode

if TYPE_CHECKING:
    from batch.jobfile.load import LoadedJob
    from batch.runs.retry import Ledger, Selection

# The vocabulary of batch.runs.retry, repeated here for --help: that module imports polars.
RETRYABLE = "failed,invalid,stale,precondition_failed,skipped"
DEFAULT_ONLY = "failed,stale,skipped"


def register(subparsers: Any) -> None:
    """Add the `retry` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "retry",
        help="write a job file of a run's rows that did not end well (and run it with --run)",
        description="Copy the rows of LEDGER's job file whose outcome is one of --only into a new "
        "job file of the same format and encoding, each with its original row number in the "
        "OriginalRow column. The job file must be unchanged since the run.",
    )
    parser.add_argument("ledger", type=Path, metavar="LEDGER", help="the run's ledger (.csv or .parquet)")
    parser.add_argument(
        "--only",
        default=DEFAULT_ONLY,
        metavar="OUTCOMES",
        help=f"comma-separated outcomes to retry, of {RETRYABLE} (default {DEFAULT_ONLY})",
    )
    parser.add_argument(
        "--error-type",
        metavar="TYPES",
        help="only rows with one of these error types, e.g. SYSTEM_ERROR,EXCLUSION_FAILURE",
    )
    parser.add_argument(
        "--out", type=Path, metavar="PATH", help="the new job file (default: <job>.retry.csv beside the job)"
    )
    parser.add_argument(
        "--encoding", metavar="ENC", help="the job file's CSV encoding, if its run was given one"
    )
    parser.add_argument(
        "--run", action="store_true", help="run the new job at once, with the original run's settings"
    )
    parser.add_argument("--log-json", action="store_true", help="--run: log JSON lines to stderr")
    parser.add_argument(
        "--log-level",
        choices=("debug", "info", "warning", "error"),
        help="--run: default info on a terminal, debug with --log-json",
    )
    add_connection_arguments(parser)
    add_loop_argument(parser)
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Select, write, report; with --run, run the new job."""
    # Imported here: `uom-batch --help` should not pay for polars.
    from batch.jobfile.load import load_job
    from batch.runs import retry

    only = retry.parse_only(args.only)
    error_types = retry.parse_names(args.error_type or "")
    ledger = retry.read_ledger(args.ledger)
    job = retry.open_job(ledger, lambda path: load_job(path, encoding=args.encoding), Path())
    selection = retry.select_rows(ledger.rows, only, error_types)
    _report_selection(ledger, selection, only)
    if not selection.rows:
        return ExitCode.OK
    out = args.out or retry.default_retry_path(job.path, job.format)
    retry.check_target(out, job, ledger.path)
    written = retry.write_retry_job(job, selection.rows, out)
    encoding = f" in {job.encoding}" if job.encoding else ""
    print(
        f"wrote {out}: {written} rows, {job.format.upper()}{encoding}, OriginalRow first "
        "(each row's number in the first job file)"
    )
    if args.run:
        return _run(args, ledger, job, out)
    print("next: " + shlex.join(["uom-batch", "run", str(out), *_same_settings(ledger, out)]))
    return ExitCode.OK


def _report_selection(ledger: Ledger, selection: Selection, only: tuple[str, ...]) -> None:
    wanted = " or ".join(only)
    for error_type in selection.unmatched_error_types:
        print(f"note: no {wanted} row has the error type {error_type}")
    if not selection.rows:
        print(f"nothing to retry: no row of {ledger.path} is {wanted}; nothing written")
        return
    counts = ", ".join(f"{outcome} {n}" for outcome, n in selection.by_outcome.items())
    print(f"selected {len(selection.rows)} of {ledger.rows.height} rows of {ledger.path}: {counts}")


def _same_settings(ledger: Ledger, out: Path) -> list[str]:
    """`run` flags for the original run's settings where they differ from the defaults."""
    from batch.output.ledger import default_ledger_path
    from batch.runs.retry import run_settings_from
    from batch.runs.settings import RunSettings

    ran, default = run_settings_from(ledger.audit), RunSettings()
    pairs = [
        ("--rate", ran.rate_per_s or 0, default.rate_per_s),
        ("--concurrency", ran.concurrency, default.concurrency),
        ("--group-size", ran.group_size, default.group_size),
        ("--max-conflicts", ran.policy.max_conflicts, default.policy.max_conflicts),
        ("--max-retries", ran.policy.max_transient, default.policy.max_transient),
        ("--ledger-encoding", ran.csv_encoding, default.csv_encoding),
        ("--ledger", _retry_ledger(out, ledger), default_ledger_path(out)),
    ]
    return [word for flag, value, usual in pairs if value != usual for word in (flag, str(value))]


def _retry_ledger(out: Path, ledger: Ledger) -> Path:
    """The new run's ledger: `run`'s default beside the retry job, in the original ledger's format."""
    from batch.output.ledger import default_ledger_path

    return default_ledger_path(out).with_suffix(ledger.path.suffix.lower())


def _run_arguments(job: Path, kind: str, encoding: str | None) -> argparse.Namespace:
    """What `uom-batch run JOB --action KIND` parses to: every flag of run's, at its default."""
    from batch.commands import run

    parser = argparse.ArgumentParser(prog="uom-batch")
    run.register(parser.add_subparsers())
    encoding_flag = ["--encoding", encoding] if encoding else []
    return parser.parse_args(["run", str(job), "--action", kind, *encoding_flag])


def _run(args: argparse.Namespace, ledger: Ledger, job: LoadedJob, out: Path) -> int:
    """Run the new job as `uom-batch run` would, with the original run's settings."""
    import anyio

    from batch.commands.run import credentials_from, execute
    from batch.output.logs import configure_logging
    from batch.runs.retry import run_settings_from
    from batch.runs.summary import print_summary

    configure_logging(json_lines=args.log_json, level=args.log_level)
    credentials = credentials_from(args)
    settings = dataclasses.replace(
        run_settings_from(ledger.audit), ledger_path=_retry_ledger(out, ledger), handle_signals=True,
        mode="retry",
    )
    run_args = _run_arguments(out, ledger.kind, job.encoding)
    options = loop_options(no_uvloop=args.no_uvloop)
    print(f"running {out} ({ledger.kind}) with the settings of the original run")
    report = anyio.run(execute, run_args, credentials, settings, backend_options=options)
    print_summary(report, sys.stdout)
    return report.exit_code
