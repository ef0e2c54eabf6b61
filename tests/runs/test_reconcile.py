"""`uom-batch reconcile`: drift reported, checked, corrected, capped (issue #12), against the emulator."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import pytest

from batch.cli import build_parser
from batch.commands.reconcile import _reconcile, max_changes
from batch.errors import JobFileError
from batch.exit_codes import ExitCode
from batch.uom.emulator import Emulator

from .support import MEMO, SETTINGS, credentials_for, entries, write_job

DESIRED = [
    {"TicketId": f"UTM10000{n}", "Priority": "高"}
    for n in range(13, 25)  # some are 高 already
]


def args_for(job: Path, *options: str) -> argparse.Namespace:
    """The parsed command line `uom-batch reconcile JOB OPTIONS`."""
    return build_parser().parse_args(["reconcile", str(job), *options])


async def reconcile(job: Path, url: str, *options: str) -> int:
    """Run the reconcile command in this process (the test's event loop, the emulator in it)."""
    settings = replace(SETTINGS, new_run=True)
    return int(await _reconcile(args_for(job, *options), credentials_for(url), settings))


def drifted(emu: Emulator) -> list[str]:
    """The desired rows' tickets whose Priority is not yet 高."""
    return [r["TicketId"] for r in DESIRED if emu.tickets[r["TicketId"]]["Priority"] != "高"]


async def test_drift_is_reported_and_check_exits_3(
    emu: Emulator, url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without options the drift is printed and nothing written; --check exits 3 while drift remains."""
    job = write_job(tmp_path / "desired.csv", DESIRED)
    want = drifted(emu)
    assert want, "the sample needs tickets that drifted"
    assert await reconcile(job, url) == ExitCode.OK
    said = capsys.readouterr().out
    assert f"drift: {len(want)} of {len(DESIRED)} rows" in said and want[0] in said
    assert await reconcile(job, url, "--check") == ExitCode.DRIFT
    assert not entries(emu, "UpdateTicket")


async def test_apply_corrects_and_a_second_apply_sends_nothing(
    emu: Emulator, url: str, tmp_path: Path
) -> None:
    """--apply sends one UpdateTicket per drifted row; right after, --apply and --check find none."""
    job = write_job(tmp_path / "desired.csv", DESIRED)
    want = drifted(emu)
    assert await reconcile(job, url, "--apply", "--max-changes", "all") == ExitCode.OK
    assert len(entries(emu, "UpdateTicket")) == len(want) and drifted(emu) == []
    assert await reconcile(job, url, "--apply") == ExitCode.OK
    assert await reconcile(job, url, "--check") == ExitCode.OK
    assert len(entries(emu, "UpdateTicket")) == len(want)


async def test_cap_stops_before_any_write(emu: Emulator, url: str, tmp_path: Path) -> None:
    """More drifted rows than --max-changes: nothing changes and the exit code is 4."""
    job = write_job(tmp_path / "desired.csv", DESIRED)
    assert len(drifted(emu)) > 1
    assert await reconcile(job, url, "--apply", "--max-changes", "1") == ExitCode.TOO_MANY_CHANGES
    assert not entries(emu, "UpdateTicket")


async def test_memo_columns_are_refused(emu: Emulator, url: str, tmp_path: Path) -> None:
    """A desired state has no memos: a memo column is refused before any ticket is read."""
    job = write_job(tmp_path / "desired.csv", [{"TicketId": "UTM1000013", MEMO: "x"}])
    with pytest.raises(JobFileError, match="a memo is an action, not a state"):
        await reconcile(job, url)
    assert not emu.log


def test_default_cap_is_a_tenth_at_least_ten() -> None:
    """The default --max-changes: 10 % of the rows, never below 10; `all` lifts it."""
    assert (max_changes(None, 50), max_changes(None, 1000), max_changes(3, 1000)) == (10, 100, 3)
    assert max_changes(float("inf"), 5) == float("inf")
