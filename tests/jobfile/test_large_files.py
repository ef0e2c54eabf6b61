"""Loading errors found past the encoding sample and polars' first chunks, at their exact place.

The loader decides the encoding from the first MiB and lets polars check the rest, so these
files put their problem well after that (about 3 MiB in), and every problem must still be
caught and located: a bad byte, a ragged record, CP932 text, a BOM, multi-line cells.
"""

from __future__ import annotations

import codecs
import csv
import io
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batch.errors import JobFileError
from batch.jobfile.encoding import SAMPLE_BYTES
from batch.jobfile.load import load_job

HEADER = "TicketId,Title,Memo\r\n"
FILLER_ROWS = 3 * SAMPLE_BYTES // 24  # about 3 MiB of rows like the one below


def filler(rows: int = FILLER_ROWS, memo: str = "ok") -> str:
    """`rows` well-formed ASCII records (24 bytes each with the default memo)."""
    return "".join(f"UTM{n:07d},title,{memo}\r\n" for n in range(rows))


def write(tmp_path: Path, data: bytes, name: str = "big.csv") -> Path:
    """`data` as a file in `tmp_path`."""
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_bad_byte_after_the_sample_names_both_offsets(tmp_path: Path) -> None:
    """A byte that is neither UTF-8 nor CP932 3 MiB in: both first bad offsets and the line."""
    head = (HEADER + filler()).encode()
    path = write(tmp_path, head + b"UTM9,\x82\xff,x\r\n")
    line = head.count(b"\n") + 1
    with pytest.raises(JobFileError) as err:
        load_job(path)
    message = str(err.value)
    assert f"not UTF-8 (byte offset {len(head) + 5} (line {line}) is not valid utf-8)" in message
    assert f"not CP932 (byte offset {len(head) + 5} (line {line})" in message
    assert message.startswith("big.csv:") and "--encoding" in message


def test_bad_byte_late_with_utf8_given_names_its_offset(tmp_path: Path) -> None:
    """--encoding utf-8 and a CP932 byte 3 MiB in: the offset and line, and a question."""
    head = (HEADER + filler()).encode()
    path = write(tmp_path, head + "UTM9,日本,x\r\n".encode("cp932"))
    line = head.count(b"\n") + 1
    pattern = rf"byte offset {len(head) + 5} \(line {line}\) is not valid utf-8; is --encoding utf-8 right"
    with pytest.raises(JobFileError, match=pattern):
        load_job(path, encoding="utf-8")


def test_cp932_after_an_ascii_sample_is_detected(tmp_path: Path) -> None:
    """An ASCII first MiB, then CP932 text: read as CP932, every value and row number intact."""
    text = HEADER + filler() + "UTM8,障害「ＮＴＰ」①,髙橋\r\n"
    job = load_job(write(tmp_path, text.encode("cp932")))
    assert job.encoding == "cp932"
    assert job.frame.row(-1) == (FILLER_ROWS + 2, "UTM8", "障害「ＮＴＰ」①", "髙橋")


def test_cp932_transcoded_in_chunks_finds_a_ragged_record(tmp_path: Path) -> None:
    """A large CP932 file is transcoded chunk by chunk; a short record in it is named."""
    rows = filler(memo="メモ") + "UTM8,タイトル\r\n" + filler(10, memo="メモ")
    path = write(tmp_path, (HEADER + rows).encode("cp932"))
    with pytest.raises(JobFileError, match=rf"row {FILLER_ROWS + 2} has 2 fields$"):
        load_job(path)


def test_short_record_late_is_named(tmp_path: Path) -> None:
    """A record short of its last field 3 MiB in: its row number, though polars pads it."""
    text = HEADER + filler() + "UTM8,title\r\n" + filler(5)
    with pytest.raises(JobFileError, match=rf"row {FILLER_ROWS + 2} has 2 fields$"):
        load_job(write(tmp_path, text.encode()))


def test_short_record_among_empty_last_cells_is_named(tmp_path: Path) -> None:
    """When the last column is often empty, a short record is still told from an empty cell."""
    text = HEADER + filler(memo="") + "UTM8,title\r\n" + filler(5, memo="")
    with pytest.raises(JobFileError, match=rf"row {FILLER_ROWS + 2} has 2 fields$"):
        load_job(write(tmp_path, text.encode()))


