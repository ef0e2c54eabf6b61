"""Plan, then apply exactly the plan (issue #11), against the emulator over real sockets."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import anyio.abc
import polars as pl
import pytest

from batch.clock import SystemClock
from batch.commands.plan import save_plan
from batch.commands.prepare import prepare_job, prepare_plan
from batch.journal.journal_file import JournalError
from batch.output.plan_file import PlanError, check_applicable, read_plan
from batch.runs.plan_job import PlanResult, plan_job
from batch.runs.run_job import run_job
from batch.uom.client import UomClient
from batch.uom.emulator import Emulator, Faults
from jobs.planning import PlanningKind

from .support import (
    MEMO,
    REPO,
    SETTINGS,
    Ran,
    Turnstile,
    cli_env,
    credentials_for,
    entries,
    memo_texts,
    read_ledger,
    write_job,
)
from .support import settings as with_settings
from .test_cli_runs import TWICE, assert_requested_state, job_rows

CLOSE = [
    {
        "TicketId": "UTM1000001",
        "StateCode": "クローズ",
        "FinishApprovalUserId": "SA1234567",
        MEMO: "一括クローズ",
    },
    {"TicketId": "UTM1000002", "Priority": "中"},  # already so: unchanged
    {"TicketId": "UTM1000003", "Priority": "高", "expect.StateCode": "対応中"},  # precondition_failed
    {"TicketId": "UTM1000004", "Priority": "低"},
    {"TicketId": "UTM9999999", "Priority": "高"},  # no such ticket: failed
    {"TicketId": "UTM1000005", "StateCode": "クローズ"},  # no approver on the ticket: invalid after fetch
]
PREDICTED = {
    2: "would_update",
    3: "unchanged",
    4: "precondition_failed",
    5: "would_update",
    6: "failed",
    7: "invalid",
}


async def make_plan(job: Path, url: str, out: Path | None = None) -> tuple[Path, PlanResult]:
    """Plan `job` in this process against `url`; the plan file and the result."""
    prepared, kind = prepare_job(job, action=None, encoding=None)
    creds = credentials_for(url)
    async with UomClient(creds, max_connections=8) as client:
        result = await plan_job(prepared, PlanningKind(kind), client, SETTINGS, SystemClock())
    path = out or job.with_suffix(".plan.parquet")
    save_plan(prepared, result, creds, path, SETTINGS.group_size)
    return path, result


async def apply_plan(path: Path, url: str) -> Ran:
    """`run --plan` in this process: check the plan, then run it with a Parquet ledger."""
    creds = credentials_for(url)
    plan = read_plan(path)
    check_applicable(
        plan, endpoint=url, master_id=creds.master_id, max_age=timedelta(hours=24), now=datetime.now(UTC)
    )
    job, kind = prepare_plan(plan)
    settings = with_settings(ledger_path=path.with_suffix(".ledger.parquet"), once=True)
    async with UomClient(creds, max_connections=8) as client:
        report = await run_job(job, kind, client, creds.audit(), settings, SystemClock())
    return Ran(report, read_ledger(report.ledger_path))


async def test_plan_sends_no_write_and_predicts_each_row(emu: Emulator, url: str, tmp_path: Path) -> None:
    """A plan reads every ticket, sends no UpdateTicket, and predicts what run would do per row."""
    path, result = await make_plan(write_job(tmp_path / "job.csv", CLOSE), url)
    assert {e.action for e in emu.log} == {"GetTicketDetail"} and len(emu.log) == len(CLOSE)
    assert {o.row: o.outcome.value for o in result.outcomes} == PREDICTED
    assert result.exit_code == 1  # some rows would fail
    rows = read_plan(path).rows
    (closing,) = rows.filter(pl.col("row") == 2).to_dicts()
    assert closing["changed_fields"] == ["StateCode", "FinishApprovalUserId", "CorrespondProcessList"]
    request = closing["request_json"]
    assert '"StateCode":"クローズ"' in request and "SummaryUpdateDate" in request


async def test_apply_sends_one_call_per_row_and_gives_the_predictions(
    emu: Emulator, url: str, tmp_path: Path
) -> None:
    """run --plan sends only the planned UpdateTickets (no fetch) and ends each row as predicted."""
    path, _ = await make_plan(write_job(tmp_path / "job.csv", CLOSE), url)
    read_before = len(entries(emu, "GetTicketDetail"))
    ran = await apply_plan(path, url)
    assert len(entries(emu, "GetTicketDetail")) == read_before
    assert len(entries(emu, "UpdateTicket")) == 2
    expected = {row: p.replace("would_update", "updated") for row, p in PREDICTED.items()}
    assert ran.outcomes == expected and ran.report.exit_code == 1
    assert emu.tickets["UTM1000001"]["StateCode"] == "クローズ"
    assert memo_texts(emu, "UTM1000001")[-1] == "一括クローズ"
    assert emu.tickets["UTM1000004"]["Priority"] == "低"


async def test_ticket_changed_since_the_plan_ends_stale_and_untouched(
    emu: Emulator, url: str, tmp_path: Path
) -> None:
    """Another operator's save between plan and apply: the row is stale, sent once, not merged again."""
    path, _ = await make_plan(write_job(tmp_path / "job.csv", CLOSE[3:4]), url)
    emu.other_operator_edit("UTM1000004")
    theirs = dict(emu.tickets["UTM1000004"])
    ran = await apply_plan(path, url)
    assert ran.outcomes == {2: "stale"} and ran.report.exit_code == 1
    assert ran.row(2)["error_type"] == "EXCLUSION_FAILURE"
    assert len(entries(emu, "UpdateTicket")) == 1
    assert emu.tickets["UTM1000004"] == theirs


