"""Backoff arithmetic and retry budgets: pure values, no clock."""

from __future__ import annotations

import dataclasses
import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from batch.engine.backoff import RetryPolicy, backoff_delay_s


def test_without_jitter_delays_double_up_to_the_cap() -> None:
    """jitter=0 gives base * 2**(attempt-1), capped at max_s."""
    rng = random.Random(1)
    delays = [backoff_delay_s(a, base_s=0.2, max_s=3.0, jitter=0.0, rng=rng) for a in range(1, 7)]
    assert delays == pytest.approx([0.2, 0.4, 0.8, 1.6, 3.0, 3.0])


@given(
    attempt=st.integers(min_value=1, max_value=100_000),
    base_s=st.floats(min_value=0.0, max_value=5.0),
    max_s=st.floats(min_value=0.0, max_value=120.0),
    jitter=st.floats(min_value=0.0, max_value=1.0),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_delay_stays_within_its_jitter_band(
    attempt: int, base_s: float, max_s: float, jitter: float, seed: int
) -> None:
    """A delay lies in (ceiling * (1 - jitter), ceiling] and never exceeds max_s."""
    ceiling = min(max_s, base_s * 2.0 ** min(attempt - 1, 60))
    delay = backoff_delay_s(attempt, base_s=base_s, max_s=max_s, jitter=jitter,
                            rng=random.Random(seed))
    assert ceiling * (1 - jitter) - 1e-12 <= delay <= ceiling <= max_s
    assert math.isfinite(delay)


def test_full_jitter_spreads_over_the_whole_range() -> None:
    """jitter=1 ("full jitter") draws delays from nearly zero up to the ceiling."""
    rng = random.Random(7)
    delays = [backoff_delay_s(3, base_s=1.0, max_s=10.0, jitter=1.0, rng=rng) for _ in range(500)]
    assert min(delays) < 0.2 and max(delays) > 3.8
    assert all(0.0 < d <= 4.0 for d in delays)


def test_same_seed_same_delays() -> None:
    """A seeded Random makes the delays reproducible."""
    def run() -> list[float]:
        rng = random.Random(42)
        return [backoff_delay_s(a, base_s=0.2, max_s=10, jitter=0.5, rng=rng) for a in range(1, 9)]

    assert run() == run()


@pytest.mark.parametrize(
    ("attempt", "base_s", "max_s", "jitter"),
    [(0, 0.2, 1.0, 0.5), (1, -0.1, 1.0, 0.5), (1, 0.2, math.inf, 0.5), (1, 0.2, 1.0, 1.5)],
)
def test_bad_arguments_are_refused(attempt: int, base_s: float, max_s: float,
                                   jitter: float) -> None:
    """Attempt < 1, negative or infinite times, or jitter outside [0, 1] are ValueErrors."""
    with pytest.raises(ValueError):
        backoff_delay_s(attempt, base_s=base_s, max_s=max_s, jitter=jitter, rng=random.Random())


def test_policy_defaults() -> None:
    """The default policy gives conflicts 5 and transient failures 4 (>= 3) retries."""
    policy = RetryPolicy()
    assert (policy.max_conflicts, policy.max_transient) == (5, 4)
    assert (policy.base_s, policy.max_s, policy.jitter) == (0.2, 10.0, 0.5)
    assert policy.max_retry_after_s == 60.0


def test_policy_is_frozen() -> None:
    """A RetryPolicy cannot be changed after it is made."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        RetryPolicy().max_s = 1.0  # type: ignore[misc]


def test_zero_policy_never_waits() -> None:
    """RetryPolicy.zero() keeps the budgets but every wait, Retry-After included, is 0."""
    policy = RetryPolicy.zero()
    rng = random.Random(3)
    assert [policy.delay_s(a, rng) for a in range(1, 10)] == [0.0] * 9
    assert policy.retry_after_s(30.0) == 0.0
    assert policy.max_transient == RetryPolicy().max_transient


@pytest.mark.parametrize(
    ("header", "expected"), [(None, 0.0), (-5.0, 0.0), (math.nan, 0.0), (2.5, 2.5), (900.0, 60.0)]
)
def test_retry_after_is_clamped(header: float | None, expected: float) -> None:
    """Retry-After is honoured within [0, max_retry_after_s]; absent or nonsense means 0."""
    assert RetryPolicy().retry_after_s(header) == expected


def test_budgets_count_retries_per_kind() -> None:
    """A row may retry after its 5th conflict but not its 6th; transient after 4th, not 5th."""
    policy = RetryPolicy()
    assert [policy.may_retry_conflict(n) for n in (1, 5, 6)] == [True, True, False]
    assert [policy.may_retry_transient(n) for n in (1, 4, 5)] == [True, True, False]


@pytest.mark.parametrize(
    "kwargs", [{"max_conflicts": -1}, {"jitter": 2.0}, {"max_retry_after_s": math.inf}]
)
def test_bad_policy_is_refused(kwargs: dict[str, float]) -> None:
    """Negative budgets, jitter outside [0, 1] or an infinite Retry-After cap are ValueErrors."""
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
