"""`validate`'s streaming check of Parquet files gives what loading the file whole gives, or falls back."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from batch.errors import JobFileError
from batch.jobfile.load import load_job
from batch.jobfile.parquet_scan import scan_parquet_job
from batch.output.rejects import write_rejects
from batch.output.validation_report import report
from batch.validation.check import InvalidRows, ValidationResult
from jobs.registry import CheckedFile, check_job, check_job_file

# Cells that pass and cells that break the update-ticket rules, blanks, nulls and ClearFields lists.
CELLS = {
    "TicketId": ["UTM1", "UTM20", "", None, "utm3", "UTM"],
    "TicketProcessType": ["", "1", "2", "3", None],
    "StateCode": ["", "クローズ", "新規", "完了", "復旧済み", None],
    "FinishApprovalUserId": ["", "SA1234567", "tanaka"],
    "Priority": ["", "高", "他", None],
    "CorrespondLimitDate": ["", "20240229000000", "20230229000000", "2024"],
    "ClearFields": ["", "SubStateCode", "Priority", "Nope", "SubStateCode; Importance", " ,"],
    "Title": ["", "件" * 257, "=SUM(A1)", "two\nlines"],
    "SubStateCode": ["", "x"],
}


@st.composite
def job_frames(draw: st.DrawFn) -> pl.DataFrame:
    """A frame of some of CELLS' columns; some rows blank (every cell empty or null)."""
    columns = draw(st.lists(st.sampled_from(sorted(CELLS)), min_size=1, unique=True))
    if "TicketId" not in columns:
        columns.append("TicketId")
    height = draw(st.integers(1, 30))
    blank = draw(st.lists(st.booleans(), min_size=height, max_size=height))
    data = {c: [None if b else draw(st.sampled_from(CELLS[c])) for b in blank] for c in columns}
    return pl.DataFrame(data, schema=dict.fromkeys(columns, pl.String))


def whole(path: Path) -> CheckedFile:
    """The answer of the whole-file path (load_job, then check_job)."""
    checked = check_job(load_job(path, digest=False), "update-ticket")
    return CheckedFile(checked.job, checked.kind, checked.how, checked.result)


def assert_same(fast: CheckedFile, slow: CheckedFile) -> None:
    """Everything `validate` reports and writes is the same."""
    assert isinstance(fast.result, InvalidRows)
    assert (fast.kind, fast.how) == (slow.kind, slow.how)
    assert (fast.job.format, fast.job.encoding, fast.job.sha256) == ("parquet", None, "")
    assert fast.job.blank_rows == slow.job.blank_rows
    assert (fast.result.rows, fast.result.invalid_rows) == (slow.result.rows, slow.result.invalid_rows)
    assert fast.result.invalid.equals(slow.result.invalid)
    assert fast.result.problems.equals(slow.result.problems)
    assert fast.result.by_rule().equals(slow.result.by_rule())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=job_frames())
