"""Fault injection: knobs drawn at random per request, one-shot scripted faults, and the rate window.

All knobs are off by default and may be changed while the server runs. The RNG is seeded, so a
given sequence of requests meets the same faults every run. A scripted fault wins over the knobs,
and a request meets at most one fault (besides latency and the rate limit).

The rate limit is the emulator's own choice (D12; the manual documents none): a sliding one-second
window over every request; an excess request gets HTTP 429 with `Retry-After` and an empty body and
does not count as served.
"""

from __future__ import annotations

import random
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Final

SYSTEM_ERROR: Final = "system_error"
HTTP500: Final = "http500"
DROP_BEFORE: Final = "drop_before"
DROP_AFTER: Final = "drop_after"
RATE_LIMITED: Final = "rate_limited"
OTHER_OPERATOR: Final = "other_operator"
AUTH_FAILURE: Final = "auth_failure"

FAULT_KINDS: Final = frozenset(
    {SYSTEM_ERROR, HTTP500, DROP_BEFORE, DROP_AFTER, RATE_LIMITED, OTHER_OPERATOR, AUTH_FAILURE}
)


@dataclass
class Faults:
    """The knobs; rates are probabilities per request in [0, 1]."""

    latency_s: float = 0.0
    jitter_s: float = 0.0
    rate_limit_rps: float | None = None
    retry_after_s: int = 1
    system_error_rate: float = 0.0
    http500_rate: float = 0.0
    drop_before_rate: float = 0.0
    drop_after_rate: float = 0.0
    other_operator_rate: float = 0.0
    seed: int = 0
    _rng: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def delay_s(self) -> float:
        """How long this request waits before it is handled."""
        jitter = self._rng.uniform(0.0, self.jitter_s) if self.jitter_s > 0 else 0.0
        return max(0.0, self.latency_s) + jitter

    def draw(self) -> str | None:
        """The random fault this request meets, if any; the first knob that fires wins."""
        knobs = (
            (DROP_BEFORE, self.drop_before_rate),
            (HTTP500, self.http500_rate),
            (SYSTEM_ERROR, self.system_error_rate),
            (DROP_AFTER, self.drop_after_rate),
            (OTHER_OPERATOR, self.other_operator_rate),
        )
        for kind, rate in knobs:
            # Draw only for knobs that are on, so turning one on does not shift the others' draws.
            if rate > 0 and self._rng.random() < rate:
                return kind
        return None


class Script:
    """One-shot faults queued per action, taken first in, first out."""

    def __init__(self) -> None:
        self._queues: defaultdict[str, deque[str]] = defaultdict(deque)

    def push(self, action: str, kind: str) -> None:
        """Queue `kind` for the next request of `action`."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        self._queues[action].append(kind)

    def pop(self, action: str) -> str | None:
        """The fault queued for this request of `action`, if any."""
        queue = self._queues.get(action)
        return queue.popleft() if queue else None

    def pending(self, action: str) -> int:
        """How many faults are still queued for `action`."""
        return len(self._queues.get(action, ()))


class RateWindow:
    """A sliding one-second window over served requests."""

    def __init__(self) -> None:
        self._served: deque[float] = deque()

    def full(self, now: float, limit_rps: float | None) -> bool:
        """True when serving one more request now would exceed the limit."""
        while self._served and self._served[0] <= now - 1.0:
            self._served.popleft()
        return limit_rps is not None and len(self._served) >= limit_rps

    def count(self, now: float) -> None:
        """Count a served request."""
        self._served.append(now)
