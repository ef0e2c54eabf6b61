"""Start-up of the CLI, whole process: `uom-batch --version` / `--help` against a bare interpreter.

Each round runs every command once, interleaved (so drift of the machine hits all alike); the
figures are medians over the rounds. The baseline is `python -c pass` with the same interpreter,
measured in the same run. Target (issue #10): --version and --help at most 0.3 s.

    .venv/bin/python bench/bench_startup.py [--rounds 21]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "batch"]
COMMANDS = {
    "python -c pass (baseline)": [sys.executable, "-c", "pass"],
    "uom-batch --version": [*CLI, "--version"],
    "uom-batch --help": [*CLI, "--help"],
    "uom-batch run --help": [*CLI, "run", "--help"],
}


def once(argv: list[str]) -> float:
    """Seconds for one whole process, start to exit."""
    started = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    rounds = parser.parse_args().rounds
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(rounds):
        for name, argv in COMMANDS.items():
            times[name].append(once(argv))
    base = statistics.median(next(iter(times.values())))
    print(f"{rounds} rounds, medians, whole process")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:28} {median * 1000:7.1f} ms  {median / base:5.2f}x the bare interpreter")


if __name__ == "__main__":
    main()
