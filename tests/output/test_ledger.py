"""The result ledger: CSV (BOM, CP932, formula neutralisation, sidecar) and Parquet (metadata)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batch.journal.journal_file import Journal
from batch.outcome import Outcome, RowOutcome, utc_iso
from batch.output.ledger import COLUMNS, ORIGINAL_ROW, default_ledger_path, write_ledger
from batch.output.ledger_csv import _csv_stamp

AUDIT = {"run_id": "7", "job_sha256": "ab" * 32, "operator": "山田 =1", "tool_version": "0.1.0"}
JST = timezone(timedelta(hours=9))


def sample() -> list[RowOutcome]:
    """Outcomes whose texts include formula starters, Japanese and a non-CP932 character."""
    return [
        RowOutcome(row=2, action="update-ticket", ticket_id="T1", outcome=Outcome.UPDATED,
                   attempts=1, changed_fields=("Subject", "StateCode"), request_id="req-1",
                   started_at=datetime(2026, 1, 2, 9, 0, 0, 250000, tzinfo=JST),
                   finished_at=datetime(2026, 1, 2, 0, 0, 1, tzinfo=UTC)),
        RowOutcome(row=3, action="update-ticket", ticket_id="-42", outcome=Outcome.FAILED,
                   attempts=5, conflicts=5, error_type="EXCLUSION_FAILURE",
                   error_message="=HYPERLINK(\"http://x\")", error_detail="\tdetail",
                   request_id="@req"),
        RowOutcome(row=4, action="release-relation", ticket_id="+T3", outcome=Outcome.FAILED,
                   error_message="親チケット〜T9 に関連 😀", error_detail="\rline"),
    ]


def read_csv(path: Path, encoding: str) -> list[list[str]]:
    """All CSV records of `path`, header included."""
    return list(csv.reader(io.StringIO(path.read_bytes().decode(encoding), newline="")))


def test_csv_columns_order_and_values(tmp_path: Path) -> None:
    """The CSV has the documented columns in order, rows in order, ISO UTC times, ; lists."""
    path = write_ledger(tmp_path / "job.ledger.csv", sample(), AUDIT)
    header, first, *rest = read_csv(path, "utf-8-sig")
    assert tuple(header) == COLUMNS
    assert [r[0] for r in (first, *rest)] == ["2", "3", "4"]
    assert first == ["2", "update-ticket", "T1", "updated", "1", "0", "", "", "", "req-1",
                     "Subject;StateCode", "2026-01-02T00:00:00.250Z", "2026-01-02T00:00:01.000Z"]


def test_csv_starts_with_a_bom_by_default(tmp_path: Path) -> None:
    """The default CSV encoding is UTF-8 with a BOM, so spreadsheet software reads it as UTF-8."""
    path = write_ledger(tmp_path / "l.csv", sample(), AUDIT)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert "😀" in read_csv(path, "utf-8-sig")[3][7]


def test_csv_neutralises_formula_cells(tmp_path: Path) -> None:
    """Cells starting with = + - @ TAB or CR get a leading apostrophe."""
    _, _, failed, released = read_csv(write_ledger(tmp_path / "l.csv", sample(), AUDIT),
                                      "utf-8-sig")
    assert failed[2] == "'-42" and failed[7] == "'=HYPERLINK(\"http://x\")"
    assert failed[8] == "'\tdetail" and failed[9] == "'@req"
    assert released[2] == "'+T3" and released[8] == "'\rline"


def test_csv_in_cp932_maps_variants_and_replaces_the_rest(tmp_path: Path) -> None:
    """CP932 keeps Japanese, maps WAVE DASH to its CP932 twin, and writes ? for the emoji."""
    path = write_ledger(tmp_path / "l.csv", sample(), AUDIT, csv_encoding="cp932")
    assert not path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert read_csv(path, "cp932")[3][7] == "親チケット～T9 に関連 ?"
    meta = json.loads(path.with_name("l.csv.meta.json").read_text(encoding="utf-8"))
    assert (meta["ledger.encoding"], meta["ledger.replaced_characters"]) == ("cp932", "1")


def test_csv_sidecar_holds_the_audit_facts(tmp_path: Path) -> None:
    """A CSV ledger's audit facts are in <ledger>.meta.json, exactly, with the row count."""
    write_ledger(tmp_path / "l.csv", sample(), AUDIT)
    meta = json.loads((tmp_path / "l.csv.meta.json").read_text(encoding="utf-8"))
    assert {k: meta[k] for k in AUDIT} == AUDIT
    assert (meta["ledger.rows"], meta["ledger.replaced_characters"]) == ("3", "0")


