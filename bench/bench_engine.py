"""Benchmark (not a test): `uom-batch run` against a bare aiohttp script, each a whole process.

    .venv/bin/python bench/bench_engine.py [--rows 20000] [--concurrency 32] [--repeat 5] [--profile]

1. Throughput (issue #10, item 4). A minimal stub server (this file with `--stub`: a raw asyncio
   protocol, on uvloop where installed, pinned with sched_setaffinity to the second CPU) answers
   GetTicketDetail with a real ticket (one of four emulator tickets, incidents and requests, one
   awaiting close approval, the asked TicketId spliced in) and UpdateTicket with a RequestId; it
   checks nothing. On the first CPU, each a whole process timed from spawn to exit:
   `python -m batch run` of a ROWS-row update-ticket job at `--concurrency C --rate 0` (every row
   changes Priority, so costs exactly GetTicketDetail + UpdateTicket), on uvloop (the default)
   and with `--no-uvloop`; and the bare script (this file with `--bare`) on plain asyncio and on
   uvloop. The bare script reads the same CSV, signs every request with v2 (its own signer, a new
   Expire per request), parses both replies (the `<Action>Response` object and its RequestId) and
   builds the UpdateTicket body from the fetched ticket as D2-D4 say (stamps and required fields,
   AssignUser renamed, the approver iff the state is closing, `[]` memos on incidents): the least a
   correct client must do. Before any timing it runs in-process against the real emulator on rows
   of every kind, so its signatures and bodies are known to pass the emulator's rules.
   `batch/` and `jobs/` are byte-compiled first, as an install does. `--engine-arg=--log-json`
   adds a log line per row to the uom-batch runs.
   The clients run in interleaved rounds (their order rotating); the table gives medians of rows/s
   and of CPU per row (user + system of the process, from wait4; steadier than rows/s on a shared
   machine), the stub's CPU share (well below 100 %: the stub is not the bottleneck), and
   uom-batch / the better bare loop (target >= 0.80).
2. Latency. The emulator process with `--latency-ms 100`: `run_job` at concurrency 16 over
   `--latency-rows` rows vs a sequential loop (the bare row, one at a time) timed on
   `--sequential-rows` rows and extrapolated per row. Reports the speed-up.
3. Rate. The emulator in-process (so its request log can be read) and `run_job` with
   `--rate-limit` over about `--rate-seconds` of requests. Reports achieved rate / limit (target
   >= 0.98) from the emulator's log, and the most requests in any one-second window (<= limit).

`--profile` adds one cProfile'd process of uom-batch and of the bare script on uvloop (not counted)
and prints own time per row by component, bare vs uom-batch, then uom-batch's top functions;
cProfile inflates pure-Python call overhead about twofold, so read its shares, not its figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import hmac
import io
import itertools
import math
import os
import pstats
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from base64 import b64encode
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from hashlib import sha256
from pathlib import Path
from typing import Any

import aiohttp
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Only the manual's facts (field tables, D2 renames, closing states): a light, pure module.
from batch.uom.spec import (  # noqa: E402
    CLOSING_STATES,
    CONTENT_TYPE,
    DETAIL_TO_UPDATE_RENAMES,
    MEMO_LIST,
    TicketKind,
    action_path,
    timestamp_fields,
    update_fields,
)

# The stub's tickets: two incidents, a new request and one awaiting close approval (D3).
TEMPLATE_IDS = ("UTM1000001", "UTM2000001", "UTM1000003", "UTM2000004")
STUB_PRIORITY, NEW_PRIORITY = "中", "高"
FIRST_ROW_ID = 5_000_000  # the job's ticket ids: UTM5000000, UTM5000001, ...
PROCESS_TIMEOUT_S = 300
# The bare script's processes import this file (from its bytecode, as uom-batch's modules are).
BARE_MAIN = (
    f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
    "import bench_engine; bench_engine.main(sys.argv[1:])"
)


def template_for(ticket_id: str, templates: Sequence[Any]) -> Any:
    """The stub's ticket for an id (ids cycle through the templates)."""
    return templates[int(ticket_id[3:]) % len(templates)]


