"""What the operator sees while a run goes: a rich progress bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Self

from batch.clock import Clock
from batch.outcome import Outcome, RowOutcome

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

PLAIN_EVERY_S = 10.0


class RunProgress:
    """Rows done / total, rate, ETA and counts by outcome."""

    def __init__(self, total: int, done: int, clock: Clock, *, terminal: bool | None = None) -> None:
        self._total, self._done, self._clock = total, done, clock
        self._counts: Counter[Outcome] = Counter()
        self._terminal = sys.stderr.isatty() if terminal is None else terminal
        self._started = clock.monotonic()
        self._last_line = self._started
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> Self:
        if self._terminal:
            # Imported here: a run without a terminal (cron, CI, a pipe) never loads rich.
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._bar = Progress(
                TextColumn("[bold]uom-batch"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]:.1f} rows/s"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[counts]}"),
                console=Console(stderr=True),
                transient=False,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task(
                "run", total=self._total, completed=self._done, rate=0.0, counts=""
            )
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.__exit__(et, e, tb)

    def advance(self, outcomes: Sequence[RowOutcome]) -> None:
        """Count newly recorded outcomes and refresh the display."""
        self._counts.update(o.outcome for o in outcomes)
        self._done += len(outcomes)
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=self._done, rate=self.rate, counts=self.counts_text())
        elif self._clock.monotonic() - self._last_line >= PLAIN_EVERY_S:
            self._last_line = self._clock.monotonic()
            print(
                f"uom-batch: {self._done}/{self._total} rows, {self.rate:.1f} rows/s, {self.counts_text()}",
                file=sys.stderr,
                flush=True,
            )

    @property
    def rate(self) -> float:
        """Rows recorded per second since the start."""
        elapsed = self._clock.monotonic() - self._started
        return sum(self._counts.values()) / elapsed if elapsed > 0 else 0.0

    def counts_text(self) -> str:
        """`updated=3 failed=1` for the outcomes seen so far."""
        return " ".join(f"{o.value}={n}" for o, n in sorted(self._counts.items()) if n)
