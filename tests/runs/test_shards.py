"""Split a job into shards, run each, merge their ledgers (issue #13), against the emulator."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from batch.commands.split import read_manifest, shard_file, split_job
from batch.uom.emulator import Emulator, Faults
from jobs.sharding import shard_numbers

from .support import MEMO, REPO, cli_env, memo_texts, read_ledger, run_file, write_job

ROWS = [
    *({"TicketId": f"UTM10000{n}", "Priority": "高", MEMO: f"shard {n}"} for n in range(13, 40)),
    {"TicketId": "UTM1000013", "Importance": "低"},  # a second row of a ticket: the same shard, after
    {"TicketId": "UTM1999999", "Priority": "高"},  # no such ticket: failed
    {"TicketId": "", "Priority": "高"},  # invalid: recorded once, at the split
]


async def cli(*argv: str, url: str) -> tuple[int, str]:
    """`python -m batch ARGV` in a subprocess: (exit code, stdout + stderr)."""
    done = await anyio.run_process(
        [sys.executable, "-m", "batch", *argv], cwd=REPO, env=cli_env(url), check=False
    )
    return done.returncode, done.stdout.decode() + done.stderr.decode()


async def test_split_run_merge_equals_a_single_run(emu: Emulator, url: str, tmp_path: Path) -> None:
    """4 shards run one by one, merged: the same (row, outcome, error) as one run; each memo once."""
    job = write_job(tmp_path / "job.csv", ROWS)
    state = tmp_path / "state"
    code, said = await cli("split", str(job), "--shards", "4", "--state-dir", str(state), url=url)
    assert code == 0, said
    manifest = read_manifest(state)
    assert manifest["invalid"] == 1 and sum(s["rows"] for s in manifest["shard_files"]) == len(ROWS) - 1
    for index in range(4):
        code, said = await cli(
            "run", "--state-dir", str(state), "--shard", f"{index}/4", "--rate", "0", url=url
        )
        assert code in (0, 1), said
    code, said = await cli("merge", str(state), "--out", str(tmp_path / "merged.parquet"), url=url)
    assert code == 0, said
    merged = read_ledger(tmp_path / "merged.parquet")
    assert merged["row"].to_list() == list(range(2, len(ROWS) + 2))
    outcomes = dict(merged.select("row", "outcome").iter_rows())
    assert outcomes[len(ROWS) + 1] == "invalid" and outcomes[len(ROWS)] == "failed"
    assert all(memo_texts(emu, r["TicketId"]).count(r[MEMO]) == 1 for r in ROWS if MEMO in r)
    assert emu.tickets["UTM1000013"]["Importance"] == "低"  # its two rows ran in file order


async def test_single_run_gives_the_same_outcomes(tmp_path: Path) -> None:
    """The reference: one run of the same job on a fresh emulator with the same seed."""
    emulator = Emulator(faults=Faults(latency_s=1e-6))
    async with emulator.running() as url:
        ran = await run_file(write_job(tmp_path / "job.csv", ROWS), url)
    state = tmp_path / "state"
    split_job(tmp_path / "job.csv", state, 4, action=None, encoding=None)
    emulator = Emulator(faults=Faults(latency_s=1e-6))
    async with emulator.running() as url:
        for index in range(4):
            await cli("run", "--state-dir", str(state), "--shard", f"{index}/4", "--rate", "0", url=url)
        await cli("merge", str(state), "--out", str(tmp_path / "merged.parquet"), url=url)
    merged = read_ledger(tmp_path / "merged.parquet")
    key = ["row", "outcome", "error_type"]
    assert merged.select(key).rows() == ran.ledger.select(key).rows()


async def test_merge_refuses_while_a_shard_has_not_run(emu: Emulator, url: str, tmp_path: Path) -> None:
    """A shard without a ledger: merge exits 1 naming it and the pending rows; --partial writes the rest."""
    state = tmp_path / "state"
    split_job(write_job(tmp_path / "job.csv", ROWS), state, 2, action=None, encoding=None)
    await cli("run", "--state-dir", str(state), "--shard", "0/2", "--rate", "0", url=url)
    code, said = await cli("merge", str(state), "--out", str(tmp_path / "m.csv"), url=url)
    assert code == 1 and "not finished: shard-0001.parquet" in said and "pending:" in said
    assert not (tmp_path / "m.csv").exists()
    code, said = await cli("merge", str(state), "--out", str(tmp_path / "m.csv"), "--partial", url=url)
    assert code == 1 and (tmp_path / "m.csv").exists()


def test_a_shard_of_another_size_or_changed_is_refused(tmp_path: Path) -> None:
    """--shard i/N must match the split, and the shard file must be the one the manifest names."""
    state = tmp_path / "state"
    split_job(write_job(tmp_path / "job.csv", ROWS), state, 2, action=None, encoding=None)
    from batch.cli import main

    assert main(["run", "--state-dir", str(state), "--shard", "0/3"]) == 2
    pl.read_parquet(shard_file(state, 0)).head(1).write_parquet(shard_file(state, 0))
    assert main(["run", "--state-dir", str(state), "--shard", "0/2"]) == 2
    assert json.loads((state / "manifest.json").read_text())["shards"] == 2


@given(
    st.lists(st.text(alphabet="UTM0123456789", min_size=1, max_size=12), min_size=1, max_size=40),
    st.integers(1, 8),
)
def test_a_ticket_always_lands_in_one_shard(tickets: list[str], shards: int) -> None:
    """The same ticket id gives the same shard, whatever else is in the file; every shard in range."""
    frame = pl.DataFrame({"TicketId": tickets})
    numbers = shard_numbers(frame, "update-ticket", shards).to_list()
    assert all(0 <= n < shards for n in numbers)
    for ticket, number in zip(tickets, numbers, strict=True):
        alone = shard_numbers(pl.DataFrame({"TicketId": [ticket]}), "update-ticket", shards).item()
        assert alone == number