def new_loop_factory(loop: str) -> Callable[[], asyncio.AbstractEventLoop]:
    """asyncio's own loop, or uvloop's."""
    if loop == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return asyncio.new_event_loop


# ---------------------------------------------------------------------------------------------
# The stub server (a process of its own: `bench_engine.py --stub CPU`)

CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)


class StubReplies:
    """Reply bytes for one request: a detail with the asked TicketId, or an update's RequestId."""

    def __init__(self, templates: Sequence[Mapping[str, Any]]) -> None:
        self._templates = templates
        self._ids = itertools.count(1)

    def answer(self, head: bytes, body: bytes) -> bytes:
        line = head[: head.find(b"\r\n")]
        rid = f"STUB{next(self._ids):012d}"
        if b"/GetTicketDetail.json" in line:
            ticket_id = orjson.loads(body)["TicketId"]
            ticket = template_for(ticket_id, self._templates)
            reply = {"GetTicketDetailResponse": {"RequestId": rid, **ticket, "TicketId": ticket_id}}
        elif b"/UpdateTicket.json" in line:
            reply = {"UpdateTicketResponse": {"RequestId": rid}}
        else:
            return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
        payload = orjson.dumps(reply)
        head_out = b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: "
        return head_out + str(len(payload)).encode() + b"\r\n\r\n" + payload


class StubProtocol(asyncio.Protocol):
    """HTTP/1.1 keep-alive, just enough of it: head, Content-Length, body, reply."""

    def __init__(self, replies: StubReplies) -> None:
        self._replies = replies
        self._buf = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # uvloop's is no asyncio.Transport

    def data_received(self, data: bytes) -> None:
        self._buf += data
        while (reply := self._next_reply()) is not None:
            assert self._transport is not None
            self._transport.write(reply)

    def _next_reply(self) -> bytes | None:
        buf = self._buf
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        length = CONTENT_LENGTH.search(buf, 0, end)
        stop = end + 4 + (int(length.group(1)) if length else 0)
        if len(buf) < stop:
            return None
        self._buf = buf[stop:]
        return self._replies.answer(buf[:end], buf[end + 4 : stop])


def stub_templates() -> list[dict[str, Any]]:
    """The four emulator tickets the stub serves, all at STUB_PRIORITY."""
    from batch.uom.emulator import generate_tickets

    by_id = {t["TicketId"]: t for t in generate_tickets(60)}
    return [{**by_id[i], "Priority": STUB_PRIORITY} for i in TEMPLATE_IDS]


async def serve_stub() -> None:
    """Serve on 127.0.0.1 (a free port) until SIGTERM; print the URL first."""
    loop = asyncio.get_running_loop()
    replies = StubReplies(stub_templates())
    server = await loop.create_server(lambda: StubProtocol(replies), "127.0.0.1", 0, backlog=512)
    port = server.sockets[0].getsockname()[1]
    print(f"# stub on http://127.0.0.1:{port}", flush=True)
    done = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, done.set)
    await done.wait()
    server.close()


