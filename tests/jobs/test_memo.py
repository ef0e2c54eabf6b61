"""update-ticket work memos: the memo columns and CorrespondProcessList, rule by rule."""

from __future__ import annotations

import polars as pl
import pytest

from batch.validation.check import validate
from jobs import update_ticket


def rules_broken(cells: dict[str, str]) -> set[str]:
    """The rule names one update-ticket row (with a TicketId) breaks."""
    data = pl.DataFrame({"row": [2], "TicketId": ["UTM1"], **{c: [v] for c, v in cells.items()}})
    return set(validate(data, update_ticket.rules(data.columns)).problems["rule"])


MEMO = {"seq": "CorrespondProcessSeq", "cls": "CorrespondProcessOperationClass", "text": "CorrespondProcess"}


def memo_row(seq: str = "", cls: str = "", text: str = "") -> dict[str, str]:
    """A row with the three memo columns."""
    return {MEMO["seq"]: seq, MEMO["cls"]: cls, MEMO["text"]: text}


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (memo_row(), set()),
        (memo_row(text="追加"), set()),
        (memo_row(cls="0", text="追加"), set()),
        (memo_row(seq="2", cls="1", text="編集"), set()),
        (memo_row(seq="2", cls="2"), set()),
        (memo_row(cls="3", text="x"), {"choice"}),
        (memo_row(cls="10", seq="1", text="x"), {"choice", "max_chars"}),
        (memo_row(seq="1", text="x"), {"memo_add_without_seq"}),
        (memo_row(seq="1", cls="0", text="x"), {"memo_add_without_seq"}),
        (memo_row(cls="2"), {"memo_seq_required"}),
        (memo_row(cls="1", seq="1"), {"memo_text_required"}),
        (memo_row(cls="0"), {"memo_text_required"}),
        (memo_row(seq="x1", cls="2"), {"memo_seq_digits"}),
        (memo_row(seq="123456789", cls="2"), set()),
        (memo_row(seq="1234567890", cls="2"), {"max_chars"}),
        (memo_row(text="メ" * 2048), set()),
        (memo_row(text="メ" * 2049), {"max_chars"}),
    ],
)
def test_memo_columns(cells: dict[str, str], expected: set[str]) -> None:
    """One memo per row: class 0/1/2 (default add); add ⇒ no seq; edit/delete ⇒ digits; text rules."""
    assert rules_broken(cells) == expected


LIST = "CorrespondProcessList"


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("", set()),
        ("[]", set()),
        (
            '[{"CorrespondProcess":"a"},{"CorrespondProcessSeq":"2","CorrespondProcessOperationClass":"2"}]',
            set(),
        ),
        ('[{"CorrespondProcess":"a"', {"memo_list_json"}),
        ('[{"Memo":"a"}]', {"memo_list_json"}),
        ('[{"CorrespondProcessOperationClass":"2"}]', {"memo_seq_required"}),
        (
            '[{"CorrespondProcess":"a"},{"CorrespondProcessOperationClass":"7","CorrespondProcess":"b"}]',
            {"choice"},
        ),
        ('[{"CorrespondProcessSeq":"1","CorrespondProcess":"a"}]', {"memo_add_without_seq"}),
        ('[{"CorrespondProcessSeq":"1234567890","CorrespondProcessOperationClass":"2"}]', {"max_chars"}),
    ],
)
def test_memo_list(cell: str, expected: set[str]) -> None:
    """CorrespondProcessList: well-formed JSON, items held to the memo rules; bad JSON is a row problem."""
    assert rules_broken({LIST: cell}) == expected


def test_memo_list_and_columns_exclude_each_other() -> None:
    """A row gives memos either as a list or in the columns."""
    assert rules_broken({LIST: '[{"CorrespondProcess":"a"}]', MEMO["text"]: "b"}) == {"memo_list_or_columns"}