def test_parquet_keeps_exact_values_and_metadata(tmp_path: Path) -> None:
    """Parquet keeps values unneutralised, lists as lists, UTC times, and audit metadata."""
    path = write_ledger(tmp_path / "l.parquet", sample(), AUDIT)
    frame = pl.read_parquet(path)
    assert tuple(frame.columns) == COLUMNS
    assert frame["row"].to_list() == [2, 3, 4]
    assert frame["ticket_id"].to_list() == ["T1", "-42", "+T3"]
    assert frame["error_message"][1] == "=HYPERLINK(\"http://x\")"
    assert frame["changed_fields"].to_list() == [["Subject", "StateCode"], [], []]
    assert frame["started_at"][0] == datetime(2026, 1, 2, 0, 0, 0, 250000, tzinfo=UTC)
    meta = {k.decode(): v.decode() for k, v in pq.read_metadata(path).metadata.items()}
    assert {k: meta[k] for k in AUDIT} == AUDIT
    assert meta["ledger.rows"] == "3"


@pytest.mark.parametrize("name", ["l.csv", "l.parquet"])
def test_large_input_streams_in_chunks(tmp_path: Path, name: str) -> None:
    """A one-pass generator larger than a chunk is written completely and in order."""
    def many() -> Iterator[RowOutcome]:
        for r in range(2, 1002):
            yield RowOutcome(row=r, action="update-ticket", ticket_id=f"T{r}",
                             outcome=Outcome.UNCHANGED)

    path = write_ledger(tmp_path / name, many(), AUDIT, chunk_rows=64)
    rows = (pl.read_parquet(path)["row"].to_list() if name.endswith(".parquet")
            else [int(r[0]) for r in read_csv(path, "utf-8-sig")[1:]])
    assert rows == list(range(2, 1002))


@pytest.mark.parametrize("name", ["l.csv", "l.parquet"])
def test_empty_ledger_has_the_columns(tmp_path: Path, name: str) -> None:
    """With no outcomes the ledger still has its columns and no rows."""
    path = write_ledger(tmp_path / name, [], AUDIT)
    columns = (pl.read_parquet(path).columns if name.endswith(".parquet")
               else read_csv(path, "utf-8-sig")[0])
    assert tuple(columns) == COLUMNS


@pytest.mark.parametrize("name", ["l.csv", "l.parquet"])
def test_failed_write_leaves_no_half_ledger(tmp_path: Path, name: str) -> None:
    """If the outcomes fail mid-way, the old ledger stays and no temporary file is left."""
    def broken() -> Iterator[RowOutcome]:
        yield from sample()
        raise RuntimeError("journal went away")

    path = tmp_path / name
    path.write_bytes(b"previous ledger")
    with pytest.raises(RuntimeError, match="journal went away"):
        write_ledger(path, broken(), AUDIT, chunk_rows=2)
    assert path.read_bytes() == b"previous ledger"
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_bad_arguments_are_refused_before_writing(tmp_path: Path) -> None:
    """Unknown extension, unknown encoding or non-text audit facts fail before any file exists."""
    with pytest.raises(ValueError, match=r"\.csv or \.parquet"):
        write_ledger(tmp_path / "l.xlsx", sample(), AUDIT)
    with pytest.raises(LookupError):
        write_ledger(tmp_path / "l.csv", sample(), AUDIT, csv_encoding="no-such-codec")
    with pytest.raises(TypeError):
        write_ledger(tmp_path / "l.csv", sample(), {"run_id": 7})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="prefix"):
        write_ledger(tmp_path / "l.csv", sample(), {"ledger.rows": "1"})
    assert list(tmp_path.iterdir()) == []


