"""Helpers for the engine tests: job files, in-process and subprocess runs, and a gated emulator clock.

The emulator calls its clock's `sleep` once per admitted request (its latency step, before any
fault or work). `Turnstile` uses that step to let a test act on a request's arrival or hold
requests in flight, so that a kill, a Ctrl-C or a concurrent edit lands exactly where the test
wants it, without timing assumptions. (A held request whose client has gone meanwhile fails when
the emulator reads its body: it changes nothing.)
"""

from __future__ import annotations

import csv
import math
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import anyio
import anyio.abc
import anyio.lowlevel
import polars as pl

from batch.clock import SystemClock
from batch.commands.prepare import prepare_job
from batch.engine.backoff import RetryPolicy
from batch.runs.run_job import RunReport, run_job
from batch.runs.settings import RunSettings
from batch.uom.client import UomClient
from batch.uom.credentials import Credentials, Secret
from batch.uom.emulator import DEMO_CREDENTIALS, Emulator, LogEntry

REPO = Path(__file__).resolve().parents[2]
MEMO = "CorrespondProcess"
MEMOS = "CorrespondProcessList"
SETTINGS = RunSettings(rate_per_s=None, concurrency=8, policy=RetryPolicy.zero(), progress_terminal=False)
Action = Callable[[], Awaitable[None]]


class Turnstile:
    """The emulator's clock: real time, plus a hook at each request's arrival (its latency step)."""

    def __init__(self) -> None:
        self.arrivals = 0
        self.held = 0  # requests held since the last `hold_from`
        self._signal_at = 1
        self._hold_from: float = math.inf
        self._actions: dict[int, Action] = {}
        self.holding = anyio.Event()
        self._open = anyio.Event()

    def monotonic(self) -> float:
        """time.monotonic(), as the emulator's log uses it."""
        return time.monotonic()

    def now(self) -> datetime:
        """The UTC wall clock."""
        return datetime.now(UTC)

    def on_arrival(self, n: int, action: Action) -> None:
        """Run `action` when the n-th request from now arrives, before the emulator handles it."""
        self._actions[self.arrivals + n] = action

    def hold_from(self, n: int, *, signal_at: int = 1) -> None:
        """Hold the n-th request from now and every later one until `release`.

        `holding` is set once `signal_at` requests are held.
        """
        self._hold_from = self.arrivals + n
        self._signal_at = signal_at
        self.held = 0
        self.holding = anyio.Event()
        self._open = anyio.Event()

    def release(self) -> None:
        """Let every held request go on, and hold no more."""
        self._hold_from = math.inf
        self._open.set()

    async def sleep(self, seconds: float) -> None:
        """The emulator's latency step: run the arrival's action, then wait if held."""
        self.arrivals += 1
        action = self._actions.pop(self.arrivals, None)
        if action is not None:
            await action()
        if self.arrivals >= self._hold_from:
            self.held += 1
            if self.held >= self._signal_at:
                self.holding.set()
            await self._open.wait()
        await anyio.lowlevel.checkpoint()


def credentials_for(url: str, **extra: Any) -> Credentials:
    """Client credentials for the emulator's demo key pair."""
    c = DEMO_CREDENTIALS
    secret = extra.pop("secret_key", c.secret_key)
    return Credentials(
        endpoint=url,
        access_key=c.access_key,
        secret_key=Secret(secret),
        service_code=c.service_code,
        master_id=c.master_id,
        **extra,
    )


def cli_env(url: str) -> dict[str, str]:
    """The environment for `python -m batch run` against the emulator at `url`."""
    c = DEMO_CREDENTIALS
    uom = {
        "UOM_ENDPOINT": url,
        "UOM_ACCESS_KEY": c.access_key,
        "UOM_SECRET_KEY": c.secret_key,
        "UOM_SERVICE_CODE": c.service_code,
        "UOM_MASTER_ID": c.master_id,
    }
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("UOM_")}
    return {**inherited, **uom, "PYTHONUNBUFFERED": "1"}


def write_job(path: Path, rows: Sequence[Mapping[str, str]]) -> Path:
    """A UTF-8 CSV job file with the union of the rows' columns (missing cells empty)."""
    columns = list(dict.fromkeys(c for r in rows for c in r))
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


def read_ledger(path: Path) -> pl.DataFrame:
    """The ledger as a frame (Parquet keeps exact values; CSV is read as text)."""
    if path.suffix == ".parquet":
        return pl.read_parquet(path)
    return pl.read_csv(path, infer_schema=False, encoding="utf8")


@dataclass
class Ran:
    """One finished in-process run: its report and its ledger."""

    report: RunReport
    ledger: pl.DataFrame

    @property
    def outcomes(self) -> dict[int, str]:
        """Row number → outcome."""
        return dict(self.ledger.select("row", "outcome").iter_rows())

    def row(self, number: int) -> dict[str, Any]:
        """The ledger row for spreadsheet row `number`."""
        (found,) = self.ledger.filter(pl.col("row") == number).to_dicts()
        return found


async def run_file(
    job: Path, url: str, settings: RunSettings = SETTINGS, *, parquet: bool = True, **cred: Any
) -> Ran:
    """Prepare and run `job` in this process against `url`; Parquet ledger unless `parquet` is False."""
    if settings.ledger_path is None and parquet:
        settings = replace(settings, ledger_path=job.with_suffix(".ledger.parquet"))
    prepared, kind = prepare_job(job, action=None, encoding=None)
    creds = credentials_for(url, **cred)
    async with UomClient(creds, max_connections=settings.concurrency) as client:
        report = await run_job(prepared, kind, client, creds.audit(), settings, SystemClock())
    return Ran(report, read_ledger(report.ledger_path))


def settings(**changes: Any) -> RunSettings:
    """The test settings with `changes`."""
    return replace(SETTINGS, **changes)


async def start_cli(
    job: Path, url: str, *args: str, stderr: int | IO[Any], stdout: IO[Any]
) -> anyio.abc.Process:
    """`python -m batch run JOB` in a subprocess, Parquet ledger beside the job, no rate limit."""
    ledger = job.with_suffix(".ledger.parquet")
    command = [sys.executable, "-m", "batch", "run", str(job), "--rate", "0", "--ledger", str(ledger)]
    command += ["--log-level", "warning", *args]
    return await anyio.open_process(
        command, cwd=REPO, env=cli_env(url), stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr
    )


def memo_texts(emu: Emulator, ticket_id: str) -> list[str]:
    """The ticket's memo texts in seq order."""
    memos = emu.tickets[ticket_id][MEMOS]
    return [m[MEMO] for m in sorted(memos, key=lambda m: int(m["CorrespondProcessSeq"]))]


def entries(emu: Emulator, action: str, ticket_id: str | None = None) -> list[LogEntry]:
    """The emulator's log entries for `action` (naming `ticket_id`, when given)."""
    return [e for e in emu.log if e.action == action and (ticket_id is None or ticket_id in e.ticket_ids)]


def expected_state(rows: Iterable[Mapping[str, str]]) -> dict[str, dict[str, Any]]:
    """Per ticket, the fields and memo texts the rows ask for, folded in file order."""
    state: dict[str, dict[str, Any]] = {}
    for row in rows:
        ticket = state.setdefault(row["TicketId"], {"fields": {}, "memos": []})
        for column, value in row.items():
            if column == MEMO:
                ticket["memos"].append(value)
            elif value and column != "TicketId" and not column.startswith("expect."):
                ticket["fields"][column] = value
    return state