def stub_main(cpu: int | None) -> None:
    """`--stub CPU`: pin, then serve on uvloop where it is installed."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    with asyncio.Runner(loop_factory=new_loop_factory("uvloop" if _has_uvloop() else "asyncio")) as r:
        r.run(serve_stub())


def _has_uvloop() -> bool:
    import importlib.util

    return importlib.util.find_spec("uvloop") is not None


@contextlib.contextmanager
def stub_process(cpu: int | None) -> Iterator[tuple[str, int]]:
    """The stub in its own process until the block ends; yields (its URL, its pid)."""
    command = [sys.executable, __file__, "--stub", "" if cpu is None else str(cpu)]
    with _server(command, "# stub on ") as (url, pid):
        yield url, pid


@contextlib.contextmanager
def emulator_process(tickets: int, *extra: str) -> Iterator[str]:
    """`python -m batch emulator --port 0 --tickets N ...` until the block ends; yields its URL."""
    command = [sys.executable, "-m", "batch", "emulator", "--port", "0", "--tickets", str(tickets), *extra]
    with _server(command, "# UOM emulator on ") as (url, _):
        yield url


@contextlib.contextmanager
def _server(command: list[str], banner: str) -> Iterator[tuple[str, int]]:
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        head = proc.stdout.readline()
        if not head.startswith(banner):
            raise RuntimeError(f"server did not start: {head!r} {proc.stderr.read() if proc.stderr else ''}")
        yield head[len(banner) :].split()[0], proc.pid
    finally:
        proc.send_signal(signal.SIGINT if "emulator" in command else signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---------------------------------------------------------------------------------------------
# The bare script (`bench_engine.py --bare LOOP JOB CONCURRENCY`; credentials from UOM_*)

IDENTITY = ("ServiceCode", "MasterID", "TicketId", "TicketProcessType")
STAMPS = {k.value: timestamp_fields(k) for k in TicketKind}
REQUIRED = {
    k.value: tuple(
        name
        for name, spec in update_fields(k).items()
        if spec.required and name not in IDENTITY and name not in STAMPS[k.value]
    )
    for k in TicketKind
}
DETAIL_NAME = {update: detail for detail, update in DETAIL_TO_UPDATE_RENAMES.items()}  # D2


def update_body(detail: Mapping[str, Any], priority: str, account: Mapping[str, str]) -> dict[str, Any]:
    """The UpdateTicket request changing Priority, from the fetched ticket (D2-D4)."""
    kind = detail["TicketProcessType"]
    body = {**account, "TicketId": detail["TicketId"], "TicketProcessType": kind}
    for name in STAMPS[kind]:
        body[name] = detail[name]
    for name in REQUIRED[kind]:
        body[name] = detail.get(DETAIL_NAME.get(name, name), "")
    for name in ("StateCode", "SupportedGroup"):  # sent as the ticket has them, when set
        if detail.get(name):
            body[name] = detail[name]
    body["Priority"] = priority
    if detail.get("StateCode") in CLOSING_STATES:
        body["FinishApprovalUserId"] = detail["FinishApprovalUserId"]  # D3
    if kind == TicketKind.INCIDENT.value:
        body[MEMO_LIST] = []  # D4
    return body


class BareClient:
    """Signs (v2, HmacSHA256), sends and parses one call; RuntimeError for anything but success."""

    def __init__(self, session: aiohttp.ClientSession, env: Mapping[str, str]) -> None:
        self._session = session
        self._access_key = env["UOM_ACCESS_KEY"]
        self._secret = env["UOM_SECRET_KEY"].encode()
        base = env["UOM_ENDPOINT"].rstrip("/")
        self._actions = {
            a: (action_path(a), base + action_path(a)) for a in ("GetTicketDetail", "UpdateTicket")
        }
        self.account = {"ServiceCode": env["UOM_SERVICE_CODE"], "MasterID": env["UOM_MASTER_ID"]}

    def _headers(self, path: str) -> dict[str, str]:
        expire = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        text = (
            f"POST\n\n{CONTENT_TYPE}\nx-iijapi-expire:{expire}\nx-iijapi-signaturemethod:HmacSHA256\n"
            f"x-iijapi-signatureversion:2\n{path}"
        )
        sig = b64encode(hmac.digest(self._secret, text.encode(), sha256)).decode()
        return {
            "Content-Type": CONTENT_TYPE,
            "x-iijapi-Expire": expire,
            "x-iijapi-SignatureMethod": "HmacSHA256",
            "x-iijapi-SignatureVersion": "2",
            "Authorization": f"IIJAPI {self._access_key}:{sig}",
        }

    async def call(self, action: str, body: Mapping[str, Any]) -> dict[str, Any]:
        path, url = self._actions[action]
        async with self._session.post(url, data=orjson.dumps(body), headers=self._headers(path)) as resp:
            status, raw = resp.status, await resp.read()
        reply = orjson.loads(raw).get(f"{action}Response") if raw else None
        if status != 200 or not isinstance(reply, dict) or not isinstance(reply.get("RequestId"), str):
            raise RuntimeError(f"{action}: HTTP {status} {raw[:300]!r}")
        return reply

    async def row(self, ticket_id: str, priority: str) -> None:
        """GetTicketDetail, then UpdateTicket with the new Priority."""
        detail = await self.call("GetTicketDetail", {"TicketId": ticket_id, **self.account})
        await self.call("UpdateTicket", update_body(detail, priority, self.account))


async def bare_run(env: Mapping[str, str], rows: Sequence[tuple[str, str]], concurrency: int) -> float:
    """All rows through `concurrency` workers pulling from one iterator; seconds taken."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, skip_auto_headers=("Content-Type",)) as session:
        client = BareClient(session, env)
        todo = iter(rows)

        async def worker() -> None:
            for ticket_id, priority in todo:
                await client.row(ticket_id, priority)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started


