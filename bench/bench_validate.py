"""Benchmark (not a test): `uom-batch validate` as a whole process against a bare polars read.

    .venv/bin/python bench/bench_validate.py [--rows 1000000] [--rounds 5] [--keep DIR] [--phases]

Generates an update-ticket job of 22 columns (Japanese text, a multi-line memo cell in every row,
about 1 % of rows broken in various ways, at known rows) as CSV and Parquet, then times, in
interleaved rounds (the order alternates between rounds), each as a fresh process:

* `uom-batch validate JOB --action update-ticket --rejects OUT`, the whole command;
* the baseline: `python -c "polars.read_csv(JOB, infer_schema=False)"` (`read_parquet` for Parquet).

Peak RSS and CPU time (user + system, every thread) are each child's own (os.wait4's rusage,
which sees polars' Rust allocations). Prints per-format medians, the ratios of the medians (wall,
CPU, peak RSS) and the median of the per-round wall ratios, and checks that the rejects file
names exactly the planted rows. On a machine shared with other work, wall times stretch with
the load while CPU times stay put: compare both. `--phases` adds an in-process breakdown
(imports, load, check, rejects) of one validate of each file; for Parquet, load and check are one
streaming query.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
BARE = {
    "csv": "polars.read_csv(sys.argv[1], infer_schema=False)",
    "parquet": "polars.read_parquet(sys.argv[1])",
}
BROKEN_EVERY = 100  # one row in this many breaks a rule


def _either(broken: pl.Expr, bad: str, good: str) -> pl.Expr:
    return pl.when(broken).then(pl.lit(bad)).otherwise(pl.lit(good))


def _noise(i: pl.Expr, seed: int) -> pl.Expr:
    """A per-row pseudo-random number as text (so that Parquet cannot compress the column away)."""
    return i.hash(seed).cast(pl.String)


def _time(i: pl.Expr, seed: int) -> pl.Expr:
    """A per-row valid YYYYMMDDhhmmss in 2024."""
    n = i.hash(seed)
    parts = [(n % 12 + 1, 2), (n // 12 % 28 + 1, 2), (n // 336 % 24, 2), (n // 8064 % 60, 2)]
    return pl.concat_str(pl.lit("2024"), *(p.cast(pl.String).str.zfill(w) for p, w in parts), pl.lit("00"))


def job_frame(rows: int) -> pl.DataFrame:
    """22 update-ticket columns; every 100th row breaks one of five rules, the rest are valid."""
    i = pl.col("i")
    broken = i % BROKEN_EVERY == BROKEN_EVERY - 1
    kind = (i // BROKEN_EVERY) % 5  # which rule a broken row breaks
    incident = i % 3 != 0  # the others leave the type to the fetched ticket
    number = (1_000_000 + i).cast(pl.String)
    return pl.DataFrame({"i": pl.int_range(0, rows, eager=True)}).select(
        TicketId=pl.lit("UTM") + number,
        TicketProcessType=_either(incident, "1", ""),
        ClearFields=_either(i % 7 == 0, "SubStateCode", ""),
        Title=_either(broken & (kind == 4), "件" * 257, "障害「NTP」, 再起動済み ") + number,
        StateCode=_either(broken & (kind == 0), "完了", "クローズ"),
        SubStateCode=pl.lit(""),
        Priority=_either(broken & (kind == 2), "他", "高"),
        SupportedGroup=pl.lit("サポートセンター"),
        AssignUserId=pl.lit("SA") + (i.hash(1) % 10_000_000).cast(pl.String),
        CorrespondLimitDate=pl.when(broken & (kind == 3))
        .then(pl.lit("20230229000000"))
        .otherwise(_time(i, 2)),
        FinishApprovalUserId=_either(broken & (kind == 1), "tanaka", "SA1234567"),
        Importance=_either(incident, "中", ""),
        Category=pl.lit("ネットワーク/ルータ/") + (i.hash(3) % 50).cast(pl.String),
        Cause=pl.lit("上位回線の瞬断により NTP 同期が外れ、監視が連続して発報したため。") + _noise(i, 4),
        NodeName=pl.lit("rt-tokyo-") + _noise(i, 5) + pl.lit(".example.jp"),
        DetectionMessage=pl.lit("CRITICAL: ntpd offset ") + _noise(i, 6) + pl.lit("ms on ") + _noise(i, 7),
        CorrespondStartDate=_time(i, 8),
        CorrespondProcess=pl.concat_str(
            pl.lit("復旧を確認しました。\n一括クローズします。\n担当: 運用チーム "), _noise(i, 9)
        ),
        CorrespondProcessOperationClass=pl.lit("0"),
        **{
            "expect.StateCode": pl.lit("復旧済み"),
            "expect.Priority": pl.lit("高"),
            "expect.Title": pl.lit("障害「NTP」 ") + _noise(i, 10),
        },
    )


def planted_rows(rows: int) -> list[int]:
    """The spreadsheet rows (header = 1) that `job_frame(rows)` breaks."""
    return list(range(BROKEN_EVERY - 1 + 2, rows + 2, BROKEN_EVERY))


def generate(rows: int, out: Path) -> dict[str, Path]:
    """The job as CSV and Parquet in `out` (kept from an earlier run of the same size)."""
    paths = {"csv": out / "job.csv", "parquet": out / "job.parquet"}
    stamp = out / "rows.txt"
    if stamp.exists() and stamp.read_text() == str(rows) and all(p.exists() for p in paths.values()):
        return paths
    frame = job_frame(rows)
    frame.write_csv(paths["csv"])
    frame.write_parquet(paths["parquet"])
    stamp.write_text(str(rows))
    return paths


@dataclass(frozen=True)
class Figure:
    """One child process: wall time, CPU time (user + system, all threads), peak RSS, exit code."""

    seconds: float
    cpu_seconds: float
    peak_mib: float
    code: int


def run_child(argv: list[str]) -> Figure:
    """Run `argv` with its output discarded; its wall time, CPU time and its own peak RSS."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    assert child.stderr is not None
    err = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode not in (0, 1):
        sys.exit(f"{' '.join(argv)} failed ({child.returncode}):\n{err.decode(errors='replace')}")
    cpu = usage.ru_utime + usage.ru_stime
    return Figure(seconds, cpu, usage.ru_maxrss / 1024, child.returncode)


