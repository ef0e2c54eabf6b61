"""The shared budget against a real redis-server on 127.0.0.1: pacing, keys, leases and outages."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import pytest
import redis.asyncio as aioredis
from hypothesis import given
from hypothesis import strategies as st

from batch.clock import SystemClock
from batch.engine.shared_budget import (
    BudgetNotSet,
    BudgetUnavailable,
    LeaseLost,
    SharedBudget,
    connect,
    key_prefix,
    open_shared_budget,
    redacted,
    set_budget,
)
from tests.clocks import FakeClock
from tests.system_tools import needs

pytestmark = needs("redis-server")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """A redis-server of our own on a free port; `persist` keeps an fsync'd AOF across restarts."""

    def __init__(self, workdir: Path, *, persist: bool = False) -> None:
        self.port, self.workdir, self.persist = free_port(), workdir, persist
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server and return once it answers PING."""
        aof = ["--appendonly", "yes", "--appendfsync", "always"] if self.persist else ["--appendonly", "no"]
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--dir", str(self.workdir), *aof],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self._wait_for_ping()

    def _wait_for_ping(self, within_s: float = 10.0) -> None:
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:  # bounded: the server needs a moment to listen
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"redis-server on port {self.port} did not answer PING in {within_s} s")

    def kill(self) -> None:
        """kill -9: no shutdown, no save."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


@pytest.fixture(scope="module")
def shared_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server for the tests that never stop it."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.kill()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server this test may kill and restart (with an AOF, so a restart keeps the data)."""
    server = RedisServer(tmp_path, persist=True)
    server.start()
    yield server
    if server.process is not None and server.process.poll() is None:
        server.kill()


@pytest.fixture
async def client(shared_redis: RedisServer) -> AsyncIterator[aioredis.Redis]:
    """A client of the shared server, emptied first so each test starts clean."""
    conn = connect(shared_redis.url)
    await conn.flushall()
    yield conn
    await conn.aclose()


def max_in_any_second(grants: list[float]) -> int:
    """The most grants in any half-open one-second window [t, t + 1)."""
    ordered = sorted(grants)
    best, end = 0, 0
    for start, t in enumerate(ordered):
        while end < len(ordered) and ordered[end] < t + 1.0:
            end += 1
        best = max(best, end - start)
    return best


async def test_grants_across_shards_stay_within_the_budget_and_reach_it(shared_redis: RedisServer,
                                                                        client: aioredis.Redis) -> None:
    """Three shards, three workers each: no second of Redis TIME over rate*(1-margin), >= 98 % of it."""
    await set_budget(client, "AK-pace", rate=20, margin=0.05, warmup_s=0)  # 19 grants/s
    grants: list[float] = []

    async def worker(budget: SharedBudget, until: float) -> None:
        while (granted := await budget.acquire()) < until:
            grants.append(granted)

    async with (open_shared_budget(shared_redis.url, "AK-pace", "a", SystemClock()) as a,
                open_shared_budget(shared_redis.url, "AK-pace", "b", SystemClock()) as b,
                open_shared_budget(shared_redis.url, "AK-pace", "c", SystemClock()) as c):
        seconds, micros = await client.time()
        until = seconds + micros / 1e6 + 3.0
        async with anyio.create_task_group() as tasks:
            for budget in (a, b, c, a, b, c, a, b, c):
                tasks.start_soon(worker, budget, until)
    assert max_in_any_second(grants) <= 19
    achieved = (len(grants) - 1) / (max(grants) - min(grants))
    assert achieved >= 0.98 * 19, achieved


async def test_two_access_keys_have_independent_budgets(shared_redis: RedisServer,
                                                        client: aioredis.Redis) -> None:
    """Key A pacing at 5/s does not delay key B's first grant; A's next grant waits its interval."""
    for key in ("AK-one", "AK-two"):
        await set_budget(client, key, rate=5, margin=0, warmup_s=0)
    async with (open_shared_budget(shared_redis.url, "AK-one", "s", SystemClock()) as one,
                open_shared_budget(shared_redis.url, "AK-two", "s", SystemClock()) as two):
        first = await one.acquire()
        other = await two.acquire()
        second = await one.acquire()
    assert second - first >= 0.2 - 1e-6  # one interval, to the µs of TIME
    assert other - first < 0.2


async def wait_for_expiry(url: str, key: str) -> None:
    """Return once Redis reports `key` expired (a keyspace event, not a guess at the time)."""
    conn = connect(url, timeout_s=10)
    await conn.config_set("notify-keyspace-events", "Ex")
    async with conn.pubsub() as events:
        await events.subscribe("__keyevent@0__:expired")
        if await conn.exists(key):
            with anyio.fail_after(10):
                async for message in events.listen():
                    if message["type"] == "message" and message["data"] == key:
                        break
    await conn.aclose()


async def test_an_expired_lease_gets_no_grant_and_its_replacement_does(shared_redis: RedisServer,
                                                                       client: aioredis.Redis) -> None:
    """A holder that stops renewing loses its lease: LeaseLost for it, grants for the next holder."""
    await set_budget(client, "AK-lease", rate=100, margin=0, warmup_s=0)
    url = shared_redis.url
    async with open_shared_budget(url, "AK-lease", "shard-1", SystemClock(), lease_ttl_s=0.3) as old:
        await old.acquire()
        with pytest.raises(BudgetUnavailable, match="live lease"):
            async with open_shared_budget(url, "AK-lease", "shard-1", SystemClock()):
                pass
        old.stop_renewing()
        await wait_for_expiry(url, old.keys[2])
        async with open_shared_budget(url, "AK-lease", "shard-1", SystemClock()) as new:
            assert await new.acquire() > 0
            with pytest.raises(LeaseLost) as lost:
                await old.acquire()
            assert lost.value.exit_code == 75
            assert await client.get(new.keys[2]) == new.token


