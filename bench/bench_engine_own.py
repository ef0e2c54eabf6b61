"""Benchmark (not a test): the CPU a row costs uom-batch beyond the network, against the bare script's.

    .venv/bin/python bench/bench_engine_own.py [--rows 20000] [--rounds 3] [--without PART ...]

`bench_engine.py` times whole processes against a stub server; most of each row there is aiohttp,
which both clients share. This one takes the network away to see what is ours: each client runs
in a fresh process with the HTTP exchange replaced by canned replies (the stub's: a real ticket
with the asked TicketId, a RequestId for the update), so a row costs only its own work.

* uom-batch: `uom-batch run JOB --concurrency 32 --rate 0` in-process, its aiohttp session
  replaced by the one below (bodies are serialised, and parsed back for the canned reply);
  everything else is as shipped: loading and validating the job, the pool, signing, reply
  checks, the merge and post-fetch check, the intent log, the journal, the CSV ledger.
* bare: the bare script of `bench_engine.py` (`BareClient.row`: its signer, the body from the
  fetched ticket, both replies parsed) on the same rows at concurrency 32, `session.post` replaced.

Both on uvloop, in interleaved rounds; medians of CPU seconds (`time.process_time`) from the first
request to the last, per row. `--without intents|check|journal|signing` takes that part out of
uom-batch (a no-op in its place) to show what it costs. Measured figures: bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).parent))
import bench_engine as be

PARTS = ("intents", "check", "journal", "signing")


class Canned:
    """The stub's replies without the stub: reply bytes per action, first and last request times."""

    def __init__(self) -> None:
        self._templates = be.stub_templates()
        self._ids = itertools.count(1)
        self.first = self.last = 0.0

    def reply(self, action: str, body: dict[str, Any]) -> bytes:
        now = time.process_time()
        self.first = self.first or now
        self.last = now
        rid = f"STUB{next(self._ids):012d}"
        if action == "GetTicketDetail":
            ticket = be.template_for(body["TicketId"], self._templates)
            return orjson.dumps(
                {"GetTicketDetailResponse": {"RequestId": rid, **ticket, "TicketId": body["TicketId"]}}
            )
        return orjson.dumps({f"{action}Response": {"RequestId": rid}})


def engine_child(job: Path, work: Path, without: Sequence[str]) -> float:
    """`uom-batch run` in this process with canned replies; CPU seconds first to last request."""
    from batch.cli import main
    from batch.uom import client

    canned = Canned()
    opened = client.UomClient.__aenter__

    async def enter(self: Any) -> Any:
        """The client as shipped, its aiohttp session answering from the canned replies."""
        await opened(self)
        await self._session.close()
        self._session = _Session(canned)
        return self

    client.UomClient.__aenter__ = enter  # type: ignore[method-assign]
    _take_out(without)
    argv = ["run", "--concurrency", "32", "--rate", "0", "--journal", str(work / "journal.sqlite")]
    code = main([*argv, "--ledger", str(work / "ledger.csv"), str(job)])
    if code != 0:
        raise SystemExit(f"uom-batch run exited {code}")
    return canned.last - canned.first


def _take_out(parts: Sequence[str]) -> None:
    """Replace the named parts of uom-batch with no-ops (to see what each costs)."""
    if "intents" in parts:
        from batch.runs import run_job

        async def no_note(*_: Any) -> None:
            return None

        run_job._note = no_note  # type: ignore[assignment]
    if "check" in parts:
        from jobs import apply_update

        apply_update.check_update = lambda *_, **__: []  # type: ignore[assignment]
    if "journal" in parts:
        from batch.journal import run_state

        run_state.RunState.record = lambda self, outcomes: None  # type: ignore[method-assign]
    if "signing" in parts:
        from batch.uom import signing

        signing.Signer.headers = lambda self, path, expire: {}  # type: ignore[method-assign]


