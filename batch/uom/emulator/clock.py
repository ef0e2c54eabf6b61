"""The emulator's notion of time: a minimal clock protocol, the real clock, and a hand-driven one.

`monotonic()` times the request log, the rate window and latency; `now()` (UTC) checks Expire and
makes the tickets' concurrency stamps. `batch/clock.py` uses the same method names, so either clock
can be passed in. A clock that also has `async sleep(seconds)` is used for injected latency, which
lets a test clock "sleep" instantly by advancing itself.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """What the emulator needs from a clock."""

    def monotonic(self) -> float: ...

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin that never goes back."""
        return time.monotonic()

    def now(self) -> datetime:
        """The current UTC time."""
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to; `sleep` advances it instead of waiting."""

    def __init__(self, start: datetime | None = None, monotonic: float = 1000.0) -> None:
        self._now = start or datetime(2025, 7, 1, 0, 0, 0, tzinfo=UTC)
        self._monotonic = monotonic

    def monotonic(self) -> float:
        """The hand-set monotonic reading."""
        return self._monotonic

    def now(self) -> datetime:
        """The hand-set UTC time."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move both readings forward."""
        self._monotonic += seconds
        self._now += timedelta(seconds=seconds)

    async def sleep(self, seconds: float) -> None:
        """Advance by `seconds` and yield once to the loop, without real waiting."""
        self.advance(seconds)
        await asyncio.sleep(0)
