"""Benchmark (not a test): the engine against the emulator, each figure beside a baseline from the same run.

    .venv/bin/python bench/bench_engine.py [--rows N] [--concurrency C] [--repeat R] [--profile]

Three scenarios (issue 4, "Speed is measured, not asserted"):

1. Throughput. The emulator runs in a separate process (`python -m batch emulator`, no latency, no
   rate limit), started afresh for every measured run so each run meets the same ticket states.
   (a) the baseline: a bare aiohttp script (plain asyncio, same concurrency) that signs every
   request with batch.uom.signing, encodes with orjson, and per row does GetTicketDetail then an
   UpdateTicket changing Priority, built from the fetched stamps and required fields: the least a
   correct client must do. (b) the engine: `run_job` on an update-ticket job of the same rows and
   changes, rate unlimited, same concurrency, CSV ledger and journal on, JSON-lines logging at
   debug (every row) written to a file. Reports rows/s of each and engine / bare (target >= 0.80).
2. Latency. The emulator with `--latency-ms 100`: the engine at concurrency 16 over `--latency-rows`
   rows vs a sequential loop (the bare row, one at a time) timed on `--sequential-rows` rows and
   extrapolated per row. Reports the speed-up.
3. Rate. The emulator in-process (so its request log can be read) and the engine with
   `--rate-limit` over about `--rate-seconds` of requests. Reports achieved rate / limit (target
   >= 0.98) from the emulator's log, and the most requests in any one-second window (must be <= limit).

Every row changes the ticket's Priority to a value it does not have, so every row costs exactly
two calls in both clients. The engine's time covers `run_job` (journal, engine, ledger); loading
and validating the job file is timed apart.

Scenario 1 pins this process to one CPU and the emulator to another (`--no-pin`: let the scheduler
choose), runs each client `--repeat` times, alternating, and reports the best run of each (noise on
a shared machine only slows a run down) beside the median of the per-run ratios. It also reports
the client's CPU time per row (process time; the engine's includes writing and loading its job
file, a few µs/row), which is steadier than rows/s on a shared machine: a client that needs more
CPU per row than the emulator takes per row is the bottleneck. `--profile` adds one cProfile'd run
of each client (not counted) and prints own time per row by component, bare vs engine, then the
engine's top functions; cProfile inflates pure-Python call overhead, so read its shares, not its
absolute figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import math
import os
import pstats
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from batch.clock import SystemClock  # noqa: E402
from batch.commands.demo_jobs import write_job  # noqa: E402
from batch.commands.prepare import prepare_job  # noqa: E402
from batch.output.logs import configure_logging  # noqa: E402
from batch.runs.run_job import RunReport, run_job  # noqa: E402
from batch.runs.settings import RunSettings  # noqa: E402
from batch.uom.client import UomClient  # noqa: E402
from batch.uom.credentials import Credentials, credentials_for  # noqa: E402
from batch.uom.emulator import DEMO_CREDENTIALS, Emulator, Faults, generate_tickets  # noqa: E402
from batch.uom.emulator.seed import FIRST_REQUEST  # noqa: E402
from batch.uom.signing import expire_after, signed_headers  # noqa: E402
from batch.uom.spec import (  # noqa: E402
    CLOSING_STATES,
    CONTENT_TYPE,
    PRIORITIES,
    TicketKind,
    action_path,
    timestamp_fields,
)

REQUEST_STAMPS = timestamp_fields(TicketKind.REQUEST)


# ---------------------------------------------------------------------------------------------
# The work: request tickets and a Priority each does not have yet


@dataclass(frozen=True)
class Work:
    """`rows` request tickets of `generate_tickets(tickets)` and the new Priority of each."""

    tickets: int
    rows: list[tuple[str, str]]  # (TicketId, new Priority)


def make_work(rows: int) -> Work:
    """The first `rows` request tickets (2/5 of the generated tickets are requests)."""
    tickets = math.ceil(rows * 5 / 2) + 5
    generated = generate_tickets(tickets)
    by_id = {t["TicketId"]: t for t in generated}
    out = []
    for j in range(rows):
        ticket = by_id[f"UTM{FIRST_REQUEST + j}"]
        now = PRIORITIES.index(ticket["Priority"])
        out.append((ticket["TicketId"], PRIORITIES[(now + 1) % len(PRIORITIES)]))
    return Work(tickets, out)


def write_update_job(path: Path, rows: Sequence[tuple[str, str]]) -> Path:
    """The same rows as an update-ticket job file (TicketId, Priority)."""
    return write_job(path, [{"TicketId": t, "Priority": p} for t, p in rows], ("TicketId", "Priority"))


# ---------------------------------------------------------------------------------------------
# The emulator in its own process


@contextlib.contextmanager
def emulator_process(tickets: int, *extra: str, cpu: int | None = None) -> Iterator[str]:
    """`python -m batch emulator --port 0 --tickets N ...` until the block ends; yields its URL."""
    command = [sys.executable, "-m", "batch", "emulator", "--port", "0", "--tickets", str(tickets), *extra]
    pin = None if cpu is None else (lambda: os.sched_setaffinity(0, {cpu}))
    proc = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=pin
    )
    try:
        assert proc.stdout is not None
        head = proc.stdout.readline()
        if not head.startswith("# UOM emulator on "):
            raise RuntimeError(
                f"emulator did not start: {head!r} {proc.stderr.read() if proc.stderr else ''}"
            )
        yield head.split()[4]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def credentials(url: str) -> Credentials:
    """The emulator's demo keys (the manual's public sample keys)."""
    return credentials_for(url, DEMO_CREDENTIALS)


# ---------------------------------------------------------------------------------------------
# The baseline: a bare aiohttp script


class BareClient:
    """Signs, encodes and sends one call; the reply's `<Action>Response` or RuntimeError."""

    def __init__(self, session: aiohttp.ClientSession, creds: Credentials) -> None:
        self._session = session
        self._creds = creds
        self._secret = creds.secret_key.reveal()
        self._base = creds.endpoint.rstrip("/")

    async def call(self, action: str, body: dict[str, Any]) -> dict[str, Any]:
        path = action_path(action)
        headers = signed_headers(
            access_key=self._creds.access_key,
            secret_key=self._secret,
            path=path,
            content_type=CONTENT_TYPE,
            expire=expire_after(datetime.now(UTC), 3600),
        )
        async with self._session.post(self._base + path, data=orjson.dumps(body), headers=headers) as resp:
            status, raw = resp.status, await resp.read()
        reply = orjson.loads(raw).get(f"{action}Response") if raw else None
        if status != 200 or not isinstance(reply, dict):
            raise RuntimeError(f"{action}: HTTP {status} {raw[:200]!r}")
        return reply

    async def row(self, ticket_id: str, priority: str) -> None:
        """GetTicketDetail, then UpdateTicket with the new Priority (a request ticket)."""
        account = {"ServiceCode": self._creds.service_code, "MasterID": self._creds.master_id}
        detail = await self.call("GetTicketDetail", {"TicketId": ticket_id, **account})
        await self.call("UpdateTicket", update_body(detail, priority, account))


