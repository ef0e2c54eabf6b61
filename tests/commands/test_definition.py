"""Job definitions (TOML): checked strictly, and translated into the command line they stand for."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from batch.cli import build_parser
from batch.commands.definition import load_definition
from batch.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 3, 1, 2, 3, tzinfo=UTC)


def definition(tmp_path: Path, text: str) -> Path:
    """A definition file in `tmp_path`."""
    path = tmp_path / "nightly.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_definition_becomes_its_command_line(tmp_path: Path) -> None:
    """Paths are relative to the definition, {date}/{time} filled, settings become their flags."""
    path = definition(
        tmp_path,
        """
[job]
file = "desired.csv"
mode = "reconcile"
reconcile = "apply"
[settings]
rate = 5
max_changes = "all"
[output]
ledger = "ledgers/p-{date}-{time}.csv"
[credentials]
config = "uom.toml"
""",
    )
    argv = load_definition(path).argv(NOW)
    assert argv[:3] == ["reconcile", str(tmp_path / "desired.csv"), "--apply"]
    assert argv[argv.index("--rate") + 1] == "5" and argv[argv.index("--max-changes") + 1] == "all"
    assert argv[argv.index("--ledger") + 1] == str(tmp_path / "ledgers/p-2026-12-03-010203.csv")
    assert argv[argv.index("--config") + 1] == str(tmp_path / "uom.toml")
    parsed = build_parser().parse_args(argv)  # the command line the CLI itself accepts
    assert parsed.apply and parsed.rate == 5


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('[job]\nfile = "a.csv"\nmod = "run"\n', "job.mod"),
        ('[job]\nfile = "a.csv"\n[setting]\nrate = 1\n', "[setting]"),
        ('[job]\nfile = "a.csv"\n[settings]\nrate = "fast"\n', "settings.rate must be int or float"),
        ('[job]\nfile = "a.csv"\n[settings]\nconcurrency = true\n', "settings.concurrency must be int"),
        ('[job]\nfile = "a.csv"\nmode = "sync"\n', "job.mode = 'sync'"),
        ('[job]\nfile = "a.csv"\nreconcile = "apply"\n', "job.reconcile is only for"),
        ('[job]\nmode = "run"\n', "job.file is required"),
        ("[job\nfile = 1\n", "not a readable TOML"),
    ],
)
def test_unknown_keys_and_wrong_types_name_the_key(tmp_path: Path, text: str, named: str) -> None:
    """A definition with an unknown key, a wrong type or a bad value is a ConfigError naming it."""
    with pytest.raises(ConfigError, match=re.escape(named)):
        load_definition(definition(tmp_path, text))


def test_a_ledger_pattern_takes_only_date_and_time(tmp_path: Path) -> None:
    """Any other placeholder in output.ledger is refused, naming the key."""
    path = definition(tmp_path, '[job]\nfile = "a.csv"\n[output]\nledger = "l-{host}.csv"\n')
    with pytest.raises(ConfigError, match=r"output\.ledger"):
        load_definition(path).argv(NOW)


@pytest.mark.parametrize(
    "name", ["close_recovered_incidents.toml", "nightly_priorities.toml", "unlink_children.toml"]
)
def test_the_sample_definitions_are_valid(name: str) -> None:
    """The three shipped definitions load, name an existing job file, and parse as a command line."""
    loaded = load_definition(REPO / "samples" / name)
    assert loaded.job_file.is_file()
    build_parser().parse_args(loaded.argv(NOW))
