"""The event loop: uvloop where installed; `--no-uvloop` or UOM_BATCH_NO_UVLOOP=1 choose asyncio's own."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import anyio
import pytest

from batch.cli import build_parser
from batch.commands.arguments import NO_UVLOOP_ENV, loop_options
from batch.uom.emulator import DEMO_CREDENTIALS, Emulator

pytest.importorskip("uvloop")  # a dependency wherever it builds (not Windows, CPython only)

REPO = Path(__file__).resolve().parents[2]
UVLOOP = "uvloop.Loop"


async def running_loop() -> str:
    """The running loop's class, as `module.name`."""
    loop = type(asyncio.get_running_loop())
    return f"{loop.__module__}.{loop.__qualname__}"


def loop_chosen(options: dict[str, object]) -> str:
    """The loop a function gets when run as the commands run theirs."""
    return anyio.run(running_loop, backend_options=options)


def test_uvloop_by_default() -> None:
    """With no flag and no variable, the engine runs on uvloop."""
    assert loop_chosen(loop_options(environ={})) == UVLOOP


def test_no_uvloop_flag_chooses_asyncio() -> None:
    """`run --no-uvloop` runs on asyncio's own loop; without the flag, uvloop."""
    with_flag = build_parser().parse_args(["run", "job.csv", "--no-uvloop"])
    without = build_parser().parse_args(["run", "job.csv"])
    assert loop_chosen(loop_options(no_uvloop=with_flag.no_uvloop, environ={})).startswith("asyncio.")
    assert loop_chosen(loop_options(no_uvloop=without.no_uvloop, environ={})) == UVLOOP


@pytest.mark.parametrize(("value", "uvloop"), [("1", False), ("yes", False), ("0", True), ("", True)])
def test_variable_chooses_the_loop(value: str, uvloop: bool) -> None:
    """UOM_BATCH_NO_UVLOOP set to anything but empty or 0 turns uvloop off."""
    chosen = loop_chosen(loop_options(environ={NO_UVLOOP_ENV: value}))
    assert (chosen == UVLOOP) is uvloop, chosen


def logged_loop(stderr: str) -> str:
    """The loop named by the `batch.event_loop` JSON log line."""
    events = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    (event,) = [e for e in events if e["event"] == "batch.event_loop"]
    return str(event["loop"])


def environment(url: str, extra: Mapping[str, str]) -> dict[str, str]:
    """This environment with the emulator's demo keys, without any UOM_* of the caller's."""
    c = DEMO_CREDENTIALS
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("UOM_")}
    keys = {"UOM_ENDPOINT": url, "UOM_ACCESS_KEY": c.access_key, "UOM_SECRET_KEY": c.secret_key}
    return {**inherited, **keys, "UOM_SERVICE_CODE": c.service_code, "UOM_MASTER_ID": c.master_id, **extra}


@pytest.mark.parametrize(
    ("flags", "env", "expected"),
    [([], {}, UVLOOP), (["--no-uvloop"], {}, "asyncio."), ([], {NO_UVLOOP_ENV: "1"}, "asyncio.")],
)
async def test_run_command_runs_on_the_chosen_loop(
    tmp_path: Path, flags: list[str], env: dict[str, str], expected: str
) -> None:
    """`uom-batch run` really runs its job on the loop the flag and the variable choose."""
    job = tmp_path / "job.csv"
    with job.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([["TicketId", "Title"], ["UTM2000001", "renamed"]])
    command = [sys.executable, "-m", "batch", "run", str(job), "--log-json", "--rate", "0", *flags]
    async with Emulator().running() as url:
        done = await anyio.run_process(command, cwd=REPO, env=environment(url, env), check=False)
    stderr = done.stderr.decode()
    assert done.returncode == 0, stderr
    assert logged_loop(stderr).startswith(expected)


@pytest.mark.parametrize(("env", "expected"), [({}, UVLOOP), ({NO_UVLOOP_ENV: "1"}, "asyncio.")])
def test_demo_runs_on_the_chosen_loop(tmp_path: Path, env: dict[str, str], expected: str) -> None:
    """`uom-batch demo` runs on uvloop, or on asyncio's loop when the variable says so."""
    # 200 tickets: the fewest for which both sample jobs have rows.
    command = [sys.executable, "-m", "batch", "demo", "--dir", str(tmp_path), "--tickets", "200", "--calm"]
    inherited = {k: v for k, v in os.environ.items() if k != NO_UVLOOP_ENV}
    done = subprocess.run(
        [*command, "--log-json"], cwd=REPO, env={**inherited, **env}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert logged_loop(done.stderr).startswith(expected)
