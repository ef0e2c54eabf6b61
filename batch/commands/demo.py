"""`uom-batch demo`: real sample jobs against the embedded emulator, with trouble switched on.

Starts the emulator in-process on 127.0.0.1 with a few thousand generated tickets, another
operator who edits tickets (real conflicts), injected SYSTEM_ERRORs, 500s and lost replies, then
runs two jobs through the real engine: a mass close plus priority changes (with deliberately
invalid rows and stale preconditions), and a bulk unlink. Prints each summary and its ledger.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from batch.commands.arguments import loop_options
from batch.engine.backoff import RetryPolicy
from batch.exit_codes import ExitCode
from batch.runs.settings import RunSettings

if TYPE_CHECKING:
    from batch.runs.run_job import RunReport
    from batch.uom.credentials import Credentials

# The trouble the demo switches on (batch.uom.emulator.Faults), as plain values: the emulator is
# imported only when the demo runs.
TROUBLE: dict[str, Any] = {
    "latency_s": 0.002,
    "jitter_s": 0.004,
    "other_operator_rate": 0.03,
    "system_error_rate": 0.01,
    "http500_rate": 0.005,
    "drop_after_rate": 0.003,
    "seed": 7,
}


def register(subparsers: Any) -> None:
    """Add the `demo` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "demo",
        help="run sample jobs against the embedded UOM emulator",
        description="Start the UOM emulator in-process, write two sample job files matching its "
        "tickets, and run them with the real engine (conflicts and faults included).",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path("uom-batch-demo"),
        metavar="PATH",
        help="where the job files, journals and ledgers go (default ./uom-batch-demo)",
    )
    parser.add_argument(
        "--tickets",
        type=int,
        default=5000,
        metavar="N",
        help="tickets in the emulator (default 5000: about 3,000 update rows)",
    )
    parser.add_argument("--rate", type=float, default=1000.0, metavar="RPS", help="requests/s ceiling")
    parser.add_argument("--concurrency", type=int, default=16, metavar="N", help="requests in flight")
    parser.add_argument("--calm", action="store_true", help="no injected faults or other operator")
    parser.add_argument("--log-json", action="store_true", help="log JSON lines to stderr")
    parser.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    import anyio

    from batch.output.logs import configure_logging

    configure_logging(json_lines=args.log_json, level=None if args.log_json else "warning")
    reports = anyio.run(_demo, args, backend_options=loop_options())  # UOM_BATCH_NO_UVLOOP=1: asyncio
    print("\nThe invalid rows and precondition_failed rows are deliberate: see the ledgers above.")
    return ExitCode.INTERRUPTED if any(r.stop.interrupted for r in reports) else ExitCode.OK


async def _demo(args: argparse.Namespace) -> list[RunReport]:
    from batch.commands.demo_jobs import write_demo_jobs
    from batch.output.logs import log_event_loop
    from batch.runs.summary import print_summary
    from batch.uom.emulator import Emulator, Faults, generate_tickets

    log_event_loop()
    faults = Faults() if args.calm else Faults(**TROUBLE)
    emulator = Emulator(tickets=generate_tickets(args.tickets), faults=faults)
    update_job, release_job = write_demo_jobs(args.dir, args.tickets)
    reports = []
    async with emulator.running() as url:
        print(f"UOM emulator on {url} with {args.tickets} tickets")
        for path in (update_job, release_job):
            report = await _run(path, _credentials(url), _settings(args))
            print(f"\n== {path}")
            print_summary(report, sys.stdout)
            reports.append(report)
            if report.stop.interrupted:
                break
    return reports


async def _run(path: Path, credentials: Credentials, settings: RunSettings) -> RunReport:
    from batch.clock import SystemClock
    from batch.commands.prepare import prepare_job
    from batch.runs.run_job import run_job
    from batch.uom.client import UomClient

    job, kind = prepare_job(path, action=None, encoding=None)
    async with UomClient(credentials, max_connections=settings.concurrency) as client:
        return await run_job(job, kind, client, credentials.audit(), settings, SystemClock())


def _credentials(url: str) -> Credentials:
    """The emulator's demo keys (the manual's public sample keys)."""
    from batch.uom.credentials import credentials_for
    from batch.uom.emulator import DEMO_CREDENTIALS

    return credentials_for(url, DEMO_CREDENTIALS)


def _settings(args: argparse.Namespace) -> RunSettings:
    return RunSettings(
        rate_per_s=args.rate,
        concurrency=args.concurrency,
        policy=RetryPolicy(base_s=0.05, max_s=1.0),
        new_run=True,  # a fresh emulator each time: the demo always starts over
        handle_signals=True,
        seed=7,
    )
