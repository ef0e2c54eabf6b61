"""`uom-batch retry LEDGER`: the asked rows, copied exactly from the job file as run, with row numbers."""

from __future__ import annotations

import codecs
import csv
import io
import json
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import anyio
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batch.cli import main
from batch.commands import retry as retry_command
from batch.engine.backoff import RetryPolicy
from batch.errors import ConfigError, JobFileError
from batch.jobfile.load import load_job
from batch.outcome import Outcome, RowOutcome
from batch.output.ledger import write_ledger
from batch.runs import retry
from batch.runs.settings import RunSettings
from batch.uom.emulator import Emulator
from jobs.fields import ORIGINAL_ROW
from tests.commands.test_startup import HEAVY, loaded_by

from .support import REPO, SETTINGS, cli_env, read_ledger, run_file, write_job

HEADER = ["TicketId", "Title", "CorrespondProcess"]
# Cells a careless copy would change: commas, quotes, line breaks (LF, CRLF), spaces, formulas, ids.
CELLS = [
    ["UTM1000001", "a, b", 'say "hi"'],
    ["UTM1000002", "two\r\nlines", "三行\nの\nメモ"],
    ["UTM1000003", "  padded  ", "=1+1"],
    ["UTM0000004", "0012", ""],
    ["UTM1000005", "〜全角～", "-"],
]
ENCODINGS = ["utf-8", "utf-8-sig", "cp932"]


def csv_bytes(rows: Sequence[Sequence[str]], encoding: str, line_end: str = "\r\n") -> bytes:
    """A CSV file's bytes, as Excel would write it in `encoding`."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=line_end).writerows(rows)
    return buffer.getvalue().encode(encoding)


def records(path: Path, encoding: str) -> list[list[str]]:
    """Every CSV record of `path` decoded with `encoding` (a BOM is part of the bytes checked)."""
    return list(csv.reader(io.StringIO(path.read_bytes().decode(encoding), newline="")))


def ledger_for(
    job: Path, outcomes: Mapping[int, tuple[str, str | None]], name: str = "job.ledger.csv", **facts: str
) -> Path:
    """A ledger beside `job` naming it, with outcome and error type per row, as a run writes it."""
    audit = {"job_file": str(job), "job_sha256": load_job(job).sha256, "kind": "update-ticket", **facts}
    rows = [
        RowOutcome(row=r, action="update-ticket", ticket_id=f"T{r}", outcome=Outcome(o), error_type=e)
        for r, (o, e) in sorted(outcomes.items())
    ]
    return write_ledger(job.with_name(name), rows, audit)


def do_retry(
    ledger: Path,
    only: Sequence[str] = retry.DEFAULT_ONLY,
    error_types: Sequence[str] = (),
    out: Path | None = None,
    cwd: Path | None = None,
) -> Path | None:
    """What `uom-batch retry` does, in steps: the file written, or None when nothing was selected."""
    read = retry.read_ledger(ledger)
    job = retry.open_job(read, load_job, cwd or ledger.parent)
    chosen = retry.select_rows(read.rows, only, error_types)
    if not chosen.rows:
        return None
    target = out or retry.default_retry_path(job.path, job.format)
    retry.check_target(target, job, ledger)
    retry.write_retry_job(job, chosen.rows, target)
    return target


# --- selection ---------------------------------------------------------------------------

OUTCOMES = [o.value for o in Outcome if o.value not in ("would_update", "would_release")]
ERRORS = [None, "SYSTEM_ERROR", "EXCLUSION_FAILURE", "TIMEOUT"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.sampled_from(OUTCOMES), st.sampled_from(ERRORS)), min_size=1, max_size=30),
    st.sets(st.sampled_from(retry.RETRYABLE), min_size=1),
    st.sets(st.sampled_from([e for e in ERRORS if e])),
)
def test_selects_exactly_the_asked_rows_and_keeps_their_numbers(
    rows: list[tuple[str, str | None]], only: set[str], error_types: set[str]
) -> None:
    """Exactly the rows whose outcome (and error type, if asked) matches are written, in order,
    each with its own cells and its spreadsheet row number in OriginalRow."""
    with tempfile.TemporaryDirectory() as directory:
        cells = [[f"UTM{1000000 + i}", f"title\n{i}", f"memo {i}"] for i in range(len(rows))]
        job = Path(directory, "job.csv")
        job.write_bytes(csv_bytes([HEADER, *cells], "utf-8"))
        ledger = ledger_for(job, {i + 2: r for i, r in enumerate(rows)})
        written = do_retry(ledger, sorted(only), sorted(error_types))
        want = [i + 2 for i, (o, e) in enumerate(rows) if o in only and (not error_types or e in error_types)]
        if not want:
            assert written is None
            return
        assert written is not None
        header, *got = records(written, "utf-8")
        assert header == [ORIGINAL_ROW, *HEADER]
        assert got == [[str(r), *cells[r - 2]] for r in want]


def test_error_types_that_match_nothing_are_reported() -> None:
    """An asked error type no selected row has is named, so a typo does not silently select nothing."""
    frame = pl.DataFrame(
        {"row": [2, 3], "outcome": ["failed", "updated"], "error_type": ["SYSTEM_ERROR", ""]}
    )
    chosen = retry.select_rows(frame, ["failed"], ["SYSTEM_ERORR", "SYSTEM_ERROR"])
    assert (chosen.rows, chosen.unmatched_error_types, chosen.by_outcome) == (
        (2,),
        ("SYSTEM_ERORR",),
        {"failed": 1},
    )


def test_unknown_only_value_is_refused_with_the_valid_ones() -> None:
    """--only with a name that is no outcome to retry: ConfigError naming it and every valid one."""
    with pytest.raises(ConfigError, match=r"'faild' is not an outcome to retry \(did you mean 'failed'\?\)"):
        retry.parse_only("faild,skipped")
    with pytest.raises(ConfigError, match="failed, invalid, stale, precondition_failed, skipped"):
        retry.parse_only("updated")
    assert retry.parse_only(" stale , failed,stale") == ("stale", "failed")


def test_unknown_only_value_exits_2_before_reading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command refuses an unknown --only value with exit 2 and a message, not a traceback."""
    assert main(["retry", str(tmp_path / "nothing.csv"), "--only", "failed,done"]) == 2
    assert "'done' is not an outcome to retry" in capsys.readouterr().err


