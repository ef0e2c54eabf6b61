"""The run lock: one holder at a time across processes, freed by the kernel when its holder dies."""

from __future__ import annotations

import argparse
import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from batch.cli import run_command
from batch.clock import SystemClock
from batch.exit_codes import ExitCode
from batch.journal.lock import POLL_S, LockBusy, lock_path_for, read_holder, run_lock
from tests.clocks import FakeClock

REPO = Path(__file__).resolve().parents[2]
LINE_TIMEOUT_S = 60.0  # only a bound for a broken test: every wait below ends on a line or exit

# A process that takes the lock, says "held", and keeps it until a line arrives on stdin.
HOLDER = """
import sys, anyio
from pathlib import Path
from batch.clock import SystemClock
from batch.journal.lock import run_lock

async def main() -> None:
    async with run_lock(Path(sys.argv[1]), wait_s=None, clock=SystemClock()):
        print("held", flush=True)
        sys.stdin.readline()

anyio.run(main)
"""

# A process that tries the lock (waiting up to argv[2] s, "none" for not at all): says "waiting"
# at its first poll, then "got" or "busy <message>".
CONTENDER = """
import sys, anyio
from pathlib import Path
from batch.clock import SystemClock
from batch.journal.lock import LockBusy, run_lock

class Told(SystemClock):
    said = False

    async def sleep(self, seconds: float) -> None:
        if not self.said:
            print("waiting", flush=True)
            self.said = True
        await super().sleep(seconds)

async def main() -> None:
    wait = None if sys.argv[2] == "none" else float(sys.argv[2])
    try:
        async with run_lock(Path(sys.argv[1]), wait_s=wait, clock=Told()):
            print("got", flush=True)
    except LockBusy as exc:
        print("busy", exc, flush=True)

anyio.run(main)
"""


class Processes:
    """The test's child processes: `python -c script args` from the repo, piped; all reaped at the end."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, script: str, *args: str) -> subprocess.Popen[bytes]:
        """Start one, with pipes on stdin and stdout."""
        command = [sys.executable, "-c", script, *args]
        proc = subprocess.Popen(command, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.started.append(proc)
        return proc

    def reap(self) -> None:
        """Kill what still runs and close every pipe."""
        for proc in self.started:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    pipe.close()


def line(proc: subprocess.Popen[bytes]) -> str:
    """The next line the process prints (waits for it; fails the test if none comes)."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], LINE_TIMEOUT_S)
    assert ready, "the process printed nothing"
    return proc.stdout.readline().decode().strip()


def release(proc: subprocess.Popen[bytes]) -> None:
    """Tell a holder to leave its with-block, and wait for it to exit."""
    assert proc.stdin is not None
    proc.stdin.write(b"\n")
    proc.stdin.flush()
    assert proc.wait(LINE_TIMEOUT_S) == 0


@pytest.fixture
def lock_file(tmp_path: Path) -> Path:
    """The lock beside a journal in a fresh directory."""
    return lock_path_for(tmp_path / "job.csv.journal.sqlite")


@pytest.fixture
def processes() -> Iterator[Processes]:
    """Child processes, reaped after the test whatever happened."""
    children = Processes()
    try:
        yield children
    finally:
        children.reap()


@pytest.fixture
def holder(lock_file: Path, processes: Processes) -> subprocess.Popen[bytes]:
    """Another process holding the lock (it has said "held")."""
    proc = processes.start(HOLDER, str(lock_file))
    assert line(proc) == "held"
    return proc


def test_the_lock_sits_beside_the_journal(tmp_path: Path) -> None:
    """The conventional lock path is `<journal>.lock` in the journal's directory."""
    assert lock_path_for(tmp_path / "a.journal.sqlite") == tmp_path / "a.journal.sqlite.lock"


def test_a_second_process_is_refused_at_once(
    lock_file: Path, holder: subprocess.Popen[bytes], processes: Processes
) -> None:
    """Without a wait, a process finding the lock held gets LockBusy naming the file and the holder's pid."""
    contender = processes.start(CONTENDER, str(lock_file), "none")
    said = line(contender)
    assert contender.wait(LINE_TIMEOUT_S) == 0
    assert said.startswith("busy ")
    assert str(lock_file) in said and f"pid {holder.pid}" in said and "--wait-lock" in said


