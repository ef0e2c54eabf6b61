"""Benchmark (not a test): what each layer of `uom-batch run` adds to a row, measured in whole runs.

    .venv/bin/python bench/bench_engine_ladder.py [--rows 20000] [--rounds 4]

`bench_engine_own.py` prices our code without the network, where it runs warm and alone; inside a
real run, between aiohttp's awaits and with 32 rows in flight, the same code costs several times
more. This bench prices it there: against `bench_engine.py`'s stub, it runs `uom-batch run` with
the engine's loop replaced by each step of a ladder in turn (the same 32 workers pulling units),
each step adding one layer to the one before, and the bare script as the floor:

0. the bare script, in its own process;
1. the bare script's loop inside a `uom-batch run` process (start-up, loading the job, the end);
2. the rows through our client (metered calls, signing, strict reply checks, `TicketDetail`),
   the UpdateTicket body built as the bare script builds it;
3. the kind's attempt (`apply`: merge, post-fetch check, the intent and the result), its intent
   not written;
4. the intent written before each send;
5. the whole engine (attempts, pool, outcomes, recorder, progress) with the journal's records
   replaced by a no-op;
6. the whole `uom-batch run`.

Prints the median CPU per row (user + system of the process, from `wait4`) of each step over
interleaved rounds, and what it adds. Steps 1-4 record no outcomes (their rows end `skipped`): a
measuring device, not a mode. Measured figures: bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import bench_engine as be

STEPS = {
    "1": "bare loop in a uom-batch process",
    "2": "+ our client",
    "3": "+ the kind's attempt",
    "4": "+ the intent written",
    "5": "+ the engine, no journal records",
    "6": "+ the journal: uom-batch run",
}

# Run as `python -c STEP_MAIN STEP run ...`: uom-batch's CLI with the engine's loop replaced.
STEP_MAIN = """
import asyncio, os, sys
sys.path.insert(0, os.path.join(os.getcwd(), "bench"))
import bench_engine as be
import batch.engine.pool as pool
from batch.kind import AttemptContext

STEP = sys.argv[1]


async def no_note(intent):
    return None


async def ladder_run(self, units, in_flight):
    if STEP == "1":
        rows = [(u.rows[0].ticket_id, u.rows[0].changes["Priority"]) for u in units]
        await be.bare_run(os.environ, rows, 32)
        return self.stop
    api, kind, todo = self._deps.api, self._deps.kind, iter(units)
    account = {"ServiceCode": os.environ["UOM_SERVICE_CODE"], "MasterID": os.environ["UOM_MASTER_ID"]}

    async def worker():
        for unit in todo:
            row = unit.rows[0]
            if STEP == "2":
                ticket = await api.get_ticket_detail(row.ticket_id)
                body = be.update_body(ticket.fields, row.changes["Priority"], {})
                await api.update_ticket(body)
            elif STEP == "3":
                await kind.apply(unit, api, AttemptContext(1, None, no_note))
            else:
                async def note(intent, unit=unit):
                    self._deps.note_intent(unit, 1, intent)

                await kind.apply(unit, api, AttemptContext(1, None, note))

    await asyncio.gather(*(worker() for _ in range(32)))
    return self.stop


if STEP == "5":
    from batch.journal import run_state

    run_state.RunState.record = lambda self, outcomes: None
elif STEP != "6":
    pool.Engine.run = ladder_run
from batch.cli import main

sys.exit(main(sys.argv[2:]))
"""


def step_command(step: str, job: Path, work: Path) -> list[str]:
    """The command line of one ladder step on `job`."""
    if step == "0":
        return [sys.executable, "-c", be.BARE_MAIN, "--bare", "uvloop", "--concurrency", "32", str(job)]
    files = ["--journal", str(work / "journal.sqlite"), "--ledger", str(work / "ledger.csv")]
    run = ["run", "--concurrency", "32", "--rate", "0", *files, str(job)]
    return [sys.executable, "-c", STEP_MAIN, step, *run]


def main(argv: Sequence[str]) -> None:
    """Every step's CPU per row, over interleaved rounds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="rows (default 20000)")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds (default 4)")
    args = parser.parse_args(argv)
    be.compile_sources()
    client_cpu, stub_cpu = be._cpu_pair(True)
    steps = ["0", *STEPS]
    cpu: dict[str, list[float]] = {s: [] for s in steps}
    rows = [(f"UTM{be.FIRST_ROW_ID + j}", be.NEW_PRIORITY) for j in range(args.rows)]
    with tempfile.TemporaryDirectory() as tmp, be.stub_process(stub_cpu) as (url, stub_pid):
        job = be.write_update_job(Path(tmp) / "job.csv", rows)
        env = {**be.demo_env(url), "PYTHONPATH": str(be.ROOT)}
        for n in range(args.rounds):
            for step in steps[n % len(steps) :] + steps[: n % len(steps)]:  # rotate the order
                work = Path(tempfile.mkdtemp(dir=tmp))
                timed, _ = be.run_timed(
                    step_command(step, job, work), env, client_cpu, stub_pid, work / "stderr.log"
                )
                cpu[step].append(timed.cpu_s / args.rows * 1e6)
            print(f"  round {n + 1}: " + ", ".join(f"{s}: {cpu[s][-1]:.0f}" for s in steps) + " µs/row")
    medians = {s: statistics.median(v) for s, v in cpu.items()}
    print(f"\nCPU per row, median of {args.rounds} rounds ({os.cpu_count()} CPUs)")
    print(f"  0 {'bare script, its own process':<58} {medians['0']:5.0f} µs")
    for step, name in STEPS.items():
        added = medians[step] - medians[str(int(step) - 1)]
        print(f"  {step} {name:<58} {medians[step]:5.0f} µs  {added:+4.0f}")


if __name__ == "__main__":
    main(sys.argv[1:])
