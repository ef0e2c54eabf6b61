"""The rate meter: when may the next request start, over all workers together.

Two mechanisms, one soft and one hard:

* **Pacing** grants starts on an exact schedule ``t_k = t0 + k / rate`` (computed from an anchor,
  so no fractional time is lost to rounding or to tasks that wake a little late: a start up to
  ``catch_up_s`` behind its slot keeps the schedule). After real idleness the schedule
  re-anchors at "now": unused capacity does not pile up into a burst.
* **The ceiling** is a sliding window over the last ``floor(rate)`` starts (at least 1): a start
  is granted only when the start ``floor(rate)`` places back lies a full second or more in the
  past. So no half-open one-second window ever holds more than ``rate`` starts, whatever the
  pacing, clock jitter or float rounding did. A fractional rate above 1 is therefore capped at
  ``floor(rate)`` per window (the ceiling wins over throughput).

Overload adaptation (AIMD): `slow_down` halves the effective rate (not below a floor, and at most
once per `HALVING_GAP_S` so a burst of 429s from requests already in flight counts once) and,
given a wait, lets nothing start before it ends; the effective rate then climbs back linearly,
``recovery_per_s`` of the configured rate per second, from the end of that wait.

``rate_per_s`` None or 0 means unlimited: `acquire` only honours `slow_down` waits.
A task cancelled while waiting in `acquire` takes no slot. The concurrency cap is not here.
"""

from __future__ import annotations

import math
from collections import deque

import anyio
import anyio.lowlevel

from batch.clock import Clock

__all__ = ["HALVING_GAP_S", "RateMeter"]

HALVING_GAP_S = 1.0  # overload signals closer together than this halve the rate only once
_WINDOW_S = 1.0
# Starts a full second apart by our clock can arrive closer together at the server (network
# jitter of a millisecond or so): the ceiling keeps this much margin, costing about 1 % of rate.
WINDOW_MARGIN_S = 0.01


class RateMeter:
    """A token schedule with a hard sliding-window ceiling, shared by all workers."""

    def __init__(
        self,
        rate_per_s: float | None,
        clock: Clock,
        *,
        floor_fraction: float = 0.1,
        min_floor_per_s: float = 0.5,
        recovery_per_s: float = 0.05,
        catch_up_s: float = 0.1,
    ) -> None:
        if rate_per_s is not None and not (0 <= rate_per_s < math.inf):
            raise ValueError(f"rate must be a finite number >= 0 or None, got {rate_per_s!r}")
        self._clock = clock
        self._rate = rate_per_s or None
        self._not_before = -math.inf
        self._lock = anyio.Lock()
        self._catch_up_s = catch_up_s
        if self._rate is not None:
            self._init_limited(self._rate, floor_fraction, min_floor_per_s, recovery_per_s)

    def _init_limited(self, rate: float, floor_fraction: float, min_floor: float,
                      recovery: float) -> None:
        self._floor = min(rate, max(rate * floor_fraction, min_floor))
        self._slope = rate * recovery  # rate regained per second
        self._eff = rate
        self._eff_since = -math.inf  # ramp from `_eff` starts at this instant
        self._last_halving = -math.inf
        self._starts: deque[float] = deque(maxlen=max(1, math.floor(rate)))
        self._anchor: float | None = None
        self._k = 0
        self._interval = 1.0 / rate

    @property
    def rate_per_s(self) -> float | None:
        """The configured ceiling (None: unlimited)."""
        return self._rate

    @property
    def effective_rate(self) -> float | None:
        """The rate currently paced at, after slow-downs and recovery (None: unlimited)."""
        if self._rate is None:
            return None
        return self._effective(self._clock.monotonic())

    def _effective(self, now: float) -> float:
        assert self._rate is not None
        ramp = max(0.0, now - self._eff_since) * self._slope
        return min(self._rate, self._eff + ramp)

    def slow_down(self, wait_s: float | None = None) -> None:
        """Overload seen (429, Retry-After, a 5xx burst): halve the rate; start nothing for `wait_s`."""
        if wait_s is not None and math.isnan(wait_s):
            raise ValueError("wait_s is NaN")
        now = self._clock.monotonic()
        if wait_s is not None and wait_s > 0:
            self._not_before = max(self._not_before, now + wait_s)
        if self._rate is None:
            return
        current = self._effective(now)
        if now - self._last_halving >= HALVING_GAP_S:
            current = max(self._floor, current / 2)
            self._last_halving = now
        self._eff = current
        self._eff_since = max(now, self._not_before)  # recover only once the wait is over

    def start_now(self) -> bool:
        """Whether a request may start at once without `acquire` (unlimited, and no wait in force).

        Saves the unlimited meter's callers a coroutine per request; a limited meter always
        goes through `acquire`, whose lock keeps the starts in order.
        """
        return self._rate is None and self._clock.monotonic() >= self._not_before

    async def acquire(self) -> float:
        """Wait until a request may start; return the (monotonic) instant it was granted."""
        if self._rate is None:
            return await self._acquire_unlimited()
        async with self._lock:  # FIFO: one head waits for the next slot, the rest queue
            while True:
                now = self._clock.monotonic()
                start, slot, interval = self._plan(now)
                if start <= now:
                    self._commit(now, slot, interval)
                    return now
                await self._clock.sleep(start - now)

    async def _acquire_unlimited(self) -> float:
        # No checkpoint when there is nothing to wait for: the request itself yields soon enough.
        while (now := self._clock.monotonic()) < self._not_before:
            await self._clock.sleep(self._not_before - now)
        return now

    def _plan(self, now: float) -> tuple[float, float, float]:
        """(earliest start, schedule slot, interval) for the next start as seen at `now`."""
        interval = 1.0 / self._effective(now)
        slot = self._next_slot(interval)
        if slot is None or now - slot > self._catch_up_s:
            slot = now  # idle: re-anchor here instead of bursting to catch up
        start = max(slot, self._not_before, self._window_opens())
        return start, slot, interval

    def _next_slot(self, interval: float) -> float | None:
        if self._anchor is None:
            return None
        if interval == self._interval:
            return self._anchor + self._k * interval
        return self._anchor + (self._k - 1) * self._interval + interval  # rate changed

    def _window_opens(self) -> float:
        """When the ceiling lets the next start through: a window after the cap-th last start."""
        if len(self._starts) < (self._starts.maxlen or 1):
            return -math.inf
        return self._starts[0] + _WINDOW_S + WINDOW_MARGIN_S

    def _commit(self, now: float, slot: float, interval: float) -> None:
        if interval == self._interval and slot == self._next_slot(interval):
            self._k += 1  # still on the same exact schedule
        else:
            self._anchor, self._k, self._interval = slot, 1, interval
        self._starts.append(now)
