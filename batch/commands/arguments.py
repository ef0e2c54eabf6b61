"""Flags several commands share: the job file, limits and retries, records, the connection.

Declared here without importing what runs the commands, so that `--help` and `--version` start
at once; the defaults come from RunSettings and RetryPolicy, which are light.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from batch.runs.settings import RunSettings


def add_job_arguments(parser: argparse.ArgumentParser, *, optional: bool = False) -> None:
    """JOBFILE, --action and --encoding (JOBFILE `optional` where a plan may stand for it)."""
    parser.add_argument(
        "job",
        type=Path,
        metavar="JOBFILE",
        nargs="?" if optional else None,
        help="CSV or Parquet job file" + (", or a TOML job definition" if optional else ""),
    )
    parser.add_argument(
        "--action",
        metavar="KIND",
        help="update-ticket or release-relation (default: the Action column, else inferred)",
    )
    parser.add_argument(
        "--encoding", metavar="ENC", help="CSV encoding (default: detect UTF-8, UTF-8 with BOM, CP932)"
    )


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    """Everything a command that drives the engine takes: limits, records, connection, event loop."""
    add_run_arguments(parser)
    add_connection_arguments(parser)
    add_loop_argument(parser)


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Limits and retries; ledger, journal and logging; the lock and metrics of scheduled runs."""
    _add_limit_arguments(parser.add_argument_group("limits and retries"))
    _add_record_arguments(parser.add_argument_group("ledger, journal and logging"))
    _add_scheduling_arguments(parser.add_argument_group("scheduled runs: the job lock, metrics"))


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


def _add_scheduling_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--wait-lock",
        type=float,
        metavar="SECONDS",
        help="when another run of this job holds its lock, wait this long for it (default: exit 75 at once)",
    )
    group.add_argument(
        "--metrics-file",
        type=Path,
        metavar="PATH",
        help="write a Prometheus textfile-collector file at the end (rows by outcome, requests, ...)",
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


NO_UVLOOP_ENV = "UOM_BATCH_NO_UVLOOP"


def add_loop_argument(parser: argparse.ArgumentParser) -> None:
    """--no-uvloop: run on asyncio's own event loop."""
    parser.add_argument(
        "--no-uvloop",
        action="store_true",
        help=f"use asyncio's own event loop instead of uvloop (also {NO_UVLOOP_ENV}=1)",
    )


def loop_options(*, no_uvloop: bool = False, environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """anyio's backend options: uvloop where it is installed, unless the flag or the variable says no."""
    turned_off = no_uvloop or environ.get(NO_UVLOOP_ENV, "") not in ("", "0")
    # find_spec does not import uvloop: `--help` stays light, and a platform without it runs on asyncio.
    return {"use_uvloop": not turned_off and importlib.util.find_spec("uvloop") is not None}


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


def add_plan_arguments(parser: argparse.ArgumentParser) -> None:
    """--plan PLANFILE and --max-plan-age (run: apply exactly a reviewed plan)."""
    group = parser.add_argument_group("applying a plan (uom-batch plan)")
    group.add_argument(
        "--plan",
        type=Path,
        metavar="PLANFILE",
        help="send exactly the planned requests, one call per row, instead of a JOBFILE",
    )
    group.add_argument(
        "--max-plan-age",
        type=duration_s,
        default=24 * 3600.0,
        metavar="AGE",
        help="refuse a plan older than this: 24h (default), 90m, 2d, or seconds",
    )


_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def duration_s(text: str) -> float:
    """`90m`, `24h`, `2d`, `30s` or plain seconds, as seconds (argparse type)."""
    body, unit = (text[:-1], text[-1].lower()) if text[-1:].lower() in _UNITS else (text, "s")
    try:
        value = float(body) * _UNITS[unit]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 24h, 90m, 2d or 3600") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: a duration must be positive")
    return value


def add_shard_arguments(parser: argparse.ArgumentParser) -> None:
    """--state-dir S --shard i/N: run one shard of a split job (uom-batch split)."""
    group = parser.add_argument_group("one shard of a split job (uom-batch split)")
    group.add_argument("--state-dir", type=Path, metavar="S", help="the split's state directory")
    group.add_argument("--shard", type=shard_arg, metavar="i/N", help="which shard: index i (from 0) of N")
    group.add_argument(
        "--rate-budget",
        metavar="redis://HOST:PORT/DB",
        help="also take every request from the access key's budget in Redis (uom-batch budget set)",
    )
    group.add_argument(
        "--budget-outage-s",
        type=float,
        default=60.0,
        metavar="S",
        help="with --rate-budget: how long to wait for an unreachable Redis before exit 75 (default 60)",
    )


def shard_arg(text: str) -> tuple[int, int]:
    """`i/N` → (i, N), 0 <= i < N (argparse type)."""
    index, _, total = text.partition("/")
    if not (index.isdigit() and total.isdigit()) or not 0 <= int(index) < int(total):
        raise argparse.ArgumentTypeError(f"{text!r}: give the shard as i/N with 0 <= i < N, e.g. 0/4")
    return int(index), int(total)