def uom_batch() -> list[str]:
    """The installed `uom-batch` script beside this interpreter, else `python -m batch`."""
    script = Path(sys.executable).with_name("uom-batch")
    return [str(script)] if script.exists() else [sys.executable, "-m", "batch"]


def commands(fmt: str, job: Path, rejects: Path) -> dict[str, list[str]]:
    """The two processes compared for one file."""
    return {
        "validate": [
            *uom_batch(),
            "validate",
            str(job),
            "--action",
            "update-ticket",
            "--rejects",
            str(rejects),
        ],
        "bare read": [sys.executable, "-c", f"import sys, polars; {BARE[fmt]}", str(job)],
    }


def measure(paths: dict[str, Path], rounds: int, out: Path) -> dict[str, dict[str, list[Figure]]]:
    """Interleaved rounds: per format, validate and the bare read alternate which goes first."""
    figures: dict[str, dict[str, list[Figure]]] = {f: {"validate": [], "bare read": []} for f in paths}
    for r in range(rounds):
        for fmt, job in paths.items():
            pair = list(commands(fmt, job, out / f"{fmt}.rejects.csv").items())
            for name, argv in pair if r % 2 == 0 else reversed(pair):
                figures[fmt][name].append(run_child(argv))
        print(f"round {r + 1}/{rounds} done", flush=True)
    return figures


def _median(figures: list[Figure], field: str) -> float:
    return statistics.median(getattr(f, field) for f in figures)


