"""One run of a validated job: journal, engine, ledger, summary. The CLI and the demo call this.

The journal decides whether this is a new run or the resume of an interrupted one; every input
row ends with exactly one outcome in it (invalid rows first, without sending them; rows the run
never reached as `skipped`), and the ledger is written from it in input order.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, Generic, cast

import structlog

from batch import __version__
from batch.clock import Clock
from batch.engine.metered_api import MeteredApi, StartBudget
from batch.engine.pool import Engine, StopState
from batch.engine.rate_meter import RateMeter
from batch.engine.unit_runner import UnitDeps
from batch.errors import ConfigError
from batch.journal.history import HistoryRecord, record_history
from batch.journal.journal_file import Journal, RunState, journal_path_for
from batch.kind import ApiT, JobKind, RowT, WorkUnit
from batch.outcome import Outcome, RowOutcome, exit_code_for
from batch.output.ledger import default_ledger_path, write_ledger
from batch.output.progress import RunProgress
from batch.runs.recorder import Recorder
from batch.runs.settings import RunSettings

log = structlog.get_logger("batch")


@dataclass(frozen=True)
class PreparedJob(Generic[RowT]):
    """A loaded and validated job file."""

    path: Path
    sha256: str
    kind_name: str
    total_rows: int
    all_rows: Callable[[], Iterable[tuple[int, str]]]  # (row number, ticket id) of every input row
    # Rows decided before anything is sent: the invalid ones; applying a plan, also every row
    # the plan does not send (its predicted unchanged, precondition_failed, failed).
    settled: Sequence[RowOutcome]
    items: Callable[[], Iterator[RowT]]  # the valid rows as the kind's items, in file order
    facts: Mapping[str, str] = field(default_factory=dict)  # audit facts of its own (a plan's)
    # A retry job's rows: their numbers in the first job file (its OriginalRow column), if it has one.
    original_rows: Mapping[int, int] | None = None
    columns: tuple[str, ...] = ()  # the job file's header


@dataclass
class RunReport:
    """What the run did, for the summary and the exit code."""

    counts: dict[Outcome, int]
    error_types: dict[str, int]
    conflicts: int
    requests: int
    duration_s: float
    ledger_path: Path
    resumed: bool
    stop: StopState
    retries: Mapping[str, int] = field(default_factory=dict)  # by class: conflict, transient, rate

    @property
    def exit_code(self) -> int:
        """0, 1 or 130 as the README documents."""
        return exit_code_for(self.counts, self.stop.interrupted, self.stop.auth_stopped)


async def run_job(
    job: PreparedJob[RowT],
    kind: JobKind[RowT, ApiT],
    client: ApiT,
    audit: Mapping[str, str],
    settings: RunSettings,
    clock: Clock,
    budget: StartBudget | None = None,
) -> RunReport:
    """Run (or resume) the job against `client` and write its ledger (`budget`: a shared cap)."""
    ledger_path = settings.ledger_path or default_ledger_path(job.path)
    _check_ledger_path(ledger_path)  # before anything is sent: the ledger must be writable at the end
    started, started_at = clock.monotonic(), clock.now()
    with Journal.open(settings.journal_path or journal_path_for(job.path)) as journal:
        run = _begin(journal, job, settings)
        api = MeteredApi(
            client,
            RateMeter(settings.rate_per_s, clock),
            clock,
            max_retry_after_s=settings.policy.max_retry_after_s,
            budget=budget,
        )
        # The meter wraps every coroutine method of the client: to the kind it is the client.
        stop = await _run_engine(job, kind, cast(ApiT, api), run, settings, clock)
        _settle(run, job, stop)
        facts = {**audit, **_audit_facts(job, settings, run.run_id), "started_at": started_at.isoformat()}
        _write_ledger(ledger_path, run, job, {**facts, "ended_at": clock.now().isoformat()}, settings)
        report = _report(run, api, stop, ledger_path, clock.monotonic() - started)
        record_history(journal, _history(settings.mode, job.sha256, clock.now(), report))
        return report


def _write_ledger(
    path: Path, run: RunState, job: PreparedJob[Any], facts: Mapping[str, str], settings: RunSettings
) -> None:
    """The ledger from the journal, in row order, with the run's audit facts."""
    write_ledger(
        path, run.ledger_rows(), facts, csv_encoding=settings.csv_encoding, original_rows=job.original_rows
    )


def _report(
    run: RunState, api: MeteredApi, stop: StopState, ledger_path: Path, duration_s: float
) -> RunReport:
    """What the run did, read back from the journal and the meter."""
    error_types, conflicts = run.error_summary()
    retries = {"conflict": conflicts, "transient": run.transient_retries(), "rate": api.rate_limited}
    return RunReport(
        run.counts(),
        error_types,
        conflicts,
        api.requests,
        duration_s,
        ledger_path,
        run.resumed,
        stop,
        retries,
    )


