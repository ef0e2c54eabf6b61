"""Recording outcomes: into the journal in small batches, onto the progress display, into the log.

An outcome counts as done once the journal has it. Batching (by count and by time) keeps SQLite
commits rare enough not to sink throughput; a kill -9 loses at most the last batch, whose rows are
then redone on resume, and the ones that were sent are checked against the ticket, not resent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import structlog
from structlog.typing import FilteringBoundLogger

from batch.clock import Clock
from batch.journal.journal_file import RunState
from batch.outcome import Outcome, RowOutcome

log = structlog.get_logger("batch")
QUIET_OUTCOMES = frozenset({Outcome.UPDATED, Outcome.UNCHANGED, Outcome.RELEASED})


class Recorder:
    """Buffers outcomes and writes them to the journal every `batch_rows` rows or `batch_s` seconds."""

    def __init__(
        self,
        run: RunState,
        clock: Clock,
        *,
        on_done: Callable[[Sequence[RowOutcome]], None] = lambda _: None,
        batch_rows: int = 200,
        batch_s: float = 0.5,
    ) -> None:
        self._run = run
        self._clock = clock
        self._on_done = on_done
        self._batch_rows = batch_rows
        self._batch_s = batch_s
        self._buffer: list[RowOutcome] = []
        self._last_flush = clock.monotonic()
        # Bound once for the run (the module's lazy logger binds anew on every call), and told
        # whether the quiet outcomes' debug lines are shown at all: most runs never build them.
        self._log: FilteringBoundLogger = log.bind()
        self._log_quiet = getattr(self._log, "is_enabled_for", lambda _: True)(logging.DEBUG)

    def add(self, outcomes: Sequence[RowOutcome]) -> None:
        """Take a unit's outcomes; flush when the batch is full or old enough."""
        for outcome in outcomes:
            if self._log_quiet or outcome.outcome not in QUIET_OUTCOMES:
                _log_outcome(self._log, outcome)
        self._buffer.extend(outcomes)
        due = self._clock.monotonic() - self._last_flush >= self._batch_s
        if len(self._buffer) >= self._batch_rows or due:
            self.flush()

    def flush(self) -> None:
        """Write the buffered outcomes in one transaction, then count them as done."""
        if self._buffer:
            batch, self._buffer = self._buffer, []
            self._run.record(batch)
            self._on_done(batch)
        self._last_flush = self._clock.monotonic()


def _log_outcome(bound: FilteringBoundLogger, o: RowOutcome) -> None:
    emit = bound.debug if o.outcome in QUIET_OUTCOMES else bound.info
    emit(
        "batch.row_done",
        row=o.row,
        ticket_id=o.ticket_id,
        outcome=o.outcome.value,
        attempt=o.attempts,
        conflicts=o.conflicts,
        request_id=o.request_id,
        error_type=o.error_type,
        error_message=o.error_message,
    )
