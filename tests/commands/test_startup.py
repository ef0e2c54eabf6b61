"""Commands import what they need when they run: `--help` starts at once, `validate` has no HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("polars", "aiohttp", "anyio", "structlog", "rich", "orjson", "pyarrow")

# Runs the CLI in a fresh interpreter, then prints which top-level packages got imported.
PROBE = """
import json, sys
from batch.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
loaded = sorted({m.split('.')[0] for m in sys.modules})
print(json.dumps({"code": code, "loaded": loaded}), file=sys.stderr)
"""


def loaded_by(*argv: str) -> tuple[int, set[str]]:
    """(exit code, top-level packages imported) of `uom-batch ARGV` in a new process."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, cwd=REPO, check=False
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return int(report["code"] or 0), set(report["loaded"])


@pytest.mark.parametrize(
    "argv",
    [
        ("--version",),
        ("--help",),
        ("run", "--help"),
        ("validate", "--help"),
        ("demo", "--help"),
        ("emulator", "--help"),
    ],
)
def test_help_and_version_import_no_heavy_library(argv: tuple[str, ...]) -> None:
    """--version and every --help load none of polars, aiohttp, anyio, structlog, rich, orjson."""
    code, loaded = loaded_by(*argv)
    assert code == 0
    assert loaded.isdisjoint(HEAVY), loaded & set(HEAVY)


def test_validate_never_imports_aiohttp(tmp_path: Path) -> None:
    """Validating a job file checks it without loading the HTTP client or the emulator."""
    job = str(REPO / "samples" / "broken_update_ticket.csv")
    code, loaded = loaded_by("validate", job, "--rejects", str(tmp_path / "rejects.csv"))
    assert code == 1 and (tmp_path / "rejects.csv").exists()
    assert "polars" in loaded  # it did validate
    assert "aiohttp" not in loaded


async def test_a_run_without_a_terminal_never_imports_rich(tmp_path: Path) -> None:
    """`run` in a pipe (cron, CI) draws no progress bar, so neither it nor structlog loads rich."""
    import csv
    import os

    import anyio

    from batch.uom.emulator import DEMO_CREDENTIALS, Emulator

    job = tmp_path / "job.csv"
    with job.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([["TicketId", "Title"], ["UTM2000001", "renamed"]])
    c = DEMO_CREDENTIALS
    async with Emulator().running() as url:
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("UOM_")}, "UOM_ENDPOINT": url,
               "UOM_ACCESS_KEY": c.access_key, "UOM_SECRET_KEY": c.secret_key,
               "UOM_SERVICE_CODE": c.service_code, "UOM_MASTER_ID": c.master_id}
        command = [sys.executable, "-c", PROBE, "run", str(job), "--rate", "0",
                   "--ledger", str(tmp_path / "ledger.csv")]
        done = await anyio.run_process(command, cwd=REPO, env=env, check=False)
    report = json.loads(done.stderr.decode().strip().splitlines()[-1])
    assert report["code"] == 0, done.stderr.decode()
    assert "structlog" in report["loaded"]  # it did log
    assert "rich" not in report["loaded"]