def test_streaming_check_matches_the_whole_file_path(frame: pl.DataFrame) -> None:
    """On random files: the same rows, blank rows, invalid rows and problems as load_job + check_job."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "job.parquet"
        frame.write_parquet(path)
        if frame.select(pl.all_horizontal(pl.all().fill_null("") == "")).to_series().all():
            with pytest.raises(JobFileError, match="no row with any value"):
                check_job_file(path, "update-ticket")
            return
        assert_same(check_job_file(path, "update-ticket"), whole(path))


def test_planted_errors_in_several_row_groups(tmp_path: Path) -> None:
    """Broken rows over several row groups: exact row numbers, blank rows, same report and rejects."""
    ids = [f"UTM{i}" for i in range(5000)]
    ids[10], ids[2600], ids[4999] = "X1", "", "UTM"
    titles = ["ok"] * 5000
    titles[2600] = ""  # with the empty TicketId: a blank row
    path = tmp_path / "job.parquet"
    pl.DataFrame({"TicketId": ids, "Title": titles}).write_parquet(path, row_group_size=1000)
    fast, slow = check_job_file(path, "update-ticket"), whole(path)
    assert_same(fast, slow)
    assert fast.result.invalid.get_column("row").to_list() == [12, 5001]
    assert fast.job.blank_rows == 1
    assert printed(fast) == printed(slow)
    write_rejects(fast.result, tmp_path / "fast.csv")
    write_rejects(slow.result, tmp_path / "slow.csv")
    assert (tmp_path / "fast.csv").read_bytes() == (tmp_path / "slow.csv").read_bytes()


def printed(checked: CheckedFile) -> str:
    """The report `validate` prints."""
    out = io.StringIO()
    console = Console(file=out, width=160, highlight=False, markup=False, emoji=False)
    report(console, checked.job, checked.kind.name, checked.how, checked.result)
    return out.getvalue()


def test_blank_rows_kept_when_no_rule_breaks_an_empty_row(tmp_path: Path) -> None:
    """A kind whose rules pass an empty row: blank rows are still found and left out."""
    path = tmp_path / "unlink.parquet"
    frame = pl.DataFrame({"MasterIncidentId": ["UTM1", "", "x"], "IncidentId": ["UTM2", None, "UTM3"]})
    frame.write_parquet(path)
    fast = check_job_file(path, "release-relation")
    slow = check_job(load_job(path, digest=False), "release-relation")
    assert isinstance(fast.result, InvalidRows)
    assert (fast.job.blank_rows, fast.result.rows) == (slow.job.blank_rows, slow.result.rows)
    assert fast.result.problems.equals(slow.result.problems)


def test_one_action_value_takes_the_streaming_path(tmp_path: Path) -> None:
    """An Action column with one value decides the kind as check_job does."""
    path = tmp_path / "job.parquet"
    pl.DataFrame({"Action": ["UpdateTicket"] * 2, "TicketId": ["UTM1", "bad"]}).write_parquet(path)
    fast = check_job_file(path)
    assert isinstance(fast.result, InvalidRows)
    assert (fast.how, fast.result.invalid_rows) == ("Action column", 1)


@pytest.mark.parametrize(
    "frame",
    [
        pl.DataFrame({"TicketId": ["UTM1", "UTM2"], "Seq": [1, 2]}),  # a number column: refused
        pl.DataFrame({"TicketId": ["UTM1"], "Category": pl.Series(["a"], dtype=pl.Categorical)}),
        pl.DataFrame({"Action": ["UpdateTicket", ""], "TicketId": ["UTM1", ""]}),  # a blank row's Action
        pl.DataFrame({"TicketId": ["UTM1"], "row": ["1"]}),  # a reserved name
    ],
)
def test_unusual_files_take_the_whole_file_path(tmp_path: Path, frame: pl.DataFrame) -> None:
    """Files the scan does not take as they are give exactly check_job's answer or error."""
    path = tmp_path / "job.parquet"
    frame.write_parquet(path)
    try:
        slow: CheckedFile | str = whole(path)
    except JobFileError as exc:
        slow = str(exc)
    if isinstance(slow, str):
        with pytest.raises(JobFileError) as raised:
            check_job_file(path, "update-ticket")
        assert str(raised.value) == slow
        return
    fast = check_job_file(path, "update-ticket")
    assert isinstance(fast.result, ValidationResult)
    assert fast.result.problems.equals(slow.result.problems)


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_damaged_file_gives_load_jobs_error(tmp_path: Path, cut: float) -> None:
    """A truncated Parquet file gives load_job's own error, word for word."""
    path = tmp_path / "job.parquet"
    pl.DataFrame({"TicketId": [f"UTM{i}" for i in range(2000)]}).write_parquet(path)
    path.write_bytes(path.read_bytes()[: int(path.stat().st_size * cut)])
    assert_load_jobs_error(path)


def test_damaged_page_with_a_sound_footer_gives_load_jobs_error(tmp_path: Path) -> None:
    """Garbage inside a data page fails the streaming query, and load_job's own error is raised."""
    path = tmp_path / "job.parquet"
    ids = [f"UTM{i * 7919 % 10007}" for i in range(5000)]
    pl.DataFrame({"TicketId": ids}).write_parquet(path, row_group_size=1000)
    data = bytearray(path.read_bytes())
    middle = len(data) // 3
    data[middle : middle + 64] = b"U" * 64
    path.write_bytes(bytes(data))
    assert scan_parquet_job(path) is not None  # the footer still reads
    assert_load_jobs_error(path)


def assert_load_jobs_error(path: Path) -> None:
    """check_job_file refuses `path` with load_job's error, word for word."""
    with pytest.raises(JobFileError) as slow:
        load_job(path, digest=False)
    with pytest.raises(JobFileError) as fast:
        check_job_file(path, "update-ticket")
    assert str(fast.value) == str(slow.value)


def test_unknown_column_gives_check_jobs_error(tmp_path: Path) -> None:
    """A column error is check_job's, word for word."""
    path = tmp_path / "job.parquet"
    pl.DataFrame({"TicketId": ["UTM1"], "Priorty": ["高"]}).write_parquet(path)
    with pytest.raises(JobFileError) as slow:
        whole(path)
    with pytest.raises(JobFileError) as fast:
        check_job_file(path, "update-ticket")
    assert str(fast.value) == str(slow.value)


def test_csv_is_never_scanned(tmp_path: Path) -> None:
    """CSV files are loaded whole (scan_parquet_job answers None)."""
    path = tmp_path / "job.csv"
    path.write_text("TicketId\r\nUTM1\r\n", encoding="utf-8")
    assert scan_parquet_job(path) is None
    assert isinstance(check_job_file(path).result, ValidationResult)