def update_body(detail: dict[str, Any], priority: str, account: dict[str, str]) -> dict[str, Any]:
    """The UpdateTicket request for a request ticket: stamps, required fields, the new Priority."""
    if detail["TicketProcessType"] != TicketKind.REQUEST.value:
        raise RuntimeError(f"{detail['TicketId']} is not a request ticket")
    body = {
        **account,
        "TicketId": detail["TicketId"],
        "TicketProcessType": TicketKind.REQUEST.value,
        **{name: detail[name] for name in REQUEST_STAMPS},
        "Priority": priority,
        "CorrespondLimitDate": detail["CorrespondLimitDate"],
        "Category": detail["Category"],
        "StateCode": detail["StateCode"],
        "SupportedGroup": detail["SupportedGroup"],
    }
    if detail["StateCode"] in CLOSING_STATES:
        body["FinishApprovalUserId"] = detail["FinishApprovalUserId"]
    return body


async def bare_run(url: str, rows: Sequence[tuple[str, str]], concurrency: int) -> float:
    """All rows through `concurrency` workers pulling from one iterator; seconds taken."""
    creds = credentials(url)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, skip_auto_headers=("Content-Type",)) as session:
        client = BareClient(session, creds)
        todo = iter(rows)

        async def worker() -> None:
            for ticket_id, priority in todo:
                await client.row(ticket_id, priority)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started


