"""The command line: errors become one clear message and exit code 2, never a traceback."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from batch.cli import main, run_command
from batch.errors import BatchError
from batch.journal.journal_file import JournalError
from batch.uom.errors import ProtocolError, UomError


def test_missing_job_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A job file that does not exist: exit 2 and a message naming it."""
    monkeypatch.setenv("UOM_ENDPOINT", "http://127.0.0.1:9")
    for name in ("UOM_ACCESS_KEY", "UOM_SECRET_KEY", "UOM_SERVICE_CODE", "UOM_MASTER_ID"):
        monkeypatch.setenv(name, "x")
    assert main(["run", str(tmp_path / "nope.csv")]) == 2
    assert "nope.csv: no such file" in capsys.readouterr().err


def test_missing_credentials_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """No credentials at all: exit 2, naming the variables to set."""
    for name in ("UOM_ENDPOINT", "UOM_ACCESS_KEY", "UOM_SECRET_KEY", "UOM_SERVICE_CODE", "UOM_MASTER_ID",
                 "UOM_BATCH_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    assert main(["run", str(tmp_path / "job.csv")]) == 2
    assert "UOM_ENDPOINT" in capsys.readouterr().err


def test_batch_error_inside_a_task_group_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """A BatchError wrapped in an exception group still ends as one message and exit 2."""

    def explode(args: argparse.Namespace) -> int:
        raise ExceptionGroup("task group", [JournalError("journal.sqlite: disk I/O error")])

    assert run_command(explode, argparse.Namespace()) == 2
    assert "disk I/O error" in capsys.readouterr().err


def test_other_exceptions_are_not_swallowed() -> None:
    """A programming error is never turned into a message: it propagates."""

    def broken(args: argparse.Namespace) -> int:
        raise ExceptionGroup("task group", [KeyError("bug")])

    with pytest.raises(ExceptionGroup):
        run_command(broken, argparse.Namespace())


def test_wire_errors_are_reported_like_batch_errors(capsys: pytest.CaptureFixture[str]) -> None:
    """A UomError (its own root, apart from BatchError) is one message and exit 2, bare or wrapped."""

    def refused(args: argparse.Namespace) -> int:
        raise ExceptionGroup("task group", [ProtocolError("GetTicketDetail: reply has no RequestId",
                                                          action="GetTicketDetail")])

    assert run_command(refused, argparse.Namespace()) == 2
    assert "reply has no RequestId" in capsys.readouterr().err


def test_wire_errors_are_not_batch_errors() -> None:
    """batch/uom imports nothing of the rest of batch/, so its error tree has its own root."""
    assert not issubclass(UomError, BatchError)
