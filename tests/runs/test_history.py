"""The run history in a job's journal (issue #12): every run, plan and reconcile, with its counts."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import anyio
import pytest

from batch.commands.plan import record_plan
from batch.commands.prepare import prepare_job
from batch.commands.reconcile import _reconcile
from batch.journal.history import HistoryRecord, append_history, read_history
from batch.journal.journal_file import journal_path_for
from batch.uom.emulator import Emulator

from .support import REPO, SETTINGS, cli_env, credentials_for, run_file, write_job
from .test_plan import make_plan
from .test_reconcile import args_for

ROWS = [{"TicketId": "UTM1000013", "Priority": "低"}, {"TicketId": "UTM1000014", "Priority": "中"}]


async def test_each_run_plan_and_reconcile_leaves_one_record(emu: Emulator, url: str, tmp_path: Path) -> None:
    """A run, a plan and a reconcile of one job: three records, in order, with their counts."""
    job = write_job(tmp_path / "job.csv", ROWS)
    await run_file(job, url)
    prepared, _ = prepare_job(job, action=None, encoding=None)
    out, result = await make_plan(job, url)
    record_plan(prepared, result, out, "plan")  # what the plan command does after writing the plan
    await _reconcile(args_for(job, "--check"), credentials_for(url), replace(SETTINGS, new_run=True))
    records = read_history(journal_path_for(job))
    assert [r.mode for r in records] == ["run", "plan", "reconcile"]
    run, plan, reconcile = records
    assert run.counts == {"updated": 2} and run.requests == 4 and run.end_status == "completed"
    assert run.output_path.endswith("job.ledger.parquet")
    assert plan.counts == {"unchanged": 2} and plan.drift == 0 and plan.requests == 2
    assert reconcile.drift == 0 and {r.job_sha256 for r in records} == {prepared.sha256}


def test_unknown_mode_is_refused(tmp_path: Path) -> None:
    """A history record names one of the known modes."""
    record = HistoryRecord("nightly", "a" * 64, "2026-01-01T00:00:00", "2026-01-01T00:00:01", "completed")
    with pytest.raises(ValueError, match="unknown history mode"):
        append_history(tmp_path / "j.sqlite", record)


async def test_history_command_lists_the_records(emu: Emulator, url: str, tmp_path: Path) -> None:
    """`uom-batch history JOB --json` prints each record; the table names the modes."""
    job = write_job(tmp_path / "job.csv", ROWS)
    await run_file(job, url)
    await run_file(job, url)
    command = [sys.executable, "-m", "batch", "history", str(job)]
    as_json = await anyio.run_process([*command, "--json"], cwd=REPO, env=cli_env(url))
    lines = [json.loads(line) for line in as_json.stdout.decode().splitlines()]
    assert [(r["mode"], r["counts"]) for r in lines] == [("run", {"updated": 2}), ("run", {"unchanged": 2})]
    table = (await anyio.run_process(command, cwd=REPO, env=cli_env(url))).stdout.decode()
    assert table.count(" run ") >= 2 and "unchanged=2" in table
