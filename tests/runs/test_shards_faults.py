"""Split jobs under faults (issue #13): a skewed split, kill -9, SIGSTOP past the lease, Redis down.

Shards are real `python -m batch run --state-dir S --shard i/N` processes against the in-process
emulator (its gate holds requests so that a kill or a stop lands while requests are in flight),
sharing one access key's budget in a redis-server of the test's own (an fsync'd AOF, so a kill -9
and restart keeps the budget, the schedule and the leases). The emulator's log is the judge: its
arrival stamps are `time.monotonic()` of this process, the clock every check here uses.
"""

from __future__ import annotations

import os
import random
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path

import anyio
import anyio.abc
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis.asyncio.client import PubSub

from batch.commands.split import split_job
from batch.engine.shared_budget import (
    GUARD_SHARE,
    MIN_LEASE_TTL_S,
    RENEW_EVERY_S,
    connect,
    key_prefix,
    lease_ttl_for,
    set_budget,
)
from batch.uom.emulator import DEMO_CREDENTIALS, Emulator
from jobs.sharding import shard_numbers
from tests.system_tools import needs

from ..engine.test_shared_budget import RedisServer
from .support import MEMO, REPO, Turnstile, cli_env, read_ledger, write_job
from .test_cli_runs import assert_requested_state

pytestmark = needs("redis-server")

# A 2 % margin: the grants' spacing must absorb the arrival jitter of five processes on two cores.
RATE, MARGIN = 100, 0.02
GRANTED = RATE * (1 - MARGIN)  # what the budget hands out per second
TRANSPORT_JITTER_S = 0.005  # between a grant and the emulator's arrival stamp (see test_rate.py)
CONCURRENCY = 4
TEMPFAIL = 75
Rows = list[dict[str, str]]
Action = Callable[[], Awaitable[None]]
OUTAGE_S = 10.0  # how long redis-server stays down


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own on 127.0.0.1 that it may kill -9 and restart."""
    server = RedisServer(tmp_path, persist=True)
    server.start()
    yield server
    if server.process is not None and server.process.poll() is None:
        server.kill()


def tickets_of(emu: Emulator, shards: int) -> list[list[str]]:
    """The emulator's tickets by the shard their rows land in (jobs.sharding)."""
    ids = sorted(emu.tickets)
    numbers = shard_numbers(pl.DataFrame({"TicketId": ids}), "update-ticket", shards).to_list()
    return [[t for t, n in zip(ids, numbers, strict=True) if n == shard] for shard in range(shards)]


def memo_rows(tickets: Sequence[str], per_ticket: int = 1) -> Rows:
    """`per_ticket` rows per ticket, each with a memo of its own (rows of a ticket spread out)."""
    return [{"TicketId": t, MEMO: f"{t} memo {k}"} for k in range(per_ticket) for t in tickets]


def split(rows: Rows, tmp_path: Path, shards: int) -> Path:
    """The rows as a job file, split into `shards` in tmp_path/state."""
    state = tmp_path / "state"
    split_job(write_job(tmp_path / "job.csv", rows), state, shards, action=None, encoding=None)
    return state


async def set_rate_budget(server: RedisServer) -> None:
    """The demo key's budget: RATE at MARGIN, no warm-up."""
    client = connect(server.url)
    try:
        await set_budget(client, DEMO_CREDENTIALS.access_key, rate=RATE, margin=MARGIN, warmup_s=0)
    finally:
        await client.aclose()


async def start_shard(state: Path, shard: str, url: str, log: Path, *options: str) -> anyio.abc.Process:
    """`uom-batch run --state-dir S --shard i/N --rate 0 OPTIONS` in a subprocess, output to `log`."""
    command = [sys.executable, "-m", "batch", "run", "--state-dir", str(state), "--shard", shard]
    command += ["--rate", "0", "--concurrency", str(CONCURRENCY), "--log-level", "warning", *options]
    with log.open("ab") as out:
        return await anyio.open_process(command, cwd=REPO, env=cli_env(url), stdout=out, stderr=out)


async def run_shard(state: Path, shard: str, url: str, log: Path, *options: str) -> int:
    """Run (or resume) one shard to its end; its exit code."""
    process = await start_shard(state, shard, url, log, *options)
    with anyio.fail_after(60):
        return await process.wait()


