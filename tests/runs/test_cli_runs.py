"""`python -m batch run` in a subprocess: kill -9 at random points and resume, Ctrl-C, exit code 2.

The emulator runs in the test's event loop; its gate holds requests so that each kill or
interrupt lands while requests are in flight, at a request count drawn from a seeded RNG.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import anyio
import anyio.abc
import polars as pl
import pytest

from batch.uom.emulator import Emulator, Faults

from .support import (
    MEMO,
    Turnstile,
    entries,
    expected_state,
    memo_texts,
    read_ledger,
    run_file,
    start_cli,
    write_job,
)

CLOSE = {"StateCode": "クローズ", "FinishApprovalUserId": "SA1234567", "expect.StateCode": "復旧済み"}
TWICE = "UTM1000040"  # a ticket with three rows
CONCURRENCY = 8  # the CLI's default


def job_rows() -> list[dict[str, str]]:
    """35 rows: closes with a memo, field-only renames, and three rows of one ticket spread out."""
    closes = [{"TicketId": f"UTM10000{n}", **CLOSE, MEMO: f"closed {n}"} for n in range(13, 37)]
    renames = [{"TicketId": f"UTM200000{n}", "Title": f"renamed {n}"} for n in range(1, 9)]
    first, second, third = (
        {"TicketId": TWICE, "Priority": "高", MEMO: "p1"},
        {"TicketId": TWICE, "Priority": "低", MEMO: "p2"},
        {"TicketId": TWICE, "Importance": "高", MEMO: "p3"},
    )
    return [*closes[:8], first, *renames, *closes[8:16], second, *closes[16:], third]


def assert_requested_state(emu: Emulator, rows: Sequence[Mapping[str, str]]) -> None:
    """Every ticket holds the fields its rows ask for, and each memo text exactly once."""
    for ticket_id, want in expected_state(rows).items():
        ticket = emu.tickets[ticket_id]
        assert {f: ticket[f] for f in want["fields"]} == want["fields"], ticket_id
        texts = memo_texts(emu, ticket_id)
        assert [texts.count(t) for t in want["memos"]] == [1] * len(want["memos"]), ticket_id


async def kill_at(job: Path, url: str, gate: Turnstile, arrival: int, log: Path) -> None:
    """Start a run and kill -9 it while request number `arrival` (and any after it) is held."""
    gate.hold_from(arrival)
    with log.open("ab") as out:
        proc = await start_cli(job, url, stdout=out, stderr=out)
    with anyio.fail_after(30):
        await gate.holding.wait()
    proc.kill()
    assert await proc.wait() == -signal.SIGKILL
    gate.release()  # the held requests find their client gone and change nothing


async def run_to_end(job: Path, url: str, log: Path) -> int:
    """Run (or resume) the job in a subprocess to completion; its exit code."""
    with log.open("ab") as out:
        proc = await start_cli(job, url, stdout=out, stderr=out)
    with anyio.fail_after(60):
        return await proc.wait()


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_kill_and_resume_leaves_every_row_one_outcome(
    emu: Emulator, gate: Turnstile, url: str, tmp_path: Path, seed: int
) -> None:
    """Killed twice mid-flight and resumed: each row one outcome, tickets as asked, no memo twice."""
    emu.faults = Faults(latency_s=1e-6, drop_after_rate=0.05, seed=seed)
    rng, rows, log = random.Random(seed), job_rows(), tmp_path / "runs.log"
    job = write_job(tmp_path / "job.csv", rows)
    await kill_at(job, url, gate, rng.randint(12, 40), log)
    await kill_at(job, url, gate, rng.randint(10, 25), log)
    assert await run_to_end(job, url, log) == 0, log.read_text()
    ledger = read_ledger(job.with_suffix(".ledger.parquet"))
    assert ledger["row"].to_list() == list(range(2, len(rows) + 2))
    assert set(ledger["outcome"]) == {"updated"}
    assert_requested_state(emu, rows)


async def read_until(stream: anyio.abc.ByteReceiveStream, text: str) -> str:
    """Read `stream` until `text` appears; everything read."""
    seen = b""
    with anyio.fail_after(30):
        while text.encode() not in seen:
            seen += await stream.receive()
    return seen.decode()


async def interrupt(job: Path, url: str, gate: Turnstile, arrival: int) -> tuple[int, float]:
    """Ctrl-C a run while every worker waits on a held request; release them once it stops.

    Returns the exit code and the instant of the release.
    """
    gate.hold_from(arrival, signal_at=CONCURRENCY)
    with (job.parent / "out.log").open("ab") as out:
        proc = await start_cli(job, url, stdout=out, stderr=subprocess.PIPE)
    with anyio.fail_after(30):
        await gate.holding.wait()
    proc.send_signal(signal.SIGINT)
    assert proc.stderr is not None
    await read_until(proc.stderr, "batch.run_stopping")
    released_at = time.monotonic()
    gate.release()
    with anyio.fail_after(30):
        return await proc.wait(), released_at


async def test_ctrl_c_finishes_in_flight_rows_and_resumes(
    emu: Emulator, gate: Turnstile, url: str, tmp_path: Path
) -> None:
    """Ctrl-C: no new rows, in-flight ones finish, the ledger is written, exit 130; a resume ends it."""
    rows = job_rows()
    job = write_job(tmp_path / "job.csv", rows)
    code, released_at = await interrupt(job, url, gate, arrival=12)
    assert code == 130
    ledger = read_ledger(job.with_suffix(".ledger.parquet"))
    assert ledger.height == len(rows) and set(ledger["outcome"]) == {"updated", "skipped"}
    assert [e for e in entries(emu, "GetTicketDetail") if e.at > released_at] == []
    fetched = [e.ticket_ids[0] for e in entries(emu, "GetTicketDetail")]
    done = ledger.filter(pl.col("outcome") == "updated")["ticket_id"].to_list()
    assert sorted(done) == sorted(fetched) and len(entries(emu, "UpdateTicket")) == len(done)
    assert await run_to_end(job, url, tmp_path / "out.log") == 0
    assert set(read_ledger(job.with_suffix(".ledger.parquet"))["outcome"]) == {"updated"}
    assert_requested_state(emu, rows)


async def test_changed_job_file_exits_2(emu: Emulator, url: str, tmp_path: Path) -> None:
    """Resuming an interrupted run whose job file changed is refused with a message and exit code 2."""
    job = write_job(tmp_path / "job.csv", [{"TicketId": "UTM1000010", MEMO: "x"}] * 4)
    stopped = await run_file(job, url, secret_key="wrong" * 8)
    assert stopped.report.stop.auth_stopped
    write_job(job, [{"TicketId": "UTM1000010", MEMO: "y"}])
    with (tmp_path / "out.log").open("wb") as out:
        proc = await start_cli(job, url, stdout=out, stderr=subprocess.PIPE)
        assert proc.stderr is not None
        message = await read_until(proc.stderr, "\n")
        assert await proc.wait() == 2
    assert "job file changed since the interrupted run" in message and "--new-run" in message
    assert entries(emu, "UpdateTicket") == []


async def test_second_ctrl_c_aborts_in_flight_rows(
    emu: Emulator, gate: Turnstile, url: str, tmp_path: Path
) -> None:
    """A second Ctrl-C aborts in-flight rows: they end skipped, exit 130; the resume checks and ends them."""
    rows = job_rows()
    job = write_job(tmp_path / "job.csv", rows)
    gate.hold_from(12, signal_at=CONCURRENCY)
    with (tmp_path / "out.log").open("ab") as out:
        proc = await start_cli(job, url, stdout=out, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    with anyio.fail_after(30):
        await gate.holding.wait()
    for line in ("batch.run_stopping", "batch.run_aborted"):
        proc.send_signal(signal.SIGINT)
        await read_until(proc.stderr, line)
    with anyio.fail_after(30):
        assert await proc.wait() == 130
    gate.release()
    ledger = read_ledger(job.with_suffix(".ledger.parquet"))
    counts = dict(ledger["outcome"].value_counts().iter_rows())
    assert counts["skipped"] >= CONCURRENCY and counts.get("updated", 0) == len(entries(emu, "UpdateTicket"))
    assert await run_to_end(job, url, tmp_path / "out.log") == 0
    assert set(read_ledger(job.with_suffix(".ledger.parquet"))["outcome"]) == {"updated"}
    assert_requested_state(emu, rows)
