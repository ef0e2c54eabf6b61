"""One plan: every row's ticket read through the same pool and meter as a run, nothing written to UOM.

The planning kind (jobs.planning) makes the attempts; here they run with the run's limits,
retries, progress and Ctrl-C handling, and their outcomes (predictions, with the requests a run
would send) are kept in memory for the plan file. A plan has no journal: an interrupted plan is
simply made again.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from batch.clock import Clock
from batch.engine.metered_api import MeteredApi
from batch.engine.pool import Engine, StopState
from batch.engine.rate_meter import RateMeter
from batch.engine.unit_runner import UnitDeps
from batch.journal.history import HistoryRecord
from batch.kind import ApiT, JobKind, RowT, WorkUnit
from batch.outcome import PREDICTIONS, Outcome, RowOutcome, exit_code_for
from batch.output.progress import RunProgress
from batch.runs.run_job import PreparedJob
from batch.runs.settings import RunSettings


@dataclass
class PlanResult:
    """Every row's prediction, and what the planning cost."""

    outcomes: list[RowOutcome]
    requests: int
    duration_s: float
    stop: StopState

    @property
    def counts(self) -> Counter[Outcome]:
        return Counter(o.outcome for o in self.outcomes)

    @property
    def changed_fields(self) -> Counter[str]:
        """How many rows a run would change each field on."""
        return Counter(f for o in self.outcomes if o.outcome in PREDICTIONS for f in o.changed_fields)

    @property
    def exit_code(self) -> int:
        """0 plan complete, 1 some rows would fail or are invalid, 130 interrupted."""
        return exit_code_for(dict(self.counts), self.stop.interrupted, self.stop.auth_stopped)

    @property
    def drift(self) -> int:
        """Rows a run would send: those whose tickets differ from what the job asks."""
        return sum(n for o, n in self.counts.items() if o in PREDICTIONS)

    def history(
        self, mode: str, job_sha256: str, output: Path, ended_at: datetime, **extra: Any
    ) -> HistoryRecord:
        """The run-history entry of this plan (a reconcile gives its apply's figures in `extra`)."""
        figures: dict[str, Any] = {
            "counts": {o.value: n for o, n in self.counts.items()},
            "requests": self.requests,
            "end_status": "completed",
            **extra,
        }
        return HistoryRecord.finished(
            mode,
            job_sha256,
            ended_at=ended_at,
            duration_s=self.duration_s,
            output_path=str(output),
            drift=self.drift,
            **figures,
        )


@dataclass
class _Collected:
    """The plan's outcome sink: keeps everything, tells the progress display."""

    progress: RunProgress
    outcomes: list[RowOutcome] = field(default_factory=list)

    def add(self, outcomes: Sequence[RowOutcome]) -> None:
        self.outcomes.extend(outcomes)
        self.progress.advance(outcomes)

    def flush(self) -> None:
        """Nothing is buffered: the plan file is written at the end."""


async def plan_job(
    job: PreparedJob[RowT], kind: JobKind[RowT, ApiT], client: ApiT, settings: RunSettings, clock: Clock
) -> PlanResult:
    """Predict every row of `job` from the live tickets, reading them at the run's limits."""
    started = clock.monotonic()
    api = MeteredApi(
        client,
        RateMeter(settings.rate_per_s, clock),
        clock,
        max_retry_after_s=settings.policy.max_retry_after_s,
    )
    deps = UnitDeps(
        kind=kind,
        api=cast(ApiT, api),  # the meter has every coroutine method of the client
        policy=settings.policy,
        clock=clock,
        rng=random.Random(settings.seed),
        note_intent=_no_intent,
    )
    units = kind.units(job.items(), group_size=settings.group_size)
    with RunProgress(
        job.total_rows, len(job.settled), clock, terminal=settings.progress_terminal
    ) as progress:
        sink = _Collected(progress, list(job.settled))
        engine = Engine(
            deps,
            sink,
            concurrency=settings.concurrency,
            auth_stop_after=settings.auth_stop_after,
            handle_signals=settings.handle_signals,
        )
        stop = await engine.run(units, {})
    return PlanResult(once_per_ticket(sink.outcomes), api.requests, clock.monotonic() - started, stop)


def once_per_ticket(outcomes: Sequence[RowOutcome]) -> list[RowOutcome]:
    """A later row that would change a ticket an earlier row already changes is predicted `failed`.

    A planned request carries the ticket's timestamps as read, so a second request for the same
    ticket would be stale the moment the first one lands: plan such rows after applying.
    """
    first: dict[str, int] = {}
    kept = []
    for o in sorted(outcomes, key=lambda o: o.row):
        if o.outcome in PREDICTIONS and o.ticket_id in first:
            o = o._replace(
                outcome=Outcome.FAILED,
                error_type="PLANNED_TWICE",
                error_message=f"row {first[o.ticket_id]} already changes {o.ticket_id} in this plan, and a "
                "plan sends one request per ticket (its timestamps as read); plan this row after applying",
                plan=None,
            )
        elif o.outcome in PREDICTIONS:
            first[o.ticket_id] = o.row
        kept.append(o)
    return kept


def _no_intent(unit: WorkUnit[Any], attempt: int, intent: Any) -> None:
    """A plan sends nothing, so it has nothing in flight to note."""
