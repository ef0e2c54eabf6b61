"""Retry arithmetic: how long to wait before the next attempt, and how many attempts a row gets.

Pure functions over values (no clock, no I/O); the engine does the waiting on its `Clock`.

Budgets (per row, counted separately):

* conflicts (``EXCLUSION_FAILURE``): up to `RetryPolicy.max_conflicts` retries, each after a
  refetch and merge; the next conflict ends the row as ``failed``.
* transient failures (timeouts, connection resets, HTTP 5xx, ``SYSTEM_ERROR``): up to
  `RetryPolicy.max_transient` retries, each after `backoff_delay_s`.
* 429 / ``Retry-After``: the rate signal, **not** a failure: it spends no attempt from either
  budget. The engine waits (``Retry-After`` capped at `RetryPolicy.max_retry_after_s`, through
  the rate meter's ``slow_down``) and tries again; a run is bounded by time, not by 429 count.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Self

__all__ = ["RetryPolicy", "backoff_delay_s"]

_MAX_EXPONENT = 60  # 2**60 * any sane base is far beyond any max_s


def backoff_delay_s(
    attempt: int, *, base_s: float, max_s: float, jitter: float, rng: random.Random
) -> float:
    """Seconds to wait before retry number `attempt` (1 = the first retry).

    Exponential with proportional jitter: the ceiling is ``min(max_s, base_s * 2**(attempt-1))``
    and the delay is drawn uniformly from ``(ceiling * (1 - jitter), ceiling]``. So
    ``jitter=0`` is plain exponential, ``jitter=1`` is "full jitter" (anywhere up to the
    ceiling), ``0.5`` is "between half and all of it". Never more than `max_s`.
    """
    _check_args(attempt, base_s, max_s, jitter)
    ceiling = min(max_s, base_s * 2.0 ** min(attempt - 1, _MAX_EXPONENT))
    return ceiling * (1.0 - jitter * rng.random())


def _check_args(attempt: int, base_s: float, max_s: float, jitter: float) -> None:
    if attempt < 1:
        raise ValueError(f"attempt counts from 1, got {attempt}")
    if not (0.0 <= jitter <= 1.0):
        raise ValueError(f"jitter must be within [0, 1], got {jitter}")
    if not (0.0 <= base_s < math.inf and 0.0 <= max_s < math.inf):
        raise ValueError(f"base_s and max_s must be finite and >= 0, got {base_s}, {max_s}")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retry budgets and backoff shape (see the module docstring for what each budget covers)."""

    max_conflicts: int = 5
    max_transient: int = 4
    base_s: float = 0.2
    max_s: float = 10.0
    jitter: float = 0.5
    max_retry_after_s: float = 60.0

    def __post_init__(self) -> None:
        if self.max_conflicts < 0 or self.max_transient < 0:
            raise ValueError("retry budgets must be >= 0")
        _check_args(1, self.base_s, self.max_s, self.jitter)
        if not (0.0 <= self.max_retry_after_s < math.inf):
            raise ValueError("max_retry_after_s must be finite and >= 0")

    @classmethod
    def zero(cls) -> Self:
        """Default budgets, no waiting at all (tests): zero backoff and Retry-After capped at 0."""
        return cls(base_s=0.0, max_s=0.0, jitter=0.0, max_retry_after_s=0.0)

    def delay_s(self, attempt: int, rng: random.Random) -> float:
        """`backoff_delay_s` with this policy's shape."""
        return backoff_delay_s(
            attempt, base_s=self.base_s, max_s=self.max_s, jitter=self.jitter, rng=rng
        )

    def retry_after_s(self, header_s: float | None) -> float:
        """The wait to honour for a 429: the server's Retry-After, clamped to [0, max]."""
        if header_s is None or math.isnan(header_s):
            return 0.0
        return min(max(header_s, 0.0), self.max_retry_after_s)

    def may_retry_conflict(self, conflicts_seen: int) -> bool:
        """After the `conflicts_seen`-th conflict of a row, is another attempt allowed?"""
        return conflicts_seen <= self.max_conflicts

    def may_retry_transient(self, transients_seen: int) -> bool:
        """After the `transients_seen`-th transient failure of a row, may it try again?"""
        return transients_seen <= self.max_transient