class _Reply:
    def __init__(self, body: bytes) -> None:
        self.status = 200
        self.headers: dict[str, str] = {}
        self._body = body

    async def __aenter__(self) -> _Reply:
        return self

    async def __aexit__(self, *_: object) -> None:
        return None

    async def read(self) -> bytes:
        return self._body


class _Session:
    """What both clients use of an aiohttp session, answering from the canned replies."""

    def __init__(self, canned: Canned) -> None:
        self._canned = canned

    def post(self, url: Any, *, data: bytes, headers: dict[str, str]) -> _Reply:
        action = str(url).rsplit("/", 1)[1].removesuffix(".json")
        return _Reply(self._canned.reply(action, orjson.loads(data)))

    async def close(self) -> None:
        return None


def bare_child(job: Path) -> float:
    """The bare script's rows with canned replies; CPU seconds first to last request."""
    canned = Canned()
    rows = be.read_rows(job)
    client = be.BareClient(_Session(canned), os.environ)  # type: ignore[arg-type]

    async def run() -> None:
        todo = iter(rows)

        async def worker() -> None:
            for ticket_id, priority in todo:
                await client.row(ticket_id, priority)

        await asyncio.gather(*(worker() for _ in range(32)))

    with asyncio.Runner(loop_factory=be.new_loop_factory("uvloop")) as runner:
        runner.run(run())
    return canned.last - canned.first


def child_main(argv: Sequence[str]) -> None:
    """`--child engine|bare JOB WORK [PART ...]`: one measurement, printed as seconds."""
    which, job, work, *without = argv
    seconds = engine_child(Path(job), Path(work), without) if which == "engine" else bare_child(Path(job))
    print(f"{seconds:.6f}")


def measure(kind: str, job: Path, work: Path, without: Sequence[str], env: dict[str, str]) -> float:
    """One fresh process; its CPU seconds from the first request to the last."""
    work.mkdir()
    command = [sys.executable, __file__, "--child", kind, str(job), str(work), *without]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} failed: {done.stderr[-2000:]}")
    return float(done.stdout.split()[-1])


def main(argv: Sequence[str]) -> None:
    if argv[:1] == ["--child"]:
        return child_main(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--without", action="append", choices=PARTS, default=[], metavar="PART")
    args = parser.parse_args(argv)
    be.compile_sources()
    env = {**be.demo_env("http://127.0.0.1:9"), "PYTHONPATH": str(be.ROOT)}
    configs: list[tuple[str, str, list[str]]] = [("bare script", "bare", []), ("uom-batch", "engine", [])]
    configs += [(f"uom-batch without {part}", "engine", [part]) for part in args.without]
    seconds: dict[str, list[float]] = {name: [] for name, _, _ in configs}
    with tempfile.TemporaryDirectory() as tmp:
        job = be.write_update_job(Path(tmp) / "job.csv", _rows(args.rows))
        for n in range(args.rounds):
            rotated = configs[n % len(configs) :] + configs[: n % len(configs)]
            for i, (name, kind, without) in enumerate(rotated):
                seconds[name].append(measure(kind, job, Path(tmp) / f"r{n}-{i}", without, env))
            shown = ", ".join(f"{k} {v[-1] / args.rows * 1e6:.1f}" for k, v in seconds.items())
            print(f"  round {n + 1}: {shown} µs/row")

    def per_row(name: str) -> float:
        return statistics.median(seconds[name]) / args.rows * 1e6

    bare = per_row("bare script")
    print(f"\nown CPU per row, first request to last, median of {args.rounds} (µs; ratio to the bare script)")
    for name in seconds:
        print(f"  {name:<32} {per_row(name):7.1f}  {per_row(name) / bare:5.2f}x")


def _rows(n: int) -> list[tuple[str, str]]:
    return [(f"UTM{be.FIRST_ROW_ID + j}", be.NEW_PRIORITY) for j in range(n)]


if __name__ == "__main__":
    main(sys.argv[1:])