def test_the_command_lists_the_same_outcomes_as_the_module() -> None:
    """The --help text's outcome lists are batch.runs.retry's (kept apart so --help loads no polars)."""
    assert retry_command.RETRYABLE.split(",") == list(retry.RETRYABLE)
    assert retry_command.DEFAULT_ONLY.split(",") == list(retry.DEFAULT_ONLY)
    assert retry.ORIGINAL_ROW == ORIGINAL_ROW


def test_help_loads_no_heavy_library() -> None:
    """`uom-batch retry --help` starts at once: none of polars, aiohttp, anyio, structlog, rich."""
    code, loaded = loaded_by("retry", "--help")
    assert code == 0
    assert loaded.isdisjoint(HEAVY), loaded & set(HEAVY)


# --- the copy ----------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("line_end", ["\r\n", "\n"])
def test_csv_cells_round_trip_exactly_in_the_same_encoding(
    tmp_path: Path, encoding: str, line_end: str
) -> None:
    """UTF-8, UTF-8 with BOM and CP932 stay so; every cell is the original's text; line ends kept."""
    job = tmp_path / "job.csv"
    job.write_bytes(csv_bytes([HEADER, *CELLS], encoding, line_end))
    ledger = ledger_for(
        job,
        {
            2: ("updated", None),
            3: ("failed", "SYSTEM_ERROR"),
            4: ("skipped", None),
            5: ("failed", "TIMEOUT"),
            6: ("stale", None),
        },
    )
    written = do_retry(ledger)
    assert written == tmp_path / "job.retry.csv"
    raw = written.read_bytes()
    assert raw.startswith(codecs.BOM_UTF8) == (encoding == "utf-8-sig")
    assert raw.split(b"\n", 1)[0].endswith(b"\r") == (line_end == "\r\n")
    original = records(job, encoding)  # the cells as the job file holds them
    header, *rows = records(written, encoding)
    assert header == [ORIGINAL_ROW, *original[0]]
    assert rows == [[str(r), *original[r - 1]] for r in (3, 4, 5, 6)]
    assert rows[0][2] == "two\r\nlines"
    assert f"5,UTM0000004,0012,{line_end}" in raw.decode(encoding)  # an empty cell is written as nothing
    assert load_job(written).encoding == load_job(job).encoding


