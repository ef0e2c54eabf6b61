"""The rate meter, run on a FakeClock: assertions are on the start instants it granted."""

from __future__ import annotations

import math
from datetime import UTC
from itertools import pairwise

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batch.clock import SystemClock
from batch.engine.rate_meter import HALVING_GAP_S, WINDOW_MARGIN_S, RateMeter
from tests.clocks import FakeClock

T0 = 1000.0  # a realistic monotonic magnitude, so float rounding is exercised


def dispatch(rate: float | None, n: int, tasks: int = 1, work_s: float = 0.0) -> list[float]:
    """Run `tasks` workers that together make `n` starts; return the granted instants."""

    async def main() -> list[float]:
        clock = FakeClock(start=T0)
        meter = RateMeter(rate, clock)
        starts: list[float] = []
        remaining = [n]

        async def worker() -> None:
            while remaining[0] > 0:
                remaining[0] -= 1
                starts.append(await meter.acquire())
                await clock.sleep(work_s)

        async with anyio.create_task_group() as tg:
            for _ in range(tasks):
                tg.start_soon(worker)
        return starts

    return anyio.run(main)


def busiest_second(starts: list[float]) -> int:
    """Most starts in any half-open window [s, s + 1) that begins at a start."""
    ordered = sorted(starts)
    best, j = 0, 0
    for i, s in enumerate(ordered):
        j = max(j, i)
        while j < len(ordered) and ordered[j] < s + 1.0:
            j += 1
        best = max(best, j - i)
    return best


def achieved_rate(starts: list[float]) -> float:
    """Starts per second over the run (between the first and the last start)."""
    return (len(starts) - 1) / (max(starts) - min(starts))


@settings(max_examples=60, deadline=None)
@given(
    rate=st.integers(min_value=1, max_value=120),
    n=st.integers(min_value=1, max_value=400),
    tasks=st.integers(min_value=1, max_value=6),
    work_s=st.sampled_from([0.0, 0.001, 0.05, 0.3, 1.7]),
)
def test_no_second_holds_more_than_rate(rate: int, n: int, tasks: int, work_s: float) -> None:
    """No one-second window ever holds more than `rate` starts, whatever the workers do."""
    assert busiest_second(dispatch(rate, n, tasks, work_s)) <= rate


@settings(max_examples=40, deadline=None)
@given(rate=st.floats(min_value=0.05, max_value=40.0), n=st.integers(2, 120))
def test_fractional_rate_ceiling_is_whole_starts(rate: float, n: int) -> None:
    """A fractional rate allows at most floor(rate) starts (at least 1) in any second."""
    assert busiest_second(dispatch(rate, n, tasks=3)) <= max(1, math.floor(rate))


@settings(max_examples=30, deadline=None)
@given(rate=st.integers(min_value=1, max_value=200), tasks=st.integers(1, 8))
def test_long_run_reaches_the_rate(rate: int, tasks: int) -> None:
    """Over a long run the achieved rate is at least 98% of the configured rate."""
    starts = dispatch(rate, 20 * rate + 1, tasks)
    assert achieved_rate(starts) >= 0.98 * rate
    assert busiest_second(starts) == rate


def test_schedule_keeps_fractional_time() -> None:
    """No time is lost to rounding: 3001 starts at 3 rps span exactly 1000 windows plus margins."""
    starts = dispatch(3, 3001)
    assert starts[-1] - starts[0] == pytest.approx(1000 * (1.0 + WINDOW_MARGIN_S), abs=1e-6)
    assert busiest_second(starts) == 3


def test_first_second_is_not_a_double_burst() -> None:
    """A fresh meter lets through at most `rate` starts in the first second, not a full bucket more."""
    starts = dispatch(10, 100, tasks=20)
    assert sum(1 for s in starts if s < T0 + 1.0) == 10


async def test_idle_time_does_not_accumulate_a_burst() -> None:
    """After a long idle spell starts are paced again from now, not released in a burst."""
    clock = FakeClock(start=T0)
    meter = RateMeter(5, clock)
    for _ in range(5):
        await meter.acquire()
    clock.advance(30.0)
    resumed_at = clock.monotonic()
    after = [await meter.acquire() for _ in range(6)]
    gaps = [b - a for a, b in pairwise(after)]
    assert after[0] == resumed_at  # the first start after idling went at once
    # paced at 1/rate; the sixth waits for the window (plus its margin) after the first
    assert gaps == pytest.approx([0.2] * 4 + [0.2 + WINDOW_MARGIN_S])