async def test_a_plan_applies_once(emu: Emulator, url: str, tmp_path: Path) -> None:
    """Applying a plan whose apply completed is refused: the tickets have moved on; re-plan."""
    path, _ = await make_plan(write_job(tmp_path / "job.csv", CLOSE[3:4]), url)
    await apply_plan(path, url)
    with pytest.raises(JournalError, match="already applied this plan"):
        await apply_plan(path, url)
    assert len(entries(emu, "UpdateTicket")) == 1


async def test_altered_plan_is_refused(emu: Emulator, url: str, tmp_path: Path) -> None:
    """A plan whose rows were edited after it was written fails its checksum."""
    path, _ = await make_plan(write_job(tmp_path / "job.csv", CLOSE[3:4]), url)
    meta = pl.read_parquet_metadata(path)
    rows = pl.read_parquet(path).with_columns(
        pl.col("request_json").str.replace('"Priority":"低"', '"Priority":"高"')
    )
    rows.write_parquet(path, metadata=dict(meta))
    with pytest.raises(PlanError, match="altered"):
        read_plan(path)
    assert not entries(emu, "UpdateTicket")


async def test_old_and_foreign_plans_are_refused(emu: Emulator, url: str, tmp_path: Path) -> None:
    """Too old, another endpoint or another master ID: refused before anything is sent."""
    path, _ = await make_plan(write_job(tmp_path / "job.csv", CLOSE[3:4]), url)
    plan = read_plan(path)
    now, day = datetime.now(UTC), timedelta(hours=24)
    with pytest.raises(PlanError, match="older than --max-plan-age"):
        later = now + timedelta(hours=25)
        check_applicable(plan, endpoint=url, master_id="SA1234567", max_age=day, now=later)
    with pytest.raises(PlanError, match="made for endpoint"):
        check_applicable(plan, endpoint="https://uom.example", master_id="SA1234567", max_age=day, now=now)
    with pytest.raises(PlanError, match="made for master ID"):
        check_applicable(plan, endpoint=url, master_id="SA7654321", max_age=day, now=now)


async def test_cli_refuses_an_old_plan_with_exit_2(emu: Emulator, url: str, tmp_path: Path) -> None:
    """`uom-batch run --plan` with a plan older than --max-plan-age: exit 2, a clear message, no send."""
    path, _ = await make_plan(write_job(tmp_path / "job.csv", CLOSE[3:4]), url)
    command = [sys.executable, "-m", "batch", "run", "--plan", str(path), "--max-plan-age", "0.001s"]
    done = await anyio.run_process(command, cwd=REPO, env=cli_env(url), check=False)
    stderr = done.stderr.decode()
    assert done.returncode == 2 and "older than --max-plan-age" in stderr
    assert "Traceback" not in stderr and not entries(emu, "UpdateTicket")