def test_a_waiting_process_gets_the_lock_once_it_is_released(
    lock_file: Path, holder: subprocess.Popen[bytes], processes: Processes
) -> None:
    """With --wait-lock, a process polls while the lock is held and takes it when the holder leaves."""
    contender = processes.start(CONTENDER, str(lock_file), "120")
    assert line(contender) == "waiting"  # it has found the lock held at least once
    release(holder)
    assert line(contender) == "got"
    assert contender.wait(LINE_TIMEOUT_S) == 0


def test_kill_9_of_the_holder_leaves_no_lock(
    lock_file: Path, holder: subprocess.Popen[bytes], processes: Processes
) -> None:
    """The kernel drops a killed holder's lock: the next process takes it at once, without waiting."""
    os.kill(holder.pid, signal.SIGKILL)
    assert holder.wait(LINE_TIMEOUT_S) == -signal.SIGKILL
    assert lock_file.exists()  # the file stays behind, and does not matter
    contender = processes.start(CONTENDER, str(lock_file), "none")
    assert line(contender) == "got"
    assert contender.wait(LINE_TIMEOUT_S) == 0


async def test_a_wait_polls_on_the_clock_until_it_runs_out(lock_file: Path) -> None:
    """A busy lock with wait_s polls every POLL_S on the injected clock, then raises LockBusy."""
    clock = FakeClock()
    async with run_lock(lock_file, wait_s=None, clock=SystemClock()):
        with pytest.raises(LockBusy) as busy:
            async with run_lock(lock_file, wait_s=1.0, clock=clock):
                pytest.fail("the lock was taken twice")
    assert clock.slept_s == pytest.approx(1.0)
    assert clock.slept_s / POLL_S == pytest.approx(5)
    assert "still after waiting 1 s" in str(busy.value)
    assert busy.value.holder.pid == os.getpid()


async def test_the_lock_is_free_again_after_the_block(lock_file: Path) -> None:
    """Leaving the block (even by an exception) releases the lock and clears the holder's facts."""
    clock = FakeClock()
    with pytest.raises(RuntimeError):
        async with run_lock(lock_file, wait_s=None, clock=clock):
            assert read_holder(lock_file).pid == os.getpid()
            raise RuntimeError("the run broke")
    assert read_holder(lock_file).pid is None
    async with run_lock(lock_file, wait_s=None, clock=clock):
        assert clock.slept_s == 0


async def test_a_negative_wait_is_refused(lock_file: Path) -> None:
    """wait_s must be a duration: a negative or NaN wait is a ValueError, not a silent no-wait."""
    for wait in (-1.0, float("nan")):
        with pytest.raises(ValueError, match="wait_s"):
            async with run_lock(lock_file, wait_s=wait, clock=FakeClock()):
                pass


@given(content=st.binary(max_size=200) | st.text(max_size=80).map(str.encode))
def test_any_lock_file_text_reads_as_some_holder(
    tmp_path_factory: pytest.TempPathFactory, content: bytes
) -> None:
    """Whatever a lock file holds (stale, half-written, garbage), reading its holder never raises."""
    path = tmp_path_factory.mktemp("lock") / "job.lock"
    path.write_bytes(content)
    holder = read_holder(path)
    assert holder.pid is None or isinstance(holder.pid, int)
    assert holder.started_at is None or isinstance(holder.started_at, str)


def test_the_cli_exits_75_with_the_message(lock_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """LockBusy from a command is exit 75 (EX_TEMPFAIL) and one line on stderr, not a traceback."""

    def busy(_: argparse.Namespace) -> int:
        raise LockBusy(lock_file, read_holder(lock_file), None)

    assert run_command(busy, argparse.Namespace()) == ExitCode.TEMPFAIL == 75
    err = capsys.readouterr().err
    assert err.startswith("uom-batch: error: another run of this job holds") and "Traceback" not in err
