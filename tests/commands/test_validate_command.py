"""`uom-batch validate`: report, rejects file, exit codes; driven through batch.cli.main."""

from __future__ import annotations

import codecs
from pathlib import Path

import polars as pl
import pytest

from batch.cli import main

GOOD = "TicketId,StateCode,FinishApprovalUserId\r\nUTM1000001,クローズ,SA1234567\r\n"
MIXED = 'TicketId,Priority,Title\r\nUTM1,高,=SUM(A1)\r\nUTM2,他,ok\r\n,,@cmd\r\nUTM4,中,"two\r\nlines"\r\n'


def job_file(tmp_path: Path, text: str, name: str = "job.csv", encoding: str = "utf-8") -> Path:
    """A job file in `tmp_path`."""
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_valid_file_exits_0_and_names_the_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """All rows valid: exit 0, kind and how it was decided printed, no rejects file."""
    path = job_file(tmp_path, GOOD)
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "kind: update-ticket (inferred from columns TicketId)" in out
    assert "rows: 1  valid: 1  invalid: 0  problems: 0" in out
    assert not (tmp_path / "job.rejects.csv").exists()


def test_invalid_rows_exit_1_with_summary_and_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Some rows invalid: exit 1, counts by rule, and each problem with row, column, rule, code, excerpt."""
    path = job_file(tmp_path, MIXED)
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "rows: 4  valid: 2  invalid: 2  problems: 2" in out
    assert "problems by rule" in out and "first 2 of 2 problems" in out
    for cell in ("choice", "Priority", "PARAMETER_ERROR", "他", "required", "PARAMETER_REQUIRED"):
        assert cell in out
    assert "job.rejects.csv" in out


def test_rejects_file_beside_the_job(tmp_path: Path) -> None:
    """Rejected rows go to <stem>.rejects.csv: UTF-8 BOM, row numbers, reasons, formulas neutralised."""
    main(["validate", str(job_file(tmp_path, MIXED))])
    raw = (tmp_path / "job.rejects.csv").read_bytes()
    assert raw.startswith(codecs.BOM_UTF8)
    rejects = pl.read_csv(raw, infer_schema=False)
    assert rejects.columns == ["row", "error_code", "reasons", "TicketId", "Priority", "Title"]
    assert rejects["row"].to_list() == ["3", "4"]
    assert rejects["Title"].to_list() == ["ok", "'@cmd"]
    assert rejects["reasons"][0] == "Priority: not one of 高, 中, 低 [choice, PARAMETER_ERROR]"


def test_rejects_path_option(tmp_path: Path) -> None:
    """--rejects PATH writes there instead."""
    target = tmp_path / "out" / "bad.csv"
    target.parent.mkdir()
    assert main(["validate", str(job_file(tmp_path, MIXED)), "--rejects", str(target)]) == 1
    assert target.exists() and not (tmp_path / "job.rejects.csv").exists()


def test_stale_rejects_file_is_removed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """When every row is valid again, an earlier rejects file of this job is removed."""
    path = job_file(tmp_path, GOOD)
    (tmp_path / "job.rejects.csv").write_text("old")
    assert main(["validate", str(path)]) == 0
    assert not (tmp_path / "job.rejects.csv").exists()
    assert "removed the out-of-date job.rejects.csv" in capsys.readouterr().out


def test_only_the_first_twenty_problems_are_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Many problems: the table shows 20 of them, the counts all."""
    text = "TicketId,Priority\n" + "".join(f"UTM{i},他\n" for i in range(30))
    assert main(["validate", str(job_file(tmp_path, text))]) == 1
    out = capsys.readouterr().out
    assert "first 20 of 30 problems" in out and "│ 30    │" in out


def test_encoding_option_and_cp932_detection(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A CP932 job validates with or without --encoding; the encoding used is printed."""
    path = job_file(tmp_path, GOOD, encoding="cp932")
    assert main(["validate", str(path)]) == 0
    assert main(["validate", str(path), "--encoding", "cp932"]) == 0
    assert "(csv, cp932)" in capsys.readouterr().out


def test_parquet_job(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A Parquet release-relation job validates too."""
    path = tmp_path / "unlink.parquet"
    pl.DataFrame({"MasterIncidentId": ["UTM1000091"], "IncidentId": ["UTM1000061"]}).write_parquet(path)
    assert main(["validate", str(path)]) == 0
    assert "kind: release-relation" in capsys.readouterr().out


def test_action_option_decides_the_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--action names the kind; the columns must then fit it."""
    path = job_file(tmp_path, GOOD)
    assert main(["validate", str(path), "--action", "update-ticket"]) == 0
    assert "kind: update-ticket (--action)" in capsys.readouterr().out
    assert main(["validate", str(path), "--action", "release-relation"]) == 2
    assert "unknown column 'TicketId'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "job.csv: the file is empty"),
        ("TicketId,Title\r\n", "a header but no data rows"),
        ("TicketId,TicketId\r\nUTM1,UTM2\r\n", "duplicate column names"),
        ("TicketId,Tilte\r\nUTM1,x\r\n", "unknown column 'Tilte' (did you mean 'Title'?)"),
        ("Title\r\nx\r\n", "cannot tell the job kind"),
        ("TicketId,StateUpdateDate\r\nUTM1,20240101000000\r\n", "is a concurrency timestamp"),
        ("TicketId,Action\r\nUTM1,update-ticket\r\nUTM2,release-relation\r\n", "one value in every row"),
        ("TicketId,Title\r\nUTM1\r\n", "row 2 has 1 field"),
    ],
)
def test_job_file_errors_exit_2_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    """An unusable file: exit 2, one message on stderr, no traceback, no rejects file."""
    assert main(["validate", str(job_file(tmp_path, text))]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "job.rejects.csv").exists()


def test_collector_is_on_again_after_a_validation(tmp_path: Path) -> None:
    """The command turns the cyclic collector off while it runs and back on, even after an error."""
    import gc

    main(["validate", str(job_file(tmp_path, MIXED))])
    assert gc.isenabled()
    assert main(["validate", str(tmp_path / "missing.csv")]) == 2
    assert gc.isenabled()