def read_rows(job: Path) -> list[tuple[str, str]]:
    """(TicketId, Priority) of every row of a job CSV."""
    with job.open(encoding="utf-8-sig", newline="") as f:
        return [(r["TicketId"], r["Priority"]) for r in csv.DictReader(f)]


def bare_main(loop: str, job: Path, concurrency: int) -> None:
    """`--bare`: the whole job, then `rows seconds` on stdout."""
    rows = read_rows(job)
    with asyncio.Runner(loop_factory=new_loop_factory(loop)) as runner:
        seconds = runner.run(bare_run(os.environ, rows, concurrency))
    print(len(rows), f"{seconds:.6f}")


# ---------------------------------------------------------------------------------------------
# Whole processes, pinned and timed


@dataclass(frozen=True)
class Client:
    """One measured client: a name and its command line (the job path is appended)."""

    name: str
    command: tuple[str, ...]
    is_engine: bool


def clients(concurrency: int, engine_args: Sequence[str]) -> list[Client]:
    """uom-batch on uvloop and asyncio, the bare script on asyncio and uvloop."""
    run = (
        sys.executable,
        "-m",
        "batch",
        "run",
        "--concurrency",
        str(concurrency),
        "--rate",
        "0",
        *engine_args,
    )
    # Imported, not run as a script: from its bytecode, as uom-batch's modules are (see compile_sources).
    bare = (sys.executable, "-c", BARE_MAIN, "--bare")
    return [
        Client("uom-batch (uvloop)", run, True),
        Client("uom-batch --no-uvloop", (*run, "--no-uvloop"), True),
        Client("bare asyncio", (*bare, "asyncio", "--concurrency", str(concurrency)), False),
        Client("bare uvloop", (*bare, "uvloop", "--concurrency", str(concurrency)), False),
    ]


@dataclass(frozen=True)
class Timed:
    """One whole process: wall seconds, its CPU seconds, and the stub's CPU seconds meanwhile."""

    wall_s: float
    cpu_s: float
    stub_cpu_s: float