def report(runs: dict[str, list[Figure]]) -> None:
    """Medians of both processes, and the ratios of validate to the bare read."""
    for name, figs in runs.items():
        wall, cpu, peak = (_median(figs, f) for f in ("seconds", "cpu_seconds", "peak_mib"))
        fastest = min(f.seconds for f in figs)
        print(f"  {name:<9} wall {wall:5.2f} s (min {fastest:.2f})  CPU {cpu:5.2f} s  peak {peak:5.0f} MiB")
    validate, bare = runs["validate"], runs["bare read"]
    ratio = {f: _median(validate, f) / _median(bare, f) for f in ("seconds", "cpu_seconds", "peak_mib")}
    per_round = statistics.median(v.seconds / b.seconds for v, b in zip(validate, bare, strict=True))
    print(
        f"  validate / bare read: wall {ratio['seconds']:.2f}x (median of per-round ratios "
        f"{per_round:.2f}x), CPU {ratio['cpu_seconds']:.2f}x, peak RSS {ratio['peak_mib']:.2f}x"
    )


def check_rejects(rejects: Path, rows: int) -> str:
    """Whether the rejects file holds exactly the planted rows."""
    found = pl.read_csv(rejects, infer_schema=False).get_column("row").cast(pl.Int64).to_list()
    wanted = planted_rows(rows)
    if found == wanted:
        return f"all {len(wanted):,} planted invalid rows found at their exact rows, no others"
    missed, extra = sorted(set(wanted) - set(found)), sorted(set(found) - set(wanted))
    return (
        f"MISMATCH: {len(missed)} planted rows missed (e.g. {missed[:3]}), {len(extra)} others ({extra[:3]})"
    )


PHASES = """
import sys, time
from pathlib import Path
t0 = time.perf_counter()
from batch.jobfile.load import load_job, is_parquet
from batch.output.rejects import write_rejects
from jobs.registry import check_job, check_job_file
t1 = time.perf_counter()
job = Path(sys.argv[1])
if is_parquet(job):  # one streaming query reads and checks (jobs.registry.check_job_file)
    result = check_job_file(job, "update-ticket").result
    t2 = t3 = time.perf_counter()
else:  # as `validate` loads it: no SHA-256
    loaded = load_job(job, digest=False)
    t2 = time.perf_counter()
    result = check_job(loaded, "update-ticket").result
    t3 = time.perf_counter()
write_rejects(result, Path(sys.argv[2]))
t4 = time.perf_counter()
split = f"load {t2 - t1:.2f} s  check {t3 - t2:.2f} s" if t3 > t2 else f"load + check {t3 - t1:.2f} s"
print(f"imports {t1 - t0:.2f} s  {split}  rejects {t4 - t3:.2f} s")
"""


def phases(paths: dict[str, Path], out: Path) -> None:
    """One in-process validate of each file, split into its phases."""
    for fmt, job in paths.items():
        argv = [sys.executable, "-c", PHASES, str(job), str(out / "phases.rejects.csv")]
        done = subprocess.run(argv, cwd=ROOT, check=True, capture_output=True, text=True)
        print(f"  {fmt:<8} {done.stdout.strip()}")


def main() -> None:
    """Generate, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--keep", type=Path, help="write the generated job here and keep it (reused if present)"
    )
    parser.add_argument("--phases", action="store_true", help="also split one validate into its phases")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        paths = generate(args.rows, out)
        sizes = ", ".join(f"{f} {p.stat().st_size / 2**20:.0f} MiB" for f, p in paths.items())
        print(f"{args.rows:,} rows x 22 columns ({sizes}), ready in {time.perf_counter() - started:.1f} s")
        figures = measure(paths, args.rounds, out)
        for fmt, runs in figures.items():
            print(f"{fmt} ({args.rounds} interleaved rounds):")
            report(runs)
            print(f"  {check_rejects(out / f'{fmt}.rejects.csv', args.rows)}")
        if args.phases:
            print("phases of one validate, in-process:")
            phases(paths, out)


if __name__ == "__main__":
    main()
