"""Loading job files: encodings, CSV quoting, row numbers, Parquet, and every loading failure."""

from __future__ import annotations

import csv
import hashlib
import io
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batch.errors import JobFileError
from batch.jobfile.encoding import CHUNK_BYTES
from batch.jobfile.load import load_job


def write(path: Path, data: str | bytes, encoding: str = "utf-8") -> Path:
    """Write `data` (text in `encoding`, or bytes) to `path`."""
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return path


def rows_of(path: Path, **kwargs: str) -> list[dict[str, object]]:
    """The loaded frame as dicts."""
    return load_job(path, **kwargs).frame.to_dicts()


JAPANESE = "TicketId,Title\r\nUTM1,障害「ＮＴＰ」①\r\nUTM2,髙橋様へ連絡\r\n"


def test_utf8_is_detected(tmp_path: Path) -> None:
    """A UTF-8 file without BOM is read as utf-8 and its text kept exactly."""
    job = load_job(write(tmp_path / "j.csv", JAPANESE))
    assert job.encoding == "utf-8"
    assert job.frame["Title"].to_list() == ["障害「ＮＴＰ」①", "髙橋様へ連絡"]


def test_utf8_bom_is_detected_and_skipped(tmp_path: Path) -> None:
    """A UTF-8 BOM means utf-8-sig; the first column's name carries no BOM."""
    job = load_job(write(tmp_path / "j.csv", JAPANESE, "utf-8-sig"))
    assert job.encoding == "utf-8-sig"
    assert job.columns == ("TicketId", "Title")
    assert job.frame["TicketId"].to_list() == ["UTM1", "UTM2"]


def test_cp932_is_detected_and_transcoded(tmp_path: Path) -> None:
    """A CP932 file from Japanese Excel (incl. ①, 髙) loads the same as its UTF-8 twin."""
    job = load_job(write(tmp_path / "j.csv", JAPANESE, "cp932"))
    assert job.encoding == "cp932"
    assert job.frame.equals(load_job(write(tmp_path / "u.csv", JAPANESE)).frame)


def test_transcoding_leaves_no_scratch_file(tmp_path: Path) -> None:
    """The scratch UTF-8 copy of a CP932 file is deleted after loading."""
    before = set(Path(tempfile.gettempdir()).glob("uom-batch-*"))
    load_job(write(tmp_path / "j.csv", JAPANESE, "cp932"))
    assert set(Path(tempfile.gettempdir()).glob("uom-batch-*")) == before


def test_given_encoding_is_used(tmp_path: Path) -> None:
    """--encoding shift_jis reads a Shift_JIS file and reports the codec."""
    job = load_job(write(tmp_path / "j.csv", "TicketId,Title\nUTM1,日本語\n", "shift_jis"), encoding="sjis")
    assert (job.encoding, job.frame["Title"][0]) == ("shift_jis", "日本語")


def test_wrong_given_encoding_names_offset_and_line(tmp_path: Path) -> None:
    """A CP932 file read as --encoding utf-8 fails with the byte offset and line of the first bad byte."""
    path = write(tmp_path / "j.csv", "TicketId,Title\nUTM1,日本語\n", "cp932")
    with pytest.raises(JobFileError, match=r"j\.csv: byte offset 20 \(line 2\) is not valid utf-8"):
        load_job(path, encoding="utf-8")


def test_unknown_encoding_is_refused(tmp_path: Path) -> None:
    """An encoding Python does not know is a JobFileError, not a LookupError."""
    with pytest.raises(JobFileError, match="unknown encoding 'klingon'"):
        load_job(write(tmp_path / "j.csv", "a\n1\n"), encoding="klingon")


def test_undecodable_bytes_suggest_encoding(tmp_path: Path) -> None:
    """Bytes that are neither UTF-8 nor CP932 name both offsets and suggest --encoding."""
    path = write(tmp_path / "j.csv", b"TicketId,Title\nUTM1,\x82\xff\n")
    with pytest.raises(JobFileError) as err:
        load_job(path)
    message = str(err.value)
    assert "j.csv" in message and "--encoding" in message
    assert "not UTF-8 (byte offset 20 (line 2)" in message and "not CP932 (byte offset 20" in message


