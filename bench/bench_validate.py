"""Benchmark (not a test): load and validate a 1,000,000-row update-ticket job, vs a plain-Python loop.

    .venv/bin/python bench/bench_validate.py [--rows N] [--keep DIR]

Generates an update-ticket job (CSV and Parquet; about 1 % of rows broken in various ways) in a
temporary directory, then measures, each in a fresh subprocess so that peak memory (Linux VmHWM or
ru_maxrss, which see polars' Rust allocations, unlike tracemalloc) belongs to one step:

* load CSV, load Parquet (batch.load.load_job);
* validate: load the CSV, then time `validate(frame, rules)` alone (vectorised);
* the baseline: the same rules' scalar checks (`Rule.check`) in a plain Python loop over the
  rows read by the csv module, as one would write it without polars.

Prints each figure and the speed-up of vectorised validation over the row loop.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from batch.jobfile.load import load_job  # noqa: E402
from batch.validation.check import validate  # noqa: E402
from jobs import update_ticket  # noqa: E402


def _either(broken: pl.Expr, bad: str, good: str) -> pl.Expr:
    return pl.when(broken).then(pl.lit(bad)).otherwise(pl.lit(good))


def generate(rows: int, out: Path) -> tuple[Path, Path]:
    """A job of `rows` rows as CSV and Parquet; every 100th row breaks one rule or another."""
    i = pl.col("i")
    broken = i % 100 == 99
    kind = (i % 500) // 100  # which rule a broken row breaks
    frame = pl.DataFrame({"i": pl.int_range(0, rows, eager=True)}).select(
        TicketId=pl.lit("UTM") + (1_000_000 + i).cast(pl.String),
        TicketProcessType=_either(i % 3 == 0, "1", ""),
        StateCode=_either(broken & (kind == 0), "完了", "クローズ"),
        FinishApprovalUserId=_either(broken & (kind == 1), "tanaka", "SA1234567"),
        Priority=_either(broken & (kind == 2), "他", "高"),
        CorrespondLimitDate=_either(broken & (kind == 3), "20230229000000", "20240229235959"),
        Title=_either(broken & (kind == 4), "件" * 257, "障害「NTP」, 再起動済み"),
        CorrespondProcess=pl.lit("復旧を確認しました。\n一括クローズします。"),
        ClearFields=_either(i % 7 == 0, "SubStateCode", ""),
        **{"expect.StateCode": pl.lit("復旧済み")},
    )
    csv_path, parquet_path = out / "job.csv", out / "job.parquet"
    frame.write_csv(csv_path)
    frame.write_parquet(parquet_path)
    return csv_path, parquet_path


def peak_mb() -> float:
    """This process's peak resident memory in MB.

    Linux's VmHWM belongs to this program alone; ru_maxrss can carry the parent's peak over a
    fork and exec, so it is only the fallback.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(step: str, path: Path) -> dict[str, float]:
    """One step, in this (fresh) process: its time and the process's peak memory."""
    start = time.perf_counter()
    if step == "load":
        job = load_job(path)
        rows = job.rows
    elif step == "validate":
        job = load_job(path)
        rules = update_ticket.rules(job.columns)
        start = time.perf_counter()
        result = validate(job.frame, rules)
        rows = result.rows
    else:
        rows = row_loop(path)
    return {"seconds": time.perf_counter() - start, "peak_mb": peak_mb(), "rows": rows}


def row_loop(path: Path) -> int:
    """The baseline: the same rules, checked row by row in Python over csv.DictReader."""
    rules = None
    problems: list[tuple[int, str, str]] = []
    count = 0
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        rules = update_ticket.rules(reader.fieldnames or [])
        for number, record in enumerate(reader, start=2):
            count += 1
            problems.extend((number, r.column, r.name) for r in rules if not r.check(record))
    return count


def in_subprocess(step: str, path: Path) -> dict[str, float]:
    """Run `measure(step, path)` in a fresh interpreter; its figures."""
    out = subprocess.run(
        [sys.executable, __file__, "--measure", step, str(path)], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout)


def report(rows: int, csv_path: Path, parquet_path: Path) -> None:
    """Measure every step and print the figures."""
    size_mb = csv_path.stat().st_size / 1e6
    print(f"rows: {rows:,}  CSV {size_mb:.0f} MB  Parquet {parquet_path.stat().st_size / 1e6:.2f} MB")
    idle = in_subprocess("idle", csv_path.with_suffix(".none"))["peak_mb"]
    print(f"interpreter + polars, idle: peak {idle:.0f} MB")
    figures = {
        "load CSV": in_subprocess("load", csv_path),
        "load Parquet": in_subprocess("load", parquet_path),
        "validate (vectorised)": in_subprocess("validate", csv_path),
        "row loop (csv + Rule.check)": in_subprocess("loop", csv_path),
    }
    for name, f in figures.items():
        print(f"{name:<28} {f['seconds']:7.2f} s   peak {f['peak_mb']:6.0f} MB   rows {int(f['rows']):,}")
    ratio = figures["row loop (csv + Rule.check)"]["seconds"] / figures["validate (vectorised)"]["seconds"]
    total = figures["load CSV"]["seconds"] + figures["validate (vectorised)"]["seconds"]
    print(f"speed-up of vectorised validation over the row loop: {ratio:.0f}x")
    loop = figures["row loop (csv + Rule.check)"]["seconds"]
    print(f"load + validate: {total:.2f} s; the row loop (it reads the file too) is {loop / total:.0f}x that")


def main() -> None:
    """Generate, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="write the generated job here and keep it")
    parser.add_argument("--measure", nargs=2, metavar=("STEP", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        step, path = args.measure
        if step == "idle":
            print(json.dumps({"seconds": 0.0, "peak_mb": peak_mb(), "rows": 0}))
        else:
            print(json.dumps(measure(step, Path(path))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        csv_path, parquet_path = generate(args.rows, out)
        print(f"generated in {time.perf_counter() - started:.1f} s")
        report(args.rows, csv_path, parquet_path)


if __name__ == "__main__":
    main()
