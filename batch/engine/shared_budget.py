"""The shared rate budget: one request rate per access key, across every shard, kept in Redis.

Each request asks one Lua script (one EVALSHA round trip) for a grant. The script runs GCRA on
Redis's own clock (`TIME`), so the shards' clocks never matter: a grant moves the key's
theoretical arrival time (TAT) one emission interval, ``ceil(1e6 / (rate * (1 - margin)))`` µs,
past now; a caller before the TAT is told how long to wait. Grants are therefore at least one
interval apart on Redis's clock and no one-second window holds more than
``ceil(rate * (1 - margin))`` of them. There is no burst tolerance: any would break that bound.

The script grants only to a caller whose lease (``lease:<shard>``, a random token, TTL renewed
every second, or every TTL/3 if that is shorter, by a background task) is still its own: a paused or
zombie shard whose lease expired gets a distinct "lease" reply, and `acquire` raises `LeaseLost`
(exit 75: the launcher restarts it). `lease_ttl_for(outage_s)` is the TTL that outlives an outage
the shard is willing to wait through: a shard that may wait `outage_s` for Redis must still hold
its lease when Redis is back.

Keys, hash-tagged so one key's keys share a cluster slot, named by a hash of the access key id (the
secret never goes to Redis): ``uom-batch:{<sha256 first 16 hex>}:budget|tat|lease:<shard>``.

Fail closed: when Redis does not answer (or the budget record is gone, as after a restart of an
empty Redis), `acquire` grants nothing; it retries with backoff on the injectable clock for
`outage_s`, then raises `BudgetUnavailable` (exit 75). A fresh budget record grants nothing for
its warm-up, so the grants made before a Redis restart have left the server's window.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any, Final

import anyio
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import BusyLoadingError, ReadOnlyError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from batch.clock import Clock
from batch.engine.backoff import backoff_delay_s
from batch.errors import BatchError, ConfigError
from batch.exit_codes import ExitCode

__all__ = [
    "OUTAGE_ERRORS",
    "BudgetNotSet",
    "BudgetUnavailable",
    "LeaseLost",
    "SharedBudget",
    "budget_state",
    "connect",
    "key_prefix",
    "lease_ttl_for",
    "open_shared_budget",
    "redacted",
    "set_budget",
]

NOT_SET_HINT: Final = "budget not set for this key: uom-batch budget set --rate R"
# Redis's replies that mean "not reachable now" (not a bug in our script): retried, fail closed.
OUTAGE_ERRORS: Final = (RedisConnectionError, RedisTimeoutError, BusyLoadingError, ReadOnlyError, OSError)

# KEYS: budget, tat, lease. ARGV: lease token. Reply {status, µs...}: ok (the slot granted, on
# TIME, and how far ahead of now it is), wait (µs), lease (not ours), unset (no budget). A slot at
# most one interval (or 20 ms) ahead is granted at once, so the caller can be there on time and
# the schedule loses nothing to wake-up latency. Numbers go out through %.0f: Lua's tostring
# would round a µs timestamp to 14 digits.
ACQUIRE_LUA: Final = """
local b = redis.call('HMGET', KEYS[1], 'rate', 'margin', 'warm_until_us')
if not b[1] then return {'unset', 0} end
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return {'lease', 0} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = math.ceil(1000000 / (tonumber(b[1]) * (1 - tonumber(b[2]))))
local slot = math.max(now, tonumber(redis.call('GET', KEYS[2]) or '0'), tonumber(b[3]))
local ahead = slot - now
if ahead > math.max(interval, 20000) then return {'wait', ahead - math.max(interval, 20000)} end
local keep_ms = math.ceil((ahead + interval) / 1000) + 1000
redis.call('SET', KEYS[2], string.format('%.0f', slot + interval), 'PX', keep_ms)
return {'ok', string.format('%.0f', slot), ahead}
"""
# KEYS: budget. ARGV: rate, margin, warmup_s. A new record starts its warm-up; a changed one keeps it.
SET_LUA: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local warm = redis.call('HGET', KEYS[1], 'warm_until_us')
if not warm then warm = string.format('%.0f', now + tonumber(ARGV[3]) * 1000000) end
redis.call('HSET', KEYS[1], 'rate', ARGV[1], 'margin', ARGV[2], 'warmup_s', ARGV[3],
  'set_at_us', string.format('%.0f', now), 'warm_until_us', warm)
return warm
"""
# KEYS: lease. ARGV: token, ttl ms. 1 if still ours (and extended), else 0.
RENEW_LUA: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
RELEASE_LUA: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
RENEW_EVERY_S: Final = 1.0  # at most: a renewal missed in an outage is retried this soon after it
GUARD_SHARE: Final = 0.1  # a lease counts as lost this share of its TTL before it ends
MIN_LEASE_TTL_S: Final = 5.0  # a shard may stall this long, less the guard, before losing its lease


