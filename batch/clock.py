"""Clocks: the one place the engine asks what time it is or waits.

The rate meter and the retry loop take a `Clock` so that tests can run them on a fake one
(tests/clocks.py), where time moves only when someone sleeps or is told to, and assert on exact
instants.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol

import anyio
import anyio.lowlevel

__all__ = ["Clock", "SystemClock"]



class Clock(Protocol):
    """Monotonic time for intervals, a sleep, and the UTC wall clock for records."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (only differences are meaningful)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` (zero or less: just yield to other tasks)."""
        ...

    def now(self) -> datetime:
        """The wall clock as an aware UTC datetime."""
        ...


class SystemClock:
    """The real clock: `time.monotonic`, `anyio.sleep`, `datetime.now(UTC)`."""

    def monotonic(self) -> float:
        """Seconds from `time.monotonic()`."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """Sleep on the running event loop."""
        await anyio.sleep(max(seconds, 0.0))

    def now(self) -> datetime:
        """Aware UTC now."""
        return datetime.now(UTC)
