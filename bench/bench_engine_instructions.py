"""Benchmark (not a test): instructions per row of uom-batch and of the bare script, under callgrind.

    .venv/bin/python bench/bench_engine_instructions.py [--rows 2000]

`bench_engine.py` times whole processes; on a shared machine its wall and CPU figures move with
the load by more than a small change saves. Instructions executed do not: each client runs under
valgrind's callgrind against the stub of `bench_engine.py` (in its own process, not under
valgrind), once for a 1-row job and once for a `1 + rows` job, and prints
`(instructions(1 + rows) - instructions(1)) / rows` per row, the start-up's instructions, and
uom-batch's figures as a ratio to the bare script's. The same calls as `bench_engine.py`:
`uom-batch run --concurrency 32 --rate 0` and the bare script on uvloop at concurrency 32.

Instructions are not time: uom-batch also runs at fewer instructions per cycle than the bare
script (a larger working set between two awaits), so its CPU ratio is lower than this one.
Needs valgrind on PATH. Measured figures: bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import bench_engine as be


def instructions(command: Sequence[str], env: Mapping[str, str]) -> int:
    """Instructions `command` executes under callgrind (its whole process)."""
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
        cwd=be.ROOT, env=dict(env), capture_output=True, text=True, check=False,
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"{' '.join(command)} failed under valgrind:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def client_command(which: str, job: Path, work: Path) -> list[str]:
    """uom-batch's `run`, or the bare script, on `job`."""
    if which == "uom-batch":
        files = ["--journal", str(work / "journal.sqlite"), "--ledger", str(work / "ledger.csv")]
        return [sys.executable, "-m", "batch", "run", "--concurrency", "32", "--rate", "0", *files, str(job)]
    return [sys.executable, "-c", be.BARE_MAIN, "--bare", "uvloop", "--concurrency", "32", str(job)]


def main(argv: Sequence[str]) -> None:
    """Both clients' instructions per row and at start-up, and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000, help="rows beyond the first (default 2000)")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not on PATH (apt-get install valgrind)")
    be.compile_sources()
    cpus = sorted(os.sched_getaffinity(0))
    figures: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp, be.stub_process(cpus[-1]) as (url, _):
        env = be.demo_env(url)
        jobs = {}
        for n in (1, 1 + args.rows):
            rows = [(f"UTM{be.FIRST_ROW_ID + j}", be.NEW_PRIORITY) for j in range(n)]
            jobs[n] = be.write_update_job(Path(tmp) / f"job{n}.csv", rows)
        for which in ("bare", "uom-batch"):
            counts = []
            for job in jobs.values():
                work = Path(tempfile.mkdtemp(dir=tmp))
                counts.append(instructions(client_command(which, job, work), env))
            figures[which] = ((counts[1] - counts[0]) / args.rows, counts[0])
            print(f"  {which:<10} {figures[which][0] / 1e3:7.0f} K instructions per row, "
                  f"{figures[which][1] / 1e6:6.0f} M at start-up (a 1-row job)")
    per_row = figures["bare"][0] / figures["uom-batch"][0]
    print(f"  bare / uom-batch, instructions per row: {per_row:.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
