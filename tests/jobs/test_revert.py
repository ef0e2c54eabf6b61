"""Undo rows (issue #11): applying a row and then its undo row restores the ticket (pure logic)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from batch.errors import RowInvalid
from batch.outcome import Outcome, RowOutcome
from batch.uom.ticket import TicketDetail
from jobs.memo import ADD, DELETE, EDIT, op
from jobs.revert import ORIGINAL_ROW, added_memo_seqs, undo_row, undo_run
from jobs.ticket_merge import current_state, intent_for, memo_record, merge, unmet_expectations

from .test_memo_satisfied import apply_ops, with_memos
from .test_ticket_merge import Row, incident

MEMOS = "CorrespondProcessList"
FIELDS = {
    "Priority": ["高", "中", "低"],
    "Title": ["t", "new title"],
    "CauseClassification": ["性能不足", ""],
}


def saved(
    ticket: TicketDetail, body: Mapping[str, Any], memos: Mapping[str, str], stamp: str
) -> TicketDetail:
    """The ticket as the server stores an accepted update: the fields sent, the memos, a new stamp."""
    fields = {k: v for k, v in body.items() if k in ticket.fields and k != MEMOS}
    return with_memos(ticket, memos, **{**fields, "SummaryUpdateDate": stamp})


def undo_as_row(undo: Mapping[str, str]) -> tuple[Row, dict[str, str]]:
    """An undo row read back as a job row: its changes, clears, memo operations, and expectations."""
    special = {ORIGINAL_ROW, "TicketId", "ClearFields", MEMOS}
    changes = {k: v for k, v in undo.items() if k not in special and not k.startswith("expect.")}
    clear = tuple(c for c in undo.get("ClearFields", "").split(";") if c)
    ops = tuple(orjson.loads(undo[MEMOS])) if MEMOS in undo else ()
    expect = {k.removeprefix("expect."): v for k, v in undo.items() if k.startswith("expect.")}
    return Row(changes, clear=clear, memo_ops=ops), expect


@st.composite
def updates(draw: Any) -> tuple[dict[str, str], dict[str, str], tuple[dict[str, str], ...]]:
    """A ticket's memos, a row's field changes and its memo operations (each memo touched once)."""
    memos = draw(st.dictionaries(st.sampled_from(["1", "2", "3"]), st.sampled_from(["a", "b"]), max_size=3))
    changes = draw(st.dictionaries(st.sampled_from(sorted(FIELDS)), st.just(""), max_size=3))
    changes = {f: draw(st.sampled_from(FIELDS[f])) for f in changes}
    targets = draw(st.lists(st.sampled_from(sorted(memos) or ["1"]), max_size=2, unique=True))
    touched = [
        op(s, draw(st.sampled_from([EDIT, DELETE])), draw(st.sampled_from(["x", "a"]))) for s in targets
    ]
    adds = [op(None, ADD, draw(st.sampled_from(["new", "a"]))) for _ in range(draw(st.integers(0, 2)))]
    return memos, changes, (*touched, *adds)


@given(updates())
def test_applying_a_row_then_its_undo_restores_the_ticket(case: Any) -> None:
    """Fields go back to their values, memos to their texts (a re-added memo under a new number)."""
    memos, changes, ops = case
    original = with_memos(incident(), memos)
    row = Row(
        {k: v for k, v in changes.items() if v},
        clear=tuple(k for k, v in changes.items() if not v),
        memo_ops=ops,
    )
    try:
        merged = merge(original, row)
    except RowInvalid:
        return  # nothing was sent, nothing to undo
    if merged.unchanged:
        return
    after = saved(original, merged.body, apply_ops(memos, merged.memo_ops), "20250101000000")
    outcome = RowOutcome(
        row=2,
        action="update-ticket",
        ticket_id=original.ticket_id,
        outcome=Outcome.UPDATED,
        changed_fields=merged.changed,
        before=merged.before,
        after=merged.after,
        memos=memo_record(intent_for(original, merged)),
    )
    undo, skipped = undo_row(outcome, added_memo_seqs(outcome.memos or {}, after, set()))
    assert not skipped
    assert undo is not None
    back_row, expect = undo_as_row(undo)
    assert unmet_expectations(after, expect) == {}
    back = merge(after, back_row)
    restored = saved(after, back.body, apply_ops({m.seq: m.text for m in after.memos}, back.memo_ops), "2")
    assert current_state(restored) == current_state(original)
    assert sorted(m.text for m in restored.memos) == sorted(memos.values())
    kept = {m.seq: m.text for m in restored.memos if m.seq in memos}
    assert all(memos[s] == t for s, t in kept.items())


def test_a_ticket_changed_since_is_guarded_by_what_the_run_set() -> None:
    """Each field's undo expects the value the run set: a ticket changed since is not overwritten."""
    outcome = RowOutcome(
        row=5,
        action="update-ticket",
        ticket_id="UTM1",
        outcome=Outcome.UPDATED,
        changed_fields=("Priority", "Title"),
        before={"Priority": "中", "Title": ""},
        after={"Priority": "高", "Title": "x"},
    )
    undo, _ = undo_row(outcome, ())
    assert undo == {
        ORIGINAL_ROW: "5",
        "TicketId": "UTM1",
        "Priority": "中",
        "expect.Priority": "高",
        "expect.Title": "x",
        "ClearFields": "Title",
    }


def test_release_rows_and_rows_in_flight_are_listed_not_dropped() -> None:
    """A released relation cannot be made again, an in-flight row is unknown: both are listed."""
    released = RowOutcome(row=2, action="release-relation", ticket_id="UTM1000061", outcome=Outcome.RELEASED)
    undo = undo_run([released], {}, in_flight={3: "UTM1000062"})
    assert undo.rows == []
    assert [(n.row, n.what) for n in undo.not_revertible] == [(2, "MasterTicketId"), (3, "row")]


def test_approver_set_on_closing_is_listed_as_not_revertible() -> None:
    """Reopening cannot clear the approver (D3): the state goes back, the approver is listed."""
    closed = RowOutcome(
        row=2,
        action="update-ticket",
        ticket_id="UTM1",
        outcome=Outcome.UPDATED,
        changed_fields=("StateCode", "FinishApprovalUserId"),
        before={"StateCode": "復旧済み", "FinishApprovalUserId": ""},
        after={"StateCode": "クローズ", "FinishApprovalUserId": "SA1234567"},
    )
    undo, skipped = undo_row(closed, ())
    assert undo is not None and undo["StateCode"] == "復旧済み" and "FinishApprovalUserId" not in undo
    assert [s.what for s in skipped] == ["FinishApprovalUserId"]


def test_undo_rows_come_last_change_first() -> None:
    """Two rows of one ticket are undone in reverse order, so each undo expects what it finds."""
    first = RowOutcome(
        row=2,
        action="update-ticket",
        ticket_id="UTM1",
        outcome=Outcome.UPDATED,
        changed_fields=("Priority",),
        before={"Priority": "中"},
        after={"Priority": "高"},
    )
    second = RowOutcome(
        row=3,
        action="update-ticket",
        ticket_id="UTM1",
        outcome=Outcome.UPDATED,
        changed_fields=("Priority",),
        before={"Priority": "高"},
        after={"Priority": "低"},
    )
    undo = undo_run([first, second], {})
    assert [(r[ORIGINAL_ROW], r["Priority"], r["expect.Priority"]) for r in undo.rows] == [
        ("3", "高", "低"),
        ("2", "中", "高"),
    ]
