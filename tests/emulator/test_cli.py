"""`uom-batch emulator`: flags, the loopback guard, the banner, and serving until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from batch.commands import emulator as command
from batch.uom.emulator import DEMO_CREDENTIALS, ManualClock, generate_tickets, load_seed

from .support import Api


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    return parser.parse_args(argv)


def test_non_loopback_host_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """A non-loopback --host exits 2 with a message naming --allow-remote, before binding anything."""
    assert command.main(["--host", "0.0.0.0"]) == 2
    assert "--allow-remote" in capsys.readouterr().err


def test_registers_as_a_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    """register() adds `emulator` to a parent parser, with `func` returning the exit code."""
    parser = argparse.ArgumentParser(prog="uom-batch")
    command.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["emulator", "--host", "192.0.2.1"])
    assert args.func(args) == 2
    assert "192.0.2.1" in capsys.readouterr().err


def test_tls_cert_needs_key(capsys: pytest.CaptureFixture[str]) -> None:
    """--tls-cert without --tls-key is a usage error."""
    assert command.main(["--tls-cert", "cert.pem"]) == 2
    assert "--tls-key" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("example.com", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    """Only loopback addresses and `localhost` count as local."""
    assert command.is_loopback(host) is loopback


def test_fault_flags() -> None:
    """Fault flags map onto Faults; --drop-rate splits between before and after the change."""
    args = _args(
        "--latency-ms",
        "250",
        "--jitter-ms",
        "50",
        "--rate-limit",
        "20",
        "--system-error-rate",
        "0.1",
        "--http500-rate",
        "0.2",
        "--drop-rate",
        "0.3",
        "--other-operator-rate",
        "0.4",
        "--retry-after",
        "0",
    )
    faults = command.faults_from(args)
    assert (faults.latency_s, faults.jitter_s, faults.rate_limit_rps, faults.retry_after_s) == (
        0.25,
        0.05,
        20,
        0,
    )
    assert (faults.system_error_rate, faults.http500_rate, faults.other_operator_rate) == (0.1, 0.2, 0.4)
    assert faults.drop_before_rate == faults.drop_after_rate == 0.15


def test_rate_flags_must_be_probabilities() -> None:
    """A rate outside [0, 1] is refused by the parser."""
    with pytest.raises(SystemExit):
        _args("--http500-rate", "1.5")


def test_banner() -> None:
    """The banner is a comment and five export lines with the demo credentials."""
    lines = command.banner("http://127.0.0.1:8080", 200, tls=False)
    assert lines[0].startswith("# ")
    assert lines[1:] == [
        "export UOM_ENDPOINT=http://127.0.0.1:8080",
        f"export UOM_ACCESS_KEY={DEMO_CREDENTIALS.access_key}",
        f"export UOM_SECRET_KEY={DEMO_CREDENTIALS.secret_key}",
        "export UOM_SERVICE_CODE=uom12345678",
        "export UOM_MASTER_ID=SA1234567",
    ]


def test_write_seed(tmp_path: Path) -> None:
    """--write-seed writes the generated seed (with --tickets N) and exits 0."""
    path = tmp_path / "seed.json"
    assert command.main(["--write-seed", str(path), "--tickets", "12"]) == 0
    assert load_seed(path) == generate_tickets(12)


async def test_serves_until_ctrl_c() -> None:
    """The command prints its URL and exports, serves signed requests, and exits 0 on SIGINT."""
    code = "import sys; from batch.commands.emulator import main; sys.exit(main(sys.argv[1:]))"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, "--port", "0", "--tickets", "20",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    exports = {}
    try:
        while len(exports) < 5:
            line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
            assert line, "the emulator exited before printing its exports"
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").strip().partition("=")
                exports[name] = value
        async with aiohttp.ClientSession() as session:
            api = Api(session, exports["UOM_ENDPOINT"], ManualClock(datetime.now(UTC)))
            assert (await api.detail("UTM1000001"))["TicketId"] == "UTM1000001"
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0
    assert b"Traceback" not in stderr
