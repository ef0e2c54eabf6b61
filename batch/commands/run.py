"""`uom-batch run JOBFILE`: validate the job, apply it to UOM, write the ledger; resume if interrupted."""

from __future__ import annotations

import argparse
import gc
import sys
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from batch.commands.arguments import (
    add_engine_arguments,
    add_job_arguments,
    add_plan_arguments,
    add_shard_arguments,
    loop_options,
)
from batch.engine.backoff import RetryPolicy
from batch.errors import ConfigError
from batch.runs.settings import RunSettings

if TYPE_CHECKING:
    from batch.clock import Clock
    from batch.kind import JobKind
    from batch.runs.run_job import PreparedJob, RunReport
    from batch.uom.credentials import Credentials


def register(subparsers: Any) -> None:
    """Add the `run` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "run",
        help="apply a job file to UOM (resumes an interrupted run of the same file)",
        description="Validate JOBFILE, apply its valid rows to UOM within the rate and concurrency "
        "limits, and write one outcome per row to the ledger. Re-running an interrupted job resumes it. "
        "With --plan PLANFILE instead, send exactly the requests of a reviewed plan (uom-batch plan): "
        "one call per row; a ticket changed since the plan ends `stale`, untouched.",
    )
    add_job_arguments(parser, optional=True)
    add_plan_arguments(parser)
    add_shard_arguments(parser)
    add_engine_arguments(parser)
    parser.set_defaults(func=_main)


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
    from batch.commands.settings import load_credentials

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
    from batch.clock import SystemClock
    from batch.commands.prepare import prepare_job
    from batch.commands.scheduling import job_lock
    from batch.output.logs import log_event_loop
    from batch.runs.run_job import run_job
    from batch.uom.client import UomClient

    log_event_loop()
    async with job_lock(args, args.plan or args.job):
        if args.plan is not None:
            job, kind = _checked_plan(args, credentials, SystemClock())
        else:
            job, kind = prepare_job(args.job, action=args.action, encoding=args.encoding)
        collect_less()
        async with (
            _budget(args, credentials) as budget,
            UomClient(credentials, max_connections=settings.concurrency) as client,
        ):
            return await run_job(job, kind, client, credentials.audit(), settings, SystemClock(), budget)


def _budget(args: argparse.Namespace, credentials: Credentials) -> AbstractAsyncContextManager[Any]:
    """--rate-budget: the access key's shared budget in Redis, holding this shard's lease; else none."""
    if args.rate_budget is None:
        return nullcontext(None)
    from batch.clock import SystemClock
    from batch.engine.shared_budget import lease_ttl_for, open_shared_budget

    shard = f"shard-{args.shard[0]}-of-{args.shard[1]}" if args.shard else args.job.name
    # The lease outlives any outage the shard waits through, so waiting is not in vain; the price:
    # a shard killed without releasing it keeps its replacement out (exit 75) for that TTL.
    outage_s = args.budget_outage_s
    return open_shared_budget(
        args.rate_budget, credentials.access_key, shard, SystemClock(),
        outage_s=outage_s, lease_ttl_s=lease_ttl_for(outage_s),
    )


def collect_less() -> None:
    """Tune the cyclic garbage collector for the rows ahead (about 5 % of a row's cost otherwise).

    What is alive now (modules, the loaded job) lives until the end: frozen, no collection scans
    it again. Each row allocates many containers that die young, and the default threshold (700)
    collected every few rows, each time walking the state of every row in flight.
    """
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def _checked_plan(
    args: argparse.Namespace, credentials: Credentials, clock: Clock
) -> tuple[PreparedJob[Any], JobKind[Any, Any]]:
    """The plan named by --plan, refused when altered, too old, or made for another account."""
    from datetime import timedelta

    from batch.commands.prepare import prepare_plan
    from batch.output.plan_file import check_applicable, read_plan

    plan = read_plan(args.plan)
    check_applicable(
        plan,
        endpoint=credentials.endpoint,
        master_id=credentials.master_id,
        max_age=timedelta(seconds=args.max_plan_age),
        now=clock.now(),
    )
    return prepare_plan(plan)


def _as_shard(args: argparse.Namespace) -> None:
    """--state-dir S --shard i/N: the shard's file, kind and ledger, checked against the manifest."""
    from batch.commands.split import read_manifest, shard_file, shard_ledger
    from batch.jobfile.tally import sha256_of

    if args.state_dir is None or args.shard is None:
        raise ConfigError("--state-dir and --shard go together (uom-batch run --state-dir S --shard i/N)")
    if args.job is not None or args.plan is not None:
        raise ConfigError("a shard run takes no JOBFILE or --plan: the state directory names its shard")
    manifest = read_manifest(args.state_dir)
    index, total = args.shard
    if total != manifest["shards"]:
        raise ConfigError(
            f"--shard {index}/{total}: {args.state_dir} was split into {manifest['shards']} shards"
        )
    path = shard_file(args.state_dir, index)
    if not path.is_file() or sha256_of(path) != manifest["shard_files"][index]["sha256"]:
        raise ConfigError(f"{path}: missing or changed since the split; split the job again")
    args.job, args.action = path, manifest["kind"]
    args.ledger = args.ledger or shard_ledger(args.state_dir, index)


def _check_job_or_plan(args: argparse.Namespace) -> None:
    if (args.job is None) == (args.plan is None):
        raise ConfigError("give a JOBFILE, or --plan PLANFILE to apply a reviewed plan (not both)")
    if args.plan is not None and (args.action or args.encoding):
        raise ConfigError("--action and --encoding are for a JOBFILE; a plan knows its kind")


def _run_definition(args: argparse.Namespace) -> int:
    """`uom-batch run NIGHTLY.toml`: the command line the definition stands for, run as such."""
    from datetime import UTC, datetime

    from batch.cli import main
    from batch.commands.definition import load_definition

    argv = load_definition(args.job).argv(datetime.now(UTC))
    if args.log_json:
        argv.append("--log-json")
    if args.log_level:
        argv += ["--log-level", args.log_level]
    return main(argv)


def _main(args: argparse.Namespace) -> int:
    # Imported here, not at the top: `uom-batch --help` should not pay for aiohttp and polars.
    import anyio

    from batch.commands.definition import is_definition
    from batch.commands.scheduling import write_run_metrics
    from batch.output.logs import configure_logging
    from batch.runs.summary import print_summary

    if is_definition(args.job) and args.plan is None:
        return _run_definition(args)
    if args.state_dir is not None or args.shard is not None:
        _as_shard(args)
    _check_job_or_plan(args)
    configure_logging(json_lines=args.log_json, level=args.log_level)
    credentials = credentials_from(args)
    planned = args.plan is not None
    settings = settings_from(args, once=planned, mode="apply-plan" if planned else "run")
    options = loop_options(no_uvloop=args.no_uvloop)
    report = anyio.run(execute, args, credentials, settings, backend_options=options)
    print_summary(report, sys.stdout)
    write_run_metrics(
        args,
        args.plan or args.job,
        settings.mode,
        exit_code=report.exit_code,
        duration_s=report.duration_s,
        requests=report.requests,
        counts={o.value: n for o, n in report.counts.items()},
        retries=report.retries,
    )
    return report.exit_code