def test_blank_rows_keep_the_numbers_after_them(tmp_path: Path) -> None:
    """Row numbers count a skipped blank line, as the spreadsheet and the ledger do."""
    job = tmp_path / "job.csv"
    job.write_bytes(csv_bytes([HEADER, CELLS[0], ["", "", ""], CELLS[1]], "utf-8"))
    written = do_retry(ledger_for(job, {2: ("updated", None), 4: ("failed", None)}))
    assert written is not None
    assert records(written, "utf-8")[1:] == [["4", *CELLS[1]]]


def test_parquet_keeps_its_column_types(tmp_path: Path) -> None:
    """A Parquet job gives a Parquet retry file: the same columns and types, OriginalRow first."""
    memos = pl.List(pl.Struct({"CorrespondProcess": pl.String, "CorrespondProcessSeq": pl.String}))
    frame = pl.DataFrame(
        {
            "TicketId": ["UTM1", "UTM2", "UTM3"],
            "Priority": pl.Series(["高", "低", "中"], dtype=pl.Categorical),
            "CorrespondProcessList": pl.Series(
                [
                    [{"CorrespondProcess": "a", "CorrespondProcessSeq": None}],
                    [],
                    [{"CorrespondProcess": "b\nc", "CorrespondProcessSeq": "1"}],
                ],
                dtype=memos,
            ),
        }
    )
    job = tmp_path / "job.parquet"
    frame.write_parquet(job)
    written = do_retry(ledger_for(job, {2: ("failed", None), 3: ("updated", None), 4: ("skipped", None)}))
    assert written == tmp_path / "job.retry.parquet"
    again = pl.read_parquet(written)
    assert again.schema == {ORIGINAL_ROW: pl.String, **frame.schema}
    assert again[ORIGINAL_ROW].to_list() == ["2", "4"]
    assert again.drop(ORIGINAL_ROW).to_dicts() == frame[[0, 2]].to_dicts()


def test_retry_of_a_retry_keeps_the_first_numbers(tmp_path: Path) -> None:
    """A retry file's own OriginalRow wins over its row numbers, so the first job's numbers stay."""
    job = tmp_path / "job.csv"
    job.write_bytes(csv_bytes([HEADER, *CELLS], "cp932"))
    first = do_retry(ledger_for(job, {r: ("failed", None) for r in (3, 5, 6)}))
    assert first == tmp_path / "job.retry.csv"
    second = do_retry(
        ledger_for(
            first,
            {2: ("updated", None), 3: ("failed", None), 4: ("failed", None)},
            name="job.retry.ledger.csv",
        )
    )
    assert second == tmp_path / "job.retry2.csv"
    original = records(job, "cp932")
    header, *rows = records(second, "cp932")
    assert header == [ORIGINAL_ROW, *HEADER]
    assert rows == [["5", *original[4]], ["6", *original[5]]]


def test_default_names_count_retries() -> None:
    """x.csv → x.retry.csv → x.retry2.csv → x.retry3.csv; Parquet keeps its suffix."""
    assert retry.default_retry_path(Path("d/x.csv"), "csv") == Path("d/x.retry.csv")
    assert retry.default_retry_path(Path("d/x.retry.csv"), "csv") == Path("d/x.retry2.csv")
    assert retry.default_retry_path(Path("d/x.retry2.csv"), "csv") == Path("d/x.retry3.csv")
    assert retry.default_retry_path(Path("x.retryable.pq"), "parquet") == Path("x.retryable.retry.pq")
    assert retry.default_retry_path(Path("jobs"), "csv") == Path("jobs.retry.csv")


def test_refuses_to_overwrite_the_job_or_change_the_format(tmp_path: Path) -> None:
    """--out may not be the original job file or the ledger, nor Parquet for a CSV job."""
    job = tmp_path / "job.csv"
    job.write_bytes(csv_bytes([HEADER, *CELLS], "utf-8"))
    ledger = ledger_for(job, {2: ("failed", None)})
    before = job.read_bytes()
    for out, what in (
        (job, "the original job file"),
        (ledger, "the ledger"),
        (tmp_path / "r.parquet", "csv too"),
    ):
        with pytest.raises(JobFileError, match=what):
            do_retry(ledger, out=out)
    assert job.read_bytes() == before


# --- finding the job file ----------------------------------------------------------------