def test_chunk_boundaries_inside_characters_decode(tmp_path: Path) -> None:
    """A file larger than one read chunk, with 3-byte characters across chunk ends, loads intact."""
    title = "あ" * (CHUNK_BYTES // 3 + 7)
    job = load_job(write(tmp_path / "j.csv", f"TicketId,Title\nUTM1,{title}\nUTM2,い\n", "cp932"))
    assert job.frame["Title"].to_list() == [title, "い"]


def test_bad_byte_after_first_chunk_reports_absolute_offset(tmp_path: Path) -> None:
    """Offsets and lines count from the file's start, not the chunk's."""
    head = "TicketId,Title\n" + "UTM1,x\n" * (CHUNK_BYTES // 7 + 3)
    data = head.encode() + b"UTM2,\xff\n"
    with pytest.raises(
        JobFileError, match=rf"byte offset {len(head) + 5} \(line {head.count(chr(10)) + 1}\)"
    ):
        load_job(write(tmp_path / "j.csv", data), encoding="utf-8")


def test_every_cell_is_text_and_no_value_is_a_command(tmp_path: Path) -> None:
    """Ids, dates and null-like words stay text exactly as written; empty cells are ""."""
    text = "TicketId,A,B,C,D,E,F,G,H\n0012,20240101000000,null,NA,N/A,-,0,TRUE,\n"
    (row,) = rows_of(write(tmp_path / "j.csv", text))
    assert row == {
        "row": 2,
        "TicketId": "0012",
        "A": "20240101000000",
        "B": "null",
        "C": "NA",
        "D": "N/A",
        "E": "-",
        "F": "0",
        "G": "TRUE",
        "H": "",
    }
    assert all(
        dtype == pl.String
        for name, dtype in load_job(tmp_path / "j.csv").frame.schema.items()
        if name != "row"
    )


def test_quoted_fields_and_spreadsheet_row_numbers(tmp_path: Path) -> None:
    """Commas, doubled quotes and line breaks survive; a multi-line cell is one row."""
    text = 'TicketId,Title\nUTM1,"a, b"\nUTM2,"say ""hi""\nsecond line\r\nthird"\nUTM3,plain\n'
    rows = rows_of(write(tmp_path / "j.csv", text))
    assert [(r["row"], r["Title"]) for r in rows] == [
        (2, "a, b"),
        (3, 'say "hi"\nsecond line\r\nthird'),
        (4, "plain"),
    ]


def test_blank_rows_are_skipped_but_keep_numbering(tmp_path: Path) -> None:
    """Empty lines and all-empty rows are skipped and counted; later rows keep their numbers."""
    job = load_job(write(tmp_path / "j.csv", "TicketId,Title\r\nUTM1,a\r\n\r\n,\r\nUTM2,b\r\n\r\n"))
    assert [(r["row"], r["TicketId"]) for r in job.frame.to_dicts()] == [(2, "UTM1"), (5, "UTM2")]
    assert (job.rows, job.blank_rows) == (2, 3)


def test_sha256_is_of_the_file_bytes(tmp_path: Path) -> None:
    """The job's SHA-256 is that of the bytes on disk, whatever the encoding."""
    path = write(tmp_path / "j.csv", JAPANESE, "cp932")
    assert load_job(path).sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"\xef\xbb\xbf", "the file is empty"),
        (b"\n\nTicketId\nUTM1\n", "the first line \\(the header\\) is empty"),
        (b"TicketId,Title\r\n", "a header but no data rows"),
        (b"TicketId,Title\n,\n\n", "no row with any value"),
        (b"TicketId,Title,TicketId\nUTM1,a,b\n", "duplicate column names: 'TicketId' in columns 1, 3"),
        (b"TicketId,,Title\nUTM1,a,b\n", "header column\\(s\\) 2 have no name"),
        (b"row,TicketId\n1,UTM1\n", "the column name 'row' is reserved"),
        (b'TicketId,Title\nUTM1,"x\ny"\nUTM2\n', "the header has 2 fields but row 3 has 1 field$"),
        (b"TicketId,Title\nUTM1,a,extra\nUTM2,b\n", "the header has 2 fields but row 2 has 3 fields"),
        (b'TicketId,Title\nUTM1,"cut off\n', "row 2: a quoted field is never closed"),
    ],
)
def test_csv_loading_failures(tmp_path: Path, content: bytes, message: str) -> None:
    """Each unusable CSV is one JobFileError naming the file and the exact problem."""
    with pytest.raises(JobFileError, match=message) as err:
        load_job(write(tmp_path / "job.csv", content))
    assert str(err.value).startswith("job.csv:")


def test_many_ragged_rows_are_summarised(tmp_path: Path) -> None:
    """The first three ragged rows are named, the rest counted."""
    text = "A,B\n" + "1\n" * 5
    with pytest.raises(
        JobFileError, match=r"row 2 has 1 field; row 3 .*row 4 has 1 field \(and 2 more rows\)"
    ):
        load_job(write(tmp_path / "j.csv", text))


def test_missing_file_is_a_job_file_error(tmp_path: Path) -> None:
    """A path that does not exist is a JobFileError."""
    with pytest.raises(JobFileError, match="no such file"):
        load_job(tmp_path / "absent.csv")


MEMO = pl.Struct({"CorrespondProcessSeq": pl.String, "CorrespondProcess": pl.String})