class BudgetUnavailable(BatchError):
    """Redis (or the budget in it) stayed out of reach for `outage_s`: stop sending, exit 75."""

    exit_code: int = ExitCode.TEMPFAIL


class LeaseLost(BudgetUnavailable):
    """This shard's lease expired or another process holds it: no more grants, exit 75."""


class BudgetNotSet(ConfigError):
    """No budget record for this access key at start: `uom-batch budget set` first."""


def lease_ttl_for(outage_s: float) -> float:
    """The lease TTL that outlives a Redis outage of `outage_s`, however it falls between renewals.

    The worst case: the outage begins just before a renewal, ends just after a retry (one more
    second for that retry's round trip), and the lease counts as lost `GUARD_SHARE` of its TTL early.
    """
    return max(MIN_LEASE_TTL_S, (outage_s + 2 * RENEW_EVERY_S + 1.0) / (1 - GUARD_SHARE))


def key_prefix(access_key: str) -> str:
    """``uom-batch:{<hash>}`` for an access key id: its hash only, in a cluster hash tag."""
    digest = hashlib.sha256(access_key.encode("utf-8")).hexdigest()[:16]
    return f"uom-batch:{{{digest}}}"


def redacted(url: str) -> str:
    """A redis URL without its user and password, fit for messages and logs."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}{rest.rpartition('@')[2]}" if sep else "(redis URL)"


def connect(url: str, *, timeout_s: float = 1.0) -> aioredis.Redis:
    """A client that fails fast and never retries on its own: `acquire` judges outages."""
    try:
        return aioredis.Redis.from_url(
            url, decode_responses=True, socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s, retry=Retry(NoBackoff(), 0),
        )
    except ValueError as exc:  # the URL itself: say which part, never echo a password
        raise ConfigError(f"bad --redis URL {redacted(url)}: {exc}") from None


@dataclass
class _Outage:
    """Since when grants have been refused for a reason other than pacing, and how many tries."""

    since: float
    attempts: int = 0


class SharedBudget:
    """Grants request starts from the per-key budget in Redis, for one shard holding a lease."""

    def __init__(self, client: aioredis.Redis, access_key: str, shard: str, clock: Clock, *,
                 lease_ttl_s: float = 15.0, outage_s: float = 60.0, backoff_max_s: float = 1.0,
                 rng: random.Random | None = None) -> None:
        prefix = key_prefix(access_key)
        self._client, self._clock, self.shard = client, clock, shard
        self.keys = (f"{prefix}:budget", f"{prefix}:tat", f"{prefix}:lease:{shard}")
        self.token = f"{shard}:{secrets.token_hex(8)}"
        self._ttl_ms = max(1, round(lease_ttl_s * 1000))
        self._outage_s, self._backoff_max_s = outage_s, backoff_max_s
        self._rng = rng or random.Random()
        self._acquire_lua = client.register_script(ACQUIRE_LUA)
        self._renew_lua = client.register_script(RENEW_LUA)
        self._lock = anyio.Lock()
        self._outage: _Outage | None = None
        self._lost = False
        # When the lease surely ends, by our own clock: from before the request that set it. A
        # process that was paused (SIGSTOP) past it sends nothing, whatever Redis said earlier.
        self._lease_until = -1.0
        self._guard_s = lease_ttl_s * GUARD_SHARE
        self._renew_every_s = min(lease_ttl_s / 3, RENEW_EVERY_S)
        self._renewal = anyio.CancelScope()

    async def take_lease(self) -> None:
        """Check the budget is set and take this shard's lease (both or an error)."""
        try:
            if not await self._client.exists(self.keys[0]):
                raise BudgetNotSet(NOT_SET_HINT)
            asked_at = self._clock.monotonic()
            taken = await self._client.set(self.keys[2], self.token, nx=True, px=self._ttl_ms)
        except OUTAGE_ERRORS as exc:
            raise BudgetUnavailable(f"Redis unreachable at start ({type(exc).__name__}): try later") from None
        if not taken:
            raise BudgetUnavailable(f"shard {self.shard!r} holds a live lease elsewhere: try later")
        self._lease_until = asked_at + self._ttl_ms / 1000

    async def release_lease(self) -> None:
        """Give the lease back (only if still ours) so a replacement need not wait for its TTL."""
        await self._client.register_script(RELEASE_LUA)(keys=[self.keys[2]], args=[self.token])

    async def renew_forever(self) -> None:
        """Extend the lease every second (or TTL/3) until cancelled or until it is found lost."""
        with self._renewal:
            while not self._lost:
                await self._clock.sleep(self._renew_every_s)
                asked_at = self._clock.monotonic()
                try:
                    still_ours = await self._renew_lua(keys=[self.keys[2]], args=[self.token, self._ttl_ms])
                except OUTAGE_ERRORS:
                    continue  # `acquire` judges the outage; the lease may yet survive it
                self._lost = not still_ours
                if still_ours:
                    self._lease_until = asked_at + self._ttl_ms / 1000

    def stop_renewing(self) -> None:
        """Stop extending the lease (it then expires after its TTL): what a paused shard does."""
        self._renewal.cancel()

    async def acquire(self) -> float:
        """Wait until Redis grants a start; return the slot granted, in seconds of Redis's TIME."""
        async with self._lock:  # one head asks Redis at a time; the other workers queue here
            while True:
                self._check_lease()
                granted = await self._ask()
                if granted is not None:
                    self._check_lease()  # we may have been paused between the grant and now
                    return granted

    def _check_lease(self) -> None:
        if self._lost or self._clock.monotonic() >= self._lease_until - self._guard_s:
            self._lost = True
            raise LeaseLost(f"lease of shard {self.shard!r} expired or was taken over: stopping")

    async def _ask(self) -> float | None:
        """One round trip: the grant instant, or None after waiting as told (or backing off)."""
        try:
            status, value, *ahead = await self._acquire_lua(keys=list(self.keys), args=[self.token])
        except OUTAGE_ERRORS as exc:
            await self._back_off(f"Redis unreachable ({type(exc).__name__})")
            return None
        if status == "unset":
            await self._back_off(NOT_SET_HINT)
        elif status == "lease":
            self._lost = True
        elif status == "wait":
            self._outage = None
            await self._clock.sleep(int(value) / 1e6)
        else:
            self._outage = None
            await self._clock.sleep(int(ahead[0]) / 1e6)  # be there at the slot, not before
            return int(value) / 1e6
        return None

    async def _back_off(self, reason: str) -> None:
        """Fail closed: wait and retry, until `outage_s` has passed since the first refusal."""
        now = self._clock.monotonic()
        outage = self._outage = self._outage or _Outage(since=now)
        if now - outage.since >= self._outage_s:
            raise BudgetUnavailable(f"no grant from the shared budget for {self._outage_s:g} s: {reason}")
        outage.attempts += 1
        delay = backoff_delay_s(outage.attempts, base_s=0.05, max_s=self._backoff_max_s, jitter=0.5,
                                rng=self._rng)
        await self._clock.sleep(min(delay, outage.since + self._outage_s - now))


