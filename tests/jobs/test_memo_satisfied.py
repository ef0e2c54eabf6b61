"""Memo edits and deletes that already hold are left out of the merge (issue #10): pure logic only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from batch.errors import RowInvalid
from batch.uom.ticket import TicketDetail
from jobs.memo import ADD, DELETE, EDIT, op
from jobs.ticket_merge import has_landed, intent_for, merge

from .test_ticket_merge import Row, incident, request

MEMOS = "CorrespondProcessList"


def memo_list(memos: Mapping[str, str]) -> list[dict[str, str]]:
    """A memo list as GetTicketDetail returns it."""
    return [{"CorrespondProcessSeq": s, "CorrespondProcess": t} for s, t in memos.items()]


def with_memos(ticket: TicketDetail, memos: Mapping[str, str], **fields: str) -> TicketDetail:
    """`ticket` refetched with `memos` and `fields` (stamps as they were unless given)."""
    return TicketDetail.from_response({**ticket.fields, **fields, MEMOS: memo_list(memos)})


TWO = {"1": "first", "2": "second"}


def test_edit_to_the_text_it_has_is_unchanged() -> None:
    """An edit whose memo already has exactly that text is satisfied: nothing to send."""
    merged = merge(with_memos(incident(), TWO), Row(memo_ops=(op("2", EDIT, "second"),)))
    assert merged.unchanged and merged.memo_ops == () and merged.body[MEMOS] == []


def test_edit_to_another_text_is_sent() -> None:
    """An edit that changes the memo's text is sent (a trailing space is a change: exact strings)."""
    edit = op("2", EDIT, "second ")
    merged = merge(with_memos(incident(), TWO), Row(memo_ops=(edit,)))
    assert not merged.unchanged and merged.body[MEMOS] == [edit]


def test_delete_of_a_gone_memo_is_unchanged() -> None:
    """A delete whose memo no longer exists is satisfied: nothing to send."""
    assert merge(with_memos(incident(), TWO), Row(memo_ops=(op("7", DELETE, None),))).unchanged


def test_delete_of_a_present_memo_is_sent() -> None:
    """A delete of a memo the ticket has is sent."""
    delete = op("1", DELETE, None)
    assert merge(with_memos(incident(), TWO), Row(memo_ops=(delete,))).memo_ops == (delete,)


def test_satisfied_ops_are_left_out_beside_other_changes() -> None:
    """With a field to change, only the memo operations that do not hold yet are sent."""
    ops = (op("1", EDIT, "first"), op("9", DELETE, None), op("2", DELETE, None), op(None, ADD, "new"))
    merged = merge(with_memos(incident(), TWO), Row({"Priority": "高"}, memo_ops=ops))
    assert merged.changed == ("Priority",)
    assert merged.body[MEMOS] == [ops[2], ops[3]] and merged.memo_ops == (ops[2], ops[3])


def test_request_with_only_satisfied_ops_omits_the_list() -> None:
    """D4: a request ticket whose memo operations all hold sends no memo list with its field change."""
    ticket = with_memos(request(), TWO)
    merged = merge(ticket, Row({"Priority": "高"}, memo_ops=(op("5", DELETE, None),)))
    assert MEMOS not in merged.body and not merged.unchanged


def test_edit_of_a_missing_memo_is_invalid_naming_its_seq() -> None:
    """An edit of a memo the ticket does not have cannot be satisfied: RowInvalid naming the seq."""
    with pytest.raises(RowInvalid, match=r"CorrespondProcessSeq 5: the ticket has no memo 5 .* 1, 2$"):
        merge(with_memos(incident(), TWO), Row({"Priority": "高"}, memo_ops=(op("5", EDIT, "x"),)))


def test_edit_on_a_ticket_without_memos_says_so() -> None:
    """The message says when the ticket has no memos at all."""
    with pytest.raises(RowInvalid, match="it has no memos"):
        merge(incident(), Row(memo_ops=(op("1", EDIT, "x"),)))


def test_two_operations_on_one_memo_are_invalid() -> None:
    """Editing and deleting one memo in one row is refused before sending (the API refuses it)."""
    with pytest.raises(RowInvalid, match="only once"):
        merge(with_memos(incident(), TWO), Row(memo_ops=(op("1", EDIT, "x"), op("01", DELETE, None))))


def test_leading_zeros_name_the_same_memo() -> None:
    """`01` names memo 1: a delete is sent under the ticket's seq `1`, an edit to its text holds."""
    ticket = with_memos(incident(), TWO)
    assert merge(ticket, Row(memo_ops=(op("01", DELETE, None),))).memo_ops == (op("1", DELETE, None),)
    assert merge(ticket, Row(memo_ops=(op("001", EDIT, "first"),))).unchanged


