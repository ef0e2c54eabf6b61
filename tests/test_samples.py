"""The sample job files in samples/: good ones are valid, the broken one shows every rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from batch.jobfile.load import load_job
from jobs import update_ticket
from jobs.registry import check_job
from samples import make_samples

SAMPLES = Path(make_samples.__file__).resolve().parent
GOOD = {
    "close_recovered_incidents.csv": ("update-ticket", "utf-8", 60),
    "close_recovered_incidents_cp932.csv": ("update-ticket", "cp932", 60),
    "close_recovered_incidents.parquet": ("update-ticket", None, 60),
    "request_priority_change.csv": ("update-ticket", "utf-8", 40),
    "request_priority_change.parquet": ("update-ticket", None, 40),
    "unlink_children.csv": ("release-relation", "utf-8", 30),
    "unlink_children_bom.csv": ("release-relation", "utf-8-sig", 30),
    "unlink_children.parquet": ("release-relation", None, 30),
}


@pytest.mark.parametrize("name", sorted(GOOD))
def test_good_samples_are_valid(name: str) -> None:
    """Each good sample loads with the expected kind, encoding and row count, every row valid."""
    checked = check_job(load_job(SAMPLES / name))
    kind, encoding, rows = GOOD[name]
    assert (checked.kind.name, checked.job.encoding, checked.result.rows) == (kind, encoding, rows)
    assert checked.result.invalid.height == 0


def items_of(name: str) -> list[object]:
    """The work items a sample yields."""
    checked = check_job(load_job(SAMPLES / name))
    return list(checked.kind.items(checked.result.valid))


def test_close_sample_variants_yield_the_same_rows() -> None:
    """The UTF-8, CP932 and Parquet (memo as list of structs) close jobs give identical items."""
    utf8 = items_of("close_recovered_incidents.csv")
    assert (
        utf8
        == items_of("close_recovered_incidents_cp932.csv")
        == items_of("close_recovered_incidents.parquet")
    )
    first = utf8[0]
    assert first.ticket_id == "UTM1000001" and first.changes == {
        "StateCode": "クローズ",
        "FinishApprovalUserId": "SA1234567",
    }
    assert (
        first.expect == {"StateCode": "復旧済み"}
        and first.memo_ops[0]["CorrespondProcessOperationClass"] == "0"
    )
    assert [r.ticket_id for r in utf8] == [f"UTM{1000000 + n}" for n in range(1, 61)]


def test_unlink_sample_matches_the_seed_relations() -> None:
    """Children UTM1000061–090 are released from master UTM1000091 + k // 6."""
    rows = items_of("unlink_children.csv")
    assert [(r.child_id, r.master_id) for r in rows] == [
        (f"UTM{1000061 + k}", f"UTM{1000091 + k // 6}") for k in range(30)
    ]
    assert rows == items_of("unlink_children.parquet") == items_of("unlink_children_bom.csv")


def test_broken_sample_shows_every_rule_and_code() -> None:
    """Every rule the broken file's columns bring is broken somewhere, with all three error codes."""
    checked = check_job(load_job(SAMPLES / "broken_update_ticket.csv"))
    problems = checked.result.problems
    expected = {r.name for r in update_ticket.rules(checked.job.columns)}
    assert set(problems["rule"]) == expected
    assert set(problems["error_code"]) == {"PARAMETER_REQUIRED", "PARAMETER_TOO_LONG", "PARAMETER_ERROR"}
    assert checked.result.valid["row"].to_list() == [2]
    assert checked.result.invalid["row"].to_list() == list(range(3, len(make_samples.BROKEN) + 2))


def test_broken_rows_break_what_their_note_says() -> None:
    """Each broken row's note names a rule that row actually breaks."""
    checked = check_job(load_job(SAMPLES / "broken_update_ticket.csv"))
    problems = checked.result.problems
    for row, (note, _) in enumerate(make_samples.BROKEN[1:], start=3):
        rules = set(problems.filter(problems["row"] == row)["rule"])
        assert note.split(":")[0].split(" (")[0] in rules or note.startswith("several"), (row, note, rules)


def test_samples_are_regenerated_byte_for_byte(tmp_path: Path) -> None:
    """make_samples.py is deterministic: it rewrites the committed files exactly."""
    make_samples.main(tmp_path)
    for path in sorted(tmp_path.iterdir()):
        assert path.read_bytes() == (SAMPLES / path.name).read_bytes(), path.name