def test_changed_job_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A job file edited since the run: exit 2, naming the ledger and the job file; nothing written."""
    job = tmp_path / "job.csv"
    job.write_bytes(csv_bytes([HEADER, *CELLS], "utf-8"))
    ledger = ledger_for(job, {2: ("failed", None)})
    job.write_bytes(csv_bytes([HEADER, *CELLS[:3]], "utf-8"))
    assert main(["retry", str(ledger)]) == 2
    err = capsys.readouterr().err
    assert f"{ledger}: its job file {job} has changed since the run" in err
    assert not (tmp_path / "job.retry.csv").exists()


def test_missing_job_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A job file that is gone: exit 2, naming the ledger, the job file and where it was looked for."""
    job = tmp_path / "job.csv"
    job.write_bytes(csv_bytes([HEADER, *CELLS], "utf-8"))
    ledger = ledger_for(job, {2: ("failed", None)})
    job.unlink()
    assert main(["retry", str(ledger)]) == 2
    assert f"{ledger}: its job file {job} is missing" in capsys.readouterr().err


def test_relative_job_file_is_found_from_the_cwd_then_beside_the_ledger(tmp_path: Path) -> None:
    """`run jobs/x.csv` from one directory: found from that directory, or beside the ledger."""
    (tmp_path / "jobs").mkdir()
    job = tmp_path / "jobs" / "x.csv"
    job.write_bytes(csv_bytes([HEADER, *CELLS], "utf-8"))
    ledger = ledger_for(job, {2: ("failed", None)})
    facts = {**retry.read_ledger(ledger).audit, "job_file": "jobs/x.csv"}
    ledger = write_ledger(
        ledger,
        [RowOutcome(row=2, action="update-ticket", ticket_id="T", outcome=Outcome.FAILED)],
        {k: v for k, v in facts.items() if not k.startswith("ledger.")},
    )
    read = retry.read_ledger(ledger)
    assert retry.open_job(read, load_job, tmp_path).path == job
    assert retry.open_job(read, load_job, tmp_path / "elsewhere").path == job  # by name, beside the ledger


def test_not_a_ledger_is_refused(tmp_path: Path) -> None:
    """A CSV without the sidecar, or a file without the ledger's columns, is a clear JobFileError."""
    plain = tmp_path / "plain.csv"
    plain.write_text("row,outcome\n2,failed\n", encoding="utf-8")
    with pytest.raises(JobFileError, match=r"plain\.csv\.meta\.json\) are missing"):
        retry.read_ledger(plain)
    (tmp_path / "plain.csv.meta.json").write_text(json.dumps({"job_file": "x"}), encoding="utf-8")
    with pytest.raises(JobFileError, match="cannot read it as a ledger"):
        retry.read_ledger(plain)


def test_cp932_ledger_is_read(tmp_path: Path) -> None:
    """A CSV ledger written in CP932 (for old Excel) gives its rows and outcomes."""
    job = tmp_path / "job.csv"
    job.write_bytes(csv_bytes([HEADER, *CELLS], "utf-8"))
    audit = {"job_file": str(job), "job_sha256": load_job(job).sha256, "kind": "update-ticket"}
    outcome = RowOutcome(
        row=3,
        action="update-ticket",
        ticket_id="T",
        outcome=Outcome.FAILED,
        error_type="SYSTEM_ERROR",
        error_message="親チケット〜エラー",
    )
    ledger = write_ledger(tmp_path / "l.csv", [outcome], audit, csv_encoding="cp932")
    assert retry.read_ledger(ledger).rows.rows() == [(3, "failed", "SYSTEM_ERROR")]