async def test_slow_down_halves_once_per_burst_of_signals() -> None:
    """Overload signals halve the rate, once per gap however many arrive, down to a floor."""
    clock = FakeClock(start=T0)
    meter = RateMeter(10, clock)
    meter.slow_down()
    meter.slow_down()
    assert meter.effective_rate == 5.0
    for _ in range(10):
        clock.advance(HALVING_GAP_S)
        meter.slow_down()
    assert meter.effective_rate == 1.0  # floor: a tenth of the configured rate


async def test_floor_is_at_least_half_a_request_per_second() -> None:
    """For a low configured rate the floor is 0.5 rps (or the rate itself, if lower)."""
    clock = FakeClock(start=T0)
    meters = [RateMeter(2, clock), RateMeter(0.3, clock)]
    for _ in range(6):
        clock.advance(HALVING_GAP_S)
        for meter in meters:
            meter.slow_down()
    assert [m.effective_rate for m in meters] == [0.5, 0.3]


async def test_slowed_meter_paces_at_the_effective_rate() -> None:
    """After a slow-down the starts are spaced by the halved rate."""
    clock = FakeClock(start=T0)
    meter = RateMeter(10, clock, recovery_per_s=0.0)
    meter.slow_down()
    starts = [await meter.acquire() for _ in range(5)]
    gaps = [b - a for a, b in pairwise(starts)]
    assert gaps == pytest.approx([0.2] * 4)


async def test_wait_blocks_every_start_until_it_ends() -> None:
    """slow_down(wait_s) lets no request start before now + wait_s."""
    clock = FakeClock(start=T0)
    meter = RateMeter(100, clock)
    await meter.acquire()
    meter.slow_down(wait_s=3.0)
    assert await meter.acquire() >= T0 + 3.0


async def test_rate_recovers_linearly_after_the_wait() -> None:
    """The effective rate climbs back additively from the end of the wait, up to the configured."""
    clock = FakeClock(start=T0)
    meter = RateMeter(10, clock)  # regains 5% of 10 rps = 0.5 rps per second
    meter.slow_down(wait_s=2.0)
    clock.advance(2.0)
    assert meter.effective_rate == pytest.approx(5.0)
    clock.advance(4.0)
    assert meter.effective_rate == pytest.approx(7.0)
    clock.advance(60.0)
    assert meter.effective_rate == 10.0


@pytest.mark.parametrize("rate", [None, 0])
async def test_unlimited_meter_never_waits(rate: float | None) -> None:
    """None or 0 means unlimited: every start is granted at once and there is no rate."""
    clock = FakeClock(start=T0)
    meter = RateMeter(rate, clock)
    starts = [await meter.acquire() for _ in range(1000)]
    assert set(starts) == {T0}
    assert meter.effective_rate is None
    assert meter.rate_per_s is None


async def test_unlimited_meter_honours_a_wait() -> None:
    """An unlimited meter still starts nothing before a slow_down wait ends."""
    clock = FakeClock(start=T0)
    meter = RateMeter(None, clock)
    meter.slow_down(wait_s=1.5)
    assert await meter.acquire() == T0 + 1.5


@pytest.mark.parametrize("rate", [-1.0, math.nan, math.inf])
def test_bad_rate_is_refused(rate: float) -> None:
    """A negative, NaN or infinite rate is a ValueError."""
    with pytest.raises(ValueError, match="rate"):
        RateMeter(rate, FakeClock())


async def test_fake_clock_moves_only_when_asked() -> None:
    """FakeClock advances by sleep and advance only, with the wall clock in step."""
    clock = FakeClock(start=5.0)
    wall = clock.now()
    await clock.sleep(2.0)
    clock.advance(0.5)
    await clock.sleep(-1.0)
    assert clock.monotonic() == 7.5
    assert (clock.now() - wall).total_seconds() == 2.5
    assert clock.slept_s == 2.0
    with pytest.raises(ValueError):
        clock.advance(-1.0)


async def test_system_clock_is_utc_and_monotonic() -> None:
    """SystemClock gives aware UTC wall time and a non-decreasing monotonic time."""
    clock = SystemClock()
    before = clock.monotonic()
    await clock.sleep(0)
    assert clock.monotonic() >= before
    assert clock.now().tzinfo is UTC