async def merge_exactly(state: Path, url: str, emu: Emulator, rows: Rows) -> None:
    """`uom-batch merge`: exit 0, every row once and updated, each ticket as asked, each memo once."""
    out = state.parent / "merged.parquet"
    command = [sys.executable, "-m", "batch", "merge", str(state), "--out", str(out)]
    done = await anyio.run_process(command, cwd=REPO, env=cli_env(url), check=False)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    merged = read_ledger(out)
    assert merged["row"].to_list() == list(range(2, len(rows) + 2))
    assert set(merged["outcome"]) == {"updated"}
    assert_requested_state(emu, rows)


def busiest_window(arrivals: Sequence[float]) -> int:
    """The most arrivals in any window of one second (less the transport jitter) starting at one."""
    ordered, window, best, end = sorted(arrivals), 1.0 - TRANSPORT_JITTER_S, 0, 0
    for start, t in enumerate(ordered):
        while end < len(ordered) and ordered[end] < t + window:
            end += 1
        best = max(best, end - start)
    return best


def setter(event: anyio.Event) -> Action:
    """A gate action that sets `event`."""

    async def action() -> None:
        event.set()

    return action


async def kill_shard_at(state: Path, url: str, gate: Turnstile, arrival: int, log: Path) -> None:
    """Start shard 0/4 and kill -9 it while request number `arrival` (and any after it) is held."""
    gate.hold_from(arrival)
    process = await start_shard(state, "0/4", url, log)
    with anyio.fail_after(30):
        await gate.holding.wait()
    process.kill()
    assert await process.wait() == -signal.SIGKILL
    gate.release()  # the held requests find their client gone and change nothing


async def expired(events: PubSub, key: str) -> None:
    """Return once the subscribed channel of expired keys names `key`."""
    while True:
        event = await events.get_message(ignore_subscribe_messages=True, timeout=0.5)
        if event is not None and event["data"] == key:
            return


async def lease_expiry(server: RedisServer, key: str) -> float:
    """Wait until Redis expires `key` (a keyspace event); when it was due, on time.monotonic()."""
    client = connect(server.url)
    try:
        await client.config_set("notify-keyspace-events", "Ex")
        async with client.pubsub() as events:
            await events.subscribe("__keyevent@0__:expired")
            asked_at = time.monotonic()
            left_ms = await client.pttl(key)
            assert left_ms > 0, f"{key}: no live lease ({left_ms})"
            with anyio.fail_after(30):
                await expired(events, key)
    finally:
        await client.aclose()
    return asked_at + left_ms / 1000  # no later than Redis's own deadline for the key


async def test_a_skewed_split_still_uses_the_budget(
    emu: Emulator, gate: Turnstile, url: str, redis: RedisServer, tmp_path: Path
) -> None:
    """Shard 0 of 4 holds ~90 % of the rows: no second over the ceiling, >= 0.95 of it used."""
    by_shard = tickets_of(emu, 4)
    rows = memo_rows(by_shard[0][:50], per_ticket=3) + [r for s in by_shard[1:] for r in memo_rows(s[:5])]
    state, log = split(rows, tmp_path, 4), tmp_path / "shards.log"
    await set_rate_budget(redis)
    started = anyio.Event()
    gate.on_arrival(1, setter(started))
    shards = [await start_shard(state, "0/4", url, log, "--rate-budget", redis.url)]
    with anyio.fail_after(30):
        await started.wait()  # the others join a run in progress: their start-up is not measured
    shards += [await start_shard(state, f"{i}/4", url, log, "--rate-budget", redis.url) for i in (1, 2, 3)]
    with anyio.fail_after(60):
        codes = [await shard.wait() for shard in shards]
    assert codes == [0, 0, 0, 0], log.read_text()
    arrivals = [e.at for e in emu.log]
    assert busiest_window(arrivals) <= RATE
    achieved = (len(arrivals) - 1) / (max(arrivals) - min(arrivals))
    assert achieved >= 0.95 * GRANTED, achieved
    await merge_exactly(state, url, emu, rows)


async def test_a_shard_killed_three_times_then_finished_merges_exactly(
    emu: Emulator, gate: Turnstile, url: str, tmp_path: Path
) -> None:
    """kill -9 of shard 0 at three held requests, then every shard to its end: an exact merge."""
    by_shard, rng = tickets_of(emu, 4), random.Random(13)
    rows = memo_rows(by_shard[0][:30], per_ticket=2) + [r for s in by_shard[1:] for r in memo_rows(s[:5])]
    state, log = split(rows, tmp_path, 4), tmp_path / "shards.log"
    for _ in range(3):
        await kill_shard_at(state, url, gate, rng.randint(5, 25), log)
    codes = [await run_shard(state, f"{i}/4", url, log) for i in range(4)]
    assert codes == [0, 0, 0, 0], log.read_text()
    await merge_exactly(state, url, emu, rows)