def test_nothing_to_retry_writes_nothing_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No row matches: it says so, writes no file, exit 0."""
    job = tmp_path / "job.csv"
    job.write_bytes(csv_bytes([HEADER, *CELLS], "utf-8"))
    ledger = ledger_for(job, {2: ("updated", None), 3: ("failed", None)})
    assert main(["retry", str(ledger), "--only", "skipped"]) == 0
    assert "nothing to retry" in capsys.readouterr().out
    assert not (tmp_path / "job.retry.csv").exists()


# --- settings ----------------------------------------------------------------------------


def test_settings_come_back_from_the_audit_facts() -> None:
    """Limits, budgets, ledger encoding and seed written by RunSettings.audit() are read back as such."""
    ran = RunSettings(
        rate_per_s=None,
        concurrency=3,
        group_size=7,
        csv_encoding="cp932",
        seed=5,
        policy=RetryPolicy(max_conflicts=9, max_transient=1, base_s=0.0, max_s=0.5),
    )
    facts = {f"settings.{k}": v for k, v in ran.audit().items()}
    again = retry.run_settings_from(facts)
    assert (again.rate_per_s, again.concurrency, again.group_size, again.csv_encoding, again.seed) == (
        None,
        3,
        7,
        "cp932",
        5,
    )
    assert again.policy == ran.policy
    with pytest.raises(ConfigError, match="settings"):
        retry.run_settings_from({"settings.concurrency": "many"})


# --- with the emulator -------------------------------------------------------------------

CLOSE = {"StateCode": "クローズ", "FinishApprovalUserId": "SA1234567", "expect.StateCode": "復旧済み"}


async def test_a_real_run_ledger_gives_a_job_that_validate_accepts(
    emu: Emulator, url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run's own CSV ledger names its job; the retry file of its failed row validates clean."""
    job = write_job(
        tmp_path / "job.csv",
        [{"TicketId": "UTM1000001", **CLOSE}, {"TicketId": "UTM1999999", "Priority": "高"}],
    )
    ran = await run_file(job, url, parquet=False)
    assert ran.outcomes == {"2": "updated", "3": "failed"}  # a CSV ledger read as text
    written = do_retry(ran.report.ledger_path)
    assert written is not None
    assert records(written, "utf-8")[1][:2] == ["3", "UTM1999999"]
    capsys.readouterr()
    assert main(["validate", str(written)]) == 0
    assert "valid: 1  invalid: 0" in capsys.readouterr().out


async def test_retry_run_applies_the_rows_with_the_same_settings(
    emu: Emulator, url: str, tmp_path: Path
) -> None:
    """`retry --run` writes the retry job and runs it: the row now lands, with the first run's settings."""
    rows = [{"TicketId": "UTM1000001", **CLOSE}, {"TicketId": "UTM1000061", **CLOSE}]
    job = write_job(tmp_path / "job.csv", rows)
    ran = await run_file(job, url, SETTINGS, parquet=True)
    assert ran.outcomes == {2: "updated", 3: "precondition_failed"}
    emu.tickets["UTM1000061"]["StateCode"] = "復旧済み"  # what the operator waited for
    command = [
        sys.executable,
        "-m",
        "batch",
        "retry",
        str(ran.report.ledger_path),
        "--only",
        "precondition_failed",
        "--run",
        "--no-uvloop",
    ]
    with anyio.fail_after(60):
        done = await anyio.run_process(
            command, cwd=REPO, env=cli_env(url), check=False, stdin=subprocess.DEVNULL
        )
    out = done.stdout.decode()
    assert done.returncode == 0, out + done.stderr.decode()
    assert "selected 1 of 2 rows" in out and "precondition_failed 1" in out
    again = read_ledger(tmp_path / "job.retry.ledger.parquet")
    assert again.select("row", "outcome").rows() == [(2, "updated")]
    assert emu.tickets["UTM1000061"]["StateCode"] == "クローズ"
    meta = pl.read_parquet_metadata(tmp_path / "job.retry.ledger.parquet")
    assert (meta["settings.rate_per_s"], meta["settings.policy.base_s"]) == ("None", "0.0")
    assert records(tmp_path / "job.retry.csv", "utf-8")[1][:2] == ["3", "UTM1000061"]


def test_command_prints_counts_the_file_and_the_next_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command reports the selection by outcome, the file written, and `run` with the same settings."""
    job = tmp_path / "job.csv"
    job.write_bytes(csv_bytes([HEADER, *CELLS], "utf-8-sig"))
    ran = RunSettings(rate_per_s=None, concurrency=3)
    facts = {f"settings.{k}": v for k, v in ran.audit().items()}
    ledger = ledger_for(
        job, {2: ("failed", "SYSTEM_ERROR"), 3: ("skipped", None), 4: ("failed", "TIMEOUT")}, **facts
    )
    assert main(["retry", str(ledger), "--error-type", "SYSTEM_ERROR,TIMEOUT,NO_SUCH"]) == 0
    out = capsys.readouterr().out.splitlines()
    retry_file = tmp_path / "job.retry.csv"
    assert out == [
        "note: no failed or stale or skipped row has the error type NO_SUCH",
        f"selected 2 of 3 rows of {ledger}: failed 2",
        f"wrote {retry_file}: 2 rows, CSV in utf-8-sig, OriginalRow first "
        "(each row's number in the first job file)",
        f"next: uom-batch run {retry_file} --rate 0 --concurrency 3",
    ]
    assert [r[0] for r in records(retry_file, "utf-8-sig")] == [ORIGINAL_ROW, "2", "4"]