def test_parquet_strings_and_row_numbers(tmp_path: Path) -> None:
    """Parquet string columns load as they are; row = index + 2; nulls read as ""."""
    path = tmp_path / "j.parquet"
    pl.DataFrame({"TicketId": ["0012", "UTM2"], "Title": [None, "x"]}).write_parquet(path)
    job = load_job(path)
    assert (job.format, job.encoding, job.rows) == ("parquet", None, 2)
    assert job.frame.to_dicts() == [
        {"row": 2, "TicketId": "0012", "Title": ""},
        {"row": 3, "TicketId": "UTM2", "Title": "x"},
    ]
    assert job.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_parquet_list_of_structs_becomes_json_text(tmp_path: Path) -> None:
    """A list-of-struct column arrives as the JSON text a CSV cell would hold, nulls inside as ""."""
    path = tmp_path / "j.parquet"
    lists = pl.Series(
        [[{"CorrespondProcessSeq": None, "CorrespondProcess": 'メモ "1"\n'}], None, []], dtype=pl.List(MEMO)
    )
    pl.DataFrame({"TicketId": ["UTM1", "UTM2", "UTM3"], "L": lists}).write_parquet(path)
    cells = load_job(path).frame["L"].to_list()
    assert cells == ['[{"CorrespondProcessSeq":"","CorrespondProcess":"メモ \\"1\\"\\n"}]', "", "[]"]


def test_parquet_categorical_and_null_columns_become_text(tmp_path: Path) -> None:
    """Categorical and all-null columns are read as text."""
    path = tmp_path / "j.parquet"
    frame = pl.DataFrame({"TicketId": pl.Series(["UTM1"], dtype=pl.Categorical), "Title": [None]})
    frame.write_parquet(path)
    assert load_job(path).frame.to_dicts() == [{"row": 2, "TicketId": "UTM1", "Title": ""}]


def test_parquet_number_columns_are_refused(tmp_path: Path) -> None:
    """A numeric column is refused by name: its exact text (0012) may already be lost."""
    path = tmp_path / "j.parquet"
    pl.DataFrame({"TicketId": [12], "Priority": ["高"], "Seq": [1.5]}).write_parquet(path)
    with pytest.raises(JobFileError, match=r"TicketId \(Int64\), Seq \(Float64\)"):
        load_job(path)


def test_parquet_without_rows_is_refused(tmp_path: Path) -> None:
    """A Parquet file with columns but no rows is refused."""
    path = tmp_path / "j.parquet"
    pl.DataFrame({"TicketId": pl.Series([], dtype=pl.String)}).write_parquet(path)
    with pytest.raises(JobFileError, match="no data rows"):
        load_job(path)


def test_truncated_parquet_is_refused(tmp_path: Path) -> None:
    """A Parquet file cut in half is a JobFileError, not a crash."""
    path = tmp_path / "j.parquet"
    pl.DataFrame({"TicketId": ["UTM1"] * 100}).write_parquet(path)
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(JobFileError, match="not a readable Parquet file"):
        load_job(path)


def test_file_named_parquet_that_is_not_is_refused(tmp_path: Path) -> None:
    """A .parquet name on a text file is refused as unreadable Parquet."""
    with pytest.raises(JobFileError, match=r"j\.parquet: not a readable Parquet file"):
        load_job(write(tmp_path / "j.parquet", "TicketId\nUTM1\n"))


def test_parquet_is_recognised_without_its_suffix(tmp_path: Path) -> None:
    """A Parquet file is recognised by its magic bytes, whatever its name."""
    path = tmp_path / "job.dat"
    pl.DataFrame({"TicketId": ["UTM1"]}).write_parquet(path)
    assert load_job(path).format == "parquet"


def test_parquet_duplicate_columns_are_refused(tmp_path: Path) -> None:
    """A Parquet file with a column name twice is refused, naming it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "j.parquet"
    pq.write_table(pa.table([pa.array(["a"]), pa.array(["b"])], names=["TicketId", "TicketId"]), path)
    with pytest.raises(JobFileError, match="TicketId"):
        load_job(path)


CELL_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(CELL_TEXT, CELL_TEXT), min_size=1, max_size=8))
def test_any_text_round_trips_through_csv(cells: list[tuple[str, str]]) -> None:
    """Arbitrary text (commas, quotes, CR/LF, CJK, emoji) written by csv comes back unchanged."""
    rows = [(f"UTM{i}", a, b) for i, (a, b) in enumerate(cells)]
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows([("TicketId", "A", "B"), *rows])
    with tempfile.TemporaryDirectory() as tmp:
        path = write(Path(tmp) / "j.csv", out.getvalue(), "utf-8")
        frame = load_job(path).frame
    assert frame.select("TicketId", "A", "B").rows() == rows
    assert frame["row"].to_list() == list(range(2, len(rows) + 2))
