"""Never two runs of one job at once: an exclusive kernel file lock beside the journal.

`run_lock` takes `flock(LOCK_EX | LOCK_NB)` on `<journal>.lock` for the duration of a with-block.
The kernel drops the lock when the holder's file is closed, so also when the process dies (kill -9
included): a lock file left behind never blocks, unlike a pid file. The holder writes its pid
and start time into the file; a refused run shows them, for information only (the lock itself is
the only truth: the file's text may be stale or half-written).

A busy lock raises `LockBusy` (exit 75, EX_TEMPFAIL: try later) at once, or after polling every
`POLL_S` for up to `wait_s` seconds on the injected clock.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from batch.clock import Clock
from batch.errors import BatchError
from batch.exit_codes import ExitCode

__all__ = ["POLL_S", "Holder", "LockBusy", "lock_path_for", "read_holder", "run_lock"]

POLL_S = 0.2


@dataclass(frozen=True)
class Holder:
    """What the lock file says about its holder (informational: never trusted)."""

    pid: int | None
    started_at: str | None


class LockBusy(BatchError):
    """Another run of the same job holds its lock; try later (exit 75)."""

    exit_code = ExitCode.TEMPFAIL

    def __init__(self, path: Path, holder: Holder, waited_s: float | None) -> None:
        self.path = path
        self.holder = holder
        self.waited_s = waited_s
        super().__init__(self._message())

    def _message(self) -> str:
        who = ", ".join(
            part
            for part in (
                f"pid {self.holder.pid}" if self.holder.pid is not None else "",
                f"since {self.holder.started_at}" if self.holder.started_at else "",
            )
            if part
        )
        held = f"another run of this job holds {self.path}" + (f" ({who})" if who else "")
        if self.waited_s:
            return f"{held}, still after waiting {self.waited_s:g} s; try again later"
        return f"{held}; try again later, or wait for it with --wait-lock SECONDS"


def lock_path_for(journal: Path) -> Path:
    """The lock's conventional place: ``<journal>.lock`` beside the journal."""
    return journal.with_name(journal.name + ".lock")


@asynccontextmanager
async def run_lock(path: Path, *, wait_s: float | None, clock: Clock) -> AsyncIterator[Path]:
    """Hold the exclusive lock on `path` for the block; LockBusy if another process keeps it."""
    if wait_s is not None and not wait_s >= 0:  # `not >=` also refuses NaN
        raise ValueError(f"wait_s must be >= 0, got {wait_s}")
    # "a+": create the file if need be, never truncate what a holder wrote before we own the lock.
    with path.open("a+", encoding="utf-8") as file:
        await _acquire(file, path, wait_s, clock)
        try:
            _write_holder(file, clock)
            yield path
        finally:
            file.truncate(0)  # still ours: a later reader finds no stale holder
            fcntl.flock(file, fcntl.LOCK_UN)


async def _acquire(file: IO[str], path: Path, wait_s: float | None, clock: Clock) -> None:
    """Take the lock, polling until `wait_s` has passed on `clock`; LockBusy when it has."""
    deadline = clock.monotonic() + (wait_s or 0.0)
    while not _try_lock(file):
        left = deadline - clock.monotonic()
        if left <= 0:
            raise LockBusy(path, read_holder(path), wait_s)
        await clock.sleep(min(POLL_S, left))


def _try_lock(file: IO[str]) -> bool:
    try:
        fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _write_holder(file: IO[str], clock: Clock) -> None:
    file.truncate(0)
    file.write(json.dumps({"pid": os.getpid(), "started_at": clock.now().isoformat()}) + "\n")
    file.flush()


def read_holder(path: Path) -> Holder:
    """The holder the lock file names; empty fields when it names none (or is unreadable)."""
    try:
        facts = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Holder(None, None)
    if not isinstance(facts, dict):
        return Holder(None, None)
    pid, started = facts.get("pid"), facts.get("started_at")
    return Holder(pid if isinstance(pid, int) else None, started if isinstance(started, str) else None)