def _history(mode: str, job_sha256: str, ended_at: datetime, report: RunReport) -> HistoryRecord:
    return HistoryRecord.finished(
        mode,
        job_sha256,
        ended_at=ended_at,
        duration_s=report.duration_s,
        requests=report.requests,
        counts={o.value: n for o, n in report.counts.items() if n},
        end_status=_end_status(report.stop),
        output_path=str(report.ledger_path),
    )


def _check_ledger_path(path: Path) -> None:
    if path.suffix.lower() not in (".csv", ".parquet"):
        raise ConfigError(f"--ledger {path}: a ledger ends in .csv or .parquet")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{path.parent}: cannot create the ledger's folder: {exc.strerror}") from None


def _begin(journal: Journal, job: PreparedJob[Any], settings: RunSettings) -> RunState:
    """The run to work on (new, or the resumed one), with the settled rows journalled."""
    run = journal.begin(
        job.sha256,
        job.kind_name,
        job.path,
        settings.audit(),
        __version__,
        force_new=settings.new_run,
        resume_only=settings.resume_only,
        once=settings.once,
    )
    log.info(
        "batch.run_started", job=str(job.path), kind=job.kind_name, run_id=run.run_id, resumed=run.resumed
    )
    done = run.final_rows()
    run.record([o for o in job.settled if o.row not in done])
    return run


def _settle(run: RunState, job: PreparedJob[Any], stop: StopState) -> None:
    """Give every row without an outcome one (`skipped`), and write the run's end record."""
    _record_skipped(run, job)
    if stop.auth_stopped:
        # Their failure said nothing about the rows: the credentials did not work. A resume
        # with working credentials retries them, as it does the rows never reached.
        run.reopen_failed("AUTH_FAILURE")
    run.end(_end_status(stop))


async def _run_engine(
    job: PreparedJob[RowT],
    kind: JobKind[RowT, ApiT],
    api: ApiT,
    run: RunState,
    settings: RunSettings,
    clock: Clock,
) -> StopState:
    done = run.final_rows()
    in_flight = run.in_flight()
    deps = UnitDeps(
        kind=kind,
        api=api,
        policy=settings.policy,
        clock=clock,
        rng=random.Random(settings.seed),
        note_intent=partial(_note, run),
    )
    pending = (item for item in job.items() if item.row not in done)
    units = kind.units(pending, group_size=settings.group_size)
    with RunProgress(job.total_rows, len(done), clock, terminal=settings.progress_terminal) as progress:
        recorder = Recorder(run, clock, on_done=progress.advance)
        engine = Engine(
            deps,
            recorder,
            concurrency=settings.concurrency,
            auth_stop_after=settings.auth_stop_after,
            handle_signals=settings.handle_signals,
        )
        stop = await engine.run(units, in_flight)
    if stop.message:
        log.warning("batch.run_stopped", reason=stop.message)
    return stop


def _note(run: RunState, unit: WorkUnit[RowT], attempt: int, intent: Mapping[str, Any]) -> None:
    """Note the unit's intent before its send: in the intent log, with the operating system once
    this returns (survives kill -9)."""
    run.note_intents([(row.row, row.ticket_id, attempt, intent) for row in unit.rows])


def _record_skipped(run: RunState, job: PreparedJob[Any]) -> None:
    """Rows without an outcome (never reached, or aborted in flight) end as `skipped`."""
    done = run.final_rows()
    batch: list[RowOutcome] = []
    for row, ticket_id in job.all_rows():
        if row not in done:
            batch.append(
                RowOutcome(row=row, action=job.kind_name, ticket_id=ticket_id, outcome=Outcome.SKIPPED)
            )
        if len(batch) >= 10_000:
            run.record(batch)
            batch = []
    run.record(batch)


def _end_status(stop: StopState) -> str:
    if stop.auth_stopped:
        return "auth_stopped"
    return "interrupted" if stop.interrupted else "completed"


def _audit_facts(job: PreparedJob[Any], settings: RunSettings, run_id: int) -> dict[str, str]:
    return {
        "tool_version": __version__,
        "job_file": str(job.path),
        "job_sha256": job.sha256,
        "kind": job.kind_name,
        "run_id": str(run_id),
        "mode": settings.mode,
        "journal": str(settings.journal_path or journal_path_for(job.path)),
        **{f"settings.{k}": v for k, v in settings.audit().items()},
        **job.facts,  # a plan's apply names the job the plan was made from, and the plan
    }