def test_default_ledger_path_is_beside_the_job() -> None:
    """The default ledger of jobs/tickets.parquet is jobs/tickets.ledger.csv."""
    assert default_ledger_path(Path("jobs/tickets.parquet")) == Path("jobs/tickets.ledger.csv")


@pytest.mark.parametrize("name", ["l.csv", "l.parquet"])
def test_no_mapping_means_no_original_row_column(tmp_path: Path, name: str) -> None:
    """Without `original_rows` the ledger has exactly the documented columns, no original_row."""
    path = write_ledger(tmp_path / name, sample(), AUDIT)
    columns = (pl.read_parquet(path).columns if name.endswith(".parquet")
               else read_csv(path, "utf-8-sig")[0])
    assert ORIGINAL_ROW not in columns


def test_csv_original_row_follows_row_and_is_empty_where_unknown(tmp_path: Path) -> None:
    """With the mapping, the CSV's second column is original_row; a row without one is empty."""
    path = write_ledger(tmp_path / "l.csv", sample(), AUDIT, original_rows={2: 17, 4: 250})
    header, *rows = read_csv(path, "utf-8-sig")
    assert header == ["row", ORIGINAL_ROW, *COLUMNS[1:]]
    assert [r[:3] for r in rows] == [["2", "17", "update-ticket"], ["3", "", "update-ticket"],
                                     ["4", "250", "release-relation"]]
    assert rows[1][3] == "'-42"  # the other cells keep their places and their guard


def test_parquet_original_row_is_int64_with_nulls(tmp_path: Path) -> None:
    """With the mapping, the Parquet ledger has an Int64 original_row after row, null where unknown."""
    path = write_ledger(tmp_path / "l.parquet", sample(), AUDIT, original_rows={3: 9})
    frame = pl.read_parquet(path)
    assert frame.columns == ["row", ORIGINAL_ROW, *COLUMNS[1:]]
    assert frame.schema[ORIGINAL_ROW] == pl.Int64
    assert frame[ORIGINAL_ROW].to_list() == [None, 9, None]


@pytest.mark.parametrize("name", ["l.csv", "l.parquet"])
def test_empty_ledger_with_mapping_has_the_column(tmp_path: Path, name: str) -> None:
    """An empty ledger written with a mapping still has the original_row column."""
    path = write_ledger(tmp_path / name, [], AUDIT, original_rows={})
    if name.endswith(".parquet"):
        frame = pl.read_parquet(path)
        assert (frame.columns[1], frame.schema[ORIGINAL_ROW], frame.height) == (ORIGINAL_ROW, pl.Int64, 0)
    else:
        assert read_csv(path, "utf-8-sig") == [["row", ORIGINAL_ROW, *COLUMNS[1:]]]


@pytest.mark.parametrize("name", ["l.csv", "l.parquet"])
def test_original_rows_survive_chunking(tmp_path: Path, name: str) -> None:
    """Every chunk of a streamed ledger carries its own rows' original numbers."""
    outcomes = [RowOutcome(row=r, action="update-ticket", ticket_id=f"T{r}", outcome=Outcome.FAILED)
                for r in range(2, 202)]
    mapping = {r: r * 10 for r in range(2, 202, 3)}
    path = write_ledger(tmp_path / name, outcomes, AUDIT, chunk_rows=7, original_rows=mapping)
    if name.endswith(".parquet"):
        got = dict(pl.read_parquet(path).select("row", ORIGINAL_ROW).iter_rows())
    else:
        got = {int(r[0]): int(r[1]) if r[1] else None for r in read_csv(path, "utf-8-sig")[1:]}
    assert got == {r: mapping.get(r) for r in range(2, 202)}