# ---------------------------------------------------------------------------------------------
# The engine


@dataclass
class EngineRun:
    """One `run_job`: its report, seconds, and the log lines it wrote."""

    report: RunReport
    seconds: float
    prepare_s: float
    log_lines: int
    profile: pstats.Stats | None = None


async def _engine(
    url: str, job_path: Path, out: Path, rate: float | None, concurrency: int
) -> tuple[RunReport, float, float]:
    started = time.perf_counter()
    job, kind = prepare_job(job_path, action=None, encoding=None)
    prepare_s = time.perf_counter() - started
    settings = RunSettings(
        rate_per_s=rate,
        concurrency=concurrency,
        ledger_path=out / "ledger.csv",
        journal_path=out / "journal.sqlite",
        new_run=True,
        progress_terminal=False,
        seed=1,
    )
    creds = credentials(url)
    async with UomClient(creds, max_connections=concurrency) as client:
        started = time.perf_counter()
        report = await run_job(job, kind, client, creds.audit(), settings, SystemClock())
        return report, time.perf_counter() - started, prepare_s


def engine_run(
    url: str,
    rows: Sequence[tuple[str, str]],
    concurrency: int,
    rate: float | None = None,
    profile: bool = False,
) -> EngineRun:
    """`run_job` over the rows, in a fresh temporary directory, with JSON-lines logs to a file."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        job_path = write_update_job(out / "job.csv", rows)
        log_path = out / "run.log"
        profiler = cProfile.Profile() if profile else None
        with log_path.open("w") as log_file, contextlib.redirect_stderr(log_file):
            if profiler:
                profiler.enable()
            report, seconds, prepare_s = anyio.run(_engine, url, job_path, out, rate, concurrency)
            if profiler:
                profiler.disable()
        lines = sum(1 for _ in log_path.open())
        return EngineRun(report, seconds, prepare_s, lines, pstats.Stats(profiler) if profiler else None)


def bare_profiled(url: str, rows: Sequence[tuple[str, str]], concurrency: int) -> pstats.Stats:
    """The bare script under cProfile."""
    profiler = cProfile.Profile()
    profiler.enable()
    asyncio.run(bare_run(url, rows, concurrency))
    profiler.disable()
    return pstats.Stats(profiler)


# ---------------------------------------------------------------------------------------------
# Where the time goes: cProfile's own time per function, summed by component


BUILTIN_GROUPS = (
    ("sqlite3", "sqlite3 (C)"),
    ("socket", "socket (C)"),
    ("select", "select/epoll (C)"),
    ("orjson", "orjson (C)"),
    ("hashlib", "hmac/hashlib (C)"),
    ("hmac", "hmac/hashlib (C)"),
    ("datetime", "datetime (C)"),
    ("write", "file write (C)"),
)


def component(filename: str, name: str) -> str:
    """A readable component for a profiled function: our module, a package, or a C builtin."""
    path = filename.replace("\\", "/")
    for ours in ("/batch/uom/", "/batch/", "/jobs/"):
        if ours in path and "site-packages" not in path:
            return ours.strip("/").replace("/", ".") + "." + path.rsplit("/", 1)[-1].removesuffix(".py")
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/", 1)[0]
    if "/bench/" in path:
        return "bench script"
    if path == "~":
        return next((label for key, label in BUILTIN_GROUPS if key in name), "other builtins (C)")
    if "/asyncio/" in path:
        return "asyncio (stdlib)"
    return "stdlib " + path.rsplit("/", 1)[-1].removesuffix(".py")


def by_component(stats: pstats.Stats) -> dict[str, float]:
    """Own time (s) summed per component."""
    totals: dict[str, float] = {}
    for (filename, _, name), (_, _, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        key = component(filename, name)
        totals[key] = totals.get(key, 0.0) + own
    return totals


def profile_text(bare: pstats.Stats, engine: pstats.Stats, rows: int, top: int = 30) -> str:
    """Per component: µs of own time per row in the bare script and in the engine, and the difference."""
    b, e = by_component(bare), by_component(engine)
    lines = [f"{'component':<32} {'bare µs/row':>12} {'engine µs/row':>14} {'extra':>8}"]
    for key in sorted(set(b) | set(e), key=lambda k: -(e.get(k, 0) - b.get(k, 0))):
        bv, ev = b.get(key, 0) / rows * 1e6, e.get(key, 0) / rows * 1e6
        if max(bv, ev) >= 2:
            lines.append(f"{key:<32} {bv:12.0f} {ev:14.0f} {ev - bv:+8.0f}")
    tb, te = sum(b.values()) / rows * 1e6, sum(e.values()) / rows * 1e6
    lines.append(f"{'total (profiled)':<32} {tb:12.0f} {te:14.0f} {te - tb:+8.0f}")
    text = io.StringIO()
    engine.stream = text  # type: ignore[attr-defined]
    engine.strip_dirs().sort_stats("tottime").print_stats(top)
    return "\n".join(lines) + "\n\nengine, top functions by own time:" + text.getvalue()


def check_report(report: RunReport, rows: int) -> None:
    """Every row updated with two calls, or the figures mean nothing."""
    updated = sum(n for o, n in report.counts.items() if o.value == "updated")
    if updated != rows or report.requests != 2 * rows:
        raise RuntimeError(f"engine: {dict(report.counts)} with {report.requests} requests for {rows} rows")


# ---------------------------------------------------------------------------------------------
# Scenarios


@dataclass
class Figures:
    """Lines for the final table: (scenario, measure, value, target)."""

    lines: list[tuple[str, str, str, str]] = field(default_factory=list)

    def add(self, scenario: str, measure: str, value: str, target: str = "") -> None:
        self.lines.append((scenario, measure, value, target))
        print(f"  {measure:<44} {value:>14}  {target}")


def _cpu_pair() -> tuple[int | None, int | None]:
    """(client CPU, emulator CPU) when the machine has at least two and pinning is on."""
    if len(os.sched_getaffinity(0)) < 2:
        return None, None
    cpus = sorted(os.sched_getaffinity(0))
    return cpus[0], cpus[1]


def median(values: Sequence[float]) -> float:
    """The middle value (the upper one of an even count)."""
    return sorted(values)[len(values) // 2]


def throughput(args: argparse.Namespace, figures: Figures) -> None:
    """Scenario 1: engine vs the bare script, fresh emulator process per run."""
    print(f"\n1. throughput: {args.rows} rows, concurrency {args.concurrency}, emulator in its own process")
    work = make_work(args.rows)
    client_cpu, emu_cpu = _cpu_pair() if args.pin else (None, None)
    if client_cpu is not None:
        os.sched_setaffinity(0, {client_cpu})
    bare_s: list[float] = []
    engine_s: list[float] = []
    cpu: dict[str, list[float]] = {"bare": [], "engine": []}
    ratios: list[float] = []
    last: EngineRun | None = None
    for attempt in range(args.repeat):
        with emulator_process(work.tickets, cpu=emu_cpu) as url:
            cpu0 = time.process_time()
            seconds = asyncio.run(bare_run(url, work.rows, args.concurrency))
            bare_cpu = time.process_time() - cpu0
        bare_s.append(seconds)
        with emulator_process(work.tickets, cpu=emu_cpu) as url:
            cpu0 = time.process_time()
            last = engine_run(url, work.rows, args.concurrency)
            engine_cpu = time.process_time() - cpu0
        check_report(last.report, args.rows)
        engine_s.append(last.seconds)
        cpu["bare"].append(bare_cpu / args.rows * 1e6)
        cpu["engine"].append(engine_cpu / args.rows * 1e6)
        ratios.append(seconds / last.seconds)
        print(
            f"  run {attempt + 1}: bare {args.rows / seconds:5.0f} rows/s, {cpu['bare'][-1]:4.0f} µs CPU/row"
            f"   engine {args.rows / last.seconds:5.0f} rows/s, {cpu['engine'][-1]:4.0f} µs CPU/row"
            f"   ratio {seconds / last.seconds:.2f}"
        )
    if args.profile:  # extra runs, not counted: cProfile slows both clients about twofold
        with emulator_process(work.tickets, cpu=emu_cpu) as url:
            bare_stats = bare_profiled(url, work.rows, args.concurrency)
        with emulator_process(work.tickets, cpu=emu_cpu) as url:
            engine_stats = engine_run(url, work.rows, args.concurrency, profile=True).profile
        assert engine_stats is not None
        args.profile_text = profile_text(bare_stats, engine_stats, args.rows)
    if client_cpu is not None:
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    assert last is not None
    bare, engine = min(bare_s), min(engine_s)  # the least disturbed run of each
    s = "throughput"
    figures.add(s, f"bare aiohttp script, rows/s (best of {args.repeat})", f"{args.rows / bare:.0f}")
    figures.add(s, "  = requests/s", f"{2 * args.rows / bare:.0f}")
    figures.add(s, "  client CPU per row, µs (median)", f"{median(cpu['bare']):.0f}")
    figures.add(s, f"engine run_job, rows/s (best of {args.repeat})", f"{args.rows / engine:.0f}")
    figures.add(s, "  client CPU per row, µs (median)", f"{median(cpu['engine']):.0f}")
    figures.add(s, "engine: prepare (load + validate), s", f"{last.prepare_s:.3f}")
    figures.add(s, "engine: log lines written", f"{last.log_lines}")
    figures.add(s, "engine / bare (best runs)", f"{bare / engine:.2f}", "target >= 0.80")
    figures.add(s, "engine / bare (median of per-run ratios)", f"{median(ratios):.2f}")


def latency(args: argparse.Namespace, figures: Figures) -> None:
    """Scenario 2: 100 ms per reply; the engine at concurrency 16 vs a sequential loop."""
    ms, rows, conc = args.latency_ms, args.latency_rows, args.latency_concurrency
    seq_rows = args.sequential_rows
    print(
        f"\n2. latency {ms:.0f} ms: engine {rows} rows at concurrency {conc}, sequential loop {seq_rows} rows"
    )
    work = make_work(rows)
    with emulator_process(work.tickets, "--latency-ms", str(ms)) as url:
        seq_s = asyncio.run(bare_run(url, work.rows[:seq_rows], 1))
    with emulator_process(work.tickets, "--latency-ms", str(ms)) as url:
        run = engine_run(url, work.rows, conc)
    check_report(run.report, rows)
    per_row = seq_s / seq_rows
    s = "latency"
    figures.add(s, f"sequential loop, s/row (over {seq_rows} rows)", f"{per_row:.3f}")
    figures.add(s, f"  extrapolated to {rows} rows, s", f"{per_row * rows:.1f}")
    figures.add(s, f"engine, {rows} rows at concurrency {conc}, s", f"{run.seconds:.2f}")
    speed_up = per_row * rows / run.seconds
    figures.add(s, "speed-up over the sequential loop", f"{speed_up:.1f}x", f"ideal {conc}x")


def rate(args: argparse.Namespace, figures: Figures) -> None:
    """Scenario 3: a rate ceiling, checked against the emulator's own request log."""
    limit = args.rate_limit
    rows = max(1, round(limit * args.rate_seconds / 2))
    print(f"\n3. rate limit {limit:g}/s: engine {rows} rows ({2 * rows} requests), emulator in-process")
    work = make_work(rows)
    emulator = Emulator(generate_tickets(work.tickets), Faults())
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        job_path = write_update_job(out / "job.csv", work.rows)

        async def serve_and_run() -> RunReport:
            async with emulator.running() as url:
                report, _, _ = await _engine(url, job_path, out, limit, args.concurrency)
                return report

        with (out / "run.log").open("w") as log_file, contextlib.redirect_stderr(log_file):
            report = anyio.run(serve_and_run)
    check_report(report, rows)
    times = sorted(e.at for e in emulator.log)
    refused = sum(1 for e in emulator.log if e.http_status != 200)
    achieved = (len(times) - 1) / (times[-1] - times[0])
    s = "rate"
    figures.add(s, "requests in the emulator's log (non-200)", f"{len(times)} ({refused})")
    figures.add(s, "achieved rate, requests/s (first to last)", f"{achieved:.2f}")
    figures.add(s, "achieved / limit", f"{achieved / limit:.3f}", "target >= 0.98")
    figures.add(s, "most requests in any 1 s window", f"{max_in_window(times, 1.0)}", f"must be <= {limit:g}")
    cap = math.floor(limit + 1e-9)
    if len(times) > cap:
        span = min(times[i + cap] - times[i] for i in range(len(times) - cap))
        figures.add(s, f"shortest span of {cap + 1} consecutive arrivals, s", f"{span:.4f}", "must be >= 1")


