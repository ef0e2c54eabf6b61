"""A clock for tests (batch.clock.Clock): time moves only when a task sleeps or the test says so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import anyio.lowlevel

_FAKE_WALL_START = datetime(2026, 1, 1, tzinfo=UTC)


class FakeClock:
    """A clock for tests: time advances only through `sleep` or `advance`.

    `sleep(s)` moves the fake time forward by `s` at once and then yields control, so a
    task that sleeps sees exactly `before + s` when it resumes unless others slept meanwhile.
    The wall clock moves in step with the monotonic one.
    """

    def __init__(self, start: float = 0.0, wall_start: datetime = _FAKE_WALL_START) -> None:
        if wall_start.tzinfo is None:
            raise ValueError("wall_start must be timezone-aware")
        self._start = start
        self._t = start
        self._wall_start = wall_start.astimezone(UTC)
        self.slept_s = 0.0  # total asked for through sleep(), for tests that expect no waits

    def monotonic(self) -> float:
        """The fake monotonic time."""
        return self._t

    def now(self) -> datetime:
        """The fake wall clock: `wall_start` plus the fake time elapsed."""
        return self._wall_start + timedelta(seconds=self._t - self._start)

    async def sleep(self, seconds: float) -> None:
        """Advance the fake time by `seconds` (if positive), then yield to other tasks."""
        if seconds > 0:
            self._t += seconds
            self.slept_s += seconds
        await anyio.lowlevel.checkpoint()

    def advance(self, seconds: float) -> None:
        """Move the fake time forward without yielding."""
        if seconds < 0:
            raise ValueError(f"cannot move a clock backwards ({seconds} s)")
        self._t += seconds