async def test_no_budget_at_start_is_a_clear_error(shared_redis: RedisServer, client: aioredis.Redis) -> None:
    """Starting without a budget record says to run `uom-batch budget set`."""
    with pytest.raises(BudgetNotSet, match="uom-batch budget set"):
        async with open_shared_budget(shared_redis.url, "AK-unset", "s", SystemClock()):
            pass


async def test_redis_killed_fails_closed_then_resumes_exactly(own_redis: RedisServer) -> None:
    """While redis-server is dead nothing is granted; once back, grants resume at the same pace."""
    conn = connect(own_redis.url)
    await set_budget(conn, "AK-outage", rate=10, margin=0, warmup_s=0)
    async with open_shared_budget(own_redis.url, "AK-outage", "s", SystemClock(), outage_s=10) as budget:
        before = await budget.acquire()
        own_redis.kill()
        with anyio.move_on_after(0.5) as waited:
            await budget.acquire()
        assert waited.cancelled_caught  # no grant while Redis is down
        own_redis.start()
        with anyio.fail_after(10):
            after = await budget.acquire()
            again = await budget.acquire()
    await conn.aclose()
    assert after > before
    assert again - after >= 0.1 - 1e-6  # the budget record and the TAT survived: pacing as before


async def test_an_outage_longer_than_outage_s_raises_budget_unavailable(own_redis: RedisServer) -> None:
    """Redis gone for good: acquire keeps failing closed for exactly outage_s, then raises (exit 75)."""
    conn = connect(own_redis.url)
    await set_budget(conn, "AK-gone", rate=10, margin=0, warmup_s=0)
    clock = FakeClock()
    budget = SharedBudget(conn, "AK-gone", "s", clock, outage_s=5)
    await budget.take_lease()
    own_redis.kill()
    with pytest.raises(BudgetUnavailable, match="Redis unreachable") as gone:
        await budget.acquire()
    assert gone.value.exit_code == 75
    assert clock.monotonic() == pytest.approx(5.0)
    await conn.aclose()


async def test_redis_restarted_empty_grants_nothing_until_budget_set_and_warm(tmp_path: Path) -> None:
    """An empty Redis after a restart: no grant (budget not set); set again: none before the warm-up."""
    server = RedisServer(tmp_path)  # no persistence: a restart comes back empty
    server.start()
    conn = connect(server.url)
    try:
        await set_budget(conn, "AK-empty", rate=10, margin=0, warmup_s=0)
        old = SharedBudget(conn, "AK-empty", "s", FakeClock(), outage_s=3)
        await old.take_lease()
        await old.acquire()
        server.kill()
        server.start()
        with pytest.raises(BudgetUnavailable, match="budget not set"):
            await old.acquire()
        await set_budget(conn, "AK-empty", rate=10, margin=0, warmup_s=0.3)
        with pytest.raises(LeaseLost):
            await old.acquire()  # its lease went with the old data: it must be restarted
        new = SharedBudget(conn, "AK-empty", "s", SystemClock())
        await new.take_lease()
        granted = await new.acquire()
        warm_until = int(await conn.hget(new.keys[0], "warm_until_us")) / 1e6
        assert granted >= warm_until
    finally:
        await conn.aclose()
        server.kill()


async def test_redis_holds_only_the_hash_of_the_access_key(shared_redis: RedisServer,
                                                           client: aioredis.Redis) -> None:
    """No key or value in Redis contains the access key id itself."""
    access_key = "AKIDENTIFIER-0123456789"
    await set_budget(client, access_key, rate=10, margin=0.01, warmup_s=0)
    async with open_shared_budget(shared_redis.url, access_key, "s", SystemClock()) as budget:
        await budget.acquire()
        dump = await dump_everything(client)
    assert key_prefix(access_key) in dump
    assert access_key not in dump


async def dump_everything(conn: aioredis.Redis) -> str:
    """Every key and every value in the server, as one string to search."""
    parts: list[str] = []
    async for key in conn.scan_iter():
        kind = await conn.type(key)
        value = await (conn.hgetall(key) if kind == "hash" else conn.get(key))
        parts.append(f"{key}={value}")
    return "\n".join(parts)


@given(st.text(min_size=1))
def test_key_prefix_is_a_hash_tag_that_never_shows_the_key(access_key: str) -> None:
    """Any access key id maps to uom-batch:{16 hex}, the same each time, without the id in it."""
    prefix = key_prefix(access_key)
    assert prefix == key_prefix(access_key)
    assert len(prefix) == len("uom-batch:{}") + 16 and prefix.startswith("uom-batch:{")
    assert access_key not in prefix.removeprefix("uom-batch:") or access_key in "{}0123456789abcdef"


@given(st.text(alphabet=st.characters(blacklist_characters="@/:"), min_size=4))
def test_redacted_urls_never_show_the_password(password: str) -> None:
    """A redis URL with a password is shown without it."""
    shown = redacted(f"redis://user:{password}@10.0.0.5:6379/2")
    assert shown == "redis://10.0.0.5:6379/2"