UNLINK = [
    {"MasterIncidentId": "UTM1000091", "IncidentId": "UTM1000061"},
    {"MasterIncidentId": "UTM1000091", "IncidentId": "UTM1000062"},
    {"MasterIncidentId": "UTM1000091", "IncidentId": "UTM1000063"},
]


async def test_release_plan_applies_its_groups(emu: Emulator, url: str, tmp_path: Path) -> None:
    """A release plan sends its group in one call; a child released since the plan is unchanged."""
    path, result = await make_plan(write_job(tmp_path / "unlink.csv", UNLINK), url)
    assert {o.outcome.value for o in result.outcomes} == {"would_release"}
    emu.tickets["UTM1000062"]["MasterTicketId"] = ""  # released by someone else meanwhile
    ran = await apply_plan(path, url)
    assert ran.outcomes == {2: "released", 3: "unchanged", 4: "released"}
    assert all(emu.tickets[c]["MasterTicketId"] == "" for c in ("UTM1000061", "UTM1000063"))
    assert len(entries(emu, "ReleaseIncidentRelate")) >= 2  # refused whole, then bisected


def test_prediction_counts_drive_the_exit_code() -> None:
    """A plan of predictions only exits 0; a row that would fail makes it 1."""
    from batch.engine.pool import StopState
    from batch.outcome import Outcome, RowOutcome

    ok = [RowOutcome(row=2, action="update-ticket", ticket_id="UTM1", outcome=Outcome.WOULD_UPDATE)]
    assert PlanResult(ok, 1, 0.1, StopState()).exit_code == 0
    bad = [*ok, ok[0]._replace(row=3, outcome=Outcome.FAILED)]
    assert PlanResult(bad, 2, 0.1, StopState()).exit_code == 1


async def test_second_row_of_a_ticket_is_not_planned(emu: Emulator, url: str, tmp_path: Path) -> None:
    """A plan sends one request per ticket: a later row of a ticket already changed is predicted failed."""
    rows = [{"TicketId": "UTM1000004", "Priority": "低"}, {"TicketId": "UTM1000004", "Importance": "高"}]
    _, result = await make_plan(write_job(tmp_path / "job.csv", rows), url)
    (first, second) = result.outcomes
    assert (first.outcome.value, second.outcome.value) == ("would_update", "failed")
    assert second.error_type == "PLANNED_TWICE" and "row 2" in (second.error_message or "")


async def start_apply(plan: Path, url: str, log: Path) -> anyio.abc.Process:
    """`python -m batch run --plan PLAN` in a subprocess (Parquet ledger beside the plan)."""
    ledger = plan.with_suffix(".ledger.parquet")
    command = [
        sys.executable,
        "-m",
        "batch",
        "run",
        "--plan",
        str(plan),
        "--rate",
        "0",
        "--ledger",
        str(ledger),
        "--log-level",
        "warning",
    ]
    with log.open("ab") as out:
        return await anyio.open_process(
            command, cwd=REPO, env=cli_env(url), stdin=subprocess.DEVNULL, stdout=out, stderr=out
        )


@pytest.mark.parametrize("seed", [1, 2])
async def test_kill_during_apply_then_resume_applies_nothing_twice(
    emu: Emulator, gate: Turnstile, url: str, tmp_path: Path, seed: int
) -> None:
    """kill -9 twice while planned sends are in flight (some replies lost), then resume: each memo once."""
    rows = [r for r in job_rows() if r["TicketId"] != TWICE]
    path, _ = await make_plan(write_job(tmp_path / "job.csv", rows), url)
    emu.faults = Faults(latency_s=1e-6, drop_after_rate=0.1, seed=seed)
    rng, log = random.Random(seed), tmp_path / "apply.log"
    for arrival in (rng.randint(5, 15), rng.randint(3, 10)):
        gate.hold_from(arrival)
        proc = await start_apply(path, url, log)
        with anyio.fail_after(30):
            await gate.holding.wait()
        proc.kill()
        assert await proc.wait() == -signal.SIGKILL
        gate.release()
    proc = await start_apply(path, url, log)
    with anyio.fail_after(60):
        assert await proc.wait() == 0, log.read_text()
    ledger = read_ledger(path.with_suffix(".ledger.parquet"))
    assert ledger["row"].to_list() == list(range(2, len(rows) + 2))
    assert set(ledger["outcome"]) == {"updated"}
    assert_requested_state(emu, rows)