def test_empty_last_cells_are_not_ragged(tmp_path: Path) -> None:
    """Records that end in an empty cell (`a,b,`) are whole records with an empty value."""
    job = load_job(write(tmp_path, (HEADER + filler(memo="") + 'UTM8,"a,b",\r\n').encode()))
    assert job.rows == FILLER_ROWS + 1
    assert job.frame.row(-1) == (FILLER_ROWS + 2, "UTM8", "a,b", "")


def test_long_record_late_is_named(tmp_path: Path) -> None:
    """A record with a field too many 3 MiB in: polars refuses it, the row is named."""
    text = HEADER + filler() + "UTM8,a,b,c\r\n" + filler(5)
    with pytest.raises(JobFileError, match=rf"row {FILLER_ROWS + 2} has 4 fields$"):
        load_job(write(tmp_path, text.encode()))


def test_unclosed_quote_late_is_named(tmp_path: Path) -> None:
    """A quoted field that never closes, 3 MiB in: its row and the likely cause."""
    text = HEADER + filler() + 'UTM8,"cut off\r\n'
    with pytest.raises(JobFileError, match=rf"row {FILLER_ROWS + 2}: a quoted field is never closed"):
        load_job(write(tmp_path, text.encode()))


def test_multi_line_cells_are_one_row_each(tmp_path: Path) -> None:
    """Cells with line breaks in every record: row numbers count records, not lines."""
    memo = '"line 1\r\nline 2\nline 3"'
    job = load_job(write(tmp_path, (HEADER + filler(memo=memo) + "UTM8,last,x\r\n").encode()))
    assert job.frame.get_column("row").to_list() == list(range(2, FILLER_ROWS + 3))
    assert job.frame.row(0)[3] == "line 1\r\nline 2\nline 3"
    assert job.frame.row(-1) == (FILLER_ROWS + 2, "UTM8", "last", "x")


def test_bom_is_skipped_in_a_large_file(tmp_path: Path) -> None:
    """A UTF-8 BOM: utf-8-sig, the first column named without it, every row read."""
    job = load_job(write(tmp_path, codecs.BOM_UTF8 + (HEADER + filler()).encode()))
    assert (job.encoding, job.columns[0], job.rows) == ("utf-8-sig", "TicketId", FILLER_ROWS)


def test_blank_lines_at_the_end_and_inside(tmp_path: Path) -> None:
    """Blank lines at the end are skipped; one inside is skipped and later rows keep numbers."""
    job = load_job(write(tmp_path, (HEADER + filler() + "\r\n\r\n").encode()))
    assert (job.rows, job.blank_rows) == (FILLER_ROWS, 2)
    job = load_job(write(tmp_path, (HEADER + "UTM1,a,b\r\n\r\nUTM3,c,d\r\n").encode()))
    assert [r[:2] for r in job.frame.rows()] == [(2, "UTM1"), (4, "UTM3")]


def test_bad_byte_in_the_header_with_utf8_given(tmp_path: Path) -> None:
    """--encoding utf-8 and a bad byte in the header: the offset, not a crash."""
    path = write(tmp_path, b"Ticket\xffId,Title\r\nUTM1,a\r\n")
    with pytest.raises(JobFileError, match=r"byte offset 6 \(line 1\) is not valid utf-8"):
        load_job(path, encoding="utf-8")


# Any record shape: the loader agrees with Python's csv module about which rows are ragged.

CELL = st.sampled_from(["", "a", "a,b", 'say "hi"', "two\nlines", "x\r\ny", " ", "日本"])
RECORD = st.lists(CELL, min_size=0, max_size=4)


@settings(max_examples=80, deadline=None)
@given(st.lists(RECORD, min_size=1, max_size=12), st.booleans())
def test_ragged_records_are_found_wherever_they_are(records: list[list[str]], crlf: bool) -> None:
    """Records of any width (0 fields = a blank line): the first ragged one is named, or all load."""
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n" if crlf else "\n").writerows([["A", "B", "C"], *records])
    ragged = [n for n, r in enumerate(records, 2) if r and len(r) != 3]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "j.csv"
        path.write_text(out.getvalue(), encoding="utf-8", newline="")
        if ragged:
            first = ragged[0]
            with pytest.raises(JobFileError, match=rf"but row {first} has {len(records[first - 2])} "):
                load_job(path)
            return
        kept = [(n, *r) for n, r in enumerate(records, 2) if any(r)]
        if not kept:
            with pytest.raises(JobFileError, match=r"no row with any value|no data rows"):
                load_job(path)
            return
        assert load_job(path).frame.rows() == kept