@asynccontextmanager
async def open_shared_budget(url: str, access_key: str, shard: str, clock: Clock,
                             **options: Any) -> AsyncIterator[SharedBudget]:
    """A SharedBudget holding its lease and renewing it, for the length of the block."""
    client = connect(url)
    try:
        budget = SharedBudget(client, access_key, shard, clock, **options)
        await budget.take_lease()
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(budget.renew_forever)
            try:
                yield budget
            finally:
                tasks.cancel_scope.cancel()
                with anyio.CancelScope(shield=True), anyio.move_on_after(2), suppress(*OUTAGE_ERRORS):
                    await budget.release_lease()
    finally:
        await client.aclose()


async def set_budget(client: aioredis.Redis, access_key: str, *, rate: float, margin: float,
                     warmup_s: float) -> None:
    """Write the key's budget record (stamped with Redis's TIME); a new record starts a warm-up."""
    if not (0 < rate < float("inf")) or not (0 <= margin < 1) or not (0 <= warmup_s < float("inf")):
        raise ConfigError(f"bad budget: rate {rate} (> 0), margin {margin} ([0, 1)), "
                          f"warm-up {warmup_s} (>= 0)")
    script = client.register_script(SET_LUA)
    await script(keys=[f"{key_prefix(access_key)}:budget"], args=[repr(rate), repr(margin), repr(warmup_s)])


async def budget_state(client: aioredis.Redis, access_key: str) -> dict[str, Any]:
    """The key's budget record, its live leases with their TTLs (s) and the TAT ahead of now (s)."""
    prefix = key_prefix(access_key)
    record = await client.hgetall(f"{prefix}:budget")
    seconds, micros = await client.time()
    now_us = seconds * 1_000_000 + micros
    tat = await client.get(f"{prefix}:tat")
    leases = {}
    async for key in client.scan_iter(match=f"{prefix}:lease:*"):
        leases[key.removeprefix(f"{prefix}:lease:")] = max(0, await client.pttl(key)) / 1000
    return {
        "record": record,
        "leases": leases,
        "tat_ahead_s": max(0, int(tat) - now_us) / 1e6 if tat else 0.0,
        "redis_time_us": now_us,
    }
