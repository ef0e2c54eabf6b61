"""Shards sharing one access key's Redis budget (issue #13): the emulator's log stays under the ceiling."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import anyio.abc
import pytest

from batch.commands.split import split_job
from batch.uom.emulator import Emulator
from tests.system_tools import needs

from ..engine.test_shared_budget import RedisServer
from .support import MEMO, REPO, cli_env, memo_texts, write_job

RATE, MARGIN = 100, 0.02  # a 1 % margin leaves one request of slack per window: too little for jitter
GRANTED = RATE * (1 - MARGIN)  # what the budget hands out per second
pytestmark = needs("redis-server")
TICKETS = 150  # a fetch and an update each: 300 requests, three seconds at the ceiling
TRANSPORT_JITTER_S = 0.005  # between a grant and the emulator's arrival stamp (see test_rate.py)


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own on 127.0.0.1."""
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()


async def start_shard(state: Path, index: int, url: str, budget: str, log: Path) -> anyio.abc.Process:
    """`uom-batch run --state-dir S --shard i/4 --rate 0 --rate-budget URL` in a subprocess."""
    command = [
        sys.executable,
        "-m",
        "batch",
        "run",
        "--state-dir",
        str(state),
        "--shard",
        f"{index}/4",
        "--rate",
        "0",
        "--rate-budget",
        budget,
        "--log-level",
        "warning",
    ]
    with log.open("ab") as out:
        return await anyio.open_process(command, cwd=REPO, env=cli_env(url), stdout=out, stderr=out)


async def test_four_shards_share_the_budget_and_use_it(
    emu: Emulator, url: str, redis: RedisServer, tmp_path: Path
) -> None:
    """4 shard processes on one key: no one-second window over the ceiling, at least 0.98 of it used."""
    rows = [{"TicketId": t, MEMO: f"budget {t}"} for t in sorted(emu.tickets)[:TICKETS]]
    state = tmp_path / "state"
    split_job(write_job(tmp_path / "job.csv", rows), state, 4, action=None, encoding=None)
    setter = [
        sys.executable,
        "-m",
        "batch",
        "budget",
        "set",
        "--rate",
        str(RATE),
        "--margin",
        str(MARGIN),
        "--warmup-s",
        "0",
        "--redis",
        redis.url,
    ]
    done = await anyio.run_process(setter, cwd=REPO, env=cli_env(url), check=False)
    assert done.returncode == 0, done.stderr.decode()
    log = tmp_path / "shards.log"
    shards = [await start_shard(state, i, url, redis.url, log) for i in range(4)]
    with anyio.fail_after(60):
        codes = [await shard.wait() for shard in shards]
    assert codes == [0, 0, 0, 0], log.read_text()
    arrivals = sorted(e.at for e in emu.log)
    assert len(arrivals) == 2 * len(rows)
    window = 1.0 - TRANSPORT_JITTER_S
    busiest = max(sum(1 for t in arrivals if start <= t < start + window) for start in arrivals)
    assert busiest <= RATE
    achieved = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
    assert achieved >= 0.98 * GRANTED
    assert all(memo_texts(emu, r["TicketId"]).count(r[MEMO]) == 1 for r in rows)