def max_in_window(times: Sequence[float], width: float) -> int:
    """The most instants in any half-open window [t, t + width) (sorted input)."""
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while times[lo] <= t - width:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def print_table(figures: Figures, header: str) -> None:
    """The compact summary of every figure."""
    print("\n" + header)
    width = max(len(m) for _, m, _, _ in figures.lines)
    for scenario, measure, value, target in figures.lines:
        print(f"{scenario:<11} {measure:<{width}} {value:>14}  {target}")


def main() -> None:
    """Parse, run the chosen scenarios, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000, help="throughput rows (default 5000)")
    parser.add_argument("--concurrency", type=int, default=16, help="throughput and rate (default 16)")
    parser.add_argument("--repeat", type=int, default=5, help="throughput runs of each (default 5)")
    parser.add_argument(
        "--no-pin",
        dest="pin",
        action="store_false",
        help="do not pin client and emulator to separate CPUs in scenario 1",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile one extra engine run of scenario 1")
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--latency-rows", type=int, default=200)
    parser.add_argument("--latency-concurrency", type=int, default=16)
    parser.add_argument("--sequential-rows", type=int, default=20)
    parser.add_argument("--rate-limit", type=float, default=100.0, help="requests/s (default 100)")
    parser.add_argument("--rate-seconds", type=float, default=6.0, help="seconds of requests (default 6)")
    parser.add_argument(
        "--only",
        choices=("throughput", "latency", "rate"),
        action="append",
        help="run only these scenarios (repeatable)",
    )
    args = parser.parse_args()
    args.profile_text = ""
    configure_logging(json_lines=True)
    figures = Figures()
    for name, scenario in (("throughput", throughput), ("latency", latency), ("rate", rate)):
        if not args.only or name in args.only:
            scenario(args, figures)
    when, python = f"{datetime.now():%Y-%m-%d %H:%M}", sys.version.split()[0]
    print_table(figures, f"summary ({when}, {os.cpu_count()} CPUs, Python {python})")
    if args.profile_text:
        print("\ncProfile, own time per row by component (client process only; both runs profiled):")
        print(args.profile_text)


if __name__ == "__main__":
    main()
