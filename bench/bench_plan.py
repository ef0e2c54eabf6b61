"""Benchmark (not a test): `run --plan` against `run` of the same job, both at a rate ceiling.

    .venv/bin/python bench/bench_plan.py [--rows 300] [--rate 100] [--repeat 3]

A reviewed plan is applied with one call per row (UpdateTicket with the timestamps read at plan
time) instead of two (GetTicketDetail + UpdateTicket), so at the rate ceiling it should take about
half the time of `run` (issue #11: at most 0.55x). Each round starts two fresh in-process
emulators with the same generated tickets; on one, `run_job` applies the job; on the other the
job is planned (not timed) and the plan applied. Both at `--rate` requests/s, concurrency 16.
Prints the median seconds of each, the requests each sent, and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from batch.clock import SystemClock  # noqa: E402
from batch.commands.plan import save_plan  # noqa: E402
from batch.commands.prepare import prepare_job, prepare_plan  # noqa: E402
from batch.engine.backoff import RetryPolicy  # noqa: E402
from batch.output.logs import configure_logging  # noqa: E402
from batch.output.plan_file import check_applicable, read_plan  # noqa: E402
from batch.runs.plan_job import plan_job  # noqa: E402
from batch.runs.run_job import run_job  # noqa: E402
from batch.runs.settings import RunSettings  # noqa: E402
from batch.uom.client import UomClient  # noqa: E402
from batch.uom.credentials import credentials_for  # noqa: E402
from batch.uom.emulator import DEMO_CREDENTIALS, Emulator, generate_tickets  # noqa: E402
from jobs.planning import PlanningKind  # noqa: E402

PRIORITIES = ("高", "中", "低")


def write_job(path: Path, tickets: list[dict[str, object]], rows: int) -> Path:
    """A job that changes Priority on `rows` distinct tickets (every row is sent)."""
    lines = ["TicketId,Priority"]
    for ticket in tickets[:rows]:
        now = str(ticket.get("Priority", ""))
        lines.append(f"{ticket['TicketId']},{next(p for p in PRIORITIES if p != now)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def timed_run(job: Path, rate: float, out: Path) -> tuple[float, int]:
    """`run` of the job on a fresh emulator: (seconds, requests)."""
    emulator = Emulator(tickets=generate_tickets(job_tickets(job)))
    async with emulator.running() as url:
        creds = credentials_for(url, DEMO_CREDENTIALS)
        prepared, kind = prepare_job(job, action=None, encoding=None)
        settings = _settings(rate, out / "run.ledger.parquet", out / "run.journal.sqlite")
        async with UomClient(creds, max_connections=16) as client:
            started = time.perf_counter()
            report = await run_job(prepared, kind, client, creds.audit(), settings, SystemClock())
            return time.perf_counter() - started, report.requests


async def timed_apply(job: Path, rate: float, out: Path) -> tuple[float, int]:
    """Plan (untimed), then `run --plan` on a fresh emulator: (seconds of the apply, its requests)."""
    emulator = Emulator(tickets=generate_tickets(job_tickets(job)))
    async with emulator.running() as url:
        creds = credentials_for(url, DEMO_CREDENTIALS)
        prepared, kind = prepare_job(job, action=None, encoding=None)
        settings = _settings(rate, out / "apply.ledger.parquet", out / "apply.journal.sqlite")
        async with UomClient(creds, max_connections=16) as client:
            result = await plan_job(prepared, PlanningKind(kind), client, settings, SystemClock())
            path = out / "job.plan.parquet"
            save_plan(prepared, result, creds, path, settings.group_size)
            plan = read_plan(path)
            check_applicable(
                plan,
                endpoint=url,
                master_id=creds.master_id,
                max_age=timedelta(hours=1),
                now=datetime.now(UTC),
            )
            planned, planned_kind = prepare_plan(plan)
            started = time.perf_counter()
            report = await run_job(planned, planned_kind, client, creds.audit(), settings, SystemClock())
            return time.perf_counter() - started, report.requests


def job_tickets(job: Path) -> int:
    """Enough generated tickets for the job's rows."""
    return 3 * sum(1 for _ in job.open(encoding="utf-8"))


def _settings(rate: float, ledger: Path, journal: Path) -> RunSettings:
    return RunSettings(
        rate_per_s=rate,
        concurrency=16,
        policy=RetryPolicy.zero(),
        ledger_path=ledger,
        journal_path=journal,
        progress_terminal=False,
        new_run=True,
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    configure_logging(json_lines=False, level="error")
    runs, applies = [], []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        job = write_job(base / "job.csv", generate_tickets(3 * (args.rows + 1)), args.rows)
        for n in range(args.repeat):
            for name, measure, into in (("run", timed_run, runs), ("apply", timed_apply, applies)):
                out = base / f"{name}{n}"
                out.mkdir()
                into.append(await measure(job, args.rate, out))
    run_s, apply_s = statistics.median(t for t, _ in runs), statistics.median(t for t, _ in applies)
    print(f"{args.rows} rows at {args.rate:.0f} requests/s, concurrency 16, median of {args.repeat}")
    print(f"  run          {run_s:6.2f} s  {runs[0][1]} requests")
    print(f"  run --plan   {apply_s:6.2f} s  {applies[0][1]} requests")
    print(f"  run --plan / run = {apply_s / run_s:.3f}  (target <= 0.55)")


if __name__ == "__main__":
    anyio.run(main)