async def test_a_stopped_shard_sends_nothing_after_its_lease_expired(
    emu: Emulator, gate: Turnstile, url: str, redis: RedisServer, tmp_path: Path
) -> None:
    """SIGSTOP past the lease: the replacement exits 75 (journal lock), the old one 75 and sends 0."""
    by_shard = tickets_of(emu, 2)
    rows = memo_rows(by_shard[0][:40]) + memo_rows(by_shard[1][:5])
    state = split(rows, tmp_path, 2)
    await set_rate_budget(redis)
    # --budget-outage-s 1: the shortest lease (shared_budget.lease_ttl_for: 5 s).
    budget = ("--rate-budget", redis.url, "--budget-outage-s", "1")
    gate.hold_from(10, signal_at=CONCURRENCY)
    old = await start_shard(state, "0/2", url, tmp_path / "old.log", *budget)
    with anyio.fail_after(30):
        await gate.holding.wait()  # every worker waits for a reply: none is between grant and send
    os.kill(old.pid, signal.SIGSTOP)
    gate.release()
    expired_at = await lease_expiry(redis, f"{key_prefix(DEMO_CREDENTIALS.access_key)}:lease:shard-0-of-2")
    sent = len(emu.log)
    replacement = tmp_path / "replacement.log"
    assert await run_shard(state, "0/2", url, replacement, *budget) == TEMPFAIL
    assert "another run of this job holds" in replacement.read_text()
    assert len(emu.log) == sent  # the replacement sent nothing
    os.kill(old.pid, signal.SIGCONT)
    with anyio.fail_after(30):
        assert await old.wait() == TEMPFAIL, (tmp_path / "old.log").read_text()
    assert "lease of shard 'shard-0-of-2' expired" in (tmp_path / "old.log").read_text()
    assert [e for e in emu.log if e.at >= expired_at] == []
    assert len(emu.log) == sent
    codes = [await run_shard(state, shard, url, tmp_path / "rest.log", *budget) for shard in ("0/2", "1/2")]
    assert codes == [0, 0], (tmp_path / "rest.log").read_text()
    await merge_exactly(state, url, emu, rows)


async def test_shards_wait_through_a_redis_outage_and_finish(
    emu: Emulator, gate: Turnstile, url: str, redis: RedisServer, tmp_path: Path
) -> None:
    """kill -9 of redis-server for 10 s mid-run: nothing sent meanwhile, no second over, exact merge."""
    rows = memo_rows(sorted(emu.tickets)[:150])
    state, log = split(rows, tmp_path, 4), tmp_path / "shards.log"
    await set_rate_budget(redis)
    down = anyio.Event()
    gate.on_arrival(100, setter(down))
    budget = ("--rate-budget", redis.url, "--budget-outage-s", str(OUTAGE_S + 5))
    shards = [await start_shard(state, f"{i}/4", url, log, *budget) for i in range(4)]
    with anyio.fail_after(30):
        await down.wait()
    redis.kill()
    killed_at = time.monotonic()
    await anyio.sleep(OUTAGE_S)  # the fault itself: Redis stays down this long
    restarted_at = time.monotonic()  # from here a grant may come: the new server may answer at once
    await anyio.to_thread.run_sync(redis.start)
    with anyio.fail_after(60):
        codes = [await shard.wait() for shard in shards]
    assert codes == [0, 0, 0, 0], log.read_text()
    arrivals = [e.at for e in emu.log]
    # Fail closed: what was granted before the kill arrives within milliseconds, then nothing.
    assert [t for t in arrivals if killed_at + 0.5 <= t < restarted_at] == []
    assert 0 < len([t for t in arrivals if t < killed_at]) < len(arrivals)  # resumed after
    assert busiest_window(arrivals) <= RATE
    await merge_exactly(state, url, emu, rows)


@given(st.floats(min_value=0, max_value=3600, allow_nan=False))
def test_the_lease_outlives_the_outage_a_shard_waits_through(outage_s: float) -> None:
    """The lease still counts as held one renewal period, the outage and one retry after its renewal."""
    ttl = lease_ttl_for(outage_s)
    assert ttl >= MIN_LEASE_TTL_S
    assert ttl * (1 - GUARD_SHARE) > RENEW_EVERY_S + outage_s + RENEW_EVERY_S
