"""The secret key never reaches a file uom-batch writes, nor its output, whatever happens in a run."""

from __future__ import annotations

from pathlib import Path

import anyio

from batch.uom.emulator import DEMO_CREDENTIALS, Emulator, Faults

from .support import MEMO, start_cli, write_job


async def test_secret_absent_from_logs_journal_intents_and_ledger(
    emu: Emulator, url: str, tmp_path: Path
) -> None:
    """A JSON-logged run with retries, lost replies and failures writes the secret nowhere."""
    emu.faults = Faults(system_error_rate=0.2, drop_after_rate=0.1, other_operator_rate=0.2, seed=3)
    rows = [{"TicketId": f"UTM10000{n}", "Priority": "高", MEMO: f"m{n}"} for n in range(10, 40)]
    rows.append({"TicketId": "UTM9999999", "Priority": "高"})  # NO_TICKET_ID: a failed row
    job = write_job(tmp_path / "job.csv", rows)
    out = tmp_path / "output.txt"
    with out.open("wb") as sink:
        proc = await start_cli(job, url, "--log-json", "--log-level", "debug", stdout=sink, stderr=sink)
        with anyio.fail_after(60):
            assert await proc.wait() == 1
    files = files_written(tmp_path)
    assert {name.rsplit(".", 1)[-1] for name in files} >= {"parquet", "sqlite", "txt", "sqlite-intents"}
    assert b"batch.row_done" in files["output.txt"]
    secret = DEMO_CREDENTIALS.secret_key.encode()
    assert [name for name, data in files.items() if secret in data] == []


def files_written(directory: Path) -> dict[str, bytes]:
    """Every file in `directory`, by name."""
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()}