@settings(max_examples=300, deadline=None)
@given(st.datetimes(timezones=st.builds(timezone, st.timedeltas(-timedelta(hours=23), timedelta(hours=23)))))
def test_csv_stamp_from_journal_text_matches_formatting_the_datetime(stamp: datetime) -> None:
    """The CSV's stamp sliced from the journal's UTC text equals formatting the datetime itself."""
    expected = stamp.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert _csv_stamp(utc_iso(stamp)) == expected


@pytest.mark.parametrize("name", ["l.csv", "l.parquet"])
def test_journal_ledger_rows_write_the_same_ledger_as_outcomes(tmp_path: Path, name: str) -> None:
    """A ledger written from the journal's ledger rows is the one written from the outcomes."""
    with Journal.open(tmp_path / "j.sqlite") as journal:
        run = journal.begin("ab" * 32, "update-ticket", "job.csv", {}, "0.1.0")
        run.record(sample())
        from_journal = write_ledger(tmp_path / "journal" / name, run.ledger_rows(), AUDIT)
    from_outcomes = write_ledger(tmp_path / "outcomes" / name, sample(), AUDIT)
    if name.endswith(".csv"):
        assert from_journal.read_bytes() == from_outcomes.read_bytes()
    else:
        assert pl.read_parquet(from_journal).equals(pl.read_parquet(from_outcomes))


_CELL_TEXT = st.one_of(
    st.none(),
    st.sampled_from(["", "=1", "+x", "-", "@a", "\tt", "\rr", 'q"q', "a,b", "l\nm", " s ", "親〜😀"]),
    st.text(st.characters(blacklist_categories=()), max_size=8),  # lone surrogates included
)
_STAMP_TEXT = st.one_of(
    st.none(),
    st.datetimes(timezones=st.just(UTC)).map(utc_iso),
    st.just("2026-01-01T09:00:00+09:00"),  # not the journal's form
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_CELL_TEXT, _CELL_TEXT, st.lists(st.sampled_from(["A", "B=", "-C"]), max_size=3),
                          _STAMP_TEXT, _STAMP_TEXT, st.booleans()), min_size=1, max_size=6),
       st.integers(1, 4))
def test_utf8_csv_is_byte_for_byte_the_cell_writers(tmp_path_factory: pytest.TempPathFactory,
                                                     specs: list[tuple], chunk_rows: int) -> None:
    """A UTF-8 ledger written through polars has exactly the bytes of the csv module's cell writer."""
    from batch.outcome import LedgerRow
    from batch.output.ledger_csv import _CellWriter

    rows = [LedgerRow(n + 2, "update-ticket", text or "T", "failed", 1, 0, text, other, other, text,
                      tuple(fields), started, finished)
            for n, (text, other, fields, started, finished, _) in enumerate(specs)]
    originals = {r.row: r.row * 10 for r, spec in zip(rows, specs, strict=True) if spec[5]}
    path = write_ledger(tmp_path_factory.mktemp("l") / "l.csv", rows, AUDIT, chunk_rows=chunk_rows,
                        original_rows=originals)
    cells = _CellWriter("utf-8-sig")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow((COLUMNS[0], ORIGINAL_ROW, *COLUMNS[1:]))
    for r in rows:
        first, *rest = cells.row(r)
        writer.writerow([first, str(originals[r.row]) if r.row in originals else "", *rest])
    assert path.read_bytes() == out.getvalue().encode("utf-8-sig")
    meta = json.loads(path.with_name("l.csv.meta.json").read_text(encoding="utf-8"))
    assert meta["ledger.replaced_characters"] == str(cells.replaced)
