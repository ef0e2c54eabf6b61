"""The worker pool: a fixed set of workers pulls units from the job as they free up.

Units are produced lazily (memory stays flat in the job's size) and a worker takes the next one
only when it is free, so nothing is taken before there is capacity for it. Units with the same key
(one ticket, or one master) never run at the same time and keep file order: a worker that finds
its unit's key busy hands it to the worker holding the key, which runs it next.

Stopping: `request_stop` (first Ctrl-C, or repeated AUTH_FAILURE) stops taking new units and lets
in-flight ones finish; a second Ctrl-C cancels them (their rows stay in flight in the journal and
are checked on resume).
"""

from __future__ import annotations

import signal
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol

import anyio
import structlog

from batch.engine.unit_runner import UnitDeps, run_unit
from batch.kind import ApiT, RowT, WorkUnit
from batch.outcome import RowOutcome

log = structlog.get_logger("batch")


class OutcomeSink(Protocol):
    """Where the pool puts each unit's outcomes (the run's recorder: journal, progress, log)."""

    def add(self, outcomes: Sequence[RowOutcome]) -> None: ...

    def flush(self) -> None: ...


@dataclass
class StopState:
    """Why the run stopped taking new units, if it did."""

    interrupted: bool = False
    auth_stopped: bool = False
    message: str = ""


class Engine(Generic[RowT, ApiT]):
    """Runs units through `concurrency` workers and records every outcome."""

    def __init__(
        self,
        deps: UnitDeps[RowT, ApiT],
        recorder: OutcomeSink,
        *,
        concurrency: int,
        auth_stop_after: int = 3,
        handle_signals: bool = False,
    ) -> None:
        self._deps = deps
        self._recorder = recorder
        self._concurrency = concurrency
        self._auth_stop_after = auth_stop_after
        self._handle_signals = handle_signals
        self._auth_streak = 0
        # Keys in progress, each with the units waiting for it (None: none waits, the usual case;
        # no deque is allocated per unit).
        self._busy: dict[str, deque[WorkUnit[RowT]] | None] = {}
        self._in_flight: Mapping[int, Mapping[str, Any]] = {}
        self._stopping = anyio.Event()
        self.stop = StopState()

    def request_stop(self, *, interrupted: bool = False, message: str = "") -> None:
        """Take no new units; in-flight ones finish."""
        self.stop.interrupted |= interrupted
        self.stop.message = self.stop.message or message
        self._stopping.set()

    async def run(
        self, units: Iterator[WorkUnit[RowT]], in_flight: Mapping[int, Mapping[str, Any]]
    ) -> StopState:
        """Apply every unit (or until stopped); `in_flight` maps rows to their journalled intents."""
        self._in_flight = in_flight
        async with anyio.create_task_group() as tg:
            if self._handle_signals:
                tg.start_soon(self._watch_signals, tg.cancel_scope)
            todo = iter(units)
            async with anyio.create_task_group() as pool:
                for _ in range(self._concurrency):
                    pool.start_soon(self._work, todo)
            tg.cancel_scope.cancel()  # the signal watcher is done too
        self._recorder.flush()
        return self.stop

    async def _work(self, todo: Iterator[WorkUnit[RowT]]) -> None:
        # Workers share one lazy iterator: a unit is taken only when a worker is free (no queue,
        # no task per row). It is safe without a lock: taking one never awaits.
        for unit in todo:
            if self._stopping.is_set():
                return
            key = unit.key
            if key in self._busy:
                waiting = self._busy[key]
                if waiting is None:
                    waiting = self._busy[key] = deque()
                waiting.append(unit)  # its holder runs it after the current one
                continue
            self._busy[key] = None
            await self._drain_key(unit)

    async def _drain_key(self, unit: WorkUnit[RowT]) -> None:
        """Run `unit`, then the units that came for its key meanwhile, in file order."""
        key = unit.key
        try:
            while True:
                outcomes = await run_unit(unit, self._deps, self._intent_for(unit), self._on_auth)
                self._recorder.add(outcomes)
                waiting = self._busy[key]
                if not waiting or self._stopping.is_set():
                    return
                unit = waiting.popleft()
        finally:
            del self._busy[key]

    def _intent_for(self, unit: WorkUnit[RowT]) -> Mapping[str, Any] | None:
        if not self._in_flight:
            return None  # a fresh run: nothing was in flight
        for row in unit.row_numbers:
            noted = self._in_flight.get(row)
            if noted is not None:
                intent: Mapping[str, Any] = noted["intent"]
                return intent
        return None

    def _on_auth(self, failed: bool) -> None:
        """Count AUTH_FAILUREs in a row; enough of them stop the run instead of failing every row."""
        self._auth_streak = self._auth_streak + 1 if failed else 0
        if self._auth_streak >= self._auth_stop_after and not self.stop.auth_stopped:
            self.stop.auth_stopped = True
            self.request_stop(
                message=f"stopped: {self._auth_streak} AUTH_FAILURE replies in a row; "
                "check UOM_ACCESS_KEY / UOM_SECRET_KEY and the clock (Expire)"
            )

    async def _watch_signals(self, scope: anyio.CancelScope) -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                if self._stopping.is_set() and self.stop.interrupted:
                    log.warning("batch.run_aborted", reason="second interrupt")
                    scope.cancel()
                    return
                log.warning("batch.run_stopping", reason="interrupt; Ctrl-C again to abort")
                self.request_stop(interrupted=True, message="interrupted")
