"""Scheduled runs (issue #12): never two at once (exit 75), a killed run never blocks, the metrics file."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import anyio
from prometheus_client.parser import text_string_to_metric_families

from batch.uom.emulator import Emulator

from .support import MEMO, REPO, Turnstile, cli_env, entries, memo_texts, start_cli, write_job

ROWS = [{"TicketId": f"UTM10000{n}", MEMO: f"once {n}"} for n in range(13, 19)]


async def test_a_second_run_of_the_same_job_exits_75_and_applies_nothing(
    emu: Emulator, gate: Turnstile, url: str, tmp_path: Path
) -> None:
    """While a run holds the job's lock, a second one exits 75 at once; each memo lands once."""
    job = write_job(tmp_path / "job.csv", ROWS)
    gate.hold_from(1)
    log = tmp_path / "first.log"
    with log.open("ab") as out:
        first = await start_cli(job, url, stdout=out, stderr=out)
    with anyio.fail_after(30):
        await gate.holding.wait()  # the first run is in flight, holding the lock
    second = await anyio.run_process(
        [sys.executable, "-m", "batch", "run", str(job), "--rate", "0"],
        cwd=REPO,
        env=cli_env(url),
        check=False,
    )
    assert second.returncode == 75 and b"try again later" in second.stderr
    gate.release()
    with anyio.fail_after(60):
        assert await first.wait() == 0, log.read_text()
    assert len(entries(emu, "UpdateTicket")) == len(ROWS)
    assert all(memo_texts(emu, r["TicketId"]).count(r[MEMO]) == 1 for r in ROWS)


async def test_a_killed_run_does_not_block_the_next(
    emu: Emulator, gate: Turnstile, url: str, tmp_path: Path
) -> None:
    """kill -9 of a run holding the lock: the next run starts at once and finishes the job."""
    job = write_job(tmp_path / "job.csv", ROWS)
    gate.hold_from(3)
    log = tmp_path / "runs.log"
    with log.open("ab") as out:
        first = await start_cli(job, url, stdout=out, stderr=out)
    with anyio.fail_after(30):
        await gate.holding.wait()
    first.kill()
    assert await first.wait() == -signal.SIGKILL
    gate.release()
    with log.open("ab") as out:
        again = await start_cli(job, url, stdout=out, stderr=out)
    with anyio.fail_after(60):
        assert await again.wait() == 0, log.read_text()
    assert all(memo_texts(emu, r["TicketId"]).count(r[MEMO]) == 1 for r in ROWS)


async def test_metrics_file_parses_with_prometheus_clients_parser(
    emu: Emulator, url: str, tmp_path: Path
) -> None:
    """--metrics-file: rows by outcome, requests, exit code, last success, for the job and mode."""
    job = write_job(tmp_path / "job.csv", ROWS)
    metrics = tmp_path / "uom.prom"
    command = [sys.executable, "-m", "batch", "run", str(job), "--rate", "0", "--metrics-file", str(metrics)]
    done = await anyio.run_process(command, cwd=REPO, env=cli_env(url), check=False, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr.decode()
    samples = {
        (s.name, s.labels.get("outcome", s.labels.get("class", ""))): s
        for family in text_string_to_metric_families(metrics.read_text(encoding="utf-8"))
        for s in family.samples
    }
    assert samples[("uom_batch_rows", "updated")].value == len(ROWS)
    assert samples[("uom_batch_rows", "updated")].labels == {
        "job": "job.csv",
        "mode": "run",
        "outcome": "updated",
    }
    assert samples[("uom_batch_requests", "")].value == 2 * len(ROWS)
    assert samples[("uom_batch_exit_code", "")].value == 0
    assert samples[("uom_batch_last_success_timestamp_seconds", "")].value > 0
    assert ("uom_batch_retries", "conflict") in samples


async def test_a_ledger_in_a_new_folder_is_written(emu: Emulator, url: str, tmp_path: Path) -> None:
    """A ledger in a folder not made yet is written; one not .csv or .parquet is exit 2 up front."""
    job = write_job(tmp_path / "job.csv", ROWS[:2])
    ledger = tmp_path / "ledgers" / "2026" / "job.csv"
    base = [sys.executable, "-m", "batch", "run", str(job), "--rate", "0"]
    done = await anyio.run_process([*base, "--ledger", str(ledger)], cwd=REPO, env=cli_env(url), check=False)
    assert done.returncode == 0, done.stderr.decode()
    assert ledger.is_file()
    sent = len(emu.log)
    done = await anyio.run_process(
        [*base, "--new-run", "--ledger", str(tmp_path / "x.txt")], cwd=REPO, env=cli_env(url), check=False
    )
    assert done.returncode == 2 and b"a ledger ends in .csv or .parquet" in done.stderr
    assert b"Traceback" not in done.stderr and len(emu.log) == sent
