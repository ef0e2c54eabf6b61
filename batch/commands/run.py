"""`uom-batch run JOBFILE`: validate the job, apply it to UOM, write the ledger; resume if interrupted."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import anyio

from batch.clock import SystemClock
from batch.commands.prepare import add_job_arguments, prepare_job
from batch.commands.settings import load_credentials
from batch.engine.backoff import RetryPolicy
from batch.errors import ConfigError
from batch.output.logs import configure_logging
from batch.runs.run_job import RunReport, RunSettings, run_job
from batch.runs.summary import print_summary
from batch.uom.client import UomClient
from batch.uom.credentials import Credentials
from jobs.kinds import engine_kind


def register(subparsers: Any) -> None:
    """Add the `run` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "run",
        help="apply a job file to UOM (resumes an interrupted run of the same file)",
        description="Validate JOBFILE, apply its valid rows to UOM within the rate and concurrency "
        "limits, and write one outcome per row to the ledger. Re-running an interrupted job resumes it.",
    )
    add_job_arguments(parser)
    add_run_arguments(parser)
    add_connection_arguments(parser)
    parser.set_defaults(func=_main)


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Limits and retries; ledger, journal and logging."""
    _add_limit_arguments(parser.add_argument_group("limits and retries"))
    _add_record_arguments(parser.add_argument_group("ledger, journal and logging"))


def _add_limit_arguments(group: argparse._ArgumentGroup) -> None:
    defaults = RunSettings()
    policy = defaults.policy
    group.add_argument(
        "--rate",
        type=float,
        default=defaults.rate_per_s,
        metavar="RPS",
        help=f"requests per second over all workers, 0 = unlimited (default {defaults.rate_per_s})",
    )
    group.add_argument(
        "--concurrency",
        type=_positive,
        default=defaults.concurrency,
        metavar="N",
        help=f"requests in flight at most (default {defaults.concurrency})",
    )
    group.add_argument(
        "--group-size",
        type=_positive,
        default=defaults.group_size,
        metavar="N",
        help=f"release-relation: children per call at most (default {defaults.group_size})",
    )
    group.add_argument(
        "--max-conflicts",
        type=int,
        default=policy.max_conflicts,
        metavar="N",
        help=f"EXCLUSION_FAILURE retries per row (default {policy.max_conflicts})",
    )
    group.add_argument(
        "--max-retries",
        type=int,
        default=policy.max_transient,
        metavar="N",
        help=f"retries per row after timeouts, resets, 5xx, SYSTEM_ERROR (default {policy.max_transient})",
    )


def _add_record_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--ledger",
        type=Path,
        metavar="PATH",
        help="ledger file, .csv or .parquet (default: <job>.ledger.csv beside the job)",
    )
    group.add_argument(
        "--ledger-encoding",
        choices=("utf-8-sig", "cp932"),
        default="utf-8-sig",
        help="CSV ledger encoding: UTF-8 with BOM (default) or CP932 for old Excel",
    )
    group.add_argument(
        "--journal",
        type=Path,
        metavar="PATH",
        help="journal file (default: <job>.journal.sqlite beside the job)",
    )
    group.add_argument(
        "--resume",
        action="store_true",
        help="continue the interrupted run of this job (the default when there is one); "
        "refuse to start if there is none",
    )
    group.add_argument(
        "--new-run", action="store_true", help="start a new run even if the last one was interrupted"
    )
    group.add_argument("--log-json", action="store_true", help="log JSON lines to stderr")
    group.add_argument(
        "--log-level",
        choices=("debug", "info", "warning", "error"),
        help="default: info on a terminal, debug with --log-json",
    )


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """Where UOM is and how to talk to it; credentials come from the environment or --config."""
    group = parser.add_argument_group("connection (UOM_* environment variables or --config)")
    group.add_argument("--config", type=Path, metavar="PATH", help="TOML file with a [uom] table")
    group.add_argument("--endpoint", metavar="URL", help="overrides UOM_ENDPOINT")
    group.add_argument("--master-id", metavar="SA…", help="overrides UOM_MASTER_ID")
    group.add_argument("--ca-file", type=Path, metavar="PATH", help="CA bundle to verify the server with")
    group.add_argument("--insecure", action="store_true", help="do not verify TLS certificates (warns)")
    group.add_argument(
        "--timeout", type=float, default=30.0, metavar="S", help="per-request timeout (default 30)"
    )
    group.add_argument("--sign-method", choices=("HmacSHA256", "HmacSHA1"), default="HmacSHA256")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def settings_from(args: argparse.Namespace, **overrides: Any) -> RunSettings:
    """RunSettings from the parsed arguments."""
    if args.resume and args.new_run:
        raise ConfigError("--resume and --new-run contradict each other")
    policy = RetryPolicy(max_conflicts=args.max_conflicts, max_transient=args.max_retries)
    values: dict[str, Any] = {
        "rate_per_s": args.rate or None,
        "concurrency": args.concurrency,
        "policy": policy,
        "group_size": args.group_size,
        "ledger_path": args.ledger,
        "journal_path": args.journal,
        "csv_encoding": args.ledger_encoding,
        "new_run": args.new_run,
        "resume_only": args.resume,
        "handle_signals": True,
    }
    return RunSettings(**{**values, **overrides})


def credentials_from(args: argparse.Namespace) -> Credentials:
    """Credentials from flags, environment and config file."""
    flags = {
        "endpoint": args.endpoint,
        "master_id": args.master_id,
        "ca_file": args.ca_file,
        "verify_tls": not args.insecure,
        "timeout_s": args.timeout,
        "sign_method": args.sign_method,
    }
    return load_credentials(flags, config_path=args.config)


async def execute(args: argparse.Namespace, credentials: Credentials, settings: RunSettings) -> RunReport:
    """Prepare the job and run it with a client for `credentials`."""
    job, kind_name = prepare_job(args.job, action=args.action, encoding=args.encoding)
    kind = engine_kind(kind_name)
    async with UomClient(credentials, max_connections=settings.concurrency) as client:
        return await run_job(job, kind, client, credentials.audit(), settings, SystemClock())


def _main(args: argparse.Namespace) -> int:
    configure_logging(json_lines=args.log_json, level=args.log_level)
    credentials = credentials_from(args)
    settings = settings_from(args)
    report = anyio.run(execute, args, credentials, settings)
    print_summary(report, sys.stdout)
    return report.exit_code