def cpu_seconds_of(pid: int) -> float:
    """User + system time of a running process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_timed(
    command: Sequence[str], env: Mapping[str, str], cpu: int | None, stub_pid: int, log: Path
) -> tuple[Timed, str]:
    """Run a command to its end, pinned to `cpu`; its timing and its stdout."""
    pin = None if cpu is None else (lambda: os.sched_setaffinity(0, {cpu}))
    stub0 = cpu_seconds_of(stub_pid)
    started = time.perf_counter()
    with log.open("ab") as err:
        proc = subprocess.Popen(
            command, cwd=ROOT, env=dict(env), stdout=subprocess.PIPE, stderr=err, preexec_fn=pin
        )
        assert proc.stdout is not None
        watchdog = threading.Timer(PROCESS_TIMEOUT_S, proc.kill)  # a broken run fails, not hangs
        watchdog.start()
        out = proc.stdout.read().decode()
        _, status, usage = os.wait4(proc.pid, 0)
        watchdog.cancel()
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {proc.returncode}; see {log}\n{out}")
    timed = Timed(wall, usage.ru_utime + usage.ru_stime, cpu_seconds_of(stub_pid) - stub0)
    return timed, out


def measure(
    client: Client, job: Path, work: Path, env: Mapping[str, str], cpu: int | None, stub_pid: int, rows: int
) -> Timed:
    """One run of `client` over the job in `work`; checks every row was done."""
    work.mkdir()
    if client.is_engine:
        files = ("--journal", str(work / "journal.sqlite"), "--ledger", str(work / "ledger.csv"))
        timed, _ = run_timed([*client.command, *files, str(job)], env, cpu, stub_pid, work / "stderr.log")
        check_ledger(work / "ledger.csv", rows)
    else:
        timed, out = run_timed([*client.command, str(job)], env, cpu, stub_pid, work / "stderr.log")
        if int(out.split()[0]) != rows:
            raise RuntimeError(f"{client.name}: {out!r}")
    return timed


def check_ledger(ledger: Path, rows: int) -> None:
    """Every row `updated`, or the figures mean nothing."""
    with ledger.open(encoding="utf-8-sig", newline="") as f:
        outcomes = [r["outcome"] for r in csv.DictReader(f)]
    if outcomes.count("updated") != rows:
        raise RuntimeError(f"uom-batch: {len(outcomes)} rows, {outcomes.count('updated')} updated")


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


def profile_text(bare: pstats.Stats, engine: pstats.Stats, rows: int, top: int = 40) -> str:
    """Per component: µs of own time per row in the bare script and in uom-batch, and the difference."""
    b, e = by_component(bare), by_component(engine)
    lines = [f"{'component':<32} {'bare µs/row':>12} {'uom-batch µs/row':>17} {'extra':>8}"]
    for key in sorted(set(b) | set(e), key=lambda k: -(e.get(k, 0) - b.get(k, 0))):
        bv, ev = b.get(key, 0) / rows * 1e6, e.get(key, 0) / rows * 1e6
        if max(bv, ev) >= 2:
            lines.append(f"{key:<32} {bv:12.0f} {ev:17.0f} {ev - bv:+8.0f}")
    tb, te = sum(b.values()) / rows * 1e6, sum(e.values()) / rows * 1e6
    lines.append(f"{'total (profiled)':<32} {tb:12.0f} {te:17.0f} {te - tb:+8.0f}")
    text = io.StringIO()
    engine.stream = text  # type: ignore[attr-defined]
    engine.strip_dirs().sort_stats("tottime").print_stats(top)
    return "\n".join(lines) + "\n\nuom-batch, top functions by own time:" + text.getvalue()


def profiled(
    client: Client, job: Path, work: Path, env: Mapping[str, str], cpu: int | None, stub_pid: int, rows: int
) -> pstats.Stats:
    """One run of `client` under `python -m cProfile`."""
    out = work.with_suffix(".prof")
    python, *rest = client.command
    if rest[:2] == ["-c", BARE_MAIN]:
        rest = [__file__, *rest[2:]]  # cProfile runs scripts and modules, not -c
    profiled_client = Client(client.name, (python, "-m", "cProfile", "-o", str(out), *rest), client.is_engine)
    measure(profiled_client, job, work, env, cpu, stub_pid, rows)
    return pstats.Stats(str(out))


# ---------------------------------------------------------------------------------------------
# Scenarios


@dataclass
class Figures:
    """Lines for the final table: (scenario, measure, value, target)."""

    lines: list[tuple[str, str, str, str]] = field(default_factory=list)

    def add(self, scenario: str, measure: str, value: str, target: str = "") -> None:
        self.lines.append((scenario, measure, value, target))
        print(f"  {measure:<48} {value:>14}  {target}")


def median(values: Sequence[float]) -> float:
    """The middle value (the mean of the two middle ones of an even count)."""
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def demo_env(url: str) -> dict[str, str]:
    """This process's environment with the emulator's demo keys for `url`."""
    from batch.uom.emulator import DEMO_CREDENTIALS as c

    keys = {"UOM_ACCESS_KEY": c.access_key, "UOM_SECRET_KEY": c.secret_key}
    account = {"UOM_SERVICE_CODE": c.service_code, "UOM_MASTER_ID": c.master_id}
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("UOM_")}
    return {**inherited, "UOM_ENDPOINT": url, **keys, **account}


def write_update_job(path: Path, rows: Sequence[tuple[str, str]]) -> Path:
    """The rows as an update-ticket job file (TicketId, Priority)."""
    from batch.commands.demo_jobs import write_job

    return write_job(path, [{"TicketId": t, "Priority": p} for t, p in rows], ("TicketId", "Priority"))


def check_bare_on_emulator(figures: Figures) -> None:
    """The bare script against the real emulator: rows of every kind and state, each updated."""
    from batch.uom.emulator import Emulator, Faults, generate_tickets
    from batch.uom.spec import PRIORITIES

    tickets = generate_tickets(200)
    rows = [(t["TicketId"], next(p for p in PRIORITIES if p != t["Priority"])) for t in tickets]
    emulator = Emulator(generate_tickets(200), Faults())

    async def check() -> None:
        async with emulator.running() as url:
            await bare_run(demo_env(url), rows, 8)

    asyncio.run(check())
    wrong = [t for t, p in rows if emulator.tickets[t]["Priority"] != p]
    if wrong:
        raise RuntimeError(f"the bare script's updates did not land on {wrong[:5]}")
    states = len({(t["TicketProcessType"], t["StateCode"]) for t in tickets})
    figures.add(
        "throughput", "bare script on the emulator, rows updated", f"{len(rows)}", f"{states} kinds×states"
    )


def compile_sources() -> None:
    """Byte-compile batch/ and jobs/ as an install does: PYTHONDONTWRITEBYTECODE would otherwise
    have every `uom-batch` process compile ~100 modules from source (about 0.35 G instructions)."""
    import compileall

    for package in ("batch", "jobs"):
        compileall.compile_dir(ROOT / package, quiet=1)
    compileall.compile_file(Path(__file__), quiet=1)  # the bare script, imported by its processes


def _cpu_pair(pin: bool) -> tuple[int | None, int | None]:
    """(client CPU, stub CPU) when the machine has at least two and pinning is on."""
    cpus = sorted(os.sched_getaffinity(0))
    return (cpus[0], cpus[1]) if pin and len(cpus) >= 2 else (None, None)


def throughput(args: argparse.Namespace, figures: Figures) -> None:
    """Scenario 1: uom-batch vs the bare script, whole processes against the stub."""
    print(f"\n1. throughput: {args.rows} rows at concurrency {args.concurrency}, stub in its own process")
    check_bare_on_emulator(figures)
    compile_sources()
    client_cpu, stub_cpu = _cpu_pair(args.pin)
    todo = clients(args.concurrency, args.engine_arg)
    timings: dict[str, list[Timed]] = {c.name: [] for c in todo}
    rows = [(f"UTM{FIRST_ROW_ID + j}", NEW_PRIORITY) for j in range(args.rows)]
    with tempfile.TemporaryDirectory() as tmp, stub_process(stub_cpu) as (url, stub_pid):
        job = write_update_job(Path(tmp) / "job.csv", rows)
        env = demo_env(url)
        for n in range(args.repeat):
            shown = []
            for client in todo[n % len(todo) :] + todo[: n % len(todo)]:  # rotate the order
                t = measure(
                    client, job, Path(tmp) / f"r{n}-{len(shown)}", env, client_cpu, stub_pid, args.rows
                )
                timings[client.name].append(t)
                shown.append(f"{client.name} {args.rows / t.wall_s:5.0f}")
            print(f"  round {n + 1}: " + ", ".join(shown) + " rows/s")
        if args.profile:
            engine, bare = todo[0], todo[3]
            e = profiled(engine, job, Path(tmp) / "prof-engine", env, client_cpu, stub_pid, args.rows)
            b = profiled(bare, job, Path(tmp) / "prof-bare", env, client_cpu, stub_pid, args.rows)
            args.profile_text = profile_text(b, e, args.rows)
    report_throughput(figures, timings, args.rows)


def report_throughput(figures: Figures, timings: Mapping[str, Sequence[Timed]], rows: int) -> None:
    """Medians per client, then uom-batch over the better bare loop."""
    s = "throughput"
    rate = {name: median([rows / t.wall_s for t in ts]) for name, ts in timings.items()}
    for name, ts in timings.items():
        cpu = median([t.cpu_s / rows * 1e6 for t in ts])
        stub = median([t.stub_cpu_s / t.wall_s * 100 for t in ts])
        figures.add(s, f"{name}, rows/s (median of {len(ts)})", f"{rate[name]:.0f}")
        figures.add(s, "  CPU per row, µs; stub CPU busy", f"{cpu:.0f}; {stub:.0f} %")
    best = max(("bare asyncio", "bare uvloop"), key=rate.__getitem__)
    bare_best = [
        min(a.wall_s, b.wall_s) for a, b in zip(timings["bare asyncio"], timings["bare uvloop"], strict=True)
    ]
    for engine in ("uom-batch (uvloop)", "uom-batch --no-uvloop"):
        per_round = [b / e.wall_s for b, e in zip(bare_best, timings[engine], strict=True)]
        target = "target >= 0.80" if engine == "uom-batch (uvloop)" else ""
        figures.add(s, f"{engine} / {best} (medians)", f"{rate[engine] / rate[best]:.2f}", target)
        figures.add(s, "  median of per-round ratios to the better bare", f"{median(per_round):.2f}")


def latency(args: argparse.Namespace, figures: Figures) -> None:
    """Scenario 2: 100 ms per reply; run_job at concurrency 16 vs a sequential loop."""
    from batch.uom.emulator import generate_tickets
    from batch.uom.emulator.seed import FIRST_REQUEST
    from batch.uom.spec import PRIORITIES

    ms, rows, conc, seq_rows = (
        args.latency_ms,
        args.latency_rows,
        args.latency_concurrency,
        args.sequential_rows,
    )
    print(f"\n2. latency {ms:.0f} ms: run_job {rows} rows at concurrency {conc}, sequential loop {seq_rows}")
    tickets = math.ceil(rows * 5 / 2) + 5  # 2/5 of the generated tickets are requests
    by_id = {t["TicketId"]: t for t in generate_tickets(tickets)}
    work = []
    for j in range(rows):
        ticket = by_id[f"UTM{FIRST_REQUEST + j}"]
        work.append((ticket["TicketId"], next(p for p in PRIORITIES if p != ticket["Priority"])))
    with emulator_process(tickets, "--latency-ms", str(ms)) as url:
        seq_s = asyncio.run(bare_run(demo_env(url), work[:seq_rows], 1))
    with emulator_process(tickets, "--latency-ms", str(ms)) as url:
        report, seconds = engine_in_process(url, work, conc, None)
    check_report(report, rows)
    per_row = seq_s / seq_rows
    s = "latency"
    figures.add(s, f"sequential loop, s/row (over {seq_rows} rows)", f"{per_row:.3f}")
    figures.add(s, f"  extrapolated to {rows} rows, s", f"{per_row * rows:.1f}")
    figures.add(s, f"run_job, {rows} rows at concurrency {conc}, s", f"{seconds:.2f}")
    figures.add(s, "speed-up over the sequential loop", f"{per_row * rows / seconds:.1f}x", f"ideal {conc}x")


def engine_in_process(
    url: str, rows: Sequence[tuple[str, str]], concurrency: int, rate: float | None
) -> tuple[Any, float]:
    """`run_job` over the rows in this process (logs to a file); its report and seconds."""
    import anyio

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        job = write_update_job(out / "job.csv", rows)
        with (out / "run.log").open("w") as log_file, contextlib.redirect_stderr(log_file):
            return anyio.run(_engine, url, job, out, rate, concurrency)


async def _engine(
    url: str, job_path: Path, out: Path, rate: float | None, concurrency: int
) -> tuple[Any, float]:
    from batch.clock import SystemClock
    from batch.commands.prepare import prepare_job
    from batch.runs.run_job import run_job
    from batch.runs.settings import RunSettings
    from batch.uom.client import UomClient
    from batch.uom.credentials import credentials_for
    from batch.uom.emulator import DEMO_CREDENTIALS

    job, kind = prepare_job(job_path, action=None, encoding=None)
    settings = RunSettings(
        rate_per_s=rate,
        concurrency=concurrency,
        ledger_path=out / "ledger.csv",
        journal_path=out / "journal.sqlite",
        new_run=True,
        progress_terminal=False,
        seed=1,
    )
    creds = credentials_for(url, DEMO_CREDENTIALS)
    async with UomClient(creds, max_connections=concurrency) as client:
        started = time.perf_counter()
        report = await run_job(job, kind, client, creds.audit(), settings, SystemClock())
        return report, time.perf_counter() - started


def check_report(report: Any, rows: int) -> None:
    """Every row updated with two calls, or the figures mean nothing."""
    updated = sum(n for o, n in report.counts.items() if o.value == "updated")
    if updated != rows or report.requests != 2 * rows:
        raise RuntimeError(f"run_job: {dict(report.counts)} with {report.requests} requests for {rows} rows")


def rate(args: argparse.Namespace, figures: Figures) -> None:
    """Scenario 3: a rate ceiling, checked against the emulator's own request log."""
    import anyio

    from batch.uom.emulator import Emulator, Faults, generate_tickets
    from batch.uom.spec import PRIORITIES

    limit = args.rate_limit
    rows = max(1, round(limit * args.rate_seconds / 2))
    print(f"\n3. rate limit {limit:g}/s: run_job {rows} rows ({2 * rows} requests), emulator in-process")
    tickets = generate_tickets(rows)
    work = [(t["TicketId"], next(p for p in PRIORITIES if p != t["Priority"])) for t in tickets]
    emulator = Emulator(generate_tickets(rows), Faults())

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        job = write_update_job(out / "job.csv", work)

        async def serve_and_run() -> Any:
            async with emulator.running() as url:
                report, _ = await _engine(url, job, out, limit, args.concurrency)
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


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The bench's options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="throughput rows (default 20000)")
    parser.add_argument("--concurrency", type=int, default=32, help="throughput and rate (default 32)")
    parser.add_argument("--repeat", type=int, default=5, help="throughput rounds (default 5)")
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="do not pin clients and stub")
    parser.add_argument("--engine-arg", action="append", default=[], help="extra `uom-batch run` flag")
    parser.add_argument("--profile", action="store_true", help="cProfile one extra run of uom-batch and bare")
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--latency-rows", type=int, default=200)
    parser.add_argument("--latency-concurrency", type=int, default=16)
    parser.add_argument("--sequential-rows", type=int, default=20)
    parser.add_argument("--rate-limit", type=float, default=100.0, help="requests/s (default 100)")
    parser.add_argument("--rate-seconds", type=float, default=6.0, help="seconds of requests (default 6)")
    parser.add_argument("--only", choices=("throughput", "latency", "rate"), action="append")
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> None:
    """The bench; or, as a child process, the stub (`--stub CPU`) or the bare script (`--bare`)."""
    if argv[:1] == ["--stub"]:
        return stub_main(int(argv[1]) if argv[1:2] != [""] else None)
    if argv[:1] == ["--bare"]:
        loop, _, concurrency, job = argv[1:5]
        return bare_main(loop, Path(job), int(concurrency))
    args = parse_args(argv)
    args.profile_text = ""
    from batch.output.logs import configure_logging

    configure_logging(json_lines=True)  # scenarios 2 and 3 run in this process, logging to a file
    figures = Figures()
    for name, scenario in (("throughput", throughput), ("latency", latency), ("rate", rate)):
        if not args.only or name in args.only:
            scenario(args, figures)
    when, python = f"{datetime.now():%Y-%m-%d %H:%M}", sys.version.split()[0]
    print_table(figures, f"summary ({when}, {os.cpu_count()} CPUs, Python {python})")
    if args.profile_text:
        print("\ncProfile, own time per row by component (client processes only):")
        print(args.profile_text)


if __name__ == "__main__":
    main(sys.argv[1:])