def test_intent_records_only_what_is_sent_and_still_finds_it_landed() -> None:
    """After a lost reply the landed check judges the operations sent, not the satisfied ones dropped."""
    before = with_memos(incident(), TWO)
    ops = (op("1", EDIT, "edited"), op("8", DELETE, None))
    intent = intent_for(before, merge(before, Row({"Priority": "高"}, memo_ops=ops)))
    assert intent["memo_ops"] == [ops[0]]
    saved = {"Priority": "高", "SummaryUpdateDate": "20240105000000"}
    assert has_landed(intent, with_memos(before, {"1": "edited", "2": "second"}, **saved))
    assert not has_landed(intent, with_memos(before, TWO, **saved))


def apply_ops(memos: Mapping[str, str], ops: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """What the server makes of `memos` under `ops` (a delete of a gone memo does nothing here).

    Adds get seqs from 10 up, past any seq a generated row names: the server never reuses a seq.
    """
    result = dict(memos)
    for o in ops:
        seq, text = o["CorrespondProcessSeq"].lstrip("0"), o["CorrespondProcess"]
        if o["CorrespondProcessOperationClass"] == ADD:
            result[str(max([9, *map(int, result)]) + 1)] = text
        elif o["CorrespondProcessOperationClass"] == EDIT:
            result[seq] = text
        else:
            result.pop(seq, None)
    return result


def edits_a_missing_memo(memos: Mapping[str, str], ops: Sequence[Mapping[str, str]]) -> bool:
    """Whether one of `ops` edits a memo that `memos` does not have."""
    edits = (o["CorrespondProcessSeq"] for o in ops if o["CorrespondProcessOperationClass"] == EDIT)
    return any(seq.lstrip("0") not in memos for seq in edits)


TEXTS = st.sampled_from(["a", "b", "a "])
SEQS = st.sampled_from(["1", "2", "3", "4", "02"])


@st.composite
def memo_rows(draw: Any) -> tuple[dict[str, str], tuple[dict[str, str], ...]]:
    """A ticket's memos and a row's memo operations (each memo edited or deleted at most once)."""
    memos = draw(st.dictionaries(st.sampled_from(["1", "2", "3"]), TEXTS, max_size=3))
    targets = draw(st.lists(SEQS, max_size=3, unique_by=lambda s: s.lstrip("0")))
    edits = [op(s, draw(st.sampled_from([EDIT, DELETE])), draw(TEXTS)) for s in targets]
    adds = [op(None, ADD, draw(TEXTS)) for _ in range(draw(st.integers(0, 1)))]
    return memos, tuple(draw(st.permutations([*edits, *adds])))


@given(memo_rows(), st.booleans())
def test_merge_sends_exactly_what_does_not_hold(case: tuple[dict[str, str], Any], change: bool) -> None:
    """Invalid iff an edit names a missing memo; else sending only the kept ops ends as sending all."""
    memos, ops = case
    ticket = with_memos(incident(), memos)
    row = Row({"Priority": "高"} if change else {}, memo_ops=ops)
    if edits_a_missing_memo(memos, ops):
        with pytest.raises(RowInvalid, match="has no memo"):
            merge(ticket, row)
        return
    merged = merge(ticket, row)
    assert apply_ops(memos, merged.memo_ops) == apply_ops(memos, ops)
    assert merged.body[MEMOS] == list(merged.memo_ops)
    assert merged.unchanged == (not change and merged.memo_ops == ())
    adds = [o for o in ops if o["CorrespondProcessOperationClass"] == ADD]
    assert [o for o in merged.memo_ops if o["CorrespondProcessOperationClass"] == ADD] == adds


@given(memo_rows())
def test_a_rerun_sends_only_the_adds(case: tuple[dict[str, str], Any]) -> None:
    """Once a row's update is on the ticket, merging the row again sends only its memo adds."""
    memos, ops = case
    ticket = with_memos(incident(), memos)
    row = Row({"Priority": "高"}, memo_ops=ops)
    try:
        merged = merge(ticket, row)
    except RowInvalid:
        return  # an edit of a missing memo: never sent, nothing to re-run
    after = with_memos(ticket, apply_ops(memos, merged.memo_ops), Priority="高")
    again = merge(after, row)
    assert again.changed == ()
    assert again.memo_ops == tuple(o for o in ops if o["CorrespondProcessOperationClass"] == ADD)
